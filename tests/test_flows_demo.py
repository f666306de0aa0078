"""The README's main command, as a newcomer runs it: `churnkb demo` in an empty directory."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_runs_the_pipeline_end_to_end_and_writes_only_under_the_data_dir(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    workdir = tmp_path / "work"
    workdir.mkdir()
    # a newcomer's shell: no Prefect settings at all, so the demo must choose its own
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_", "CHURNKB_", "DBT_", "SALESFORCE_", "HUBSPOT_"))}
    env["HOME"] = str(home)
    out = subprocess.run([sys.executable, "-m", "churnkb", "demo"], cwd=workdir,
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-6000:]

    for heading in ("Records synced", "Churn events in the warehouse:", "Top reasons", "Digests written:",
                    "Alerts:", "Re-engagement list:", "Open the warehouse", "Demo finished in"):
        assert heading in out.stdout
    data = workdir / "data"
    assert list((data / "outputs" / "digests").rglob("*.md"))
    assert list((data / "outputs" / "reengagement").glob("*.csv"))
    assert (data / ".prefect").is_dir(), "Prefect's home belongs under the data dir"
    assert sorted(p.name for p in workdir.iterdir()) == ["data"], "the demo wrote outside the data dir"
    assert not any(home.iterdir()), "the demo wrote into $HOME"
    assert "sandbox-hubspot-token" not in out.stdout + out.stderr
