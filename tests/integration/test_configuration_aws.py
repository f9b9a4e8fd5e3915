"""Backup configuration evidence (issue 25 item 4) against moto's server over HTTP: RDS instance and Aurora cluster
(retention, encryption and key, PITR, deletion protection, whether snapshots survive the instance), S3 (default
encryption, replication), DynamoDB (PITR on and off, deletion protection), each judged against a policy; a denied
describe call makes its facts unknown, naming the permission, and fails the rule that needed them.

The denial is moto's own error response over HTTP: the backend method is replaced in moto's (in-process) server to
answer as AWS does for a missing permission, so botocore parses a real AccessDenied reply."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core.exceptions import JsonRESTError
from moto.core.models import DEFAULT_ACCOUNT_ID as ACCOUNT_ID
from moto.dynamodb.models import DynamoDBBackend
from moto.rds.exceptions import RDSClientError
from moto.rds.models import RDSBackend, rds_backends
from moto.s3.exceptions import S3AccessDeniedError
from moto.s3.models import S3Backend

from tests.aws_support import REGION, MotoServer
from verifiers.checks import CheckResult
from verifiers.compliance import configuration_facts
from verifiers.compliance.configuration_facts import Recorded
from verifiers.inventory import parse_inventory

PASSWORD = "not-a-real-password-1"
INSTANCE: Any = {"Engine": "postgres", "DBInstanceClass": "db.t4g.small", "MasterUsername": "app",
                 "MasterUserPassword": PASSWORD, "AllocatedStorage": 20}


def recorded(tmp_path: Path, source: dict[str, Any], *, policy: dict[str, Any] | None = None,
             own: dict[str, Any] | None = None, kind: str = "postgres") -> tuple[Recorded, dict[str, CheckResult]]:
    store: dict[str, Any] = {"name": "app", "kind": kind, "rto": "1h", "rpo": "1d", "source": source}
    if own is not None:
        store["hygiene"] = {"rpo_gap": False, "configuration": own}
    inventory = parse_inventory({"stores": [store], **({"policy": policy} if policy else {})},
                                tmp_path / "inventory.toml")
    found = configuration_facts.record(inventory.stores[0], inventory.policy, tmp_path, datetime.now(UTC), None)
    return found, {r.subject: r for r in found.checks}


@pytest.fixture
def kms_key(aws: MotoServer) -> str:
    return str(boto3.client("kms").create_key(Description="backups")["KeyMetadata"]["Arn"])


@pytest.fixture
def instance(aws: MotoServer, kms_key: str) -> Iterator[str]:
    """Encrypted with `kms_key`, automated backups kept 7 days, no deletion protection, no manual snapshot."""
    rds = boto3.client("rds")
    rds.create_db_instance(DBInstanceIdentifier="cfg-app", StorageEncrypted=True, KmsKeyId=kms_key,
                           BackupRetentionPeriod=7, **INSTANCE)
    yield "cfg-app"
    for snapshot in rds.describe_db_snapshots(DBInstanceIdentifier="cfg-app", SnapshotType="manual")["DBSnapshots"]:
        rds.delete_db_snapshot(DBSnapshotIdentifier=snapshot["DBSnapshotIdentifier"])
    rds.delete_db_instance(DBInstanceIdentifier="cfg-app", SkipFinalSnapshot=True, DeleteAutomatedBackups=True)


RDS_POLICY = {"min_retention_days": 14, "pitr": True, "survives_deletion": True, "deletion_protection": True}


def test_rds_retention_under_the_policy_fails_naming_both(tmp_path: Path, instance: str, kms_key: str) -> None:
    found, checks = recorded(tmp_path, {"type": "rds-snapshot", "instance": instance},
                             policy={**RDS_POLICY, "kms_key": kms_key})
    assert found.block is not None
    facts = found.block["facts"]
    assert (facts["retention_days"], facts["encrypted"], facts["kms_key"]) == (7, True, kms_key)
    assert (facts["pitr"], facts["deletion_protection"], facts["survives_deletion"]) == (True, False, False)
    assert found.block["unknown"] == {} and found.block["previous"] is None
    retention = checks["retention"]
    assert (retention.passed, retention.observed, retention.expected) == (False, {"retention_days": 7},
                                                                          {"min_days": 14})
    assert "retention is 7 days; the policy requires at least 14 days" in retention.message
    assert checks["encryption"].passed and checks["encryption"].observed == {"encrypted": True, "kms_key": kms_key}
    assert checks["pitr"].passed
    assert not checks["deletion_protection"].passed and "deletion protection is OFF" in checks[
        "deletion_protection"].message
    assert not checks["survives_deletion"].passed
    assert "deleted with the instance" in found.block["notes"]["survives_deletion"]
    assert "DeleteAutomatedBackups=false" in found.block["notes"]["survives_deletion"]


def test_a_manual_snapshot_survives_deletion_and_a_store_rule_overrides_the_policy(
        tmp_path: Path, instance: str) -> None:
    boto3.client("rds").create_db_snapshot(DBInstanceIdentifier=instance, DBSnapshotIdentifier="cfg-app-keep")
    found, checks = recorded(tmp_path, {"type": "rds-snapshot", "instance": instance}, policy=RDS_POLICY,
                             own={"min_retention_days": 7, "deletion_protection": False, "kms_key": "alias/other"})
    assert found.block is not None and found.block["facts"]["survives_deletion"] is True
    assert "1 manual or AWS Backup snapshots, the newest cfg-app-keep" in found.block["notes"]["survives_deletion"]
    assert set(checks) == {"retention", "encryption", "pitr", "survives_deletion"}  # deletion_protection opted out
    assert checks["retention"].passed and checks["survives_deletion"].passed
    assert not checks["encryption"].passed and "not with alias/other" in checks["encryption"].message


def test_rds_copies_by_backup_replication_and_by_snapshot_copies(tmp_path: Path, instance: str) -> None:
    """moto has no StartDBInstanceAutomatedBackupsReplication: the replication is set on moto's own record of the
    instance, which DescribeDBInstances then reports over HTTP as AWS does. The snapshot copy in us-west-2 is a
    snapshot of the same instance identifier there (moto cannot copy a snapshot across regions)."""
    _, bare = recorded(tmp_path, {"type": "rds-snapshot", "instance": instance}, policy={"copy": True})
    assert not bare["copy"].passed and bare["copy"].observed == {"copies": []}
    db = rds_backends[ACCOUNT_ID]["us-east-1"].databases[instance]
    db.db_instance_automated_backups_replications = [  # type: ignore[attr-defined]  # a field moto never sets
        {"DBInstanceAutomatedBackupsArn": f"arn:aws:rds:eu-west-1:{ACCOUNT_ID}:auto-backup:ab-cfg"}]
    dr = boto3.client("rds", region_name="us-west-2")
    dr.create_db_instance(DBInstanceIdentifier=instance, BackupRetentionPeriod=1, **INSTANCE)
    dr.create_db_snapshot(DBInstanceIdentifier=instance, DBSnapshotIdentifier="cfg-app-copy")
    try:
        found, checks = recorded(tmp_path, {"type": "rds-snapshot", "instance": instance}, policy={"copy": True})
        store = {"name": "app", "kind": "postgres", "rto": "1h", "rpo": "1d",
                 "source": {"type": "rds-snapshot", "instance": instance},
                 "hygiene": {"rpo_gap": False, "copy": {"region": "us-west-2"}, "configuration": {"copy": True}}}
        inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
        with_copies = configuration_facts.record(inventory.stores[0], None, tmp_path, datetime.now(UTC), None)
    finally:
        dr.delete_db_snapshot(DBSnapshotIdentifier="cfg-app-copy")
        dr.delete_db_instance(DBInstanceIdentifier=instance, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)
    assert found.block is not None and found.block["facts"]["copy_to"] == [
        "automated backups replicated to eu-west-1"]
    assert checks["copy"].passed and checks["copy"].observed == {"copies": [{"region": "eu-west-1",
                                                                             "account": ACCOUNT_ID}]}
    assert with_copies.block is not None
    copies = with_copies.block["facts"]["copy_to"]
    assert copies[0] == "automated backups replicated to eu-west-1"
    assert copies[1].startswith("snapshot copy in us-west-2, the newest of ")
    assert with_copies.checks[0].passed
    assert with_copies.checks[0].observed == {"copies": [{"region": "eu-west-1", "account": ACCOUNT_ID},
                                                         {"region": "us-west-2", "account": "same"}]}


def test_hygiene_copy_in_the_sources_own_region_finds_no_copy(tmp_path: Path, instance: str) -> None:
    """The source names no region (so the inventory cannot refuse it) and [stores.hygiene.copy] names the config
    chain's: the instance's own snapshots there are no copy, and the copy rule fails saying why."""
    boto3.client("rds").create_db_snapshot(DBInstanceIdentifier=instance, DBSnapshotIdentifier="cfg-app-own")
    store = {"name": "app", "kind": "postgres", "rto": "1h", "rpo": "1d",
             "source": {"type": "rds-snapshot", "instance": instance},
             "hygiene": {"rpo_gap": False, "copy": {"region": REGION}, "configuration": {"copy": True}}}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    found = configuration_facts.record(inventory.stores[0], None, tmp_path, datetime.now(UTC), None)
    assert found.block is not None and found.block["facts"]["copy_to"] == []
    assert found.block["notes"]["copy_to"] == (f"[stores.hygiene.copy] names the source's own region {REGION} and "
                                               "account: the backups there are the source's own, no copy")
    assert not found.checks[0].passed and found.checks[0].observed == {"copies": []}


def test_aurora_cluster_configuration(tmp_path: Path, aws: MotoServer) -> None:
    rds = boto3.client("rds")
    rds.create_db_cluster(DBClusterIdentifier="cfg-aurora", Engine="aurora-postgresql", MasterUsername="app",
                          MasterUserPassword=PASSWORD, BackupRetentionPeriod=21, StorageEncrypted=True,
                          DeletionProtection=True)
    try:
        found, checks = recorded(tmp_path, {"type": "rds-snapshot", "cluster": "cfg-aurora",
                                                  "instance_class": "db.r6g.large"}, policy=RDS_POLICY)
    finally:
        rds.modify_db_cluster(DBClusterIdentifier="cfg-aurora", DeletionProtection=False, ApplyImmediately=True)
        rds.delete_db_cluster(DBClusterIdentifier="cfg-aurora", SkipFinalSnapshot=True)
    assert found.block is not None
    facts = found.block["facts"]
    assert (facts["retention_days"], facts["encrypted"], facts["deletion_protection"], facts["pitr"]) == (
        21, True, True, True)
    assert found.block["notes"]["retention_days"] == "automated backups of cluster cfg-aurora"
    assert checks["retention"].passed and checks["deletion_protection"].passed


@pytest.fixture
def buckets(aws: MotoServer, kms_key: str) -> Iterator[None]:
    """cfg-kept: default KMS encryption, versioning, replication of pg/ to another account's bucket, a 30-day
    expiry; cfg-bare: none of it."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="cfg-kept")
    s3.put_bucket_versioning(Bucket="cfg-kept", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket="cfg-kept", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key}}]})
    s3.put_bucket_replication(Bucket="cfg-kept", ReplicationConfiguration={
        "Role": "arn:aws:iam::123456789012:role/replication", "Rules": [
            {"ID": "dr", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": "pg/"},
             "DeleteMarkerReplication": {"Status": "Disabled"},
             "Destination": {"Bucket": "arn:aws:s3:::cfg-dr", "Account": "222222222222"}}]})
    s3.put_bucket_lifecycle_configuration(Bucket="cfg-kept", LifecycleConfiguration={"Rules": [
        {"ID": "rotate", "Status": "Enabled", "Filter": {"Prefix": "pg/"}, "Expiration": {"Days": 30}}]})
    s3.create_bucket(Bucket="cfg-bare")
    yield
    for name in ("cfg-kept", "cfg-bare"):
        s3.delete_bucket(Bucket=name)


