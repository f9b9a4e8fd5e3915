"""`restoreproof capture dynamodb`: the arguments only (argparse, nothing else), so that
`restoreproof --help` imports no driver; the capture itself is capture.py's `run`."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_capture_parsers(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ddb = kinds.add_parser("dynamodb", help="manifest of a DynamoDB table (a full, consistent scan)")
    ddb.add_argument("--table", required=True, help="the live table to measure and back up")
    ddb.add_argument("--out", required=True, type=Path, help="manifest file to write (JSON)")
    ddb.add_argument("--backup-name", help="also create an on-demand backup with this name right after the scan")
    ddb.add_argument("--segment-items", type=int, default=1000, metavar="N",
                     help="items per key-hash segment whose checksum the manifest keeps, so that a restore which "
                     "differs is narrowed to the hash ranges that differ (default: 1000; at most 65,536 segments)")
    ddb.add_argument("--region", help="AWS region (default: the AWS config chain's)")
    ddb.add_argument("--endpoint-url", help="AWS API endpoint (default: env AWS_ENDPOINT_URL, else AWS)")
