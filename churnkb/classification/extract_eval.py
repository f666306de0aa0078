"""Figures for extract.py against labelled notes (features, competitors, sentiment, advocacy).

Names are compared after canonicalisation through the shipped vocabulary: a labeller's "viewer
licences" and the extractor's "viewer license" are one feature when the same vocabulary entry
matches both names; otherwise names are compared case-insensitively.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from churnkb.classification import extract

LABELLED = ("features", "competitors_switched_to", "competitors_mentioned", "sentiment")


def read_notes(paths: list[Path]) -> list[dict[str, Any]]:
    notes = [json.loads(line) for path in paths for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    return [n for n in notes if all(k in n for k in LABELLED)]


def _canonical(name: str, vocabulary: extract.Vocabulary, table: dict[str, tuple[str, ...]]) -> str:
    for canonical, fragments in table.items():
        if canonical.lower() == name.lower() or extract._pattern(fragments).search(name):
            return canonical.lower()
    return name.lower()


def _prf(pairs: list[tuple[set[str], set[str]]]) -> dict[str, float]:
    tp = sum(len(g & p) for g, p in pairs)
    fp = sum(len(p - g) for g, p in pairs)
    fn = sum(len(g - p) for g, p in pairs)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3), "gold": tp + fn}


def evaluate(notes: list[dict[str, Any]]) -> dict[str, Any]:
    vocabulary = extract.feature_vocabulary({})
    sets: dict[str, list[tuple[set[str], set[str]]]] = {k: [] for k in LABELLED[:3]}
    right = {"sentiment": [0, 0], "would_return": [0, 0], "would_recommend": [0, 0]}
    for note in notes:
        found = extract.extract(note["text"], list(note.get("categories") or ["unknown"]), vocabulary)
        predicted = {"features": found.feature_requests, "competitors_switched_to": found.competitors_switched_to,
                     "competitors_mentioned": found.competitors_mentioned}
        for key in sets:
            table = vocabulary.features if key == "features" else vocabulary.competitors
            gold = {_canonical(n, vocabulary, table) for n in note[key] or []}
            sets[key].append((gold, {_canonical(n, vocabulary, table) for n in predicted[key]}))
        answers = {"sentiment": found.parting_sentiment, "would_return": found.would_return,
                   "would_recommend": found.would_recommend}
        for key, counts in right.items():
            if key == "sentiment" and note[key] is None:
                continue
            counts[0] += answers[key] == note.get(key)
            counts[1] += 1
    figures: dict[str, Any] = {key: _prf(pairs) for key, pairs in sets.items()}
    figures.update({key: {"accuracy": round(r / n, 3) if n else None, "notes": n} for key, (r, n) in right.items()})
    figures["notes"] = len(notes)
    return figures


if __name__ == "__main__":
    print(json.dumps(evaluate(read_notes([Path(p) for p in sys.argv[1:]])), indent=1))