S3_POLICY = {"min_retention_days": 14, "encryption": True, "copy": True, "pitr": True}


def test_s3_with_replication_and_encryption_meets_the_policy(tmp_path: Path, buckets: None, kms_key: str) -> None:
    found, checks = recorded(tmp_path, {"type": "s3", "bucket": "cfg-kept", "prefix": "pg/"}, policy=S3_POLICY)
    assert found.block is not None
    assert found.block["facts"] == {"retention_days": 30, "encrypted": True, "kms_key": kms_key,
                                    "copy_to": ["replication to arn:aws:s3:::cfg-dr (region not read, account "
                                                "222222222222)"]}
    assert found.block["notes"]["retention_days"] == "rule rotate expires after 30 days"
    assert all(checks[r].passed for r in ("retention", "encryption", "copy")), {n: c.message for n, c in checks.items()}
    assert not checks["pitr"].compared and "does not apply to s3 sources" in checks["pitr"].message


def test_s3_without_replication_or_encryption_fails_the_policy(tmp_path: Path, buckets: None) -> None:
    found, checks = recorded(tmp_path, {"type": "s3", "bucket": "cfg-bare", "prefix": "pg/"}, policy=S3_POLICY)
    assert found.block is not None
    assert found.block["facts"] == {"retention_days": None, "encrypted": False, "kms_key": None, "copy_to": []}
    assert not checks["encryption"].passed and "NOT encrypted" in checks["encryption"].message
    assert not checks["copy"].passed and checks["copy"].observed == {"copies": []}
    assert checks["retention"].passed and "do not expire" in checks["retention"].message  # nothing expires them


