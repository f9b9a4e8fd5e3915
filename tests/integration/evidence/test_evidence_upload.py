"""`restoreproof evidence upload` against moto's standalone S3 server over HTTP: every file of every sealed run
lands with its SHA-256 checksum and compliance-mode retention (on an Object Lock bucket), an identical run is
skipped, a different run under the same key is refused, and a run that fails its own seal is not uploaded."""

from __future__ import annotations

import hashlib
import socket
import uuid
from base64 import b64encode
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from tests.evidence_runs import at, make_run, store_record, write_key
from verifiers.cli import main
from verifiers.evidence import chain, signing

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

REGION = "us-east-1"


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3Client:
    """Credentials and region through the standard AWS chain (env), as a CI job's would come."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    client: S3Client = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION)
    return client


def bucket(s3: S3Client, *, object_lock: bool) -> str:
    name = f"evidence-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=object_lock)
    return name


@pytest.fixture
def reports(tmp_path: Path) -> tuple[Path, list[Path]]:
    key, _, _ = write_key(tmp_path)
    root = tmp_path / "reports"
    runs = [make_run(root, at(2025, 12, 30), [store_record()], key=key),
            make_run(root, at(2026, 1, 2), [store_record("saas", "failed")], key=key)]
    return root, runs


def keys(s3: S3Client, name: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", []))


def test_upload_sets_checksums_and_compliance_retention(s3: S3Client, s3_endpoint: str,
                                                        reports: tuple[Path, list[Path]],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    root, runs = reports
    name = bucket(s3, object_lock=True)
    before = datetime.now(UTC)
    code = main(["evidence", "upload", str(root), f"s3://{name}/evidence/prod", "--endpoint-url", s3_endpoint,
                 "--retention-days", "30"])
    out = capsys.readouterr().out
    assert code == 0, out
    files = ["SHA256SUMS", "SHA256SUMS.sig", "evidence.json", "junit.xml", "report.html"]
    expected = sorted(f"evidence/prod/{run.relative_to(root).as_posix()}/{f}" for run in runs for f in files)
    assert keys(s3, name) == expected
    for key in expected:
        local = root / key.removeprefix("evidence/prod/")
        head: Any = s3.head_object(Bucket=name, Key=key, ChecksumMode="ENABLED")
        assert head["ChecksumSHA256"] == b64encode(hashlib.sha256(local.read_bytes()).digest()).decode()
        assert s3.get_object(Bucket=name, Key=key)["Body"].read() == local.read_bytes()
        assert head["ObjectLockMode"] == "COMPLIANCE"  # (moto's GetObjectRetention answers 500: read the head)
        until = head["ObjectLockRetainUntilDate"]
        assert before + timedelta(days=30) - timedelta(minutes=5) <= until <= datetime.now(UTC) + timedelta(days=30)
    assert "2 runs uploaded, 0 already archived, 0 refused" in out
    assert "retained (compliance) until" in out


def test_upload_refuses_to_overwrite_and_skips_what_is_archived(s3: S3Client, s3_endpoint: str,
                                                               reports: tuple[Path, list[Path]],
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    root, runs = reports
    name = bucket(s3, object_lock=True)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)  # the endpoint from the environment this time
    assert main(["evidence", "upload", str(root), f"s3://{name}"]) == 0
    archived = {k: s3.get_object(Bucket=name, Key=k)["Body"].read() for k in keys(s3, name)}
    capsys.readouterr()

    assert main(["evidence", "upload", str(root), f"s3://{name}"]) == 0
    assert "0 runs uploaded, 2 already archived, 0 refused" in capsys.readouterr().out

    # The same run id with different (re-sealed) content: never overwritten.
    changed = runs[1] / "report.html"
    changed.write_text(changed.read_text() + "<!-- edited -->\n")
    chain.seal_run(runs[1], runs[1].name)
    signing.sign_run(runs[1], signing.load_private_key(root.parent / "signing.pem"))
    assert chain.check_run(root, runs[1]).problems == []
    assert main(["evidence", "upload", str(root), f"s3://{name}"]) == 1
    out = capsys.readouterr().out
    rel = runs[1].relative_to(root).as_posix()
    assert f"FAILED: {rel}: refused: s3://{name}/{rel}/ already holds a different run" in out
    assert {k: s3.get_object(Bucket=name, Key=k)["Body"].read() for k in keys(s3, name)} == archived


def test_runs_failing_their_seal_are_not_uploaded(s3: S3Client, s3_endpoint: str, reports: tuple[Path, list[Path]],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    root, runs = reports
    name = bucket(s3, object_lock=True)
    (runs[0] / "junit.xml").write_text("<testsuites/>\n")
    assert main(["evidence", "upload", str(root), f"s3://{name}", "--endpoint-url", s3_endpoint]) == 1
    out = capsys.readouterr().out
    rel = runs[0].relative_to(root).as_posix()
    assert f"FAILED: {rel}: not uploaded, it fails its own seal: {rel}/junit.xml: modified" in out
    assert all(k.startswith(runs[1].relative_to(root).as_posix()) for k in keys(s3, name))


def test_bucket_without_object_lock_gets_the_runs_without_retention(s3: S3Client, s3_endpoint: str,
                                                                    reports: tuple[Path, list[Path]],
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = reports
    name = bucket(s3, object_lock=False)
    assert main(["evidence", "upload", str(root), f"s3://{name}/x", "--endpoint-url", s3_endpoint]) == 0
    assert f"warning: bucket {name} has no Object Lock" in capsys.readouterr().out
    assert len(keys(s3, name)) == 10


@pytest.mark.parametrize(("destination", "message"), [
    ("bucket/prefix", "no such directory, nor its parent"),  # not s3://: a directory archive, which is not there
    ("s3://", "is not an S3 URL"),
])
def test_bad_destination_is_exit_2(reports: tuple[Path, list[Path]], destination: str, message: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = reports
    assert main(["evidence", "upload", str(root), destination]) == 2
    assert message in capsys.readouterr().err


def test_unreachable_endpoint_is_a_failure(s3: S3Client, reports: tuple[Path, list[Path]],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = reports
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    code = main(["evidence", "upload", str(root), "s3://nowhere", "--endpoint-url", f"http://127.0.0.1:{port}",
                 "--retention-days", "0"])
    assert code == 1
    assert "S3 unreachable or misconfigured" in capsys.readouterr().out
