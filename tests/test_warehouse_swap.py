"""The warehouse is swapped in whole (issue 12, item 4).

A build copies the warehouse to ``warehouse.next/``, runs dbt there and swaps the copy in with one
rename when the build is complete. So: a build killed (SIGKILL, real ``churnkb build`` processes)
at 20 seeded random points leaves readers a warehouse identical to the previous good one or to the
new one, never a mix; the next build removes the leftovers and matches a clean run; a reader that
holds the old file while the swap happens keeps reading it; an incomplete build (a model that did
not build) is not swapped in, while a build whose only failure is a leaf data test is.
"""

from __future__ import annotations

import copy
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from churnkb.sandbox.raw_fixture import write_stream_batch
from fixtures.warehouse import warehouse_config

from churnkb.paths import DataPaths
from churnkb.warehouse import build, query, read_connection

KILL_RUNS = 20
KILL_SEED = 12
SF_STAMP = "%Y-%m-%dT%H:%M:%S.000+0000"
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


def tables_checksum(data_dir: Path) -> dict[str, tuple[int, int]]:
    """Row count and an order-free hash of every table in the warehouse, read the way readers do.
    Doubles are rounded: a parallel sum may differ in its last bit from one build to the next."""
    found: dict[str, tuple[int, int]] = {}
    with read_connection(data_dir, timeout=60) as con:
        tables = [name for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'main' and table_type = 'BASE TABLE' order by 1").fetchall()]
        for name in tables:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'main' and table_name = ? order by ordinal_position", [name]).fetchall()
            values = ", ".join(f'round("{c}", 6)' if t in FLOAT_TYPES else f'"{c}"' for c, t in columns)
            count, digest = con.execute(
                f'select count(*), coalesce(sum(hash({values})), 0) from "{name}"').fetchone()
            found[name] = (int(count), int(digest))
    return found


def land_a_later_sync(data_dir: Path, world) -> None:  # noqa: ANN001
    """A second sync: six closed-lost renewals deleted, six accounts renamed (newer cursors), so
    a clean build after it changes accounts, churn events and every mart built on them."""
    later = world.now + timedelta(hours=1)
    stamp = later.strftime(SF_STAMP)

    def newer(record: dict, **changes: object) -> dict:
        row = {k: v for k, v in copy.deepcopy(record).items() if k != "attributes" and not isinstance(v, dict)}
        row.update(SystemModstamp=stamp, LastModifiedDate=stamp, **changes)
        return row

    lost = [o for o in world.salesforce["Opportunity"]
            if o.get("StageName") == "Closed Lost" and not o.get("IsDeleted")][:6]
    accounts = [a for a in world.salesforce["Account"] if not a.get("IsDeleted")][:6]
    assert len(lost) == 6 and len(accounts) == 6
    paths = DataPaths(data_dir)
    write_stream_batch(paths, "salesforce", "opportunity", [newer(o, IsDeleted=True) for o in lost],
                       later, "later-sync", 1)
    write_stream_batch(paths, "salesforce", "account",
                       [newer(a, Name=f"{a['Name']} Holdings") for a in accounts], later, "later-sync", 2)


def start_build(data_dir: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("CHURNKB_CONFIG", "CHURNKB_DATA_DIR")}
    return subprocess.Popen([sys.executable, "-m", "churnkb", "build", "--data-dir", str(data_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=data_dir, start_new_session=True)


def copy_data_dir(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.holders", "outputs"))
    return target


@pytest.fixture(scope="module")
def prepared(built_warehouse, tmp_path_factory):
    """The session's world and warehouse (the previous good one), a later sync landed on top, and
    a clean build of it (the reference), timed to place the kills."""
    root = tmp_path_factory.mktemp("swap")
    base = copy_data_dir(built_warehouse.config.data_dir, root / "base")
    previous = tables_checksum(base)
    land_a_later_sync(base, built_warehouse.world)
    shutil.copyfile(base / "warehouse.duckdb", root / "previous.duckdb")

    reference_dir = copy_data_dir(base, root / "reference")
    started = time.monotonic()
    process = start_build(reference_dir)
    _, stderr = process.communicate(timeout=900)
    build_seconds = time.monotonic() - started
    assert process.returncode == 0, stderr[-3000:]
    reference = tables_checksum(reference_dir)
    changed = sorted(name for name in reference if reference[name] != previous.get(name))
    assert {"dim_accounts", "fct_churn_events"} <= set(changed), changed
    return {"root": root, "base": base, "previous": previous, "reference": reference,
            "build_seconds": build_seconds}


@pytest.mark.slow
def test_a_build_killed_at_20_random_points_never_leaves_a_mix(prepared):
    root, previous, reference = prepared["root"], prepared["previous"], prepared["reference"]
    run_dir = copy_data_dir(prepared["base"], root / "killed")
    paths = DataPaths(run_dir)
    rng = random.Random(KILL_SEED)
    # the whole build, start-up and swap included, and a little beyond (some runs finish)
    delays = sorted(rng.uniform(0.0, 1.05 * prepared["build_seconds"]) for _ in range(KILL_RUNS))
    seen: list[str] = []
    left_over = 0
    for delay in delays:
        shutil.copyfile(root / "previous.duckdb", paths.warehouse)  # the previous good warehouse
        process = start_build(run_dir)
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
        left_over += paths.warehouse_next.parent.exists()
        found = tables_checksum(run_dir)
        if found == previous:
            seen.append("previous")
        elif found == reference:
            seen.append("new")
        else:
            mixed = sorted(n for n in set(found) | set(reference)
                           if found.get(n) not in (previous.get(n), reference.get(n)))
            pytest.fail(f"killed after {delay:.1f} s: the reader saw a mix; tables neither previous "
                        f"nor new: {mixed[:10]} (runs so far: {seen})")
    assert "previous" in seen and left_over >= 3, (seen, left_over)  # kills did land mid-build

    # the next build removes what the killed ones left and gives what a clean run gives
    shutil.copyfile(root / "previous.duckdb", paths.warehouse)
    process = start_build(run_dir)
    _, stderr = process.communicate(timeout=900)
    assert process.returncode == 0, stderr[-3000:]
    assert not paths.warehouse_next.parent.exists()
    assert tables_checksum(run_dir) == reference


# --- the swap's rules on a small dbt project of its own (fast) ---------------------------------

TINY_PROJECT = {
    "dbt_project.yml": """
        name: tiny
        version: "1.0"
        profile: tiny
        model-paths: [models]
        test-paths: [tests]
        models:
          tiny:
            +materialized: table
    """,
    "profiles.yml": """
        tiny:
          target: local
          outputs:
            local:
              type: duckdb
              path: "{{ var('warehouse_path') }}"
              threads: 1
              keep_open: false
    """,
    "models/numbers.sql": """
        select * from read_csv('{{ var("data_dir") }}/numbers.csv', header = true)
    """,
    "models/totals.sql": """
        select count(*) as how_many, sum(n) as total from {{ ref('numbers') }}
    """,
    "tests/totals_stay_below_100.sql": """
        select * from {{ ref('totals') }} where total >= 100
    """,
}


@pytest.fixture
def tiny(tmp_path):
    project = tmp_path / "tiny_project"
    for name, text in TINY_PROJECT.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    config = warehouse_config(data_dir, dbt_project_dir=str(project))

    def numbers(*values: int) -> None:
        (data_dir / "numbers.csv").write_text("n\n" + "".join(f"{v}\n" for v in values), encoding="utf-8")

    def totals() -> list[dict]:
        return query(config, "select how_many, total from totals").to_dicts()

    return config, numbers, totals


def test_a_build_with_a_model_that_does_not_build_keeps_the_previous_warehouse(tiny):
    config, numbers, totals = tiny
    numbers(1, 2, 3)
    first = build(config)
    assert first.success and first.replaced, first.summary()
    assert totals() == [{"how_many": 3, "total": 6}]

    # numbers builds (as text) and totals fails: swapping that in would be new numbers beside old totals
    (config.data_dir / "numbers.csv").write_text("n\nnot a number\n", encoding="utf-8")
    broken = build(config)
    assert not broken.success and not broken.replaced
    assert "the warehouse was not replaced" in broken.summary() and "totals" in broken.summary()
    assert totals() == [{"how_many": 3, "total": 6}]  # the previous warehouse, whole
    assert query(config, "select count(*) as n from numbers").to_dicts() == [{"n": 3}]
    assert not DataPaths(config.data_dir).warehouse_next.parent.exists()

    numbers(4, 5)
    fixed = build(config)
    assert fixed.success and fixed.replaced
    assert totals() == [{"how_many": 2, "total": 9}]


def test_a_failing_test_on_a_leaf_model_is_reported_and_the_complete_build_swapped_in(tiny):
    config, numbers, totals = tiny
    numbers(1)
    assert build(config).replaced
    numbers(60, 70)  # totals = 130: its test fails, nothing is downstream of it
    report = build(config)
    assert not report.success and report.failures == ["totals_stay_below_100"]
    assert report.replaced and "not replaced" not in report.summary()
    assert totals() == [{"how_many": 2, "total": 130}]


def test_a_reader_holding_the_old_warehouse_keeps_reading_it_across_the_swap(tiny):
    config, numbers, totals = tiny
    numbers(1, 2)
    assert build(config).replaced
    numbers(10, 20, 30)
    with read_connection(config) as held:  # a publisher in the middle of its run
        before = held.execute("select total from totals").fetchall()
        report = build(config)  # does not wait for the reader
        assert report.replaced, report.summary()
        assert held.execute("select total from totals").fetchall() == before == [(3,)]
        assert held.execute("select count(*) from numbers").fetchone() == (2,)
    assert totals() == [{"how_many": 3, "total": 60}]  # a reader opening now sees the new one