@pytest.fixture
def assets(aws: MotoServer) -> Iterator[Any]:
    """Bucket cfg-assets in eu-west-1 (versioned, as replication needs), cfg-assets-logs beside it in eu-west-1 and
    cfg-assets-dr in us-west-2, all in the same account; the test sets cfg-assets's replication rule."""
    s3 = boto3.client("s3")
    places: dict[str, Any] = {"cfg-assets": "eu-west-1", "cfg-assets-logs": "eu-west-1", "cfg-assets-dr": "us-west-2"}
    for name, region in places.items():
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_versioning(Bucket="cfg-assets", VersioningConfiguration={"Status": "Enabled"})
    yield s3
    for name in places:
        s3.delete_bucket(Bucket=name)


def _replicate(s3: Any, destination: str, account: str | None = None) -> None:
    s3.put_bucket_replication(Bucket="cfg-assets", ReplicationConfiguration={
        "Role": f"arn:aws:iam::{ACCOUNT_ID}:role/replication", "Rules": [
            {"ID": "r", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": ""},
             "DeleteMarkerReplication": {"Status": "Disabled"},
             "Destination": {"Bucket": f"arn:aws:s3:::{destination}", **({"Account": account} if account else {})}}]})


ASSETS = {"type": "s3", "bucket": "cfg-assets", "region": "eu-west-1"}


