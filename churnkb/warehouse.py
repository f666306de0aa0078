"""Build the DuckDB warehouse with dbt (in-process) and read it safely.

A build never writes ``warehouse.duckdb`` in place: it copies it to ``warehouse.next/`` (so
incremental models see their previous state), runs dbt there, and when the build is complete
swaps the new file in with one ``os.replace``. Readers therefore see the previous complete
warehouse or the new one, never a mix, and a killed build leaves the previous one untouched
(docs/architecture.md, "Warehouse access"). Builds take the exclusive build lock; readers take the
shared warehouse lock and open the file read-only, and no longer wait for a build. dbt's target and
log folders go under ``<data_dir>/dbt/`` so a build never writes inside the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from churnkb.config import Config, ConfigError
from churnkb.paths import DataPaths
from churnkb.warehouse_lock import DEFAULT_TIMEOUT_S, exclusive, lock_timeout, shared

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
FAILED_STATUSES = {"error", "fail", "runtime error"}
# Nodes that write a relation: one of them errored or skipped leaves that relation at its previous
# version beside new ones, so the build is not complete and is not swapped in.
WRITING_KINDS = {"model", "seed", "snapshot"}
# dbt's programmatic invocations are not safe to run concurrently in one process.
_DBT_IN_PROCESS = threading.Lock()


class WarehouseError(RuntimeError):
    """The warehouse is missing or a query failed; the message says what to do."""


@dataclass(frozen=True)
class NodeResult:
    name: str
    kind: str  # model | test | seed | unit_test | ...
    status: str  # success | pass | warn | fail | error | skipped
    seconds: float
    message: str | None = None
    path: str | None = None  # the node's file in the dbt project, e.g. models/marts/core/dim_accounts.sql


@dataclass
class BuildReport:
    success: bool
    failures: list[str]
    results: list[NodeResult] = field(default_factory=list)
    duration_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # dbt could not run at all (parse error, bad project, ...)
    interrupted: bool = False  # Ctrl-C: `results` holds the nodes that finished before it
    log_path: Path | None = None  # dbt's own log (the console shows only this report)
    replaced: bool = False  # the new warehouse was swapped in (see is_complete)

    def counts(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for result in self.results:
            totals[result.status] = totals.get(result.status, 0) + 1
        return totals

    def summary(self) -> str:
        counts = ", ".join(f"{status}={n}" for status, n in sorted(self.counts().items())) or "nothing ran"
        state = "interrupted" if self.interrupted else "succeeded" if self.success else "FAILED"
        lines = [f"dbt build {state} in {self.duration_s:.1f} s ({counts})"]
        if self.error:
            lines.append(f"error: {self.error}")
        failed = {r.name: r for r in self.results if r.status in FAILED_STATUSES}
        for name in self.failures:
            message = failed[name].message if name in failed else None
            lines.append(f"  failed: {name}" + (f" - {_first_line(message)}" if message else ""))
        for name in self.warnings:
            lines.append(f"  warning: {name}")
        if self.log_path and (self.interrupted or not self.success):
            lines.append(f"dbt's log: {self.log_path}")
        if not self.replaced:
            lines.append("the warehouse was not replaced: readers keep the last complete one "
                         f"({self.incomplete_reason()})")
        return "\n".join(lines)

    def is_complete(self) -> bool:
        """Complete = dbt ran to its end (not killed or interrupted, no dbt-level error) and every
        model, seed and snapshot it selected was built. A failing data test alone keeps the build
        complete (every table is new; the build still reports FAILED, as before the swap), but a
        failure dbt answers by skipping downstream models is not: those would keep old rows."""
        return self.incomplete_reason() is None

    def incomplete_reason(self) -> str | None:
        if self.interrupted:
            return "the build was interrupted"
        if self.error:
            return "dbt could not run"
        unbuilt = [r.name for r in self.results
                   if r.kind in WRITING_KINDS and (r.status in FAILED_STATUSES or r.status == "skipped")]
        if unbuilt:
            return f"{len(unbuilt)} model(s) not built: {', '.join(unbuilt[:5])}"
        return None


def dbt_vars(config: Config, *, warehouse_path: Path | None = None) -> dict[str, Any]:
    """Everything the dbt project reads through var(): paths and the org's field mapping.

    ``warehouse_path`` is the DuckDB file dbt opens (default: the warehouse itself)."""
    salesforce = config.section("sources").get("salesforce") or {}
    hubspot = config.section("sources").get("hubspot") or {}
    warehouse = config.section("warehouse")
    paths = DataPaths(config.data_dir)
    values: dict[str, Any] = {
        "data_dir": str(paths.root),
        "warehouse_path": str(warehouse_path or paths.warehouse),
        "dbt_threads": _positive_int(warehouse.get("dbt_threads", 2), "warehouse.dbt_threads"),
        "sf_loss_reason_field": salesforce.get("loss_reason_field", "Loss_Reason__c"),
        "sf_competitor_field": salesforce.get("competitor_field", "Competitor__c"),
        "sf_cancellation_case_types": list(salesforce.get("cancellation_case_types", ["Cancellation"])),
        "hs_loss_reason_property": hubspot.get("loss_reason_property", "closed_lost_reason"),
        "hs_cancellation_ticket_categories": list(
            hubspot.get("cancellation_ticket_categories", ["CANCELLATION"])
        ),
        "sf_extra_text_fields": {
            sobject: list(names or [])
            for sobject, names in (salesforce.get("extra_text_fields") or {}).items()
        },
        "hs_extra_text_properties": {
            object_type: list(names or [])
            for object_type, names in (hubspot.get("extra_text_properties") or {}).items()
        },
    }
    # Optional warehouse settings; the dbt project's own defaults apply when absent.
    for key in (
        "sf_renewal_opportunity_types",
        "sf_new_business_opportunity_types",
        "hs_churn_deal_types",
        "hs_new_business_deal_types",
        "hs_deal_without_type_is_churn",
        "notice_merge_window_days",
        "notice_merge_grace_days",
        "duplicate_event_window_days",
        "feedback_window_days_before_notice",
        "feedback_window_days_after_churn",
        "exit_interview_patterns",
        "estimated_notice_days_before_churn",
        "free_email_domains",
    ):
        if key in warehouse:
            values[key] = warehouse[key]
    # The classifier groups feature requests by the configured features (publishing.features);
    # the review queue takes items below classification.review_confidence_threshold.
    values["classification_features"] = config.section("publishing").get("features") or {}
    classification = config.section("classification")
    from churnkb.classification.llm import llm_settings  # the package imports scikit-learn: lazily

    llm = llm_settings(classification)  # a wrong backend fails here, before dbt runs
    values["classification_llm"] = llm.as_dict() if llm is not None else None
    if "review_confidence_threshold" in classification:
        values["review_confidence_threshold"] = float(classification["review_confidence_threshold"])
    # Sections the downstream marts read (SLAs, checklist patterns, re-engagement, features).
    for key in ("slas", "checklist_activity_patterns", "reengagement", "released_features", "lookback_days"):
        if key in warehouse:
            values[key] = warehouse[key]
    return values


def _positive_int(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, got {value!r}")
    return number


def dbt_project_dir(config: Config) -> Path:
    """The dbt project to run: ``warehouse.dbt_project_dir`` (relative to the config file) or ours."""
    configured = config.section("warehouse").get("dbt_project_dir")
    if not configured:
        return DBT_PROJECT_DIR
    path = Path(configured).expanduser()
    if not path.is_absolute() and config.path is not None:
        path = config.path.parent / path
    return path.resolve()


def dbt_args(
    command: str,
    config: Config,
    *,
    select: list[str] | None = None,
    full_refresh: bool = False,
    extra: list[str] | None = None,
    warehouse_path: Path | None = None,
) -> list[str]:
    """The dbt CLI arguments for ``command`` (e.g. ``build``, ``docs generate``) on this config's data."""
    paths = DataPaths(config.data_dir)
    values = dbt_vars(config, warehouse_path=warehouse_path)
    project = dbt_project_dir(config)
    args = [
        *command.split(),
        "--project-dir", str(project),
        "--profiles-dir", str(project),
        "--target-path", str(paths.dbt_target),
        "--log-path", str(paths.dbt_logs),
        "--vars", json.dumps(values, default=str),
        "--threads", str(values["dbt_threads"]),
        "--no-send-anonymous-usage-stats",
        "--no-use-colors",
        # the console gets our summary; dbt's own lines go to <data_dir>/dbt/logs/dbt.log
        "--log-level", "none",
        "--log-level-file", "info",
    ]
    if select:
        args += ["--select", *select]
    if full_refresh:
        args.append("--full-refresh")
    return args + list(extra or [])


