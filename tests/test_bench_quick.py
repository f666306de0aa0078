"""Smoke run of the benchmark code paths at tiny sizes: outputs exist and add up (no timings)."""

from __future__ import annotations

from pathlib import Path

import duckdb
from churnkb.bench import api, scale
from churnkb.bench.landing import run_contestant
from churnkb.bench.report import Row, markdown_page, text_table


def test_landing_contestants_land_every_record(tmp_path: Path) -> None:
    for contestant in ("churnkb", "duckdb"):
        result = run_contestant(contestant, 3000, tmp_path)
        assert result["landed"] == 3000
        assert result["records_per_s"] > 0 and result["peak_mb_process"] > 0


def test_scaled_raw_zone_keeps_copies_apart_and_lands_a_change(tmp_path: Path) -> None:
    base = tmp_path / "base"
    scale.land_base_world(base, accounts=30)
    one = scale.churn_side_records(base / "raw")
    scale.replicate(base / "raw", tmp_path / "x3" / "raw", 3)
    raw = tmp_path / "x3" / "raw"
    assert scale.churn_side_records(raw) == 3 * one

    con = duckdb.connect()
    def one_value(sql: str):
        return con.execute(sql).fetchall()[0]

    tasks = f"read_parquet('{raw}/salesforce/task/*fixture-current*.parquet')"
    total, distinct = one_value(f'select count(*), count(distinct "Id") from {tasks}')
    assert total == distinct
    # every task's account is an account of the same copy (references were rewritten alike); the
    # world's own orphans (tasks of accounts not synced yet) stay orphans, once per copy
    def orphan_tasks(root: Path) -> int:
        tasks = f"read_parquet('{root}/salesforce/task/*fixture-current*.parquet')"
        accounts = f"read_parquet('{root}/salesforce/account/*fixture-current*.parquet')"
        return one_value(f'select count(*) from {tasks} t where "AccountId" is not null and '
                         f'"AccountId" not in (select "Id" from {accounts})')[0]

    assert orphan_tasks(raw) == 3 * orphan_tasks(base / "raw")
    companies = f"read_parquet('{raw}/hubspot/companies/*fixture-current*.parquet')"
    names, domains = one_value(f"select count(distinct name), count(distinct domain) from {companies}")
    base_companies = f"read_parquet('{base}/raw/hubspot/companies/*fixture-current*.parquet')"
    base_names, base_domains = one_value(
        f"select count(distinct name), count(distinct domain) from {base_companies}")
    assert (names, domains) == (3 * base_names, 3 * base_domains)
    users = f"read_parquet('{raw}/salesforce/user/*.parquet')"
    base_users = f"read_parquet('{base}/raw/salesforce/user/*.parquet')"
    assert one_value(f"select count(*) from {users}") == one_value(f"select count(*) from {base_users}")

    changed = scale.land_change(raw)
    assert changed > 0
    assert list((raw / "salesforce" / "opportunity").glob(f"*-{scale.CHANGE_SYNC_ID}-*.parquet"))


def test_minimum_requests_follow_page_sizes() -> None:
    synced = {"deals": 2500}
    assert api.minimum_requests("salesforce", "task", 4001, synced) == 3
    assert api.minimum_requests("salesforce", "note", 0, synced) == 1
    assert api.minimum_requests("hubspot", "deals", 2500, synced) == 13
    assert api.minimum_requests("hubspot", "associations_deals_companies", 2400, synced) == 3
    cost = api.StreamCost("hubspot", "deals", 2500, 15, 13)  # allowed: 15.65
    assert cost.within_target and not api.StreamCost("hubspot", "deals", 2500, 16, 13).within_target


def test_results_page_has_table_machine_and_reproduction() -> None:
    rows = [Row("1 landing", "churnkb vs dlt", "30.0x faster", ">= 25x", True),
            Row("4 demo", "churnkb demo, cold", "75.0 s", "<= 60 s", False, "bounded by Prefect")]
    page = markdown_page(rows, quick=True, seconds=12, notes=["section demo: 75 s"])
    assert "| 1 landing | churnkb vs dlt | 30.0x faster | >= 25x | met |" in page
    assert "MISSED" in page and "make bench" in page and "cores" in page and "Python" in page
    assert "1 met, 1 missed" in page
    assert "30.0x faster" in text_table(rows)


def test_a_written_page_reads_back_for_merging() -> None:
    from churnkb.bench.report import read_rows

    rows = [Row("2 API", "hubspot full", "94 requests", "per stream <= 1.05 x min + 2", True,
                "a | b"), Row("4 demo", "demo", "70 s", "<= 60 s", False), Row("3 build", "x", "1 s")]
    assert read_rows(markdown_page(rows, quick=False, seconds=1, notes=[])) == rows
