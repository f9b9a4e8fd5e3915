"""The configuration's change since last month on the CI path (issue 25): each monthly job starts with a fresh
reports directory and uploads its sealed run to the ARCHIVE; the next month's hygiene job, in another fresh
directory, reads the earlier month from that archive with `--history ARCHIVE` — a folder, s3:// on moto's server,
a git branch of a bare repository. Last month's run is written as tests/integration/test_configuration_history.py
writes it (a start time a month back), then uploaded with `restoreproof evidence upload` as the workflow does.
An archive that cannot be read stops the run with a usage error naming it, never a silent "no earlier record"."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest

from tests.aws_support import MotoServer
from tests.evidence_runs import evidence_schema
from tests.integration.test_configuration_history import INVENTORY, last_months_run
from verifiers.compliance.configuration_history import archived_configurations
from verifiers.evidence import chain
from verifiers.evidence.archive import LocalArchive
from verifiers.evidence.archive_s3 import S3Archive

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def restoreproof(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "restoreproof"), *argv], cwd=cwd, capture_output=True, text=True, timeout=180,
                          check=False)


def archive_of_kind(kind: str, tmp_path: Path) -> str:
    if kind == "dir":
        return str(tmp_path / "archive")
    if kind == "s3":
        bucket = f"evidence-{uuid.uuid4().hex[:12]}"
        boto3.client("s3").create_bucket(Bucket=bucket)
        return f"s3://{bucket}/prod"
    remote = tmp_path / "infra.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    return f"git+{remote}#restore-evidence"


@pytest.fixture
def billing_db(aws: MotoServer) -> object:
    rds = boto3.client("rds")
    rds.create_db_instance(DBInstanceIdentifier="cfg-billing", Engine="postgres", DBInstanceClass="db.t4g.small",
                           MasterUsername="app", MasterUserPassword="not-a-real-password-1", AllocatedStorage=20,
                           BackupRetentionPeriod=35)
    yield rds
    rds.delete_db_instance(DBInstanceIdentifier="cfg-billing", SkipFinalSnapshot=True, DeleteAutomatedBackups=True)


@pytest.mark.parametrize("kind", ["dir", "s3", "git"])
def test_next_months_job_shows_the_change_from_the_archive(kind: str, tmp_path: Path, billing_db: object) -> None:
    rds = boto3.client("rds")
    archive = archive_of_kind(kind, tmp_path)
    (tmp_path / "inventory.toml").write_text(INVENTORY)
    a_month_ago = datetime.now(UTC) - timedelta(days=31)

    # month 1: the hygiene job's fresh reports directory, its run uploaded to the archive
    _, first_path = last_months_run(tmp_path / "inventory.toml", tmp_path / "job-1", a_month_ago)
    uploaded = restoreproof(tmp_path, "evidence", "upload", "job-1", archive)
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
    first_id = json.loads(first_path.read_text())["run"]["id"]

    # month 2: retention cut from 35 to 7 days; another fresh directory, the archive as --history
    rds.modify_db_instance(DBInstanceIdentifier="cfg-billing", BackupRetentionPeriod=7, ApplyImmediately=True)
    job = restoreproof(tmp_path, "verify", "--suite", "hygiene", "--reports-dir", "job-2", "--history", archive, "-q")

    assert job.returncode == 1, job.stdout[-3000:] + job.stderr[-2000:]  # 7 days breaks the policy's 14
    (run,) = (tmp_path / "job-2").glob("*/*")
    evidence = json.loads((run / "evidence.json").read_text())
    assert list(jsonschema.Draft202012Validator(evidence_schema()).iter_errors(evidence)) == []
    block = evidence["stores"][0]["configuration"]
    assert block["facts"]["retention_days"] == 7
    assert block["previous"] == {"run": first_id, "month": f"{a_month_ago:%Y-%m}",
                                 "changes": [{"fact": "retention_days", "was": 35, "now": 7}]}
    assert f"since run {first_id} ({a_month_ago:%Y-%m}): retention 35 → 7 days" in (run / "report.html").read_text()

    # and this month's run goes to the archive beside last month's, as the workflow's next step does
    again = restoreproof(tmp_path, "evidence", "upload", "job-2", archive)
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.parametrize("kind", ["dir", "s3"])
def test_the_pytest_option_reads_the_archive_too(kind: str, tmp_path: Path, billing_db: object) -> None:
    """`pytest suites/hygiene --history ARCHIVE`, as a team's own pytest job runs it: an archive URL as given, a
    folder relative to where pytest starts."""
    archive = archive_of_kind(kind, tmp_path)
    (tmp_path / "inventory.toml").write_text(INVENTORY)
    a_month_ago = datetime.now(UTC) - timedelta(days=31)
    _, first_path = last_months_run(tmp_path / "inventory.toml", tmp_path / "job-1", a_month_ago)
    assert restoreproof(tmp_path, "evidence", "upload", "job-1", archive).returncode == 0
    boto3.client("rds").modify_db_instance(DBInstanceIdentifier="cfg-billing", BackupRetentionPeriod=7,
                                           ApplyImmediately=True)
    given = "archive" if kind == "dir" else archive  # relative: tmp_path / "archive"

    job = subprocess.run([str(BIN / "pytest"), str(ROOT / "suites" / "hygiene"), "--inventory", "inventory.toml",
                          "--reports-dir", "job-2", "--history", given, "-p", "no:cacheprovider", "-q"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)

    assert job.returncode == 1, job.stdout[-3000:] + job.stderr[-2000:]
    (run,) = (tmp_path / "job-2").glob("*/*")
    previous = json.loads((run / "evidence.json").read_text())["stores"][0]["configuration"]["previous"]
    assert previous == {"run": json.loads(first_path.read_text())["run"]["id"], "month": f"{a_month_ago:%Y-%m}",
                        "changes": [{"fact": "retention_days", "was": 35, "now": 7}]}


def test_the_first_month_has_no_earlier_record_in_an_archive_not_made_yet(tmp_path: Path, billing_db: object) -> None:
    (tmp_path / "inventory.toml").write_text(INVENTORY)
    bucket = f"evidence-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)  # the bucket exists, nothing uploaded under the prefix yet

    for archive in (f"s3://{bucket}/prod", str(tmp_path / "archive-not-made-yet")):
        job = restoreproof(tmp_path, "verify", "--suite", "hygiene", "--reports-dir", "job", "--history", archive,
                           "-q")
        assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-2000:]
    runs = sorted((tmp_path / "job").glob("*/*/evidence.json"))
    assert len(runs) == 2
    assert all(json.loads(r.read_text())["stores"][0]["configuration"]["previous"] is None for r in runs)


@pytest.mark.parametrize(("kind", "named", "fix"), [
    ("s3", "s3://no-such-evidence-bucket/prod", "s3:ListBucket"),
    ("dir", "/no/such/archive", "create the directory"),
    ("git", "git+/no/such/infra.git#restore-evidence", "check the remote's URL and access"),
])
def test_an_archive_that_cannot_be_read_stops_the_run(kind: str, named: str, fix: str, tmp_path: Path,
                                                      billing_db: object) -> None:
    (tmp_path / "inventory.toml").write_text(INVENTORY)

    job = restoreproof(tmp_path, "verify", "--suite", "hygiene", "--reports-dir", "job", "--history", named, "-q")

    assert job.returncode == 2, job.stdout[-3000:] + job.stderr[-2000:]
    said = job.stdout + job.stderr
    assert f"--history: archive {named}" in said and fix in said, said[-3000:]
    assert not list((tmp_path / "job").glob("*/*/evidence.json"))  # no run recorded as if nothing were earlier


@pytest.mark.parametrize("kind", ["dir", "s3"])
def test_only_the_runs_needed_are_fetched(kind: str, tmp_path: Path, billing_db: object,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Newest first, stopping at the newest earlier month's run with the store's record: older runs, this month's
    and the other files of a run (report.html, junit.xml) are not fetched."""
    (tmp_path / "inventory.toml").write_text(INVENTORY)
    now = datetime.now(UTC)
    archive = archive_of_kind(kind, tmp_path)
    made = []
    for n, when in enumerate((now - timedelta(days=62), now - timedelta(days=31), now)):
        _, path = last_months_run(tmp_path / "inventory.toml", tmp_path / f"job-{n}", when)
        made.append(path.parent)
        assert restoreproof(tmp_path, "evidence", "upload", f"job-{n}", archive).returncode == 0
    fetched: list[str] = []
    kept = S3Archive if kind == "s3" else LocalArchive
    real_fetch = kept.fetch

    def spy(self: Any, paths: list[str], into: Path) -> None:
        fetched.extend(paths)
        real_fetch(self, paths, into)

    monkeypatch.setattr(kept, "fetch", spy)

    found = archived_configurations(archive, now, stores=["billing"])

    assert found["billing"].run == made[1].name
    assert found["billing"].month == f"{now - timedelta(days=31):%Y-%m}"
    assert sorted(p.rpartition("/")[2] for p in fetched) == sorted([chain.EVIDENCE, chain.SUMS])
    assert all(f"/{made[1].name}/" in p for p in fetched), fetched
