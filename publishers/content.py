"""What a departmental digest says, built from the marts and independent of any format.

What a number means is decided in dbt (fct_digest_periods, fct_churn_event_departments,
fct_offboarding_checklist_steps; see the glossary): this module selects rows and lays them out.
Every digest shows the company-wide headline first, then the department's own slice, each
labelled, and every headline figure equals the table under it.

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
CATEGORY_TITLES = {
    "product": "Product gaps",
    "pricing": "Pricing and budget",
    "service": "Support and service",
    "success_process": "Onboarding and adoption",
    "competitor": "Switched to a competitor",
    "relationship": "Champion or sponsor left",
    "company": "Company closed, acquired or downsized",
    "needs": "No longer needed",
    "involuntary": "Payment failed",
    "unknown": "No reason given",
}
NAME_CHARS = 80
# The chart of each department: which figure it plots.
CHART_MEASURE = {"finance": "revenue"}


@dataclass(frozen=True)
class Link:
    text: str
    url: str | None


Cell = str | Link


@dataclass
class Metric:
    label: str
    current: float
    previous: float | None = None
    money: bool = False
    scope: str = ""

    @property
    def trend(self) -> str:
        return "" if self.previous is None else trend_arrow(self.current, self.previous)


@dataclass
class Theme:
    name: str
    count: int
    previous: int
    amount: float
    accounts: int = 0

    @property
    def trend(self) -> str:
        return trend_arrow(self.count, self.previous)

    @property
    def before(self) -> str:
        """The "Period before" cell: the count then, or "new" ("▲ 0" read as "up by nothing")."""
        return "new" if self.previous == 0 and self.count > 0 else str(self.previous)

    @property
    def change(self) -> str:
        """For a sentence: "new this period" or "▲ from 3 the period before"."""
        if self.previous == 0 and self.count > 0:
            return "new this period"
        return f"{self.trend} from {self.previous} the period before"


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
    note: str = ""


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
    highlights: list[str] = field(default_factory=list)

    @property
    def department_title(self) -> str:
        return DEPARTMENT_TITLES.get(self.department, self.department.replace("_", " ").title())

    @property
    def title(self) -> str:
        return f"Churn digest: {self.department_title}, {self.period.label}"

    def metric(self, label: str, scope: str) -> Metric | None:
        return next((m for m in self.metrics if m.label == label and m.scope == scope), None)

    @property
    def subject(self) -> str:
        company = self.extra.get("company", {})
        mine = self.extra.get("slice", {})
        return (f"[churnkb] {self.department_title} {self.period.label}: "
                f"{int(company.get('churned_accounts', 0))} churned company-wide "
                f"({format_money(company.get('revenue_lost'))} lost); "
                f"{int(mine.get('churned_accounts', 0))} routed to {self.department_title}")

    def is_empty(self) -> bool:
        """Nothing of the department's own happened in the period (forward-looking tables and
        the company-wide headline alone are not worth a message)."""
        mine = self.extra.get("slice", {})
        return not self.themes and not any(t.rows for t in self.tables if t.about_period) and (
            not mine.get("churned_events") and not mine.get("feedback_routed"))


def trend_arrow(current: float, previous: float) -> str:
    if current > previous:
        return "▲"
    if current < previous:
        return "▼"
    return "="


def format_money(value: float | None) -> str:
    return f"{float(value or 0):,.0f}"


def format_short_money(value: float | None) -> str:
    """420k, 1.2M: for sentences; tables keep the full figure."""
    amount = float(value or 0)
    if amount >= 1_000_000:
        return f"{amount / 1_000_000:.1f}M"
    if amount >= 1_000:
        return f"{amount / 1_000:.0f}k"
    return f"{amount:,.0f}"


def format_date(value: date | None) -> str:
    return value.isoformat() if value else ""


def plural(count: int, singular: str, many: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def category_title(category: str | None) -> str:
    return CATEGORY_TITLES.get(category or "unknown", clean_text(category).replace("_", " "))


# -- building ------------------------------------------------------------------------------------

def build_digest(reader: MartReader, settings: Publishing, department: str, period: Period,
                 today: date) -> Digest:
    history = period.history(CHART_PERIODS)
    previous = period.previous()
    kind = "week" if period.kind == "weekly" else "month"
    starts = [p.start for p in history]
    company = reader.digest_figures(kind, "company", starts)
    mine = reader.digest_figures(kind, department, starts)
    now_company, before_company = company.get(period.start, {}), company.get(previous.start, {})
    now_mine, before_mine = mine.get(period.start, {}), mine.get(previous.start, {})
    title = DEPARTMENT_TITLES.get(department, department)
    slice_scope = f"Routed to {title}"
    metrics = [
        Metric("Churned accounts", _n(now_company, "churned_accounts"),
               _n(before_company, "churned_accounts"), scope="Company-wide"),
        Metric("Revenue lost", _n(now_company, "revenue_lost"), _n(before_company, "revenue_lost"),
               money=True, scope="Company-wide"),
        Metric("Churned accounts", _n(now_mine, "churned_accounts"),
               _n(before_mine, "churned_accounts"), scope=slice_scope),
        Metric("Revenue lost", _n(now_mine, "revenue_lost"), _n(before_mine, "revenue_lost"),
               money=True, scope=slice_scope),
        Metric("Feedback items", _n(now_mine, "feedback_routed"), _n(before_mine, "feedback_routed"),
               scope=slice_scope),
    ]
    events = reader.department_events(department, period.start, period.end)
    feedback = reader.feedback_items(department, period.start, period.end)
    feedback_before = reader.feedback_items(department, previous.start, previous.end)
    themes = _themes(feedback, feedback_before, settings)
    quotes = _quotes(feedback, themes, settings)
    tables = [_churned_table(events, settings, title, period)]
    tables += _department_tables(reader, settings, department, events, feedback, period, today)
    open_notices = reader.notices(department, ("open",))
    saved = reader.notices(department, ("saved",), period.start, period.end)
    tables.append(_open_notices_table(open_notices, today, title))
    tables.append(_saved_table(saved, title))
    metrics += [
        Metric("Open notices at risk", len(open_notices), scope=f"{slice_scope}, as of {today}"),
        Metric("Amount at risk", sum(float(n["amount_at_risk"] or 0) for n in open_notices),
               money=True, scope=f"{slice_scope}, as of {today}"),
    ]
    history_events = reader.department_events(department, history[0].start, period.end)
    digest = Digest(department, period, metrics, themes, quotes, tables,
                    _chart(history_events, history, CHART_MEASURE.get(department, "count"), title))
    digest.extra = {"company": now_company, "slice": now_mine, "as_of": today}
    digest.highlights = _highlights(department, feedback, settings)
    return digest


def _n(row: dict[str, Any], key: str) -> float:
    return float(row.get(key) or 0)


def _within(day: object, period: Period) -> bool:
    value = as_date(day)
    return value is not None and period.start <= value < period.end


def _feature_keywords(settings: Publishing) -> dict[str, list[str]]:
    """publishing.features: feature name -> keywords (case-insensitive) found in feedback text;
    used only while the classifier's feature_requests column is empty."""
    features = settings.get("features", {}) or {}
    return {str(name): [str(k).lower() for k in (keywords or [name])]
            for name, keywords in features.items()}


