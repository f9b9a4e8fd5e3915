"""Backup hygiene and the real RPO against moto's server (over HTTP, through the standard AWS config chain):
RDS snapshots (encryption and KMS key, a copy in a second region, manual copies, retention, PITR lag), S3
backup buckets (versioning, default encryption, public access, lifecycle retention, replica bucket, RPO gaps
over the objects' times) and DynamoDB (PITR lag, PITR off). A pass and a fail case for each.

moto has no AWS Backup ListBackupJobs: that check is tested against a botocore Stubber in
tests/unit/test_compliance_units.py. A cross-region snapshot copy is stood in for by a snapshot of the same
instance identifier in the second region (what a copy looks like to DescribeDBSnapshots): moto cannot copy a
snapshot across regions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.aws_support import MotoServer
from verifiers.checks import CheckResult
from verifiers.compliance.attach import judge_unrestored
from verifiers.inventory import parse_inventory

PASSWORD = "not-a-real-password-1"
DR_REGION = "us-west-2"


def judged(tmp_path: Path, source: dict[str, Any], hygiene: dict[str, Any], rpo: str = "1d") -> dict[str, CheckResult]:
    store = {"name": "app", "kind": "postgres", "rto": "1h", "rpo": rpo, "source": source, "hygiene": hygiene}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    return {f"{r.check}:{r.subject}": r for r in judge_unrestored(inventory.stores[0], tmp_path)}


def verdicts(results: dict[str, CheckResult]) -> dict[str, bool]:
    return {name: r.passed for name, r in results.items()}


@pytest.fixture
def rds_instances(aws: MotoServer) -> Iterator[dict[str, str]]:
    """`kept`: encrypted with a KMS key, 7-day retention, a manual snapshot, a copy in us-west-2.
    `bare`: unencrypted, 1-day retention, no manual snapshot, no copy."""
    rds, dr = boto3.client("rds"), boto3.client("rds", region_name=DR_REGION)
    key = str(boto3.client("kms").create_key(Description="backups")["KeyMetadata"]["Arn"])
    common: Any = {"Engine": "postgres", "DBInstanceClass": "db.t4g.small", "MasterUsername": "app",
                   "MasterUserPassword": PASSWORD, "AllocatedStorage": 20}
    rds.create_db_instance(DBInstanceIdentifier="hyg-kept", StorageEncrypted=True, KmsKeyId=key,
                           BackupRetentionPeriod=7, **common)
    rds.create_db_snapshot(DBInstanceIdentifier="hyg-kept", DBSnapshotIdentifier="hyg-kept-manual")
    dr.create_db_instance(DBInstanceIdentifier="hyg-kept", BackupRetentionPeriod=7, **common)
    dr.create_db_snapshot(DBInstanceIdentifier="hyg-kept", DBSnapshotIdentifier="hyg-kept-copy")
    rds.create_db_instance(DBInstanceIdentifier="hyg-bare", BackupRetentionPeriod=1, **common)
    yield {"key": key}
    rds.delete_db_snapshot(DBSnapshotIdentifier="hyg-kept-manual")
    dr.delete_db_snapshot(DBSnapshotIdentifier="hyg-kept-copy")
    dr.delete_db_instance(DBInstanceIdentifier="hyg-kept", SkipFinalSnapshot=True, DeleteAutomatedBackups=True)
    for name in ("hyg-kept", "hyg-bare"):
        rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)


RDS_HYGIENE = {"encryption": True, "copy": {"region": DR_REGION}, "require_manual": True, "retention_days": 7,
               "pitr": True, "rpo_gap": True}


def test_rds_hygiene_passes_for_a_well_kept_instance(tmp_path: Path, rds_instances: dict[str, str]) -> None:
    source = {"type": "rds-snapshot", "instance": "hyg-kept", "include": ["automated", "manual"]}
    results = judged(tmp_path, source, {**RDS_HYGIENE, "kms_key": rds_instances["key"]})
    assert verdicts(results) == {"rpo_gap:rpo_gap": True, "pitr_lag:pitr_lag": True, "encryption:encryption": True,
                                 f"copy:{DR_REGION}": True, "manual_copy:manual_copy": True,
                                 "retention:retention": True}, {n: r.message for n, r in results.items()}
    assert results["encryption:encryption"].observed == f"encrypted with {rds_instances['key']}"


def test_rds_hygiene_fails_for_a_neglected_instance(tmp_path: Path, rds_instances: dict[str, str]) -> None:
    source = {"type": "rds-snapshot", "instance": "hyg-bare", "include": ["automated", "manual"]}
    results = judged(tmp_path, source, {**RDS_HYGIENE, "pitr": False})
    assert not results["encryption:encryption"].passed
    assert "NOT encrypted" in results["encryption:encryption"].message
    assert not results[f"copy:{DR_REGION}"].passed and "regional outage" in results[f"copy:{DR_REGION}"].message
    assert not results["manual_copy:manual_copy"].passed
    assert "deleted with the instance" in results["manual_copy:manual_copy"].message
    assert (results["retention:retention"].passed, results["retention:retention"].observed) == (False, "1 days")
    wrong_key = judged(tmp_path, {**source, "instance": "hyg-kept"}, {"rpo_gap": False, "kms_key": "alias/other"})
    assert not wrong_key["encryption:encryption"].passed and "not with alias/other" in wrong_key[
        "encryption:encryption"].message


@pytest.fixture
def buckets(aws: MotoServer) -> Iterator[None]:
    s3, dr = boto3.client("s3"), boto3.client("s3", region_name=DR_REGION)
    s3.create_bucket(Bucket="hyg-good")
    s3.put_bucket_versioning(Bucket="hyg-good", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket="hyg-good", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
    s3.put_public_access_block(Bucket="hyg-good", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_object(Bucket="hyg-good", Key="pg/app-1.dump", Body=b"dump", ServerSideEncryption="aws:kms")
    s3.create_bucket(Bucket="hyg-bad")
    s3.put_public_access_block(Bucket="hyg-bad", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_lifecycle_configuration(Bucket="hyg-bad", LifecycleConfiguration={"Rules": [
        {"ID": "rotate", "Status": "Enabled", "Filter": {"Prefix": "pg/"}, "Expiration": {"Days": 3}}]})
    s3.put_object(Bucket="hyg-bad", Key="pg/app-1.dump", Body=b"dump")
    dr.create_bucket(Bucket="hyg-dr", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    dr.put_object(Bucket="hyg-dr", Key="pg/app-1.dump", Body=b"dump")
    yield
    for client, name in ((s3, "hyg-good"), (s3, "hyg-bad"), (dr, "hyg-dr")):
        for version in client.list_object_versions(Bucket=name).get("Versions", []):
            client.delete_object(Bucket=name, Key=version["Key"], VersionId=version["VersionId"])
        client.delete_bucket(Bucket=name)


S3_HYGIENE = {"encryption": True, "retention_days": 30, "copy": {"region": DR_REGION, "bucket": "hyg-dr"}}


def test_s3_backup_bucket_hygiene_passes(tmp_path: Path, buckets: None) -> None:
    results = judged(tmp_path, {"type": "s3", "bucket": "hyg-good", "prefix": "pg/", "pattern": "app-*.dump"},
                     S3_HYGIENE)
    assert all(r.passed for r in results.values()), {n: r.message for n, r in results.items()}
    assert set(results) == {"rpo_gap:rpo_gap", "encryption:encryption", "retention:retention", f"copy:{DR_REGION}",
                            "bucket:hyg-good versioning", "bucket:hyg-good encryption",
                            "bucket:hyg-good public access"}


def test_s3_backup_bucket_hygiene_fails(tmp_path: Path, buckets: None) -> None:
    time.sleep(1.2)  # so that a 1s RPO is missed by the newest object
    results = judged(tmp_path, {"type": "s3", "bucket": "hyg-bad", "prefix": "pg/", "pattern": "app-*.dump"},
                     {**S3_HYGIENE, "copy": {"region": DR_REGION, "bucket": "hyg-dr"}}, rpo="1s")
    failures = {n: r.message for n, r in results.items() if not r.passed}
    assert set(failures) >= {"rpo_gap:rpo_gap", "retention:retention", f"copy:{DR_REGION}",
                             "bucket:hyg-bad versioning", "bucket:hyg-bad encryption", "bucket:hyg-bad public access"}
    assert "rule rotate expires after 3 days" in failures["retention:retention"]
    assert "IgnorePublicAcls" in failures["bucket:hyg-bad public access"]
    assert results["bucket:hyg-bad versioning"].observed == "Disabled"


def test_dynamodb_pitr_lag_and_pitr_off(tmp_path: Path, aws: MotoServer) -> None:
    ddb = boto3.client("dynamodb")
    for name in ("hyg-orders", "hyg-no-pitr"):
        ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
    try:
        ddb.update_continuous_backups(TableName="hyg-orders",
                                      PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        ddb.create_backup(TableName="hyg-orders", BackupName="orders-1")
        source = {"type": "dynamodb-backup", "table": "hyg-orders", "manifest": "m.json"}
        store_hygiene = {"pitr": True, "encryption": True}

        def run(table: str, rpo: str) -> dict[str, CheckResult]:
            store = {"name": "orders", "kind": "dynamodb", "rto": "1h", "rpo": rpo,
                     "source": {**source, "table": table}, "hygiene": store_hygiene}
            inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
            return {f"{r.check}:{r.subject}": r for r in judge_unrestored(inventory.stores[0], tmp_path)}

        assert verdicts(run("hyg-orders", "1h")) == {"rpo_gap:rpo_gap": True, "pitr_lag:pitr_lag": True,
                                                     "encryption:encryption": True}
        time.sleep(1.2)  # moto's latest restorable time is the moment PITR was enabled
        assert not run("hyg-orders", "1s")["pitr_lag:pitr_lag"].passed
        off = run("hyg-no-pitr", "1h")
        assert not off["pitr_lag:pitr_lag"].passed and "not enabled" in off["pitr_lag:pitr_lag"].message
        assert not off["rpo_gap:rpo_gap"].passed  # no backup at all: the whole window is the gap
    finally:
        for backup in ddb.list_backups(TableName="hyg-orders")["BackupSummaries"]:
            ddb.delete_backup(BackupArn=backup["BackupArn"])
        for name in ("hyg-orders", "hyg-no-pitr"):
            ddb.delete_table(TableName=name)


def test_a_copy_in_another_account_is_found_through_an_assumed_role(tmp_path: Path, aws: MotoServer) -> None:
    """moto keeps one state per account; an assumed role's credentials act in the role's account."""
    backup_account = "arn:aws:iam::222222222222:role/backup-reader"
    credentials = boto3.client("sts").assume_role(RoleArn=backup_account, RoleSessionName="setup")["Credentials"]
    other = boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                  aws_secret_access_key=credentials["SecretAccessKey"],
                                  aws_session_token=credentials["SessionToken"], region_name=DR_REGION).client("rds")
    other.create_db_instance(DBInstanceIdentifier="hyg-acct", Engine="postgres", DBInstanceClass="db.t4g.small",
                             MasterUsername="app", MasterUserPassword=PASSWORD, AllocatedStorage=20)
    other.create_db_snapshot(DBInstanceIdentifier="hyg-acct", DBSnapshotIdentifier="hyg-acct-copy")
    try:
        source = {"type": "rds-snapshot", "instance": "hyg-acct", "include": ["manual"]}
        found = judged(tmp_path, source, {"rpo_gap": False, "copy": {"region": DR_REGION, "role_arn": backup_account}})
        assert found[f"copy:{DR_REGION}"].passed, found[f"copy:{DR_REGION}"].message
        assert "account 222222222222" in found[f"copy:{DR_REGION}"].message
        empty = "arn:aws:iam::333333333333:role/backup-reader"
        missing = judged(tmp_path, source, {"rpo_gap": False, "copy": {"region": DR_REGION, "role_arn": empty}})
        assert not missing[f"copy:{DR_REGION}"].passed
        in_own_account = judged(tmp_path, source, {"rpo_gap": False, "copy": {"region": DR_REGION}})
        assert not in_own_account[f"copy:{DR_REGION}"].passed  # the copy is in the other account only
    finally:
        other.delete_db_snapshot(DBSnapshotIdentifier="hyg-acct-copy")
        other.delete_db_instance(DBInstanceIdentifier="hyg-acct", SkipFinalSnapshot=True)
