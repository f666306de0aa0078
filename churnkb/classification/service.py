"""classify_items: the one entry point the warehouse (dbt Python model) and ``churnkb classify`` call.

Per item: the model's categories, primary category and confidences; an analyst's label for the
same item id *and the same text* replaces the model's answer (classified_by = 'analyst'); a label
whose text has since changed in the CRM no longer applies and the model classifies the new text.
Departments come from the routing seed ``category_departments`` (an analyst edits it in dbt).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from churnkb.classification import extract
from churnkb.classification.corpus import LabeledNote
from churnkb.classification.model import Prediction
from churnkb.classification.rules import SEEDS_DIR
from churnkb.classification.store import TrainedModel, load_model, read_analyst_labels

ROUTING_CSV = SEEDS_DIR / "category_departments.csv"


@dataclass(frozen=True)
class ItemResult:
    id: str
    categories: list[str]
    primary_category: str
    department: str
    departments: list[str]
    confidence: float
    scores: dict[str, float]
    classified_by: str  # model | analyst
    matched_rule_ids: list[str] = field(default_factory=list)
    theme: str | None = None
    feature_requests: list[str] = field(default_factory=list)
    competitors_switched_to: list[str] = field(default_factory=list)
    competitors_mentioned: list[str] = field(default_factory=list)
    parting_sentiment: str | None = None
    valued: list[str] = field(default_factory=list)
    would_return: bool | None = None
    would_recommend: bool | None = None
    open_to_reference: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=2)
def routing(path: Path = ROUTING_CSV) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """category -> owning department, category -> every department (competitor: product, sales)."""
    owner: dict[str, str] = {}
    every: dict[str, list[str]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            every.setdefault(row["category"], []).append(row["department"])
            if row["is_primary_owner"].strip().lower() == "true":
                owner[row["category"]] = row["department"]
    return owner, {c: tuple(d) for c, d in every.items()}


def classify_items(items: Iterable[tuple[str, str | None]], data_dir: Path | None,
                   features: dict[str, list[str]] | None = None,
                   model: TrainedModel | None = None) -> list[ItemResult]:
    """Classify (id, text) pairs; output keeps the input order."""
    rows = [(str(item_id), text or "") for item_id, text in items]
    model = model or load_model(data_dir)
    labels = _labels_by_id(data_dir)
    predictions = model.classifier.predict(rows)
    vocabulary = extract.feature_vocabulary(features or {})
    return [_result(p, text, labels.get(p.id), vocabulary) for p, (_, text) in zip(predictions, rows, strict=True)]


def _labels_by_id(data_dir: Path | None) -> dict[str, LabeledNote]:
    return {note.id: note for note in read_analyst_labels(data_dir)} if data_dir is not None else {}


def _result(prediction: Prediction, text: str, label: LabeledNote | None,
            vocabulary: extract.Vocabulary) -> ItemResult:
    categories, primary, confidence, by = (
        prediction.categories, prediction.primary_category, prediction.confidence, "model")
    if label is not None and label.text.strip() == text.strip():
        categories, primary, confidence, by = list(label.categories), label.primary, 1.0, "analyst"
    owner, every = routing()
    departments = sorted({d for c in categories for d in every.get(c, ())})
    found = extract.extract(text, categories, vocabulary)
    return ItemResult(
        id=prediction.id, categories=categories, primary_category=primary,
        department=owner.get(primary, "triage"), departments=departments or [owner.get(primary, "triage")],
        confidence=confidence, scores=prediction.scores, classified_by=by,
        matched_rule_ids=prediction.matched_rule_ids, **asdict(found),
    )


def classify_texts(texts: Sequence[tuple[str, str]], data_dir: Path | None = None) -> list[ItemResult]:
    """Convenience for tests and notebooks: classify_items without configured features."""
    return classify_items(texts, data_dir)