def theme_of(item: dict[str, Any]) -> str:
    """The warehouse's theme (the classifier's), else the category it was classified into."""
    return clean_text(item.get("theme"), NAME_CHARS) or category_title(item.get("category"))


def feature_requests_of(item: dict[str, Any], features: dict[str, list[str]]) -> list[str]:
    """The classifier's feature requests, else the configured features the text names."""
    extracted = [clean_text(f, NAME_CHARS) for f in (item.get("feature_requests") or []) if f]
    if extracted or item.get("feature_requests") is not None:
        return extracted
    text = str(item.get("body_text") or "").lower()
    return [name for name, keywords in features.items() if any(k in text for k in keywords)]


def competitors_of(item: dict[str, Any]) -> list[str]:
    switched = [clean_text(c, NAME_CHARS) for c in (item.get("competitors_switched_to") or []) if c]
    if switched:
        return switched
    return [clean_text(item["competitor"], NAME_CHARS)] if item.get("competitor") else []


def _event_key(item: dict[str, Any]) -> str:
    return str(item.get("churn_event_id") or item["feedback_id"])


def _themes(now: list[dict], before: list[dict], settings: Publishing) -> list[Theme]:
    counts: dict[str, int] = defaultdict(int)
    previous: dict[str, int] = defaultdict(int)
    amounts: dict[str, dict[str, float]] = defaultdict(dict)
    accounts: dict[str, set[str]] = defaultdict(set)
    for item in now:
        theme = theme_of(item)
        counts[theme] += 1
        # Revenue behind a theme counts each churn event once, however many notes mention it;
        # only churned events lost revenue.
        lost = float(item["amount_lost"] or 0) if item.get("churn_status") == "churned" else 0.0
        amounts[theme][_event_key(item)] = lost
        accounts[theme].add(str(item.get("account_id") or _event_key(item)))
    for item in before:
        previous[theme_of(item)] += 1
    ranked = sorted(counts, key=lambda t: (-counts[t], -sum(amounts[t].values()), t))
    limit = int(settings.get("max_themes", 5))
    return [Theme(t, counts[t], previous[t], float(sum(amounts[t].values())), len(accounts[t]))
            for t in ranked[:limit]]


