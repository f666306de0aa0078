"""Raw zones at scale for the build benchmark, without generating millions of records.

``generate_world`` is too slow for 1M records (5,000 accounts take seconds and give ~110k), so a
base world is landed once with ``sandbox.raw_fixture.land_world`` and its Parquet files are
replicated k times with DuckDB SQL. Every copy rewrites ids, account names, domains and emails
consistently (the same function of the value and the copy number everywhere it appears), so
references still join within a copy and copies never merge in account matching. Users, owners
and pipelines are shared by all copies, as in one CRM org.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

SHARED_STREAMS = {"salesforce": {"user"}, "hubspot": {"owners", "deal_pipelines", "ticket_pipelines"}}
CHURN_SIDE_STREAMS = {
    "salesforce": ("opportunity", "case", "task", "note"),
    "hubspot": ("deals", "tickets", "notes", "tasks", "feedback_submissions"),
}
# Columns holding a record id (or a reference to one) that is copied; owner/user ids are shared.
ID_COLUMNS = {"Id", "AccountId", "ContactId", "ParentId", "WhoId", "WhatId", "id", "hs_object_id",
              "associatedcompanyid", "hs_contact_id", "from_id", "to_id"}
NAME_COLUMNS = {("salesforce", "account"): "Name", ("hubspot", "companies"): "name"}
DOMAIN_COLUMNS = {"Website", "domain", "Email", "email", "hs_contact_email_rollup"}
UNIQUE_TEXT_COLUMNS = {"CaseNumber"}
CURSOR_COLUMNS = {
    "salesforce": {"SystemModstamp": "%Y-%m-%dT%H:%M:%S.000+0000",
                   "LastModifiedDate": "%Y-%m-%dT%H:%M:%S.000+0000"},
    "hubspot": {"hs_lastmodifieddate": "%Y-%m-%dT%H:%M:%S.000Z",
                "lastmodifieddate": "%Y-%m-%dT%H:%M:%S.000Z", "updated_at": "%Y-%m-%dT%H:%M:%S.000Z"},
}
CHANGE_SYNC_ID = "bench-change"


def copy_code(copy: str) -> str:
    """SQL: two base-62 characters for the copy number (copy 0 keeps the generator's '00')."""
    alphabet = "'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'"
    return (f"substr({alphabet}, ({copy} // 62) + 1, 1) || "
            f"substr({alphabet}, ({copy} % 62) + 1, 1)")


def rewritten(source: str, stream: str, column: str, copy: str = "c") -> str:
    """SQL expression for ``column`` in copy ``copy`` (see module doc)."""
    ref = f'"{column}"'
    if column in ID_COLUMNS:
        if source == "salesforce":
            # prefix(3) + pod '5g' + '00' + counter: the '00' becomes the copy code.
            return (f"case when length({ref}) = 18 then substr({ref}, 1, 5) || {copy_code(copy)} "
                    f"|| substr({ref}, 8) else {ref} end")
        return (f"case when regexp_full_match({ref}, '[0-9]+') "
                f"then {ref} || lpad({copy}::varchar, 3, '0') else {ref} end")
    if NAME_COLUMNS.get((source, stream)) == column or column in UNIQUE_TEXT_COLUMNS:
        return f"{ref} || ' ' || {copy}::varchar"
    if column in DOMAIN_COLUMNS:
        # acme.io -> acmec7.io in websites, domains and e-mail addresses alike
        return f"regexp_replace({ref}, '([A-Za-z0-9-]+)(\\.[A-Za-z]{{2,}}\\.?(?:/[^@]*)?)$', '\\1c' || {copy}::varchar || '\\2')"
    return ref


def replicate(base_raw: Path, target_raw: Path, copies: int) -> None:
    """Write ``copies`` rewritten copies of every raw file under ``base_raw`` to ``target_raw``."""
    con = duckdb.connect()
    for path in sorted(base_raw.glob("*/*/*.parquet")):
        source, stream = path.parent.parent.name, path.parent.name
        out = target_raw / source / stream / path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        n = 1 if stream in SHARED_STREAMS.get(source, set()) else copies
        columns = [row[0] for row in con.execute(
            f"describe select * from read_parquet('{path}')").fetchall()]
        select = ", ".join(f'{rewritten(source, stream, name)} as "{name}"' for name in columns)
        con.execute(f"copy (select {select} from read_parquet('{path}'), range({n}) as copies(c)) "
                    f"to '{out}' (format parquet, compression zstd)")
    con.close()


def land_change(raw: Path, share_percent: int = 1, now: datetime | None = None) -> int:
    """Land one new batch per object stream re-versioning ``share_percent``% of its records."""
    now = now or datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    con = duckdb.connect()
    changed = 0
    for source, cursors in CURSOR_COLUMNS.items():
        for stream_dir in sorted((raw / source).iterdir()):
            current = sorted(stream_dir.glob("*-fixture-current-*.parquet"))
            columns = _columns(con, current)
            key = "Id" if "Id" in columns else "id"
            if not current or key not in columns or not cursors.keys() & set(columns):
                continue
            files = ", ".join(f"'{p}'" for p in current)
            select = ", ".join(
                f"'{now.strftime(cursors[name])}' as \"{name}\"" if name in cursors
                else f"timestamp '{now.replace(tzinfo=None).isoformat()}' as _loaded_at"
                if name == "_loaded_at" else f"'{CHANGE_SYNC_ID}' as _sync_id"
                if name == "_sync_id" else f'"{name}"'
                for name in columns)
            out = stream_dir / f"{stamp}-{CHANGE_SYNC_ID}-00001.parquet"
            con.execute(f"copy (select {select} from read_parquet([{files}], union_by_name=true) "
                        f"where hash(\"{key}\") % 100 < {share_percent}) to '{out}' (format parquet)")
            changed += con.execute(f"select count(*) from read_parquet('{out}')").fetchone()[0]
    con.close()
    return changed


def _columns(con: duckdb.DuckDBPyConnection, files: list[Path]) -> list[str]:
    if not files:
        return []
    listed = ", ".join(f"'{p}'" for p in files)
    return [row[0] for row in con.execute(
        f"describe select * from read_parquet([{listed}], union_by_name=true)").fetchall()]


def churn_side_records(raw: Path) -> int:
    """Current versions of churn-side records (the fixture's 'current' batch) under ``raw``."""
    con = duckdb.connect()
    total = 0
    for source, streams in CHURN_SIDE_STREAMS.items():
        for stream in streams:
            files = sorted((raw / source / stream).glob("*-fixture-current-*.parquet"))
            if files:
                listed = ", ".join(f"'{p}'" for p in files)
                total += con.execute(f"select count(*) from read_parquet([{listed}])").fetchone()[0]
    con.close()
    return total


def land_base_world(data_dir: Path, accounts: int, seed: int = 7) -> None:
    from churnkb.sandbox.generator import generate_world
    from churnkb.sandbox.raw_fixture import land_world

    land_world(generate_world(accounts=accounts, seed=seed), data_dir)
