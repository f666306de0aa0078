"""Write a generated ``World`` straight into the raw zone, for fast warehouse tests.

The connectors land real syncs; this writes the same schema (docs/architecture.md) without
servers: one Parquet file per stream per batch, every source field as text, plus ``_loaded_at``,
``_sync_id`` and ``_batch_seq``. To prove that staging keeps the newest version of each record,
some records are also landed in an older version: once in an earlier batch, and once in a later
batch (late arrival) whose cursor is still older, so only the cursor can pick the right one.
Deleted (Salesforce) and archived (HubSpot) records are landed live first, deleted later.
"""

from __future__ import annotations

import base64
import copy
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from churnkb.connectors.raw_zone import as_text
from churnkb.connectors.salesforce import CONTENT_COLUMN, LINKS_COLUMN, decode_note_body

from churnkb.paths import DataPaths

SALESFORCE_STREAMS = {
    "Account": "account",
    "Contact": "contact",
    "Opportunity": "opportunity",
    "Case": "case",
    "Task": "task",
    "Note": "note",
    "Event": "event",
    "ContentNote": "content_note",
    "User": "user",
}
STALE_EVERY = 4  # every 4th record also gets an older version
STALE_AGE = timedelta(days=30)


def land_world(world: Any, data_dir: Path) -> None:
    """Land every record of ``world`` under ``<data_dir>/raw`` in three batches (see module doc)."""
    paths = DataPaths(Path(data_dir))
    landed_at = _as_utc(getattr(world, "now", None) or datetime.now(UTC))
    batches = _batches(world)
    for seq, (label, streams) in enumerate(batches, start=1):
        loaded_at = landed_at - timedelta(hours=len(batches) - seq)
        sync_id = f"fixture-{label}"
        for (source, stream), rows in streams.items():
            if rows:
                write_stream_batch(paths, source, stream, rows, loaded_at, sync_id, seq)


def write_stream_batch(
    paths: DataPaths,
    source: str,
    stream: str,
    rows: list[dict[str, Any]],
    loaded_at: datetime,
    sync_id: str,
    batch_seq: int,
) -> Path:
    """Write one batch as the connectors do: text columns, metadata columns, temp name + rename."""
    columns = _column_names(rows)
    arrays = {name: pa.array([_as_text(row.get(name)) for row in rows], pa.string()) for name in columns}
    arrays["_loaded_at"] = pa.array([loaded_at] * len(rows), pa.timestamp("us", tz="UTC"))
    arrays["_sync_id"] = pa.array([sync_id] * len(rows), pa.string())
    arrays["_batch_seq"] = pa.array([batch_seq] * len(rows), pa.int32())
    folder = paths.raw_stream(source, stream)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = loaded_at.strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"{stamp}-{sync_id}-{batch_seq:05d}.parquet"
    temp = target.with_suffix(".parquet.tmp")
    pq.write_table(pa.table(arrays), temp)
    temp.rename(target)
    return target


def _batches(world: Any) -> list[tuple[str, dict[tuple[str, str], list[dict]]]]:
    current = _current_rows(world)
    early: dict[tuple[str, str], list[dict]] = defaultdict(list)
    late: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for key, rows in current.items():
        if key[1].startswith("associations_") or key[1].endswith("_pipelines") or key[1] == "owners":
            continue
        for index, row in enumerate(rows):
            if _is_deleted(key[0], row):
                early[key].append(_undeleted(key[0], row))
            elif index % STALE_EVERY == 0:
                stale = _stale(key[0], key[1], row)
                (early if index % (2 * STALE_EVERY) == 0 else late)[key].append(stale)
    return [("early", dict(early)), ("current", current), ("late", dict(late))]


def _current_rows(world: Any) -> dict[tuple[str, str], list[dict]]:
    rows: dict[tuple[str, str], list[dict]] = {}
    for sobject, records in world.salesforce.items():
        if sobject == "ContentDocumentLink":
            continue  # the connector lands links inside content_note (LinkedEntityIds)
        stream = SALESFORCE_STREAMS.get(sobject, sobject.lower())
        rows[("salesforce", stream)] = [_salesforce_row(r) for r in records]
    rows[("salesforce", "content_note")] = _content_note_rows(world.salesforce)
    for object_type, records in world.hubspot_objects.items():
        rows[("hubspot", object_type)] = [_hubspot_row(r) for r in records]
    for (from_type, to_type), edges in _group_associations(world.hubspot_associations).items():
        rows[("hubspot", f"associations_{from_type}_{to_type}")] = edges
    rows[("hubspot", "owners")] = [_owner_row(o) for o in world.hubspot_owners]
    for object_type, pipelines in world.hubspot_pipelines.items():
        stream = f"{object_type.rstrip('s')}_pipelines"
        rows[("hubspot", stream)] = list(_pipeline_stage_rows(pipelines))
    return rows