def _quotes(items: list[dict], themes: list[Theme], settings: Publishing) -> list[Quote]:
    """Up to quotes_per_theme quotes per theme, each taken from an item of that theme."""
    per_theme = int(settings.get("quotes_per_theme", 2))
    quotes: list[Quote] = []
    for theme in themes:
        candidates = [i for i in items if theme_of(i) == theme.name]
        candidates.sort(key=lambda i: (not i["is_exit_interview"], str(i["feedback_id"])))
        taken = 0
        for item in candidates:
            text = quote_text(item["body_text"])
            if not text:
                continue
            quotes.append(Quote(text, theme.name, _account(item), _owner(item),
                                as_date(item["noted_on"]), _record_link(item, settings)))
            taken += 1
            if taken >= per_theme:
                break
    return quotes


def _highlights(department: str, feedback: list[dict], settings: Publishing) -> list[str]:
    """One-line findings: "3 lost accounts asked for SSO (420k ARR)"."""
    if department == "product":
        groups = _grouped(feedback, lambda i: feature_requests_of(i, _feature_keywords(settings)))
        return [f"{plural(len(g['accounts']), 'lost account')} asked for {name} "
                f"({format_short_money(sum(g['amounts'].values()))} ARR)"
                for name, g in groups[:3]]
    if department == "sales":
        groups = _grouped(feedback, competitors_of)
        return [f"{plural(len(g['accounts']), 'lost account')} switched to {name} "
                f"({format_short_money(sum(g['amounts'].values()))} ARR)"
                for name, g in groups[:3]]
    return []


def _grouped(items: list[dict], names_of) -> list[tuple[str, dict[str, Any]]]:  # noqa: ANN001
    groups: dict[str, dict[str, Any]] = {}
    for item in items:
        for name in dict.fromkeys(names_of(item)):
            group = groups.setdefault(name, {"accounts": {}, "amounts": {}})
            group["accounts"][str(item.get("account_id") or item["feedback_id"])] = _account(item)
            lost = float(item["amount_lost"] or 0) if item.get("churn_status") == "churned" else 0.0
            group["amounts"][_event_key(item)] = lost
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]["accounts"]),
                                                  -sum(kv[1]["amounts"].values()), kv[0]))


def _account(row: dict[str, Any]) -> str:
    name = clean_text(row.get("account_name"), NAME_CHARS)
    if name:
        return name
    # An orphan: its account was archived, deleted or is not synced yet.
    return clean_text(row.get("account_id"), NAME_CHARS) or "(account not in the CRM)"


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


def _churned_table(events: list[dict], settings: Publishing, title: str, period: Period) -> Table:
    rows: list[list[Cell]] = [
        [Link(_account(e), _record_link(e, settings)), _owner(e), category_title(e["reason"]),
         format_money(e["amount_lost"]), format_date(as_date(e["event_date"]))]
        for e in events
    ]
    return Table(f"Churned in {period.label}, routed to {title}",
                 ["Account", "Owner", "Reason", "Amount lost", "Churn date"], rows,
                 note="Churn status churned, churn date in the period; totals equal the headline.")


def _department_tables(reader: MartReader, settings: Publishing, department: str,
                       events: list[dict], feedback: list[dict], period: Period,
                       today: date) -> list[Table]:
    if department == "product":
        groups = _grouped(feedback, lambda i: feature_requests_of(i, _feature_keywords(settings)))
        return [_grouped_table("Feature requests", "Feature", groups)]
    if department == "finance":
        return [_involuntary_table(events, settings)]
    if department == "support":
        return [_feedback_table("Service complaints",
                                [f for f in feedback if f["category"] == "service"], settings)]
    if department == "sales":
        return [_grouped_table("Competitors they switched to", "Competitor",
                               _grouped(feedback, competitors_of))]
    if department == "customer_success":
        return _checklist_tables(reader, period, today)
    return []


