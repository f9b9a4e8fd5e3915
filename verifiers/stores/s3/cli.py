"""`restoreproof capture s3`: the arguments only (argparse, nothing else), so that
`restoreproof --help` imports no driver; the capture itself is capture.py's `run`."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_capture_parsers(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s3 = kinds.add_parser("s3", help="manifest of an S3 bucket/prefix: every key, size and sha256 (reads each object)")
    s3.add_argument("--bucket", required=True, help="the S3 bucket whose objects the manifest lists")
    s3.add_argument("--prefix", default="", help="only keys under this prefix")
    s3.add_argument("--out", required=True, type=Path, help="manifest file to write (JSON)")
    s3.add_argument("--region", help="AWS region (default: the AWS config chain's)")
    s3.add_argument("--endpoint-url", help="AWS API endpoint (default: env AWS_ENDPOINT_URL, else AWS)")
