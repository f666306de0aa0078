"""Secrets come from the environment, else from a Prefect Secret block; they are never logged."""

from __future__ import annotations

import os


def get_secret(name: str, *, required: bool = False) -> str | None:
    """Read ``NAME`` from the environment, then the Prefect Secret block ``name`` (lower, dashes)."""
    value = os.environ.get(name)
    if value:
        return value
    if os.environ.get("PREFECT_API_URL"):
        value = _secret_block(name.lower().replace("_", "-"))
        if value:
            return value
    if required:
        raise KeyError(f"set the environment variable {name} (or a Prefect Secret block "
                       f"'{name.lower().replace('_', '-')}')")
    return None


def _secret_block(block_name: str) -> str | None:
    try:
        from prefect.blocks.system import Secret

        return str(Secret.load(block_name).get())
    except Exception:  # no such block, or no API: the caller decides whether that is fatal
        return None


def redact(text: str, secrets: list[str | None]) -> str:
    """Replace every known secret value in ``text``; used on anything that may reach a log."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
