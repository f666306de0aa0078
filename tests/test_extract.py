"""Extraction of feature requests, competitors and the parting from exit notes."""

from __future__ import annotations

import pytest

from churnkb.classification.extract import extract, feature_vocabulary

VOCAB = feature_vocabulary({"Okta login": ["okta"]})


def test_configured_feature_groups_its_keywords_and_shipped_vocabulary_names_the_rest() -> None:
    found = extract("They need Okta and role-based permissions, plus an offline mode for field staff.",
                    ["product"], VOCAB)
    assert found.feature_requests[:1] == ["Okta login"]
    assert {"role-based permissions", "offline mode"} <= set(found.feature_requests)
    assert found.theme == "Missing Okta login"


def test_no_sso_complaints_is_not_an_ask() -> None:
    found = extract("No SSO complaints from IT, they left because of the price uplift.", ["pricing"], VOCAB)
    assert "SSO" not in found.feature_requests
    assert found.theme == "Price increase at renewal"


@pytest.mark.parametrize("text", [
    "Se cambian a Gainsight el mes que viene.",
    "Sie wechseln zu Gainsight, Entscheidung ist gefallen.",
    "Ils ont choisi Gainsight pour tout le groupe.",
    "Eles vão migrar para Gainsight em janeiro.",
    "They moved to Gainsight after the merger.",
])
def test_switching_is_switched_to_in_each_language(text: str) -> None:
    found = extract(text, ["competitor"], VOCAB)
    assert found.competitors_switched_to == ["Gainsight"]
    assert found.theme == "Switched to Gainsight"


def test_a_competitor_only_evaluated_is_mentioned() -> None:
    found = extract("Tim evaluated Planhat in Q3 and didn't love it. They're not switching.", ["pricing"], VOCAB)
    assert found.competitors_switched_to == []
    assert found.competitors_mentioned == ["Planhat"]


def test_native_salesforce_sync_is_a_feature_not_a_competitor() -> None:
    found = extract("Without a native Salesforce sync the reps never open it.", ["product"], VOCAB)
    assert "Salesforce integration" in found.feature_requests
    assert found.competitors_switched_to == [] and found.competitors_mentioned == []


def test_would_not_recommend_is_false_and_negative() -> None:
    found = extract("Support was terrible. I would not recommend you to anyone.", ["service"], VOCAB)
    assert found.would_recommend is False
    assert found.parting_sentiment == "negative"


@pytest.mark.parametrize("text", [
    "Thanks for everything, we loved the support team. Happy to be a reference and we'd come back next year.",
    "Merci pour tout, on a beaucoup apprécié le support. Je recommande votre outil, à bientôt peut-être.",
])
def test_a_warm_parting(text: str) -> None:
    found = extract(text, ["company"], VOCAB)
    assert found.parting_sentiment == "positive"
    assert "support" in found.valued
    assert found.would_return is True or found.would_recommend is True


def test_silence_is_unknown_not_false() -> None:
    found = extract("Cancelled. Budget cut for next FY.", ["pricing"], VOCAB)
    assert found.would_return is None and found.would_recommend is None and found.open_to_reference is None
    assert found.theme == "Budget cut"


def test_mixed_language_note_and_empty_text() -> None:
    found = extract("So yeah, no renewal. Lo siento mucho, I liked working with you guys.", ["relationship"], VOCAB)
    assert found.parting_sentiment == "positive"
    assert extract("", ["unknown"], VOCAB).theme is None


def test_a_competitor_reason_names_where_they_went_without_a_switch_word() -> None:
    found = extract("Vitally. Cheaper, and the CSMs like the playbooks.", ["competitor", "pricing"], VOCAB)
    assert found.competitors_switched_to == ["Vitally"] and found.competitors_mentioned == []
    assert found.theme == "Switched to Vitally"


def test_without_a_competitor_reason_a_name_is_only_mentioned() -> None:
    found = extract("If the renewal price holds we will move to Planhat.", ["pricing"], VOCAB)
    assert found.competitors_switched_to == [] and found.competitors_mentioned == ["Planhat"]


@pytest.mark.parametrize("text", [
    "Wechsel ist beschlossen. Gründe: bessere Salesforce-Anbindung.",
    "Quando a integração com o Salesforce parou, ficaram duas semanas sem retorno.",
    "We migrated, mostly because of their Salesforce bi-directional sync.",
    "Estuvimos tres días sin sincronización con Salesforce.",
])
def test_an_integration_is_recognised_however_it_is_named(text: str) -> None:
    assert "Salesforce integration" in extract(text, ["product"], VOCAB).feature_requests


def test_a_passing_mention_of_our_own_playbooks_is_not_a_request() -> None:
    found = extract("She said our playbooks are better and she will miss them.", ["company"], VOCAB)
    assert found.feature_requests == []
