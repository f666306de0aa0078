"""Shape and coverage of the hand-written, held-out labeled exit-note set."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from churnkb.sandbox import phrases
from churnkb.sandbox.truth import CATEGORIES

LABELED = Path(__file__).parent / "data" / "labeled_exit_notes.jsonl"
LANGS = {"en", "es", "de", "fr", "pt"}


@pytest.fixture(scope="module")
def notes() -> list[dict]:
    with LABELED.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def test_every_line_has_the_documented_shape(notes):
    assert len(notes) >= 180
    for note in notes:
        assert set(note) == {"id", "text", "categories", "primary", "lang"}, note
        assert isinstance(note["text"], str) and len(note["text"]) >= 20
        assert note["categories"] and len(set(note["categories"])) == len(note["categories"])
        assert set(note["categories"]) <= set(CATEGORIES), note["id"]
        assert note["primary"] == note["categories"][0]
        assert note["lang"] in LANGS
        if note["primary"] == "unknown":
            assert note["categories"] == ["unknown"]
    ids = [n["id"] for n in notes]
    assert len(set(ids)) == len(ids) and ids == sorted(ids)


def test_every_category_is_covered(notes):
    mentioned = Counter(c for n in notes for c in n["categories"])
    primary = Counter(n["primary"] for n in notes)
    for category in CATEGORIES:
        assert primary[category] >= 10, category
        assert mentioned[category] >= 10, category


def test_mix_of_languages_formats_and_several_reasons(notes):
    foreign = [n for n in notes if n["lang"] != "en"]
    assert 0.08 <= len(foreign) / len(notes) <= 0.2
    assert {n["lang"] for n in foreign} == LANGS - {"en"}
    assert sum(len(n["categories"]) > 1 for n in notes) >= 40
    assert sum("\n-" in n["text"] or "\n*" in n["text"] or "\n1" in n["text"] for n in notes) >= 15
    assert len({n["text"] for n in notes}) == len(notes)


def test_held_out_from_the_generator_templates(notes):
    """The set evaluates a classifier tuned on generated notes, so it must not reuse their sentences."""
    templates = [c for clauses in phrases.REASON_CLAUSES.values() for c in clauses if "{" not in c]
    texts = "\n".join(n["text"] for n in notes)
    assert not [t for t in templates if t in texts]
