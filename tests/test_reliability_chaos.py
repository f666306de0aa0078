"""Issue 12 chaos: `churnkb sync` and `churnkb publish` SIGKILLed at seeded random points, then run
again, end where a clean run of the same world ends.

Each kill delay is drawn by ``random.Random(seed)`` within its own slice of a clean run's measured
duration (slice i of N), so the kills spread over start-up, the middle and the end of a run and
the test cannot pass by always killing before anything happened. Every assertion message names
the seed and the delay: ``KILL_FRACTIONS`` style reproduction is ``random.Random(seed)``.
`churnkb publish alerts` is killed at each half-done delivery instead (file written; mail in
before its 250; post in before its answer): its run is too short for random points to land there.
Builds killed at random points are covered by test_warehouse_swap.py; quota stops and dead
tokens over many runs by test_reliability_sync.py.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from churnkb.connectors.raw_zone import read_stream
from churnkb.publishers.ledger import Ledger
from churnkb.sandbox.faults import Faults
from fixtures.connectors import (
    FAST_SOURCES,
    assert_hubspot_matches_store,
    assert_salesforce_matches_store,
    latest_rows,
    next_second,
)
from fixtures.publishers import KeyedReceiver, build_marts, keyed_receiver, smtp_server

from churnkb.config import Config, deep_merge
from churnkb.paths import DataPaths

REPO = Path(__file__).resolve().parents[1]
SYNC_SEEDS = (101, 202, 303)
PUBLISH_SEEDS = (11, 22, 33, 44, 55)


# A re-run is faster than the clean run that measured the duration (warm caches): kill points are
# drawn over its first 65%, where the sends happen.
KILL_SPAN = 0.65


def kill_delay(seed: int, slot: int, slots: int, clean_s: float) -> float:
    """A seeded random point inside slice ``slot`` of ``slots`` of a clean run's early span."""
    return KILL_SPAN * clean_s * (slot + random.Random(seed).random()) / slots


def churnkb(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "churnkb", *args], cwd=REPO,
                            env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run_to_end(args: list[str], env: dict[str, str], limit_s: float = 300
               ) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "churnkb", *args], cwd=REPO,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=limit_s)
    return done, time.monotonic() - started


def kill_after(process: subprocess.Popen, delay_s: float) -> bool:
    """SIGKILL ``process`` ``delay_s`` after it started; False when it had already ended."""
    try:
        process.wait(timeout=delay_s)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    return process.returncode == -signal.SIGKILL


# -- sync -----------------------------------------------------------------------------------------

# Small pages and batches: many checkpoints, so kills fall between and inside them.
SYNC_SOURCES = {"salesforce": {"page_size": 200, "batch_records": 60},
                "hubspot": {"search_page_size": 40, "batch_records": 60}}
# The most rows one kill can make a re-run land again: a batch, filled by whole pages.
IN_FLIGHT = {"salesforce": 60 + 200, "hubspot": 60 + 40}
LATENCY = Faults(latency_ms=40)  # a clean sync lasts a few seconds: room for kills inside it


def raw_content(data_dir: Path, source: str) -> tuple[dict[str, dict[str, tuple]], Counter]:
    """The raw zone canonicalised: per stream, each record's latest landed fields (no ``_``
    landing metadata), and how many rows each stream holds."""
    paths = DataPaths(data_dir)
    latest: dict[str, dict[str, tuple]] = {}
    rows: Counter = Counter()
    for directory in sorted((paths.raw / source).iterdir()):
        table = read_stream(paths, source, directory.name)
        if table is None:
            continue
        rows[directory.name] = table.num_rows
        latest[directory.name] = {key: fields_of(row) for key, row in _by_id(table).items()}
    return latest, rows


def fields_of(row: dict[str, Any]) -> tuple:
    return tuple(sorted((name, value) for name, value in row.items() if not name.startswith("_")))


def _by_id(table: Any) -> dict[Any, dict[str, Any]]:
    """Records by id, latest landed first; association rows (no id) are their own key."""
    for id_column in ("Id", "id"):
        if id_column in table.column_names:
            return latest_rows(table, id_column)
    return {fields_of(row): row for row in table.to_pylist()}


def set_faults(world: Any, faults: Faults) -> None:
    for sandbox in (world.salesforce, world.hubspot):
        sandbox.faults = sandbox.clock.faults = faults


