"""The publication ledger: an intent before every send and its result after, one JSON line each.

A send covers one or more items of one kind to one channel (a digest is one item; an alert
message lists several, each identified by its key and state: the same alert item goes out again
only when its state changes). Lines:

- ``{"event": "intent", "attempt": A, "send_id": S, ...}``, written and fsynced before the send;
- ``{"event": "sent" | "failed", "attempt": A, ...}``, written and fsynced after it.

An intent without a result means the process died (or the channel timed out) mid-send: the send
*may* have happened. ``send_id`` is derived from what is sent, so a re-send after such an
interruption carries the same e-mail Message-ID and webhook ``Idempotency-Key`` (README,
"What a send guarantees"). Lines written before intents existed (no ``event``) count as sent.

A torn last line (power loss mid-write: no trailing newline) is moved aside to
``ledger.jsonl.torn`` and cut off the ledger, with one warning naming the file and the byte
offset; nothing is ever appended to it. Cutting, rather than starting the next line after it,
keeps every line of the ledger whole JSON (so a bad line in the middle stays a hard error, as real
damage should) and means the warning is given once, not on every later run. When the torn line is
a result whose attempt id survived, the result is written again whole from its intent: the send
did complete, so it must not be repeated.

Every read and write happens under an exclusive ``fcntl`` lock, so concurrent publisher runs
cannot interleave lines or both repair the tail.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from churnkb.paths import DataPaths

log = logging.getLogger(__name__)

Item = tuple[str, str]  # (key, state); state "" when the item has none
# The first fields of a result line, in the order they are written: enough of a torn result line
# to know which attempt completed.
TORN_RESULT = re.compile(rb'^\{"event": "(sent|failed)", "attempt": "([0-9a-f]{32})"')


@dataclass(frozen=True)
class Attempt:
    """One recorded intent: which items of which kind go to which channel."""

    attempt: str   # unique per try
    send_id: str   # the same for every try of the same send (Message-ID, Idempotency-Key)
    kind: str
    channel: str
    items: tuple[Item, ...]
    at: str


def send_id_for(kind: str, channel: str, items: Iterable[Item]) -> str:
    """Stable id of a send: the same items of the same kind to the same channel, whatever try."""
    canonical = json.dumps([kind, channel, sorted(items)], ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._sent: set[tuple[str, str, str, str]] = set()
        self._open: dict[str, Attempt] = {}  # intents without a result, by attempt id
        self._load()

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> Ledger:
        return cls(DataPaths(data_dir).ledger)

    # -- reading ----------------------------------------------------------------------------------
    def was_sent(self, kind: str, key: str, channel: str, state: str | None = None) -> bool:
        return _identity(kind, key, channel, state) in self._sent

    def unconfirmed(self, kind: str, channel: str, items: Iterable[Item]) -> Attempt | None:
        """The latest earlier attempt that may have sent some of ``items`` (an intent without a
        result) and that no later send confirmed; None when there is none."""
        wanted = {(key, state or "") for key, state in items}
        found = None
        for attempt in self._open.values():
            if attempt.kind != kind or attempt.channel != channel:
                continue
            pending = [i for i in attempt.items if not self.was_sent(kind, i[0], channel, i[1])]
            if wanted.intersection(pending):
                found = attempt
        return found

    def _load(self) -> None:
        if not self.path.exists():
            return
        with self._locked() as handle:
            recovered = self._cut_torn_tail(handle)
            handle.seek(0)
            for line_no, line in enumerate(handle.read().splitlines(), 1):
                if line.strip():
                    self._apply(self._parse(line, line_no))
            if recovered is not None and recovered[1] in self._open:
                event, attempt_id = recovered
                entry = self._result_entry(self._open[attempt_id], event,
                                           target="recovered from a torn line")
                self._append(handle, entry)
                self._apply(entry)

    def _parse(self, line: bytes, line_no: int) -> dict[str, Any]:
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            pass
        # Versions before the torn-tail repair appended onto a torn line: the whole line that
        # follows the fragment is a real record (its send happened), the fragment is unknowable.
        start = line.rfind(b'{"', 1)
        while start > 0:
            try:
                entry = json.loads(line[start:])
            except json.JSONDecodeError:
                start = line.rfind(b'{"', 1, start)
                continue
            log.warning("%s:%d starts with %d bytes of an interrupted write (older churnkb); "
                        "kept the whole record after them", self.path, line_no, start)
            return entry
        raise ValueError(f"{self.path}:{line_no} is not valid JSON; fix or remove that line")

    def _apply(self, entry: dict[str, Any]) -> None:
        event = entry.get("event", "sent")  # lines without an event predate intents: all sent
        if event == "intent":
            attempt = _attempt_of(entry)
            self._open[attempt.attempt] = attempt
            return
        self._open.pop(str(entry.get("attempt")), None)
        if event == "sent":
            for key, state in _items_of(entry):
                self._sent.add(_identity(entry["kind"], key, entry["channel"], state))

    def _cut_torn_tail(self, handle: IO[bytes]) -> tuple[str, str] | None:
        """Move a last line without its newline aside and cut it off; returns the result the
        torn line recorded, as (event, attempt id), when its attempt id survived."""
        offset = _torn_tail_offset(handle)
        if offset is None:
            return None
        handle.seek(offset)
        fragment = handle.read()
        aside = self.path.with_name(self.path.name + ".torn")
        with aside.open("a", encoding="utf-8") as torn:
            torn.write(json.dumps({"ledger": str(self.path), "offset": offset,
                                   "moved_at": _now(),
                                   "fragment": fragment.decode("utf-8", "backslashreplace")},
                                  ensure_ascii=False) + "\n")
            torn.flush()
            os.fsync(torn.fileno())
        handle.truncate(offset)
        handle.flush()
        os.fsync(handle.fileno())
        match = TORN_RESULT.match(fragment)
        log.warning("%s: the last line, from byte offset %d, was torn (an interrupted write, "
                    "%d bytes); moved it to %s and cut it off the ledger%s", self.path, offset,
                    len(fragment), aside,
                    f"; it recorded attempt {match[2].decode()} as {match[1].decode()}, "
                    "written again whole" if match else "")
        return (match[1].decode(), match[2].decode()) if match else None

    # -- writing ----------------------------------------------------------------------------------
    def begin(self, kind: str, channel: str, items: Iterable[Item]) -> Attempt:
        """Record (durably) that ``items`` are about to be sent; call before the send."""
        items = tuple((key, state or "") for key, state in items)
        attempt = Attempt(uuid.uuid4().hex, send_id_for(kind, channel, items), kind, channel,
                          items, _now())
        self._write({"event": "intent", "attempt": attempt.attempt, "send_id": attempt.send_id,
                     "kind": kind, "channel": channel, "items": [list(i) for i in items],
                     "at": attempt.at})
        self._open[attempt.attempt] = attempt
        return attempt

    def finish(self, attempt: Attempt, target: str | None = None) -> None:
        """Record that the send of ``attempt`` completed."""
        self._write(self._result_entry(attempt, "sent", target=target))
        self._apply({"event": "sent", "attempt": attempt.attempt, "kind": attempt.kind,
                     "channel": attempt.channel, "items": attempt.items})

    def fail(self, attempt: Attempt, detail: str) -> None:
        """Record that ``attempt`` certainly did not deliver (the channel refused it)."""
        self._write(self._result_entry(attempt, "failed", detail=detail))
        self._open.pop(attempt.attempt, None)

    def record(self, kind: str, key: str, channel: str, *, state: str | None = None,
               target: str | None = None) -> None:
        """One item done in one step (a local file written atomically): intent and result."""
        self.finish(self.begin(kind, channel, [(key, state or "")]), target)

    @staticmethod
    def _result_entry(attempt: Attempt, event: str, **extra: str | None) -> dict[str, Any]:
        # "event" and "attempt" first: a torn result line still says which attempt it closed.
        return {"event": event, "attempt": attempt.attempt, "send_id": attempt.send_id,
                "kind": attempt.kind, "channel": attempt.channel,
                "items": [list(i) for i in attempt.items], **extra, "at": _now()}

    def _write(self, entry: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked() as handle:
            # Another run may have died mid-write since we loaded: never append to its fragment.
            self._cut_torn_tail(handle)
            self._append(handle, entry)

    @staticmethod
    def _append(handle: IO[bytes], entry: dict[str, Any]) -> None:
        handle.seek(0, os.SEEK_END)
        handle.write((json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())  # an intent must be on disk before the send it announces

    @contextmanager
    def _locked(self) -> Iterator[IO[bytes]]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        with os.fdopen(fd, "rb+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _torn_tail_offset(handle: IO[bytes], chunk: int = 1 << 16) -> int | None:
    """Where the last line starts when it has no trailing newline; None when the file is empty
    or ends with one. Reads backwards from the end, so a long ledger is not read whole."""
    end = handle.seek(0, os.SEEK_END)
    if end == 0:
        return None
    handle.seek(end - 1)
    if handle.read(1) == b"\n":
        return None
    position = end
    while position > 0:
        start = max(0, position - chunk)
        handle.seek(start)
        newline = handle.read(position - start).rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        position = start
    return 0


def _attempt_of(entry: dict[str, Any]) -> Attempt:
    return Attempt(str(entry["attempt"]), str(entry.get("send_id") or ""), entry["kind"],
                   entry["channel"], tuple(_items_of(entry)), str(entry.get("at") or ""))


def _items_of(entry: dict[str, Any]) -> list[Item]:
    if "items" in entry:
        return [(str(key), str(state or "")) for key, state in entry["items"]]
    return [(str(entry["key"]), str(entry.get("state") or ""))]


def _identity(kind: str, key: str, channel: str, state: str | None) -> tuple[str, str, str, str]:
    return (kind, key, channel, state or "")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
