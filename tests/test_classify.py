"""``churnkb classify`` and the classifier behind it (churnkb.classification).

The command and the warehouse call the same function (classify_items) with the same trained
model; these tests exercise the real model trained on the shipped corpus, nothing is mocked.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from churnkb.sandbox import phrases

from churnkb.classification.metrics import evaluate
from churnkb.classification.service import ItemResult, classify_items

REPO = Path(__file__).resolve().parents[1]
LABELED_SET = REPO / "tests" / "data" / "labeled_exit_notes.jsonl"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("classify-data")


def run_cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "churnkb", "classify", "--data-dir", str(data_dir), *args],
        input=stdin, capture_output=True, text=True, cwd=REPO, timeout=300,
    )


@pytest.fixture(scope="module")
def classified(data_dir) -> dict[str, ItemResult]:
    notes = {
        "negated_price": "Pricing was never the issue, but support was painfully slow and tickets sat for weeks.",
        "not_because": "Not because of the price. They no longer need the tool since the project ended.",
        "several": "Main reason: they switched to Gainsight. Also the onboarding never finished, "
                   "nobody on their team was ever trained.",
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
        "template": "Pricing tier: Growth\nCompetitor on file: -\nNotes: our champion left, the new VP "
                    "brought his own tools",
        "sour_exit": "Honestly we are glad to be done. Three outages in a quarter and nobody called us back.",
        "warm_exit": "It was a real pleasure working with Dana, the team will miss the weekly calls. "
                     "Budget just is not there next year.",
    }
    return {item.id: item for item in classify_items(notes.items(), data_dir)}


def test_how_they_felt_about_leaving_is_learned(classified):
    # the cue count (extract.py) says neutral for both; the sentiment head reads the whole note
    assert classified["sour_exit"].parting_sentiment == "negative"
    assert classified["warm_exit"].parting_sentiment == "positive"
    assert classified["no_reason"].parting_sentiment in ("positive", "neutral")


def test_without_sentiment_labels_the_cue_count_answers(tmp_path):
    from churnkb.classification.corpus import load_corpus
    from churnkb.classification.model import ExitNoteClassifier

    unlabelled = [replace(n, meta={k: v for k, v in n.meta.items() if k != "sentiment"})
                  for n in load_corpus()[:300]]
    model = ExitNoteClassifier().fit(unlabelled)
    assert model.sentiment_head is None
    assert model.predict([("x", "We would not recommend you to anyone.")])[0].sentiment is None


def test_negated_reason_is_not_given(classified):
    assert classified["negated_price"].categories == ["service"]
    assert classified["not_because"].categories == ["needs"]
    assert classified["german_negation"].categories == ["company"]


def test_several_reasons_with_the_main_one_primary(classified):
    item = classified["several"]
    assert set(item.categories) == {"competitor", "success_process"}
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
    # ... while praise for a coordinated subject still covers both (the model may add a weak
    # secondary category; the praised ones must not be among them)
    praised = classified["coordinated_praise"]
    assert praised.primary_category == "competitor"
    assert not {"pricing", "service"} & set(praised.categories)


def test_crm_shorthand_and_idioms_are_understood(classified):
    assert classified["crm_shorthand"].primary_category == "competitor"
    assert classified["foreign_idiom"].categories == ["involuntary"]


def test_main_reason_marker_survives_though(classified):
    item = classified["main_reason_though"]
    assert set(item.categories) == {"service", "competitor"}
    assert item.primary_category == "competitor"


def test_html_entities_and_template_fields_are_not_reasons(classified):
    assert classified["html_entities"].categories == ["pricing"]
    # "Pricing tier:" and "Competitor on file: -" are template fields, not reasons
    assert classified["template"].categories == ["relationship"]


def test_reps_free_text_loss_reasons_are_read_as_meant(data_dir):
    # The sandbox's HubSpot closed_lost_reason texts (written apart from the training corpus)
    # reach the warehouse only through the classifier: most must read as the rep meant them.
    texts = [(template, template.format(competitor="Gainsight")) for template in phrases.HUBSPOT_RETYPED_CATEGORY]
    results = classify_items(texts, data_dir)
    agree = sum(r.primary_category == phrases.HUBSPOT_RETYPED_CATEGORY[r.id] for r in results)
    assert agree >= 0.8 * len(texts), [(r.id, r.primary_category) for r in results]


def test_confidences_are_probabilities_per_category(classified):
    for item in classified.values():
        assert set(item.scores) == {"product", "pricing", "service", "success_process", "competitor",
                                    "relationship", "company", "needs", "involuntary", "unknown"}
        assert all(0.0 <= p <= 1.0 for p in item.scores.values())
        assert 0.0 < item.confidence <= 1.0
        assert item.classified_by == "model"


@dataclass
class Guess:
    id: str
    categories: list[str]
    primary_category: str


def test_multi_label_scoring_counts_each_note_and_category_once():
    labeled = [
        {"id": "a", "text": "", "categories": ["pricing", "product"], "primary": "pricing"},
        {"id": "b", "text": "", "categories": ["pricing"], "primary": "pricing"},
        {"id": "c", "text": "", "categories": ["service"]},
    ]
    predicted = [Guess("a", ["pricing"], "pricing"), Guess("b", ["product", "pricing"], "product"),
                 Guess("c", ["service"], "service")]
    report = evaluate(labeled, predicted)
    scores = {s.category: s for s in report.scores}
    assert (scores["pricing"].precision, scores["pricing"].recall) == (1.0, 1.0)
    assert (scores["product"].precision, scores["product"].recall) == (0.0, 0.0)
    assert scores["service"].f1 == 1.0
    assert report.macro_f1 == pytest.approx(2 / 3)
    assert (report.primary_correct, report.primary_labeled) == (1, 2)


def test_cli_reads_and_writes_json_lines(data_dir):
    stdin = "\n".join(
        json.dumps(record)
        for record in (
            {"id": "1", "text": "Way too expensive after the price increase."},
            {"id": 2, "text": "Our champion left and the new VP brought his own tools."},
        )
    )
    out = run_cli(data_dir, stdin=stdin + "\n")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["id"], r["categories"], r["primary_category"], r["department"]) for r in lines] == [
        ("1", ["pricing"], "pricing", "finance"),
        ("2", ["relationship"], "relationship", "customer_success"),
    ]
    assert all(r["classified_by"] == "model" and 0 < r["confidence"] <= 1 for r in lines)


def test_cli_names_the_bad_line(data_dir):
    out = run_cli(data_dir, stdin='{"id": "1", "text": "fine"}\nnot json\n')
    assert out.returncode == 2
    assert "line 2" in out.stderr and out.stdout == ""
    out = run_cli(data_dir, stdin='{"id": "1"}\n')
    assert out.returncode == 2 and "missing key(s) text" in out.stderr


def test_cli_prints_cross_validated_figures(data_dir):
    out = run_cli(data_dir, "--cross-validate")
    assert out.returncode == 0, out.stderr
    assert re.search(r"5-fold cross-validation on [0-9]+ training notes", out.stdout)
    macro = re.search(r"macro-F1 ([0-9.]+) over 10 categories", out.stdout)
    assert macro and float(macro.group(1)) > 0.5, out.stdout


def test_evaluate_prints_figures_per_category(data_dir):
    out = run_cli(data_dir, "--evaluate", str(LABELED_SET))
    assert out.returncode == 0, out.stderr
    assert re.search(r"^pricing\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+", out.stdout, re.M)
    assert re.search(r"primary accuracy [0-9.]+", out.stdout)
    # hard notes and non-English notes are reported on their own lines
    assert re.search(r"^difficulty\s+\S+\s+[0-9]+ notes\s+macro-F1 [0-9.]+\s+primary accuracy [0-9.]+",
                     out.stdout, re.M), out.stdout
    assert re.search(r"^language\s+de\s+[0-9]+ notes", out.stdout, re.M), out.stdout