def _content_note_rows(salesforce: dict[str, list[dict]]) -> list[dict[str, Any]]:
    """Content notes as the connector lands them: body decoded, linked record ids as JSON."""
    links: dict[str, list[str]] = {}
    for link in salesforce.get("ContentDocumentLink", []):
        if not link.get("IsDeleted"):
            links.setdefault(link["ContentDocumentId"], []).append(link["LinkedEntityId"])
    rows = []
    for record in salesforce.get("ContentNote", []):
        row = _salesforce_row(record)
        row[CONTENT_COLUMN] = decode_note_body(base64.b64decode(record.get("Content") or ""))
        row[LINKS_COLUMN] = json.dumps(sorted(links.get(record["Id"], [])))
        rows.append(row)
    return rows


def _salesforce_row(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "attributes" and not isinstance(v, dict)}


def _hubspot_row(record: dict[str, Any]) -> dict[str, Any]:
    row = dict(record.get("properties") or {})
    row.update(
        id=record["id"],
        archived=bool(record.get("archived")),
        archived_at=record.get("archivedAt"),
        created_at=record.get("createdAt"),
        updated_at=record.get("updatedAt"),
    )
    return row


def _group_associations(edges: Iterable[tuple]) -> dict[tuple[str, str], list[dict]]:
    grouped: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for from_type, from_id, to_type, to_id, type_id in edges:
        grouped[(from_type, to_type)].append(
            {
                "from_id": from_id,
                "to_id": to_id,
                "association_type_id": type_id,
                "association_category": "HUBSPOT_DEFINED",
                "association_label": None,
            }
        )
    return grouped


def _owner_row(owner: dict[str, Any]) -> dict[str, Any]:
    def pick(*names: str) -> Any:
        return next((owner[n] for n in names if owner.get(n) is not None), None)

    return {
        "id": pick("id"),
        "email": pick("email"),
        "first_name": pick("first_name", "firstName"),
        "last_name": pick("last_name", "lastName"),
        "user_id": pick("user_id", "userId"),
        "archived": bool(owner.get("archived")),
        "created_at": pick("created_at", "createdAt"),
        "updated_at": pick("updated_at", "updatedAt"),
    }


def _pipeline_stage_rows(pipelines: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    """Accept the API shape (pipelines with nested stages) or rows already flat per stage."""
    for pipeline in pipelines:
        if "stages" not in pipeline:
            yield dict(pipeline)
            continue
        for stage in pipeline["stages"]:
            metadata = stage.get("metadata") or {}
            yield {
                "pipeline_id": pipeline.get("id"),
                "pipeline_label": pipeline.get("label"),
                "stage_id": stage.get("id"),
                "stage_label": stage.get("label"),
                "is_closed": metadata.get("isClosed"),
                "probability": metadata.get("probability"),
                "display_order": stage.get("displayOrder"),
                "ticket_state": metadata.get("ticketState"),
            }


def _is_deleted(source: str, row: dict[str, Any]) -> bool:
    flag = row.get("IsDeleted") if source == "salesforce" else row.get("archived")
    return flag is True or str(flag).lower() == "true"


def _undeleted(source: str, row: dict[str, Any]) -> dict[str, Any]:
    """The live version a record had before it was deleted or archived (older cursor)."""
    live = _stale(source, "", row)
    if source == "salesforce":
        live["IsDeleted"] = False
    else:
        live.update(archived=False, archived_at=None)
    return live


def _stale(source: str, stream: str, row: dict[str, Any]) -> dict[str, Any]:
    """An older version: cursor moved back and a visible field changed, so a wrong pick shows."""
    stale = copy.deepcopy(row)
    if source == "salesforce":
        for field in ("SystemModstamp", "LastModifiedDate"):
            stale[field] = _shift(stale.get(field), "%Y-%m-%dT%H:%M:%S.000+0000")
        if stream == "opportunity":
            stale.update(StageName="Negotiation/Review", IsClosed=False, IsWon=False, Amount=1.0)
        for field in ("Name", "Subject", "Title"):
            if stale.get(field):
                stale[field] = f"{stale[field]} (stale)"
    else:
        for field in ("hs_lastmodifieddate", "lastmodifieddate", "updated_at"):
            stale[field] = _shift(stale.get(field), "%Y-%m-%dT%H:%M:%S.000Z")
        if stream == "deals":
            stale.update(dealstage="contractsent", amount="1")
        for field in ("name", "dealname", "subject", "hs_task_subject"):
            if stale.get(field):
                stale[field] = f"{stale[field]} (stale)"
    return stale


def _shift(value: Any, out_format: str) -> Any:
    moment = _parse_time(value)
    return None if moment is None else (moment - STALE_AGE).strftime(out_format)


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    if text[-5] in "+-" and text[-3] != ":":  # Salesforce "+0000"
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _column_names(rows: list[dict[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return list(names)


def _as_text(value: Any) -> str | None:
    """The value as the connectors land it (datetimes, which only the fixture has, as ISO text)."""
    return as_text(value.isoformat() if isinstance(value, datetime) else value)
