"""``churnkb classify``: classify exit feedback with the warehouse's own rules.

There is one implementation of the classifier: the dbt macro ``classify_texts``
(``dbt_project/macros/classification/classify_texts.sql``). The warehouse model
``int_feedback_items_classified`` calls it with refs to the seeds; this command asks dbt to compile
the same macro (``dbt compile --inline``) and runs the SQL in an in-memory DuckDB over the texts
read from stdin and the same seed CSVs. Editing a rule in the seed changes both at once.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TextIO

import duckdb

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
# Seed name -> the table name the compiled SQL reads (the same names dbt gives the seeds).
RULE_SEEDS = ("feedback_classification_rules", "feedback_negation_cues", "category_departments")
INLINE_CALL = (
    "{{ classify_texts('input_texts', 'feedback_classification_rules', 'feedback_negation_cues',"
    " 'category_departments', id_column='text_id', text_column='body_text') }}"
)


class ClassifyError(ValueError):
    """Bad input or a broken rule set; the message says what to fix."""


@dataclass(frozen=True)
class Classification:
    id: str
    categories: list[str]
    primary_category: str
    department: str
    departments: list[str]
    matched_rule_ids: list[str]

    def as_output(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "categories": self.categories,
            "primary_category": self.primary_category,
            "department": self.department,
        }


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


@lru_cache(maxsize=1)
def compiled_classification_sql(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """Ask dbt to render the classify_texts macro; the result reads the tables named in INLINE_CALL."""
    from dbt.cli.main import dbtRunner  # imported late: dbt takes a second to import

    with tempfile.TemporaryDirectory(prefix="churnkb-classify-") as scratch:
        args = [
            "compile", "--inline", INLINE_CALL, "--quiet", "--no-send-anonymous-usage-stats",
            "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
            "--target-path", str(Path(scratch) / "target"), "--log-path", str(Path(scratch) / "logs"),
            # why :memory: — compiling must never open (or lock) the real warehouse file
            "--vars", json.dumps({"warehouse_path": ":memory:", "data_dir": scratch}),
        ]
        # why redirect: `compile --inline` prints the SQL even with --quiet; stdout is our output
        with contextlib.redirect_stdout(io.StringIO()):
            result = dbtRunner().invoke(args)
    if not result.success or not result.result:
        raise ClassifyError(f"dbt could not compile the classify_texts macro: {result.exception}")
    return str(result.result.results[0].node.compiled_code)


def load_rule_tables(con: duckdb.DuckDBPyConnection, seeds_dir: Path = SEEDS_DIR) -> None:
    """Load the classification seeds as tables named like dbt names them."""
    for seed in RULE_SEEDS:
        path = seeds_dir / f"{seed}.csv"
        if not path.exists():
            raise ClassifyError(f"seed {path} is missing")
        con.execute(
            f"create or replace table {seed} as select * from read_csv(?, header = true, all_varchar = true)",
            [str(path)],
        )


def classify_texts(items: Iterable[tuple[str, str]]) -> list[Classification]:
    """Classify (id, text) pairs with the warehouse rules; output keeps the input order."""
    rows = [(str(item_id), text or "") for item_id, text in items]
    if not rows:
        return []
    sql = compiled_classification_sql()
    with duckdb.connect(":memory:") as con:
        load_rule_tables(con)
        con.execute("create table input_texts (ordinal integer, text_id varchar, body_text varchar)")
        con.executemany(
            "insert into input_texts values (?, ?, ?)",
            [(ordinal, item_id, text) for ordinal, (item_id, text) in enumerate(rows)],
        )
        try:
            result = con.execute(
                f"select c.text_id, c.categories, c.primary_category, c.department, c.departments, "
                f"c.matched_rule_ids "
                f"from ({sql}) as c join input_texts using (text_id) order by input_texts.ordinal"
            ).fetchall()
        except duckdb.Error as exc:
            # a pattern RE2 cannot compile is the usual cause: name the seeds to fix
            first_line = str(exc).splitlines()[0]
            raise ClassifyError(
                f"the classification rules could not run ({first_line}); check the patterns in "
                f"{SEEDS_DIR / 'feedback_classification_rules.csv'} and feedback_negation_cues.csv"
            ) from exc
    return [Classification(*row) for row in result]


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


def evaluate(labeled: Sequence[dict[str, Any]], predicted: Sequence[Classification]) -> Evaluation:
    """Score multi-label predictions per category.

    Multi-label scoring: every (note, category) pair is one binary decision. For a category,
    a true positive is a note whose true set and predicted set both hold it; precision divides by
    the notes predicted with it, recall by the notes labeled with it. Macro-F1 is the plain mean
    of the per-category F1 over every category that occurs in the labels or the predictions.
    """
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


def run_classify(args: argparse.Namespace) -> int:
    try:
        if args.evaluate:
            with open(args.evaluate, encoding="utf-8") as fh:
                labeled = read_json_lines(fh, ("id", "text", "categories"))
            predicted = classify_texts((str(r["id"]), r["text"]) for r in labeled)
            print(format_evaluation(evaluate(labeled, predicted)))
            return 0
        records = read_json_lines(sys.stdin, ("id", "text"))
        for item in classify_texts((str(r["id"]), r["text"]) for r in records):
            print(json.dumps(item.as_output(), ensure_ascii=False))
        return 0
    except (ClassifyError, OSError) as exc:
        print(f"churnkb classify: {exc}", file=sys.stderr)
        return 2


def register_classify(subparsers: argparse._SubParsersAction) -> None:
    """Add ``churnkb classify`` (called from churnkb/commands/warehouse.py)."""
    parser = subparsers.add_parser(
        "classify",
        help="classify feedback texts (JSON Lines on stdin) with the warehouse rules",
        description=(
            'Reads JSON Lines {"id","text"} on stdin and writes {"id","categories","primary_category",'
            '"department"}. With --evaluate FILE, reads {"id","text","categories"[,"primary"]} and prints '
            "precision, recall and F1 per category and the macro-F1."
        ),
    )
    parser.add_argument("--evaluate", metavar="FILE", help="labeled JSON Lines file to score the rules on")
    parser.set_defaults(func=run_classify)
