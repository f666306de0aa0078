"""The append-only raw zone: one Parquet file per batch, written atomically, every field as text.

Contract (docs/architecture.md): every source field is landed as VARCHAR (the JSON scalar as
text), plus ``_loaded_at``, ``_sync_id`` and ``_batch_seq``. A file appears under its final name
only once it is complete and fsynced, so a reader (dbt) or a crash never sees half a batch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from churnkb.paths import DataPaths

METADATA_COLUMNS = ("_loaded_at", "_sync_id", "_batch_seq")


def utc_now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """Sortable, filename-safe UTC stamp."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def as_text(value: Any) -> str | None:
    """A JSON value as the text the raw zone stores: booleans lower-case, objects as JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def fsync_directory(path: Path) -> None:
    """Make a rename durable: the directory entry must reach the disk too."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write to a temp name, fsync, rename over ``path``, fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_directory(path.parent)


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, json.dumps(value, indent=2, sort_keys=True, default=str).encode())


def append_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Append lines and fsync (logs: drift, runs). A torn last line is skipped by readers."""
    lines = "".join(json.dumps(row, sort_keys=True, default=str) + "\n" for row in rows)
    if not lines:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(lines)
        handle.flush()
        os.fsync(handle.fileno())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line torn by a crash mid-append
    return rows


def records_to_table(records: list[dict[str, Any]], columns: list[str] | None = None) -> pa.Table:
    """Records (flat dicts) as an all-VARCHAR Arrow table, columns in first-seen order."""
    if columns is None:
        columns = list(dict.fromkeys(key for record in records for key in record))
    arrays = [pa.array([as_text(r.get(name)) for r in records], type=pa.string()) for name in columns]
    return pa.Table.from_arrays(arrays, names=columns)


class RawZoneWriter:
    """Lands batches of one stream of one sync run: ``write_batch(records) -> Path``.

    Reusable outside the connectors (benchmarks): give it the data paths, the source and stream
    names and a sync id; each call writes one complete Parquet file and returns its path.
    """

    def __init__(self, data_paths: DataPaths, source: str, stream: str, sync_id: str) -> None:
        self.directory = data_paths.raw_stream(source, stream)
        self.source = source
        self.stream = stream
        self.sync_id = sync_id
        self.batch_seq = self._next_seq()
        self.files: list[Path] = []
        self.rows_written = 0

    def _next_seq(self) -> int:
        # A resumed stream keeps counting so file names never collide within one sync id.
        prefix = f"-{self.sync_id}-"
        seqs = [int(p.stem.rsplit("-", 1)[1]) for p in self.directory.glob(f"*{prefix}*.parquet")]
        return max(seqs, default=-1) + 1

    def write_batch(self, records: list[dict[str, Any]], columns: list[str] | None = None) -> Path:
        """Write ``records`` (flat dicts of JSON values) as one durable Parquet file."""
        return self.write_table(records_to_table(records, columns))

    def write_table(self, table: pa.Table) -> Path:
        """Write an all-VARCHAR table of source fields (plus the metadata) as one durable file."""
        loaded_at = utc_now()
        n = table.num_rows
        table = table.append_column(
            "_loaded_at", pa.array([loaded_at] * n, type=pa.timestamp("us", tz="UTC"))
        )
        table = table.append_column("_sync_id", pa.array([self.sync_id] * n, type=pa.string()))
        table = table.append_column("_batch_seq", pa.array([self.batch_seq] * n, type=pa.int32()))
        path = self.directory / f"{stamp(loaded_at)}-{self.sync_id}-{self.batch_seq:05d}.parquet"
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        atomic_write_bytes(path, sink.getvalue().to_pybytes())
        self.files.append(path)
        self.batch_seq += 1
        self.rows_written += n
        return path


def raw_files(data_paths: DataPaths, source: str, stream: str) -> list[Path]:
    directory = data_paths.raw_stream(source, stream)
    return sorted(directory.glob("*.parquet")) if directory.exists() else []


def read_stream(data_paths: DataPaths, source: str, stream: str) -> pa.Table | None:
    """Every landed row of a stream (schemas unioned by name), or None when nothing landed."""
    files = raw_files(data_paths, source, stream)
    if not files:
        return None
    tables = [pq.read_table(path) for path in files]
    return pa.concat_tables(tables, promote_options="default")


def count_rows(data_paths: DataPaths, source: str, stream: str) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in raw_files(data_paths, source, stream))
