"""One stream of one run: check records, buffer them, land full batches, then commit state.

Both sources push records into a ``StreamLanding``; it quarantines the bad ones, writes a Parquet
file every ``batch_records`` good ones (memory stays bounded by the batch, not the stream), and
only after a file is durable lets the source advance the cursor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from churnkb.connectors.columnar import (
    FastPathUnavailable,
    check_page,
    page_table,
    parse_timestamps,
    text_table,
    value_kind,
)
from churnkb.connectors.drift import DriftLog, ValueObserver, schema_changes
from churnkb.connectors.raw_zone import RawZoneWriter, records_to_table, utc_now
from churnkb.connectors.records import (
    Quarantine,
    TextRepairs,
    check_record,
    parse_timestamp,
    repair_text,
)
from churnkb.connectors.report import StreamProgress, StreamReport
from churnkb.connectors.state import StateStore

from churnkb.paths import DataPaths


class QuotaReached(Exception):
    """The daily API allocation reached its configured share: stop cleanly, keep state."""


class SourceError(Exception):
    """A failure the user must fix (credentials, permissions); the message says what to do."""


class AuthFailed(SourceError):
    """The token stopped working (401) and cannot be renewed. What landed is kept and its position
    is durable, so a run that landed something ends *partial* and the next run resumes there."""


@dataclass(frozen=True)
class RunContext:
    """What every stream of one sync run shares."""

    source: str
    sync_id: str
    data_paths: DataPaths
    state_store: StateStore
    drift_log: DriftLog
    batch_records: int
    max_field_chars: int
    full_refresh: bool
    run_start: Any  # datetime: the upper bound of every window in this run
    progress: Callable[[StreamProgress], None] | None = None


@dataclass(frozen=True)
class RecordShape:
    """How to read one stream's records: identity, cursor, date fields, deletions, columns."""

    id_field: str
    cursor_field: str | None
    date_fields: tuple[str, ...]
    is_deleted: Callable[[dict[str, Any]], bool]
    columns: list[str] | None = None  # fixed column order (all-null columns still land)
    lookback: timedelta = timedelta(0)  # how far back the next run re-reads


