"""Multi-label scoring: per category precision/recall/F1, macro-F1 and primary accuracy.

Every (note, category) pair is one binary decision. For a category, a true positive is a note
whose true set and predicted set both hold it; precision divides by the notes predicted with it,
recall by the notes labelled with it. Macro-F1 is the plain mean of the per-category F1 over
every category that occurs in the labels or the predictions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class Predicted(Protocol):
    id: str
    categories: list[str]
    primary_category: str


@dataclass(frozen=True)
class CategoryScore:
    category: str
    support: int  # notes whose true label set holds the category
    predicted: int  # notes the classifier gave the category
    true_positives: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Evaluation:
    scores: list[CategoryScore]
    notes: int
    primary_correct: int
    primary_labeled: int

    @property
    def macro_f1(self) -> float:
        return sum(s.f1 for s in self.scores) / len(self.scores) if self.scores else 0.0

    @property
    def primary_accuracy(self) -> float | None:
        return self.primary_correct / self.primary_labeled if self.primary_labeled else None

    def as_dict(self) -> dict[str, Any]:
        return {"notes": self.notes, "macro_f1": round(self.macro_f1, 3),
                "primary_accuracy": None if self.primary_accuracy is None else round(self.primary_accuracy, 3),
                "per_category": {s.category: round(s.f1, 3) for s in self.scores}}


def evaluate(labeled: Sequence[Mapping[str, Any]], predicted: Iterable[Predicted]) -> Evaluation:
    """Score predictions against labelled notes ({"id", "categories"[, "primary"]})."""
    by_id = {item.id: item for item in predicted}
    truth = {str(r["id"]): set(r["categories"]) for r in labeled}
    guessed = {item_id: set(by_id[item_id].categories) for item_id in truth}
    categories = sorted(set().union(*truth.values(), *guessed.values())) if truth else []
    scores = [
        CategoryScore(
            category=category,
            support=sum(category in cats for cats in truth.values()),
            predicted=sum(category in cats for cats in guessed.values()),
            true_positives=sum(category in truth[i] and category in guessed[i] for i in truth),
        )
        for category in categories
    ]
    with_primary = [r for r in labeled if r.get("primary")]
    correct = sum(by_id[str(r["id"])].primary_category == r["primary"] for r in with_primary)
    return Evaluation(scores, len(labeled), correct, len(with_primary))


def format_evaluation(report: Evaluation) -> str:
    lines = [f"{'category':<18}{'precision':>10}{'recall':>8}{'f1':>7}{'support':>9}{'predicted':>11}"]
    for s in report.scores:
        lines.append(
            f"{s.category:<18}{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>7.3f}{s.support:>9}{s.predicted:>11}"
        )
    lines.append(f"macro-F1 {report.macro_f1:.3f} over {len(report.scores)} categories, {report.notes} notes")
    if report.primary_accuracy is not None:
        lines.append(
            f"primary accuracy {report.primary_accuracy:.3f} ({report.primary_correct}/{report.primary_labeled})"
        )
    return "\n".join(lines)
