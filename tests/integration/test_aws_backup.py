"""The aws-backup source and AWS Backup restore testing.

moto 5 implements no recovery points, restore jobs or PutRestoreValidationResult (moto/backup has plans, vaults,
tags and report plans only), so every AWS Backup call here goes to botocore's Stubber with its exact parameters
asserted, in order, and `assert_no_pending_responses` proves each expected call was made. Everything else is moto's
server: the DynamoDB backups and tables, the RDS snapshots and instances, the S3 buckets. Where AWS Backup itself
would restore (StartRestoreJob), an `after-call` hook on the stubbed client does what AWS Backup would do in moto
(a table restored from the backup, a bucket filled from the source), so the harness's own path runs unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.aws_backup_support import (  # noqa: F401  # backup_stub: the `backup` fixture
    ACCOUNT,
    JOB,
    NOW,
    ROLE,
    VAULT,
    Backup,
    backup_stub,
    described,
    listed,
    point,
    restore_job,
    verdict,
)
from tests.aws_support import REGION, MotoServer, harness_leftovers
from tests.conftest import failed
from verifiers.aws import SANDBOX_TAG, Tag, sandbox_tags, tag_dict
from verifiers.inventory import parse_inventory
from verifiers.runner import StoreOutcome, plan_store, run_store
from verifiers.sources import aws_backup
from verifiers.stores.dynamodb import backup_restore
from verifiers.stores.dynamodb import kind as dynamodb_kind
from verifiers.stores.dynamodb.manifest import capture_table, save_manifest
from verifiers.stores.s3 import backup_restore as s3_backup_restore
from verifiers.stores.s3.manifest import capture_bucket
from verifiers.stores.s3.manifest import save_manifest as save_s3_manifest


def run(tmp_path: Path, kind: str, source: dict[str, object], **store: object) -> StoreOutcome:
    entry = {"name": "orders", "kind": kind, "rto": "15m", "rpo": "30d",
             "source": {"type": "aws-backup", "vault": VAULT, **source}, **store}
    inventory = parse_inventory({"stores": [entry]}, tmp_path / "inventory.toml")
    return run_store(plan_store(inventory.stores[0], inventory.base_dir))


# --- DynamoDB -----------------------------------------------------------------------------------------------


@pytest.fixture
def orders(aws: MotoServer, request: pytest.FixtureRequest) -> Iterator[str]:
    name = "orders-" + request.node.name.replace("_", "-")[5:40].strip("-")
    table = boto3.resource("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    with table.batch_writer() as batch:
        for i in range(25):
            batch.put_item(Item={"pk": f"order#{i}", "total": i * 3})
    yield name
    client = boto3.client("dynamodb")
    for summary in client.list_backups(TableName=name)["BackupSummaries"]:
        client.delete_backup(BackupArn=summary["BackupArn"])
    client.delete_table(TableName=name)


def table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def dynamodb_backup(table: str, tmp_path: Path) -> str:
    """A manifest of the table beside the inventory, and a DynamoDB backup of it (what AWS Backup makes for a
    table without advanced backups): its ARN."""
    client = boto3.client("dynamodb")
    save_manifest(capture_table(client, table), tmp_path / "orders.manifest.json")
    return str(client.create_backup(TableName=table, BackupName="awsbackup-nightly")["BackupDetails"]["BackupArn"])


def test_the_newest_completed_dynamodb_point_is_restored_verified_and_deleted(
        tmp_path: Path, aws: MotoServer, backup: Backup, orders: str) -> None:
    arn = dynamodb_backup(orders, tmp_path)
    newest = point(arn, table_arn(orders), "DynamoDB", age=timedelta(hours=2))
    older = point(f"{arn}-older", table_arn(orders), "DynamoDB", age=timedelta(days=1))
    running = point(f"{arn}-running", table_arn(orders), "DynamoDB", status="CREATING", age=timedelta(minutes=5))
    other = point(f"{arn}-other", table_arn("invoices"), "DynamoDB", age=timedelta(minutes=1))
    listed(backup.stub, [older, running, newest, other], ByResourceType="DynamoDB")
    described(backup.stub, newest)
    outcome = run(tmp_path, "dynamodb", {"resource_type": "DynamoDB", "resource_name": orders,
                                         "manifest": "orders.manifest.json"})
    assert outcome.status == "passed", failed(outcome) or outcome.error
    record = outcome.as_evidence()
    assert record["artifact"]["path"] == arn
    assert record["artifact"]["recovery_point_arn"] == arn
    assert record["artifact"]["backup_vault"] == VAULT
    assert record["artifact"]["protected_resource"] == f"DynamoDB {table_arn(orders)}"
    assert record["artifact"]["backup_arn"] == arn  # restored as the DynamoDB backup it is
    assert record["sandbox"]["table_name"].startswith("restoreproof-orders-")
    assert {c.subject: c.observed for c in outcome.checks if c.check == "row_count"} == {orders: 25}
    assert harness_leftovers(aws.url) == []


def test_no_completed_point_fails_the_plan_naming_vault_resource_and_statuses(
        tmp_path: Path, backup: Backup, orders: str) -> None:
    arn = table_arn(orders)
    listed(backup.stub, [point(f"{arn}/backup/1", arn, "DynamoDB", status="CREATING"),
                         point(f"{arn}/backup/2", arn, "DynamoDB", status="PARTIAL"),
                         point(f"{arn}/backup/3", arn, "DynamoDB", status="EXPIRED")], ByResourceArn=arn)
    outcome = run(tmp_path, "dynamodb", {"resource_arn": arn, "manifest": "orders.manifest.json"})
    assert outcome.status == "error"
    assert outcome.error is not None
    assert outcome.error["message"].startswith(
        f"store orders: backup vault {VAULT} (region {REGION}) has no COMPLETED recovery point of {arn}; "
        "recovery points seen: 1 CREATING, 1 EXPIRED, 1 PARTIAL")


def test_a_named_point_not_completed_fails_the_plan(tmp_path: Path, backup: Backup, orders: str) -> None:
    arn = table_arn(orders)
    creating = point(f"{arn}/backup/01", arn, "DynamoDB", status="CREATING")
    described(backup.stub, creating)
    outcome = run(tmp_path, "dynamodb", {"resource_arn": arn, "recovery_point": creating["RecoveryPointArn"],
                                         "manifest": "orders.manifest.json"})
    assert outcome.error is not None
    assert outcome.error["message"].startswith(
        f"store orders: recovery point {arn}/backup/01 of {arn} in vault {VAULT} is 'CREATING', not COMPLETED")


def test_missing_list_permission_is_named(tmp_path: Path, backup: Backup, orders: str) -> None:
    backup.stub.add_client_error("list_recovery_points_by_backup_vault", "AccessDeniedException",
                                 "not authorized", expected_params={"BackupVaultName": VAULT,
                                                                    "ByResourceArn": table_arn(orders)})
    outcome = run(tmp_path, "dynamodb", {"resource_arn": table_arn(orders), "manifest": "orders.manifest.json"})
    assert outcome.error is not None
    message = outcome.error["message"]
    assert f"cannot list the recovery points of {table_arn(orders)} in backup vault {VAULT}" in message
    assert "AccessDeniedException: not authorized" in message
    assert "backup:ListRecoveryPointsByBackupVault and backup:DescribeRecoveryPoint" in message


def advanced_point(orders: str) -> dict[str, Any]:
    return point(f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:6d4c3e1f-0001", table_arn(orders), "DynamoDB")


def test_an_aws_backup_managed_point_is_restored_with_start_restore_job_tagged_and_deleted(
        tmp_path: Path, aws: MotoServer, backup: Backup, orders: str, monkeypatch: pytest.MonkeyPatch) -> None:
    native = dynamodb_backup(orders, tmp_path)
    managed = advanced_point(orders)
    target = "restoreproof-orders-0a1b2c3d"
    monkeypatch.setattr(backup_restore, "sandbox_identifier", lambda store: target)

    def aws_backup_restores(**kwargs: Any) -> None:  # what AWS Backup does for the job, done in moto
        boto3.client("dynamodb").restore_table_from_backup(TargetTableName=target, BackupArn=native)

    backup.client.meta.events.register("after-call.backup.StartRestoreJob", aws_backup_restores)
    listed(backup.stub, [managed], ByResourceArn=table_arn(orders))
    described(backup.stub, managed)
    backup.stub.add_response("get_recovery_point_restore_metadata",
                             {"RestoreMetadata": {"originalTableName": orders, "encryptionType": "Default"}},
                             {"BackupVaultName": VAULT, "RecoveryPointArn": managed["RecoveryPointArn"]})
    backup.stub.add_response("start_restore_job", {"RestoreJobId": JOB}, {
        "RecoveryPointArn": managed["RecoveryPointArn"], "IamRoleArn": ROLE, "ResourceType": "DynamoDB",
        "CopySourceTagsToRestoredResource": False,
        "Metadata": {"originalTableName": orders, "encryptionType": "Default", "targetTableName": target}})
    restore_job(backup.stub, recovery_point=managed["RecoveryPointArn"], source=table_arn(orders),
                created=table_arn(target), resource_type="DynamoDB")  # the wait
    restore_job(backup.stub, recovery_point=managed["RecoveryPointArn"], source=table_arn(orders),
                created=table_arn(target), resource_type="DynamoDB")  # the job as it ended
    restore_job(backup.stub, recovery_point=managed["RecoveryPointArn"], source=table_arn(orders),
                created=table_arn(target), resource_type="DynamoDB")  # before deleting: the job has ended
    tagged: list[dict[str, str]] = []

    def tags_spy(run_id: str, store: str) -> list[Tag]:
        tags = sandbox_tags(run_id, store)
        tagged.append(tag_dict(tags))
        return tags

    monkeypatch.setattr(backup_restore, "sandbox_tags", tags_spy)
    dynamodb = boto3.client("dynamodb")
    outcome = run(tmp_path, "dynamodb", {"resource_arn": table_arn(orders), "iam_role_arn": ROLE,
                                         "manifest": "orders.manifest.json"})
    assert outcome.status == "passed", failed(outcome) or outcome.error
    assert outcome.as_evidence()["sandbox"]["table_name"] == target
    assert outcome.as_evidence()["sandbox"]["table_arn"] == table_arn(target)
    assert outcome.as_evidence()["sandbox"]["restore_job"] == JOB
    assert outcome.as_evidence()["artifact"]["recovery_point_arn"] == managed["RecoveryPointArn"]
    assert [t[SANDBOX_TAG] for t in tagged] == [target]  # tagged once the job made it, so the janitor finds it
    assert target not in dynamodb.list_tables()["TableNames"]  # deleted
    assert harness_leftovers(aws.url) == []


def test_a_restore_job_past_restore_timeout_is_an_error_and_its_table_is_deleted_once_the_job_ends(
        tmp_path: Path, aws: MotoServer, backup: Backup, orders: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS Backup cannot stop a restore job: the teardown waits for it to end, then deletes what it made."""
    native = dynamodb_backup(orders, tmp_path)
    managed = advanced_point(orders)
    target = "restoreproof-orders-9f8e7d6c"
    monkeypatch.setattr(backup_restore, "sandbox_identifier", lambda store: target)
    monkeypatch.setattr(aws_backup, "SETTLE_SECONDS", 5.0)
    backup.client.meta.events.register(
        "after-call.backup.StartRestoreJob",
        lambda **kwargs: boto3.client("dynamodb").restore_table_from_backup(TargetTableName=target, BackupArn=native))
    listed(backup.stub, [managed], ByResourceArn=table_arn(orders))
    described(backup.stub, managed)
    backup.stub.add_response("get_recovery_point_restore_metadata", {"RestoreMetadata": {}},
                             {"BackupVaultName": VAULT, "RecoveryPointArn": managed["RecoveryPointArn"]})
    backup.stub.add_response("start_restore_job", {"RestoreJobId": JOB}, {
        "RecoveryPointArn": managed["RecoveryPointArn"], "IamRoleArn": ROLE, "ResourceType": "DynamoDB",
        "CopySourceTagsToRestoredResource": False, "Metadata": {"targetTableName": target}})
    job = {"recovery_point": managed["RecoveryPointArn"], "source": table_arn(orders), "created": "",
           "resource_type": "DynamoDB"}
    for status in ("RUNNING", "RUNNING", "RUNNING", "COMPLETED", "COMPLETED"):  # wait, its end; teardown's
        restore_job(backup.stub, **job, status=status)
    outcome = run(tmp_path, "dynamodb", {"resource_arn": table_arn(orders), "iam_role_arn": ROLE,
                                         "manifest": "orders.manifest.json", "restore_timeout": "1s"})
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error["phase"] == "restore"
    assert "did not finish restoring" in outcome.error["message"] and "within restore_timeout (1s)" in \
        outcome.error["message"]
    assert failed(outcome)["restore:restore"] == (f"AWS Backup restore job {JOB} did not complete within "
                                                  "restore_timeout (1s); last status 'RUNNING'")
    assert target not in boto3.client("dynamodb").list_tables()["TableNames"]
    assert harness_leftovers(aws.url) == []


