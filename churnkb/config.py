"""Load ``churnkb.yaml`` over the packaged defaults.

Sources and secrets come from the environment; everything else from the config file. Each area
owns one top-level section (``sources``, ``warehouse``, ``publishing``, ``sandbox``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG_NAME = "churnkb.yaml"


class ConfigError(ValueError):
    """The config file is missing, unreadable or has a wrong value; the message names what to fix."""


@dataclass(frozen=True)
class Config:
    data_dir: Path
    raw: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def section(self, name: str) -> dict[str, Any]:
        value = self.raw.get(name) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{self._where()}: section '{name}' must be a mapping")
        return value

    def _where(self) -> str:
        return str(self.path) if self.path else "default config"


def default_config() -> dict[str, Any]:
    text = resources.files("churnkb").joinpath("default_config.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; any other value (lists included) replaces the default."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_config_path(path: str | os.PathLike[str] | None) -> Path | None:
    """--config wins, then $CHURNKB_CONFIG, then ./churnkb.yaml if it exists."""
    if path:
        return Path(path)
    if os.environ.get("CHURNKB_CONFIG"):
        return Path(os.environ["CHURNKB_CONFIG"])
    local = Path(DEFAULT_CONFIG_NAME)
    return local if local.exists() else None


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    return Path(data_dir or os.environ.get("CHURNKB_DATA_DIR") or "data").resolve()


def load_config(
    path: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> Config:
    config_path = resolve_config_path(path)
    user: dict[str, Any] = {}
    if config_path is not None:
        if not config_path.exists():
            raise ConfigError(f"config file {config_path} does not exist (set --config or CHURNKB_CONFIG)")
        try:
            user = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{config_path} is not valid YAML: {exc}") from exc
        if not isinstance(user, dict):
            raise ConfigError(f"{config_path} must hold a mapping at the top level")
    return Config(
        data_dir=resolve_data_dir(data_dir),
        raw=deep_merge(default_config(), user),
        path=config_path,
    )
