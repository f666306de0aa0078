"""One writer at a time for ``warehouse.duckdb``.

DuckDB lets only one process open a file read-write, and while it does no other process can open
it at all, not even read-only. A build that simply fails on a held lock is a bad experience, so
every process that opens the warehouse first takes an advisory ``fcntl`` lock on
``warehouse.lock``: exclusive for a build, shared for readers. A second build waits for the first;
readers wait for a running build and a build waits for running readers.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WarehouseBusy(TimeoutError):
    """The warehouse lock was not free within the timeout."""


@contextmanager
def _locked(lock_path: Path, mode: int, timeout: float | None, poll: float = 0.2) -> Iterator[float]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    started = time.monotonic()
    try:
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if timeout is not None and time.monotonic() - started > timeout:
                    raise WarehouseBusy(
                        f"{lock_path} is held by another churnkb process (a build or a reader) "
                        f"for more than {timeout:.0f} s"
                    ) from None
                time.sleep(poll)
        yield time.monotonic() - started  # how long we waited
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def exclusive(lock_path: Path, timeout: float | None = 3600) -> contextmanager:
    """Hold the writer lock (builds)."""
    return _locked(lock_path, fcntl.LOCK_EX, timeout)


def shared(lock_path: Path, timeout: float | None = 3600) -> contextmanager:
    """Hold a reader lock (publishers, queries)."""
    return _locked(lock_path, fcntl.LOCK_SH, timeout)
