"""`restoreproof capture mongo`: the arguments only (argparse, nothing else), so that
`restoreproof --help` imports no driver; the capture itself is capture.py's `run`."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_capture_parsers(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mg = kinds.add_parser("mongo", help="mongodump --archive --gzip (or a pymongo export in the same format) + "
                          "manifest measured from the dump")
    source = mg.add_mutually_exclusive_group(required=True)
    source.add_argument("--uri", help="mongodb://USER:PASSWORD@HOST:PORT/[DATABASE]?authSource=admin, or "
                        "mongodb+srv://…; without a database every database is dumped (the user needs the backup role)")
    source.add_argument("--from-dump", type=Path, help="an existing mongodump archive or --out directory: write only "
                        "its manifest, beside it")
    mg.add_argument("--out", type=Path, help="directory for NAME-<stamp>.archive.gz and its manifest (with --uri)")
    mg.add_argument("--name", help="file name prefix (default: the URI's database, else mongo)")
    mg.add_argument("--via", choices=("auto", "mongodump", "pymongo"), default="auto",
                    help="what writes the dump: mongodump, pymongo, or auto (mongodump when installed)")
    mg.add_argument("--segment-documents", type=int, default=1000, metavar="N",
                    help="documents per _id-hash segment whose checksum the manifest keeps, so that a restore which "
                    "differs is narrowed to the hash ranges that differ (default: 1000; at most 65,536 segments)")
    mg.add_argument("--bin-dir", help="directory of the mongodump to use (default: RESTOREPROOF_MONGO_BIN_DIR, PATH)")
