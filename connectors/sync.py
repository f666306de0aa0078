"""``sync_source``: run the selected streams of one source into the raw zone and report.

Each stream runs as prepare (schema, state) -> extract (pages to batches to files, checkpointed
state) -> final checkpoint. A quota stop or a token that stops working (401) lands what was
fetched, keeps its position, marks the run partial (a 401 before anything landed fails it) and
skips the remaining streams; a stream the CRM refuses (missing scope, object not enabled) is
skipped with a warning naming what to grant or exclude, and the run ends partial, unless the
warehouse cannot do without it (connectors/refusal.py); any other stream failure lands what was
valid, marks that stream failed and moves on. Every run appends its summary to
``state/runs.jsonl``. One sync per source runs at a time (churnkb/sync_lock.py): a second one
waits up to ``sources.<source>.lock_timeout_s``, then fails naming the sync that holds the lock.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from churnkb.connectors.clients import connection_failure, unreachable_message
from churnkb.connectors.drift import DriftLog
from churnkb.connectors.landing import (
    AuthFailed,
    QuotaReached,
    RunContext,
    SourceError,
    StreamLanding,
)
from churnkb.connectors.raw_zone import utc_now
from churnkb.connectors.refusal import StreamRefused, is_required, refusal_message
from churnkb.connectors.report import (
    FAILED,
    PARTIAL,
    SKIPPED,
    SUCCESS,
    StreamProgress,
    StreamReport,
    SyncReport,
    overall_status,
    record_run,
)
from churnkb.connectors.state import StateStore

from churnkb.config import Config, ConfigError
from churnkb.paths import DataPaths
from churnkb.sync_lock import SyncBusy, sync_lock, sync_lock_timeout

log = logging.getLogger(__name__)

SOURCES = ("salesforce", "hubspot")
DEFAULT_MAX_FIELD_CHARS = 65536


class StreamRunner(Protocol):
    stream: str

    def prepare(self, ctx: RunContext) -> StreamLanding: ...
    def extract(self, ctx: RunContext, landing: StreamLanding) -> None: ...
    def checkpoint(self, ctx: RunContext, landing: StreamLanding) -> None: ...


class SourceSession(Protocol):
    """A connected source: its stream runners, a request counter, and safe error text."""

    requests: int

    def runners(self, streams: list[str]) -> list[StreamRunner]: ...
    def extra_reports(self) -> list[StreamReport]: ...
    def error_text(self, exc: BaseException) -> str: ...
    def configuration_problems(self) -> list[Any]: ...


def new_sync_id() -> str:
    return uuid.uuid4().hex[:12]


def run_start_now() -> datetime:
    """Whole seconds, so the SOQL/search upper bound equals the stored bookmark exactly."""
    return utc_now().replace(microsecond=0)


def open_source(source: str, settings: dict[str, Any]) -> SourceSession:
    if source == "salesforce":
        from churnkb.connectors.salesforce import SalesforceSource

        return SalesforceSource(settings)
    if source == "hubspot":
        from churnkb.connectors.hubspot import HubSpotSource

        return HubSpotSource(settings)
    raise ConfigError(f"unknown source '{source}'; choose one of {', '.join(SOURCES)}")


def sync_source(
    source: str,
    config: Config,
    *,
    streams: list[str] | None = None,
    full_refresh: bool = False,
    progress: Callable[[StreamProgress], None] | None = None,
) -> SyncReport:
    """Sync ``source`` ("salesforce" | "hubspot") into the raw zone; credentials from the env."""
    if source not in SOURCES:
        raise ConfigError(f"unknown source '{source}'; choose one of {', '.join(SOURCES)}")
    settings = (config.section("sources").get(source) or {})
    started_at = utc_now()
    data_paths = DataPaths(config.data_dir).ensure()
    try:
        with sync_lock(data_paths, source, sync_lock_timeout(settings)):
            return _sync_unlocked(source, settings, data_paths, started_at, streams=streams,
                                  full_refresh=full_refresh, progress=progress)
    except SyncBusy as exc:  # another sync of this source ran all along: it lands the records
        return _finish(data_paths, SyncReport(
            source, new_sync_id(), FAILED, started_at, utc_now(), [],
            f"another {source} sync is running: {exc}; nothing synced, run again when it ends"))


def _sync_unlocked(source: str, settings: dict[str, Any], data_paths: DataPaths,
                   started_at: datetime, *, streams: list[str] | None, full_refresh: bool,
                   progress: Callable[[StreamProgress], None] | None) -> SyncReport:
    """The sync itself; the caller holds the source's sync lock."""
    sync_id = new_sync_id()
    try:
        session = open_source(source, settings)
        runners = session.runners(streams or [])
        problems = session.configuration_problems()
        if problems:
            return _finish(data_paths, SyncReport(
                source, sync_id, FAILED, started_at, utc_now(), [],
                f"fix sources.{source} in the config: " + "; ".join(map(str, problems)),
                configuration_error=True))
    except Exception as exc:  # noqa: BLE001 - the source cannot start; say why in one line
        reason = connection_failure(exc)
        if reason is None and not isinstance(exc, (SourceError, KeyError, ConfigError)):
            raise
        message = unreachable_message(source, reason) if reason else _plain(exc)
        return _finish(data_paths, SyncReport(source, sync_id, FAILED, started_at, utc_now(),
                                              [], message))
    ctx = RunContext(
        source=source, sync_id=sync_id, data_paths=data_paths,
        state_store=StateStore(data_paths, source), drift_log=DriftLog(data_paths, source),
        batch_records=int(settings.get("batch_records", 5000)),
        max_field_chars=int(settings.get("max_field_chars", DEFAULT_MAX_FIELD_CHARS)),
        full_refresh=full_refresh, run_start=run_start_now(), progress=progress,
    )
    reports, message, fatal = _run_streams(session, unfinished_first(runners, ctx), ctx)
    reports += session.extra_reports()
    status = FAILED if fatal else overall_status(reports)
    if status == PARTIAL and not message:
        message = "; ".join(r.message for r in reports if r.status == SKIPPED)
    if status == FAILED and not message:
        reasons = list(dict.fromkeys(r.message for r in reports if r.message))
        message = "every stream failed: " + ("; ".join(reasons[:3]) or "no reason reported")
    report = SyncReport(source, sync_id, status, started_at, utc_now(), reports, message)
    return _finish(data_paths, report)


