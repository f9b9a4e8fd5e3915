"""`restoreproof capture mysql`: the arguments only (argparse, nothing else), so that
`restoreproof --help` imports no driver; the capture itself is capture.py's `run`."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_capture_parsers(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    my = kinds.add_parser("mysql", help="mysqldump/mariadb-dump --single-transaction (.sql.gz) + manifest, "
                          "MySQL, MariaDB, Aurora/RDS MySQL")
    my.add_argument("--dsn", required=True,
                    help="mysql://USER:PASSWORD@HOST:PORT/DATABASE, or key=value pairs (unix_socket=PATH user=... "
                    "database=...); needs SELECT, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT and routine bodies")
    my.add_argument("--out", required=True, type=Path, help="directory for NAME-<stamp>.sql.gz and its manifest")
    my.add_argument("--name", help="file name prefix (default: the database name)")
    my.add_argument("--bin-dir", help="directory of the mariadb-dump / mysqldump to use (default: the source "
                    "server's flavour at the nearest release at least its own, beside the servers found or on PATH)")
    my.add_argument("--segment-rows", type=int, default=1000, metavar="N",
                    help="rows per key range whose checksum the manifest keeps, so that a restore which differs "
                    "is narrowed to the ranges that differ (default: 1000; at most 100,000 ranges per table)")
    my.add_argument("--snapshot-id", metavar="ID",
                    help="the RDS / Aurora snapshot (or Cloud SQL backup run id) taken together with this capture, "
                    "recorded in the manifest so the source pairs them by identifier (else by capture time)")
