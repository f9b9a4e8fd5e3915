"""`restoreproof capture gcs / azure-blob`: the arguments only (argparse, nothing else), so that
`restoreproof --help` imports no driver; the capture itself is capture.py's `run`."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_capture_parsers(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gcs = kinds.add_parser("gcs", help="manifest of a GCS bucket/prefix: every object name, size and sha256 "
                           "(reads each object; credentials from Application Default Credentials)")
    gcs.add_argument("--bucket", required=True, help="the GCS bucket whose objects the manifest lists")
    gcs.add_argument("--prefix", default="", help="only objects under this prefix")
    gcs.add_argument("--out", required=True, type=Path, help="manifest file to write (JSON)")
    gcs.add_argument("--project", help="billing project (default: the ADC project)")
    az = kinds.add_parser("azure-blob", help="manifest of an Azure Blob container/prefix: every blob name, size "
                          "and sha256 (AZURE_STORAGE_CONNECTION_STRING, else DefaultAzureCredential)")
    az.add_argument("--account-url", required=True, help="https://ACCOUNT.blob.core.windows.net")
    az.add_argument("--container", required=True, help="the container whose blobs the manifest lists")
    az.add_argument("--prefix", default="", help="only blobs under this prefix")
    az.add_argument("--out", required=True, type=Path, help="manifest file to write (JSON)")
