"""The optional LLM back-end against a real OpenAI-compatible server on 127.0.0.1.

The server answers by keyword with categories the local model would not give ("zebra" notes are
`involuntary`), so each test can tell who answered; it records every request and header.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest
from fixtures.loopback import loopback_http_server, serving

from churnkb.classification.llm import llm_settings
from churnkb.classification.service import classify_items
from churnkb.classification.store import load_model
from churnkb.classification.warehouse_model import ITEM_COLUMNS, classified_items
from churnkb.config import ConfigError

REPO = Path(__file__).resolve().parents[1]
KEY = "sk-loopback-test-key-4711"
NOTES = {f"n{i}": f"zebra note {i}: support was slow and tickets sat for weeks" for i in range(5)}
NOTES["plain"] = "Too expensive for what they use, the renewal quote went up 30%."


class Server:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.mode = "ok"  # ok | slow | garbage | error | unknown_category
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if outer.mode == "slow":
                    time.sleep(1.5)
                if outer.mode == "error":
                    return self._send(500, b'{"error": "boom"}')
                if outer.mode == "garbage":
                    return self._send(200, b"<html>not json</html>")
                notes = json.loads(body["messages"][1]["content"])["notes"]
                items = [outer.answer(n) for n in notes]
                content = json.dumps({"items": items})
                self._send(200, json.dumps({"choices": [{"message": {"content": content}}]}).encode())

            def _send(self, status: int, data: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = loopback_http_server(Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"

    def answer(self, note: dict[str, str]) -> dict[str, Any]:
        if "zebra" in note["text"]:
            category = "bogus" if self.mode == "unknown_category" else "involuntary"
            return {"id": note["id"], "categories": [category, "needs"], "primary": category, "confidence": 0.91}
        return {"id": note["id"], "categories": ["pricing"], "primary": "pricing", "confidence": 0.8}


@pytest.fixture(scope="module")
def server():
    server = Server()
    with serving(server.httpd):
        yield server


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return load_model(tmp_path_factory.mktemp("model-data"))


def settings(server: Server, **extra: Any):
    return llm_settings({"backend": "llm", "llm": {"base_url": server.url, "model": "loopback-1",
                                                   "batch_size": 2, "max_retries": 1, "timeout_s": 0.5,
                                                   **extra}})


def test_default_config_sends_nothing(server, model, tmp_path):
    server.requests.clear()
    results = classify_items(NOTES.items(), tmp_path, model=model, llm=llm_settings({}))
    assert server.requests == []
    assert {r.classified_by for r in results} == {"model"}
    assert "involuntary" not in {r.primary_category for r in results}


def test_llm_answers_in_batches_then_from_the_cache(server, model, tmp_path, monkeypatch):
    monkeypatch.setenv("CHURNKB_LLM_API_KEY", KEY)
    server.requests.clear()
    server.mode = "ok"
    first = classify_items(NOTES.items(), tmp_path, model=model, llm=settings(server))
    assert len(server.requests) == math.ceil(len(NOTES) / 2)
    assert all(r["path"] == "/v1/chat/completions" for r in server.requests)
    assert {r["headers"]["Authorization"] for r in server.requests} == {f"Bearer {KEY}"}
    schema = server.requests[0]["body"]["response_format"]
    assert schema["type"] == "json_schema" and schema["json_schema"]["strict"] is True
    by_id = {r.id: r for r in first}
    assert by_id["n0"].classified_by == "llm" and by_id["n0"].categories == ["involuntary", "needs"]
    assert by_id["n0"].confidence == 0.91 and by_id["plain"].primary_category == "pricing"
    assert by_id["n0"].department == "finance"
    server.requests.clear()
    again = classify_items(NOTES.items(), tmp_path, model=model, llm=settings(server))
    assert server.requests == []
    assert again == first
    cache = (tmp_path / "classification" / "llm_cache" / "answers.jsonl").read_text()
    assert KEY not in cache and "zebra" not in cache


def test_torn_cache_line_is_tolerated(server, model, tmp_path):
    server.mode = "ok"
    classify_items(list(NOTES.items())[:2], tmp_path, model=model, llm=settings(server))
    cache = tmp_path / "classification" / "llm_cache" / "answers.jsonl"
    cache.write_text(cache.read_text() + '{"key": "abc", "categ')  # a killed run
    server.requests.clear()
    results = classify_items(NOTES.items(), tmp_path, model=model, llm=settings(server))
    assert len(server.requests) == 2  # the 4 unseen notes
    assert {r.classified_by for r in results} == {"llm"}
    server.requests.clear()
    classify_items(NOTES.items(), tmp_path, model=model, llm=settings(server))
    assert server.requests == []


@pytest.mark.parametrize("mode", ["slow", "garbage", "error", "unknown_category"])
def test_failures_fall_back_to_the_local_model(server, model, tmp_path, mode, caplog):
    server.mode = mode
    server.requests.clear()
    local = {r.id: r for r in classify_items(NOTES.items(), tmp_path / "local", model=model)}
    results = classify_items(NOTES.items(), tmp_path, model=model, llm=settings(server))
    server.mode = "ok"
    zebras = [r for r in results if r.id.startswith("n")]
    assert all(r.classified_by == "model" and r == local[r.id] for r in zebras)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "classified by the local model" in warnings[0]
    if mode in ("slow", "error"):  # retried once, then the next batches; bounded
        assert len(server.requests) <= 2 * math.ceil(len(NOTES) / 2)
    if mode == "unknown_category":  # the note the server answered validly keeps its answer
        assert {r.id: r.classified_by for r in results}["plain"] == "llm"


def test_bad_backend_config_is_a_config_error():
    with pytest.raises(ConfigError, match="backend must be one of local, llm"):
        llm_settings({"backend": "gpt"})
    with pytest.raises(ConfigError, match="classification.llm.base_url, classification.llm.model"):
        llm_settings({"backend": "llm"})


def cli(tmp_path: Path, config: Path, stdin: str, key: str | None = KEY) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    if key:
        env["CHURNKB_LLM_API_KEY"] = key
    return subprocess.run([sys.executable, "-m", "churnkb", "classify", "--config", str(config),
                           "--data-dir", str(tmp_path / "data")],
                          input=stdin, capture_output=True, text=True, cwd=REPO, timeout=120, env=env)


def write_config(tmp_path: Path, server: Server, backend: str = "llm") -> Path:
    config = tmp_path / "churnkb.yaml"
    config.write_text(json.dumps({"classification": {"backend": backend, "llm": {
        "base_url": server.url, "model": "loopback-1", "batch_size": 4, "timeout_s": 0.5, "max_retries": 1}}}))
    return config


def test_cli_and_warehouse_path_agree_with_the_llm_backend(server, tmp_path):
    server.mode = "ok"
    server.requests.clear()
    stdin = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in NOTES.items())
    out = cli(tmp_path, write_config(tmp_path, server), stdin)
    assert out.returncode == 0, out.stderr
    from_cli = {r["id"]: r for r in map(json.loads, out.stdout.splitlines())}
    assert from_cli["n3"]["primary_category"] == "involuntary" and from_cli["n3"]["classified_by"] == "llm"
    assert len(server.requests) == 2
    assert KEY not in out.stdout + out.stderr

    server.requests.clear()
    rows = classified_rows(tmp_path / "data", server)
    assert server.requests == []  # the CLI's answers are in the same cache
    for row in rows:
        cli_row = from_cli[row["feedback_id"]]
        assert (row["categories"], row["category"], row["category_confidence"], row["classified_by"]) == (
            cli_row["categories"], cli_row["primary_category"], cli_row["confidence"], cli_row["classified_by"])
    for path in (tmp_path / "data").rglob("*"):
        assert not path.is_file() or KEY.encode() not in path.read_bytes()


def classified_rows(data_dir: Path, server: Server) -> list[dict[str, Any]]:
    """What the dbt Python model returns, called as dbt-duckdb calls it (no dbt build: minutes)."""
    session = duckdb.connect()
    session.execute(f"create table collected ({', '.join(f'{c} varchar' for c in ITEM_COLUMNS)})")
    for item_id, text in NOTES.items():
        session.execute("insert into collected (feedback_id, body_text) values (?, ?)", [item_id, text])
    llm = settings(server).as_dict()
    config = {"data_dir": str(data_dir), "classification_features": "{}", "classification_llm": json.dumps(llm)}
    dbt = SimpleNamespace(config=SimpleNamespace(get=config.get), is_incremental=False, this="collected")
    return classified_items(dbt, session, session.table("collected")).to_pylist()


def test_cli_falls_back_with_one_warning_and_exit_0(server, tmp_path):
    server.mode = "error"
    try:
        stdin = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in NOTES.items())
        out = cli(tmp_path, write_config(tmp_path, server), stdin)
    finally:
        server.mode = "ok"
    assert out.returncode == 0, out.stderr
    assert {r["classified_by"] for r in map(json.loads, out.stdout.splitlines())} == {"model"}
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "HTTP 500" in lines[0] and "Traceback" not in out.stderr
    assert KEY not in out.stdout + out.stderr


def test_cli_bad_backend_exits_2(server, tmp_path):
    out = cli(tmp_path, write_config(tmp_path, server, backend="gpt"), "")
    assert out.returncode == 2 and "backend must be one of" in out.stderr
