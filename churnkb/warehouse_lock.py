"""One writer at a time for ``warehouse.duckdb``.

DuckDB lets only one process open a file read-write, and while it does no other process can open
it at all, not even read-only. A build that simply fails on a held lock is a bad experience, so
every process that opens the warehouse first takes an advisory ``fcntl`` lock on
``warehouse.lock``: exclusive for a build, shared for readers. A second build waits for the first;
readers wait for a running build and a build waits for running readers.

A waiting process says who holds the lock and how long it will wait: each holder leaves a small
note (command, pid, since) in ``warehouse.lock.holders/`` for as long as it holds the lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_TIMEOUT_S = 3600.0


class WarehouseBusy(TimeoutError):
    """The warehouse lock was not free within the timeout."""


def _say_waiting(message: str) -> None:
    print(f"churnkb: {message}", file=sys.stderr, flush=True)


def _holders_dir(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".holders")


def _command_line() -> str:
    argv = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else ["python"]
    return " ".join(argv)[:200]


def holders(lock_path: Path) -> list[dict[str, object]]:
    """Who holds the lock now (notes of processes that are gone are skipped)."""
    found = []
    for note in sorted(_holders_dir(lock_path).glob("*.json")):
        with suppress(OSError, ValueError):
            holder = json.loads(note.read_text(encoding="utf-8"))
            if _alive(int(holder["pid"])):
                found.append(holder)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe_holders(lock_path: Path) -> str:
    found = holders(lock_path)
    if not found:
        return "another churnkb process"
    return ", ".join(f"`{h['command']}` (pid {h['pid']}, {h['mode']} since {h['since']})"
                     for h in found)


@contextmanager
def _holder_note(lock_path: Path, mode: str) -> Iterator[None]:
    folder = _holders_dir(lock_path)
    note = folder / f"{os.getpid()}-{time.monotonic_ns()}.json"
    with suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        note.write_text(json.dumps({
            "pid": os.getpid(), "command": _command_line(), "mode": mode,
            "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}), encoding="utf-8")
    try:
        yield
    finally:
        with suppress(OSError):
            note.unlink()


@contextmanager
def hold_lock(lock_path: Path, mode: int, timeout: float | None, poll: float = 0.2,
            on_wait: Callable[[str], None] = _say_waiting, *, label: str = "the warehouse lock",
            setting: str = "warehouse.lock_timeout_s", kind: str | None = None,
            busy: type[TimeoutError] = WarehouseBusy) -> Iterator[float]:
    """Hold ``lock_path``; ``label``, ``setting`` and ``busy`` let other locks (the per-source
    sync lock) reuse the waiting, the holder notes and the messages."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    started = time.monotonic()
    kind = kind or ("writer" if mode == fcntl.LOCK_EX else "reader")
    told = False
    try:
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    limit = "without a limit" if timeout is None else f"up to {timeout:.0f} s"
                    on_wait(f"waiting for {label} ({lock_path}) held by "
                            f"{describe_holders(lock_path)}; waiting {limit} "
                            f"(set {setting} to change)")
                    told = True
                if timeout is not None and time.monotonic() - started > timeout:
                    raise busy(
                        f"{label} {lock_path} is still held by "
                        f"{describe_holders(lock_path)} after {timeout:.0f} s ({setting})"
                    ) from None
                time.sleep(poll)
        with _holder_note(lock_path, kind):
            yield time.monotonic() - started  # how long we waited
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def exclusive(lock_path: Path, timeout: float | None = DEFAULT_TIMEOUT_S) -> contextmanager:
    """Hold the writer lock (builds)."""
    return hold_lock(lock_path, fcntl.LOCK_EX, timeout)


def shared(lock_path: Path, timeout: float | None = DEFAULT_TIMEOUT_S) -> contextmanager:
    """Hold a reader lock (publishers, queries)."""
    return hold_lock(lock_path, fcntl.LOCK_SH, timeout)


def lock_timeout(warehouse_settings: dict[str, object]) -> float | None:
    """``warehouse.lock_timeout_s`` from the config: seconds, or null to wait without a limit."""
    value = warehouse_settings.get("lock_timeout_s", DEFAULT_TIMEOUT_S)
    return None if value is None else float(value)
