"""Weekly (or monthly) departmental digests: build from the marts, render, send once per channel."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

from churnkb.publishers.channels import EmailContent
from churnkb.publishers.chart import render_chart, render_chart_svg
from churnkb.publishers.content import Digest, build_digest
from churnkb.publishers.delivery import Rendered, publish_once
from churnkb.publishers.ledger import Ledger
from churnkb.publishers.marts import MartReader, open_marts
from churnkb.publishers.periods import Period, last_complete_period, period_containing
from churnkb.publishers.render import to_html, to_markdown, to_slack, to_teams, to_text
from churnkb.publishers.report import PublishReport
from churnkb.publishers.settings import Publishing

from churnkb.config import Config
from churnkb.paths import DataPaths

CHART_CID = "churn-chart@churnkb"


def publish_digests(config: Config, *, period_end: date | None = None,
                    now: datetime | None = None, dry_run: bool = False) -> PublishReport:
    """One digest per configured department for the period containing ``period_end``
    (default: the last complete period before ``now``). ``dry_run`` builds but sends nothing."""
    settings = Publishing.from_config(config)
    now = now or datetime.now(UTC)
    today = settings.local_date(now)
    period = (period_containing(period_end, settings.period_kind) if period_end
              else last_complete_period(today, settings.period_kind))
    digests = build_all(config, settings, period, today)
    ledger = Ledger.for_data_dir(config.data_dir)
    report = PublishReport()
    for department, digest in digests.items():
        if digest.is_empty():
            report.add(kind="digest", department=department, period=period.label, channel=None,
                       status="empty", detail="nothing to report this period: not sent")
            continue
        directory = DataPaths(config.data_dir).digests(period.label)
        publish_once(settings=settings, ledger=ledger, report=report, kind="digest",
                     key=f"{department}|{period.label}", department=department,
                     period=period.label, spec=settings.target(department), owner=department,
                     rendered=rendered_digest(digest, directory, settings), dry_run=dry_run)
    return report


def build_all(config: Config, settings: Publishing, period: Period,
              today: date) -> dict[str, Digest]:
    """Read everything under the warehouse reader lock, then let go before sending anything."""
    with open_marts(config) as con:
        reader = MartReader(con)
        digests = {name: build_digest(reader, settings, name, period, today)
                   for name in settings.departments}
    for name, digest in digests.items():
        digest.full_digest_url = full_digest_url(config, settings, period, name)
    return digests


def full_digest_url(config: Config, settings: Publishing, period: Period, department: str) -> str:
    base = settings.get("digest_url_base")
    if base:
        return f"{str(base).rstrip('/')}/{period.label}/{department}.html"
    path = DataPaths(config.data_dir).digests(period.label) / f"{department}.html"
    return str(path)


def rendered_digest(digest: Digest, directory: Path, settings: Publishing) -> Rendered:
    chart = render_chart(digest.chart)
    preferences = settings.get("preferences_url")

    def write_files() -> str:
        return write_digest_files(digest, directory, chart, preferences,
                                  render_chart_svg(digest.chart))

    def email() -> EmailContent:
        return EmailContent(subject=digest.subject, text=to_text(digest),
                            html=to_html(digest, f"cid:{CHART_CID}", preferences),
                            images={CHART_CID: chart})

    def preview(channel: str, spec: dict, owner: str) -> str:
        return dry_run_preview(digest, channel, spec, owner, directory, chart)

    return Rendered(write_files, email, lambda: to_slack(digest), lambda: to_teams(digest),
                    preview)


def dry_run_preview(digest: Digest, channel: str, spec: dict, owner: str, directory: Path,
                    chart: bytes) -> str:
    """Where it would go, to whom, under which subject, how big, and how it starts."""
    text = to_text(digest)
    if channel == "email":
        to = ", ".join(spec.get("email", {}).get("to") or []) if isinstance(
            spec.get("email", {}).get("to"), list) else str(spec.get("email", {}).get("to"))
        size = len(text.encode()) + len(to_html(digest, "cid:x").encode()) + len(chart)
        whom = f"to {to}"
    elif channel in ("slack", "teams"):
        payload = to_slack(digest) if channel == "slack" else to_teams(digest)
        env = (spec.get(channel) or {}).get("webhook_env") or "its webhook"
        size = len(json.dumps(payload, ensure_ascii=False).encode())
        whom = f"to the webhook in {env}"
    else:
        size = len(text.encode()) + len(chart)
        whom = f"into {directory}"
    first = " / ".join(line.strip() for line in text.splitlines()[3:8] if line.strip())
    return (f"by {channel} {whom}; subject: {digest.subject}; {size:,} bytes; "
            f"preview: {first[:200]}")


def write_digest_files(digest: Digest, directory: Path, chart: bytes,
                       preferences_url: str | None, chart_svg: bytes | None = None) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    stem = digest.department
    chart_name = f"{stem}.png"
    files: dict[str, str | bytes] = {
        chart_name: chart,
        **({f"{stem}.svg": chart_svg} if chart_svg is not None else {}),
        f"{stem}.md": to_markdown(digest, chart_name),
        # Browsers draw the SVG crisply at any zoom; e-mail gets the PNG.
        f"{stem}.html": to_html(digest, f"{stem}.svg" if chart_svg is not None else chart_name,
                                preferences_url),
        f"{stem}.txt": to_text(digest),
        f"{stem}.slack.json": json.dumps(to_slack(digest), ensure_ascii=False, indent=2),
        f"{stem}.teams.json": json.dumps(to_teams(digest), ensure_ascii=False, indent=2),
    }
    for name, content in files.items():
        _atomic_write(directory / name, content)
    return str(directory / f"{stem}.html")


def _atomic_write(path: Path, content: str | bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    if isinstance(content, bytes):
        temp.write_bytes(content)
    else:
        temp.write_text(content, encoding="utf-8")
    os.replace(temp, path)