def build(config: Config, *, select: list[str] | None = None, full_refresh: bool = False) -> BuildReport:
    """Run ``dbt build`` in-process on a copy of the warehouse and swap the copy in when the build
    is complete (``BuildReport.is_complete``); report every node.

    One build at a time (the exclusive build lock); readers keep reading the current warehouse
    meanwhile. A killed or incomplete build leaves the current warehouse untouched; its leftovers
    in ``warehouse.next/`` are removed by the next build."""
    from dbt.cli.main import dbtRunner  # slow import (~1 s): only when building

    paths = DataPaths(config.data_dir)
    paths.root.mkdir(parents=True, exist_ok=True)
    args = dbt_args("build", config, select=select, full_refresh=full_refresh,
                    warehouse_path=paths.warehouse_next)
    started = time.monotonic()
    timeout = lock_timeout(config.section("warehouse"))
    finished = _FinishedNodes()
    with _DBT_IN_PROCESS, exclusive(paths.warehouse_build_lock, timeout), _noting_ctrl_c() as ctrl_c:
        try:
            _start_next_warehouse(paths, timeout)
            outcome = dbtRunner(callbacks=[finished]).invoke(args)
            report = _report(outcome, time.monotonic() - started)
            report.log_path = paths.dbt_logs / "dbt.log"
            if ctrl_c.is_set() or isinstance(outcome.exception, KeyboardInterrupt):
                # dbt's own results (and run_results.json) miss nodes after Ctrl-C: use the events
                report = _interrupted_report(paths, time.monotonic() - started, finished.results)
            if report.is_complete():
                _swap_in(paths, timeout)
                report.replaced = True
        finally:
            _discard_next_warehouse(paths)
    return report


