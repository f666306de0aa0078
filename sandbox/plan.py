"""Decide each customer's story (who, where, when, why) before any CRM record is written."""

from __future__ import annotations

import itertools
import math
import random
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from churnkb.sandbox import phrases
from churnkb.sandbox.truth import (
    AT_RISK,
    CATEGORIES,
    CHURNED,
    LATE,
    MISSING,
    NOT_DUE,
    ON_TIME,
    RETAINED,
    SAVED,
    ChecklistStep,
)

HISTORY_DAYS = 3 * 365
STATUS_WEIGHTS = {RETAINED: 0.66, CHURNED: 0.25, AT_RISK: 0.045, SAVED: 0.045}
SYSTEM_WEIGHTS = {"salesforce": 0.40, "hubspot": 0.35, "both": 0.25}
PRIMARY_WEIGHTS = {
    "product": 0.17, "pricing": 0.19, "service": 0.10, "success_process": 0.10, "competitor": 0.12,
    "relationship": 0.07, "company": 0.07, "needs": 0.07, "involuntary": 0.06, "unknown": 0.05,
}
# Secondary reasons never include these: they stand alone in a note.
SOLO_CATEGORIES = ("unknown", "involuntary")
STEP_OUTCOME_WEIGHTS = {ON_TIME: 0.62, LATE: 0.24, MISSING: 0.14}
DELETED_SHARE = 0.03
EXIT_NOTE_FOREIGN_SHARE = 0.05


@dataclass
class Person:
    first: str
    last: str
    title: str
    email: str

    @property
    def full_name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Story:
    """Everything about one customer that its CRM records must express."""

    index: int
    key: str
    name: str
    domain: str
    systems: tuple[str, ...]  # ("salesforce",), ("hubspot",) or both
    home: str  # the CRM where the churn story (notice, tasks, notes) is recorded
    churn_systems: tuple[str, ...]  # CRMs holding churn records (home first)
    created_at: datetime
    annual_amount: float
    industry: str
    country: str
    owner_index: int
    people: list[Person]
    status: str
    deleted: bool
    deleted_at: datetime | None = None
    notice_at: datetime | None = None
    effective_at: datetime | None = None  # end of term: churn date (CHURNED) or planned (AT_RISK)
    resolved_at: datetime | None = None  # SAVED: when the cancellation was closed as saved
    reasons: tuple[str, ...] = ()
    competitor: str = ""
    feature: str = ""
    stated_mode: str = ""  # mapped | skewed | blank | misspelled | unmapped | secondary
    has_notice_record: bool = True
    has_lost_renewal: bool = True
    checklist: dict[str, ChecklistStep] = field(default_factory=dict)
    exit_note_lang: str | None = None


def weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def at_random_time(rng: random.Random, day: date, start_hour: int = 8, end_hour: int = 18) -> datetime:
    seconds = rng.randint(start_hour * 3600, end_hour * 3600 - 1)
    moment = datetime.combine(day, time(), tzinfo=UTC) + timedelta(seconds=seconds)
    return moment.replace(microsecond=rng.randint(0, 999) * 1000)


def business_day_after(day: date) -> date:
    nxt = day + timedelta(days=1)
    while nxt.weekday() >= 5:
        nxt += timedelta(days=1)
    return nxt


