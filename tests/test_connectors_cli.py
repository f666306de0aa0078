"""`churnkb sync` / `churnkb status` as a user runs them, and a sync killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from churnkb.connectors.sync import sync_source
from churnkb.sandbox.faults import Faults
from fixtures.connectors import (
    FAST_SOURCES,
    assert_hubspot_matches_store,
    assert_salesforce_matches_store,
    next_second,
)

from churnkb.cli import main
from churnkb.config import deep_merge

REPO = Path(__file__).resolve().parents[1]


def write_config(path: Path, sources: dict) -> Path:
    path.write_text(yaml.safe_dump({"sources": deep_merge(FAST_SOURCES, sources)}))
    return path


def churnkb_process(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "churnkb", *args], cwd=REPO,
                            env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_files(directory: Path, count: int, process: subprocess.Popen,
                   limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and process.poll() is None:
        if len(list(directory.rglob("*.parquet"))) >= count:
            return
        time.sleep(0.005)
    out, err = process.communicate(timeout=5) if process.poll() is not None else ("", "")
    raise AssertionError(f"no {count} landed files before the sync ended: {out} {err}")


@pytest.mark.parametrize("source", ["salesforce", "hubspot"])
def test_sigkill_mid_sync_then_rerun_reconciles_exactly(connector_world, tmp_path, source):
    sources = {"salesforce": {"page_size": 200, "batch_records": 60},
               "hubspot": {"search_page_size": 40, "batch_records": 60}}
    world = connector_world(accounts=120, faults=Faults(latency_ms=40), sources=sources)
    config_path = write_config(tmp_path / "churnkb.yaml", sources)
    data_dir = world.config.data_dir

    process = churnkb_process(["--config", str(config_path), "--data-dir", str(data_dir),
                               "sync", source, "--quiet"], world.env)
    wait_for_files(data_dir / "raw" / source, 3, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    world.salesforce.faults = world.salesforce.clock.faults = Faults()
    world.hubspot.faults = world.hubspot.clock.faults = Faults()
    next_second()
    report = sync_source(source, world.config)
    assert report.ok, report.rows()
    if source == "salesforce":
        assert_salesforce_matches_store(world)
    else:
        assert_hubspot_matches_store(world)
    leftovers = [p for p in (data_dir / "raw").rglob("*") if p.is_file()
                 and not p.name.endswith(".parquet")]
    assert all(p.name.startswith(".") and p.name.endswith(".tmp") for p in leftovers)


def test_sync_command_prints_the_summary_and_status_the_cursor(connector_world, capsys):
    world = connector_world(accounts=30)
    data_dir = str(world.config.data_dir)
    config = write_config(Path(data_dir).parent / "churnkb.yaml", {})

    code = main(["--config", str(config), "--data-dir", data_dir, "sync", "all",
                 "--streams", "account,deals", "--quiet"])

    out = capsys.readouterr().out
    assert code == 0
    assert "salesforce sync" in out and "hubspot sync" in out
    for column in ("fetched", "landed", "quarantined", "deleted", "requests", "duration_s"):
        assert column in out
    assert "account" in out and "deals" in out and "contact " not in out
    assert main(["--data-dir", data_dir, "status"]) == 0
    status = capsys.readouterr().out
    assert "salesforce  account" in status and "hubspot     deals" in status


def test_missing_credentials_exit_non_zero_naming_the_variable(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SALESFORCE_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", "http://127.0.0.1:9")
    code = main(["--data-dir", str(tmp_path / "data"), "sync", "salesforce", "--quiet"])
    assert code == 1
    assert "set the environment variable SALESFORCE_ACCESS_TOKEN" in capsys.readouterr().out


def test_partial_run_exits_3_and_says_why(connector_world, capsys):
    world = connector_world(accounts=30, hs_faults=Faults(daily_quota=5))
    code = main(["--data-dir", str(world.config.data_dir), "sync", "hubspot", "--quiet"])
    out = capsys.readouterr().out
    assert code == 3
    assert "PARTIAL" in out and "daily usage 4/5" in out and "next run resumes" in out