def _grouped_table(title: str, label: str, groups: list[tuple[str, dict[str, Any]]]) -> Table:
    rows: list[list[Cell]] = [
        [name, ", ".join(sorted(g["accounts"].values())), str(len(g["accounts"])),
         format_money(sum(g["amounts"].values()))]
        for name, g in groups
    ]
    return Table(title, [label, "Lost accounts", "Accounts", "Revenue lost to date"], rows)


def _involuntary_table(events: list[dict], settings: Publishing) -> Table:
    rows: list[list[Cell]] = [
        [Link(_account(e), _record_link(e, settings)), _owner(e),
         clean_text(e["stated_reason_raw"], NAME_CHARS), format_money(e["amount_lost"])]
        for e in events if e["reason"] == "involuntary"
    ]
    return Table("Involuntary churn (payment failed)",
                 ["Account", "Owner", "Stated reason", "Amount lost"], rows)


def _feedback_table(title: str, items: list[dict], settings: Publishing) -> Table:
    rows: list[list[Cell]] = [
        [Link(_account(i), _record_link(i, settings)), format_date(as_date(i["noted_on"])),
         quote_text(i["body_text"])]
        for i in items
    ]
    return Table(title, ["Account", "Noted", "What they said"], rows)


def _checklist_tables(reader: MartReader, period: Period, today: date) -> list[Table]:
    """Steps due in the period that were breached (churned and open notices, never saved);
    follow-ups due in the coming week."""
    steps = reader.checklist_steps()
    breaches = [s for s in steps if s["is_breached"] and s["churn_status"] != "saved"
                and _within(s["due_on"], period)]
    horizon = today + timedelta(days=7)
    followups = [s for s in steps if s["step_key"] == "followup" and s["status"] == "pending"
                 and s["churn_status"] == "churned"
                 and today <= (as_date(s["due_on"]) or today) <= horizon]
    columns = ["Account", "Owner", "Step", "Status", "Due", "Done"]
    return [
        Table(f"Checklist breaches, steps due in {period.label}", columns,
              [_step_row(s) for s in breaches]),
        Table(f"Follow-ups due {today} to {horizon}", columns, [_step_row(s) for s in followups],
              about_period=False),
    ]


def _step_row(step: dict[str, Any]) -> list[Cell]:
    return [_account(step), _owner(step), clean_text(step["step_label"]),
            clean_text(step["status"]).replace("_", " "),
            format_date(as_date(step["due_on"])), format_date(as_date(step["done_on"]))]


def _open_notices_table(notices: list[dict], today: date, title: str) -> Table:
    rows: list[list[Cell]] = [
        [_account(n), _owner(n), category_title(n["reason"]), format_money(n["amount_at_risk"]),
         format_date(as_date(n["notice_on"])), clean_text(n["suggested_play"], 200)]
        for n in notices
    ]
    return Table(f"Open notices as of {today}, routed to {title} (may still be saved)",
                 ["Account", "Owner", "Reason", "Amount at risk", "Notice", "Suggested play"],
                 rows, about_period=False)


def _saved_table(notices: list[dict], title: str) -> Table:
    rows: list[list[Cell]] = [
        [_account(n), _owner(n), category_title(n["reason"]), format_date(as_date(n["notice_on"]))]
        for n in notices
    ]
    return Table(f"Saved: notices received in the period that were saved, routed to {title}",
                 ["Account", "Owner", "Reason", "Notice"], rows)


def _chart(events: list[dict], history: list[Period], measure: str, title: str) -> ChartData:
    series: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(history))
    for event in events:
        day = as_date(event["event_date"])
        for index, period in enumerate(history):
            if day is not None and period.start <= day < period.end:
                value = float(event["amount_lost"] or 0) if measure == "revenue" else 1.0
                series[event["reason"]][index] += value
    ordered = dict(sorted(series.items(), key=lambda kv: -sum(kv[1])))
    label = "Revenue lost" if measure == "revenue" else "Churned accounts"
    return ChartData([p.label for p in history], [p.axis_label for p in history], ordered,
                     title=f"{label} routed to {title}, by reason", measure=measure)
