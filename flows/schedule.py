"""Which publishers are due: a small cron matcher, so `churn_pipeline` can run hourly and still
publish digests weekly and alerts daily, from the same cron expressions `prefect.yaml` uses.

Plain Python on purpose (no Prefect import): the logic is tested without a server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PUBLISHERS = ("alerts", "digests", "reengagement")

# Same cadence as prefect.yaml (alerts daily, digests and re-engagement weekly on Monday morning).
DEFAULT_PUBLISH_SCHEDULES: dict[str, str] = {
    "alerts": "0 7 * * *",
    "digests": "0 7 * * 1",
    "reengagement": "0 8 * * 1",
}

_FIELD_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))  # minute hour dom month dow


class ScheduleError(ValueError):
    """A cron expression or time zone in the config is wrong; the message names it."""


def _parse_field(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start_text, end_text = base.split("-", 1)
            start, end = int(start_text), int(end_text)
        else:
            start = int(base)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise ValueError(f"'{part}' is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


def parse_cron(expr: str) -> tuple[set[int], ...]:
    """Five-field cron (numbers, `*`, lists, ranges, steps) -> the allowed values per field."""
    fields = expr.split()
    if len(fields) != 5:
        raise ScheduleError(f"cron '{expr}' must have 5 fields (minute hour day month weekday)")
    try:
        parsed = tuple(_parse_field(f, lo, hi) for f, (lo, hi) in zip(fields, _FIELD_RANGES, strict=True))
    except ValueError as exc:
        raise ScheduleError(f"cron '{expr}': {exc}") from None
    weekdays = parsed[4]
    if 7 in weekdays:  # both 0 and 7 mean Sunday
        weekdays.add(0)
    return parsed


def cron_matches(expr: str, moment: datetime) -> bool:
    minutes, hours, days, months, weekdays = parse_cron(expr)
    if moment.minute not in minutes or moment.hour not in hours or moment.month not in months:
        return False
    day_ok = moment.day in days
    weekday_ok = (moment.isoweekday() % 7) in weekdays
    dom_any, dow_any = expr.split()[2] == "*", expr.split()[4] == "*"
    if dom_any or dow_any:  # cron rule: when both are restricted, either one matching is enough
        return day_ok and weekday_ok
    return day_ok or weekday_ok


def fired_within(expr: str, now: datetime, window: timedelta, tz: str = "UTC") -> bool:
    """True if `expr` (read in `tz`) fired in the window (now - window, now]."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone '{tz}' (use an IANA name such as Europe/Berlin)") from None
    local_now = now.astimezone(zone).replace(second=0, microsecond=0)
    steps = max(int(window.total_seconds() // 60), 1)
    return any(cron_matches(expr, local_now - timedelta(minutes=i)) for i in range(steps))


def due_publishers(
    schedules: Mapping[str, str],
    now: datetime,
    window: timedelta,
    tz: str = "UTC",
) -> list[str]:
    """The publishers whose schedule fired since the previous pipeline run (one window ago)."""
    merged = {**DEFAULT_PUBLISH_SCHEDULES, **schedules}
    return [name for name in PUBLISHERS if fired_within(merged[name], now, window, tz)]


def select_publishers(requested: Iterable[str] | None, due: list[str]) -> list[str]:
    """An explicit list (or ["all"]) wins over the schedule; unknown names are an error."""
    if requested is None:
        return due
    names = list(requested)
    if names == ["all"]:
        return list(PUBLISHERS)
    unknown = sorted(set(names) - set(PUBLISHERS))
    if unknown:
        raise ScheduleError(f"unknown publisher(s) {unknown}; choose from {list(PUBLISHERS)} or 'all'")
    return [name for name in PUBLISHERS if name in names]
