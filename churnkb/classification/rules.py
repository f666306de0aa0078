"""The high-precision part of the old regex classifier, kept as evidence for the model.

The 476 patterns (seed ``feedback_classification_rules``) and the negation and emphasis cues
(seed ``feedback_negation_cues``) used to decide the categories on their own; on notes nobody
tuned them to they reach macro-F1 0.70. What they still do better than n-grams is *scope*: a
negation cue in the same clause ("pricing was never the issue", "not because of the price") and
an emphasis cue before a reason ("main reason: ..."). So the engine below runs them and hands
the model per-category evidence (matched, negated, emphasised, mentioned first); the model
learns how much each is worth (chosen by cross-validation, docs/classification.md).

Method (unchanged from the former SQL macro): normalise; split into clauses at sentence ends,
line breaks, bullets and contrastive conjunctions; a match is negated when a 'before' cue matches
the 60 characters before it or an 'after' cue the 60 characters after it (cut at the next
conjunction) inside its clause; rules with negatable = false carry their own negation.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from churnkb.classification.text import normalize

SEEDS_DIR = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
RULES_CSV = SEEDS_DIR / "feedback_classification_rules.csv"
CUES_CSV = SEEDS_DIR / "feedback_negation_cues.csv"

_CLAUSE_SPLIT = re.compile(
    r"[!?;\n\r\u2022*]+|\.(?:\s|$)|\s[-\u2013\u2014]\s|,\s*mais\b|\bthough\s|"
    r"\b(?:but|however|although|whereas|aber|jedoch|sondern|cependant|pourtant|pero|sino|porem|"
    r"contudo|entretanto)\b"
)
_COORDINATED_SUBJECT = re.compile(r"^,? (and|or|&) ([a-z]+ ){0,2}(were|are|have been|had been)\b")
_NEXT_CONJUNCTION = re.compile(
    r"\b(and|while|whereas|also|otherwise|plus|yet|so|because|since|though|although|y|und|et|e)\b.*$"
)
# why 60 characters: a negation two or three words away still counts, one from an unrelated half
# of a long clause does not
WINDOW = 60


@dataclass(frozen=True)
class Rule:
    rule_id: str
    category: str
    priority: int
    negatable: bool
    pattern: re.Pattern[str]
    anchored: bool  # uses ^: may match a clause start the whole text does not show


@dataclass(frozen=True)
class Cues:
    before: tuple[re.Pattern[str], ...]
    after: tuple[re.Pattern[str], ...]
    emphasis: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class Match:
    rule_id: str
    category: str
    priority: int
    position: int  # clause index * 10000 + offset: earlier mentions first
    negated: bool
    emphasized: bool


@dataclass
class RuleEvidence:
    matches: list[Match] = field(default_factory=list)

    @property
    def categories(self) -> list[str]:
        """Categories with a non-negated match, the main reason first (the old classifier's answer)."""
        best: dict[str, tuple[bool, int, int]] = {}
        for m in self.matches:
            if m.negated:
                continue
            emphasized, position, priority = best.get(m.category, (False, 10**9, -1))
            best[m.category] = (emphasized or m.emphasized, min(position, m.position), max(priority, m.priority))
        return sorted(best, key=lambda c: (not best[c][0], best[c][1], -best[c][2], c))

    @property
    def matched_rule_ids(self) -> list[str]:
        return sorted({m.rule_id for m in self.matches if not m.negated})

    @property
    def negated_categories(self) -> set[str]:
        return {m.category for m in self.matches if m.negated}

    @property
    def emphasized_categories(self) -> set[str]:
        return {m.category for m in self.matches if m.emphasized and not m.negated}

    def features(self) -> dict[str, float]:
        """Per-category evidence for the model: rule:<c>, neg:<c>, emph:<c>, first:<c>."""
        found: dict[str, float] = {}
        ranked = self.categories
        for category in ranked:
            found[f"rule:{category}"] = 1.0
        for category in self.negated_categories - set(ranked):
            found[f"neg:{category}"] = 1.0
        for category in self.emphasized_categories:
            found[f"emph:{category}"] = 1.0
        if ranked:
            found[f"first:{ranked[0]}"] = 1.0
        return found


@dataclass(frozen=True, eq=False)  # identity hash: the evidence cache keys on it
class RuleSet:
    rules: tuple[Rule, ...]
    cues: Cues
    fingerprint: str

    def analyse(self, text: str) -> RuleEvidence:
        """Every rule match in the (prepared) text, with its negation and emphasis."""
        normalized = normalize(text)
        candidates = [r for r in self.rules if r.anchored or r.pattern.search(normalized)]
        evidence = RuleEvidence()
        if not candidates:
            return evidence
        for clause_index, clause in enumerate(_CLAUSE_SPLIT.split(normalized), start=1):
            if not clause:
                continue
            for rule in candidates:
                found = rule.pattern.search(clause)
                if found:
                    evidence.matches.append(self._judge(rule, clause, found, clause_index))
        return evidence

    def _judge(self, rule: Rule, clause: str, found: re.Match[str], clause_index: int) -> Match:
        before = clause[: found.start()][-WINDOW:]
        after = clause[found.end():][:WINDOW]
        if not _COORDINATED_SUBJECT.match(after):
            # an 'after' cue must describe the matched reason, not the next one ("too expensive
            # and support was great" keeps pricing)
            after = _NEXT_CONJUNCTION.sub("", after, count=1)
        negated = rule.negatable and (
            any(c.search(before) for c in self.cues.before) or any(c.search(after) for c in self.cues.after)
        )
        emphasized = any(c.search(before) for c in self.cues.emphasis)
        return Match(rule.rule_id, rule.category, rule.priority,
                     clause_index * 10000 + found.start(), negated, emphasized)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=4)
def load_rules(rules_csv: Path = RULES_CSV, cues_csv: Path = CUES_CSV) -> RuleSet:
    """The seeds an analyst edits; their content is part of the model fingerprint."""
    digest = hashlib.sha256(rules_csv.read_bytes() + b"\0" + cues_csv.read_bytes()).hexdigest()
    rules = tuple(
        Rule(row["rule_id"], row["category"], int(row["priority"]), row["negatable"].strip().lower() == "true",
             re.compile(row["pattern"]), bool(re.search(r"(^|[^\[\\])\^", row["pattern"])))
        for row in _read_csv(rules_csv)
    )
    by_position: dict[str, list[re.Pattern[str]]] = {"before": [], "after": [], "emphasis": []}
    for row in _read_csv(cues_csv):
        by_position[row["position"]].append(re.compile(row["pattern"]))
    cues = Cues(tuple(by_position["before"]), tuple(by_position["after"]), tuple(by_position["emphasis"]))
    return RuleSet(rules, cues, digest[:16])
