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
    """A channel could not deliver; the message says what to fix.

    ``maybe_delivered`` is True when the channel may have taken the message anyway (a webhook
    that timed out after the request went out, an SMTP connection lost after DATA): the ledger
    then keeps the send unconfirmed instead of failed."""

    def __init__(self, message: str, *, maybe_delivered: bool = False) -> None:
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


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


def message_id(sender: str, send_id: str | None) -> str:
    """``<send id@sender's domain>``: the same on every try of one send, so a re-send after an
    interrupted one is recognisable as the same message; unique across organisations because the
    right-hand side is the sender's own domain (RFC 5322 3.6.4)."""
    domain = sender.rpartition("@")[2].strip("<> ") or "churnkb.localhost"
    if not send_id:
        return make_msgid(domain=domain)
    return f"<churnkb.{send_id}@{domain}>"


def build_email(settings: Publishing, to: list[str], content: EmailContent,
                send_id: str | None = None) -> EmailMessage:
    """multipart/alternative (text, then multipart/related HTML with inline cid: images)."""
    smtp = settings.get("smtp", {}) or {}
    sender = smtp.get("sender") or "churnkb@localhost"
    message = EmailMessage()
    message["Subject"] = content.subject
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id(str(sender), send_id)
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


def send_email(settings: Publishing, to: list[str], content: EmailContent,
               send_id: str | None = None) -> str:
    """Send one message; returns the recipients as the delivery target."""
    smtp = settings.get("smtp", {}) or {}
    host = smtp.get("host")
    if not host:
        raise ChannelError("publishing.smtp.host is not set; set it to your SMTP relay")
    port = int(smtp.get("port") or 25)
    password_env = smtp.get("password_env") or "SMTP_PASSWORD"
    password = get_secret(password_env) if smtp.get("username") else None
    message = build_email(settings, to, content, send_id)
    try:
        _deliver(smtp, host, port, password, message)
    except (smtplib.SMTPException, OSError) as exc:
        detail = redact(f"{type(exc).__name__}: {exc}", [password])
        raise ChannelError(f"SMTP {host}:{port} failed ({detail}); check publishing.smtp "
                           f"(host, port, starttls, username) and ${password_env}",
                           maybe_delivered=_smtp_maybe_delivered(exc)) from None
    return ", ".join(to)


def _smtp_maybe_delivered(exc: BaseException) -> bool:
    """A refusal the server answered (or a connection never made) delivered nothing; a
    connection lost or timed out mid-conversation may have been lost after the server took it."""
    refused = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused,
               smtplib.SMTPSenderRefused, smtplib.SMTPNotSupportedError, ConnectionRefusedError)
    return not isinstance(exc, refused)


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


def post_webhook(url: str, env_name: str, channel: str, payload: dict[str, Any],
                 idempotency_key: str | None = None) -> str:
    """POST JSON; returns a non-secret description of the target.

    ``idempotency_key`` goes out as the ``Idempotency-Key`` header, the same on every try of one
    send: a receiver that honours it shows a re-sent message once (Slack and Teams ignore it)."""
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    try:
        response = requests.post(url, json=payload, headers=headers, timeout=WEBHOOK_TIMEOUT_S)
        for _ in range(WEBHOOK_RETRIES_ON_429):
            # Slack allows ~1 message/s per channel and Teams ~4 requests/s; a 429 means "not
            # posted, come back later", so waiting and retrying cannot double-post.
            wait = _retry_after(response)
            if wait is None:
                break
            time.sleep(wait)
            response = requests.post(url, json=payload, headers=headers,
                                     timeout=WEBHOOK_TIMEOUT_S)
    except requests.RequestException as exc:
        # A read timeout means the request went out and no answer came: it may have been posted.
        maybe = isinstance(exc, requests.Timeout) and not isinstance(exc, requests.ConnectTimeout)
        raise ChannelError(f"{channel} webhook (${env_name}) unreachable "
                           f"({type(exc).__name__}); check the URL in ${env_name}",
                           maybe_delivered=maybe) from None
    if response.status_code >= 300:
        # Redact before trimming: a cut could leave the start of a secret unmatched.
        body = redact(response.text, [url])[:200]
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
