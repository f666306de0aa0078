"""``churnkb classify``: the warehouse's classification rules, run from the command line.

The command compiles the same dbt macro the warehouse model uses, so these tests exercise the
real rules (seeds) through real dbt and DuckDB; nothing is mocked.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from churnkb.classify import Classification, classify_texts, evaluate

REPO = Path(__file__).resolve().parents[1]
LABELED_SET = REPO / "tests" / "data" / "labeled_exit_notes.jsonl"
DEV_SET = REPO / "tests" / "data" / "dev_exit_notes.jsonl"
# Measured on the held-out labeled set (rules were written without looking at it: 0.737 before the
# dev-set round, 0.764 after); a floor, so a rule edit that makes classification worse fails here.
LABELED_MACRO_F1_FLOOR = 0.75
# The dev set is the one rules are tuned on (0.989 measured), so its floor only guards regressions.
DEV_MACRO_F1_FLOOR = 0.95


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "churnkb", "classify", *args],
        input=stdin, capture_output=True, text=True, cwd=REPO, timeout=120,
    )


@pytest.fixture(scope="module")
def classified() -> dict[str, Classification]:
    notes = {
        "negated_price": "Pricing was never the issue, but support was painfully slow and tickets sat for weeks.",
        "not_because": "Not because of the price. They no longer need the tool since the project ended.",
        "several": "Main reason: they switched to Gainsight. Also the onboarding never finished.",
        "competitor_only": "They are moving to Vitally next quarter.",
        "german_negation": "Der Preis war nicht das Problem, die Firma wurde übernommen.",
        "spanish": "El soporte tardaba días en responder y el precio era demasiado caro.",
        "french": "Nous n'avons plus besoin de l'outil, le projet est terminé.",
        "portuguese": "O pagamento foi recusado e o cartão expirou.",
        "no_reason": "Thanks for everything, no further comments.",
        "html_entities": "Too expensive for what they use &amp; the renewal quote went up 30%.",
        "praise_after_and": "Too expensive and support was great.",
        "coordinated_praise": "Price and support were fine; they moved to Planhat.",
        "crm_shorthand": "went w/ Vitally",
        "main_reason_though": "- Support response times were terrible\n- Main reason though: they switched to Totango",
        "foreign_idiom": "Die Zahlung ist mehrfach fehlgeschlagen.",
    }
    return {item.id: item for item in classify_texts(notes.items())}


def test_negated_reason_is_not_given(classified):
    assert classified["negated_price"].categories == ["service"]
    assert classified["not_because"].categories == ["needs"]
    assert classified["german_negation"].categories == ["company"]


def test_several_reasons_with_the_main_one_primary(classified):
    item = classified["several"]
    assert item.categories == ["competitor", "success_process"]
    assert item.primary_category == "competitor"


def test_competitor_routes_to_product_and_sales(classified):
    item = classified["competitor_only"]
    assert item.department == "product"
    assert item.departments == ["product", "sales"]


def test_non_english_notes_are_classified(classified):
    assert set(classified["spanish"].categories) == {"service", "pricing"}
    assert classified["french"].categories == ["needs"]
    assert classified["portuguese"].categories == ["involuntary"]
    assert classified["portuguese"].department == "finance"


def test_no_reason_is_unknown_for_triage(classified):
    item = classified["no_reason"]
    assert (item.categories, item.primary_category, item.department) == (["unknown"], "unknown", "triage")


def test_company_churn_is_reporting_only(classified):
    assert classified["german_negation"].department == "none"


def test_a_negation_stops_at_the_next_conjunction(classified):
    # praise for the next subject does not cancel the reason before it ...
    assert classified["praise_after_and"].categories == ["pricing"]
    # ... while praise for a coordinated subject still covers both
    assert classified["coordinated_praise"].categories == ["competitor"]


def test_crm_shorthand_and_idioms_are_understood(classified):
    assert classified["crm_shorthand"].categories == ["competitor"]
    assert classified["foreign_idiom"].categories == ["involuntary"]


def test_main_reason_marker_survives_though(classified):
    item = classified["main_reason_though"]
    assert set(item.categories) == {"service", "competitor"}
    assert item.primary_category == "competitor"


def test_html_entities_do_not_hide_the_reason(classified):
    assert classified["html_entities"].categories == ["pricing"]


def test_multi_label_scoring_counts_each_note_and_category_once():
    labeled = [
        {"id": "a", "text": "", "categories": ["pricing", "product"], "primary": "pricing"},
        {"id": "b", "text": "", "categories": ["pricing"], "primary": "pricing"},
        {"id": "c", "text": "", "categories": ["service"]},
    ]
    predicted = [
        Classification("a", ["pricing"], "pricing", "finance", ["finance"], []),
        Classification("b", ["product", "pricing"], "product", "product", ["finance", "product"], []),
        Classification("c", ["service"], "service", "support", ["support"], []),
    ]
    report = evaluate(labeled, predicted)
    scores = {s.category: s for s in report.scores}
    assert (scores["pricing"].precision, scores["pricing"].recall) == (1.0, 1.0)
    assert (scores["product"].precision, scores["product"].recall) == (0.0, 0.0)
    assert scores["service"].f1 == 1.0
    assert report.macro_f1 == pytest.approx(2 / 3)
    assert (report.primary_correct, report.primary_labeled) == (1, 2)


def test_cli_reads_and_writes_json_lines():
    stdin = "\n".join(
        json.dumps(record)
        for record in (
            {"id": "1", "text": "Way too expensive after the price increase."},
            {"id": 2, "text": "Our champion left and the new VP brought his own tools."},
        )
    )
    out = run_cli(stdin=stdin + "\n")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines == [
        {"id": "1", "categories": ["pricing"], "primary_category": "pricing", "department": "finance"},
        {"id": "2", "categories": ["relationship"], "primary_category": "relationship",
         "department": "customer_success"},
    ]


def test_cli_names_the_bad_line():
    out = run_cli(stdin='{"id": "1", "text": "fine"}\nnot json\n')
    assert out.returncode == 2
    assert "line 2" in out.stderr and out.stdout == ""
    out = run_cli(stdin='{"id": "1"}\n')
    assert out.returncode == 2 and "missing key(s) text" in out.stderr


def test_evaluate_on_the_held_out_labeled_set():
    out = run_cli("--evaluate", str(LABELED_SET))
    assert out.returncode == 0, out.stderr
    macro = re.search(r"macro-F1 ([0-9.]+)", out.stdout)
    assert macro, out.stdout
    print(out.stdout)
    assert float(macro.group(1)) >= LABELED_MACRO_F1_FLOOR
    assert re.search(r"^pricing\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+", out.stdout, re.M)


def test_evaluate_on_the_dev_set():
    out = run_cli("--evaluate", str(DEV_SET))
    assert out.returncode == 0, out.stderr
    macro = re.search(r"macro-F1 ([0-9.]+) over 10 categories, ([0-9]+) notes", out.stdout)
    assert macro, out.stdout
    assert int(macro.group(2)) >= 150
    assert float(macro.group(1)) >= DEV_MACRO_F1_FLOOR
