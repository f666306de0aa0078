"""One sync per source at a time.

Two syncs of the same source read the same cursor and would both land everything (every record
twice in the raw zone), so a sync first takes an exclusive ``fcntl`` lock on
``state/<source>/sync.lock``. A second sync of that source waits for the first, up to
``sources.<source>.lock_timeout_s``, then gives up naming the holder (command, pid, since);
syncs of different sources take different locks and run side by side. The waiting, the holder
notes and the messages are the warehouse lock's (churnkb/warehouse_lock.py).
"""

from __future__ import annotations

import fcntl
from contextlib import AbstractContextManager
from pathlib import Path

from churnkb.paths import DataPaths
from churnkb.warehouse_lock import DEFAULT_TIMEOUT_S, hold_lock

__all__ = ["SyncBusy", "sync_lock", "sync_lock_path", "sync_lock_timeout"]


class SyncBusy(TimeoutError):
    """Another sync of the same source still held its lock when the wait limit ran out."""


def sync_lock_path(data_paths: DataPaths, source: str) -> Path:
    return data_paths.state / source / "sync.lock"


def sync_lock(data_paths: DataPaths, source: str, timeout: float | None = DEFAULT_TIMEOUT_S
              ) -> AbstractContextManager[float]:
    """Hold the sync lock of ``source``; yields the seconds spent waiting. Raises SyncBusy."""
    return hold_lock(sync_lock_path(data_paths, source), fcntl.LOCK_EX, timeout,
                   label=f"the {source} sync lock", setting=f"sources.{source}.lock_timeout_s",
                   kind="syncing", busy=SyncBusy)


def sync_lock_timeout(source_settings: dict[str, object]) -> float | None:
    """``sources.<source>.lock_timeout_s``: seconds, or null to wait without a limit."""
    value = source_settings.get("lock_timeout_s", DEFAULT_TIMEOUT_S)
    return None if value is None else float(value)