def unfinished_first(runners: list[StreamRunner], ctx: RunContext) -> list[StreamRunner]:
    """Streams a quota stop (or a failure) left behind go first, so a small daily allocation
    still moves every stream forward across runs instead of re-spending it on the first ones.
    Streams the CRM refused last time go last: a permanent refusal never runs ahead of the rest."""
    def priority(runner: StreamRunner) -> tuple[bool, bool, str]:
        state = ctx.state_store.load(runner.stream)
        return (state.last_status == SKIPPED, state.last_status == SUCCESS,
                state.last_run_at or "")
    return sorted(runners, key=priority)


def _run_streams(session: SourceSession, runners: list[StreamRunner], ctx: RunContext
                 ) -> tuple[list[StreamReport], str, bool]:
    """Reports, the reason the run stopped early (if it did), and whether that is fatal."""
    reports: list[StreamReport] = []
    for index, runner in enumerate(runners):
        report, stop = _run_stream(session, runner, ctx)
        reports.append(report)
        if stop:
            # A quota stop is partial (resume tomorrow), and so is a 401 once a stream finished
            # or landed something (its position is durable: the next run with a valid token
            # resumes there); any other credentials or permissions error fails the run.
            progress = any(r.landed or r.status == SUCCESS
                           for r in [*reports[:-1], *session.extra_reports()]) or report.landed
            if report.auth_stop and not progress:  # rejected from the start: nothing to resume
                report.status = FAILED
            fatal = report.status == FAILED
            skipped = [r.stream for r in runners[index + 1:]]
            reports += [StreamReport(stream=name, status=FAILED if fatal else PARTIAL,
                                     message="not started") for name in skipped]
            return reports, stop, fatal
    return reports, "", False


