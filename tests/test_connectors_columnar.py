"""The column-wise landing path lands exactly what the per-record path lands, and quarantines
the same records with the same reasons."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from churnkb.bench.pages import opportunity_pages
from churnkb.connectors.columnar import FastPathUnavailable, parse_timestamps
from churnkb.connectors.drift import DriftLog
from churnkb.connectors.landing import RecordShape, RunContext, StreamLanding
from churnkb.connectors.raw_zone import read_jsonl, utc_now
from churnkb.connectors.state import StateStore

from churnkb.paths import DataPaths

DATE_FIELDS = ("CloseDate", "CreatedDate", "LastModifiedDate", "SystemModstamp")


def landing_in(data_dir: Path, columns: list[str] | None = None) -> StreamLanding:
    paths = DataPaths(data_dir)
    ctx = RunContext(source="salesforce", sync_id="t", data_paths=paths,
                     state_store=StateStore(paths, "salesforce"),
                     drift_log=DriftLog(paths, "salesforce"), batch_records=5000,
                     max_field_chars=200, full_refresh=False, run_start=utc_now())
    shape = RecordShape(id_field="Id", cursor_field="SystemModstamp", date_fields=DATE_FIELDS,
                        is_deleted=lambda r: r.get("IsDeleted") is True, columns=columns,
                        lookback=timedelta(hours=1))
    return StreamLanding(ctx, "opportunity", shape)


def records(n: int) -> list[dict]:
    page = json.loads(next(opportunity_pages(n, page_size=n)))["records"]
    for record in page:
        record.pop("attributes")
    page[3]["Competitor__c"] = {"name": "Rival", "tier": 1}  # nested: text is JSON
    page[4]["Amount"] = 7  # an int among floats keeps its own text
    return page


def landed_rows(landing: StreamLanding) -> list[dict]:
    [path] = landing.writer.files
    table = pq.read_table(path).drop_columns(["_loaded_at", "_sync_id", "_batch_seq"])
    return table.to_pylist()


def land_both(tmp_path: Path, page: list[dict], columns: list[str] | None = None):
    fast, slow = landing_in(tmp_path / "fast", columns), landing_in(tmp_path / "slow", columns)
    queued = fast.add_page([dict(r) for r in page])
    for record in page:
        slow.add(dict(record))
    fast.flush()
    slow.flush()
    return fast, slow, queued


@pytest.mark.parametrize("columns", [None, ["Id", "Amount", "IsWon", "SystemModstamp", "Extra"]])
def test_a_clean_page_lands_the_same_text_kinds_and_tail(tmp_path: Path, columns) -> None:
    page = records(300)
    fast, slow, queued = land_both(tmp_path, page, columns)
    assert len(queued) == 300
    assert landed_rows(fast) == landed_rows(slow)
    rows = landed_rows(fast)
    assert rows[0]["IsWon"] in ("true", "false") and rows[4]["Amount"] == "7"
    if columns is None:
        assert json.loads(rows[3]["Competitor__c"]) == {"name": "Rival", "tier": 1}
    for attribute in ("kinds", "kind_changes", "with_values", "filled", "records"):
        assert getattr(fast.observer, attribute) == getattr(slow.observer, attribute)
    assert fast.tail == slow.tail and fast.tail
    assert fast.flushed_newest == slow.flushed_newest
    assert fast.report.landed == slow.report.landed == 300


def test_a_page_with_bad_records_quarantines_them_with_the_per_record_reasons(
        tmp_path: Path) -> None:
    page = records(50)
    page[1]["CloseDate"] = "2023-02-29"
    page[2]["Id"] = None
    page[3]["Description"] = "x" * 201
    page[4]["Name"] = "caf\ufffd"
    page[5]["SystemModstamp"] = "1700000000000"  # epoch ms: valid, the per-record parser reads it
    fast, slow, queued = land_both(tmp_path, page)
    assert len(queued) == 48  # oversized text is truncated, U+FFFD kept (issue 12)
    reasons = [row["reason"] for row in read_jsonl(fast.quarantine.path)]
    assert reasons == [row["reason"] for row in read_jsonl(slow.quarantine.path)]
    assert reasons == ["unparseable date in CloseDate: '2023-02-29'", "missing id (Id)"]
    assert landed_rows(fast) == landed_rows(slow)


def test_pages_and_single_records_keep_their_order_in_one_file(tmp_path: Path) -> None:
    page = records(30)
    landing = landing_in(tmp_path)
    landing.add_page(page[:10])
    for record in page[10:20]:
        landing.add(record)
    landing.add_page(page[20:])
    landing.flush()
    assert [row["Id"] for row in landed_rows(landing)] == [r["Id"] for r in page]


@pytest.mark.parametrize("value", ["2023-02-29", "2024-04-01T24:00:00Z", "1700000000000",
                                   " 2024-04-01", "2024-04-01T10:00:00+2500"])
def test_timestamps_outside_the_known_forms_leave_the_fast_path(value: str) -> None:
    import pyarrow as pa

    with pytest.raises(FastPathUnavailable):
        parse_timestamps(pa.array(["2024-04-01T17:04:12.000+0000", value]))


def test_known_timestamp_forms_parse_as_utc() -> None:
    import pyarrow as pa

    parsed = parse_timestamps(pa.array(["2024-04-01T17:04:12.000+0000", "2024-04-01T19:04:12+02:00",
                                        "2024-04-01", "2024-04-01T17:04:12.5Z", "", None]))
    texts = [None if v is None else v.isoformat() for v in parsed.to_pylist()]
    assert texts == ["2024-04-01T17:04:12+00:00", "2024-04-01T17:04:12+00:00",
                     "2024-04-01T00:00:00+00:00", "2024-04-01T17:04:12.500000+00:00", None, None]


def test_a_page_with_numeric_cursors_still_lands_through_the_per_record_path(
        tmp_path: Path) -> None:
    page = records(5)
    for number, record in enumerate(page):
        record["SystemModstamp"] = 1700000000000 + number  # epoch ms as a JSON number
    fast, slow, queued = land_both(tmp_path, page)
    assert len(queued) == 5 and landed_rows(fast) == landed_rows(slow)
