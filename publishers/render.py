"""Render a ``Digest`` as Markdown, HTML, plain text, Slack Block Kit and a Teams Adaptive Card.

Each renderer escapes the (already cleaned) CRM text for its own format; chat formats stay within
the platform limits by trimming and pointing at the full digest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import Any

import jinja2
from churnkb.publishers.chart import CHART_HEIGHT, CHART_WIDTH, colour_of
from churnkb.publishers.content import Cell, Digest, Link, Metric, format_money
from churnkb.publishers.text import escape_markdown, escape_slack, escape_teams, trim

# Slack Block Kit limits (api.slack.com/reference/block-kit/blocks; NOTES.md 8.3).
SLACK_MAX_BLOCKS = 50
SLACK_SECTION_CHARS = 3000
SLACK_HEADER_CHARS = 150
SLACK_TOTAL_CHARS = 12_000   # ~13k characters of blocks gives msg_blocks_too_long
SLACK_FALLBACK_CHARS = 3000
# Teams Workflows webhooks reject ~28 KB; ~21 KB is the practical ceiling.
TEAMS_MAX_BYTES = 20_000


def _cell_text(cell: Cell) -> str:
    return cell.text if isinstance(cell, Link) else cell


def _metric_value(metric: Metric, value: float) -> str:
    return format_money(value) if metric.money else str(int(value))


def _metric_line(metric: Metric) -> str:
    return (f"{metric.label}: {_metric_value(metric, metric.current)} "
            f"({metric.trend} from {_metric_value(metric, metric.previous)})")


def pointer_text(digest: Digest) -> str:
    return f"Full digest: {digest.full_digest_url}" if digest.full_digest_url else ""


# -- Markdown and plain text ----------------------------------------------------------------------

def to_markdown(digest: Digest, chart_file: str | None = None) -> str:
    lines = [f"# {escape_markdown(digest.title)}", "",
             f"{digest.period.start} to {digest.period.last_day}", ""]
    lines += [f"- {escape_markdown(_metric_line(m))}" for m in digest.metrics]
    if chart_file:
        lines += ["", f"![Churn by reason, last {len(digest.chart.periods)} periods]({chart_file})"]
    if digest.themes:
        lines += ["", "## Top themes", "", "| Theme | Mentions | Trend | Revenue behind |",
                  "|---|---:|---:|---:|"]
        lines += [f"| {_md_cell(t.name)} | {t.count} | {t.trend} {t.previous} | "
                  f"{format_money(t.amount)} |" for t in digest.themes]
    if digest.quotes:
        lines += ["", "## In their words", ""]
        for q in digest.quotes:
            source = _md_link("CRM record", q.link) if q.link else ""
            lines += [f"> {escape_markdown(q.text)}", ">",
                      f"> {escape_markdown(f'{q.account}, owner {q.owner}, {q.theme}')} {source}", ""]
    for table in digest.tables:
        if not table.rows:
            continue
        lines += ["", f"## {escape_markdown(table.title)}", "",
                  "| " + " | ".join(table.columns) + " |",
                  "|" + "---|" * len(table.columns)]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines).rstrip() + "\n"


def _md_link(text: str, url: str) -> str:
    return f"[{escape_markdown(text)}](<{url.replace('>', '%3E').replace(' ', '%20')}>)"


def _md_cell(cell: Cell) -> str:
    if isinstance(cell, Link) and cell.url:
        return _md_link(cell.text, cell.url)
    return escape_markdown(_cell_text(cell))


def to_text(digest: Digest) -> str:
    lines = [digest.title, "=" * len(digest.title),
             f"{digest.period.start} to {digest.period.last_day}", ""]
    lines += [f"* {_metric_line(m)}" for m in digest.metrics]
    if digest.themes:
        lines += ["", "Top themes"]
        lines += [f"  - {t.name}: {t.count} mentions ({t.trend} from {t.previous}), "
                  f"{format_money(t.amount)} behind it" for t in digest.themes]
    if digest.quotes:
        lines += ["", "In their words"]
        for q in digest.quotes:
            lines += [f'  "{q.text}"', f"    {q.account}, owner {q.owner}, {q.theme}"
                      + (f" <{q.link}>" if q.link else "")]
    for table in digest.tables:
        if table.rows:
            lines += ["", table.title]
            lines += ["  - " + "; ".join(_text_cell(col, cell) for col, cell
                                         in zip(table.columns, row, strict=True))
                      for row in table.rows]
    if digest.full_digest_url:
        lines += ["", pointer_text(digest)]
    return "\n".join(lines) + "\n"


def _text_cell(column: str, cell: Cell) -> str:
    text = f"{column}: {_cell_text(cell)}"
    if isinstance(cell, Link) and cell.url:
        text += f" <{cell.url}>"
    return text


# -- HTML ----------------------------------------------------------------------------------------

@cache
def _jinja() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("churnkb.publishers", "templates"),
        autoescape=True,  # every CRM value is escaped; the template holds no |safe
        undefined=jinja2.ChainableUndefined,
    )
    env.globals.update(money=format_money, colour=colour_of)
    return env


def to_html(digest: Digest, chart_src: str | None, preferences_url: str | None = None) -> str:
    return _jinja().get_template("digest.html.j2").render(
        d=digest, chart_src=chart_src, preferences_url=preferences_url,
        chart_width=CHART_WIDTH, chart_height=CHART_HEIGHT)


# -- Slack Block Kit -----------------------------------------------------------------------------

def _slack_link(text: str, url: str | None) -> str:
    if not url:
        return escape_slack(text)
    return f"<{escape_slack(url).replace('|', '%7C')}|{escape_slack(text).replace('|', '/')}>"


def _slack_cell(cell: Cell) -> str:
    if isinstance(cell, Link):
        return _slack_link(cell.text, cell.url)
    return escape_slack(cell)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": trim(text, SLACK_SECTION_CHARS)}}


def _slack_candidates(digest: Digest) -> Iterable[dict[str, Any]]:
    """Blocks in priority order: whatever does not fit is dropped from the end."""
    yield _section("\n".join(f"*{escape_slack(m.label)}:* {_metric_value(m, m.current)} "
                             f"({m.trend} from {_metric_value(m, m.previous)})"
                             for m in digest.metrics))
    if digest.themes:
        yield _section("*Top themes*\n" + "\n".join(
            f"• {escape_slack(t.name)}: {t.count} ({t.trend} from {t.previous}), "
            f"{format_money(t.amount)} behind it" for t in digest.themes))
    for q in digest.quotes:
        yield _section(f"> {escape_slack(q.text)}\n{escape_slack(q.account)}, owner "
                       f"{escape_slack(q.owner)}, {escape_slack(q.theme)}"
                       + (f" · {_slack_link('CRM record', q.link)}" if q.link else ""))
    for table in digest.tables:
        if not table.rows:
            continue
        yield {"type": "divider"}
        yield _section(f"*{escape_slack(table.title)}*")
        lines = ["• " + " · ".join(_slack_cell(c) for c in row) for row in table.rows]
        yield from (_section(chunk) for chunk in _chunks(lines, SLACK_SECTION_CHARS))


def _chunks(lines: list[str], limit: int) -> Iterable[str]:
    chunk: list[str] = []
    size = 0
    for line in lines:
        line = trim(line, limit)
        if chunk and size + len(line) + 1 > limit:
            yield "\n".join(chunk)
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        yield "\n".join(chunk)


def _block_chars(block: dict[str, Any]) -> int:
    return len(block.get("text", {}).get("text", "")) if "text" in block else 0


def to_slack(digest: Digest) -> dict[str, Any]:
    """An incoming-webhook payload within Block Kit limits, ending with a pointer to the full digest."""
    header = {"type": "header",
              "text": {"type": "plain_text", "text": trim(digest.title, SLACK_HEADER_CHARS)}}
    pointer = pointer_text(digest) or "Full digest: see the digest files"
    footer = {"type": "context", "elements": [{"type": "mrkdwn", "text": escape_slack(pointer)}]}
    blocks = [header]
    used = _block_chars(header) + len(pointer)
    truncated = False
    for block in _slack_candidates(digest):
        if len(blocks) + 2 > SLACK_MAX_BLOCKS or used + _block_chars(block) > SLACK_TOTAL_CHARS:
            truncated = True
            break
        blocks.append(block)
        used += _block_chars(block)
    if truncated:
        footer["elements"][0]["text"] = escape_slack(f"Trimmed to fit Slack. {pointer}")
    blocks.append(footer)
    fallback = f"{digest.title}: " + "; ".join(_metric_line(m) for m in digest.metrics)
    return {"text": escape_slack(trim(fallback, SLACK_FALLBACK_CHARS)), "blocks": blocks}


# -- Teams Adaptive Card -------------------------------------------------------------------------

def _text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _teams_url(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def _teams_cell(cell: Cell) -> str:
    if isinstance(cell, Link) and cell.url:
        return f"[{escape_teams(cell.text)}]({_teams_url(cell.url)})"
    return escape_teams(_cell_text(cell))


def _teams_body(digest: Digest) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = [
        _text_block(escape_teams(digest.title), size="Large", weight="Bolder"),
        {"type": "FactSet", "facts": [
            {"title": m.label, "value": f"{_metric_value(m, m.current)} ({m.trend} from "
                                        f"{_metric_value(m, m.previous)})"}
            for m in digest.metrics]},
    ]
    if digest.themes:
        body.append(_text_block("Top themes", weight="Bolder", separator=True))
        body.append({"type": "FactSet", "facts": [
            {"title": escape_teams(t.name), "value": f"{t.count} ({t.trend} from {t.previous}), "
                                                     f"{format_money(t.amount)}"}
            for t in digest.themes]})
    for q in digest.quotes:
        source = f" · [CRM record]({_teams_url(q.link)})" if q.link else ""
        body.append({"type": "Container", "style": "emphasis", "items": [
            _text_block(f"“{escape_teams(q.text)}”", isSubtle=False),
            _text_block(escape_teams(f"{q.account}, owner {q.owner}, {q.theme}") + source,
                        isSubtle=True, size="Small"),
        ]})
    for table in digest.tables:
        if table.rows:
            body.append(_text_block(escape_teams(table.title), weight="Bolder", separator=True))
            body += [_text_block(" · ".join(_teams_cell(c) for c in row), spacing="None")
                     for row in table.rows]
    return body


def _teams_message(digest: Digest, body: list[dict[str, Any]]) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "fallbackText": escape_teams(digest.subject),
        "body": body,
    }
    url = digest.full_digest_url
    if url and url.startswith(("https://", "http://")):
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the full digest", "url": url}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
         "content": card}]}


def payload_bytes(payload: dict[str, Any]) -> int:
    return len(json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def to_teams(digest: Digest) -> dict[str, Any]:
    """A Workflows-webhook message under the size limit; trimmed cards say so and where to read on."""
    body = _teams_body(digest)
    message = _teams_message(digest, body)
    if payload_bytes(message) <= TEAMS_MAX_BYTES:
        return message
    notice = _text_block(escape_teams(f"Truncated to fit Teams. {pointer_text(digest)}".strip()),
                         isSubtle=True, separator=True)
    while body and payload_bytes(_teams_message(digest, [*body, notice])) > TEAMS_MAX_BYTES:
        body.pop()
    return _teams_message(digest, [*body, notice])