class NameBook:
    """Unique company names/domains and unique person names for one world."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._domains: set[str] = set()
        pairs = list(itertools.product(phrases.FIRST_NAMES, phrases.LAST_NAMES))
        rng.shuffle(pairs)
        self._people = pairs
        self._person_count = 0

    def company(self) -> tuple[str, str]:
        rng = self._rng
        for attempt in itertools.count():
            name = f"{rng.choice(phrases.ADJECTIVES)} {rng.choice(phrases.NOUNS)}"
            if rng.random() < 0.5 or attempt > 3:
                name += f" {rng.choice(phrases.SECTORS)}"
            if attempt > 8:
                name += f" {attempt}"
            domain = f"{_slug(name)}.{rng.choice(phrases.TLDS)}"
            if domain not in self._domains:
                self._domains.add(domain)
                return name, domain
        raise AssertionError("unreachable")

    def person(self, title: str, domain: str) -> Person:
        first, last = self._people[self._person_count % len(self._people)]
        rounds = self._person_count // len(self._people)
        self._person_count += 1
        if rounds:  # all pairs used: add a middle initial so full names stay unique
            first = f"{first} {chr(ord('A') + (rounds - 1) % 26)}{'' if rounds <= 26 else rounds}."
        return Person(first, last, title, email_for(first, last, domain))


def email_for(first: str, last: str, domain: str) -> str:
    local = f"{_ascii(first.split(' ')[0])}.{_ascii(last)}".lower()
    return f"{local}@{domain}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", _ascii(name).lower())


def plan_customer(rng: random.Random, index: int, now: datetime, names: NameBook) -> Story:
    """Draw one customer's story; every date lies within the three years before ``now``."""
    name, domain = names.company()
    system_choice = weighted(rng, SYSTEM_WEIGHTS)
    systems = ("salesforce", "hubspot") if system_choice == "both" else (system_choice,)
    start = now - timedelta(days=HISTORY_DAYS)
    created_at = at_random_time(rng, (start + timedelta(days=rng.randint(0, 880))).date())
    people = [names.person(rng.choice(phrases.CHAMPION_TITLES), domain)]
    people += [names.person(rng.choice(phrases.OTHER_TITLES), domain) for _ in range(rng.randint(1, 3))]
    story = Story(
        index=index,
        key=f"cust-{index + 1:05d}",
        name=name,
        domain=domain,
        systems=systems,
        home=rng.choice(systems),
        churn_systems=(),
        created_at=created_at,
        annual_amount=float(round(math.exp(rng.uniform(math.log(3000), math.log(150_000))), -2)),
        industry=rng.choice(phrases.INDUSTRIES),
        country=rng.choice(phrases.COUNTRIES),
        owner_index=rng.randrange(len(phrases.OWNERS)),
        people=people,
        status=weighted(rng, STATUS_WEIGHTS),
        deleted=rng.random() < DELETED_SHARE,
    )
    if story.deleted:
        story.deleted_at = now - timedelta(days=rng.uniform(1, 10))
    if story.status != RETAINED:
        _plan_notice(rng, story, now)
    return story


def _plan_notice(rng: random.Random, story: Story, now: datetime) -> None:
    earliest = story.created_at + timedelta(days=120)
    if story.status == AT_RISK:
        story.notice_at = at_random_time(rng, (now - timedelta(days=rng.randint(1, 25))).date(), 8, 11)
        story.notice_at = min(story.notice_at, now - timedelta(hours=2))
        story.effective_at = story.notice_at + timedelta(days=rng.randint(30, 60))
    else:
        span = (now - timedelta(days=50) - earliest).days
        story.notice_at = at_random_time(rng, (earliest + timedelta(days=rng.randint(0, span))).date(), 8, 11)
        story.effective_at = story.notice_at + timedelta(days=rng.randint(30, 45))
        if story.status == SAVED:
            story.resolved_at = story.notice_at + timedelta(days=rng.randint(5, 20), hours=rng.randint(1, 6))
    story.reasons = _plan_reasons(rng)
    story.competitor = rng.choice(phrases.COMPETITORS)
    story.feature = rng.choice(phrases.FEATURES)
    story.stated_mode = _stated_mode(rng, story.reasons)
    story.churn_systems = _churn_systems(rng, story)
    if story.status == CHURNED:
        shape = rng.random()
        story.has_notice_record = shape < 0.88
        story.has_lost_renewal = shape >= 0.18 or not story.has_notice_record
    else:
        story.has_lost_renewal = False
    story.checklist = _plan_checklist(rng, story, now)
    done = story.checklist.get("exit_interview")
    if done is not None and done.done_at is not None:
        foreign = rng.random() < EXIT_NOTE_FOREIGN_SHARE
        story.exit_note_lang = rng.choice(("es", "de", "fr", "pt")) if foreign else "en"


