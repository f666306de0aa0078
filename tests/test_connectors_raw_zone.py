"""The raw-zone contract (docs/architecture.md) and the record checks, without servers."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
from churnkb.connectors.hubspot import URL_PROPERTY_BUDGET, flatten_object, property_chunks
from churnkb.connectors.raw_zone import RawZoneWriter, read_stream
from churnkb.connectors.records import check_record, parse_timestamp
from churnkb.connectors.state import StateStore, StreamState

from churnkb.paths import DataPaths


def test_batches_land_as_text_with_metadata_columns(tmp_path):
    paths = DataPaths(tmp_path)
    writer = RawZoneWriter(paths, "hubspot", "deals", "sync1")
    first = writer.write_batch([{"id": "1", "amount": 12.5, "hs_is_closed": True,
                                 "meta": {"a": 1}, "empty": None}])
    second = RawZoneWriter(paths, "hubspot", "deals", "sync1").write_batch([{"id": "2"}])

    assert first.parent == tmp_path / "raw" / "hubspot" / "deals"
    assert first.name.endswith("-sync1-00000.parquet") and second.name.endswith("-00001.parquet")
    table = pq.read_table(first)
    assert table.schema.field("_loaded_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("_batch_seq").type == pa.int32()
    source_fields = [f for f in table.schema if not f.name.startswith("_")]
    assert all(f.type == pa.string() for f in source_fields)
    assert table.to_pylist()[0] | {"_loaded_at": None} == {
        "id": "1", "amount": "12.5", "hs_is_closed": "true", "meta": '{"a": 1}', "empty": None,
        "_loaded_at": None, "_sync_id": "sync1", "_batch_seq": 0}
    assert read_stream(paths, "hubspot", "deals").num_rows == 2  # schemas union by name
    assert [p.name for p in first.parent.iterdir() if not p.name.endswith(".parquet")] == []


def test_state_is_written_atomically_and_read_back(tmp_path):
    store = StateStore(DataPaths(tmp_path), "salesforce")
    store.save("account", StreamState(cursor="2026-01-01T00:00:00.000Z", schema={"Id": "id"}))
    assert store.load("account").cursor == "2026-01-01T00:00:00.000Z"
    assert [p.name for p in (tmp_path / "state" / "salesforce").iterdir()] == ["account.json"]


def test_timestamps_in_every_form_the_crms_use():
    expected = datetime(2024, 4, 1, 17, 4, 12, tzinfo=UTC)
    for text in ("2024-04-01T17:04:12.000+0000", "2024-04-01T17:04:12Z", "2024-04-01T17:04:12.000Z",
                 "2024-04-01T19:04:12+02:00", "1711991052000"):
        assert parse_timestamp(text) == expected, text


def test_record_checks_name_the_problem():
    def reason(record):
        return check_record(record, id_field="id", cursor_field="updated", date_fields=["closed"],
                            max_field_chars=30)
    ok = {"id": "1", "updated": "2024-01-01T00:00:00Z", "closed": "2024-01-02"}
    assert reason(ok) is None
    assert reason({**ok, "id": None}) == "missing id (id)"
    assert reason({**ok, "body": "\udcff"}) is None  # text is repaired, never a reason (issue 12)
    assert reason({**ok, "body": "x" * 31}) is None
    assert reason({**ok, "closed": "someday"}).startswith("unparseable date in closed")
    assert reason({**ok, "updated": None}) == "missing cursor updated"


def test_long_property_lists_are_split_to_fit_a_url():
    properties = [f"custom_property_number_{n:04d}" for n in range(1500)]
    chunks = property_chunks(properties)
    assert len(chunks) > 1
    assert [p for chunk in chunks for p in chunk] == properties
    assert all(sum(len(p) + 12 for p in chunk) <= URL_PROPERTY_BUDGET for chunk in chunks)


def test_hubspot_objects_flatten_to_the_raw_columns():
    row = flatten_object({"id": "7", "properties": {"dealname": "A", "hs_object_id": "7"},
                          "createdAt": "c", "updatedAt": "u", "archived": True,
                          "archivedAt": "a"})
    assert row == {"id": "7", "archived": True, "archived_at": "a", "created_at": "c",
                   "updated_at": "u", "dealname": "A", "hs_object_id": "7"}