def test_an_aws_backup_managed_point_without_a_restore_role_fails_naming_the_setting(
        tmp_path: Path, aws: MotoServer, backup: Backup, orders: str) -> None:
    dynamodb_backup(orders, tmp_path)
    managed = advanced_point(orders)
    listed(backup.stub, [managed], ByResourceArn=table_arn(orders))
    described(backup.stub, managed)
    outcome = run(tmp_path, "dynamodb", {"resource_arn": table_arn(orders), "manifest": "orders.manifest.json"})
    assert outcome.status == "error"
    assert outcome.error is not None
    assert "needs an IAM role for AWS Backup — set stores.source.iam_role_arn" in outcome.error["message"]
    assert harness_leftovers(aws.url) == []


# --- restore testing ----------------------------------------------------------------------------------------


@pytest.fixture
def restore_test(backup: Backup, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(aws_backup.RESTORE_JOB_ENV, JOB)


@pytest.fixture
def restored_by_aws_backup(aws: MotoServer, orders: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The table a restore-testing job created from the table's DynamoDB backup: (backup ARN, table name)."""
    native = dynamodb_backup(orders, tmp_path)
    name = f"{orders}-restore-test"
    boto3.client("dynamodb").restore_table_from_backup(TargetTableName=name, BackupArn=native)
    yield native, name
    boto3.client("dynamodb").delete_table(TableName=name)


def adopting(stub: Stubber, orders: str, native: str, restored: str) -> None:
    """The calls of a restore-testing run until the verdict: the job, its recovery point (plan, fetch), the job
    again (whose store reports it)."""
    found = point(native, table_arn(orders), "DynamoDB")
    restore_job(stub, recovery_point=native, source=table_arn(orders), created=table_arn(restored),
                resource_type="DynamoDB")
    described(stub, found)
    described(stub, found)
    restore_job(stub, recovery_point=native, source=table_arn(orders), created=table_arn(restored),
                resource_type="DynamoDB")


@pytest.mark.usefixtures("restore_test")
def test_restore_testing_verifies_the_restored_table_in_place_and_reports_successful(
        tmp_path: Path, aws: MotoServer, backup: Backup, orders: str, restored_by_aws_backup: tuple[str, str]) -> None:
    native, restored = restored_by_aws_backup
    adopting(backup.stub, orders, native, restored)
    verdict(backup.stub, "SUCCESSFUL", "restoreproof passed: 7 of 7 checks passed")
    outcome = run(tmp_path, "dynamodb", {"resource_arn": table_arn(orders), "manifest": "orders.manifest.json"})
    assert outcome.status == "passed", failed(outcome) or outcome.error
    record = outcome.as_evidence()
    assert record["sandbox"]["table_name"] == restored
    assert record["sandbox"]["deleted_by"] == "AWS Backup (restore testing retention)"
    assert record["artifact"]["restore_testing_job"] == JOB
    assert record["artifact"]["adopted_resource"] == table_arn(restored)
    assert record["rto"]["phases"]["restore"] >= 7 * 60  # the restore job's own duration
    assert restored in boto3.client("dynamodb").list_tables()["TableNames"]  # left to AWS Backup
    assert harness_leftovers(aws.url) == []


@pytest.mark.usefixtures("restore_test")
def test_restore_testing_asks_for_the_recovery_point_in_the_jobs_own_vault(
        tmp_path: Path, backup: Backup, orders: str, restored_by_aws_backup: tuple[str, str]) -> None:
    native, restored = restored_by_aws_backup
    found = {**point(native, table_arn(orders), "DynamoDB"), "BackupVaultName": "restore-testing-copies"}
    job = {"recovery_point": native, "source": table_arn(orders), "created": table_arn(restored),
           "resource_type": "DynamoDB", "vault": "restore-testing-copies"}
    restore_job(backup.stub, **job)
    described(backup.stub, found)  # asked in the job's vault, not the inventory's
    described(backup.stub, found)  # and fetched from the vault it is in
    restore_job(backup.stub, **job)
    verdict(backup.stub, "SUCCESSFUL", "restoreproof passed: 7 of 7 checks passed")
    outcome = run(tmp_path, "dynamodb", {"resource_arn": table_arn(orders), "manifest": "orders.manifest.json"})
    assert outcome.status == "passed", failed(outcome) or outcome.error
    assert outcome.as_evidence()["artifact"]["backup_vault"] == "restore-testing-copies"


@pytest.mark.usefixtures("restore_test")
def test_restore_testing_reports_failed_with_the_failing_checks_named_never_their_values(
        tmp_path: Path, backup: Backup, orders: str, restored_by_aws_backup: tuple[str, str]) -> None:
    native, restored = restored_by_aws_backup
    boto3.client("dynamodb").put_item(TableName=restored, Item={"pk": {"S": "order#3"}, "total": {"N": "999"}})
    adopting(backup.stub, orders, native, restored)
    verdict(backup.stub, "FAILED", f"restoreproof failed: 6 of 7 checks passed; failed: checksum {orders}")
    outcome = run(tmp_path, "dynamodb", {"resource_arn": table_arn(orders), "manifest": "orders.manifest.json"})
    assert set(failed(outcome)) == {f"checksum:{orders}"}


@pytest.mark.usefixtures("restore_test")
def test_restore_testing_reports_failed_when_the_plan_fails_after_adoption(
        tmp_path: Path, backup: Backup, orders: str) -> None:
    running = {"recovery_point": f"{table_arn(orders)}/backup/1", "source": table_arn(orders), "created": "",
               "resource_type": "DynamoDB", "status": "RUNNING"}
    restore_job(backup.stub, **running)
    restore_job(backup.stub, **running)
    message = (f"restoreproof error: 0 of 0 checks passed; error in fetch: store orders: AWS Backup restore job "
               f"{JOB} is 'RUNNING', not COMPLETED with a restored resource — start the verification when the job "
               "completed (the EventBridge rule in docs/aws-backup.md matches status COMPLETED)")
    verdict(backup.stub, "FAILED", message)
    outcome = run(tmp_path, "dynamodb", {"resource_arn": table_arn(orders), "manifest": "orders.manifest.json"})
    assert outcome.status == "error"


@pytest.mark.usefixtures("restore_test")
def test_restore_testing_reports_failed_when_the_run_is_interrupted(
        tmp_path: Path, backup: Backup, orders: str, restored_by_aws_backup: tuple[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    native, restored = restored_by_aws_backup
    adopting(backup.stub, orders, native, restored)
    verdict(backup.stub, "FAILED", "restoreproof error: 3 of 3 checks passed; error in verify: interrupted (Ctrl-C or "
            "SIGTERM)")

    def sigterm_while_measuring(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(dynamodb_kind, "measure_table", sigterm_while_measuring)
    outcome = run(tmp_path, "dynamodb", {"resource_arn": table_arn(orders), "manifest": "orders.manifest.json"})
    assert outcome.interrupted and outcome.status == "error"
    backup.stub.assert_no_pending_responses()  # the verdict was sent


@pytest.mark.usefixtures("restore_test")
def test_a_verdict_that_cannot_be_reported_is_an_error_naming_the_permission(
        tmp_path: Path, backup: Backup, orders: str, restored_by_aws_backup: tuple[str, str]) -> None:
    native, restored = restored_by_aws_backup
    adopting(backup.stub, orders, native, restored)
    backup.stub.add_client_error("put_restore_validation_result", "AccessDeniedException", "not authorized",
                                 expected_params={"RestoreJobId": JOB, "ValidationStatus": "SUCCESSFUL",
                                                  "ValidationStatusMessage": "restoreproof passed: 7 of 7 checks "
                                                  "passed"})
    outcome = run(tmp_path, "dynamodb", {"resource_arn": table_arn(orders), "manifest": "orders.manifest.json"})
    assert outcome.status == "error"
    assert outcome.error is not None
    assert outcome.error["message"].startswith(
        f"store orders: cannot report the verdict (SUCCESSFUL) to AWS Backup restore job {JOB}: "
        "AccessDeniedException: not authorized — grant the harness's AWS identity backup:PutRestoreValidationResult")


@pytest.mark.usefixtures("restore_test")
def test_a_restore_job_of_another_resource_is_not_adopted_nor_reported(
        tmp_path: Path, backup: Backup, orders: str) -> None:
    other = {"recovery_point": f"{table_arn('invoices')}/backup/1", "source": table_arn("invoices"),
             "created": table_arn("invoices-restored"), "resource_type": "DynamoDB"}
    restore_job(backup.stub, **other)
    restore_job(backup.stub, **other)  # the report step sees it is another store's job: no verdict
    outcome = run(tmp_path, "dynamodb", {"resource_arn": table_arn(orders), "manifest": "orders.manifest.json"})
    assert outcome.error is not None
    assert outcome.error["message"].startswith(
        f"store orders: AWS Backup restore job {JOB} restored DynamoDB {table_arn('invoices')}, not this store's "
        f"{table_arn(orders)} — run only the store that protects that resource (`--store NAME`)")


# --- S3 -------------------------------------------------------------------------------------------------------

S3_TARGET = "restoreproof-orders-5e6f7a8b"


@pytest.fixture
def assets(aws: MotoServer, tmp_path: Path) -> Iterator[str]:
    """A "production" bucket and its manifest beside the inventory."""
    s3 = boto3.client("s3")
    name = "prod-assets"
    s3.create_bucket(Bucket=name)
    for i in range(12):
        s3.put_object(Bucket=name, Key=f"invoices/{i:03}.pdf", Body=f"invoice {i}".encode() * (i + 1))
    save_s3_manifest(capture_bucket(s3, name, "invoices/"), tmp_path / "assets.manifest.json")
    yield name
    for obj in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


def bucket_point(name: str) -> dict[str, Any]:
    return point(f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:continuous:{name}-5a1b", f"arn:aws:s3:::{name}",
                 "S3")


def s3_restore_calls(stub: Stubber, found: dict[str, Any], *, status: str = "COMPLETED") -> None:
    """The AWS Backup calls of one restore into the temporary bucket, from the listing to the final check."""
    listed(stub, [found], ByResourceArn=found["ResourceArn"])
    described(stub, found)
    stub.add_response("get_recovery_point_restore_metadata", {"RestoreMetadata": {"NewBucket": "true"}},
                      {"BackupVaultName": VAULT, "RecoveryPointArn": found["RecoveryPointArn"]})
    stub.add_response("start_restore_job", {"RestoreJobId": JOB}, {
        "RecoveryPointArn": found["RecoveryPointArn"], "IamRoleArn": ROLE, "ResourceType": "S3",
        "CopySourceTagsToRestoredResource": False,
        "Metadata": {"NewBucket": "false", "DestinationBucketName": S3_TARGET}})
    for _ in range(3):  # the wait, the job as it ended, the check before deleting the bucket
        restore_job(stub, recovery_point=found["RecoveryPointArn"], source=found["ResourceArn"],
                    created=f"arn:aws:s3:::{S3_TARGET}", resource_type="S3", status=status)


def restores_bucket_in_moto(backup: Backup, source: str, seen_tags: dict[str, str]) -> None:
    """What AWS Backup does for the job, done in moto: the source's objects written into the target bucket (which
    the harness created, tagged, before it asked)."""
    def restore(**kwargs: Any) -> None:
        s3 = boto3.client("s3")
        seen_tags.update(tag_dict(s3.get_bucket_tagging(Bucket=S3_TARGET)["TagSet"]))
        for obj in s3.list_objects_v2(Bucket=source)["Contents"]:
            s3.copy_object(Bucket=S3_TARGET, Key=obj["Key"], CopySource={"Bucket": source, "Key": obj["Key"]})

    backup.client.meta.events.register("after-call.backup.StartRestoreJob", restore)


def test_an_s3_point_is_restored_into_a_tagged_temporary_bucket_verified_and_deleted(
        tmp_path: Path, aws: MotoServer, backup: Backup, assets: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_backup_restore, "sandbox_identifier", lambda store: S3_TARGET)
    found = bucket_point(assets)
    s3_restore_calls(backup.stub, found)
    tags: dict[str, str] = {}
    restores_bucket_in_moto(backup, assets, tags)
    outcome = run(tmp_path, "s3", {"resource_arn": f"arn:aws:s3:::{assets}", "iam_role_arn": ROLE,
                                   "manifest": "assets.manifest.json"})
    assert outcome.status == "passed", failed(outcome) or outcome.error
    record = outcome.as_evidence()
    assert record["sandbox"]["type"] == "aws-s3-bucket"
    assert record["sandbox"]["bucket"] == S3_TARGET
    assert {c.check: c.observed for c in outcome.checks if c.check in ("object_count", "restore")} == {
        "object_count": 12, "restore": "COMPLETED"}
    assert tags[SANDBOX_TAG] == S3_TARGET  # tagged before AWS Backup wrote into it: the janitor finds it
    assert harness_leftovers(aws.url) == []  # emptied (every version) and deleted


def test_a_restored_bucket_missing_an_object_fails_that_check(
        tmp_path: Path, aws: MotoServer, backup: Backup, assets: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_backup_restore, "sandbox_identifier", lambda store: S3_TARGET)
    boto3.client("s3").delete_object(Bucket=assets, Key="invoices/004.pdf")  # gone before the backup
    s3_restore_calls(backup.stub, bucket_point(assets))
    restores_bucket_in_moto(backup, assets, {})
    outcome = run(tmp_path, "s3", {"resource_arn": f"arn:aws:s3:::{assets}", "iam_role_arn": ROLE,
                                   "manifest": "assets.manifest.json"})
    assert set(failed(outcome)) == {f"object_count:{bucket_point(assets)['RecoveryPointArn']}", "objects:missing"}
    assert harness_leftovers(aws.url) == []


def test_a_failed_s3_restore_job_fails_the_restore_check_and_still_deletes_the_bucket(
        tmp_path: Path, aws: MotoServer, backup: Backup, assets: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_backup_restore, "sandbox_identifier", lambda store: S3_TARGET)
    s3_restore_calls(backup.stub, bucket_point(assets), status="FAILED")
    outcome = run(tmp_path, "s3", {"resource_arn": f"arn:aws:s3:::{assets}", "iam_role_arn": ROLE,
                                   "manifest": "assets.manifest.json"})
    assert outcome.status == "failed"
    assert failed(outcome)["restore:restore"] == f"AWS Backup restore job {JOB} into s3://{S3_TARGET}: FAILED"
    assert harness_leftovers(aws.url) == []


@pytest.mark.usefixtures("restore_test")
def test_restore_testing_verifies_the_restored_bucket_in_place(
        tmp_path: Path, aws: MotoServer, backup: Backup, assets: str) -> None:
    s3 = boto3.client("s3")
    restored = "awsbackup-restore-test-assets"
    s3.create_bucket(Bucket=restored)
    for obj in s3.list_objects_v2(Bucket=assets)["Contents"]:
        s3.copy_object(Bucket=restored, Key=obj["Key"], CopySource={"Bucket": assets, "Key": obj["Key"]})
    found = bucket_point(assets)
    job = {"recovery_point": found["RecoveryPointArn"], "source": found["ResourceArn"],
           "created": f"arn:aws:s3:::{restored}", "resource_type": "S3"}
    restore_job(backup.stub, **job)
    described(backup.stub, found)
    described(backup.stub, found)
    restore_job(backup.stub, **job)
    verdict(backup.stub, "SUCCESSFUL", "restoreproof passed: 7 of 7 checks passed")
    outcome = run(tmp_path, "s3", {"resource_arn": f"arn:aws:s3:::{assets}", "manifest": "assets.manifest.json"})
    assert outcome.status == "passed", failed(outcome) or outcome.error
    assert outcome.as_evidence()["sandbox"]["deleted_by"] == "AWS Backup (restore testing retention)"
    assert len(s3.list_objects_v2(Bucket=restored)["Contents"]) == 12  # left to AWS Backup
    for obj in s3.list_objects_v2(Bucket=restored)["Contents"]:
        s3.delete_object(Bucket=restored, Key=obj["Key"])
    s3.delete_bucket(Bucket=restored)
