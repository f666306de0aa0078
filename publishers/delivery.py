"""Send one rendered publication to one channel, and turn any failure into a report line.

Every send goes through ``deliver``: an intent in the ledger before, the result after, and the
ledger's stable send id as the e-mail Message-ID and the webhook Idempotency-Key, so a send
retried after an interruption is recognisably the same one.
"""

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
from churnkb.publishers.ledger import Item, Ledger
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
         rendered: Rendered, send_id: str | None = None) -> str:
    """Deliver to ``channel``; returns a non-secret target description, raises on failure.
    ``send_id`` (stable per send) becomes the Message-ID and the Idempotency-Key header."""
    if channel == "file":
        return rendered.write_files()
    if channel == "email":
        return send_email(settings, recipients_of(spec, owner), rendered.email(), send_id)
    if channel in ("slack", "teams"):
        url, env_name = webhook_url(spec, channel, owner)
        payload = rendered.slack() if channel == "slack" else rendered.teams()
        return post_webhook(url, env_name, channel, payload, send_id)
    raise ChannelError(f"unknown channel {channel!r} for '{owner}'")


@dataclass(frozen=True)
class Delivered:
    target: str
    note: str  # "" or why this may repeat an earlier send


def deliver(settings: Publishing, ledger: Ledger, spec: dict[str, Any], owner: str,
            channel: str, rendered: Rendered, *, kind: str, items: list[Item]) -> Delivered:
    """Send with an intent recorded before and the result after (raises like ``send``).

    A failure the channel answered is recorded as failed; anything else (a timeout after the
    request went out, a crash) leaves the intent open, so the next run knows it may have been
    sent and re-sends it under the same send id (README, "What a send guarantees")."""
    earlier = ledger.unconfirmed(kind, channel, items)
    attempt = ledger.begin(kind, channel, items)
    try:
        target = send(settings, spec, owner, channel, rendered, attempt.send_id)
    except ChannelError as exc:
        if not exc.maybe_delivered:
            ledger.fail(attempt, redact(str(exc)))
        raise
    ledger.finish(attempt, target)
    note = ""
    if earlier is not None:
        same = {"email": "Message-ID", "slack": "Idempotency-Key", "teams": "Idempotency-Key"}
        note = (f"re-sent: an attempt at {earlier.at} may have delivered it already"
                + (f" (same {same[channel]} {attempt.send_id})" if channel in same else ""))
    return Delivered(target, note)


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
            done = deliver(settings, ledger, spec, owner, channel, rendered, kind=kind,
                           items=[(key, "")])
        except Exception as exc:  # noqa: BLE001 - reported per channel, the others still go out
            report.add(kind=kind, department=department, period=period, channel=channel,
                       status="failed", detail=failure_detail(exc, settings, spec))
            continue
        report.add(kind=kind, department=department, period=period, channel=channel,
                   status="sent", target=done.target, detail=done.note)


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
