"""End to end, as users run it: `pytest suites/redis` and `restoreproof verify --suite redis` in a subprocess,
with real exit codes and the same evidence.json shape as PostgreSQL."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fixtures.redis_demo import MARKER
from tests.redis_support import RedisCapture, cache_project

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("no_redis_leftovers")]
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def project(tmp_path: Path, redis_capture: RedisCapture) -> Path:
    return cache_project(tmp_path, redis_capture)


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def evidence(project: Path) -> dict[str, Any]:
    (path,) = (project / "reports").glob("*/*/evidence.json")
    record: dict[str, Any] = json.loads(path.read_text())
    return record


def test_suite_passes_with_the_postgres_evidence_shape(project: Path) -> None:
    result = run([str(BIN / "pytest"), str(ROOT / "suites" / "redis"), "--inventory", "inventory.toml",
                  "--reports-dir", "reports", "-p", "no:cacheprovider"], cwd=project)
    assert result.returncode == 0, result.stdout[-3000:]
    assert ["cache", "redis", "PASSED"] in [line.split()[:3] for line in result.stdout.splitlines()]  # the table
    record = evidence(project)
    text = json.dumps(record)
    assert MARKER not in text
    (store,) = record["stores"]
    assert set(store) >= {"name", "kind", "suite", "status", "artifact", "sandbox", "rto", "rpo", "checks", "error"}
    assert (store["kind"], store["suite"], store["status"]) == ("redis", "redis", "passed")
    assert store["sandbox"]["engine"] == "redis"  # the release that wrote the RDB (Redis 7.0)
    assert store["sandbox"]["mode"] == "fast" and store["sandbox"]["settings"]["save"] == ""
    assert set(store["rto"]["phases"]) == {"fetch", "provision", "restore", "verify", "teardown"}
    checks = {(c["check"], c["subject"]) for c in store["checks"]}
    assert {("restore", "restore"), ("keyspace", "keyspace"), ("key_count", "db0"), ("types", "db1"),
            ("digest", "db1"), ("assertion", "db0 session:*"), ("rto", "rto"), ("rpo", "rpo")} <= checks
    assert all(set(c) == {"check", "subject", "passed", "observed", "expected", "message", "compared"}
               for c in store["checks"])
    schema = json.loads((ROOT / "verifiers" / "evidence" / "schema" / "evidence.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(record)
    count = next(c for c in store["checks"] if (c["check"], c["subject"]) == ("key_count", "db0"))
    assert count["observed"] == count["expected"] == {"keys": 188, "with_ttl": 26}
    (report,) = (project / "reports").glob("*/*/report.html")
    page = html.unescape(report.read_text())  # pytest-html keeps the rows as escaped JSON
    assert "<td>keys 188, with_ttl 26</td>" in page and "<code>keys 188, with_ttl 26</code>" in page  # table, detail
    assert "<td>db0, db1</td>" in page  # a list of names, as the names
    assert "difference" not in page  # a passing row has none to count


def test_verify_command_fails_a_truncated_rdb_with_exit_1(project: Path, redis_capture: RedisCapture) -> None:
    rdb = project / "backups" / redis_capture.rdb.name
    rdb.write_bytes(rdb.read_bytes()[:2000])
    result = run([str(BIN / "restoreproof"), "verify", "--suite", "redis", "--reports-dir", "reports"], cwd=project)
    assert result.returncode == 1, result.stdout[-3000:]
    assert ["cache", "redis", "FAILED"] in [line.split()[:3] for line in result.stdout.splitlines()]
    (store,) = evidence(project)["stores"]
    restore = next(c for c in store["checks"] if c["check"] == "restore")
    assert restore["passed"] is False
    # Where the cut lands (mid-stream, mid-string) decides check-rdb's wording; the verdict and the file do not.
    assert "found the RDB damaged" in restore["message"]
    assert rdb.name in restore["message"]
