"""Cross-validation on the training corpus and breakdowns by difficulty and language.

Parameters are chosen by 5-fold cross-validation on the training corpus only; the held-out set
(tests/data/heldout) is read to measure, never to choose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sklearn.model_selection import KFold

from churnkb.classification.corpus import LabeledNote
from churnkb.classification.metrics import Evaluation, Predicted, evaluate
from churnkb.classification.model import DEFAULT_PARAMS, ExitNoteClassifier, ModelParams, Prediction

FOLDS = 5


def cross_validated_predictions(notes: Sequence[LabeledNote], params: ModelParams = DEFAULT_PARAMS,
                                folds: int = FOLDS) -> list[Prediction]:
    """Each note predicted by a model trained on the other folds (fixed shuffle)."""
    predictions: list[Prediction] = []
    for train, test in KFold(folds, shuffle=True, random_state=0).split(notes):
        model = ExitNoteClassifier(params).fit([notes[i] for i in train])
        predictions += model.predict([(notes[i].id, notes[i].text) for i in test])
    return predictions


def breakdown(records: Sequence[Mapping[str, Any]], predicted: Sequence[Predicted],
              key: Callable[[Mapping[str, Any]], str]) -> dict[str, Evaluation]:
    """One evaluation per group (difficulty, language, style) of the labelled records."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return {name: evaluate(group, predicted) for name, group in sorted(groups.items())}


def language_group(record: Mapping[str, Any]) -> str:
    return str(record.get("lang") or "en")


def difficulty_group(record: Mapping[str, Any]) -> str:
    return str(record.get("difficulty") or "unrated")


def format_breakdowns(records: Sequence[Mapping[str, Any]], predicted: Sequence[Predicted]) -> str:
    """Macro-F1 and primary accuracy per difficulty and per language, one line per group."""
    lines = []
    for title, key in (("difficulty", difficulty_group), ("language", language_group)):
        for name, report in breakdown(records, predicted, key).items():
            primary = "-" if report.primary_accuracy is None else f"{report.primary_accuracy:.3f}"
            lines.append(f"{title:<11}{name:<10}{report.notes:>5} notes  macro-F1 {report.macro_f1:.3f}"
                         f"  primary accuracy {primary}")
    return "\n".join(lines)
