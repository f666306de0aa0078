"""End-to-end demo wall time, cold: ``churnkb demo`` with a fresh data dir and PREFECT_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from churnkb.bench.report import Row

DEMO_TARGET_S = 60
TIMEOUT_S = 900


def demo_env(data_dir: Path, prefect_home: Path) -> dict[str, str]:
    """The caller's environment with fresh Prefect and data locations (nothing reused: cold)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_", "SALESFORCE_", "HUBSPOT_", "CHURNKB_"))}
    env.update(PREFECT_HOME=str(prefect_home), CHURNKB_DATA_DIR=str(data_dir))
    return env


def run_demo() -> tuple[float, int, str]:
    """Seconds, exit code and the tail of the output of one cold ``churnkb demo``."""
    with tempfile.TemporaryDirectory(prefix="churnkb-bench-demo-") as tmp:
        data_dir, prefect_home = Path(tmp) / "data", Path(tmp) / "prefect-home"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "churnkb", "--data-dir", str(data_dir), "demo"],
                              env=demo_env(data_dir, prefect_home), capture_output=True, text=True,
                              timeout=TIMEOUT_S, check=False, cwd=tmp)
        seconds = time.perf_counter() - started
    return seconds, done.returncode, (done.stdout + done.stderr)[-1500:]


def steps_line(output: str) -> str:
    return next((line.strip() for line in output.splitlines() if line.startswith("Steps:")), "")


def run() -> list[Row]:
    seconds, code, output = run_demo()
    if code != 0:
        return [Row("4 demo", "churnkb demo, cold", f"failed (exit {code}) after {seconds:.0f} s",
                    f"<= {DEMO_TARGET_S} s", False, output.strip().splitlines()[-1][:200])]
    return [Row("4 demo", "churnkb demo, cold (fresh data dir and PREFECT_HOME)",
                f"{seconds:.1f} s", f"<= {DEMO_TARGET_S} s", seconds <= DEMO_TARGET_S,
                steps_line(output))]
