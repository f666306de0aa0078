"""``churnkb classify``: classify exit feedback with the warehouse's own classifier.

There is one implementation: ``churnkb.classification.service.classify_items``. The warehouse
model ``int_feedback_items_classified`` (a dbt Python model) calls it over the collected items,
this command calls it over JSON Lines from stdin, with the same trained model (same corpus,
analysts' labels and rule seeds: the same fingerprint under the same data directory) and the
same configured features and the same back-end (classification.backend: local, or llm with the
local model as fallback), so both give the same answer for the same (id, text).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from churnkb.classification.corpus import CorpusError, read_notes
from churnkb.classification.evaluation import cross_validated_predictions, format_breakdowns
from churnkb.classification.llm import llm_settings
from churnkb.classification.metrics import evaluate, format_evaluation
from churnkb.classification.service import classify_items
from churnkb.classification.store import load_model, training_notes
from churnkb.config import Config, load_config

OUTPUT_FIELDS = ("id", "categories", "primary_category", "department", "departments", "confidence",
                 "scores", "classified_by", "theme", "feature_requests", "competitors_switched_to",
                 "competitors_mentioned", "parting_sentiment", "valued", "would_return",
                 "would_recommend", "open_to_reference")


class ClassifyError(ValueError):
    """Bad input; the message says what to fix."""


def configured_features(config: Config) -> dict[str, list[str]]:
    """publishing.features: feature name -> keywords; the product digest groups by these names."""
    features = config.section("publishing").get("features") or {}
    return {str(name): [str(k) for k in (keywords or [])] for name, keywords in features.items()}


def read_json_lines(stream: TextIO, required: Sequence[str]) -> list[dict[str, Any]]:
    """Parse JSON Lines, failing with the line number on a bad line (nothing is silently skipped)."""
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line_number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ClassifyError(f"line {line_number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise ClassifyError(f"line {line_number}: expected a JSON object")
        missing = [key for key in required if key not in record]
        if missing:
            raise ClassifyError(f"line {line_number}: missing key(s) {', '.join(missing)}")
        if not isinstance(record["text"], str):
            raise ClassifyError(f"line {line_number}: 'text' must be a string")
        record_id = str(record["id"])
        if record_id in seen:
            raise ClassifyError(f"line {line_number}: duplicate id {record_id!r}")
        seen.add(record_id)
        records.append(record)
    return records


def run_classify(args: argparse.Namespace) -> int:
    config = load_config(getattr(args, "config", None), getattr(args, "data_dir", None))
    try:
        if args.cross_validate:
            notes, labels = training_notes(config.data_dir)
            labeled = [n.as_record() for n in notes]
            predicted = cross_validated_predictions(notes)
            print(f"5-fold cross-validation on {len(notes)} training notes ({labels} analysts' labels)")
            print(format_evaluation(evaluate(labeled, predicted)))
            print(format_breakdowns(labeled, predicted))
            return 0
        if args.evaluate:
            labeled = [n.as_record() for n in read_notes(Path(args.evaluate))]
            model = load_model(config.data_dir)
            predicted = model.classifier.predict([(str(r["id"]), r["text"]) for r in labeled])
            print(format_evaluation(evaluate(labeled, predicted)))
            print(format_breakdowns(labeled, predicted))
            return 0
        llm = llm_settings(config.section("classification"))  # before reading stdin: fail fast
        records = read_json_lines(sys.stdin, ("id", "text"))
        results = classify_items(((str(r["id"]), r["text"]) for r in records), config.data_dir,
                                 configured_features(config), llm=llm)
        for item in results:
            values = item.as_dict()
            print(json.dumps({key: values[key] for key in OUTPUT_FIELDS}, ensure_ascii=False))
        return 0
    except (ClassifyError, CorpusError, OSError) as exc:
        print(f"churnkb classify: {exc}", file=sys.stderr)
        return 2


def register_classify(subparsers: argparse._SubParsersAction) -> None:
    """Add ``churnkb classify`` (called from churnkb/commands/warehouse.py)."""
    parser = subparsers.add_parser(
        "classify",
        help="classify feedback texts (JSON Lines on stdin) with the warehouse classifier",
        description=(
            'Reads JSON Lines {"id","text"} on stdin and writes one JSON object per line: '
            '"categories" (main reason first), "primary_category", "department", "confidence", '
            '"scores" (probability per category), "classified_by" and the extracted themes, '
            'competitors and parting signals. With --evaluate FILE, reads labelled JSON Lines '
            '{"id","text","categories"[,"primary"]} and prints precision, recall and F1 per '
            "category; --cross-validate prints 5-fold figures on the training corpus."
        ),
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--evaluate", metavar="FILE", help="labelled JSON Lines file to score the model on")
    mode.add_argument("--cross-validate", action="store_true",
                      help="5-fold cross-validation on the training corpus (with analysts' labels)")
    parser.set_defaults(func=run_classify)
