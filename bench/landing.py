"""Landing throughput and memory: API pages in memory -> storage, three ways, one process each.

- ``churnkb``: the connectors' real landing path (record checks, quarantine, batches, Parquet).
- ``duckdb``: the floor: DuckDB reads each page as JSON straight into a table.
- ``dlt``: the peer: dlt's duckdb destination, merge on the primary key.

Run one contestant: ``python -m bench.landing CONTESTANT RECORDS OUT_DIR``; it prints one JSON
line. Pages are generated before timing starts; peak memory is reported as the growth of the
process's high-water mark during landing (the pages themselves are not counted).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from churnkb.bench.pages import opportunity_pages

FIELDS = ["Id", "Name", "AccountId", "StageName", "IsClosed", "IsWon", "Amount", "CloseDate",
          "Type", "Loss_Reason__c", "Competitor__c", "Description", "OwnerId", "IsDeleted",
          "CreatedDate", "LastModifiedDate", "SystemModstamp"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def land_churnkb(pages: list[bytes], out: Path) -> int:
    from churnkb.connectors.drift import DriftLog
    from churnkb.connectors.landing import RecordShape, RunContext, StreamLanding
    from churnkb.connectors.raw_zone import utc_now
    from churnkb.connectors.state import StateStore

    from churnkb.paths import DataPaths

    paths = DataPaths(out)
    ctx = RunContext(source="salesforce", sync_id="bench", data_paths=paths,
                     state_store=StateStore(paths, "salesforce"),
                     drift_log=DriftLog(paths, "salesforce"), batch_records=50_000,
                     max_field_chars=131_072, full_refresh=True, run_start=utc_now())
    shape = RecordShape(id_field="Id", cursor_field="SystemModstamp",
                        date_fields=("CloseDate", "CreatedDate", "LastModifiedDate",
                                     "SystemModstamp"),
                        is_deleted=lambda r: r.get("IsDeleted") is True, columns=FIELDS,
                        lookback=timedelta(minutes=5))
    landing = StreamLanding(ctx, "opportunity", shape)
    for page in pages:  # as connectors.salesforce reads a query page
        records = json.loads(page)["records"]
        for record in records:
            record.pop("attributes", None)
        landing.add_page(records)
        if landing.batch_full:
            landing.flush()
    landing.flush()
    landing.finish("success")
    return landing.report.landed


def land_duckdb(pages: list[bytes], out: Path) -> int:
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(out / "floor.duckdb"))
    page_file = out / "page.json"
    for n, page in enumerate(pages):
        page_file.write_bytes(page)
        select = (f"select r.* exclude (attributes) from (select unnest(records) as r "
                  f"from read_json('{page_file}', maximum_object_size=268435456))")
        if n == 0:
            con.execute(f"create table opportunity as {select}")
        else:
            con.execute(f"insert into opportunity by name {select}")
    count = con.execute("select count(*) from opportunity").fetchone()[0]
    con.close()
    return count


def land_dlt(pages: list[bytes], out: Path) -> int:
    import os

    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    os.environ["DLT_DATA_DIR"] = str(out / "dlt-home")
    import dlt

    @dlt.resource(name="opportunity", primary_key="Id", write_disposition="merge")
    def opportunity():
        for page in pages:
            records = json.loads(page)["records"]
            for record in records:
                record.pop("attributes", None)
            yield records

    pipeline = dlt.pipeline(pipeline_name="bench", pipelines_dir=str(out / "dlt-pipelines"),
                            destination=dlt.destinations.duckdb(str(out / "dlt.duckdb")),
                            dataset_name="raw")
    pipeline.run(opportunity())
    with pipeline.sql_client() as client:
        return client.execute_sql("select count(*) from opportunity")[0][0]


CONTESTANTS: dict[str, Callable[[list[bytes], Path], int]] = {
    "churnkb": land_churnkb,
    "duckdb": land_duckdb,
    "dlt": land_dlt,
}


def warm_imports(contestant: str) -> None:
    """Import the contestant's libraries before the clock starts: we time landing, not imports."""
    modules = {"churnkb": ["churnkb.connectors.landing", "pyarrow.parquet"], "duckdb": ["duckdb"],
               "dlt": ["dlt", "duckdb"]}[contestant]
    for module in modules:
        __import__(module)