def landed_files(data_dir: Path, source: str) -> int:
    return len(list((data_dir / "raw" / source).rglob("*.parquet")))


@pytest.mark.parametrize("source", ["salesforce", "hubspot"])
def test_syncs_killed_at_random_points_then_rerun_land_what_a_clean_sync_lands(
        connector_world, tmp_path, source):
    world = connector_world(accounts=120, faults=LATENCY, sources=SYNC_SOURCES)
    config_file = tmp_path / "churnkb.yaml"
    config_file.write_text(yaml.safe_dump({"sources": deep_merge(FAST_SOURCES, SYNC_SOURCES)}))

    def sync_args(data_dir: Path) -> list[str]:
        return ["--config", str(config_file), "--data-dir", str(data_dir), "sync", source,
                "--quiet"]

    clean_dir = tmp_path / "clean"
    clean, clean_s = run_to_end(sync_args(clean_dir), world.env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    clean_latest, clean_rows = raw_content(clean_dir, source)
    clean_files = landed_files(clean_dir, source)

    kills = []
    for slot, seed in enumerate(SYNC_SEEDS):
        delay = kill_delay(seed, slot, len(SYNC_SEEDS), clean_s)
        data_dir = tmp_path / f"killed-{seed}"
        where = f"{source} seed {seed}: killed {delay:.2f}s into a {clean_s:.2f}s clean sync"
        set_faults(world, LATENCY)
        killed = kill_after(churnkb(sync_args(data_dir), world.env), delay)
        files_at_kill = landed_files(data_dir, source) if (data_dir / "raw").exists() else 0
        kills.append((seed, round(delay, 2), killed, files_at_kill))
        set_faults(world, Faults())  # the re-run goes at full speed: only its result matters
        next_second()
        rerun, _ = run_to_end(sync_args(data_dir), world.env)
        assert rerun.returncode == 0, f"{where}: {rerun.stdout}{rerun.stderr}"

        world.config = Config(data_dir=data_dir, raw=world.config.raw)
        if source == "salesforce":
            assert_salesforce_matches_store(world)
        else:
            assert_hubspot_matches_store(world)
        latest, rows = raw_content(data_dir, source)
        assert latest == clean_latest, f"{where}: the raw zone differs from the clean sync's"
        # A kill costs at most the batch it interrupted (landed, not yet checkpointed; a batch
        # fills by whole pages): the re-run resumes from the last checkpoint instead of
        # landing everything again.
        relanded = sum(rows.values()) - sum(clean_rows.values())
        assert 0 <= relanded <= IN_FLIGHT[source], (
            f"{where}: {relanded} rows landed again ({dict(rows)} vs clean {dict(clean_rows)})")
        leftovers = [p.name for p in (data_dir / "raw").rglob("*") if p.is_file()
                     and not p.name.endswith(".parquet")]
        assert all(n.startswith(".") and n.endswith(".tmp") for n in leftovers), leftovers

    print(f"{source}: clean sync {clean_s:.2f}s, {clean_files} files; kills "
          f"(seed, delay s, killed, files landed at the kill): {kills}")
    # The kills hit different phases: one before anything landed or early, one mid-stream.
    assert all(killed for _, _, killed, _ in kills), kills
    assert any(0 < files < clean_files for *_, files in kills), kills
    assert min(files for *_, files in kills) < max(files for *_, files in kills), kills


# -- publish --------------------------------------------------------------------------------------

DEPARTMENTS = ("product", "finance", "support", "customer_success", "sales")
WEBHOOK_DELAY_S = 0.2   # a slow Slack: kills land while a post is in flight
SMTP_DELAY_S = 0.1      # a slow relay: kills land after the message is in, before its 250


@dataclass
class PublishWorld:
    """One data dir with the fixture marts, its own SMTP server and webhook receiver."""

    data_dir: Path
    config_file: Path
    mail: Any
    hook: KeyedReceiver
    env: dict[str, str] = field(default_factory=dict)
    what: str = "digests"  # or "alerts"

    @property
    def args(self) -> list[str]:
        common = ["--config", str(self.config_file), "--data-dir", str(self.data_dir), "publish"]
        return [*common, "digests", "--period", "2026-W47"] if self.what == "digests" else [*common, "alerts"]

    def deliveries(self) -> int:
        return len(self.mail.messages) + len(self.hook.posts) + len(self.files())

    def message_ids(self) -> list[str]:
        return [email.message_from_bytes(m.data, policy=email.policy.default)["Message-ID"]
                for m in self.mail.messages]

    def files(self) -> dict[str, str]:
        """Published files by name, as sha256 of their content with this world's data dir
        (quoted in full-digest links) made generic; temporary files left out."""
        paths = DataPaths(self.data_dir)
        root = paths.digests("2026-W47") if self.what == "digests" else paths.alerts
        if not root.exists():
            return {}
        here = str(self.data_dir).encode()
        return {str(p.relative_to(root)):
                hashlib.sha256(p.read_bytes().replace(here, b"DATA_DIR")).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}

    def delivered(self) -> dict[str, Any]:
        return {"email": set(self.message_ids()), "webhook": {key for key, _ in self.hook.posts},
                "files": self.files()}

    def ledger_lines(self) -> list[dict[str, Any]]:
        path = DataPaths(self.data_dir).ledger
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_bytes().splitlines()
                if line.endswith(b"}")]  # a line torn by the kill is not a record