class _FinishedNodes:
    """A dbt event callback keeping every node that finished: after Ctrl-C, dbt's result and its
    run_results.json hold only some of them (4 of 7 built, once), so this is the account of what ran."""

    def __init__(self) -> None:
        self.results: list[NodeResult] = []

    def __call__(self, event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        node, result = event.data.node_info, event.data.run_result
        self.results.append(NodeResult(  # list.append is atomic: dbt's threads may call at once
            name=node.unique_id.split(".")[-1], kind=node.resource_type,
            status=str(result.status).lower(), seconds=round(float(result.execution_time or 0.0), 3),
            message=result.message or None))


def _wal(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


def _start_next_warehouse(paths: DataPaths, timeout: float | None) -> None:
    """Remove what a killed build left, then start the next warehouse as a copy of the current one
    (incremental models such as int_feedback_items_classified build on their previous state)."""
    _discard_next_warehouse(paths)
    paths.warehouse_next.parent.mkdir(parents=True)
    if not paths.warehouse.exists():
        return
    # shared: nobody has the file open read-write (dbt docs), so the copy is not torn
    with shared(paths.warehouse_lock, timeout):
        shutil.copyfile(paths.warehouse, paths.warehouse_next)
        if _wal(paths.warehouse).exists():  # changes not yet checkpointed belong to the copy too
            shutil.copyfile(_wal(paths.warehouse), _wal(paths.warehouse_next))


def _discard_next_warehouse(paths: DataPaths) -> None:
    shutil.rmtree(paths.warehouse_next.parent, ignore_errors=True)


def _swap_in(paths: DataPaths, timeout: float | None) -> None:
    """Make the next warehouse durable as one self-contained file, then rename it over the current
    one. A reader that opened the old file keeps reading it (its inode lives until closed); a
    reader that opens the path afterwards gets the new one."""
    with duckdb.connect(str(paths.warehouse_next)) as con:
        _drop_dbt_scratch_tables(con)
        con.execute("checkpoint")  # everything in the main file: the .wal stays behind otherwise
    if _wal(paths.warehouse_next).exists():
        raise WarehouseError(f"{_wal(paths.warehouse_next)} is still there after a checkpoint; "
                             "the warehouse was not replaced")
    _fsync(paths.warehouse_next)
    with shared(paths.warehouse_lock, timeout):
        # a .wal of the old file would be replayed onto the new one; its changes are in the copy
        _wal(paths.warehouse).unlink(missing_ok=True)
        os.replace(paths.warehouse_next, paths.warehouse)
        _fsync(paths.root)  # the rename itself survives a power loss


def _drop_dbt_scratch_tables(con: duckdb.DuckDBPyConnection) -> None:
    """dbt-duckdb leaves an empty ``<model>__dbt_tmp<timestamp>`` table behind each time an
    incremental Python model (int_feedback_items_classified) runs; drop them so they do not pile
    up in the warehouse readers see."""
    scratch = con.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where database_name = current_database() and contains(table_name, '__dbt_tmp')").fetchall()
    for schema, table in scratch:
        con.execute(f'drop table if exists "{schema}"."{table}"')


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _noting_ctrl_c() -> Iterator[threading.Event]:
    """Ctrl-C inside dbt can surface as any error (e.g. "Connection already closed"); note that
    it happened so the build reports "interrupted" whatever dbt makes of it."""
    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return

    def on_sigint(signum: int, frame: Any) -> None:
        pressed.set()
        signal.default_int_handler(signum, frame)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


def generate_docs(config: Config) -> Path:
    """Run ``dbt docs generate`` (catalog read from the warehouse); return the site's index.html."""
    from dbt.cli.main import dbtRunner

    paths = DataPaths(config.data_dir)
    # dbt opens the warehouse itself read-write here: no reader may have it open (exclusive), and
    # no build may run meanwhile (both write <data_dir>/dbt/target)
    with _DBT_IN_PROCESS, exclusive(paths.warehouse_build_lock), exclusive(paths.warehouse_lock):
        outcome = dbtRunner().invoke(dbt_args("docs generate", config, extra=["--static"]))
    if not outcome.success:
        raise WarehouseError(f"dbt docs generate failed: {_first_line(str(outcome.exception or outcome.result))}")
    return paths.dbt_target / "index.html"


def _report(outcome: Any, duration_s: float) -> BuildReport:
    results = [_node_result(r) for r in (getattr(outcome.result, "results", None) or [])]
    failures = [r.name for r in results if r.status in FAILED_STATUSES]
    warnings = [r.name for r in results if r.status == "warn"]
    error = None if outcome.exception is None else _first_line(str(outcome.exception))
    if not results and not outcome.success and error is None:
        error = "dbt reported failure without running any node (see <data_dir>/dbt/logs/dbt.log)"
    return BuildReport(
        success=bool(outcome.success) and not failures and error is None,
        failures=failures,
        results=results,
        duration_s=round(duration_s, 3),
        warnings=warnings,
        error=error,
    )


def _interrupted_report(paths: DataPaths, duration_s: float, results: list[NodeResult]) -> BuildReport:
    return BuildReport(success=False, failures=[], results=results, duration_s=round(duration_s, 3),
                       interrupted=True, log_path=paths.dbt_logs / "dbt.log")


def _node_result(result: Any) -> NodeResult:
    node = result.node
    return NodeResult(
        name=node.name,
        kind=str(getattr(node.resource_type, "value", node.resource_type)),
        status=str(getattr(result.status, "value", result.status)).lower(),
        seconds=round(float(result.execution_time or 0.0), 3),
        message=result.message,
        path=getattr(node, "original_file_path", None),
    )


def _first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return " ".join(lines[:3])[:400]


def _data_dir(config_or_data_dir: Config | str | Path) -> Path:
    if isinstance(config_or_data_dir, Config):
        return config_or_data_dir.data_dir
    return Path(config_or_data_dir)


@contextmanager
def read_connection(
    config_or_data_dir: Config | str | Path, timeout: float | None = DEFAULT_TIMEOUT_S
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the warehouse, holding the shared lock until closed.

    With a Config, ``warehouse.lock_timeout_s`` sets how long to wait for a running build."""
    paths = DataPaths(_data_dir(config_or_data_dir))
    if isinstance(config_or_data_dir, Config):
        timeout = lock_timeout(config_or_data_dir.section("warehouse"))
    if not paths.warehouse.exists():
        raise WarehouseError(f"no warehouse at {paths.warehouse}: run `churnkb build` first")
    with shared(paths.warehouse_lock, timeout=timeout):
        connection = duckdb.connect(str(paths.warehouse), read_only=True)
        try:
            yield connection
        finally:
            connection.close()


def query(config: Config | str | Path, sql: str) -> pl.DataFrame:
    """Run one SQL statement against the warehouse (read-only) and return its rows."""
    with read_connection(config) as connection:
        try:
            relation = connection.sql(sql)
        except duckdb.Error as exc:
            raise WarehouseError(f"query failed: {_first_line(str(exc))}") from exc
        return pl.DataFrame() if relation is None else relation.pl()
