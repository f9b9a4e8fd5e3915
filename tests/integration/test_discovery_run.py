"""Inventory coverage in a real restore run (`pytest suites/redis` in a subprocess, a local Redis/Valkey sandbox,
discovery on moto's server): a production store nobody listed is a failed run check in evidence.json, report.html
and the terminal, and the exit code is non-zero; once ignored with a reason, the run passes and says what it
compared. The evidence validates against the shipped schema."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.aws_support import MotoServer
from tests.redis_support import RedisCapture, cache_project
from verifiers.evidence.chain import Problem
from verifiers.evidence.conformance import evidence_problems

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("no_redis_leftovers")]
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def bucket(aws: MotoServer) -> Iterator[str]:
    """A production bucket in the moto account that no store covers."""
    name = f"disc{secrets.token_hex(3)}-uploads"
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=aws.url)
    s3.create_bucket(Bucket=name)
    yield name
    s3.delete_bucket(Bucket=name)


def _project(tmp_path: Path, capture: RedisCapture, bucket: str, extra: str = "") -> Path:
    prefix = bucket.split("-")[0]
    return cache_project(tmp_path, capture, f"""
[discovery.aws]
regions = ["us-east-1"]
services = ["s3"]
names = ["{prefix}-*"]
{extra}""")


def _run(project: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], Path]:
    result = subprocess.run([str(BIN / "pytest"), str(ROOT / "suites" / "redis"), "--inventory", "inventory.toml",
                             "--reports-dir", "reports", "-p", "no:cacheprovider", *extra], cwd=project,
                            capture_output=True,
                            text=True, timeout=300, check=False)
    (path,) = sorted((project / "reports").glob("*/*/evidence.json"))[-1:]
    record: dict[str, Any] = json.loads(path.read_text())
    assert evidence_problems("run", record) == list[Problem]()  # the new blocks are in the schema
    return result, record, path.parent


@pytest.mark.parametrize("extra", [(), ("-n", "2")], ids=["one process", "xdist"])
def test_an_uncovered_store_fails_the_run(tmp_path: Path, redis_capture: RedisCapture, bucket: str,
                                          extra: tuple[str, ...]) -> None:
    """Discovery runs once, in the process that writes the evidence (with xdist: the controller)."""
    result, record, run_dir = _run(_project(tmp_path, redis_capture, bucket), *extra)
    assert result.returncode == 1, result.stdout[-3000:]
    assert record["stores"][0]["status"] == "passed"  # the restore itself passed ...
    assert record["run"]["status"] == "failed"  # ... the run did not
    arn = f"arn:aws:s3:::{bucket}"
    failed = [c for c in record["run_checks"] if c["passed"] is False]
    assert [(c["check"], c["subject"]) for c in failed] == [("coverage", "inventory"), ("coverage", arn)]
    assert failed[1]["detail"].startswith(f"store not in inventory: {arn} — add a store")
    assert record["coverage"]["complete"] is False
    assert [r["id"] for r in record["coverage"]["uncovered"]] == [arn]
    assert record["coverage"]["missing_sop"] == [{"store": "cache", "declared": False,
                                                  "fields": ["owner", "escalation", "data_type", "estimated_size"]}]
    assert f"coverage {arn}: FAILED — store not in inventory: {arn}" in result.stdout
    report = (run_dir / "report.html").read_text()
    assert "Run NOT passed: 2 of 2 run checks failed." in report and f"store not in inventory: {arn}" in report


def test_ignored_with_a_reason_the_run_passes(tmp_path: Path, redis_capture: RedisCapture, bucket: str) -> None:
    project = _project(tmp_path, redis_capture, bucket, extra=f"""
[[discovery.ignore]]
match = "s3:{bucket}"
reason = "user uploads, re-fetched from the client apps"
""")
    result, record, _ = _run(project)
    assert result.returncode == 0, result.stdout[-3000:]
    assert record["run"]["status"] == "passed"
    (check,) = record["run_checks"]
    assert (check["check"], check["subject"], check["passed"]) == ("coverage", "inventory", True)
    assert check["observed"]["ignored"] == 1 and check["observed"]["uncovered"] == 0
    assert record["coverage"]["ignored"][0]["reason"] == "user uploads, re-fetched from the client apps"
    assert "coverage inventory: PASSED" in result.stdout