class StreamLanding:
    def __init__(self, ctx: RunContext, stream: str, shape: RecordShape,
                 on_batch: Callable[[list[dict[str, Any]]], None] | None = None) -> None:
        self.ctx = ctx
        self.stream = stream
        self.shape = shape
        self.on_batch = on_batch
        self.writer = RawZoneWriter(ctx.data_paths, ctx.source, stream, ctx.sync_id)
        self.quarantine = Quarantine(ctx.data_paths.quarantine(ctx.source, stream), ctx.sync_id)
        self.observer = ValueObserver()
        self.report = StreamReport(stream=stream)
        self.repairs = TextRepairs()
        self.buffer: list[dict[str, Any]] = []
        # Text tables of buffer[:converted] (pages landed column-wise); the rest is converted
        # record by record at flush.
        self.chunks: list[pa.Table] = []
        self.converted = 0
        self.flushed_newest: datetime | None = None  # newest cursor of the last flushed batch
        self.started = time.monotonic()
        self.state = ctx.state_store.load(stream)
        # Versions landed in the lookback tail (last run's, then this run's as batches land): the
        # overlap is re-read, not re-landed, also when one run makes two passes (a resume).
        self.known_tail: dict[str, str] = {} if ctx.full_refresh else dict(
            self.state.extra.get("tail") or {})
        self.tail: dict[str, str] = dict(self.known_tail)

    # -- records ---------------------------------------------------------------------------
    def add(self, record: dict[str, Any], *, counted: bool = False) -> bool:
        """Queue one record for landing; False when it was quarantined, or is a version
        already landed by the last run (the lookback overlap). ``counted``: already counted as
        fetched (a page that fell back to per-record checks)."""
        if not counted:
            self.report.fetched += 1
        shape = self.shape
        record_id = str(record.get(shape.id_field) or "")
        if record_id and self.tail.get(record_id) == self.version(record):
            return False  # landed already, unchanged: part of the lookback overlap
        record = repair_text(record, self.ctx.max_field_chars, self.repairs)
        self.report.surrogates_replaced = self.repairs.surrogates_replaced
        self.report.truncated = self.repairs.truncated
        # A deletion must always land: only its key (and cursor) are checked, never its dates.
        reason = check_record(record, id_field=shape.id_field, cursor_field=shape.cursor_field,
                              date_fields=() if shape.is_deleted(record) else shape.date_fields,
                              max_field_chars=self.ctx.max_field_chars)
        if reason:
            self.quarantine.add(record, reason, record_id=_text_or_none(record.get(shape.id_field)))
            self.report.quarantined = self.quarantine.count
            return False
        self.observer.observe(record)
        self.buffer.append(record)
        return True

    def add_page(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Queue a page of records; returns those queued (not quarantined, not already landed).

        Checks run column-wise over the whole page; a page the fast path cannot vouch for goes
        through ``add`` record by record, so quarantine reasons are the same either way."""
        fresh = self._skip_known(records)
        if not fresh:
            return []
        try:
            table = page_table(fresh)
            check_page(table, id_field=self.shape.id_field, cursor_field=self.shape.cursor_field,
                       date_fields=self.shape.date_fields,
                       max_field_chars=self.ctx.max_field_chars)
            text = text_table(table, fresh, self.shape.columns)
        except (FastPathUnavailable, pa.ArrowException):  # any doubt: decide record by record
            return [record for record in fresh if self.add(record, counted=True)]
        self.observer.observe_columns(
            {name: value_kind(table[name].type) for name in table.column_names},
            {name: len(table[name]) - table[name].null_count for name in table.column_names},
            table.num_rows)
        self._convert_loose_records()
        self.buffer.extend(fresh)
        self.chunks.append(text)
        self.converted = len(self.buffer)
        return fresh

    def _skip_known(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Count the page as fetched and drop the lookback overlap landed last time."""
        self.report.fetched += len(records)
        if not self.tail:
            return records
        id_field = self.shape.id_field
        return [r for r in records
                if not (r.get(id_field) and
                        self.tail.get(str(r.get(id_field))) == self.version(r))]

    def _convert_loose_records(self) -> None:
        """Turn records queued one by one into a text chunk, keeping the buffer's order."""
        if self.converted < len(self.buffer):
            self.chunks.append(records_to_table(self.buffer[self.converted:], self.shape.columns))
            self.converted = len(self.buffer)

    def batch_table(self) -> pa.Table:
        """The buffered records as one all-VARCHAR table, in the order they were added."""
        self._convert_loose_records()
        chunks, self.chunks, self.converted = self.chunks, [], 0
        if len(chunks) == 1:
            return chunks[0]
        return pa.concat_tables(chunks, promote_options="default")

    def version(self, record: dict[str, Any]) -> str:
        cursor = record.get(self.shape.cursor_field) if self.shape.cursor_field else None
        return f"{cursor}|{'deleted' if self.shape.is_deleted(record) else 'live'}"

    def remember_tail(self, batch: list[dict[str, Any]], table: pa.Table | None = None) -> None:
        """Keep the versions of the newest records (within the lookback of the newest cursor)."""
        cursor = self.shape.cursor_field
        self.flushed_newest = None
        if not cursor or not batch:
            return
        stamps = self._batch_stamps(batch, table)
        if stamps is None:
            self._remember_tail_per_record(batch)
            return
        newest = pc.max(stamps).as_py()
        old = {key: parse_timestamp(version.split("|")[0]) for key, version in self.tail.items()
               if not version.startswith("None|")}
        self.flushed_newest = newest
        if newest is None:
            self._remember_tail_per_record(batch)
            return
        horizon = max([newest, *old.values()]) - self.shape.lookback
        tail = {key: self.tail[key] for key, at in old.items() if at >= horizon}
        if tail:  # a record landed again in this batch replaces its remembered version
            batch_ids = {str(r[self.shape.id_field]) for r in batch}
            tail = {key: version for key, version in tail.items() if key not in batch_ids}
        recent = pc.indices_nonzero(pc.fill_null(pc.greater_equal(stamps, horizon), False))
        for index in recent.to_pylist():
            record = batch[index]
            tail[str(record[self.shape.id_field])] = self.version(record)
        self.tail = tail
        self.state.extra["tail"] = self.tail

    def _batch_stamps(self, batch: list[dict[str, Any]], table: pa.Table | None):
        """The batch's cursor values as one timestamp column, or None if they need Python."""
        cursor = self.shape.cursor_field
        column = (table[cursor] if table is not None and cursor in table.column_names
                  else pa.array([r.get(cursor) for r in batch]))
        try:
            return parse_timestamps(column)
        except (FastPathUnavailable, pa.ArrowException):
            return None

    def _remember_tail_per_record(self, batch: list[dict[str, Any]]) -> None:
        for record in batch:
            self.tail[str(record[self.shape.id_field])] = self.version(record)
        stamps = {key: parse_timestamp(version.split("|")[0]) for key, version in self.tail.items()
                  if not version.startswith("None|")}
        if stamps:
            newest = max(stamps.values())
            horizon = newest - self.shape.lookback
            self.tail = {key: self.tail[key] for key, at in stamps.items() if at >= horizon}
            batch_stamps = [stamps[str(r[self.shape.id_field])] for r in batch
                            if str(r[self.shape.id_field]) in stamps]
            self.flushed_newest = max(batch_stamps, default=None)
        self.state.extra["tail"] = self.tail

    @property
    def batch_full(self) -> bool:
        return len(self.buffer) >= self.ctx.batch_records

    def flush(self, advance: Callable[[list[dict[str, Any]]], None] | None = None
              ) -> list[dict[str, Any]]:
        """Land the buffered records as one file and return them.

        Right after the file is durable, ``advance(batch)`` moves the stream's position (cursor,
        id floor, work still owed) in the state and the state is committed, before anything
        else runs: a later call that raises (a quota stop, a 401) can then never make the next
        run land this batch again. Only then does the batch hook run."""
        table = self.batch_table() if self.buffer else None
        batch, self.buffer = self.buffer, []
        if batch and table is not None:
            self.writer.write_table(table)
            self.report.landed += len(batch)
            self.report.deleted += sum(1 for r in batch if self.shape.is_deleted(r))
            self.remember_tail(batch, table)
            if advance:
                advance(batch)
            self.commit()
            if self.on_batch:
                self.on_batch(batch)
        self.emit_progress()
        return batch

    def commit(self) -> None:
        """Persist ``self.state``; call only after ``flush`` so the data is already durable."""
        self.ctx.state_store.save(self.stream, self.state)

    # -- schema and drift ------------------------------------------------------------------
    def record_schema(self, schema: dict[str, str]) -> None:
        """Compare the source's field list with last run's and log the differences."""
        changes = schema_changes(self.state.schema, schema)
        if changes:
            self.ctx.drift_log.record(self.stream, self.ctx.sync_id, changes)
        self.state.schema = schema

    def finish(self, status: str, message: str = "") -> StreamReport:
        """Log value-level drift, stamp the state with this run, and close the report."""
        fields = list(self.state.schema) or list(self.observer.kinds)
        changes = self.observer.changes(self.state.value_kinds, self.state.fields_with_values,
                                        fields)
        if changes:
            self.ctx.drift_log.record(self.stream, self.ctx.sync_id, changes)
        if self.observer.records:
            self.state.value_kinds = {**self.state.value_kinds, **self.observer.kinds}
            self.state.fields_with_values = self.observer.mostly_filled()
        self.state.last_sync_id = self.ctx.sync_id
        self.state.last_run_at = utc_now().isoformat()
        self.state.last_status = status
        self.commit()
        self.report.status = status
        notes = [message] if message else []
        if self.repairs.surrogates_replaced:
            notes.append(f"{self.repairs.surrogates_replaced} text values had undecodable "
                         "characters, replaced by U+FFFD")
        if self.repairs.truncated:
            notes.append(f"{self.repairs.truncated} text values over "
                         f"{self.ctx.max_field_chars} characters truncated (marked)")
        if self.quarantine.count:
            notes.append(f"quarantined {self.quarantine.summary()} -> {self.quarantine.path}")
        self.report.message = "; ".join(notes)
        self.report.duration_s = time.monotonic() - self.started
        self.emit_progress(done=True)
        return self.report

    def emit_progress(self, done: bool = False) -> None:
        if self.ctx.progress:
            self.ctx.progress(StreamProgress(
                source=self.ctx.source, stream=self.stream, fetched=self.report.fetched,
                landed=self.report.landed, quarantined=self.report.quarantined,
                elapsed_s=time.monotonic() - self.started, done=done))


def _text_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)

