"""Delivery: email over SMTP and Slack/Teams webhooks (files are written by each publisher).

Every failure becomes a ``ChannelError`` whose message names what to fix and never carries a
secret: webhook URLs and SMTP passwords are secrets, so they are never formatted into messages.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import requests
from churnkb.publishers.settings import Publishing

from churnkb.secrets import get_secret, redact

WEBHOOK_TIMEOUT_S = 20
WEBHOOK_RETRIES_ON_429 = 3
MAX_RETRY_AFTER_S = 30
SMTP_TIMEOUT_S = 30
DEFAULT_WEBHOOK_ENV = {"slack": "SLACK_WEBHOOK_URL", "teams": "TEAMS_WEBHOOK_URL"}


class ChannelError(RuntimeError):
    """A channel could not deliver; the message says what to fix."""


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str | None = None
    images: dict[str, bytes] | None = None  # content-id (without <>) -> PNG bytes


def recipients_of(spec: dict[str, Any], owner: str) -> list[str]:
    email = spec.get("email") or {}
    recipients = email.get("to") if isinstance(email, dict) else None
    if isinstance(recipients, str):
        recipients = [recipients]
    if not recipients:
        raise ChannelError(f"publishing '{owner}' lists the email channel but has no "
                           f"email.to recipients; add them to churnkb.yaml")
    return [str(r) for r in recipients]


def build_email(settings: Publishing, to: list[str], content: EmailContent) -> EmailMessage:
    """multipart/alternative (text, then multipart/related HTML with inline cid: images)."""
    smtp = settings.get("smtp", {}) or {}
    message = EmailMessage()
    message["Subject"] = content.subject
    message["From"] = smtp.get("sender") or "churnkb@localhost"
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="churnkb")
    preferences = settings.get("preferences_url")
    if preferences:
        message["List-Unsubscribe"] = f"<{preferences}>"
    message.set_content(content.text, subtype="plain", charset="utf-8")
    if content.html is not None:
        message.add_alternative(content.html, subtype="html", charset="utf-8")
        html_part = message.get_payload()[-1]
        for cid, png in (content.images or {}).items():
            html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cid}>",
                                  filename=f"{cid.split('@')[0]}.png", disposition="inline")
    return message


def send_email(settings: Publishing, to: list[str], content: EmailContent) -> str:
    """Send one message; returns the recipients as the delivery target."""
    smtp = settings.get("smtp", {}) or {}
    host = smtp.get("host")
    if not host:
        raise ChannelError("publishing.smtp.host is not set; set it to your SMTP relay")
    port = int(smtp.get("port") or 25)
    password_env = smtp.get("password_env") or "SMTP_PASSWORD"
    password = get_secret(password_env) if smtp.get("username") else None
    message = build_email(settings, to, content)
    try:
        _deliver(smtp, host, port, password, message)
    except (smtplib.SMTPException, OSError) as exc:
        detail = redact(f"{type(exc).__name__}: {exc}", [password])
        raise ChannelError(f"SMTP {host}:{port} failed ({detail}); check publishing.smtp "
                           f"(host, port, starttls, username) and ${password_env}") from None
    return ", ".join(to)


def _deliver(smtp: dict[str, Any], host: str, port: int, password: str | None,
             message: EmailMessage) -> None:
    timeout = float(smtp.get("timeout") or SMTP_TIMEOUT_S)
    context = ssl.create_default_context(cafile=smtp.get("ca_file"))
    if smtp.get("ssl"):
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        client.ehlo()
        if smtp.get("starttls") and not smtp.get("ssl"):
            client.starttls(context=context)
            client.ehlo()
        if smtp.get("username"):
            if not password:
                raise smtplib.SMTPAuthenticationError(0, b"no password in the environment")
            client.login(str(smtp["username"]), password)
        client.send_message(message)


def webhook_url(spec: dict[str, Any], channel: str, owner: str) -> tuple[str, str]:
    """The webhook URL (a secret) from the env var the config names, and that var's name."""
    section = spec.get(channel) or {}
    env_name = section.get("webhook_env") or DEFAULT_WEBHOOK_ENV[channel]
    url = get_secret(env_name)
    if not url:
        raise ChannelError(f"{channel} webhook for '{owner}' is missing: set the environment "
                           f"variable {env_name} (or Prefect Secret "
                           f"'{env_name.lower().replace('_', '-')}')")
    return url, env_name


def post_webhook(url: str, env_name: str, channel: str, payload: dict[str, Any]) -> str:
    """POST JSON; returns a non-secret description of the target."""
    try:
        response = requests.post(url, json=payload, timeout=WEBHOOK_TIMEOUT_S)
        for _ in range(WEBHOOK_RETRIES_ON_429):
            # Slack allows ~1 message/s per channel and Teams ~4 requests/s; a 429 means "not
            # posted, come back later", so waiting and retrying cannot double-post.
            wait = _retry_after(response)
            if wait is None:
                break
            time.sleep(wait)
            response = requests.post(url, json=payload, timeout=WEBHOOK_TIMEOUT_S)
    except requests.RequestException as exc:
        raise ChannelError(f"{channel} webhook (${env_name}) unreachable "
                           f"({type(exc).__name__}); check the URL in ${env_name}") from None
    if response.status_code >= 300:
        body = redact(response.text[:200], [url])
        raise ChannelError(f"{channel} webhook (${env_name}) answered HTTP "
                           f"{response.status_code}: {body!r}; check the URL in ${env_name} "
                           "and the webhook's limits") from None
    return f"{channel} webhook ${env_name}"


def _retry_after(response: requests.Response) -> float | None:
    """Seconds to wait before retrying a 429, or None when the response is not a 429."""
    if response.status_code != 429:
        return None
    try:
        seconds = float(response.headers.get("Retry-After", "1"))
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)
