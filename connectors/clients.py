"""Client construction for both CRMs, pointed at any base URL (real org or loopback sandbox)."""

from __future__ import annotations

import os
import ssl
from urllib.parse import urlsplit

import requests
from hubspot import HubSpot
from simple_salesforce import Salesforce
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

DEFAULT_SALESFORCE_API_VERSION = "59.0"


class PlainHTTPAdapter(requests.adapters.HTTPAdapter):
    """simple-salesforce always builds https URLs; this sends them as plain http (loopback sandboxes)."""

    def send(self, request: requests.PreparedRequest, **kwargs):  # type: ignore[override]
        request.url = request.url.replace("https://", "http://", 1)
        return super().send(request, **kwargs)


def http_retry(total: int = 6, backoff_factor: float = 0.5) -> Retry:
    """Retry 429, 5xx and read timeouts on every method (urllib3 skips POST by default), honouring
    Retry-After. Never a refused connection, a failed DNS lookup or TLS: waiting cannot fix them."""
    return Retry(
        total=total,
        connect=0,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,
        backoff_factor=backoff_factor,
        backoff_max=30,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def salesforce_session(instance_url: str, *, retry: Retry | None = None) -> tuple[requests.Session, str]:
    """A requests session that can reach ``instance_url``, and the https form simple-salesforce expects.

    simple-salesforce has no retries of its own, so ``retry`` is mounted on the session adapter.
    """
    session = requests.Session()
    parts = urlsplit(instance_url)
    max_retries = retry if retry is not None else 0
    if parts.scheme == "http":
        https_url = f"https://{parts.netloc}"
        session.mount(https_url, PlainHTTPAdapter(max_retries=max_retries))
        return session, https_url
    session.mount("https://", requests.adapters.HTTPAdapter(max_retries=max_retries))
    return session, f"{parts.scheme}://{parts.netloc}"


def salesforce_client(
    instance_url: str,
    access_token: str,
    *,
    version: str = DEFAULT_SALESFORCE_API_VERSION,
    session: requests.Session | None = None,
    retry: Retry | None = None,
) -> Salesforce:
    """simple-salesforce with direct session-id auth against ``instance_url`` (http or https)."""
    default_session, https_url = salesforce_session(instance_url, retry=retry)
    return Salesforce(
        instance_url=https_url,
        session_id=access_token,
        session=session or default_session,
        version=version,
        object_pairs_hook=dict,
    )


class HubSpotRetry(Retry):
    """``http_retry`` that gives up at once on HubSpot's DAILY limit: waiting cannot fix it."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None,
                  _stacktrace=None):  # type: ignore[override]
        if response is not None and response.status == 429 and is_daily_limit(response):
            raise MaxRetryError(_pool, url, ResponseError("HubSpot DAILY limit reached"))
        return super().increment(method, url, response, error, _pool, _stacktrace)


def is_daily_limit(response) -> bool:  # urllib3.HTTPResponse
    if response.headers.get("X-HubSpot-RateLimit-Daily-Remaining") == "0":
        return True
    body = response.data or b""  # read once; urllib3 caches it for the caller
    return b'"DAILY"' in body


def hubspot_retry(total: int = 6, backoff_factor: float = 0.5) -> Retry:
    """Retry 429 and 5xx on every method, honouring Retry-After, except the DAILY limit."""
    base = http_retry(total, backoff_factor)
    return HubSpotRetry(**{key: getattr(base, key) for key in (
        "total", "connect", "status_forcelist", "allowed_methods", "backoff_factor", "backoff_max",
        "respect_retry_after_header", "raise_on_status")})


def hubspot_client(base_url: str, access_token: str, *, retry: Retry | None = None) -> HubSpot:
    """hubspot-api-client against ``base_url`` (``https://api.hubapi.com`` or a loopback sandbox)."""
    return HubSpot(access_token=access_token, host=base_url.rstrip("/"), retry=retry)


# Where each source's address comes from, for "cannot connect" messages.
URL_VARIABLES = {"salesforce": "SALESFORCE_INSTANCE_URL", "hubspot": "HUBSPOT_BASE_URL"}
DEFAULT_URLS = {"hubspot": "https://api.hubapi.com"}


def connection_failure(exc: BaseException) -> str | None:
    """'connection refused', 'DNS lookup failed' or 'TLS failed' when ``exc`` (or what caused
    it) means the server cannot be reached at all; None for anything else. Waiting and retrying
    cannot fix these, so a sync stops that source at once."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        text = f"{type(current).__name__} {current}"
        if isinstance(current, ssl.SSLError) or "SSLError" in text or "CERTIFICATE_VERIFY" in text:
            return "TLS failed"
        if "NameResolutionError" in text or "Name or service not known" in text \
                or "nodename nor servname" in text or "getaddrinfo failed" in text:
            return "DNS lookup failed"
        if isinstance(current, ConnectionRefusedError) or "Connection refused" in text:
            return "connection refused"
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
        pending += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)
    return None


def unreachable_message(source: str, reason: str) -> str:
    variable = URL_VARIABLES[source]
    url = os.environ.get(variable) or DEFAULT_URLS.get(source, "(not set)")
    return f"cannot connect to {url} ({reason}); check {variable}"
