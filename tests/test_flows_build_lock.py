"""One writer at a time: two builds started together both succeed, one waits for the other, and
the warehouse is intact afterwards. Real processes, real dbt, the real file lock."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from churnkb.sandbox.generator import generate_world
from churnkb.sandbox.raw_fixture import land_world

# Each process runs the build step the build flow's task runs. The wrapper around
# churnkb.warehouse.exclusive only records when the real lock was acquired and released (and how
# long the real lock said it waited); both processes start the build together via a barrier.
BUILD_SCRIPT = textwrap.dedent("""
    import json, sys, time
    from contextlib import contextmanager
    from pathlib import Path

    import churnkb.warehouse as warehouse
    from churnkb.flows.steps import FlowInputs, run_build

    data_dir, name = Path(sys.argv[1]), sys.argv[2]
    record = {"name": name}
    real_exclusive = warehouse.exclusive

    @contextmanager
    def recording_exclusive(lock_path, timeout=3600):
        with real_exclusive(lock_path, timeout) as waited:
            record.update(waited_s=waited, acquired_at=time.time())
            yield waited
            record["released_at"] = time.time()

    warehouse.exclusive = recording_exclusive
    import dbt.cli.main  # noqa: F401  (import before the barrier so both start building together)
    (data_dir / f"ready-{name}").touch()
    while not all((data_dir / f"ready-{n}").exists() for n in ("a", "b")):
        time.sleep(0.01)
    record["summary"] = run_build(FlowInputs(None, str(data_dir)).config())
    print(json.dumps(record))
""")


def _start_build(data_dir: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", BUILD_SCRIPT, str(data_dir), name],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> dict:
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-4000:]
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_two_builds_at_once_both_succeed_one_waits_and_the_warehouse_is_intact(tmp_path):
    world = generate_world(accounts=40, seed=3)
    land_world(world, tmp_path)

    first, second = _start_build(tmp_path, "a"), _start_build(tmp_path, "b")
    results = sorted([_finish(first), _finish(second)], key=lambda r: r["acquired_at"])

    assert all(r["summary"]["success"] for r in results)
    earlier, later = results
    assert later["acquired_at"] >= earlier["released_at"], "the two builds held the writer lock together"
    assert later["waited_s"] > 0 and earlier["waited_s"] < later["waited_s"]

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        events = con.execute("select count(*), count(distinct churn_event_id) from fct_churn_events").fetchone()
        accounts = con.execute("select count(*) from dim_accounts").fetchone()[0]
    assert events[0] > 0 and events[0] == events[1]
    assert accounts > 0
