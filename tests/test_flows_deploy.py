"""The production path, for real: `prefect server start` on loopback, a process work pool,
`prefect --no-prompt deploy --all` from a clean copy of the repo, a worker, and a triggered
`churn_pipeline` run against the sandbox CRMs. Slow (a fresh Prefect server), still in `make test`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
POOL = "churnkb-process"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_working_tree(destination: Path) -> Path:
    """What a fresh clone would hold, uncommitted work included: tracked and untracked files
    that .gitignore does not exclude (so no .venv, no data)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def prefect_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CHURNKB_"))}
    env.update({
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
        "PREFECT_WORKER_QUERY_SECONDS": "1",  # pick the triggered run up quickly
        "DBT_LOG_LEVEL": "warn",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1",
    })
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def wait_healthy(api_url: str, server: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"prefect server exited with {server.returncode}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"prefect server at {api_url} not healthy after {timeout} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def prefect(*args: str, env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([str(BIN / "prefect"), *args], env=env, cwd=cwd, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"prefect {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("prefect-server-home")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=prefect_env(home), cwd=home, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(api_url, server)
        yield api_url, home
    finally:
        stop(server)
        log.close()


def test_deploy_all_from_a_clean_copy_and_run_the_pipeline_through_a_worker(prefect_server, tmp_path):
    from churnkb.sandbox.run import sandboxes

    api_url, home = prefect_server
    env = prefect_env(home, api_url)
    clone = copy_working_tree(tmp_path / "clone")
    data_dir = tmp_path / "data"

    prefect("work-pool", "create", POOL, "--type", "process", env=env, cwd=clone)
    deployed = prefect("--no-prompt", "deploy", "--all", env=env, cwd=clone)
    assert "churn-pipeline/churn-pipeline" in deployed.stdout

    with sandboxes(accounts=200, seed=7) as crms:  # enough churn for alerts and win-back lists
        worker_env = {**env, **crms.env, "CHURNKB_DATA_DIR": str(data_dir)}
        worker_log = (tmp_path / "worker.log").open("w")
        worker = subprocess.Popen([str(BIN / "prefect"), "worker", "start", "--pool", POOL],
                                  env=worker_env, cwd=clone, stdout=worker_log, stderr=subprocess.STDOUT)
        try:
            run = subprocess.run(
                [str(BIN / "prefect"), "deployment", "run", "churn-pipeline/churn-pipeline",
                 "--param", 'publishers=["all"]', "--watch", "--watch-timeout", "300"],
                env=env, cwd=clone, capture_output=True, text=True, timeout=330,
            )
        finally:
            stop(worker)
            worker_log.close()
    worker_output = (tmp_path / "worker.log").read_text()
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n--- worker ---\n{worker_output[-6000:]}"
    assert "Completed" in run.stdout

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from fct_churn_events").fetchone()[0] > 0
        assert con.execute("select count(*) from dim_accounts").fetchone()[0] > 0
    # the publishers ran from the worker: the re-engagement list always has people in this world
    # (this week's digests may have nothing to report, and an empty digest is not sent)
    lists = list((data_dir / "outputs" / "reengagement").glob("*.csv"))
    assert lists, "no re-engagement list was written"
    assert not (clone / "data").exists(), "the flow wrote into the clone instead of CHURNKB_DATA_DIR"
    # every deployment of prefect.yaml is registered with its schedule
    deployments = httpx.post(f"{api_url}/deployments/filter", json={}, timeout=10).json()
    scheduled = {d["name"]: [s["schedule"].get("cron") for s in d["schedules"]] for d in deployments}
    assert scheduled["build-warehouse-hourly"] == ["35 * * * *"]
    assert scheduled["publish-digests-weekly"] == ["0 7 * * 1"]


def test_serve_registers_every_flow_with_its_schedule(prefect_server, tmp_path):
    api_url, home = prefect_server
    env = prefect_env(home, api_url)
    serve = subprocess.Popen([sys.executable, "-m", "churnkb", "--data-dir", str(tmp_path / "data"), "serve"],
                             env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        served: dict[str, list] = {}
        deadline = time.monotonic() + 120
        while len(served) < 7 and time.monotonic() < deadline and serve.poll() is None:
            time.sleep(1)
            deployments = httpx.post(f"{api_url}/deployments/filter", json={}, timeout=10).json()
            served = {d["name"]: [s["schedule"].get("cron") for s in d["schedules"]]
                      for d in deployments if d["name"].endswith("-served")}
    finally:
        stop(serve)
    assert len(served) == 7, serve.stdout.read() if serve.stdout else ""
    assert served["build-warehouse-hourly-served"] == ["35 * * * *"]
    assert served["churn-pipeline-served"] == []
