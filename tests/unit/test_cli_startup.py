"""The CLI's start-up stays light (issue 9: `restoreproof --help` under 0.5 s). Timing is the benchmark's job
(bench/run.py prints cli_help_s); this guards the cause instead: declaring every command and its arguments must
not import the heavy libraries that only running a command needs (botocore.exceptions, ~10 ms, is allowed)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pydantic", "pymongo", "botocore.session", "boto3", "cryptography", "psycopg", "redis", "google.cloud",
         "azure.storage.blob", "pytest", "verifiers.inventory", "verifiers.stores")


def test_building_the_parser_imports_no_heavy_library() -> None:
    probe = ("import json, sys\nfrom verifiers.cli import build_parser\nbuild_parser()\n"
             f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_help_lists_every_capture_kind() -> None:
    out = subprocess.run([sys.executable, "-m", "verifiers.cli", "capture", "--help"], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    for kind in ("postgres", "redis", "mysql", "s3", "dynamodb", "mongo", "gcs", "azure-blob"):
        assert kind in out.stdout
