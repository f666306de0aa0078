"""Publishing periods: ISO weeks (default) or calendar months, labelled for humans and ledgers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

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
