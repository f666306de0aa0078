"""``churnkb review export|import``: the analysts' review queue of low-confidence feedback (churnkb/review.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from churnkb.commands.common import EXIT_OK, EXIT_USAGE, CommandError, say
from churnkb.config import load_config
from churnkb.warehouse_lock import WarehouseBusy


def register(subparsers: argparse._SubParsersAction) -> None:
    review = subparsers.add_parser(
        "review", help="the analysts' review queue of low-confidence feedback",
        description="Exports mart_review_queue (feedback the classifier is unsure of) as CSV and "
                    "imports the analysts' labels: they override the model at the next `churnkb build` "
                    "and join the training corpus.")
    actions = review.add_subparsers(dest="review_action", metavar="ACTION", required=True)

    export = actions.add_parser(
        "export", help="write the review queue as CSV",
        description="Writes mart_review_queue, least confident first, with empty label_categories "
                    "(decisive reason first, ';'-separated) and label_primary columns to fill in.")
    export.add_argument("--out", type=Path, required=True, metavar="FILE", help="CSV file to write")
    export.set_defaults(func=run_export)

    imports = actions.add_parser(
        "import", help="import analysts' labels from a review CSV and retrain",
        description="Validates the whole file (unknown categories, feedback ids not in the warehouse, "
                    "an id on two rows, a text changed since the export: nothing is imported then), "
                    "stores the labels under <data dir>/classification/, retrains the classifier and "
                    "prints its held-out figures. Rows without a label are left in the queue.")
    imports.add_argument("file", type=Path, help="the CSV written by `churnkb review export`, labelled")
    imports.add_argument("--heldout", type=Path, metavar="FILE",
                         help="labelled JSON Lines to measure the retrained model on "
                              "(default: tests/data/heldout of a source checkout)")
    imports.set_defaults(func=run_import)


def run_export(args: argparse.Namespace) -> int:
    from churnkb.review import export_queue
    from churnkb.warehouse import WarehouseError

    config = load_config(args.config, args.data_dir)
    try:
        rows = export_queue(config, args.out)
    except (WarehouseError, WarehouseBusy) as exc:
        raise CommandError(str(exc)) from exc
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc.strerror}", EXIT_USAGE) from exc
    say("review export", f"{rows} item(s) to review written to {args.out}"
        + ("" if rows else " (nothing below the confidence threshold)"))
    return EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    from churnkb.review import HELDOUT_PATH, ReviewError, import_labels

    config = load_config(args.config, args.data_dir)
    heldout = args.heldout or HELDOUT_PATH
    if args.heldout and not args.heldout.exists():
        raise CommandError(f"no held-out file at {args.heldout}", EXIT_USAGE)
    try:
        report = import_labels(config, args.file, heldout)
    except ReviewError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    except WarehouseBusy as exc:
        raise CommandError(str(exc)) from exc
    print(format_import(report))
    return EXIT_OK


def format_import(report) -> str:  # noqa: ANN001 - churnkb.review.ImportReport (imported lazily)
    from churnkb.classification.metrics import format_evaluation

    left = f"; {report.unlabelled} row(s) without a label stay in the queue" if report.unlabelled else ""
    if not report.imported:
        return f"nothing imported: no row has label_categories or label_primary{left}"
    lines = [f"imported {report.imported} analyst label(s) into {report.labels_path}{left}"]
    if report.after is None:
        lines.append(f"retrained the classifier in {report.retrain_seconds:.1f} s; no held-out set to "
                     "measure it on (pass --heldout FILE)")
    else:
        before, after = report.before.evaluation, report.after.evaluation
        lines += [
            f"retrained the classifier on {report.after.notes} notes ({report.after.analyst_labels} analysts' "
            f"labels) in {report.retrain_seconds:.1f} s",
            f"held-out figures ({after.notes} notes, {report.heldout_path}): macro-F1 {after.macro_f1:.3f} "
            f"(before {before.macro_f1:.3f}), primary accuracy {_share(after.primary_accuracy)} "
            f"(before {_share(before.primary_accuracy)})",
            format_evaluation(after),
        ]
    lines.append("run `churnkb build` to apply the labels to the warehouse")
    return "\n".join(lines)


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
