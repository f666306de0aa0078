"""Read the marts publishers need, as plain dicts, tolerant of optional columns.

Publishers only read marts (DESIGN.md), through ``churnkb.warehouse.read_connection``. The mart
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
    """A read-only connection to the warehouse under the shared reader lock."""
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

    def account_columns(self, alias: str = "a", events: str | None = None) -> str:
        """Account name, owner and CRM ids: from dim_accounts, else from the churn event."""
        e = "fct_churn_events"
        a = "dim_accounts"
        owner_name = self._first((alias, a, ("owner_name", "account_owner_name")),
                                 (events, e, ("owner_name",)))
        owner_email = self._first((alias, a, ("owner_email", "account_owner_email")),
                                  (events, e, ("owner_email",)))
        return ", ".join([
            f"{self.col(alias, a, 'account_name')} as account_name",
            f"{owner_name} as owner_name",
            f"{owner_email} as owner_email",
            f"{self.col(alias, a, 'salesforce_account_id')} as salesforce_account_id",
            f"{self.col(alias, a, 'hubspot_company_id')} as hubspot_company_id",
            f"{self.col(alias, a, 'salesforce_owner_id')} as salesforce_owner_id",
            f"{self.col(alias, a, 'hubspot_owner_id')} as hubspot_owner_id",
        ])

    def churn_events(self, since: date, until: date) -> list[dict[str, Any]]:
        """Churn events recognised in [since, until): churn date, else the notice date."""
        c = self.col
        t = "fct_churn_events"
        return self.rows(f"""
            select e.churn_event_id, e.account_id, e.source_system, e.source_record_id,
                   e.event_type, e.amount_lost, e.stated_reason_raw, e.is_voluntary,
                   coalesce(e.primary_reason_category, 'unknown') as reason,
                   {c('e', t, 'record_url')} as record_url,
                   cast(coalesce(e.churned_at, e.notice_at) as date) as event_date,
                   {c('e', t, 'competitor_name', 'competitor')} as competitor,
                   {c('e', t, 'owner_id')} as owner_id,
                   {self.account_columns(events='e')}
            from fct_churn_events e left join dim_accounts a using (account_id)
            where cast(coalesce(e.churned_at, e.notice_at) as date) >= ?
              and cast(coalesce(e.churned_at, e.notice_at) as date) < ?
            order by e.amount_lost desc nulls last, e.churn_event_id
        """, [since, until])

    def feedback_items(self, since: date, until: date) -> list[dict[str, Any]]:
        c = self.col
        t = "fct_feedback_items"
        competitor = self._first(("f", t, ("competitor", "competitor_name")),
                                 ("e", "fct_churn_events", ("competitor_name",)))
        return self.rows(f"""
            select f.feedback_id, f.churn_event_id, f.account_id, f.source_system,
                   {c('f', t, 'source_record_id')} as source_record_id,
                   {c('f', t, 'record_url')} as record_url,
                   cast(f.noted_at as date) as noted_on,
                   left(f.body_text, {BODY_CHARS}) as body_text,
                   coalesce(f.category, 'unknown') as category, f.department, f.is_exit_interview,
                   {c('f', t, 'theme', 'feature', 'subcategory')} as theme,
                   {c('f', t, 'departments', default='null::varchar[]')} as departments,
                   {competitor} as competitor,
                   e.stated_reason_raw, e.amount_lost,
                   {c('e', 'fct_churn_events', 'owner_id')} as owner_id,
                   {self.account_columns(events='e')}
            from fct_feedback_items f
            left join dim_accounts a using (account_id)
            left join fct_churn_events e on e.churn_event_id = f.churn_event_id
            where cast(f.noted_at as date) >= ? and cast(f.noted_at as date) < ?
            order by f.noted_at desc, f.feedback_id
        """, [since, until])

    def checklist_steps(self) -> list[dict[str, Any]]:
        """One row per (churn event, step), from ``<step>_due_*`` / ``_done_*`` / ``_breached``."""
        table = "mart_offboarding_checklist"
        columns = self.columns(table)
        steps = sorted({name.split("_due")[0] for name in columns if "_due" in name
                        and not name.startswith("open_")})
        if not steps:
            return []
        selects = []
        for step in steps:
            due = self.col("k", table, f"{step}_due_at", f"{step}_due_date", f"{step}_due_on")
            done = self.col("k", table, f"{step}_done_at", f"{step}_done_date", f"{step}_done_on")
            breached = self.col("k", table, f"{step}_breached", f"{step}_is_breached",
                                f"is_{step}_breached", default="false")
            opens = self.col("k", table, f"{step}_window_opens_on", f"{step}_opens_on")
            selects.append(f"""
                select k.churn_event_id, k.account_id, '{step}' as step,
                       cast({due} as date) as due_on, cast({done} as date) as done_on,
                       cast({opens} as date) as opens_on,
                       coalesce(cast({breached} as boolean), false) as breached,
                       {self.col("k", table, "owner_id")} as owner_id,
                       {self.account_columns()}
                from {table} k left join dim_accounts a using (account_id)""")
        return self.rows(" union all ".join(selects) + " order by due_on, churn_event_id, step")

    def save_opportunities(self) -> list[dict[str, Any]]:
        table = "mart_save_opportunities"
        c = self.col
        return self.rows(f"""
            select {c('s', table, 'churn_event_id', 'save_opportunity_id')} as item_id,
                   s.account_id,
                   {c('s', table, 'reason_category', 'primary_reason_category', 'reason')} as reason,
                   {c('s', table, 'amount_at_risk')} as amount_at_risk,
                   {c('s', table, 'suggested_play')} as suggested_play,
                   cast({c('s', table, 'notice_at', 'noticed_at')} as date) as notice_on,
                   {c('s', table, 'notice_stage', 'stage', 'status')} as stage,
                   {c('s', table, 'play_owner_department')} as play_department,
                   {c('s', table, 'owner_id')} as owner_id,
                   {self.account_columns()}
            from {table} s left join dim_accounts a using (account_id)
            order by amount_at_risk desc nulls last, item_id
        """)

    def reengagement_candidates(self) -> list[dict[str, Any]]:
        table = "mart_reengagement_candidates"
        c = self.col
        return self.rows(f"""
            select r.account_id, r.contact_email, r.trigger, r.reason_category, r.priority,
                   cast(r.eligible_from as date) as eligible_from,
                   {c('r', table, 'contact_name')} as contact_name,
                   {c('r', table, 'trigger_detail', 'detail', 'feature_name')} as trigger_detail,
                   {c('r', table, 'owner_id')} as owner_id,
                   {self.account_columns()}
            from {table} r left join dim_accounts a using (account_id)
            order by r.priority, r.eligible_from, r.account_id, r.trigger
        """)


def as_date(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
