"""Read the marts publishers need, as plain dicts, tolerant of optional columns.

Publishers only read marts (docs/architecture.md), through ``churnkb.warehouse.read_connection``. The mart
contract fixes a core set of columns; extras such as owner names or record URLs are used when a
mart carries them and fall back to NULL otherwise, so an analyst can add columns freely.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import duckdb

from churnkb.config import Config

# Long notes are cut in SQL: a quote needs a few hundred characters, never a megabyte.
BODY_CHARS = 20_000


class MartMissing(RuntimeError):
    """A mart the publisher needs is not in the warehouse; the message says how to build it."""


@contextmanager
def open_marts(config: Config) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the last complete warehouse, under the shared reader lock.

    Builds swap a new warehouse file in whole, and this connection keeps the file it opened: every
    query of one publisher run reads the same complete warehouse, even if a build finishes
    meanwhile. Open it once per run, not per query, so the numbers of one digest agree."""
    from churnkb.warehouse import read_connection

    with read_connection(config) as con:
        yield con


class MartReader:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._columns: dict[str, set[str]] = {}
        self._rows: dict[tuple, list[dict[str, Any]]] = {}

    def columns(self, table: str) -> set[str]:
        if table not in self._columns:
            rows = self.con.execute(
                "select column_name from information_schema.columns "
                "where table_name = ? and table_schema = 'main'", [table]
            ).fetchall()
            if not rows:
                raise MartMissing(f"mart '{table}' is not in the warehouse; run `churnkb build` "
                                  "(or the build flow) before publishing")
            self._columns[table] = {row[0] for row in rows}
        return self._columns[table]

    def has(self, table: str) -> bool:
        try:
            self.columns(table)
        except MartMissing:
            return False
        return True

    def col(self, alias: str, table: str, *names: str, default: str = "null") -> str:
        """The first of ``names`` that ``table`` has, qualified by ``alias``; else ``default``."""
        present = self.columns(table)
        for name in names:
            if name in present:
                return f'{alias}."{name}"'
        return default

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Query results as dicts; memoised, since every department reads the same rows."""
        key = (sql, tuple(params or ()))
        if key not in self._rows:
            cursor = self.con.execute(sql, params or [])
            names = [d[0] for d in cursor.description]
            self._rows[key] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return [dict(row) for row in self._rows[key]]

    # -- account columns shared by every query ------------------------------------------------
    def _first(self, *candidates: tuple[str, str, tuple[str, ...]]) -> str:
        """coalesce() over the (alias, table, names) candidates that exist; NULL when none do."""
        found = [self.col(alias, table, *names) for alias, table, names in candidates
                 if alias and self.has(table)]
        found = [expr for expr in found if expr != "null"]
        return f"coalesce({', '.join(found)})" if found else "null"

    def account_columns(self, alias: str = "a") -> str:
        """Account name, owner and CRM ids from dim_accounts (owner extras when it has them)."""
        a = "dim_accounts"
        owner_name = self._first((alias, a, ("owner_name", "account_owner_name")))
        owner_email = self._first((alias, a, ("owner_email", "account_owner_email")))
        return ", ".join([
            f"{self.col(alias, a, 'account_name')} as account_name",
            f"{owner_name} as owner_name",
            f"{owner_email} as owner_email",
            f"{self.col(alias, a, 'salesforce_account_id')} as salesforce_account_id",
            f"{self.col(alias, a, 'hubspot_company_id')} as hubspot_company_id",
            f"{self.col(alias, a, 'salesforce_owner_id')} as salesforce_owner_id",
            f"{self.col(alias, a, 'hubspot_owner_id')} as hubspot_owner_id",
        ])

    # -- digests -----------------------------------------------------------------------------
    def digest_figures(self, kind: str, audience: str, starts: list[date]) -> dict[date, dict]:
        """fct_digest_periods rows of one audience ('company' or a department) by period start."""
        if not starts:
            return {}
        rows = self.rows("""
            select * from fct_digest_periods
            where period_kind = ? and audience = ? and period_start between ? and ?
        """, [kind, audience, min(starts), max(starts)])
        return {as_date(r["period_start"]): r for r in rows}

    def department_events(self, department: str | None, since: date,
                          until: date) -> list[dict[str, Any]]:
        """Churn events with the churn date in [since, until) and churn_status = 'churned':
        routed to ``department`` (fct_churn_event_departments), or all of them when None."""
        table, where, params = self._events_source(department)
        return self.rows(f"""
            select e.churn_event_id, e.account_id, e.source_system, e.source_record_id,
                   e.amount_lost, e.stated_reason_raw, e.is_voluntary, e.owner_id,
                   coalesce(e.primary_reason_category, 'unknown') as reason,
                   e.competitor_name as competitor,
                   cast(e.churned_at as date) as event_date,
                   {self.account_columns()}
            from {table} e left join dim_accounts a using (account_id)
            where e.churn_status = 'churned' {where}
              and cast(e.churned_at as date) >= ? and cast(e.churned_at as date) < ?
            order by e.amount_lost desc nulls last, e.churn_event_id
        """, [*params, since, until])

    def _events_source(self, department: str | None) -> tuple[str, str, list[Any]]:
        if department is None:
            return "fct_churn_events", "", []
        return ("(select d.*, f.churned_at, f.notice_at from fct_churn_event_departments d "
                "join fct_churn_events f using (churn_event_id))", "and e.department = ?",
                [department])

    def notices(self, department: str | None, statuses: tuple[str, ...], since: date | None = None,
                until: date | None = None) -> list[dict[str, Any]]:
        """Cancellation notices by churn status (open / saved), optionally received in a period."""
        table, where, params = self._events_source(department)
        marks = ", ".join("?" for _ in statuses)
        period = ""
        if since is not None and until is not None:
            period = "and cast(e.notice_at as date) >= ? and cast(e.notice_at as date) < ?"
            params = [*params, *statuses, since, until]
        else:
            params = [*params, *statuses]
        return self.rows(f"""
            select e.churn_event_id, e.account_id, e.source_system, e.source_record_id,
                   e.churn_status, e.owner_id,
                   coalesce(e.primary_reason_category, 'unknown') as reason,
                   cast(e.notice_at as date) as notice_on, cast(e.churned_at as date) as churn_on,
                   s.amount_at_risk, s.suggested_play, s.play_owner_department as play_department,
                   {self.account_columns()}
            from {table} e
            left join mart_save_opportunities s using (churn_event_id)
            left join dim_accounts a on a.account_id = e.account_id
            where e.notice_at is not null {where} and e.churn_status in ({marks}) {period}
            order by s.amount_at_risk desc nulls last, e.churn_event_id
        """, params)

    def feedback_items(self, department: str | None, since: date,
                       until: date) -> list[dict[str, Any]]:
        """Feedback noted in [since, until), routed to ``department`` (fct_feedback_routing), or
        every item when None. The classifier's columns (theme, feature requests, competitors,
        sentiment) may be NULL: renderers fall back."""
        c = self.col
        t = "fct_feedback_items"
        routed = ("join fct_feedback_routing r on r.feedback_id = f.feedback_id and r.department = ?"
                  if department else "")
        params: list[Any] = [department] if department else []
        return self.rows(f"""
            select f.feedback_id, f.churn_event_id, f.account_id, f.source_system,
                   f.source_record_id, {c('f', t, 'record_url')} as record_url,
                   cast(f.noted_at as date) as noted_on,
                   left(f.body_text, {BODY_CHARS}) as body_text,
                   coalesce(f.category, 'unknown') as category, f.department, f.is_exit_interview,
                   {c('f', t, 'theme')} as theme,
                   {c('f', t, 'feature_requests', default='null::varchar[]')} as feature_requests,
                   {c('f', t, 'competitors_switched_to', default='null::varchar[]')}
                       as competitors_switched_to,
                   {c('f', t, 'parting_sentiment')} as parting_sentiment,
                   e.competitor_name as competitor, e.stated_reason_raw, e.amount_lost,
                   e.churn_status, e.owner_id,
                   {self.account_columns()}
            from fct_feedback_items f
            {routed}
            left join dim_accounts a on a.account_id = f.account_id
            left join fct_churn_events e on e.churn_event_id = f.churn_event_id
            where cast(f.noted_at as date) >= ? and cast(f.noted_at as date) < ?
            order by f.noted_at desc, f.feedback_id
        """, [*params, since, until])

    def checklist_steps(self) -> list[dict[str, Any]]:
        """fct_offboarding_checklist_steps: one row per (churn event, step), meaning decided in dbt."""
        return self.rows(f"""
            select k.churn_event_id, k.account_id, k.step_key, k.step_label, k.step_order,
                   k.churn_status, k.status, k.is_breached, k.alert_state,
                   cast(k.due_date as date) as due_on, cast(k.done_at as date) as done_on,
                   k.window_opens_on as opens_on, k.owner_id,
                   {self.account_columns()}
            from fct_offboarding_checklist_steps k left join dim_accounts a using (account_id)
            order by k.due_date, k.churn_event_id, k.step_order
        """)

    def save_opportunities(self) -> list[dict[str, Any]]:
        return self.rows(f"""
            select s.churn_event_id as item_id, s.account_id, s.reason_category as reason,
                   s.amount_at_risk, s.suggested_play, cast(s.notice_at as date) as notice_on,
                   s.notice_stage as stage, s.play_owner_department as play_department,
                   s.owner_id, {self.account_columns()}
            from mart_save_opportunities s left join dim_accounts a using (account_id)
            order by s.amount_at_risk desc nulls last, item_id
        """)

    def reengagement_people(self) -> list[dict[str, Any]]:
        """mart_reengagement_people: one row per person, the strongest trigger first."""
        return self.rows(f"""
            select r.account_id, r.contact_email, r.contact_name, r.trigger, r.trigger_detail,
                   r.reason_category, r.priority, cast(r.eligible_from as date) as eligible_from,
                   cast(r.expires_on as date) as expires_on, r.other_triggers, r.owner_id,
                   {self.account_columns()}
            from mart_reengagement_people r left join dim_accounts a using (account_id)
            order by r.priority, r.eligible_from, r.account_id, r.trigger, r.contact_email
        """)


def as_date(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