def _run_stream(session: SourceSession, runner: StreamRunner, ctx: RunContext
                ) -> tuple[StreamReport, str]:
    """Run one stream; returns its report and, when the whole run must stop, why."""
    before, started = session.requests, time.monotonic()
    landing: StreamLanding | None = None
    try:
        landing = runner.prepare(ctx)
        runner.extract(ctx, landing)
        runner.checkpoint(ctx, landing)
        report = landing.finish(SUCCESS)
        stop = ""
    except StreamRefused as exc:
        report, stop = _refused(runner, ctx, landing, exc)
    except QuotaReached as exc:
        stop = f"stopped early: {exc}; state kept, the next run resumes"
        report = _close_after_error(runner, ctx, landing, PARTIAL, stop)
    except AuthFailed as exc:  # the token stopped working: keep what landed, resume next run
        stop = f"{exc}; landed data and its position kept, the next run resumes there"
        report = _close_after_error(runner, ctx, landing, PARTIAL, stop)
        report.auth_stop = True
    except SourceError as exc:  # credentials or permissions: every other stream would fail too
        stop = str(exc)
        report = _close_after_error(runner, ctx, landing, FAILED, stop)
    except Exception as exc:  # noqa: BLE001 - one stream's failure must not lose the others
        log.debug("stream %s failed", runner.stream, exc_info=True)  # --debug shows the traceback
        unreachable = connection_failure(exc)
        # an unreachable server fails every stream the same way: stop the source at once
        stop = unreachable_message(ctx.source, unreachable) if unreachable else ""
        report = _close_after_error(runner, ctx, landing, FAILED, stop or session.error_text(exc))
    report.requests = session.requests - before
    report.duration_s = report.duration_s or round(time.monotonic() - started, 3)
    return report, stop


def _refused(runner: StreamRunner, ctx: RunContext, landing: StreamLanding | None,
             exc: StreamRefused) -> tuple[StreamReport, str]:
    """Skip a refused stream with a warning; a required one stops the source as failed."""
    message = refusal_message(ctx.source, runner.stream, exc)
    log.warning("%s: %s", ctx.source, message)
    required = is_required(ctx.source, runner.stream)
    status = FAILED if required else SKIPPED
    if landing is None:  # refused before anything was read: still remember it for the order
        state = ctx.state_store.load(runner.stream)
        state.last_status, state.last_run_at = status, utc_now().isoformat()
        state.last_sync_id = ctx.sync_id
        ctx.state_store.save(runner.stream, state)
    return _close_after_error(runner, ctx, landing, status, message), message if required else ""


def _close_after_error(runner: StreamRunner, ctx: RunContext, landing: StreamLanding | None,
                       status: str, message: str) -> StreamReport:
    """Land the valid records already fetched (they are ordered, so the checkpoint is safe; it
    makes no API call)."""
    if landing is None:
        return StreamReport(stream=runner.stream, status=status, message=message)
    try:
        runner.checkpoint(ctx, landing)
    except Exception as exc:  # noqa: BLE001 - report the first error, not the follow-up
        message = f"{message}; landing the last batch also failed: {exc}"
        status = FAILED
    return landing.finish(status, message)


def _finish(data_paths: DataPaths, report: SyncReport) -> SyncReport:
    record_run(data_paths, report)
    return report


def _plain(exc: BaseException) -> str:
    """KeyError wraps its message in quotes; show the sentence itself."""
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


__all__ = ["FAILED", "PARTIAL", "SUCCESS", "StreamProgress", "StreamReport", "SyncReport",
           "sync_source"]
