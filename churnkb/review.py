"""The analysts' review queue: export the items the classifier is unsure of, import their labels.

``export_queue`` writes ``mart_review_queue`` as CSV with two empty columns for the analyst:
``label_categories`` (the decisive reason first, separated by ``;``) and ``label_primary``
(optional, defaults to the first category). ``import_labels`` validates the whole file first
(unknown categories, feedback ids not in the warehouse, the same id twice, a text that changed
since the export): any problem is reported with its row numbers and nothing is imported. Valid
labels are appended to the analysts' labels (``churnkb.classification.store``), which override the
model for the same item and text at the next build and join the training corpus; the import
retrains the model at once (cached for that build) and measures it on the held-out set. No
cross-validation here: it takes minutes and ``churnkb classify --cross-validate`` does it on demand.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from churnkb.classification.corpus import CATEGORIES, LabeledNote, read_notes
from churnkb.classification.metrics import Evaluation, evaluate
from churnkb.classification.store import (
    TrainedModel,
    analyst_labels_path,
    append_analyst_labels,
    load_model,
)
from churnkb.config import Config
from churnkb.warehouse import WarehouseError, query, read_connection

# The team's held-out set, present in a source checkout (tests/data is not installed with the package).
HELDOUT_PATH = Path(__file__).resolve().parents[1] / "tests" / "data" / "heldout" / "exit_notes_heldout.jsonl"
LABEL_COLUMNS = ("label_categories", "label_primary")
EXPORT_COLUMNS = ("review_rank", "feedback_id", "text_hash", "predicted_category", "predicted_categories",
                  "predicted_confidence", "predicted_scores", "account_name", "account_id", "churn_event_id",
                  "churned_at", "stated_reason_raw", "feedback_source", "noted_at", "text", *LABEL_COLUMNS)
SEPARATORS = re.compile(r"[;,|]")
TOP_SCORES = 3  # the export shows the model's three most likely categories


class ReviewError(ValueError):
    """A review file cannot be read or imported; the message lists every row to fix."""


@dataclass(frozen=True)
class RowLabel:
    row: int  # the spreadsheet row number (the header is row 1)
    feedback_id: str
    categories: tuple[str, ...]
    primary: str
    text_hash: str | None


@dataclass(frozen=True)
class Figures:
    evaluation: Evaluation
    notes: int  # notes the model was trained on
    analyst_labels: int


@dataclass(frozen=True)
class ImportReport:
    imported: int
    unlabelled: int
    labels_path: Path
    retrain_seconds: float
    before: Figures | None  # held-out figures of the model the labels replace
    after: Figures | None
    heldout_path: Path | None  # None: no held-out set to measure on


# -- export ---------------------------------------------------------------------------------------

def export_queue(config: Config, out: Path) -> int:
    """Write the review queue to ``out`` (CSV, least confident first); returns the number of rows."""
    frame = query(config, """
        select review_rank, feedback_id, text_hash, predicted_category,
               array_to_string(predicted_categories, '; ') as predicted_categories,
               round(predicted_confidence, 3) as predicted_confidence,
               map_entries(predicted_scores) as predicted_scores, account_name, account_id,
               churn_event_id, churned_at, stated_reason_raw, feedback_source, noted_at,
               body_text as text
        from mart_review_queue order by review_rank""")
    rows = [_export_row(record) for record in frame.to_dicts()]
    _write_csv(out, rows)
    return len(rows)


def _export_row(record: dict[str, object]) -> dict[str, object]:
    entries = record.get("predicted_scores") or []
    scores = sorted(((e["key"], e["value"]) for e in entries), key=lambda kv: -kv[1])  # type: ignore[index]
    record["predicted_scores"] = "; ".join(f"{name} {value:.2f}" for name, value in scores[:TOP_SCORES])
    return {**{column: record.get(column) for column in EXPORT_COLUMNS}, **dict.fromkeys(LABEL_COLUMNS, "")}


def _write_csv(out: Path, rows: Sequence[dict[str, object]]) -> None:
    """Write then rename: an interrupted export never leaves half a file under the asked name."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=out.parent, suffix=".tmp", delete=False, newline="",
                                     encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    os.replace(handle.name, out)


# -- reading an analyst's file --------------------------------------------------------------------

def parse_label(categories_text: str | None, primary_text: str | None) -> tuple[tuple[str, ...], str] | str:
    """The categories (primary first) and the primary of one row, or what is wrong with them.

    An empty row (both cells blank) is not labelled: the caller counts it and leaves it out.
    """
    categories = [c.strip().lower() for c in SEPARATORS.split(categories_text or "") if c.strip()]
    primary = (primary_text or "").strip().lower() or (categories[0] if categories else "")
    if not primary:
        return "no category given"
    unknown = sorted({c for c in [*categories, primary] if c and c not in CATEGORIES})
    if unknown:
        return f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}"
    ordered = tuple(dict.fromkeys([primary, *categories]))
    if len(ordered) > 1 and "unknown" in ordered:
        return "'unknown' means no reason is given: it cannot go with another category"
    return ordered, primary


def read_review_csv(path: Path) -> tuple[list[RowLabel], int, list[tuple[int, str]]]:
    """The labelled rows of an analyst's file, how many rows carry no label, and every problem
    found (row, message): all of them, not the first, so one round of fixes is enough."""
    try:
        with Path(path).open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in ("feedback_id", "label_categories") if c not in header]
            if missing:
                raise ReviewError(f"{path}: missing column(s) {', '.join(missing)} "
                                  "(start from the file `churnkb review export` writes)")
            records = list(reader)
    except OSError as exc:
        raise ReviewError(f"cannot read {path}: {exc.strerror}") from exc
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ReviewError(f"{path}: not a readable CSV file ({exc})") from exc
    return _labels(records)


