"""Build time as history grows and with 1% change: ``churnkb.warehouse.build`` at scale.

Each build runs in its own process (``python -m bench.build_time DATA_DIR``, one JSON line out),
so dbt's import and memory are measured per build and nothing is shared between sizes.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from churnkb.bench import scale
from churnkb.bench.report import Row

BASE_ACCOUNTS = 600  # ~10k churn-side records per copy
FULL_BUILD_TARGET_S = 90
CHANGE_SHARE_TARGET = 0.15
TARGET_RECORDS = 1_000_000  # the targets hold at 1M; smaller sizes show how cost grows


def build_once(data_dir: Path) -> dict:
    """Run ``dbt build`` on ``data_dir`` in a fresh process; its report as a dict."""
    done = subprocess.run([sys.executable, "-m", "churnkb.bench.build_time", str(data_dir)],
                          capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"build at {data_dir} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])


def prepare(workdir: Path, copies: int) -> tuple[Path, int]:
    """A data dir holding ``copies`` copies of the base world; returns it and its record count."""
    base = workdir / "base"
    if not (base / "raw").exists():
        scale.land_base_world(base, BASE_ACCOUNTS)
    data_dir = workdir / f"x{copies}"
    shutil.rmtree(data_dir, ignore_errors=True)
    scale.replicate(base / "raw", data_dir / "raw", copies)
    return data_dir, scale.churn_side_records(data_dir / "raw")


def measure(workdir: Path, copies: int) -> dict:
    data_dir, records = prepare(workdir, copies)
    full = build_once(data_dir)
    changed = scale.land_change(data_dir / "raw")
    after_change = build_once(data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)
    return {"copies": copies, "records": records, "changed": changed, "full": full,
            "after_change": after_change}


def rows_for(results: list[dict]) -> list[Row]:
    rows = []
    for result in results:
        full, after = result["full"], result["after_change"]
        at_target_size = result["records"] >= TARGET_RECORDS * 0.9
        label = f"{result['records'] / 1000:,.0f}k churn-side records"
        failed = sorted(set(full["failures"] + after["failures"]))[:5]
        status = "" if not failed else f"; failing nodes: {', '.join(failed)}"
        rows.append(Row(
            section="3 build", measure=f"full build, {label}",
            figure=f"{full['seconds']:.1f} s (peak {full['peak_mb']:,.0f} MB)",
            target=f"<= {FULL_BUILD_TARGET_S} s at 1M" if at_target_size else "",
            met=(full["seconds"] <= FULL_BUILD_TARGET_S) if at_target_size else None,
            note=f"{full['nodes']} nodes{status}"))
        share = after["seconds"] / full["seconds"]
        rows.append(Row(
            section="3 build", measure=f"build after 1% changed, {label}",
            figure=f"{after['seconds']:.1f} s = {share:.0%} of full",
            target=f"<= {CHANGE_SHARE_TARGET:.0%} of full at 1M" if at_target_size else "",
            met=(share <= CHANGE_SHARE_TARGET) if at_target_size else None,
            note=f"{result['changed']:,} records re-versioned in one new raw batch"))
    return rows


def run(workdir: Path, copies: list[int]) -> list[Row]:
    return rows_for([measure(workdir, k) for k in copies])


def main(data_dir: str) -> None:
    from churnkb.config import load_config
    from churnkb.warehouse import build

    config = load_config(None, Path(data_dir))
    import dbt.cli.main  # noqa: F401  - import cost is not build cost

    started = time.perf_counter()
    report = build(config)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": round(seconds, 2), "success": report.success,
                      "failures": report.failures, "error": report.error,
                      "nodes": len(report.results), "peak_mb": round(peak_mb)}))


if __name__ == "__main__":
    main(sys.argv[1])
