"""The ``publishing`` section of the config, read once with clear errors for wrong values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from churnkb.config import Config, ConfigError

CHANNELS = ("file", "email", "slack", "teams")
DEPARTMENTS = ("product", "finance", "support", "customer_success", "sales")

# docs/architecture.md "Canonical reason categories and routing"; overridable as publishing.routing.
DEFAULT_ROUTING: dict[str, list[str]] = {
    "product": ["product"],
    "pricing": ["finance"],
    "service": ["support"],
    "success_process": ["customer_success"],
    "competitor": ["product", "sales"],
    "relationship": ["customer_success"],
    "company": [],
    "needs": ["customer_success"],
    "involuntary": ["finance"],
    "unknown": [],
}


@dataclass(frozen=True)
class Publishing:
    raw: dict[str, Any]
    where: str

    @classmethod
    def from_config(cls, config: Config) -> Publishing:
        return cls(config.section("publishing"), str(config.path or "default config"))

    def get(self, key: str, default: Any = None) -> Any:
        value = self.raw.get(key)
        return default if value is None else value

    @property
    def period_kind(self) -> str:
        return str(self.get("period", "weekly"))

    def local_date(self, now: datetime) -> date:
        """Today in publishing.timezone: periods and due dates follow the recipients' calendar."""
        name = str(self.get("timezone", "UTC"))
        try:
            return now.astimezone(ZoneInfo(name)).date()
        except ZoneInfoNotFoundError:
            raise ConfigError(f"{self.where}: publishing.timezone {name!r} is not a known time "
                              "zone (use e.g. UTC or Europe/Berlin)") from None

    @property
    def routing(self) -> dict[str, list[str]]:
        return {**DEFAULT_ROUTING, **(self.get("routing", {}) or {})}

    def categories_for(self, department: str) -> set[str]:
        return {cat for cat, depts in self.routing.items() if department in (depts or [])}

    @property
    def departments(self) -> dict[str, dict[str, Any]]:
        departments = self.get("departments", {})
        if not isinstance(departments, dict):
            raise ConfigError(f"{self.where}: publishing.departments must be a mapping")
        return {name: (spec or {}) for name, spec in departments.items()}

    def target(self, name: str) -> dict[str, Any]:
        """A department's (or 'failures'/'alerts') channel spec."""
        if name in ("failures",):
            return self.get("failures", {}) or {}
        spec = self.departments.get(name)
        if spec is None:
            raise ConfigError(f"{self.where}: publishing.departments has no '{name}'")
        return spec

    def channels_of(self, spec: dict[str, Any], owner: str) -> list[str]:
        channels = list(spec.get("channels") or [])
        unknown = [c for c in channels if c not in CHANNELS]
        if unknown:
            raise ConfigError(f"{self.where}: publishing '{owner}' channels {unknown} are unknown; "
                              f"use {', '.join(CHANNELS)}")
        # Files are always written: they are the record and the target of "full digest" links.
        return ["file", *[c for c in channels if c != "file"]]

    def link_for(self, source_system: str | None, record_id: str | None) -> str | None:
        base = (self.get("link_base", {}) or {}).get(source_system or "")
        if not base or not record_id:
            return None
        return f"{str(base).rstrip('/')}/{record_id}"
