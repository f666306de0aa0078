"""Per-stream sync state: the cursor and what we know about the stream's schema.

The state file is rewritten atomically and only after the data it covers is durable, so a crash
at any moment leaves a cursor that is at most behind the landed data, never ahead of it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from churnkb.connectors.raw_zone import atomic_write_json

from churnkb.paths import DataPaths


@dataclass
class StreamState:
    cursor: str | None = None  # ISO-8601 UTC bookmark: everything modified before it is landed
    # An interrupted pass to finish first: {"window_start", "window_end", "id_floor"} (HubSpot) or
    # None. Salesforce needs none: its cursor advances in order.
    resume: dict[str, Any] | None = None
    schema: dict[str, str] = field(default_factory=dict)  # field -> source type, for drift
    value_kinds: dict[str, str] = field(default_factory=dict)  # field -> JSON kind seen last
    fields_with_values: list[str] = field(default_factory=list)  # fields ~always filled last run
    extra: dict[str, Any] = field(default_factory=dict)  # source-specific (archived cursor, ...)
    last_sync_id: str | None = None
    last_run_at: str | None = None
    last_status: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StreamState:
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in data.items() if key in known})


class StateStore:
    """Reads and atomically writes ``state/<source>/<stream>.json``."""

    def __init__(self, data_paths: DataPaths, source: str) -> None:
        self.data_paths = data_paths
        self.source = source

    def path(self, stream: str) -> Path:
        return self.data_paths.stream_state(self.source, stream)

    def load(self, stream: str) -> StreamState:
        path = self.path(stream)
        if not path.exists():
            return StreamState()
        try:
            return StreamState.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, TypeError) as exc:
            raise ValueError(f"state file {path} is unreadable ({exc}); delete it to re-sync "
                             f"the stream from scratch") from exc

    def save(self, stream: str, state: StreamState) -> None:
        atomic_write_json(self.path(stream), asdict(state))
