"""A small threaded HTTP server on loopback that both sandbox CRMs share.

Apps implement ``handle(request) -> Response``; the server adds latency, counts and logs every
request (so tests can count API calls), and runs on 127.0.0.1 on a free port. Like the front ends
of both real APIs it refuses a request URL longer than about 16,000 characters with 414 before
the app sees it (long HubSpot ``properties=`` lists, long SOQL in ``?q=``).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import orjson

# Both real front ends answer 414 URI Too Long near 16k characters (Salesforce's
# REST query GET has the same limit). Counted over the request target: path plus query string.
MAX_URL_CHARS = 16_000
_URI_TOO_LONG = (b"<html><head><title>414 Request-URI Too Large</title></head><body>"
                 b"<center><h1>414 Request-URI Too Large</h1></center></body></html>")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int
    body: Any = None  # dict/list -> JSON; bytes/str sent as they are
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/octet-stream")
        if isinstance(self.body, str):
            return self.body.encode(), self.headers.get("Content-Type", "text/plain; charset=utf-8")
        if self.body is None:
            return b"", "application/json"
        return encode_json(self.body), "application/json;charset=UTF-8"


def encode_json(body: Any) -> bytes:
    """orjson is several times faster than json on 2000-record pages (it is a dependency);
    the stdlib encoder stays as the fallback for what orjson refuses (e.g. huge ints)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body).encode()


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: str
    status: int
    at: float


class App(Protocol):
    def handle(self, request: Request) -> Response: ...


class SandboxHTTPServer:
    """Runs an ``App`` on 127.0.0.1 in a background thread; a context manager."""

    def __init__(self, app: App, *, port: int = 0, latency_ms: int = 0,
                 max_url_chars: int = MAX_URL_CHARS) -> None:
        self.app = app
        self.latency_ms = latency_ms  # read per request, so it may be changed while running
        self.max_url_chars = max_url_chars
        self.request_log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        # A short poll interval makes stop() quick (the default 0.5 s adds up over a test suite).
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SandboxHTTPServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _record(self, record: RequestRecord) -> None:
        with self._log_lock:
            self.request_log.append(record)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _dispatch(self) -> None:
                if server.latency_ms:
                    time.sleep(server.latency_ms / 1000)
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""  # read even if refused
                if len(self.path) > server.max_url_chars:
                    response = Response(414, _URI_TOO_LONG,
                                        {"Content-Type": "text/html", "Connection": "close"})
                    self.close_connection = True
                else:
                    response = self._answer(parts.path, parts.query, body)
                payload, content_type = response.encoded()
                self.send_response(response.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in response.headers.items():
                    if name.lower() not in ("content-type", "content-length"):
                        self.send_header(name, value)
                self.end_headers()
                # Logged before the body goes out, so a client that has its answer finds it logged.
                server._record(RequestRecord(self.command, parts.path, parts.query,
                                             response.status, time.time()))
                self.wfile.write(payload)

            def _answer(self, path: str, query: str, body: bytes) -> Response:
                request = Request(
                    method=self.command,
                    path=path,
                    query=parse_qs(query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                try:
                    return server.app.handle(request)
                except Exception as exc:  # a sandbox bug must look like a 500, not a hang
                    return Response(500, {"message": f"sandbox error: {exc!r}"})

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _dispatch

        return Handler


class SandboxLifecycle:
    """Start/stop, request log and fault switching that both sandbox CRMs share.

    A subclass sets ``self.faults``, ``self.clock`` (a ``FaultClock``) and ``self._server`` (a
    ``SandboxHTTPServer`` serving it) in its ``__init__``.
    """

    faults: Any
    clock: Any
    _server: SandboxHTTPServer

    def start(self) -> str:
        return self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Any:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def request_log(self) -> list[RequestRecord]:
        return self._server.request_log

    def requests_for(self, path_prefix: str) -> int:
        """How many requests (any status) were served under ``path_prefix``."""
        return sum(1 for record in self.request_log if record.path.startswith(path_prefix))

    def reset_quota(self) -> None:
        """A new day: the daily quota is available again."""
        self.clock.reset_quota()

    def set_faults(self, faults: Any) -> None:
        """Switch faults mid-test (the server's, the fault clock's and the latency together);
        request, quota and session counters carry on."""
        self.faults = faults
        self.clock.set_faults(faults)
        self._server.latency_ms = faults.latency_ms
