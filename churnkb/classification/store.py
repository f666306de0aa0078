"""Where trained models and analysts' labels live, and when the model is retrained.

The model is a pure function of its inputs: the shipped corpus, the analysts' labels, the rule
seeds, the parameters and the library version. Their hash (the fingerprint) names the cached
model under ``<data_dir>/classification/models/``; when any input changes the fingerprint changes
and the next build or ``churnkb classify`` trains a new one (a few seconds). Nothing trained is
committed to the repository: a pickled model would have to be regenerated with every corpus
batch, and training is fast enough to do on first use.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sklearn

from churnkb.classification.corpus import LabeledNote, corpus_digest, load_corpus, read_notes
from churnkb.classification.model import (
    DEFAULT_PARAMS,
    MODEL_VERSION,
    ExitNoteClassifier,
    ModelParams,
)
from churnkb.classification.rules import load_rules

KEEP_MODELS = 3  # older cached models are removed


@dataclass(frozen=True)
class TrainedModel:
    classifier: ExitNoteClassifier
    fingerprint: str
    notes: int
    analyst_labels: int


def classification_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "classification"


def analyst_labels_path(data_dir: Path) -> Path:
    return classification_dir(data_dir) / "analyst_labels.jsonl"


def read_analyst_labels(data_dir: Path) -> list[LabeledNote]:
    path = analyst_labels_path(data_dir)
    return read_notes(path) if path.exists() else []


def append_analyst_labels(data_dir: Path, notes: Iterable[LabeledNote]) -> int:
    """Store labels (a later label for the same id wins when the corpus is read)."""
    path = analyst_labels_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with path.open("a", encoding="utf-8") as handle:
        for note in notes:
            record = {**note.as_record(), "labeled_at": stamp, "source": "analyst"}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    return written


def fingerprint(notes: Sequence[LabeledNote], params: ModelParams) -> str:
    parts = [MODEL_VERSION, sklearn.__version__, repr(params), load_rules().fingerprint, corpus_digest(notes)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def training_notes(data_dir: Path | None) -> tuple[list[LabeledNote], int]:
    labels = read_analyst_labels(data_dir) if data_dir is not None else []
    return load_corpus(labels), len(labels)


def load_model(data_dir: Path | None, params: ModelParams = DEFAULT_PARAMS) -> TrainedModel:
    """The model for the current inputs: from the cache, else trained now and cached."""
    notes, labels = training_notes(data_dir)
    key = fingerprint(notes, params)
    cached = _cached(data_dir, key)
    if cached is not None:
        return TrainedModel(cached, key, len(notes), labels)
    classifier = ExitNoteClassifier(params).fit(notes)
    if data_dir is not None:
        _save(data_dir, key, classifier)
    return TrainedModel(classifier, key, len(notes), labels)


def _model_dir(data_dir: Path) -> Path:
    return classification_dir(data_dir) / "models"


def _cached(data_dir: Path | None, key: str) -> ExitNoteClassifier | None:
    if data_dir is None:
        return None
    path = _model_dir(data_dir) / f"{key}.pkl"
    if not path.exists():
        return None
    try:
        with path.open("rb") as handle:
            model = pickle.load(handle)  # our own file under the data dir, written by _save
    except Exception:  # a torn or incompatible file: retrain rather than fail the build
        return None
    return model if isinstance(model, ExitNoteClassifier) else None


def _save(data_dir: Path, key: str, classifier: ExitNoteClassifier) -> None:
    folder = _model_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    # write then rename: a concurrent reader sees the old file or the whole new one
    with tempfile.NamedTemporaryFile("wb", dir=folder, suffix=".tmp", delete=False) as handle:
        pickle.dump(classifier, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(handle.name, folder / f"{key}.pkl")
    for old in sorted(folder.glob("*.pkl"), key=lambda p: p.stat().st_mtime)[:-KEEP_MODELS]:
        old.unlink(missing_ok=True)
