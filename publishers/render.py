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
from churnkb.publishers.content import Cell, Digest, Link, Metric, format_money, plural
from churnkb.publishers.text import escape_markdown, escape_slack, escape_teams, trim

# Slack Block Kit limits (api.slack.com/reference/block-kit/blocks).
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
    return f"{metric.label}: {_metric_value(metric, metric.current)}{_change(metric)}"


def _change(metric: Metric) -> str:
    """" (▲ from 3 the period before)", or nothing for a snapshot figure."""
    if metric.previous is None:
        return ""
    return f" ({metric.trend} from {_metric_value(metric, metric.previous)} the period before)"


def metric_groups(digest: Digest) -> list[tuple[str, list[Metric]]]:
    """Metrics by scope, in order: company-wide first, then the department's slice."""
    groups: dict[str, list[Metric]] = {}
    for metric in digest.metrics:
        groups.setdefault(metric.scope, []).append(metric)
    return list(groups.items())


def _metric_lines(digest: Digest, bullet: str) -> list[str]:
    lines: list[str] = []
    for scope, metrics in metric_groups(digest):
        lines.append(f"{scope}:" if scope else "")
        lines += [f"{bullet}{_metric_line(m)}" for m in metrics]
    return lines


def theme_line(theme) -> str:  # noqa: ANN001 - content.Theme
    return (f"{theme.name}: {plural(theme.count, 'mention')} from "
            f"{plural(theme.accounts, 'account')} ({theme.change}), "
            f"{format_money(theme.amount)} revenue lost to date behind it")


def pointer_text(digest: Digest) -> str:
    return f"Full digest: {digest.full_digest_url}" if digest.full_digest_url else ""


# -- Markdown and plain text ----------------------------------------------------------------------

def to_markdown(digest: Digest, chart_file: str | None = None) -> str:
    lines = [f"# {escape_markdown(digest.title)}", "",
             f"{digest.period.start} to {digest.period.last_day}", ""]
    for scope, metrics in metric_groups(digest):
        lines += [f"**{escape_markdown(scope)}**", ""]
        lines += [f"- {escape_markdown(_metric_line(m))}" for m in metrics]
        lines.append("")
    if digest.highlights:
        lines += [f"- **{escape_markdown(h)}**" for h in digest.highlights] + [""]
    if chart_file:
        lines += ["", f"![{escape_markdown(digest.chart.title)}, last "
                      f"{len(digest.chart.periods)} periods]({chart_file})"]
    if digest.themes:
        lines += ["", "## Top themes", "",
                  "| Theme | Mentions | Accounts | Period before | Revenue lost to date |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {_md_cell(t.name)} | {t.count} | {t.accounts} | {t.before} | "
                  f"{format_money(t.amount)} |" for t in digest.themes]
    if digest.quotes:
        lines += ["", "## In their words", ""]
        for theme, quotes in quotes_by_theme(digest):
            lines += [f"### {escape_markdown(theme)}", ""]
            for q in quotes:
                source = _md_link("CRM record", q.link) if q.link else ""
                lines += [f"> {escape_markdown(q.text)}", ">",
                          f"> {escape_markdown(_quote_source(q))} {source}", ""]
    for table in digest.tables:
        if not table.rows:
            continue
        lines += ["", f"## {escape_markdown(table.title)}", ""]
        if table.note:
            lines += [f"_{escape_markdown(table.note)}_", ""]
        lines += ["| " + " | ".join(table.columns) + " |",
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
    lines += _metric_lines(digest, "  * ")
    if digest.highlights:
        lines += [""] + [f"! {h}" for h in digest.highlights]
    if digest.themes:
        lines += ["", "Top themes"]
        lines += [f"  - {theme_line(t)}" for t in digest.themes]
    if digest.quotes:
        lines += ["", "In their words"]
        for theme, quotes in quotes_by_theme(digest):
            lines.append(f"  {theme}")
            for q in quotes:
                lines += [f'    "{q.text}"', f"      {_quote_source(q)}"
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


def quotes_by_theme(digest: Digest) -> list[tuple[str, list]]:
    """Quotes grouped under the theme each one supports, in theme order."""
    grouped: dict[str, list] = {}
    for quote in digest.quotes:
        grouped.setdefault(quote.theme, []).append(quote)
    return list(grouped.items())


def _quote_source(quote) -> str:  # noqa: ANN001 - content.Quote
    noted = f", {quote.noted_on.isoformat()}" if quote.noted_on else ""
    return f"{quote.account}, owner {quote.owner}{noted}"


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
    env.globals.update(money=format_money, colour=colour_of, c_nowrap=_nowrap_column)
    return env


def _nowrap_column(name: str) -> bool:
    """Dates and amounts never wrap inside a table cell."""
    lowered = name.lower()
    return any(word in lowered for word in ("date", "due", "done", "notice", "noted", "amount",
                                            "revenue"))


def to_html(digest: Digest, chart_src: str | None, preferences_url: str | None = None) -> str:
    return _jinja().get_template("digest.html.j2").render(
        d=digest, chart_src=chart_src, preferences_url=preferences_url,
        metric_groups=metric_groups(digest), quotes_by_theme=quotes_by_theme(digest),
        change=_change, value=_metric_value, theme_line=theme_line, plural=plural,
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
    for scope, metrics in metric_groups(digest):
        yield _section(f"*{escape_slack(scope)}*\n" + "\n".join(
            f"• {escape_slack(_metric_line(m))}" for m in metrics))
    if digest.highlights:
        yield _section("\n".join(f"*{escape_slack(h)}*" for h in digest.highlights))
    if digest.themes:
        yield _section("*Top themes*\n" + "\n".join(
            f"• {escape_slack(theme_line(t))}" for t in digest.themes))
    for theme, quotes in quotes_by_theme(digest):
        yield _section(f"*{escape_slack(theme)}*\n" + "\n".join(
            f"> {escape_slack(q.text)}\n{escape_slack(_quote_source(q))}"
            + (f" · {_slack_link('CRM record', q.link)}" if q.link else "") for q in quotes))
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
    fallback = digest.subject.removeprefix("[churnkb] ")
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
    ]
    for scope, metrics in metric_groups(digest):
        body.append(_text_block(escape_teams(scope), weight="Bolder"))
        body.append({"type": "FactSet", "facts": [
            {"title": m.label, "value": f"{_metric_value(m, m.current)}{_change(m)}"}
            for m in metrics]})
    body += [_text_block(escape_teams(h), weight="Bolder") for h in digest.highlights]
    if digest.themes:
        body.append(_text_block("Top themes", weight="Bolder", separator=True))
        body += [_text_block(escape_teams(theme_line(t)), spacing="None") for t in digest.themes]
    for theme, quotes in quotes_by_theme(digest):
        body.append(_text_block(escape_teams(theme), weight="Bolder", separator=True))
        for q in quotes:
            source = f" · [CRM record]({_teams_url(q.link)})" if q.link else ""
            body.append({"type": "Container", "style": "emphasis", "items": [
                _text_block(f"“{escape_teams(q.text)}”", isSubtle=False),
                _text_block(escape_teams(_quote_source(q)) + source, isSubtle=True,
                            size="Small"),
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
        # fallbackText is plain text (notifications, old clients): no markdown escapes.
        "fallbackText": digest.subject,
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
