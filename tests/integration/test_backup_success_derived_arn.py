"""The backup success rate's aws-backup history of a store whose source is no aws-backup one, without
`resource_arn`: the resource's ARN is read from moto's server over HTTP (DescribeDBInstances, DescribeDBClusters,
DescribeTable; an S3 bucket's is arn:aws:s3:::BUCKET) and is the ByResourceArn of ListBackupJobs, which moto does
not serve: AWS Backup's client is botocore's Stubber, asserting that exact parameter. `resource_arn` still
overrides the derived one, and then nothing is described."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.aws_support import MotoServer
from verifiers.checks import CheckResult
from verifiers.compliance import success_history
from verifiers.compliance.attach import judge_unrestored
from verifiers.inventory import parse_inventory

NOW = datetime.combine(datetime.now(UTC).date(), time(6), UTC)
DAYS = [NOW.date() - timedelta(days=d) for d in (3, 2, 1)]
PERIOD = {"ByCreatedAfter": datetime.combine(DAYS[0], time(), UTC),
          "ByCreatedBefore": datetime.combine(NOW.date(), time(), UTC)}
RATE = {"history": ["aws-backup"], "days": 3}


@pytest.fixture
def backup(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("backup")
    stub = Stubber(client)
    monkeypatch.setattr(success_history, "backup_client", lambda region, endpoint: client)
    with stub:
        yield stub
        stub.assert_no_pending_responses()


def jobs_of(arn: str, failed: date | None = None) -> dict[str, Any]:
    return {"BackupJobs": [{"BackupJobId": f"job-{d}", "ResourceArn": arn, "State": "FAILED" if d == failed else
                            "COMPLETED", "CreationDate": datetime.combine(d, time(3), UTC)} for d in DAYS]}


def judged(tmp_path: Path, source: dict[str, Any], kind: str, rate: dict[str, Any] | None = None) -> CheckResult:
    store = {"name": "app", "kind": kind, "rto": "1h", "rpo": "1d", "source": source,
             "hygiene": {"rpo_gap": False, "success_rate": {**RATE, **(rate or {})}}}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    # an s3 source's hygiene also judges its bucket (versioning, encryption, public access): not these tests' subject
    (result,) = [r for r in judge_unrestored(inventory.stores[0], tmp_path, now=NOW) if r.check == "backup_success"]
    return result


def test_an_rds_instance_s_arn_is_described(tmp_path: Path, backup: Stubber) -> None:
    rds = boto3.client("rds")
    arn = rds.create_db_instance(DBInstanceIdentifier="sr-app", Engine="postgres", DBInstanceClass="db.t4g.small",
                                 MasterUsername="app", MasterUserPassword="not-a-real-password-1",
                                 AllocatedStorage=20)["DBInstance"]["DBInstanceArn"]
    try:
        assert arn.endswith(":db:sr-app")
        backup.add_response("list_backup_jobs", jobs_of(arn, failed=DAYS[1]), {**PERIOD, "ByResourceArn": arn})
        result = judged(tmp_path, {"type": "rds-snapshot", "instance": "sr-app"}, "postgres")
        assert not result.passed
        assert result.message.startswith(f"AWS Backup jobs of {arn}: 2 of 3 scheduled daily backups")
        assert result.message.endswith(f"days without a completed backup: {DAYS[1]} FAILED")
    finally:
        rds.delete_db_instance(DBInstanceIdentifier="sr-app", SkipFinalSnapshot=True, DeleteAutomatedBackups=True)


def test_an_aurora_cluster_s_arn_is_described(tmp_path: Path, backup: Stubber) -> None:
    rds = boto3.client("rds")
    arn = rds.create_db_cluster(DBClusterIdentifier="sr-aurora", Engine="aurora-postgresql", MasterUsername="app",
                                MasterUserPassword="not-a-real-password-1")["DBCluster"]["DBClusterArn"]
    try:
        assert arn.endswith(":cluster:sr-aurora")
        backup.add_response("list_backup_jobs", jobs_of(arn), {**PERIOD, "ByResourceArn": arn})
        source = {"type": "rds-snapshot", "cluster": "sr-aurora", "instance_class": "db.r6g.large"}
        result = judged(tmp_path, source, "postgres")
        assert result.passed, result.message
        assert result.observed == {"completed": 3, "scheduled": 3, "percent": 100.0}
    finally:
        rds.delete_db_cluster(DBClusterIdentifier="sr-aurora", SkipFinalSnapshot=True)


def test_a_dynamodb_table_s_arn_is_described(tmp_path: Path, backup: Stubber) -> None:
    ddb = boto3.client("dynamodb")
    arn = ddb.create_table(TableName="sr-orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                           BillingMode="PAY_PER_REQUEST")["TableDescription"]["TableArn"]
    try:
        backup.add_response("list_backup_jobs", jobs_of(arn), {**PERIOD, "ByResourceArn": arn,
                                                               "ByBackupVaultName": "prod"})
        source = {"type": "dynamodb-backup", "table": "sr-orders", "manifest": "m.json"}
        result = judged(tmp_path, source, "dynamodb", {"vault": "prod"})
        assert result.passed and result.message.startswith(f"AWS Backup jobs of {arn} in vault prod: 3 of 3")
    finally:
        ddb.delete_table(TableName="sr-orders")


def test_an_s3_bucket_s_arn_is_its_name(tmp_path: Path, backup: Stubber) -> None:
    arn = "arn:aws:s3:::sr-backups"
    backup.add_response("list_backup_jobs", {"BackupJobs": []}, {**PERIOD, "ByResourceArn": arn})
    result = judged(tmp_path, {"type": "s3", "bucket": "sr-backups", "prefix": "pg/"}, "postgres")
    assert not result.passed
    assert result.message.startswith(f"AWS Backup jobs of {arn}: 0 of 3 scheduled")


def test_an_s3_bucket_in_a_china_region_is_in_its_partition(tmp_path: Path, backup: Stubber) -> None:
    arn = "arn:aws-cn:s3:::sr-backups"
    backup.add_response("list_backup_jobs", jobs_of(arn), {**PERIOD, "ByResourceArn": arn})
    result = judged(tmp_path, {"type": "s3", "bucket": "sr-backups", "region": "cn-north-1"}, "postgres")
    assert result.passed and result.message.startswith(f"AWS Backup jobs of {arn}: 3 of 3")


def test_resource_arn_overrides_the_derived_one(tmp_path: Path, backup: Stubber) -> None:
    arn = "arn:aws:rds:us-east-1:123456789012:db:elsewhere"  # no instance sr-missing exists: none is described
    backup.add_response("list_backup_jobs", jobs_of(arn), {**PERIOD, "ByResourceArn": arn})
    result = judged(tmp_path, {"type": "rds-snapshot", "instance": "sr-missing"}, "postgres", {"resource_arn": arn})
    assert result.passed, result.message


def test_a_missing_instance_is_not_judged_and_named(tmp_path: Path, backup: Stubber) -> None:
    result = judged(tmp_path, {"type": "rds-snapshot", "instance": "sr-missing"}, "postgres")
    assert not result.passed
    assert result.message.startswith("not judged: store app: cannot describe instance sr-missing: DBInstanceNotFound")
