"""Regenerate the README material from a built warehouse: a real rendered HTML digest as a PNG
(headless Chromium) and a sample re-engagement list.

    python -m churnkb.publishers.samples --data-dir data --period 2026-08 --now 2026-11-01

Works on a temporary copy of the warehouse, so the data directory's ledger is never touched.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from churnkb.publishers.digests import publish_digests
from churnkb.publishers.reengagement import publish_reengagement

from churnkb.config import Config, deep_merge, load_config
from churnkb.paths import DataPaths

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]


def _copy_config(config: Config, data_dir: Path, period_kind: str) -> Config:
    raw = deep_merge(config.raw, {"publishing": {"period": period_kind, "departments": {
        name: {"channels": ["file"]} for name in config.section("publishing")["departments"]}}})
    return Config(data_dir=data_dir, raw=raw, path=config.path)


def screenshot(html: Path, png: Path, width: int = 720, height: int = 1700) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        raise SystemExit("headless Chromium is needed: apt-get install -y chromium")
    subprocess.run([browser, *CHROMIUM_ARGS, f"--window-size={width},{height}",
                    f"--screenshot={png}", html.resolve().as_uri()],
                   check=True, capture_output=True, timeout=120)


def sample_rows(csv_path: Path, per_trigger: int) -> tuple[list[str], list[dict[str, str]]]:
    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    picked: list[dict[str, str]] = []
    for trigger in dict.fromkeys(row["trigger"] for row in rows):
        picked += [row for row in rows if row["trigger"] == trigger][:per_trigger]
    return list(reader.fieldnames or []), picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="data directory with warehouse.duckdb")
    parser.add_argument("--config")
    parser.add_argument("--period", required=True, help="a month (2026-08) or a date in a week")
    parser.add_argument("--department", default="product")
    parser.add_argument("--now", default=None, help="the run date (default: today)")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    source = load_config(args.config, args.data_dir)
    now = datetime.combine(date.fromisoformat(args.now), datetime.min.time(), UTC) if args.now \
        else datetime.now(UTC)
    monthly = len(args.period) == 7
    period_end = date.fromisoformat(f"{args.period}-15") if monthly else date.fromisoformat(args.period)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="churnkb-samples-") as temp:
        paths = DataPaths(Path(temp))
        shutil.copy(DataPaths(source.data_dir).warehouse, paths.warehouse)
        config = _copy_config(source, paths.root, "monthly" if monthly else "weekly")
        report = publish_digests(config, period_end=period_end, now=now)
        html = Path(next(i["target"] for i in report.items if i["department"] == args.department
                         and i["status"] == "sent"))
        screenshot(html, out / "digest-sample.png")
        listed = publish_reengagement(config, now=now)
        csv_path = Path(next(i["target"] for i in listed.items if i["status"] == "sent"))
        fields, rows = sample_rows(csv_path, per_trigger=4)
        with (out / "reengagement-sample.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\r\n")
            writer.writeheader()
            writer.writerows(rows)
    print(f"wrote {out / 'digest-sample.png'} and {out / 'reengagement-sample.csv'}")


if __name__ == "__main__":
    main()
