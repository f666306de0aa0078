"""What a departmental digest says, built from the marts and independent of any format.

Every text value in here is already cleaned (``publishers.text.clean_text``) but not escaped:
each renderer escapes for its own format.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from churnkb.publishers.chart import ChartData
from churnkb.publishers.marts import MartReader, as_date
from churnkb.publishers.periods import Period
from churnkb.publishers.settings import Publishing
from churnkb.publishers.text import clean_text, quote_text

CHART_PERIODS = 12
DEPARTMENT_TITLES = {
    "product": "Product",
    "finance": "Finance",
    "support": "Support",
    "customer_success": "Customer success",
    "sales": "Sales",
}
NAME_CHARS = 80


@dataclass(frozen=True)
class Link:
    text: str
    url: str | None


Cell = str | Link


@dataclass
class Metric:
    label: str
    current: float
    previous: float
    money: bool = False

    @property
    def trend(self) -> str:
        return trend_arrow(self.current, self.previous)


@dataclass
class Theme:
    name: str
    count: int
    previous: int
    amount: float

    @property
    def trend(self) -> str:
        return trend_arrow(self.count, self.previous)


@dataclass
class Quote:
    text: str
    theme: str
    account: str
    owner: str
    noted_on: date | None
    link: str | None


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    # Forward-looking tables (actions due) alone do not make a digest worth sending.
    about_period: bool = True


@dataclass
class Digest:
    department: str
    period: Period
    metrics: list[Metric]
    themes: list[Theme]
    quotes: list[Quote]
    tables: list[Table]
    chart: ChartData
    full_digest_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def department_title(self) -> str:
        return DEPARTMENT_TITLES.get(self.department, self.department.replace("_", " ").title())

    @property
    def title(self) -> str:
        return f"Churn digest: {self.department_title}, {self.period.label}"

    @property
    def subject(self) -> str:
        churned = self.metrics[0]
        lost = self.metrics[1]
        return (f"[churnkb] {self.department_title} {self.period.label}: "
                f"{int(churned.current)} churned, {format_money(lost.current)} lost")

    def is_empty(self) -> bool:
        return not self.themes and not any(t.rows for t in self.tables if t.about_period) and (
            not any(m.current for m in self.metrics))


def trend_arrow(current: float, previous: float) -> str:
    if current > previous:
        return "↑"
    if current < previous:
        return "↓"
    return "→"


def format_money(value: float | None) -> str:
    return f"{value or 0:,.0f}"


def format_date(value: date | None) -> str:
    return value.isoformat() if value else ""


# -- building ------------------------------------------------------------------------------------

def build_digest(reader: MartReader, settings: Publishing, department: str, period: Period,
                 today: date) -> Digest:
    categories = settings.categories_for(department)
    history = period.history(CHART_PERIODS)
    previous = period.previous()
    events = reader.churn_events(history[0].start, period.end)
    feedback = reader.feedback_items(previous.start, period.end)
    features = _feature_keywords(settings)
    for item in feedback:
        item["theme"] = theme_of(item, features)
    mine_now = [e for e in events if e["reason"] in categories and _within(e["event_date"], period)]
    mine_before = [e for e in events if e["reason"] in categories
                   and _within(e["event_date"], previous)]
    fb_now = [f for f in feedback if _routes_to(f, categories, department)
              and _within(f["noted_on"], period)]
    fb_before = [f for f in feedback if _routes_to(f, categories, department)
                 and _within(f["noted_on"], previous)]
    themes = _themes(fb_now, fb_before, settings)
    quotes = _quotes(fb_now, themes, settings)
    tables = [_accounts_table(mine_now, fb_now, settings)]
    tables += _department_tables(reader, settings, department, mine_now, fb_now, period,
                                 today)
    tables.append(_actions_table(reader, settings, categories, department))
    metrics = [
        Metric("Churned accounts", _accounts(mine_now), _accounts(mine_before)),
        Metric("Revenue lost", _amount(mine_now), _amount(mine_before), money=True),
        Metric("Feedback items", len(fb_now), len(fb_before)),
    ]
    return Digest(department, period, metrics, themes, quotes, tables, _chart(events, history))


def _within(day: object, period: Period) -> bool:
    value = as_date(day)
    return value is not None and period.start <= value < period.end


def _routes_to(item: dict[str, Any], categories: set[str], department: str) -> bool:
    return (item["category"] in categories or item.get("department") == department
            or department in (item.get("departments") or []))


def _accounts(events: list[dict[str, Any]]) -> int:
    return len({e["account_id"] for e in events})


def _amount(events: list[dict[str, Any]]) -> float:
    return float(sum(e["amount_lost"] or 0 for e in events))


def _feature_keywords(settings: Publishing) -> dict[str, list[str]]:
    """publishing.features: feature name -> keywords (case-insensitive) found in feedback text."""
    features = settings.get("features", {}) or {}
    return {str(name): [str(k).lower() for k in (keywords or [name])]
            for name, keywords in features.items()}


def theme_of(item: dict[str, Any], features: dict[str, list[str]]) -> str:
    """A mart's theme column, else a configured feature the text names (product feedback), else
    the competitor, else the reason the CRM recorded, else the category."""
    if item.get("theme"):
        return clean_text(item["theme"], NAME_CHARS)
    if item["category"] == "product" and features:
        text = str(item.get("body_text") or "").lower()
        for name, keywords in features.items():
            if any(keyword in text for keyword in keywords):
                return clean_text(name, NAME_CHARS)
    if item["category"] == "competitor" and item.get("competitor"):
        return clean_text(item["competitor"], NAME_CHARS)
    return (clean_text(item.get("stated_reason_raw"), NAME_CHARS)
            or clean_text(item["category"], NAME_CHARS) or "unknown")


def _theme_of(item: dict[str, Any]) -> str:
    return item.get("theme") or clean_text(item["category"], NAME_CHARS) or "unknown"


def _themes(now: list[dict], before: list[dict], settings: Publishing) -> list[Theme]:
    counts: dict[str, int] = defaultdict(int)
    previous: dict[str, int] = defaultdict(int)
    amounts: dict[str, dict[str, float]] = defaultdict(dict)
    for item in now:
        theme = _theme_of(item)
        counts[theme] += 1
        # Revenue behind a theme counts each churn event once, however many notes mention it.
        amounts[theme][item["churn_event_id"] or item["feedback_id"]] = item["amount_lost"] or 0
    for item in before:
        previous[_theme_of(item)] += 1
    ranked = sorted(counts, key=lambda t: (-counts[t], -sum(amounts[t].values()), t))
    limit = int(settings.get("max_themes", 5))
    return [Theme(t, counts[t], previous[t], float(sum(amounts[t].values())))
            for t in ranked[:limit]]


def _quotes(items: list[dict], themes: list[Theme], settings: Publishing) -> list[Quote]:
    per_theme = int(settings.get("quotes_per_theme", 2))
    quotes: list[Quote] = []
    for theme in themes:
        candidates = [i for i in items if _theme_of(i) == theme.name]
        candidates.sort(key=lambda i: (not i["is_exit_interview"], str(i["feedback_id"])))
        for item in candidates:
            text = quote_text(item["body_text"])
            if not text:
                continue
            quotes.append(Quote(text, theme.name, _account(item), _owner(item),
                                as_date(item["noted_on"]), _record_link(item, settings)))
            if sum(q.theme == theme.name for q in quotes) >= per_theme:
                break
    return quotes


def _account(row: dict[str, Any]) -> str:
    return clean_text(row.get("account_name") or row.get("account_id"), NAME_CHARS)


def _owner(row: dict[str, Any]) -> str:
    name = clean_text(row.get("owner_name"), NAME_CHARS)
    email = clean_text(row.get("owner_email"), NAME_CHARS)
    if name and email:
        return f"{name} ({email})"
    # Without a name in the marts, the CRM owner id still tells the reader whom to ask.
    return name or email or clean_text(row.get("owner_id"), NAME_CHARS) or "unassigned"


def _record_link(row: dict[str, Any], settings: Publishing) -> str | None:
    url = row.get("record_url") or settings.link_for(row.get("source_system"),
                                                     row.get("source_record_id"))
    return url if url and str(url).startswith(("https://", "http://")) else None


def _accounts_table(events: list[dict], feedback: list[dict], settings: Publishing) -> Table:
    rows: list[list[Cell]] = []
    seen: set[str] = set()
    for event in events:
        seen.add(event["account_id"])
        rows.append([Link(_account(event), _record_link(event, settings)), _owner(event),
                     clean_text(event["reason"]), format_money(event["amount_lost"]),
                     format_date(as_date(event["event_date"]))])
    for item in feedback:
        if item["account_id"] not in seen:
            seen.add(item["account_id"])
            rows.append([Link(_account(item), _record_link(item, settings)), _owner(item),
                         clean_text(item["category"]), format_money(item["amount_lost"]),
                         format_date(as_date(item["noted_on"]))])
    return Table("Accounts behind it", ["Account", "Owner", "Reason", "Amount lost", "Date"], rows)


def _department_tables(reader: MartReader, settings: Publishing, department: str,
                       events: list[dict], feedback: list[dict], period: Period,
                       today: date) -> list[Table]:
    if department == "product":
        return [_grouped_table("Feature requests", "Feature",
                               [f for f in feedback if f["category"] == "product"])]
    if department == "finance":
        return [_involuntary_table(events, settings)]
    if department == "support":
        return [_feedback_table("Service complaints",
                                [f for f in feedback if f["category"] == "service"], settings)]
    if department == "sales":
        mentions = [dict(f, theme=clean_text(f.get("competitor"), NAME_CHARS) or "unnamed")
                    for f in feedback if f["category"] == "competitor"]
        return [_grouped_table("Competitor mentions", "Competitor", mentions)]
    if department == "customer_success":
        return _checklist_tables(reader, period, today)
    return []


def _grouped_table(title: str, label: str, items: list[dict]) -> Table:
    groups: dict[str, dict[str, Any]] = {}
    for item in items:
        group = groups.setdefault(_theme_of(item), {"accounts": {}, "amounts": {}})
        group["accounts"][item["account_id"]] = _account(item)
        group["amounts"][item["churn_event_id"] or item["feedback_id"]] = item["amount_lost"] or 0
    ordered = sorted(groups.items(), key=lambda kv: (-sum(kv[1]["amounts"].values()), kv[0]))
    rows: list[list[Cell]] = [
        [name, ", ".join(sorted(g["accounts"].values())), str(len(g["accounts"])),
         format_money(sum(g["amounts"].values()))]
        for name, g in ordered
    ]
    return Table(title, [label, "Churned accounts", "Accounts", "Amount behind"], rows)


def _involuntary_table(events: list[dict], settings: Publishing) -> Table:
    rows: list[list[Cell]] = [
        [Link(_account(e), _record_link(e, settings)), _owner(e),
         clean_text(e["stated_reason_raw"], NAME_CHARS), format_money(e["amount_lost"])]
        for e in events if e["reason"] == "involuntary" or e["is_voluntary"] is False
    ]
    return Table("Involuntary churn", ["Account", "Owner", "Stated reason", "Amount lost"], rows)


def _feedback_table(title: str, items: list[dict], settings: Publishing) -> Table:
    rows: list[list[Cell]] = [
        [Link(_account(i), _record_link(i, settings)), format_date(as_date(i["noted_on"])),
         quote_text(i["body_text"])]
        for i in items
    ]
    return Table(title, ["Account", "Noted", "What they said"], rows)


def _checklist_tables(reader: MartReader, period: Period, today: date) -> list[Table]:
    """Steps whose due date fell in the period and were breached; follow-ups due within a week."""
    if not reader.has("mart_offboarding_checklist"):
        return []
    steps = reader.checklist_steps()
    breaches = [s for s in steps if _within(s["due_on"], period) and (s["breached"] or (
        s["done_on"] is None and as_date(s["due_on"]) < today))]
    horizon = today + timedelta(days=7)
    followups = [s for s in steps if "follow" in s["step"] and s["done_on"] is None
                 and s["due_on"] is not None and today <= as_date(s["due_on"]) <= horizon]
    columns = ["Account", "Owner", "Step", "Due", "Done"]
    return [
        Table("Checklist breaches", columns, [_step_row(s) for s in breaches]),
        Table("Follow-ups due", columns, [_step_row(s) for s in followups], about_period=False),
    ]


def _step_row(step: dict[str, Any]) -> list[Cell]:
    return [_account(step), _owner(step), step["step"].replace("_", " "),
            format_date(as_date(step["due_on"])), format_date(as_date(step["done_on"]))]


def _actions_table(reader: MartReader, settings: Publishing, categories: set[str],
                   department: str) -> Table:
    rows: list[list[Cell]] = []
    if reader.has("mart_save_opportunities"):
        for opp in reader.save_opportunities():
            if opp["reason"] in categories or opp.get("play_department") == department:
                rows.append([_account(opp), _owner(opp), clean_text(opp["reason"]),
                             format_money(opp["amount_at_risk"]),
                             clean_text(opp["suggested_play"], 200)])
    return Table("Actions due: save opportunities",
                 ["Account", "Owner", "Reason", "Amount at risk", "Suggested play"], rows,
                 about_period=False)


def _chart(events: list[dict], history: list[Period]) -> ChartData:
    series: dict[str, list[int]] = defaultdict(lambda: [0] * len(history))
    for event in events:
        day = as_date(event["event_date"])
        for index, period in enumerate(history):
            if day is not None and period.start <= day < period.end:
                series[event["reason"]][index] += 1
    ordered = dict(sorted(series.items(), key=lambda kv: -sum(kv[1])))
    return ChartData([p.label for p in history], [p.axis_label for p in history], ordered)
