"""``churnkb docs``: the analysts' catalogue (dbt docs: models, columns, glossary, lineage)."""

from __future__ import annotations

import argparse
import functools
import http.server
import signal
import threading
from pathlib import Path

from churnkb.commands.common import EXIT_OK, CommandError
from churnkb.config import load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    docs = subparsers.add_parser(
        "docs", help="build the warehouse catalogue (dbt docs) into the data dir",
        description="Generates the dbt docs site (every model and column, the metric glossary, "
                    "lineage) from the built warehouse into <data dir>/dbt/target; with --serve, "
                    "serves it on 127.0.0.1 until Ctrl-C.")
    docs.add_argument("--serve", action="store_true", help="then serve the site on loopback")
    docs.add_argument("--port", type=int, default=8580, help="port for --serve (default 8580)")
    docs.set_defaults(func=run_docs)


def run_docs(args: argparse.Namespace) -> int:
    from churnkb.paths import DataPaths
    from churnkb.warehouse import WarehouseError, generate_docs

    config = load_config(args.config, args.data_dir)
    if not DataPaths(config.data_dir).warehouse.exists():
        raise CommandError(f"no warehouse under {config.data_dir}: run `churnkb build` first")
    try:
        index = generate_docs(config)
    except WarehouseError as exc:
        raise CommandError(str(exc)) from exc
    single_file = index.with_name("static_index.html")
    print(f"catalogue: {single_file if single_file.exists() else index}")
    if args.serve:
        serve(index.parent, args.port)
    return EXIT_OK


def serve(folder: Path, port: int) -> None:
    """Serve until Ctrl-C; then stop the server cleanly and report the interrupt (exit 130)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        stopped = threading.Event()

        def stop(signum: int, frame: object) -> None:
            stopped.set()  # shutdown() waits for serve_forever, so it cannot run in this thread
            threading.Thread(target=server.shutdown, daemon=True).start()

        previous = signal.signal(signal.SIGINT, stop)
        print(f"serving the catalogue at http://127.0.0.1:{server.server_address[1]}/ "
              "(Ctrl-C to stop)", flush=True)
        try:
            server.serve_forever()
        finally:
            signal.signal(signal.SIGINT, previous)
    if stopped.is_set():
        raise KeyboardInterrupt
