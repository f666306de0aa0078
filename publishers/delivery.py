"""Send one rendered publication to one channel, and turn any failure into a report line."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from churnkb.publishers.channels import (
    DEFAULT_WEBHOOK_ENV,
    ChannelError,
    EmailContent,
    post_webhook,
    recipients_of,
    send_email,
    webhook_url,
)
from churnkb.publishers.ledger import Ledger
from churnkb.publishers.report import PublishReport
from churnkb.publishers.settings import Publishing

from churnkb.secrets import redact


@dataclass
class Rendered:
    """Lazily rendered forms of one publication, one per channel."""

    write_files: Callable[[], str]           # returns the main file's path
    email: Callable[[], EmailContent]
    slack: Callable[[], dict[str, Any]]
    teams: Callable[[], dict[str, Any]]
    # What a dry run prints per channel: recipients, subject, size, a text preview.
    preview: Callable[[str, dict[str, Any], str], str] | None = None


def send(settings: Publishing, spec: dict[str, Any], owner: str, channel: str,
         rendered: Rendered) -> str:
    """Deliver to ``channel``; returns a non-secret target description, raises on failure."""
    if channel == "file":
        return rendered.write_files()
    if channel == "email":
        return send_email(settings, recipients_of(spec, owner), rendered.email())
    if channel in ("slack", "teams"):
        url, env_name = webhook_url(spec, channel, owner)
        payload = rendered.slack() if channel == "slack" else rendered.teams()
        return post_webhook(url, env_name, channel, payload)
    raise ChannelError(f"unknown channel {channel!r} for '{owner}'")


def publish_once(*, settings: Publishing, ledger: Ledger, report: PublishReport, kind: str,
                 key: str, department: str | None, period: str, spec: dict[str, Any],
                 owner: str, rendered: Rendered, dry_run: bool = False) -> None:
    """Every configured channel at most once per ``key``; one failing channel never stops the rest."""
    for channel in settings.channels_of(spec, owner):
        if ledger.was_sent(kind, key, channel):
            report.add(kind=kind, department=department, period=period, channel=channel,
                       status="skipped", detail="already sent (publication ledger)")
            continue
        if dry_run:
            detail = "dry run: would send"
            if rendered.preview is not None:
                detail = f"dry run: would send {rendered.preview(channel, spec, owner)}"
            report.add(kind=kind, department=department, period=period, channel=channel,
                       status="skipped", detail=detail)
            continue
        try:
            target = send(settings, spec, owner, channel, rendered)
        except Exception as exc:  # noqa: BLE001 - reported per channel, the others still go out
            report.add(kind=kind, department=department, period=period, channel=channel,
                       status="failed", detail=failure_detail(exc, settings, spec))
            continue
        ledger.record(kind, key, channel, target=target)
        report.add(kind=kind, department=department, period=period, channel=channel,
                   status="sent", target=target)


def failure_detail(exc: BaseException, settings: Publishing, spec: dict[str, Any]) -> str:
    if isinstance(exc, ChannelError):
        return str(exc)
    # Unexpected errors may quote anything: strip every secret this config can reach.
    return redact(f"{type(exc).__name__}: {exc}", known_secrets(settings, spec))


def known_secrets(settings: Publishing, spec: dict[str, Any]) -> list[str | None]:
    names = set(DEFAULT_WEBHOOK_ENV.values())
    names.add((settings.get("smtp", {}) or {}).get("password_env") or "SMTP_PASSWORD")
    for channel in ("slack", "teams"):
        env_name = (spec.get(channel) or {}).get("webhook_env")
        if env_name:
            names.add(env_name)
    return [os.environ.get(name) for name in names]