def _labels(records: Sequence[dict[str, str | None]]) -> tuple[list[RowLabel], int, list[tuple[int, str]]]:
    labels: list[RowLabel] = []
    problems: list[tuple[int, str]] = []
    unlabelled = 0
    for row, record in enumerate(records, start=2):  # multi-line cells: count records, not lines
        categories_text, primary_text = record.get("label_categories"), record.get("label_primary")
        if not (categories_text or "").strip() and not (primary_text or "").strip():
            unlabelled += 1
            continue
        feedback_id = (record.get("feedback_id") or "").strip()
        parsed = parse_label(categories_text, primary_text)
        if not feedback_id:
            problems.append((row, "no feedback_id"))
            continue
        if isinstance(parsed, str):
            problems.append((row, parsed))
            parsed = ((), "")
        labels.append(RowLabel(row, feedback_id, parsed[0], parsed[1],
                               (record.get("text_hash") or "").strip() or None))
    return labels, unlabelled, problems + _duplicates(labels)


def _duplicates(labels: Iterable[RowLabel]) -> list[tuple[int, str]]:
    rows_by_id: dict[str, list[int]] = {}
    for label in labels:
        rows_by_id.setdefault(label.feedback_id, []).append(label.row)
    return [(rows[0], f"feedback_id {item_id!r} is labelled on more than one row (rows "
                      f"{', '.join(map(str, rows))}): keep one")
            for item_id, rows in rows_by_id.items() if len(rows) > 1]


def _problem_report(path: Path, problems: Sequence[tuple[int, str]]) -> str:
    lines = [f"{path}: nothing imported, {len(problems)} problem(s) (row numbers as in a spreadsheet, "
             "header = row 1):"]
    lines += [f"  row {row}: {message}" for row, message in sorted(problems)]
    lines.append(f"  categories: {', '.join(CATEGORIES)}")
    return "\n".join(lines)


# -- importing ------------------------------------------------------------------------------------

def warehouse_texts(config: Config, feedback_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """feedback_id -> (text, MD5 of the text) for the ids present in fct_feedback_items."""
    with read_connection(config) as connection:
        rows = connection.execute(
            "select feedback_id, coalesce(body_text, ''), md5(coalesce(body_text, '')) "
            "from fct_feedback_items where feedback_id = any(?)", [list(feedback_ids)]).fetchall()
    return {item_id: (text, digest) for item_id, text, digest in rows}


def warehouse_problems(labels: Sequence[RowLabel], texts: dict[str, tuple[str, str]]) -> list[tuple[int, str]]:
    """Rows whose id the warehouse does not have or whose text changed since the export."""
    problems: list[tuple[int, str]] = []
    for label in labels:
        if label.feedback_id not in texts:
            problems.append((label.row, f"feedback_id {label.feedback_id!r} is not in the warehouse "
                                        "(fct_feedback_items)"))
        elif label.text_hash and label.text_hash != texts[label.feedback_id][1]:
            problems.append((label.row, f"the text of {label.feedback_id!r} changed since the export: "
                                        "export again and label the new text"))
    return problems


def labelled_notes(labels: Sequence[RowLabel], texts: dict[str, tuple[str, str]]) -> list[LabeledNote]:
    """The labels as corpus notes, with the warehouse's text (the text the override applies to)."""
    return [LabeledNote(label.feedback_id, texts[label.feedback_id][0], label.categories, label.primary,
                        {"source_row": label.row, "text_hash": texts[label.feedback_id][1]})
            for label in labels]


def import_labels(config: Config, path: Path, heldout: Path | None = HELDOUT_PATH) -> ImportReport:
    """Validate the whole file, store its labels, retrain and measure on the held-out set."""
    labels, unlabelled, problems = read_review_csv(path)
    labels_path = analyst_labels_path(config.data_dir)
    if not labels and not problems:
        return ImportReport(0, unlabelled, labels_path, 0.0, None, None, None)
    try:
        texts = warehouse_texts(config, [label.feedback_id for label in labels])
    except WarehouseError as exc:
        raise ReviewError(str(exc)) from exc
    problems += warehouse_problems(labels, texts)
    if problems:
        raise ReviewError(_problem_report(path, problems))
    notes = labelled_notes(labels, texts)
    heldout_notes = read_notes(heldout) if heldout is not None and Path(heldout).exists() else None
    # the model the labels replace: cached by the last build, so loading it takes a moment
    before = _figures(load_model(config.data_dir), heldout_notes) if heldout_notes is not None else None
    append_analyst_labels(config.data_dir, notes)
    started = time.monotonic()
    retrained = load_model(config.data_dir)  # a new fingerprint: trained now, cached for the build
    seconds = time.monotonic() - started
    return ImportReport(len(notes), unlabelled, labels_path, seconds, before,
                        _figures(retrained, heldout_notes), heldout if heldout_notes is not None else None)


def _figures(model: TrainedModel, heldout: Sequence[LabeledNote] | None) -> Figures | None:
    if heldout is None:
        return None
    predicted = model.classifier.predict([(note.id, note.text) for note in heldout])
    return Figures(evaluate([note.as_record() for note in heldout], predicted), model.notes, model.analyst_labels)