@contextmanager
def publish_world(root: Path, what: str = "digests") -> Iterator[PublishWorld]:
    data_dir = root / "data"
    build_marts(DataPaths(data_dir).warehouse)
    with smtp_server() as (port, mail), keyed_receiver(WEBHOOK_DELAY_S) as hook:
        mail.queued_delay_s = SMTP_DELAY_S
        spec = {"channels": ["file", "email", "slack"], "email": {"to": ["team@example.com"]},
                "slack": {"webhook_env": "TEST_CHAOS_SLACK"}}
        publishing = {"smtp": {"host": "127.0.0.1", "port": port,
                               "sender": "churnkb@example.com"},
                      "departments": {name: spec for name in DEPARTMENTS}}
        config_file = root / "churnkb.yaml"
        config_file.write_text(yaml.safe_dump({"publishing": publishing}))
        yield PublishWorld(data_dir, config_file, mail, hook, {"TEST_CHAOS_SLACK": hook.url}, what)


def sent_email_ids(lines: list[dict[str, Any]]) -> set[str]:
    """send ids of the e-mails whose result the ledger recorded as sent."""
    return {line["send_id"] for line in lines
            if line.get("event") == "sent" and line.get("channel") == "email"}


def assert_nothing_recorded_went_twice(world: PublishWorld, recorded: set[str], where: str) -> None:
    """No mail the killed run had recorded as sent went again (one whose 250 never reached it
    may, under its Message-ID), and a repeated post always carries the same Idempotency-Key."""
    twice = {mid: n for mid, n in Counter(world.message_ids()).items() if n > 1
             and any(send_id in mid for send_id in recorded)}
    assert not twice, f"{where}: mail whose result was recorded went again: {twice}"
    keys_per_payload: dict[str, set] = {}
    for key, payload in world.hook.posts:
        keys_per_payload.setdefault(json.dumps(payload, sort_keys=True), set()).add(key)
    assert all(len(keys) == 1 for keys in keys_per_payload.values()), (
        f"{where}: a repeated post under another Idempotency-Key")