def test_a_same_region_replica_in_the_same_account_is_no_copy(tmp_path: Path, assets: Any) -> None:
    """Same-Region Replication to a bucket of the same account (named or not) keeps no copy in another region or
    account: the copy rule fails, and the note says why the replica was not counted."""
    for account in (None, ACCOUNT_ID):
        _replicate(assets, "cfg-assets-logs", account)
        found, checks = recorded(tmp_path, ASSETS, policy={"copy": True})
        assert found.block is not None and found.block["facts"]["copy_to"] == []
        assert "copy_to" not in found.block["unknown"]
        assert not checks["copy"].passed and checks["copy"].observed == {"copies": []}
        assert "replication to arn:aws:s3:::cfg-assets-logs stays in eu-west-1 and the bucket's account: not a copy" \
            in checks["copy"].message
        assert "no copy in another region or account is configured" in checks["copy"].message


def test_a_cross_region_replica_is_a_copy_in_its_region(tmp_path: Path, assets: Any) -> None:
    _replicate(assets, "cfg-assets-dr")
    found, checks = recorded(tmp_path, ASSETS, policy={"copy": True})
    assert found.block is not None
    assert found.block["facts"]["copy_to"] == ["replication to arn:aws:s3:::cfg-assets-dr (region us-west-2)"]
    assert checks["copy"].passed, checks["copy"].message
    assert checks["copy"].observed == {"copies": [{"region": "us-west-2", "account": "same"}]}


