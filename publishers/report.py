"""What a publisher run did, item by item, for logs, the CLI and Prefect artifacts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from churnkb.secrets import redact

STATUSES = ("sent", "skipped", "failed", "empty")


@dataclass
class PublishReport:
    items: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        *,
        kind: str,
        department: str | None,
        period: str,
        channel: str | None,
        status: str,
        target: str | None = None,
        detail: str = "",
    ) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown publish status {status!r}")
        # What a report says reaches stdout, logs and Prefect artifacts: mask every secret in it,
        # whatever its source (an error body that echoes a webhook's path included).
        detail = redact(detail)
        target = redact(target) if target else target
        self.items.append(
            {
                "kind": kind,
                "department": department,
                "period": period,
                "channel": channel,
                "status": status,
                "target": target,
                "detail": detail,
            }
        )

    def extend(self, other: PublishReport) -> None:
        self.items.extend(other.items)

    @property
    def sent(self) -> int:
        return sum(1 for item in self.items if item["status"] == "sent")

    @property
    def failed(self) -> int:
        return sum(1 for item in self.items if item["status"] == "failed")

    def rows(self) -> list[dict[str, Any]]:
        """Items as flat rows (a table artifact or CLI output)."""
        return [dict(item) for item in self.items]

    def summary(self) -> str:
        counts = {status: 0 for status in STATUSES}
        for item in self.items:
            counts[item["status"]] += 1
        return ", ".join(f"{count} {status}" for status, count in counts.items())