def _plan_reasons(rng: random.Random) -> tuple[str, ...]:
    primary = weighted(rng, PRIMARY_WEIGHTS)
    if primary in SOLO_CATEGORIES:
        return (primary,)
    count = rng.choices((1, 2, 3), weights=(0.55, 0.35, 0.10))[0]
    others = [c for c in CATEGORIES if c != primary and c not in SOLO_CATEGORIES]
    return (primary, *rng.sample(others, count - 1))


def _stated_mode(rng: random.Random, reasons: tuple[str, ...]) -> str:
    if reasons[0] == "unknown":
        return rng.choice(("blank", "blank", "unmapped"))
    modes = {"mapped": 0.58, "skewed": 0.10, "blank": 0.09, "misspelled": 0.08, "unmapped": 0.06}
    if len(reasons) > 1:
        modes["secondary"] = 0.09
    return weighted(rng, modes)


def _churn_systems(rng: random.Random, story: Story) -> tuple[str, ...]:
    """Where the notice/lost renewal live: the home CRM, and for ~30% of dual customers both."""
    other = [s for s in story.systems if s != story.home]
    if other and rng.random() < 0.3:
        return (story.home, other[0])
    return (story.home,)


def _step_due(story: Story, step: str) -> date:
    notice, effective = story.notice_at.date(), story.effective_at.date()
    return {
        "acknowledge": business_day_after(notice),
        "save_assessment": notice + timedelta(days=3),
        "data_handover": effective,
        "exit_interview": notice + timedelta(days=14),
        "followup": effective + timedelta(days=30),
    }[step]


def _step_done(rng: random.Random, story: Story, step: str, due: date, outcome: str) -> datetime | None:
    done = _step_done_exact(rng, story, step, due, outcome)
    return done.replace(microsecond=done.microsecond // 1000 * 1000) if done else None  # ms, like HubSpot


def _step_done_exact(rng: random.Random, story: Story, step: str, due: date, outcome: str) -> datetime | None:
    """Completion time for an outcome: on time is well before the due date, late well after."""
    notice = story.notice_at
    if outcome == MISSING:
        return None
    if step == "acknowledge":
        return notice + timedelta(hours=rng.uniform(0.5, 5)) if outcome == ON_TIME else \
            at_random_time(rng, due + timedelta(days=rng.randint(3, 8)))
    if step == "followup":
        day = story.effective_at.date() + timedelta(days=rng.randint(25, 30) if outcome == ON_TIME else rng.randint(45, 60))
        return at_random_time(rng, day)
    if outcome == ON_TIME:
        earliest = notice.date() + timedelta(days=1)
        day = max(earliest, due - timedelta(days=rng.randint(1, 6)))
        return at_random_time(rng, min(day, due))
    return at_random_time(rng, due + timedelta(days=rng.randint(4, 12)))


def _plan_checklist(rng: random.Random, story: Story, now: datetime) -> dict[str, ChecklistStep]:
    steps = ("acknowledge", "save_assessment")
    if story.status == CHURNED:
        steps += ("data_handover", "exit_interview", "followup")
    checklist = {}
    for step in steps:
        due = _step_due(story, step)
        outcome = weighted(rng, STEP_OUTCOME_WEIGHTS)
        done_at = _step_done(rng, story, step, due, outcome)
        if story.status == SAVED and done_at and done_at > story.resolved_at:
            done_at, outcome = None, MISSING  # nobody does offboarding work after the save
        if done_at is not None and done_at > now:
            done_at = None
        if done_at is None:
            outcome = NOT_DUE if due > now.date() else MISSING
        checklist[step] = ChecklistStep(step, due, done_at, outcome)
    return checklist
