"""Issue 12: a sync stopped by the daily quota or a dead token loses nothing and lands nothing
twice; every run until the backlog is done says *partial*, and the next run resumes exactly where
the last one stopped. Measured against a clean sync of the same sandbox into another data dir."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from churnkb.connectors.raw_zone import read_stream
from churnkb.connectors.sync import sync_source
from churnkb.sandbox.faults import Faults
from fixtures.connectors import make_config, row_count

from churnkb.paths import DataPaths

# Small pages and batches: many checkpoints per run, so stops fall between and inside them.
SOURCES = {
    "hubspot": {"search_page_size": 5, "batch_records": 10, "stop_at_daily_share": 2.0},
    "salesforce": {"page_size": 200, "batch_records": 60, "stop_at_api_usage_share": 2.0},
}
# Streams with associations (HubSpot) and deletions; few enough that a day's quota covers a
# pass over the finished ones, so the backlog can end.
STREAMS = {"hubspot": ["companies", "deals", "tasks"],
           "salesforce": ["account", "opportunity", "case", "task"]}
# Salesforce pages hold at least 200 records: a bigger org, and its backlog needs fewer days.
MIN_RUNS = {"hubspot": 10, "salesforce": 3}
ACCOUNTS = {"hubspot": 45, "salesforce": 300}


def raw_rows(data_dir: Path, source: str) -> dict[str, Counter]:
    """Per raw stream, how many times each landed row (all source fields) occurs."""
    paths = DataPaths(data_dir)
    counts: dict[str, Counter] = {}
    for directory in sorted((paths.raw / source).iterdir()):
        table = read_stream(paths, source, directory.name)
        if table is None:
            continue
        fields = [name for name in table.column_names if not name.startswith("_")]
        counts[directory.name] = Counter(
            tuple(row[name] for name in fields) for row in table.select(fields).to_pylist())
    return counts


def stop_fault(kind: str, source: str) -> Faults:
    if kind == "quota":  # HubSpot: 429 policyName DAILY; Salesforce: 403 REQUEST_LIMIT_EXCEEDED
        return Faults(daily_quota=10 if source == "hubspot" else 9)
    return Faults(expire_session_after=10 if source == "hubspot" else 9)  # 401, no re-login


def a_new_day(sandbox, source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quota is back and the operator has put a working token in the environment."""
    sandbox.reset_quota()
    if source == "salesforce":  # the dead session is gone: a new one from the token endpoint
        monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", sandbox._issue_token()["access_token"])
    else:  # a private-app token: the sandbox accepts it again
        sandbox.renew_session()


@pytest.mark.parametrize("source", ["hubspot", "salesforce"])
@pytest.mark.parametrize("kind", ["quota", "auth"])
def test_stops_mid_stream_over_many_runs_lose_and_duplicate_nothing(
        connector_world, tmp_path, monkeypatch, source, kind):
    world = connector_world(accounts=ACCOUNTS[source], sources=SOURCES)
    sandbox = getattr(world, source)
    clean = make_config(tmp_path / "clean", SOURCES)
    assert sync_source(source, clean, streams=STREAMS[source]).ok

    sandbox.set_faults(stop_fault(kind, source))
    statuses, messages, reps = [], [], []
    for _ in range(30):
        a_new_day(sandbox, source, monkeypatch)
        report = sync_source(source, world.config, streams=STREAMS[source])
        statuses.append(report.status)
        messages.append(report.message)
        reps.append([(r.stream, r.status, r.landed, r.requests) for r in report.streams])
        if report.ok:
            break

    assert len(statuses) >= MIN_RUNS[source], f"the backlog took only {len(statuses)} runs: {statuses}"
    assert statuses[-1] == "success", statuses
    assert set(statuses[:-1]) == {"partial"}, [
        (n, status, rep) for n, (status, rep) in enumerate(zip(statuses, reps, strict=True))
        if status != "partial"]
    expected, got = raw_rows(clean.data_dir, source), raw_rows(world.config.data_dir, source)
    assert set(got) == set(expected)
    for stream, rows in expected.items():
        lost = set(rows) - set(got[stream])
        duplicated = {row: n for row, n in got[stream].items() if n > 1}
        assert not lost, f"{stream}: {len(lost)} rows never landed"
        assert not duplicated, f"{stream}: {len(duplicated)} rows landed twice"
        assert sum(got[stream].values()) == sum(rows.values())


def test_a_dead_token_before_anything_landed_fails_and_names_the_variable(connector_world):
    world = connector_world(accounts=10)
    world.hubspot.set_faults(Faults(expire_session_after=1))
    report = sync_source("hubspot", world.config)
    assert report.status == "failed"
    assert "HUBSPOT_ACCESS_TOKEN" in report.message


def test_a_page_checked_record_by_record_counts_each_record_once(connector_world):
    world = connector_world(accounts=20)
    company = sorted(world.hubspot.store["companies"], key=int)[0]
    # an epoch-milliseconds date: the column-wise fast path declines the page, records decide
    world.hubspot.update("companies", company, {"createdate": "1572480000000"})
    report = sync_source("hubspot", world.config, streams=["companies"])
    companies = next(s for s in report.streams if s.stream == "companies")
    assert companies.fetched == companies.landed == row_count(world, "hubspot", "companies")
