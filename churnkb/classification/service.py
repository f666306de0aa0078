"""classify_items: the one entry point the warehouse (dbt Python model) and ``churnkb classify`` call.

Per item: the model's categories, primary category and confidences; an analyst's label for the
same item id *and the same text* replaces the model's answer (classified_by = 'analyst'); a label
whose text has since changed in the CRM no longer applies and the model classifies the new text.
Departments come from the routing seed ``category_departments`` (an analyst edits it in dbt).
With ``llm`` settings (config ``classification.backend: llm``) an OpenAI-compatible endpoint
classifies instead of the model (classified_by = 'llm') and the model answers what it did not;
items an analyst's label decides are never sent.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from churnkb.classification import extract
from churnkb.classification.corpus import LabeledNote
from churnkb.classification.llm import Classifier, LlmClassifier, LlmSettings
from churnkb.classification.model import Prediction
from churnkb.classification.rules import SEEDS_DIR
from churnkb.classification.store import (
    TrainedModel,
    classification_dir,
    load_model,
    read_analyst_labels,
)

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
    classified_by: str  # model | llm | analyst
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
                   model: TrainedModel | None = None,
                   llm: LlmSettings | None = None) -> list[ItemResult]:
    """Classify (id, text) pairs; output keeps the input order."""
    rows = [(str(item_id), text or "") for item_id, text in items]
    model = model or load_model(data_dir)
    labels = _labels_by_id(data_dir)
    labelled = [_label_applies(labels.get(item_id), text) for item_id, text in rows]
    # the model predicts what a label decides (its scores are kept): such texts are never sent
    by_model = iter(model.classifier.predict([r for r, known in zip(rows, labelled, strict=True) if known]))
    by_backend = iter(backend(model, data_dir, llm).predict(
        [r for r, known in zip(rows, labelled, strict=True) if not known]))
    predictions = [next(by_model) if known else next(by_backend) for known in labelled]
    vocabulary = extract.feature_vocabulary(features or {})
    return [_result(p, text, labels.get(p.id), vocabulary) for p, (_, text) in zip(predictions, rows, strict=True)]


def backend(model: TrainedModel, data_dir: Path | None, llm: LlmSettings | None) -> Classifier:
    """The local model, or the LLM back-end with the local model as its fallback."""
    if llm is None:
        return model.classifier
    cache_dir = classification_dir(data_dir) / "llm_cache" if data_dir is not None else None
    return LlmClassifier(llm, model.classifier, cache_dir)


def _label_applies(label: LabeledNote | None, text: str) -> bool:
    return label is not None and label.text.strip() == text.strip()


def _labels_by_id(data_dir: Path | None) -> dict[str, LabeledNote]:
    return {note.id: note for note in read_analyst_labels(data_dir)} if data_dir is not None else {}


def _result(prediction: Prediction, text: str, label: LabeledNote | None,
            vocabulary: extract.Vocabulary) -> ItemResult:
    categories, primary, confidence, by = (
        prediction.categories, prediction.primary_category, prediction.confidence, prediction.classified_by)
    if _label_applies(label, text):
        categories, primary, confidence, by = list(label.categories), label.primary, 1.0, "analyst"
    owner, every = routing()
    departments = sorted({d for c in categories for d in every.get(c, ())})
    found = extract.extract(text, categories, vocabulary)
    if found.parting_sentiment is not None and prediction.sentiment is not None:
        found = replace(found, parting_sentiment=prediction.sentiment)  # learned beats the cue count
    return ItemResult(
        id=prediction.id, categories=categories, primary_category=primary,
        department=owner.get(primary, "triage"), departments=departments or [owner.get(primary, "triage")],
        confidence=confidence, scores=prediction.scores, classified_by=by,
        matched_rule_ids=prediction.matched_rule_ids, **asdict(found),
    )


def classify_texts(texts: Sequence[tuple[str, str]], data_dir: Path | None = None) -> list[ItemResult]:
    """Convenience for tests and notebooks: classify_items without configured features."""
    return classify_items(texts, data_dir)
