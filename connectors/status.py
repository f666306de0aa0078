"""``stream_status``: what ``churnkb status`` shows for every stream of both sources."""

from __future__ import annotations

from typing import Any

from churnkb.connectors.drift import DriftLog
from churnkb.connectors.raw_zone import count_rows
from churnkb.connectors.report import read_runs
from churnkb.connectors.state import StateStore

from churnkb.config import Config
from churnkb.paths import DataPaths


def known_streams(data_paths: DataPaths, source: str) -> list[str]:
    """Streams with state or landed files (association streams have files only)."""
    names: set[str] = set()
    state_dir = data_paths.state / source
    if state_dir.exists():
        names |= {p.stem for p in state_dir.glob("*.json")}
    raw_dir = data_paths.raw / source
    if raw_dir.exists():
        names |= {p.name for p in raw_dir.iterdir() if p.is_dir()}
    return sorted(names)


def last_run_per_stream(data_paths: DataPaths) -> dict[tuple[str, str], dict[str, Any]]:
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for run in read_runs(data_paths):
        for row in run.get("streams", []):
            latest[(run["source"], row["stream"])] = {**row, "finished_at": run.get("finished_at"),
                                                     "run_status": run.get("status")}
    return latest


def stream_status(config: Config) -> list[dict[str, Any]]:
    """One dict per stream: cursor, last run (time, status, counts), landed rows, drift entries."""
    data_paths = DataPaths(config.data_dir)
    last_runs = last_run_per_stream(data_paths)
    rows = []
    for source in ("salesforce", "hubspot"):
        store, drift = StateStore(data_paths, source), DriftLog(data_paths, source)
        for stream in known_streams(data_paths, source):
            state = store.load(stream)
            last = last_runs.get((source, stream), {})
            rows.append({
                "source": source,
                "stream": stream,
                "cursor": state.cursor,
                "resume_pending": bool(state.resume),
                "last_run_at": last.get("finished_at") or state.last_run_at,
                "last_status": last.get("status") or state.last_status,
                "last_fetched": last.get("fetched"),
                "last_landed": last.get("landed"),
                "last_quarantined": last.get("quarantined"),
                "last_message": last.get("message"),
                "raw_rows": count_rows(data_paths, source, stream),
                "drift": drift.entries(stream),
            })
    return rows