def test_publishes_killed_at_random_points_deliver_what_a_clean_publish_delivers(tmp_path):
    with publish_world(tmp_path / "clean") as clean:
        done, clean_s = run_to_end(clean.args, clean.env)
        assert done.returncode == 0, done.stdout + done.stderr
        expected = clean.delivered()
        expected_sent = {(line["kind"], item[0], line["channel"]) for line in clean.ledger_lines()
                         if line.get("event") == "sent" for item in line["items"]}
        clean_total = clean.deliveries()
    # Each department's digest by file, mail and Slack: a world worth killing mid-way.
    assert len(expected["email"]) == len(expected["webhook"]) == len(DEPARTMENTS), expected
    assert len(clean.mail.messages) == len(clean.hook.posts) == len(DEPARTMENTS)

    kills = []
    for slot, seed in enumerate(PUBLISH_SEEDS):
        delay = kill_delay(seed, slot, len(PUBLISH_SEEDS), clean_s)
        where = f"seed {seed}: killed {delay:.2f}s into a {clean_s:.2f}s clean publish"
        with publish_world(tmp_path / f"killed-{seed}") as world:
            killed = kill_after(churnkb(world.args, world.env), delay)
            at_kill = world.deliveries()
            recorded = sent_email_ids(world.ledger_lines())
            kills.append((seed, round(delay, 2), killed, at_kill))
            for _ in range(3):  # re-run until it exits 0
                rerun, _ = run_to_end(world.args, world.env)
                if rerun.returncode == 0:
                    break
            assert rerun.returncode == 0, f"{where}: {rerun.stdout}{rerun.stderr}"
            before_last = (len(world.mail.messages), len(world.hook.posts), world.files())
            last, _ = run_to_end(world.args, world.env)
            assert last.returncode == 0 and "digests: 0 sent" in last.stdout, (
                f"{where}: the last run sent again: {last.stdout}")
            assert (len(world.mail.messages), len(world.hook.posts),
                    world.files()) == before_last, f"{where}: the last run delivered something"

            assert world.delivered() == expected, f"{where}: delivered {world.delivered()}"
            assert_nothing_recorded_went_twice(world, recorded, where)
            ledger = Ledger.for_data_dir(world.data_dir)
            missing = [s for s in expected_sent if not ledger.was_sent(*s)]
            assert not missing, f"{where}: the ledger does not say these were sent: {missing}"

    print(f"publish: clean {clean_s:.2f}s, {clean_total} deliveries; kills "
          f"(seed, delay s, killed, deliveries at the kill): {kills}")
    assert sum(killed for _, _, killed, _ in kills) >= 3, f"fewer than 3 runs were killed: {kills}"
    assert any(n == 0 for *_, n in kills), f"no kill before the first delivery: {kills}"
    assert any(0 < n < clean_total for *_, n in kills), f"no kill mid-publish: {kills}"


def kill_when(process: subprocess.Popen, happened: Any, limit_s: float = 60) -> bool:
    """SIGKILL ``process`` as soon as ``happened()`` is true; False when it ended first."""
    deadline = time.monotonic() + limit_s
    while process.poll() is None and not happened() and time.monotonic() < deadline:
        time.sleep(0.005)
    return kill_after(process, 0)


ALERT_KILL_POINTS = ("after the alerts file", "mail in, before its 250", "post in, before its answer")


def test_alerts_killed_at_each_delivery_deliver_what_a_clean_publish_delivers(tmp_path):
    """The daily alerts (file, e-mail, Slack for customer success) killed at each point where a
    delivery is half done: the re-run completes it, nothing goes twice, the last run sends nothing."""
    with publish_world(tmp_path / "clean", "alerts") as clean:
        done, _ = run_to_end(clean.args, clean.env)
        assert done.returncode == 0, done.stdout + done.stderr
        expected = clean.delivered()
    assert len(expected["email"]) == len(expected["webhook"]) == 1 and expected["files"], expected

    for point in ALERT_KILL_POINTS:
        with publish_world(tmp_path / point.replace(" ", "-").replace(",", ""), "alerts") as world:
            if point.startswith("mail"):
                world.mail.queued_delay_s = 2.0
            if point.startswith("post"):
                world.hook.hold = threading.Event()
            happened = {"after the alerts file": lambda w=world: bool(w.files()),
                        "mail in, before its 250": lambda w=world: bool(w.mail.messages),
                        "post in, before its answer": lambda w=world: w.hook.arrived.is_set()}[point]
            killed = kill_when(churnkb(world.args, world.env), happened)
            assert killed and happened(), f"{point}: the run ended before the kill point"
            recorded = sent_email_ids(world.ledger_lines())  # results the killed run had recorded
            world.mail.queued_delay_s = SMTP_DELAY_S
            if world.hook.hold is not None:
                world.hook.hold.set()  # the receiver answers the dead sender; the post is in
                world.hook.hold = None
            rerun, _ = run_to_end(world.args, world.env)
            assert rerun.returncode == 0, f"{point}: {rerun.stdout}{rerun.stderr}"
            last, _ = run_to_end(world.args, world.env)
            assert last.returncode == 0 and "alerts: 0 sent" in last.stdout, f"{point}: {last.stdout}"
            assert world.delivered() == expected, f"{point}: delivered {world.delivered()}"
            assert_nothing_recorded_went_twice(world, recorded, point)