def main(argv: list[str]) -> None:
    contestant, records, out = argv[0], int(argv[1]), Path(argv[2])
    warm_imports(contestant)
    pages = list(opportunity_pages(records))
    baseline = peak_rss_mb()
    started = time.perf_counter()
    landed = CONTESTANTS[contestant](pages, out)
    seconds = time.perf_counter() - started
    print(json.dumps({"contestant": contestant, "records": records, "landed": landed,
                      "seconds": round(seconds, 3), "records_per_s": round(landed / seconds),
                      "peak_mb_landing": round(max(peak_rss_mb() - baseline, 0), 1),
                      "peak_mb_process": round(peak_rss_mb(), 1)}))



# --- the benchmark section: each contestant in its own process ---------------------------------

LANDING_RATIO_VS_DLT = 25
LANDING_RATIO_VS_FLOOR = 1.5
LANDING_PEAK_MB = 1024


def run_contestant(contestant: str, records: int, workdir: Path) -> dict:
    import shutil
    import subprocess

    out = workdir / contestant
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run([sys.executable, "-m", "churnkb.bench.landing", contestant, str(records), str(out)],
                          capture_output=True, text=True, check=False)
    shutil.rmtree(out, ignore_errors=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"landing contestant {contestant} failed:\n{done.stderr[-2000:]}")
    result = json.loads(lines[-1])
    if result["landed"] != records:
        raise RuntimeError(f"{contestant} landed {result['landed']} of {records} records")
    return result


def _spread(runs: list[dict]) -> str:
    if len(runs) < 2:
        return ""
    return "best of " + ", ".join(f"{r['records_per_s']:,}" for r in runs) + " rec/s"


def best_of(runs: list[dict]) -> dict:
    """The fastest run: on a shared machine the slower ones measure the neighbours."""
    return min(runs, key=lambda result: result["seconds"])


def run(records: int, dlt_records: int, workdir: Path, repeats: int = 1) -> list:
    from churnkb.bench.report import Row

    ours_runs, floor_runs = [], []
    for _ in range(repeats):  # interleaved, so a busy minute hits both alike
        ours_runs.append(run_contestant("churnkb", records, workdir))
        floor_runs.append(run_contestant("duckdb", records, workdir))
    ours, floor = best_of(ours_runs), best_of(floor_runs)
    peer = run_contestant("dlt", dlt_records, workdir)
    vs_dlt = ours["records_per_s"] / peer["records_per_s"]
    vs_floor = floor["records_per_s"] / ours["records_per_s"]
    at_size = "" if dlt_records == records else f" (dlt measured at {dlt_records:,}: rate compared)"
    mem_target = records >= 1_000_000
    return [
        Row("1 landing", f"churnkb landing, {records:,} Opportunity records",
            f"{ours['records_per_s']:,} rec/s ({ours['seconds']:.1f} s)", note=_spread(ours_runs)),
        Row("1 landing", f"DuckDB read_json floor, {records:,} records",
            f"{floor['records_per_s']:,} rec/s ({floor['seconds']:.1f} s)", note=_spread(floor_runs)),
        Row("1 landing", f"dlt merge into duckdb, {dlt_records:,} records",
            f"{peer['records_per_s']:,} rec/s ({peer['seconds']:.1f} s)"),
        Row("1 landing", "churnkb vs dlt" + at_size, f"{vs_dlt:.1f}x faster",
            f">= {LANDING_RATIO_VS_DLT}x", vs_dlt >= LANDING_RATIO_VS_DLT),
        Row("1 landing", "churnkb vs DuckDB floor", f"floor is {vs_floor:.2f}x faster",
            f"<= {LANDING_RATIO_VS_FLOOR}x", vs_floor <= LANDING_RATIO_VS_FLOOR),
        Row("1 landing", f"churnkb peak memory while landing {records:,}",
            f"{ours['peak_mb_landing']:,.0f} MB (process {ours['peak_mb_process']:,.0f} MB)",
            f"< {LANDING_PEAK_MB} MB at 1M" if mem_target else "",
            (ours["peak_mb_landing"] < LANDING_PEAK_MB) if mem_target else None,
            f"floor {floor['peak_mb_landing']:,.0f} MB, dlt {peer['peak_mb_landing']:,.0f} MB"),
    ]


if __name__ == "__main__":
    main(sys.argv[1:])
