"""Secrets come from the environment, else from a Prefect Secret block; they are never logged.

Redaction is by value: every secret read through ``get_secret``, every environment variable whose
name says it holds one (``*TOKEN*``, ``*PASSWORD*``, ``*SECRET*``, ``*WEBHOOK*``, ...) and any value
a caller names is replaced by ``***`` wherever text leaves the process (messages, reports, files,
Prefect artifacts and, once ``install_log_redaction`` ran, every log record). A URL secret (a
webhook) is also redacted by its parts, because an error body or a log line may quote only its
path: the path, each path segment and each query value of ``MIN_PART_CHARS`` or more, in raw and
percent-decoded form. Short or well-known parts (``hooks``, ``services``, ``webhookb2``...) are
not secret and would only garble messages.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import traceback
from collections.abc import Callable, Iterable
from contextlib import suppress
from functools import lru_cache, wraps
from typing import ParamSpec, TypeVar
from urllib.parse import quote, unquote, urlsplit

MASK = "***"
MIN_SECRET_CHARS = 4   # a whole secret value shorter than this is not worth masking
MIN_PART_CHARS = 8     # parts of a URL secret: shorter ones are words, not keys
SECRET_NAME = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|WEBHOOK|API_?KEY|PRIVATE_KEY|CREDENTIAL",
                         re.IGNORECASE)
# Read through get_secret but not secret: where a CRM lives and who logs in.
NOT_SECRET = {"SALESFORCE_INSTANCE_URL", "HUBSPOT_BASE_URL", "SALESFORCE_USERNAME"}
# Path words of the webhook URLs Slack, Teams and Power Automate hand out: public, not keys.
# Values of "secret" variables that are settings, not secrets (FOO_TOKEN_REFRESH=true).
NOT_SECRET_VALUES = {"true", "false", "none", "null", "yes", "no", "enabled", "disabled"}
PUBLIC_PARTS = {"services", "webhooks", "webhook", "webhookb2", "incomingwebhook", "workflows",
                "triggers", "manual", "invoke", "api-version", "powerautomate", "hooks"}

_seen: set[str] = set()
_seen_lock = threading.Lock()


def get_secret(name: str, *, required: bool = False) -> str | None:
    """Read ``NAME`` from the environment, then the Prefect Secret block ``name`` (lower, dashes).
    A value read here is remembered, so ``redact`` masks it from then on."""
    value = os.environ.get(name)
    if not value and os.environ.get("PREFECT_API_URL"):
        value = _secret_block(name.lower().replace("_", "-"))
    if value:
        if name not in NOT_SECRET:
            remember_secret(value)
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


def remember_secret(value: str | None) -> None:
    """Mask ``value`` (and, for a URL, its parts) in everything ``redact`` cleans from now on."""
    if value and len(value) >= MIN_SECRET_CHARS and value.lower() not in NOT_SECRET_VALUES:
        with _seen_lock:
            _seen.add(value)


def known_secrets() -> set[str]:
    """Every secret value this process knows: read through get_secret, or in an environment
    variable whose name says it is one."""
    from_env = {value for name, value in os.environ.items()
                if len(value) >= MIN_SECRET_CHARS and name not in NOT_SECRET
                and SECRET_NAME.search(name) and value.lower() not in NOT_SECRET_VALUES}
    with _seen_lock:
        return _seen | from_env


@lru_cache(maxsize=512)
def secret_parts(value: str) -> frozenset[str]:
    """The strings that give ``value`` away: itself and, for a URL, the URL without its scheme,
    its path, and each meaningful path segment and query value (raw and percent-decoded)."""
    parts = {value, quote(value, safe="")}
    if "://" in value:
        split = urlsplit(value)
        parts.add(value.split("://", 1)[1])
        parts.update({split.path, unquote(split.path)})
        if split.password:
            parts.add(split.password)
        for segment in split.path.split("/"):
            parts.update(_meaningful(segment))
        for pair in split.query.split("&"):
            parts.update(_meaningful(pair.partition("=")[2]))
        if split.query:
            parts.add(f"{split.path}?{split.query}")
    return frozenset(p for p in parts if len(p) >= MIN_SECRET_CHARS)


def _meaningful(raw: str) -> set[str]:
    forms = {raw, unquote(raw), unquote(raw.replace("+", " "))}
    return {f for f in forms if len(f) >= MIN_PART_CHARS and f.lower() not in PUBLIC_PARTS}


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every known secret (plus ``secrets``) and every telling part of one masked;
    used on anything that may reach a log, a report, a file or an artifact."""
    values = known_secrets() | {s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}
    if not text or not values:
        return text
    parts: set[str] = set()
    for value in values:
        parts |= secret_parts(value)
    for part in sorted(parts, key=len, reverse=True):  # the whole URL before its segments
        if part in text:
            text = text.replace(part, MASK)
    return text


# -- logging --------------------------------------------------------------------------------------

_installed = False
_P = ParamSpec("_P")
_R = TypeVar("_R")
# Where exception types keep text outside ``args`` (OSError, http.client, urllib3, requests).
_TEXT_ATTRIBUTES = ("strerror", "filename", "filename2", "msg", "message", "reason", "url")


def redacting_exceptions(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Re-raise whatever escapes ``function`` with secrets masked in its text (and in its causes'),
    same type and traceback. Prefect stores an escaping exception's text as the run's state
    message and result, through its API, where log redaction never looks."""

    @wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            redact_exception(exc)
            raise

    return wrapper


def redact_exception(exc: BaseException) -> None:
    """Mask secrets in ``exc`` in place: its args, the text attributes its type keeps, its chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current)
        if redact(text) != text:
            current.args = tuple(redact(a) if isinstance(a, str) else a for a in current.args) or (redact(text),)
            for name in _TEXT_ATTRIBUTES:
                value = getattr(current, name, None)
                if isinstance(value, str) and redact(value) != value:
                    with suppress(AttributeError):  # a read-only property
                        setattr(current, name, redact(value))
            if redact(str(current)) != str(current):  # __str__ reads something else still
                current.args = (redact(str(current)),)
        current = current.__cause__ or current.__context__


def install_log_redaction() -> None:
    """Mask secrets in every log record this process makes, whatever logger (Prefect's, dbt's,
    ours) and whatever handler (console, file, the Prefect API) it goes to: the record factory
    sees each record before any handler formats it. Idempotent."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:  # noqa: ANN002, ANN003
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def redact_record(record: logging.LogRecord) -> None:
    """Replace the message (and a traceback's text) of ``record`` by its redacted form."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string is the logging module's to report
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        clean = redact(text)
        if clean != text:
            record.exc_text = clean  # formatters use exc_text when it is set
