"""`restoreproof capture postgres`: the arguments only (argparse, nothing else), so that
`restoreproof --help` imports no driver; the capture itself is capture.py's `run`."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_capture_parsers(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pg = kinds.add_parser("postgres", help="pg_dump (custom format) + manifest from one exported snapshot")
    pg.add_argument("--dsn", required=True,
                    help="libpq connection string or URI of the live database (read-only access suffices)")
    pg.add_argument("--out", required=True, type=Path, help="directory for NAME-<stamp>.dump and its manifest")
    pg.add_argument("--name", help="file name prefix (default: the database name)")
    pg.add_argument("--bin-dir", help="directory of the pg_dump to use (default: the newest that fits)")
    pg.add_argument("--segment-rows", type=int, default=1000, metavar="N",
                    help="rows per key range whose checksum the manifest keeps, so that a restore which differs "
                    "is narrowed to the ranges that differ (default: 1000; at most 100,000 ranges per table)")
    pg.add_argument("--snapshot-id", metavar="ID",
                    help="the RDS / Aurora snapshot (or Cloud SQL backup run id) taken together with this capture, "
                    "recorded in the manifest so the source pairs them by identifier (else by capture time)")
