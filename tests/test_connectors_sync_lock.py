"""Issue 12 item 9: one sync per source at a time.

Two syncs of one source at once used to both land everything (every record twice). Now the
second waits for the first up to ``sources.<source>.lock_timeout_s`` and then fails naming it;
syncs of different sources run side by side. Real `churnkb sync` processes against the loopback
sandboxes; what is checked is the raw zone (rows per record id in the landed Parquet)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import yaml
from churnkb.connectors.hubspot import OBJECT_STREAMS
from churnkb.connectors.raw_zone import read_stream
from churnkb.connectors.sync import sync_source
from churnkb.sandbox.faults import Faults
from fixtures.connectors import (
    FAST_SOURCES,
    assert_hubspot_matches_store,
    assert_salesforce_matches_store,
)

from churnkb.cli import main
from churnkb.config import deep_merge
from churnkb.paths import DataPaths
from churnkb.sync_lock import sync_lock_path

REPO = Path(__file__).resolve().parents[1]
SLOW = Faults(latency_ms=400)  # keeps the first sync inside its lock while the others run

HOLD_SYNC_LOCK = """
import sys, time
from pathlib import Path
from churnkb.paths import DataPaths
from churnkb.sync_lock import sync_lock
with sync_lock(DataPaths(Path(sys.argv[1])), sys.argv[2]):
    print("held", flush=True)
    time.sleep(float(sys.argv[3]))
"""


def write_config(path: Path, sources: dict) -> Path:
    path.write_text(yaml.safe_dump({"sources": deep_merge(FAST_SOURCES, sources)}))
    return path


def churnkb_sync(config: Path, data_dir: Path, source: str, env: dict[str, str]
                 ) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "churnkb", "--config", str(config), "--data-dir", str(data_dir),
         "sync", source, "--quiet"],
        cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)


def wait_until_holding(data_dir: Path, source: str, process: subprocess.Popen) -> None:
    """The holder note appears once the process has the lock (it is gone when it ends)."""
    notes = sync_lock_path(DataPaths(data_dir), source).with_name("sync.lock.holders")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(notes.glob(f"{process.pid}-*.json")):
            return
        time.sleep(0.01)
    raise AssertionError(f"pid {process.pid} never held the {source} sync lock: "
                         f"{process.communicate(timeout=30)}")


def rows_per_id(data_dir: Path, source: str, stream: str, id_column: str) -> Counter:
    table = read_stream(DataPaths(data_dir), source, stream)
    return Counter() if table is None else Counter(table[id_column].to_pylist())


def holding_process(data_dir: Path, source: str, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_SYNC_LOCK, str(data_dir), source,
                               str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_two_syncs_of_one_source_land_each_record_once_and_the_second_names_the_first(
        connector_world, tmp_path):
    world = connector_world(accounts=30, hs_faults=SLOW)
    data_dir = world.config.data_dir
    config = write_config(tmp_path / "churnkb.yaml", {"hubspot": {"lock_timeout_s": 1}})

    first = churnkb_sync(config, data_dir, "hubspot", world.env)
    try:
        wait_until_holding(data_dir, "hubspot", first)
        second = churnkb_sync(config, data_dir, "hubspot", world.env)
        other_source = churnkb_sync(config, data_dir, "salesforce", world.env)
        second_out, second_err = second.communicate(timeout=300)
        other_out, other_err = other_source.communicate(timeout=300)
        assert first.poll() is None, "the first sync must still hold the lock for this test"
    finally:
        world.hubspot.set_faults(Faults())  # let the first sync finish quickly
        first_out, first_err = first.communicate(timeout=300)

    assert first.returncode == 0, first_out + first_err
    # the second: exit 1 (failed, nothing synced), naming the sync that holds the lock
    assert second.returncode == 1, second_out + second_err
    assert "FAILED - another hubspot sync is running" in second_out
    assert f"pid {first.pid}, syncing since" in second_out
    assert "sync hubspot" in second_out and "sources.hubspot.lock_timeout_s" in second_out
    assert "waiting for the hubspot sync lock" in second_err and "up to 1 s" in second_err
    assert "Traceback" not in second_out + second_err
    # a sync of another source ran meanwhile, untouched by the hubspot lock
    assert other_source.returncode == 0, other_out + other_err

    for stream in OBJECT_STREAMS:
        twice = {i: n for i, n in rows_per_id(data_dir, "hubspot", stream, "id").items() if n > 1}
        assert not twice, f"hubspot {stream}: {len(twice)} records landed more than once"
    for stream in ("account", "opportunity", "case", "task"):
        assert set(rows_per_id(data_dir, "salesforce", stream, "Id").values()) == {1}, stream
    assert_hubspot_matches_store(world)
    assert_salesforce_matches_store(world)


def test_a_sync_waits_for_the_running_one_then_runs(connector_world, capfd):
    world = connector_world(accounts=15)
    data_dir = world.config.data_dir
    holder = holding_process(data_dir, "hubspot", 2)
    try:
        report = sync_source("hubspot", world.config, streams=["companies", "deals"])
    finally:
        holder.kill()
        holder.wait()
    assert report.ok, report.message
    err = capfd.readouterr().err
    assert "waiting for the hubspot sync lock" in err and f"pid {holder.pid}" in err
    assert "up to 3600 s" in err  # the default of sources.hubspot.lock_timeout_s
    assert set(rows_per_id(data_dir, "hubspot", "companies", "id").values()) == {1}
    assert_hubspot_matches_store(world, ["companies", "deals"])


def test_sync_all_with_one_source_busy_is_partial_and_lands_the_other(connector_world, capsys):
    world = connector_world(accounts=15)
    data_dir = world.config.data_dir
    config = write_config(Path(data_dir).parent / "churnkb.yaml",
                          {"hubspot": {"lock_timeout_s": 0}})
    holder = holding_process(data_dir, "hubspot", 120)
    try:
        code = main(["--config", str(config), "--data-dir", str(data_dir), "sync", "all",
                     "--streams", "account,companies", "--quiet"])
    finally:
        holder.kill()
        holder.wait()
    out = capsys.readouterr().out
    assert code == 3, out  # partial: one source synced, the other is the next run's
    assert "salesforce sync" in out and "SUCCESS" in out
    assert "hubspot sync" in out and "another hubspot sync is running" in out
    assert f"pid {holder.pid}" in out
    assert rows_per_id(data_dir, "hubspot", "companies", "id") == Counter()
    assert_salesforce_matches_store(world, ["account"])
