"""``churnkb review``: the analysts' review queue, exported and imported through the real CLI.

The acceptance path of issue 11: export the queue, label an item, import the file, build, and the
item's row in fct_feedback_items carries the analyst's label; the import prints the retrained
model's held-out figures. Each test works on a copy of the session warehouse (the shared one is
read-only), so the labels it imports never reach other tests.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.warehouse import warehouse_config
from hypothesis import given
from hypothesis import strategies as st

from churnkb.classification.corpus import CATEGORIES
from churnkb.classification.store import analyst_labels_path
from churnkb.review import parse_label
from churnkb.warehouse import build, query

REPO = Path(__file__).resolve().parents[1]
QUEUE_EVERYTHING = {"review_confidence_threshold": 1.0}  # every model-classified item is queued


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "churnkb", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, cwd=REPO, timeout=1200)


@pytest.fixture
def warehouse_copy(built_warehouse, tmp_path: Path) -> Path:
    """A private copy of the session warehouse: raw zone, warehouse file, cached model."""
    target = tmp_path / "data"
    shutil.copytree(built_warehouse.config.data_dir, target,
                    ignore=shutil.ignore_patterns("warehouse.lock*", "dbt"))
    return target


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def feedback_row(data_dir: Path, feedback_id: str) -> dict[str, object]:
    frame = query(data_dir, f"""
        select category, categories, classified_by, category_confidence
        from fct_feedback_items where feedback_id = '{feedback_id}'""")
    return frame.to_dicts()[0]


def test_an_imported_label_changes_the_warehouse_row_after_the_next_build(warehouse_copy):
    config = warehouse_config(warehouse_copy)
    config.raw["classification"] = dict(QUEUE_EVERYTHING)
    queued = build(config, select=["mart_review_queue"])
    assert queued.success, queued.summary()

    exported = cli(warehouse_copy, "review", "export", "--out", str(warehouse_copy / "review.csv"))
    assert exported.returncode == 0, exported.stderr
    rows = read_csv(warehouse_copy / "review.csv")
    assert rows and rows[0]["review_rank"] == "1"
    assert float(rows[0]["predicted_confidence"]) <= float(rows[-1]["predicted_confidence"])
    chosen = rows[0]
    assert chosen["text"] and chosen["label_categories"] == ""
    predicted = set(chosen["predicted_categories"].split("; "))
    new_primary, second = [c for c in ("needs", "company", "involuntary", "relationship") if c not in predicted][:2]
    chosen["label_categories"] = f"{new_primary}; {second}"
    write_csv(warehouse_copy / "review.csv", rows)

    imported = cli(warehouse_copy, "review", "import", str(warehouse_copy / "review.csv"))
    assert imported.returncode == 0, imported.stderr
    assert "imported 1 analyst label(s)" in imported.stdout
    assert f"{len(rows) - 1} row(s) without a label stay in the queue" in imported.stdout
    assert "(1 analysts' labels)" in imported.stdout  # the label joined the training corpus
    assert "held-out figures (340 notes" in imported.stdout
    assert "macro-F1" in imported.stdout and "primary accuracy" in imported.stdout

    before = feedback_row(warehouse_copy, chosen["feedback_id"])
    assert before["classified_by"] == "model"  # nothing changes until the next build
    rebuilt = build(config)
    assert rebuilt.success, rebuilt.summary()
    after = feedback_row(warehouse_copy, chosen["feedback_id"])
    assert after == {"category": new_primary, "categories": [new_primary, second], "classified_by": "analyst",
                     "category_confidence": 1.0}
    still_queued = query(warehouse_copy, "select feedback_id from mart_review_queue")["feedback_id"].to_list()
    assert chosen["feedback_id"] not in still_queued and len(still_queued) == len(rows) - 1

    # `churnkb classify` gives the same answer for the same item and text
    classified = subprocess.run(
        [sys.executable, "-m", "churnkb", "classify", "--data-dir", str(warehouse_copy)],
        input=json.dumps({"id": chosen["feedback_id"], "text": chosen["text"]}) + "\n",
        capture_output=True, text=True, cwd=REPO, timeout=600)
    assert classified.returncode == 0, classified.stderr
    assert json.loads(classified.stdout)["categories"] == [new_primary, second]


def test_a_bad_review_file_names_every_bad_row_and_imports_nothing(warehouse_copy):
    items = query(warehouse_copy, """
        select feedback_id, md5(body_text) as text_hash from fct_feedback_items
        where body_text <> '' order by feedback_id limit 3""").to_dicts()
    assert len(items) == 3
    header = {"feedback_id": "", "text_hash": "", "label_categories": "", "label_primary": ""}
    rows = [
        {**header, "feedback_id": items[0]["feedback_id"], "text_hash": items[0]["text_hash"],
         "label_categories": "pricing; prices"},                                       # row 2: unknown category
        {**header, "feedback_id": "fbk_not_in_the_warehouse", "label_categories": "needs"},  # row 3
        {**header, "feedback_id": items[1]["feedback_id"], "label_categories": "service"},   # rows 4 and 6
        {**header, "feedback_id": items[2]["feedback_id"], "text_hash": "0" * 32,
         "label_categories": "product"},                                               # row 5: text changed
        {**header, "feedback_id": items[1]["feedback_id"], "label_categories": "product"},
        {**header, "feedback_id": items[2]["feedback_id"]},                            # row 7: no label
    ]
    write_csv(warehouse_copy / "bad.csv", rows)

    out = cli(warehouse_copy, "review", "import", str(warehouse_copy / "bad.csv"))
    assert out.returncode == 2
    assert "nothing imported, 4 problem(s)" in out.stderr
    assert "row 2: unknown category 'prices'" in out.stderr
    assert "row 3: feedback_id 'fbk_not_in_the_warehouse' is not in the warehouse" in out.stderr
    assert "(rows 4, 6)" in out.stderr
    assert "row 5: the text of" in out.stderr and "changed since the export" in out.stderr
    assert "row 7" not in out.stderr
    assert not analyst_labels_path(warehouse_copy).exists()
    assert "Traceback" not in out.stderr


def test_a_file_that_is_not_a_review_csv_is_refused(warehouse_copy):
    (warehouse_copy / "notes.csv").write_text("id,text\n1,too expensive\n", encoding="utf-8")
    (warehouse_copy / "binary.csv").write_bytes(b"\xff\xfe\x00garbage\x00\x81")
    for name, message in (("notes.csv", "missing column(s) feedback_id, label_categories"),
                          ("binary.csv", "not a readable CSV file"),
                          ("absent.csv", "cannot read")):
        out = cli(warehouse_copy, "review", "import", str(warehouse_copy / name))
        assert out.returncode == 2, (name, out.stderr)
        assert message in out.stderr and "Traceback" not in out.stderr
    assert not analyst_labels_path(warehouse_copy).exists()


def test_labels_parse_with_the_primary_first():
    assert parse_label("Pricing ; competitor", "") == (("pricing", "competitor"), "pricing")
    assert parse_label("pricing, competitor", "competitor") == (("competitor", "pricing"), "competitor")
    assert parse_label("", "needs") == (("needs",), "needs")
    assert parse_label("product|product", None) == (("product",), "product")
    assert "unknown category 'price'" in str(parse_label("price", ""))
    assert "cannot go with another category" in str(parse_label("unknown; pricing", ""))


@given(st.text(), st.text())
def test_any_label_cell_gives_known_categories_or_a_message(categories_text, primary_text):
    parsed = parse_label(categories_text, primary_text)
    if isinstance(parsed, str):
        assert parsed
        return
    categories, primary = parsed
    if categories:
        assert categories[0] == primary
        assert set(categories) <= set(CATEGORIES) and len(set(categories)) == len(categories)
