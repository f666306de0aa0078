"""What a sync run reports: per stream and per run, for the CLI summary, flows and status."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from churnkb.connectors.raw_zone import append_jsonl, read_jsonl

from churnkb.paths import DataPaths

SUCCESS, PARTIAL, FAILED = "success", "partial", "failed"
SKIPPED = "skipped"  # refused by the CRM (missing scope, object not enabled): the run is partial


@dataclass(frozen=True)
class StreamProgress:
    """A live update while a stream runs (for progress displays)."""

    source: str
    stream: str
    fetched: int
    landed: int
    quarantined: int
    elapsed_s: float
    done: bool = False

    @property
    def records_per_s(self) -> float:
        return self.fetched / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass
class StreamReport:
    stream: str
    fetched: int = 0  # records received from the API (landed + quarantined)
    landed: int = 0  # rows written to the raw zone (objects and association rows)
    quarantined: int = 0
    surrogates_replaced: int = 0  # text values with undecodable characters, now U+FFFD
    truncated: int = 0  # text values over the size limit, cut with a marker
    deleted: int = 0  # landed records that are deletions (IsDeleted / archived)
    requests: int = 0
    duration_s: float = 0.0
    status: str = SUCCESS
    message: str = ""
    auth_stop: bool = field(default=False, repr=False)  # stopped by a 401 (not reported)

    @property
    def records_per_s(self) -> float:
        return self.fetched / self.duration_s if self.duration_s > 0 else 0.0


@dataclass
class SyncReport:
    source: str
    sync_id: str
    status: str
    started_at: datetime
    finished_at: datetime
    streams: list[StreamReport] = field(default_factory=list)
    message: str = ""
    configuration_error: bool = False  # a configured name is wrong: nothing was synced

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS

    def rows(self) -> list[dict[str, Any]]:
        """One flat dict per stream: for tables, Prefect artifacts and the runs log."""
        return [
            {"source": self.source, "sync_id": self.sync_id,
             **{k: v for k, v in asdict(stream).items() if k != "auth_stop"},
             "duration_s": round(stream.duration_s, 3)}
            for stream in self.streams
        ]

    def totals(self) -> dict[str, Any]:
        keys = ("fetched", "landed", "quarantined", "deleted", "requests")
        return {key: sum(getattr(s, key) for s in self.streams) for key in keys}

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "sync_id": self.sync_id, "status": self.status,
            "started_at": self.started_at.isoformat(), "finished_at": self.finished_at.isoformat(),
            "message": self.message, "streams": self.rows(),
        }


def overall_status(streams: list[StreamReport]) -> str:
    statuses = {s.status for s in streams}
    if not streams or statuses == {SUCCESS}:
        return SUCCESS
    if statuses <= {FAILED, SKIPPED}:
        return FAILED
    return PARTIAL


def record_run(data_paths: DataPaths, report: SyncReport) -> None:
    append_jsonl(data_paths.runs_log, [report.as_json()])


def read_runs(data_paths: DataPaths) -> list[dict[str, Any]]:
    return read_jsonl(data_paths.runs_log)