def test_a_denied_bucket_location_leaves_the_copy_unknown_naming_the_permission(
        tmp_path: Path, assets: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The replica's region cannot be read and the rule names no other account: whether it is a copy is not
    known, so the rule fails saying so (not a pass, not 'no copy')."""
    def denied(backend: S3Backend, bucket_name: str) -> str:
        raise S3AccessDeniedError

    _replicate(assets, "cfg-assets-dr")
    monkeypatch.setattr(S3Backend, "get_bucket_location", denied)
    found, checks = recorded(tmp_path, ASSETS, policy={"copy": True})
    assert found.block is not None and found.block["facts"]["copy_to"] == "unknown"
    why = found.block["unknown"]["copy_to"]
    assert "cannot read the region of bucket cfg-assets-dr" in why and "s3:GetBucketLocation" in why
    assert (checks["copy"].passed, checks["copy"].observed) == (False, {"copy_to": "unknown"})
    assert "not known, so not shown to meet the policy" in checks["copy"].message
    assert "s3:GetBucketLocation" in checks["copy"].message


def test_dynamodb_pitr_on_and_off(tmp_path: Path, aws: MotoServer) -> None:
    ddb = boto3.client("dynamodb")
    for name in ("cfg-orders", "cfg-no-pitr"):
        ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST", DeletionProtectionEnabled=name == "cfg-orders")
    try:
        ddb.update_continuous_backups(TableName="cfg-orders",
                                      PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        ddb.create_backup(TableName="cfg-orders", BackupName="orders-1")
        policy = {"pitr": True, "deletion_protection": True, "survives_deletion": True, "copy": True}
        source = {"type": "dynamodb-backup", "table": "cfg-orders", "manifest": "m.json"}
        on, on_checks = recorded(tmp_path, source, policy=policy, kind="dynamodb")
        off, off_checks = recorded(tmp_path, {**source, "table": "cfg-no-pitr"}, policy=policy, kind="dynamodb")
    finally:
        for backup in ddb.list_backups(TableName="cfg-orders")["BackupSummaries"]:
            ddb.delete_backup(BackupArn=backup["BackupArn"])
        ddb.update_table(TableName="cfg-orders", DeletionProtectionEnabled=False)
        for name in ("cfg-orders", "cfg-no-pitr"):
            ddb.delete_table(TableName=name)
    assert on.block is not None and off.block is not None
    assert {k: on.block["facts"][k] for k in ("pitr", "retention_days", "deletion_protection", "survives_deletion",
                                              "encrypted")} == {"pitr": True, "retention_days": 35,
                                                                "deletion_protection": True, "survives_deletion": True,
                                                                "encrypted": True}
    assert {k: off.block["facts"][k] for k in ("pitr", "retention_days", "deletion_protection",
                                               "survives_deletion")} == {"pitr": False, "retention_days": 0,
                                                                         "deletion_protection": False,
                                                                         "survives_deletion": False}
    assert on_checks["pitr"].passed and not off_checks["pitr"].passed
    assert "point-in-time recovery is OFF" in off_checks["pitr"].message
    assert on_checks["survives_deletion"].passed and not off_checks["survives_deletion"].passed
    # no AWS Backup plan copies it (moto lists none): no copy, and the rule fails saying so
    assert on.block["facts"]["copy_to"] == [] and "copy_to" not in on.block["unknown"]
    assert not on_checks["copy"].passed and on_checks["copy"].observed == {"copies": []}
    assert on_checks["copy"].expected == {"min_copies": 1}
    assert "no copy in another region or account is configured" in on_checks["copy"].message


def test_dynamodb_retention_with_pitr_off_is_its_on_demand_backups(tmp_path: Path, aws: MotoServer) -> None:
    """PITR off: no continuous backup is kept, so a min_retention_days rule fails (0 days) unless on-demand backups
    exist: those never expire (no expiry, as an S3 prefix without a lifecycle rule)."""
    ddb = boto3.client("dynamodb")
    for name in ("cfg-bare", "cfg-kept"):
        ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
    try:
        ddb.create_backup(TableName="cfg-kept", BackupName="kept-1")
        source = {"type": "dynamodb-backup", "table": "cfg-bare", "manifest": "m.json"}
        bare, bare_checks = recorded(tmp_path, source, policy={"min_retention_days": 14}, kind="dynamodb")
        kept, kept_checks = recorded(tmp_path, {**source, "table": "cfg-kept"}, policy={"min_retention_days": 14},
                                     kind="dynamodb")
    finally:
        for backup in ddb.list_backups(TableName="cfg-kept")["BackupSummaries"]:
            ddb.delete_backup(BackupArn=backup["BackupArn"])
        for name in ("cfg-bare", "cfg-kept"):
            ddb.delete_table(TableName=name)
    assert bare.block is not None and kept.block is not None
    assert (bare.block["facts"]["pitr"], bare.block["facts"]["retention_days"]) == (False, 0)
    assert bare.block["notes"]["retention_days"] == "point-in-time recovery off and no on-demand backup: no backup " \
                                                    "is kept"
    assert not bare_checks["retention"].passed
    assert "retention is 0 days; the policy requires at least 14 days (TOO SHORT)" in bare_checks["retention"].message
    assert (kept.block["facts"]["pitr"], kept.block["facts"]["retention_days"]) == (False, None)
    assert kept_checks["retention"].passed, kept_checks["retention"].message
    assert "1 on-demand backup, kept until deleted (on-demand backups do not expire)" in \
        kept_checks["retention"].message


# moto warns that AWS models no AccessDenied shape for RDS; the reply is still the error AWS sends
@pytest.mark.filterwarnings("ignore:Exception\\(RDSClientError\\) with code AccessDenied:UserWarning")
def test_a_denied_describe_is_unknown_naming_the_permission(tmp_path: Path, instance: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(backend: RDSBackend, *args: Any, **kwargs: Any) -> Any:
        raise RDSClientError("AccessDenied", "User: arn:aws:iam::123456789012:user/ci is not authorized to "
                             "perform: rds:DescribeDBInstances")

    monkeypatch.setattr(RDSBackend, "describe_db_instances", denied)
    found, checks = recorded(tmp_path, {"type": "rds-snapshot", "instance": instance}, policy=RDS_POLICY)
    assert found.block is not None
    unknown = found.block["unknown"]
    assert set(unknown) == {"retention_days", "encrypted", "kms_key", "pitr", "deletion_protection", "copy_to"}
    assert all("AccessDenied" in why and "grant the harness's AWS identity rds:DescribeDBInstances" in why
               for why in unknown.values()), unknown
    assert unknown["copy_to"] == unknown["retention_days"]  # the replication's and the AWS Backup plans' reading alike
    assert found.block["facts"]["retention_days"] == "unknown"
    assert found.block["facts"]["survives_deletion"] is False  # read with another call, still known
    for rule in ("retention", "pitr", "deletion_protection"):
        fact = {"retention": "retention_days"}.get(rule, rule)
        assert (checks[rule].passed, checks[rule].observed) == (False, {fact: "unknown"})
        assert "not known, so not shown to meet the policy" in checks[rule].message
        assert "rds:DescribeDBInstances" in checks[rule].message


def test_a_denied_dynamodb_call_leaves_the_other_facts_read(tmp_path: Path, aws: MotoServer,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(backend: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        raise JsonRESTError("AccessDeniedException", "User: arn:aws:iam::123456789012:user/ci is not authorized "
                            "to perform: dynamodb:DescribeContinuousBackups")

    ddb = boto3.client("dynamodb")
    ddb.create_table(TableName="cfg-denied", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    monkeypatch.setattr(DynamoDBBackend, "describe_continuous_backups", denied)
    try:
        found, checks = recorded(tmp_path, {"type": "dynamodb-backup", "table": "cfg-denied", "manifest": "m.json"},
                                 policy={"pitr": True, "encryption": True}, kind="dynamodb")
    finally:
        ddb.delete_table(TableName="cfg-denied")
    assert found.block is not None
    assert set(found.block["unknown"]) == {"pitr", "retention_days"}
    assert "dynamodb:DescribeContinuousBackups" in found.block["unknown"]["pitr"]
    assert found.block["facts"]["encrypted"] is True and checks["encryption"].passed
    assert not checks["pitr"].passed and "dynamodb:DescribeContinuousBackups" in checks["pitr"].message
