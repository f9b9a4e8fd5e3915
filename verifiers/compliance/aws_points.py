"""Recovery points and point-in-time recovery read from AWS (the `aws` extra): S3 objects' LastModified, RDS /
Aurora snapshots, DynamoDB backups, and the latest restorable time of an instance, cluster or table.
verifiers/compliance/recovery_points.py judges them; it imports this module only for those source types."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import describe_error, dynamodb_client, permission_hint, rds_client, s3_client
from verifiers.errors import SourceError
from verifiers.manifests import MANIFEST_SUFFIX
from verifiers.sources.rds_snapshot import _of_origin  # the listing the source itself uses
from verifiers.store_settings import DynamoDbBackupSource, RdsSnapshotSource, S3Source


def recovery_points(source: S3Source | RdsSnapshotSource | DynamoDbBackupSource, *,
                    store: str) -> tuple[list[datetime], str]:
    if isinstance(source, S3Source):
        return s3_points(source, store=store), "objects"
    if isinstance(source, RdsSnapshotSource):
        return [s.created_at for s in rds_snapshots(source, store=store)], "snapshots"
    return dynamodb_points(source, store=store), "backups"


def s3_points(source: S3Source, *, store: str) -> list[datetime]:
    client = s3_client(source.region, source.endpoint_url)
    found: list[datetime] = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=source.bucket, Prefix=source.prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith((MANIFEST_SUFFIX, "/")):
                    continue
                if fnmatch.fnmatchcase(key[len(source.prefix):], source.pattern):
                    found.append(obj["LastModified"].astimezone(UTC))
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(store, f"cannot list s3://{source.bucket}/{source.prefix}", exc, "s3:ListBucket") from None
    return found

def rds_snapshots(source: RdsSnapshotSource, *, store: str, kinds: Sequence[str] | None = None,
                  region: str | None = None, endpoint_url: str | None = None, client: Any = None) -> list[Any]:
    """The available snapshots of the source's instance or cluster (of `kinds`, default the source's include),
    in its region or another one, or through `client` another account's (a copy keeps the source's instance
    identifier)."""

    wanted = source.model_copy(update={"include": list(kinds or source.include)})
    client = client or rds_client(region or source.region, endpoint_url or source.endpoint_url)
    try:
        found = _of_origin(client, wanted, client.meta.region_name, endpoint_url or source.endpoint_url or "")
    except (ClientError, BotoCoreError) as exc:
        origin = f"cluster {source.cluster}" if source.cluster else f"instance {source.instance}"
        raise aws_error(store, f"cannot list the RDS snapshots of {origin} in {client.meta.region_name}", exc,
                        "rds:DescribeDBSnapshots and rds:DescribeDBClusterSnapshots") from None
    return [s for s in found if s.status == "available"]

def dynamodb_points(source: DynamoDbBackupSource, *, store: str) -> list[datetime]:
    return [b["BackupCreationDateTime"].astimezone(UTC) for b in dynamodb_backups(source, store=store)]


def dynamodb_backups(source: DynamoDbBackupSource, *, store: str) -> list[Any]:
    """The table's available backups as ListBackups summarises them (BackupType USER: on-demand, AWS_BACKUP:
    made by AWS Backup, SYSTEM), of every type."""
    client = dynamodb_client(source.region, source.endpoint_url)
    try:
        pages = client.get_paginator("list_backups").paginate(TableName=source.table, BackupType="ALL")
        return [b for page in pages for b in page.get("BackupSummaries", []) if b.get("BackupStatus") == "AVAILABLE"]
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(store, f"cannot list the DynamoDB backups of table {source.table}", exc,
                        "dynamodb:ListBackups") from None

def latest_restorable(source: RdsSnapshotSource | DynamoDbBackupSource, *, store: str) -> tuple[datetime | None, str]:
    """The latest restorable time of the source's instance, cluster or table (None: PITR off), and its name."""
    try:
        if isinstance(source, RdsSnapshotSource):
            client = rds_client(source.region, source.endpoint_url)
            if source.cluster:
                cluster = client.describe_db_clusters(DBClusterIdentifier=source.cluster)["DBClusters"][0]
                return _utc(cluster.get("LatestRestorableTime")), f"cluster {source.cluster}"
            assert source.instance is not None
            instance = client.describe_db_instances(DBInstanceIdentifier=source.instance)["DBInstances"][0]
            when = _utc(instance.get("LatestRestorableTime")) if instance.get("BackupRetentionPeriod") else None
            return when, f"instance {source.instance}"
        if isinstance(source, DynamoDbBackupSource):
            pitr = dynamodb_pitr(source, store=store)
            enabled = pitr.get("PointInTimeRecoveryStatus") == "ENABLED"
            return (_utc(pitr.get("LatestRestorableDateTime")) if enabled else None), f"table {source.table}"
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(store, "cannot read the latest restorable time", exc,
                        "rds:DescribeDBInstances, rds:DescribeDBClusters or dynamodb:DescribeContinuousBackups") \
            from None
    raise AssertionError(source)  # the types above are all there are

def dynamodb_pitr(source: DynamoDbBackupSource, *, store: str) -> Any:
    """The table's PointInTimeRecoveryDescription (status, restorable window, recovery period)."""
    client = dynamodb_client(source.region, source.endpoint_url)
    try:
        described = client.describe_continuous_backups(TableName=source.table)["ContinuousBackupsDescription"]
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(store, f"cannot read the continuous backups of table {source.table}", exc,
                        "dynamodb:DescribeContinuousBackups") from None
    return described.get("PointInTimeRecoveryDescription", {})


def rds_origin(source: RdsSnapshotSource, *, store: str) -> Any:
    """The source's instance or cluster as DescribeDBInstances / DescribeDBClusters report it."""
    client = rds_client(source.region, source.endpoint_url)
    try:
        if source.cluster:
            return client.describe_db_clusters(DBClusterIdentifier=source.cluster)["DBClusters"][0]
        return client.describe_db_instances(DBInstanceIdentifier=str(source.instance))["DBInstances"][0]
    except (ClientError, BotoCoreError) as exc:
        origin, action = (f"cluster {source.cluster}", "rds:DescribeDBClusters") if source.cluster else (
            f"instance {source.instance}", "rds:DescribeDBInstances")
        raise aws_error(store, f"cannot describe {origin}", exc, action) from None


def dynamodb_table(source: DynamoDbBackupSource, *, store: str) -> Any:
    """The table as DescribeTable reports it (SSEDescription, DeletionProtectionEnabled, Replicas)."""
    client = dynamodb_client(source.region, source.endpoint_url)
    try:
        return client.describe_table(TableName=source.table)["Table"]
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(store, f"cannot describe table {source.table}", exc, "dynamodb:DescribeTable") from None


def _utc(value: Any) -> datetime | None:
    return value.astimezone(UTC) if isinstance(value, datetime) else None

def aws_error(store: str, what: str, exc: ClientError | BotoCoreError, actions: str) -> SourceError:
    return SourceError(f"store {store}: {what}: {describe_error(exc)}",
                       hint=permission_hint(exc, actions) or "check the source's region and names in the inventory")


def aws_call(store: str, what: str, actions: str, fn: Callable[[], Any]) -> Any:
    """fn's answer; an AWS error becomes aws_error's SourceError naming the store, what failed and `actions`."""
    try:
        return fn()
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(store, what, exc, actions) from None
