"""The publication ledger: one JSON line per successful send, so a retry never sends twice.

A send is identified by (kind, key, channel) and, for alerts, the item's state: the same alert
item goes out again only when its state changes. Appends happen under an ``fcntl`` lock, so
concurrent publisher runs cannot interleave lines.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from churnkb.paths import DataPaths


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._sent: set[tuple[str, str, str, str]] = set()
        self._load()

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> Ledger:
        return cls(DataPaths(data_dir).ledger)

    def _load(self) -> None:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    # A torn last line (crash mid-write) must not hide every earlier send.
                    if line.endswith("\n"):
                        raise ValueError(f"{self.path}:{line_no} is not valid JSON; "
                                         "fix or remove that line") from None
                    continue
                self._sent.add(_identity(entry["kind"], entry["key"], entry["channel"],
                                         entry.get("state")))

    def was_sent(self, kind: str, key: str, channel: str, state: str | None = None) -> bool:
        return _identity(kind, key, channel, state) in self._sent

    def record(self, kind: str, key: str, channel: str, *, state: str | None = None,
               target: str | None = None) -> None:
        entry = {
            "kind": kind,
            "key": key,
            "channel": channel,
            "state": state,
            "target": target,
            "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with self._locked_append() as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
            handle.flush()
        self._sent.add(_identity(kind, key, channel, state))

    @contextmanager
    def _locked_append(self) -> Iterator:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _identity(kind: str, key: str, channel: str, state: str | None) -> tuple[str, str, str, str]:
    return (kind, key, channel, state or "")
