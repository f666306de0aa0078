"""Exit-interview note text: composed from phrases, rendered as plain text or HubSpot HTML."""

from __future__ import annotations

import html
import random
from dataclasses import dataclass

from churnkb.sandbox import phrases

FOREIGN_LANGS = ("es", "de", "fr", "pt")
SECONDARY_LINKS = ("Also, ", "On top of that, ", "Secondary: ", "They also mentioned: ", "", "Another factor: ")
PRIMARY_LEADS = ("", "", "Main reason: ", "Primary driver: ", "Biggest issue: ")


@dataclass(frozen=True)
class ExitNote:
    """A note as paragraphs and an optional bullet list, in one language."""

    lang: str
    paragraphs: tuple[str, ...]
    bullets: tuple[str, ...] = ()
    closing: str = ""

    def as_text(self) -> str:
        """Plain text, as a CSM types into a Salesforce Note body."""
        parts = [p for p in self.paragraphs if p]
        if self.bullets:
            parts.append("\n".join(f"- {b}" for b in self.bullets))
        if self.closing:
            parts.append(self.closing)
        return "\n".join(parts)

    def as_html(self, rng: random.Random) -> str:
        """HubSpot ``hs_note_body`` HTML: <p> paragraphs, <ul><li> bullets, entities escaped."""
        out = [f"<p>{_escape(p, rng)}</p>" for p in self.paragraphs if p]
        if self.bullets:
            items = "".join(f"<li>{_escape(b, rng)}</li>" for b in self.bullets)
            out.append(f"<ul>{items}</ul>")
        if self.closing:
            out.append(f"<p>{_escape(self.closing, rng)}</p>")
        return "".join(out)


def _escape(text: str, rng: random.Random) -> str:
    escaped = html.escape(text, quote=False)
    # The HubSpot editor turns some spaces into &nbsp; and wraps emphasis in tags.
    if rng.random() < 0.2:
        escaped = escaped.replace(". ", ".&nbsp; ", 1)
    if rng.random() < 0.1:
        escaped = f"<strong>{escaped}</strong>"
    return escaped


def fill(template: str, *, contact: str, competitor: str, feature: str) -> str:
    return template.format(contact=contact, competitor=competitor, feature=feature)


def compose_exit_note(
    rng: random.Random,
    reasons: tuple[str, ...],
    *,
    contact: str,
    competitor: str,
    feature: str,
    lang: str = "en",
) -> ExitNote:
    """A note whose text expresses ``reasons`` (primary first) and no other category."""
    values = {"contact": contact, "competitor": competitor, "feature": feature}
    if lang != "en":
        return _foreign_note(lang, reasons, values)
    clauses = [fill(_clause_template(rng, r), **values) for r in reasons]
    negation = _negation(rng, reasons)
    opener = fill(rng.choice(phrases.EXIT_OPENERS), **values)
    closer = rng.choice(phrases.EXIT_CLOSERS)
    if rng.random() < 0.35:
        bullets = ([negation] if negation else []) + clauses
        return ExitNote(lang, (opener, rng.choice(phrases.BULLET_INTROS)), tuple(bullets), closer)
    lead = rng.choice(PRIMARY_LEADS) if reasons[0] != "unknown" else ""
    body = [f"{negation} {lead}{_lower_first(clauses[0]) if lead else clauses[0]}".strip()]
    body += [_link(rng.choice(SECONDARY_LINKS), clause) for clause in clauses[1:]]
    return ExitNote(lang, (opener, " ".join(body)), (), closer)


def _clause_template(rng: random.Random, category: str) -> str:
    """Product notes usually name the missing feature, so win-back on "feature shipped" can work."""
    templates = phrases.REASON_CLAUSES[category]
    if category == "product" and rng.random() < 0.6:
        templates = tuple(t for t in templates if "{feature}" in t)
    return rng.choice(templates)


def _negation(rng: random.Random, reasons: tuple[str, ...]) -> str:
    """Sometimes say what was NOT the reason ("Price was never the issue.")."""
    if reasons[0] == "unknown" or rng.random() > 0.25:
        return ""
    candidates = [c for c in phrases.NEGATED_CLAUSES if c not in reasons]
    return rng.choice(phrases.NEGATED_CLAUSES[rng.choice(candidates)])


def _link(link: str, clause: str) -> str:
    return f"{link}{_lower_first(clause)}" if link else clause


def _lower_first(text: str) -> str:
    # Keep names, acronyms and placeholders' capitals ("SSO", "Our champion Ava ...").
    first_word = text.split(" ", 1)[0]
    if first_word.isupper() or first_word in phrases.COMPETITORS:
        return text
    return text[:1].lower() + text[1:]


def _foreign_note(lang: str, reasons: tuple[str, ...], values: dict[str, str]) -> ExitNote:
    opener = phrases.FOREIGN_OPENERS[lang].format(**values)
    sentences = [phrases.FOREIGN_CLAUSES[lang][r].format(**values) for r in reasons]
    return ExitNote(lang, (opener, " ".join(sentences)))
