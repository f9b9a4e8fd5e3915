"""AWS Backup against a real account (docs/aws-backup.md: what only a real account proves): a vault's newest
COMPLETED recovery point restored by the harness, verified and deleted; and a restore-testing job's verdict
reported to AWS Backup and read back.

Opt in with RESTOREPROOF_REAL_ACCOUNT=aws (plus the region and credentials of the standard AWS config chain) and:

- RESTOREPROOF_TEST_BACKUP_VAULT: the backup vault;
- RESTOREPROOF_TEST_BACKUP_RESOURCE_ARN: a resource it protects (a small DynamoDB table or S3 bucket is cheapest;
  an RDS instance works, with RESTOREPROOF_TEST_BACKUP_INSTANCE_CLASS and network settings of your own inventory);
- RESTOREPROOF_TEST_BACKUP_KIND: the store kind of that resource (dynamodb, s3, postgres or mysql);
- RESTOREPROOF_TEST_BACKUP_MANIFEST: a manifest captured from it at backup time (path or s3:// URL);
- RESTOREPROOF_TEST_BACKUP_ROLE_ARN: the role AWS Backup assumes to restore (needed for S3 and AWS-Backup-managed
  DynamoDB recovery points; the harness's error names it when it is);
- RESTOREPROOF_TEST_BACKUP_RESTORE_JOB (restore-testing test only): a COMPLETED restore job of a restore testing
  plan for that resource, still inside its validation window.

Each missing variable fails its test, named. Everything the harness creates is tagged and deleted
(`restoreproof janitor --delete` sweeps what a killed run left); the restore-testing resource stays AWS Backup's.
"""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest

from tests.conftest import failed, real_accounts
from tests.real_account.support import required_env as needed
from verifiers.inventory import parse_inventory
from verifiers.runner import StoreOutcome, plan_store, run_store
from verifiers.sources.aws_backup import RESTORE_JOB_ENV

pytestmark = pytest.mark.real_account


def verify(tmp_path: Path) -> StoreOutcome:
    source: dict[str, object] = {
        "type": "aws-backup", "vault": needed("RESTOREPROOF_TEST_BACKUP_VAULT"),
        "resource_arn": needed("RESTOREPROOF_TEST_BACKUP_RESOURCE_ARN"),
        "manifest": needed("RESTOREPROOF_TEST_BACKUP_MANIFEST"),
    }
    for field, name in (("iam_role_arn", "RESTOREPROOF_TEST_BACKUP_ROLE_ARN"),
                        ("instance_class", "RESTOREPROOF_TEST_BACKUP_INSTANCE_CLASS")):
        if os.environ.get(name):  # needed by some resources only: AWS Backup's restore says so when missing
            source[field] = os.environ[name]
    store = {"name": "aws-backup-real", "kind": needed("RESTOREPROOF_TEST_BACKUP_KIND"), "rto": "4h", "rpo": "30d",
             "restore_timeout": "3h", "source": source}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    return run_store(plan_store(inventory.stores[0], inventory.base_dir))


# Defined only when the run opts in to AWS: a gcp-only real-account run collects nothing here (no skips).
if "aws" in real_accounts():

    def test_the_newest_completed_recovery_point_is_restored_verified_and_deleted(
            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(RESTORE_JOB_ENV, raising=False)
        outcome = verify(tmp_path)
        assert outcome.status == "passed", failed(outcome) or outcome.error
        sandbox = outcome.as_evidence()["sandbox"]
        assert sandbox is not None and "restoreproof:sandbox" in sandbox  # the harness's own, now deleted

    def test_a_restore_testing_verdict_is_reported_and_aws_backup_shows_it(
            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        job = needed("RESTOREPROOF_TEST_BACKUP_RESTORE_JOB")
        monkeypatch.setenv(RESTORE_JOB_ENV, job)
        outcome = verify(tmp_path)
        assert outcome.status == "passed", failed(outcome) or outcome.error
        described = boto3.client("backup").describe_restore_job(RestoreJobId=job)
        assert described.get("ValidationStatus") == "SUCCESSFUL"
        assert str(described.get("ValidationStatusMessage", "")).startswith("restoreproof passed: ")
