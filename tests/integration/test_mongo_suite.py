"""`capture mongo --from-dump` and `pytest suites/mongo` as users run them, in a subprocess, on a machine with no
MongoDB server: the suite must fail (exit 1) with a restore check saying what to install, never pass, and
write the same evidence shape as every other store."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema

from tests.mongo_support import build_archive, gz, sample

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INVENTORY = """
[[stores]]
name = "docs"
kind = "mongo"
rto = "5m"
rpo = "30d"
filters = [{ name = "users", collection = "app.users", filter = { n = { "$gte" = 0 } }, min = 1 }]
[stores.source]
type = "file"
path = "backups/app-*.archive.gz"
"""


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
                          env={"PATH": str(BIN), "HOME": str(cwd)})  # no mongod, even where one is installed


def test_suite_fails_where_no_mongod_exists(tmp_path: Path) -> None:
    (tmp_path / "backups").mkdir()
    archive = tmp_path / "backups" / "app-20261126T020000Z.archive.gz"
    archive.write_bytes(gz(build_archive(sample())))
    (tmp_path / "inventory.toml").write_text(INVENTORY)
    made = run([str(BIN / "restoreproof"), "capture", "mongo", "--from-dump", str(archive)], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "manifest: " in made.stdout and (tmp_path / "backups" / "app-20261126T020000Z.manifest.json").exists()
    result = run([str(BIN / "pytest"), str(ROOT / "suites" / "mongo"), "--inventory", "inventory.toml",
                  "--reports-dir", "reports", "-p", "no:cacheprovider"], cwd=tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    assert re.search(r"^docs\s+mongo\s+FAILED", result.stdout, re.M), result.stdout[-3000:]
    (path,) = (tmp_path / "reports").glob("*/*/evidence.json")
    record = json.loads(path.read_text())
    (store,) = record["stores"]
    assert (store["kind"], store["suite"], store["status"]) == ("mongo", "mongo", "failed")
    restore = next(c for c in store["checks"] if c["check"] == "restore")
    assert restore["passed"] is False and "no mongod found" in restore["message"]
    assert not any(c["passed"] for c in store["checks"] if c["check"] in ("checksum", "document_count", "assertion"))
    assert "u1@example.com" not in json.dumps(record)
    schema = json.loads((ROOT / "verifiers" / "evidence" / "schema" / "evidence.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(record)


def test_capture_bad_input_exits_2_without_the_password(tmp_path: Path) -> None:
    result = run([str(BIN / "restoreproof"), "capture", "mongo", "--uri", "mongodb://backup:hunter2@db/app"],
                 cwd=tmp_path)
    assert result.returncode == 2 and "--uri needs --out" in result.stderr and "hunter2" not in result.stderr
    damaged = tmp_path / "x.archive"
    damaged.write_bytes(build_archive(sample())[:300])
    result = run([str(BIN / "restoreproof"), "capture", "mongo", "--from-dump", str(damaged)], cwd=tmp_path)
    assert result.returncode == 2 and "x.archive: ends after" in result.stderr
    assert not (tmp_path / "x.manifest.json").exists()
