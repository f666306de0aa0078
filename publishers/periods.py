"""Publishing periods: ISO weeks (default) or calendar months, labelled for humans and ledgers."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from churnkb.config import Config, deep_merge

PERIOD_KINDS = ("weekly", "monthly")


@dataclass(frozen=True)
class Period:
    kind: str
    start: date  # inclusive
    end: date    # exclusive

    @property
    def label(self) -> str:
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start:%Y-%m}"

    @property
    def axis_label(self) -> str:
        """Digits only, for the chart's x axis: week number or month number."""
        if self.kind == "weekly":
            return f"{self.start.isocalendar()[1]:02d}"
        return f"{self.start:%m}"

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def previous(self) -> Period:
        return period_containing(self.start - timedelta(days=1), self.kind)

    def history(self, count: int) -> list[Period]:
        """The ``count`` periods ending with this one, oldest first."""
        periods = [self]
        while len(periods) < count:
            periods.append(periods[-1].previous())
        return list(reversed(periods))


def period_containing(day: date, kind: str) -> Period:
    if kind == "weekly":
        start = day - timedelta(days=day.weekday())
        return Period(kind, start, start + timedelta(days=7))
    if kind == "monthly":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return Period(kind, start, end)
    raise ValueError(f"publishing.period must be one of {', '.join(PERIOD_KINDS)}, not {kind!r}")


def last_complete_period(today: date, kind: str) -> Period:
    """The latest period that ended before ``today``: what a scheduled run publishes."""
    return period_containing(today, kind).previous()


_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(value: str) -> tuple[date, str | None]:
    """A day inside the period, and its kind: an ISO week (2026-W47) is weekly, a month (2026-11)
    monthly; a plain date keeps the configured kind (None)."""
    if match := _WEEK.match(value):
        return date.fromisocalendar(int(match[1]), int(match[2]), 7), "weekly"
    if match := _MONTH.match(value):
        year, month = int(match[1]), int(match[2])
        return date(year, month, calendar.monthrange(year, month)[1]), "monthly"
    try:
        return date.fromisoformat(value), None
    except ValueError:
        raise ValueError(f"--period {value!r}: use 2026-W47, 2026-11 or 2026-11-20") from None


def with_period_kind(config: Config, kind: str | None) -> Config:
    """The config with publishing.period set to ``kind`` (the kind --period was written in)."""
    if kind is None:
        return config
    return Config(data_dir=config.data_dir, path=config.path,
                  raw=deep_merge(config.raw, {"publishing": {"period": kind}}))
