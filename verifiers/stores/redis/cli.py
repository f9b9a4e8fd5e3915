"""`restoreproof capture redis`: the arguments only (argparse, nothing else), so that
`restoreproof --help` imports no driver; the capture itself is capture.py's `run`."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_capture_parsers(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rd = kinds.add_parser("redis", help="a consistent RDB (BGSAVE, or redis-cli --rdb) + manifest measured from it")
    source = rd.add_mutually_exclusive_group(required=True)
    source.add_argument("--url", help="redis://[user:password@]host:port, rediss://… or unix:///path/to.sock")
    source.add_argument("--from-rdb", type=Path, help="an RDB that already exists (e.g. an ElastiCache export)")
    rd.add_argument("--out", required=True, type=Path, help="directory for NAME-<stamp>.rdb and its manifest")
    rd.add_argument("--name", help="file name prefix (default: redis)")
    rd.add_argument("--via", choices=("auto", "dump-file", "redis-cli"), default="auto",
                    help="how to get the RDB: the server's dump file after BGSAVE (a server on this host), "
                    "redis-cli --rdb, or auto (the dump file when local, else redis-cli)")
    rd.add_argument("--bin-dir", help="directory of the Redis/Valkey server to measure the RDB with")
