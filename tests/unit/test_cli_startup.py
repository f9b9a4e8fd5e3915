"""The CLI's start-up stays light (issue 9: `restoreproof --help` under 0.5 s). Timing is the benchmark's job
(bench/run.py prints cli_help_s); this guards the cause instead: declaring every command and its arguments must
not import the heavy libraries that only running a command needs (botocore.exceptions, ~10 ms, is allowed)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pydantic", "pymongo", "botocore.session", "boto3", "cryptography", "psycopg", "redis", "google.cloud",
         "azure.storage.blob", "pytest", "verifiers.inventory", "verifiers.store_settings", "verifiers.stores.base")
# of the store kinds' packages the parser may import the registry and each kind's cli.py (argparse only)
LIGHT_STORE_MODULES = ("verifiers.stores", "verifiers.stores.registry")


def test_building_the_parser_imports_no_heavy_library() -> None:
    probe = ("import json, sys\nfrom verifiers.cli import build_parser\nbuild_parser()\n"
             "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    imported = json.loads(out.stdout)
    assert [m for m in HEAVY if m in imported] == []
    store_modules = [m for m in imported if m.startswith("verifiers.stores")]
    assert "verifiers.stores.postgres.cli" in store_modules  # the parsers came from the kinds' packages
    assert [m for m in store_modules if m not in LIGHT_STORE_MODULES and not m.endswith(".cli")
            and m.count(".") > 2] == []


def test_help_lists_every_capture_kind() -> None:
    out = subprocess.run([sys.executable, "-m", "verifiers.cli", "capture", "--help"], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    for kind in ("postgres", "redis", "mysql", "s3", "dynamodb", "mongo", "gcs", "azure-blob"):
        assert kind in out.stdout
