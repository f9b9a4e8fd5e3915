"""AWS Backup for the tests: moto 5 implements no recovery points, restore jobs or PutRestoreValidationResult
(moto/backup has plans, vaults, tags and report plans only), so the harness's AWS Backup client is one with
botocore's Stubber attached: each call's exact parameters are asserted, in order, and `assert_no_pending_responses`
proves every expected call was made."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.aws_support import REGION, MotoServer
from verifiers.sandboxes import aws_janitor
from verifiers.sources import aws_backup
from verifiers.stores.dynamodb import backup_restore as dynamodb_backup_restore
from verifiers.stores.s3 import backup_plan as s3_backup_plan
from verifiers.stores.s3 import backup_restore as s3_backup_restore

ACCOUNT = "123456789012"
VAULT = "prod-vault"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/restoreproof-backup-restore"
JOB = "restore-job-0001"
NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


@dataclass
class Backup:
    """The stubbed AWS Backup client every module of the harness gets, and its Stubber."""

    client: Any
    stub: Stubber


@pytest.fixture(name="backup")
def backup_stub(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backup]:
    """The stubbed client, in place of every `backup_client` the harness calls."""
    client = boto3.client("backup", region_name=REGION)
    stub = Stubber(client)

    def stubbed(region: str | None = None, endpoint_url: str | None = None) -> Any:
        return client

    for module in (aws_backup, dynamodb_backup_restore, s3_backup_restore, s3_backup_plan, aws_janitor):  # each
        # imports it
        monkeypatch.setattr(module, "backup_client", stubbed)
    monkeypatch.delenv(aws_backup.RESTORE_JOB_ENV, raising=False)
    with stub:
        yield Backup(client, stub)
        stub.assert_no_pending_responses()


def point(arn: str, resource_arn: str, resource_type: str, *, status: str = "COMPLETED",
          age: timedelta = timedelta(hours=1)) -> dict[str, Any]:
    return {"RecoveryPointArn": arn, "BackupVaultName": VAULT, "ResourceArn": resource_arn,
            "ResourceType": resource_type, "Status": status, "CreationDate": NOW - age, "BackupSizeInBytes": 4096,
            "IsEncrypted": True, "EncryptionKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/abc",
            "ResourceName": resource_arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]}


def listed(stub: Stubber, points: list[dict[str, Any]], **by: str) -> None:
    stub.add_response("list_recovery_points_by_backup_vault", {"RecoveryPoints": points},
                      {"BackupVaultName": VAULT, **by})


def described(stub: Stubber, found: dict[str, Any]) -> None:
    stub.add_response("describe_recovery_point", found,
                      {"BackupVaultName": found["BackupVaultName"], "RecoveryPointArn": found["RecoveryPointArn"]})


def restore_job(stub: Stubber, *, recovery_point: str, source: str, created: str, resource_type: str,
                status: str = "COMPLETED", vault: str = VAULT) -> None:
    stub.add_response("describe_restore_job", {
        "RestoreJobId": JOB, "RecoveryPointArn": recovery_point, "SourceResourceArn": source,
        "BackupVaultArn": f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:{vault}",
        "CreatedResourceArn": created, "ResourceType": resource_type, "Status": status,
        "CreationDate": NOW, "CompletionDate": NOW + timedelta(minutes=7)}, {"RestoreJobId": JOB})


def recorded_verdicts(backup: Backup) -> list[dict[str, Any]]:
    """Expect one PutRestoreValidationResult, with any parameters, and record those the harness sends (the list
    fills when it is called): for tests that assert on the verdict's parts rather than its whole text."""
    backup.stub.add_response("put_restore_validation_result", {})
    sent: list[dict[str, Any]] = []
    backup.client.meta.events.register("provide-client-params.backup.PutRestoreValidationResult",
                                       lambda params, **kwargs: sent.append(dict(params)))
    return sent


def verdict(stub: Stubber, status: str, message: str) -> None:
    stub.add_response("put_restore_validation_result", {},
                      {"RestoreJobId": JOB, "ValidationStatus": status, "ValidationStatusMessage": message})


@contextlib.contextmanager
def backed_up_cluster(name: str, *, engine: str, engine_version: str, user: str, password: str) -> Iterator[str]:
    """A "production" Aurora cluster `name` and the cluster snapshot AWS Backup took of it (its ARN, yielded);
    both deleted after."""
    rds = boto3.client("rds")
    rds.create_db_cluster(DBClusterIdentifier=name, Engine=engine, EngineVersion=engine_version,
                          MasterUsername=user, MasterUserPassword=password)
    snapshot = f"awsbackup-job-{name[-8:].strip('-')}"
    arn = rds.create_db_cluster_snapshot(DBClusterIdentifier=name, DBClusterSnapshotIdentifier=snapshot)[
        "DBClusterSnapshot"]["DBClusterSnapshotArn"]
    yield str(arn)
    rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=snapshot)
    rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)
