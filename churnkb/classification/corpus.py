"""The labelled corpus the model learns from: the notes shipped in the package plus analysts' labels.

Shipped notes live in ``churnkb/classification/corpus/train_*.jsonl`` (one JSON object a line:
id, text, categories with the decisive reason first, primary, lang, style, difficulty, and the
extraction fields). Analysts' labels imported with ``churnkb review import`` live under the data
directory (``<data_dir>/classification/analyst_labels.jsonl``) and join the corpus at the next
training. Notes are sorted by id so training never depends on file order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
CATEGORIES = ("product", "pricing", "service", "success_process", "competitor", "relationship",
              "company", "needs", "involuntary", "unknown")


class CorpusError(ValueError):
    """A corpus line is malformed; the message names the file and line."""


@dataclass(frozen=True)
class LabeledNote:
    id: str
    text: str
    categories: tuple[str, ...]
    primary: str
    meta: dict[str, Any]

    def as_record(self) -> dict[str, Any]:
        return {**self.meta, "id": self.id, "text": self.text, "categories": list(self.categories),
                "primary": self.primary}


def read_notes(path: Path) -> list[LabeledNote]:
    notes: list[LabeledNote] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                notes.append(_note(path, number, line))
    return notes


def _note(path: Path, number: int, line: str) -> LabeledNote:
    where = f"{path.name} line {number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: not valid JSON ({exc.msg})") from exc
    categories = [c for c in record.get("categories") or [] if isinstance(c, str)]
    unknown = [c for c in categories if c not in CATEGORIES]
    if not isinstance(record.get("text"), str) or not categories or unknown:
        raise CorpusError(f"{where}: needs a text and categories from {', '.join(CATEGORIES)}")
    primary = record.get("primary") or categories[0]
    if primary not in categories:
        categories.insert(0, primary)
    meta = {k: v for k, v in record.items() if k not in ("id", "text", "categories", "primary")}
    return LabeledNote(str(record["id"]), record["text"], tuple(dict.fromkeys(categories)), primary, meta)


def corpus_files(corpus_dir: Path = CORPUS_DIR) -> list[Path]:
    return sorted(corpus_dir.glob("train_*.jsonl"))


def load_corpus(extra: Iterable[LabeledNote] = (), corpus_dir: Path = CORPUS_DIR) -> list[LabeledNote]:
    """Shipped notes plus extra (analysts') notes; a later note with the same id replaces it."""
    by_id: dict[str, LabeledNote] = {}
    for path in corpus_files(corpus_dir):
        for note in read_notes(path):
            by_id[note.id] = note
    for note in extra:
        by_id[note.id] = note
    return [by_id[key] for key in sorted(by_id)]


def corpus_digest(notes: Sequence[LabeledNote]) -> str:
    digest = hashlib.sha256()
    for note in notes:
        digest.update(json.dumps([note.id, note.text, note.categories, note.primary]).encode())
    return digest.hexdigest()
