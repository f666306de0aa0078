"""The operator's view of the CLI: exit codes, messages, options anywhere, Ctrl-C, pipes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from churnkb.sandbox.generator import generate_world
from churnkb.sandbox.raw_fixture import land_world

from churnkb.cli import build_parser, main

CHURNKB = [sys.executable, "-m", "churnkb"]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
            **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*CHURNKB, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, **kwargs)


def test_every_command_has_a_description_and_an_example():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, sub in subparsers.choices.items():
        assert sub.description, name
        assert sub.epilog and "example:" in sub.epilog and "churnkb" in sub.epilog, name


def test_global_options_work_after_the_subcommand(tmp_path, capsys):
    assert main(["status", "--data-dir", str(tmp_path)]) == 0
    assert str(tmp_path) in capsys.readouterr().out
    assert main(["--data-dir", str(tmp_path), "status"]) == 0
    assert str(tmp_path) in capsys.readouterr().out


def test_a_config_error_is_exit_2_with_the_command_named_on_stderr(tmp_path, capsys):
    bad = tmp_path / "churnkb.yaml"
    bad.write_text("salesforce: [unclosed\n")
    for command in (["status"], ["sync", "salesforce"], ["build"], ["publish", "alerts"]):
        assert main([*command, "--config", str(bad), "--data-dir", str(tmp_path)]) == 2, command
        err = capsys.readouterr().err
        assert err.startswith(f"churnkb {command[0]}: "), err
        assert "Traceback" not in err


def test_status_json_piped_into_head_leaves_no_traceback(tmp_path):
    shell = f"{sys.executable} -m churnkb status --json --data-dir {tmp_path} | head -1"
    # a data dir with streams gives output longer than one pipe read
    land_world(generate_world(accounts=10, seed=1), tmp_path)
    out = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "["
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr, out.stderr


def test_build_on_an_empty_raw_zone_warns_to_sync_first(tmp_path):
    out = run_cli("build", "--data-dir", str(tmp_path), timeout=300)
    assert "nothing synced yet" in out.stderr and "churnkb sync" in out.stderr


@pytest.mark.parametrize("after_nodes", [1, 40])
def test_ctrl_c_during_build_exits_130_without_a_traceback(tmp_path, after_nodes):
    land_world(generate_world(accounts=60, seed=5), tmp_path)
    log = Path(tmp_path) / "dbt" / "logs" / "dbt.log"
    process = subprocess.Popen([*CHURNKB, "build", "--data-dir", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # interrupt once dbt has started running nodes
        if log.exists() and log.read_text(errors="replace").count("OK created") >= after_nodes:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stdout + stderr
    assert "churnkb build: interrupted" in stderr
    assert "dbt build interrupted" in stderr and "nothing ran" not in stderr
    # the account of what ran covers at least every relation dbt's log says it created
    reported = re.search(r"success=(\d+)", stderr)
    assert reported and int(reported.group(1)) >= log.read_text(errors="replace").count("OK created"), stderr


def test_run_build_warehouse_creates_a_new_data_dir_and_prints_a_summary(tmp_path):
    data_dir = tmp_path / "not" / "there" / "yet"
    env = {"PREFECT_HOME": "", "PREFECT_API_URL": ""}  # churnkb run sets up its own local Prefect
    clean_env = {k: v for k, v in {**os.environ, **env}.items() if v}
    out = subprocess.run([*CHURNKB, "run", "build-warehouse", "--data-dir", str(data_dir)],
                         capture_output=True, text=True, timeout=300, env=clean_env)
    assert out.returncode == 0, out.stderr
    assert (data_dir / "warehouse.duckdb").exists() and (data_dir / ".prefect").is_dir()
    assert "Warehouse built in" in out.stdout and "dbt.log" in out.stdout
    assert len(out.stdout.splitlines()) <= 5 and "{" not in out.stdout


def test_sync_against_a_closed_port_fails_fast_with_one_line_per_source(tmp_path):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    env = {"SALESFORCE_INSTANCE_URL": closed, "SALESFORCE_ACCESS_TOKEN": "t0ken-sf",
           "HUBSPOT_BASE_URL": closed, "HUBSPOT_ACCESS_TOKEN": "t0ken-hs"}
    started = time.monotonic()
    out = run_cli("sync", "all", "--quiet", "--data-dir", str(tmp_path), env=env, timeout=60)
    assert time.monotonic() - started < 30
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert len(lines) == 2, out.stdout
    assert lines[0].startswith("salesforce sync") and "SALESFORCE_INSTANCE_URL" in lines[0]
    assert lines[1].startswith("hubspot sync") and "HUBSPOT_BASE_URL" in lines[1]
    assert all(closed in line and "connection refused" in line for line in lines)
    assert "Traceback" not in out.stdout + out.stderr and "t0ken" not in out.stdout + out.stderr


HOLD_LOCK = """
import sys, time
from pathlib import Path
from churnkb.warehouse_lock import exclusive
with exclusive(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_wait_for_the_warehouse_lock_says_who_holds_it_and_for_how_long(tmp_path):
    (tmp_path / "warehouse.duckdb").write_bytes(b"")  # a warehouse exists; a build holds its lock
    (tmp_path / "churnkb.yaml").write_text("warehouse:\n  lock_timeout_s: 1\n")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path / "warehouse.lock"), "30"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        out = run_cli("query", "select 1", "--data-dir", str(tmp_path),
                      "--config", str(tmp_path / "churnkb.yaml"), timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert out.returncode == 1
    assert f"pid {holder.pid}" in out.stderr and "writer since" in out.stderr
    assert "waiting up to 1 s" in out.stderr and "warehouse.lock_timeout_s" in out.stderr
    assert "Traceback" not in out.stderr


def test_docs_builds_the_catalogue_and_serves_it_on_loopback(built_warehouse):
    data_dir = str(built_warehouse.config.data_dir)
    process = subprocess.Popen([*CHURNKB, "docs", "--serve", "--port", "0", "--data-dir", data_dir],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        catalogue = process.stdout.readline()
        assert catalogue.startswith("catalogue: ") and catalogue.strip().endswith(".html")
        page = Path(catalogue.split(": ", 1)[1].strip()).read_text(encoding="utf-8")
        assert "fct_feedback_items" in page and "mart_offboarding_checklist" in page
        serving = process.stdout.readline()
        url = serving.split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "index.html", timeout=10) as response:
            assert response.status == 200 and b"dbt" in response.read()
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130 and "Traceback" not in stderr


def test_a_department_nothing_routes_to_is_warned_about(tmp_path, capsys):
    from churnkb.commands.publish import unrouted_departments
    from churnkb.config import load_config

    config_file = tmp_path / "churnkb.yaml"
    config_file.write_text("publishing:\n  departments:\n    legal: {channels: [file]}\n")
    config = load_config(str(config_file), tmp_path)
    assert unrouted_departments(config) == ["legal"]
    assert main(["publish", "digests", "--config", str(config_file), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no reason category routes to department 'legal'" in err
