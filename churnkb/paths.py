"""Every path under the data directory, in one place (see docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataPaths:
    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    def raw_stream(self, source: str, stream: str) -> Path:
        return self.raw / source / stream

    @property
    def state(self) -> Path:
        return self.root / "state"

    def stream_state(self, source: str, stream: str) -> Path:
        return self.state / source / f"{stream}.json"

    def drift_log(self, source: str) -> Path:
        return self.state / source / "drift.jsonl"

    @property
    def runs_log(self) -> Path:
        return self.state / "runs.jsonl"

    def quarantine(self, source: str, stream: str) -> Path:
        return self.root / "quarantine" / source / stream

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def warehouse_lock(self) -> Path:
        """Shared while a process has warehouse.duckdb open read-only, exclusive to open it read-write."""
        return self.root / "warehouse.lock"

    @property
    def warehouse_next(self) -> Path:
        """Where a build writes the next warehouse before swapping it in. A folder, so the file keeps
        the name warehouse.duckdb: DuckDB and dbt-duckdb both name the catalog after the file, and
        the views dbt writes name that catalog ("warehouse"."main"."stg_..."), so they stay valid
        after the rename."""
        return self.root / "warehouse.next" / "warehouse.duckdb"

    @property
    def warehouse_build_lock(self) -> Path:
        """Exclusive for a whole build: one build at a time writes warehouse.next/."""
        return self.root / "warehouse.build.lock"

    @property
    def dbt_target(self) -> Path:
        return self.root / "dbt" / "target"

    @property
    def dbt_logs(self) -> Path:
        return self.root / "dbt" / "logs"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    def digests(self, period: str) -> Path:
        return self.outputs / "digests" / period

    @property
    def alerts(self) -> Path:
        return self.outputs / "alerts"

    @property
    def reengagement(self) -> Path:
        return self.outputs / "reengagement"

    @property
    def failures(self) -> Path:
        return self.outputs / "failures"

    @property
    def ledger(self) -> Path:
        return self.outputs / "ledger.jsonl"

    def ensure(self) -> DataPaths:
        for path in (self.raw, self.state, self.outputs):
            path.mkdir(parents=True, exist_ok=True)
        return self
