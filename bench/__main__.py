"""``python -m bench [--quick]``: run every section, print one table, write docs/benchmarks.md."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from churnkb.bench.report import Row, bounds_notes, markdown_page, read_rows, text_table

SECTIONS = ("landing", "api", "build", "demo")
SECTION_LABELS = {"landing": "1 landing", "api": "2 API", "build": "3 build", "demo": "4 demo"}
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Sizes:
    landing_records: int
    dlt_records: int  # dlt lands ~1.5k rec/s: at 1M it would take over ten minutes
    api_accounts: int
    build_copies: tuple[int, ...]  # copies of a ~10k-record world
    landing_repeats: int = 1


FULL = Sizes(landing_records=1_000_000, dlt_records=100_000, api_accounts=1000,
             build_copies=(1, 10, 100), landing_repeats=2)
QUICK = Sizes(landing_records=50_000, dlt_records=20_000, api_accounts=200, build_copies=(1,))


def section_runners(sizes: Sizes, workdir: Path) -> dict[str, Callable[[], list[Row]]]:
    from churnkb.bench import api, build_time, demo, landing

    return {
        "landing": lambda: landing.run(sizes.landing_records, sizes.dlt_records,
                                       workdir / "landing", sizes.landing_repeats),
        "api": lambda: api.run(sizes.api_accounts),
        "build": lambda: build_time.run(workdir / "build", list(sizes.build_copies)),
        "demo": demo.run,
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes CI can afford (< 3 min)")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {', '.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown page to write")
    parser.add_argument("--workdir", type=Path, help="scratch space (default: a temp dir, removed)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other sections' rows from the existing page (re-run one section)")
    args = parser.parse_args(argv)
    unknown = set(args.sections.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sizes = QUICK if args.quick else FULL
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="churnkb-bench-"))
    runners = section_runners(sizes, workdir)
    rows: list[Row] = []
    notes: list[str] = []
    started = time.perf_counter()
    try:
        for name in args.sections.split(","):
            section_started = time.perf_counter()
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            try:
                rows += runners[name]()
            except Exception as exc:  # one broken section must not hide the others' figures
                traceback.print_exc()
                rows.append(Row(SECTION_LABELS[name], "section failed", type(exc).__name__, "",
                                False, str(exc).splitlines()[0][:200] if str(exc) else ""))
            notes.append(f"section {name}: {time.perf_counter() - section_started:.0f} s")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    seconds = time.perf_counter() - started
    if args.merge and args.out.exists():
        rerun = {SECTION_LABELS[name] for name in args.sections.split(",")}
        kept = [r for r in read_rows(args.out.read_text(encoding="utf-8")) if r.section not in rerun]
        rows = sorted(kept + rows, key=lambda r: r.section)
        notes.append("sections not re-run were kept from the previous page")
    notes += bounds_notes(rows)
    print(text_table(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown_page(rows, quick=args.quick, seconds=seconds, notes=notes),
                        encoding="utf-8")
    print(f"\nwritten to {args.out}", file=sys.stderr)
    # Missed targets are findings, not errors; a section that could not run is an error.
    return 1 if any(r.measure == "section failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
