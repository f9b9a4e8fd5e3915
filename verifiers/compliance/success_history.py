"""The backup histories the success rate is judged from (verifiers/compliance/success_rate.py), read from AWS (the
`aws` extra): per day of the period, whether a backup completed.

- aws-backup: the resource's AWS Backup jobs (ListBackupJobs), by the day each was created: a COMPLETED job
  completes its day; a day with none names the status of its jobs (FAILED, EXPIRED, RUNNING, ...), or is missing.
  The resource is `resource_arn`, an aws-backup source's, or the ARN of the instance, cluster, table or bucket
  an rds-snapshot, dynamodb-backup, s3 or s3-bucket source backs up (resource_arns.py).
- rds-automated: the instance's or cluster's available automated snapshots, by the day each was taken (manual and
  AWS Backup snapshots do not count); none is kept before the creation or beyond BackupRetentionPeriod days, and a
  retention of 0 means automated backups are disabled.
- dynamodb-pitr: the table's continuous backups: a day from the earliest to the latest restorable time is
  covered, a day before it (or every day, PITR disabled) is missing; none before the creation or beyond the
  recovery period.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import backup_client, dynamodb_client, rds_client
from verifiers.checks import CheckResult
from verifiers.compliance import resource_arns, success_rate
from verifiers.compliance.aws_points import aws_error, rds_snapshots
from verifiers.compliance.settings import SuccessRateSettings
from verifiers.compliance.success_rate import Bound, History, Period
from verifiers.sources.aws_backup import resource_name_of
from verifiers.store_settings import AnyStore, AwsBackupSource, AwsSettings, DynamoDbBackupSource, RdsSnapshotSource

COMPLETED = "COMPLETED"
PITR_DAYS = 35  # DynamoDB's recovery period when the table does not say


def judge(store: AnyStore, history: str, now: datetime) -> CheckResult:
    assert store.hygiene is not None and store.hygiene.success_rate is not None
    settings = store.hygiene.success_rate
    period = success_rate.Period.ending_before(now.astimezone(UTC), settings.days)
    readers: dict[str, Callable[[], History]] = {
        "aws-backup": lambda: aws_backup(store, settings, period),
        "rds-automated": lambda: rds_automated(store, period),
        "dynamodb-pitr": lambda: dynamodb_pitr(store, period),
    }
    return success_rate.judge(readers[history](), settings, period, subject=history)


def list_backup_jobs(store: str, client: Any, query: dict[str, Any]) -> list[Any]:
    """Every AWS Backup job the query selects, through the paginator (backup_jobs and backup_success both)."""
    def listing() -> list[Any]:
        return [j for page in client.get_paginator("list_backup_jobs").paginate(**query)
                for j in page.get("BackupJobs", [])]

    jobs: list[Any] = _call(store, "cannot list the AWS Backup jobs", "backup:ListBackupJobs", listing)
    return jobs


def aws_backup(store: AnyStore, settings: SuccessRateSettings, period: Period) -> History:
    source = store.source
    aws = source if isinstance(source, AwsSettings) else None
    backup_source = source if isinstance(source, AwsBackupSource) else None
    arn = settings.resource_arn or (backup_source.resource_arn if backup_source else None)
    derivable = resource_arns.of_source(source)
    if arn is None and derivable is not None:
        arn = resource_arns.resource_arn(store.name, derivable)
    query: dict[str, Any] = {"ByCreatedAfter": _midnight(period.first),
                             "ByCreatedBefore": _midnight(period.last + timedelta(days=1))}
    if arn is not None:
        query["ByResourceArn"] = resource = arn
    else:  # an aws-backup source naming its resource by type and name (the inventory allows no other case)
        assert backup_source is not None and backup_source.resource_type is not None
        query["ByResourceType"] = backup_source.resource_type
        resource = f"{backup_source.resource_type} {backup_source.resource_name}"
    if settings.vault:
        query["ByBackupVaultName"] = settings.vault
    client = backup_client(settings.region or (aws.region if aws else None),
                           settings.endpoint_url or (aws.endpoint_url if aws else None))
    jobs = list_backup_jobs(store.name, client, query)
    jobs = [j for j in jobs if _of_resource(str(j.get("ResourceArn", "")), arn, backup_source)]
    completed: set[date] = set()
    statuses: dict[date, set[str]] = {}
    for job in jobs:
        created = job.get("CreationDate")
        if not isinstance(created, datetime):
            continue
        day = created.astimezone(UTC).date()
        state = str(job.get("State") or "UNKNOWN")
        if state == COMPLETED:
            completed.add(day)
        else:
            statuses.setdefault(day, set()).add(state)
    vault = f" in vault {settings.vault}" if settings.vault else ""
    return History(f"AWS Backup jobs of {resource}{vault}", frozenset(completed),
                   {d: frozenset(s) for d, s in statuses.items()})


def _of_resource(job_arn: str, arn: str | None, source: AwsBackupSource | None) -> bool:
    if arn is not None:
        return job_arn == arn
    return source is not None and resource_name_of(job_arn) == source.resource_name


def rds_automated(store: AnyStore, period: Period) -> History:
    source = store.source
    assert isinstance(source, RdsSnapshotSource)  # the inventory allows this history on these only
    client = rds_client(source.region, source.endpoint_url)
    if source.cluster:
        cluster = source.cluster
        origin = f"cluster {cluster}"
        raw = _call(store.name, f"cannot describe {origin}", "rds:DescribeDBClusters",
                    lambda: client.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"][0])
        created = raw.get("ClusterCreateTime")
    else:
        instance = str(source.instance)
        origin = f"instance {instance}"
        raw = _call(store.name, f"cannot describe {origin}", "rds:DescribeDBInstances",
                    lambda: client.describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"][0])
        created = raw.get("InstanceCreateTime")
    kept = int(raw.get("BackupRetentionPeriod") or 0)
    bounds = _created(origin, created)
    what = f"automated snapshots of {origin}"
    if kept == 0:
        return History(what, frozenset(), bounds=bounds,
                       disabled="automated backups are disabled (BackupRetentionPeriod 0)")
    bounds.append(Bound(period.last + timedelta(days=1 - kept),
                        f"automated snapshots are kept {kept} day{'s' if kept != 1 else ''} (BackupRetentionPeriod)"))
    snapshots = rds_snapshots(source, store=store.name, kinds=("automated",), client=client)
    return History(what, frozenset(s.created_at.astimezone(UTC).date() for s in snapshots), bounds=bounds)


def dynamodb_pitr(store: AnyStore, period: Period) -> History:
    source = store.source
    assert isinstance(source, DynamoDbBackupSource)  # the inventory allows this history on these only
    client = dynamodb_client(source.region, source.endpoint_url)
    table = _call(store.name, f"cannot describe table {source.table}", "dynamodb:DescribeTable",
                  lambda: client.describe_table(TableName=source.table)["Table"])
    described = _call(store.name, f"cannot read the continuous backups of table {source.table}",
                      "dynamodb:DescribeContinuousBackups",
                      lambda: client.describe_continuous_backups(TableName=source.table))
    pitr = described["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription") or {}
    bounds = _created(f"table {source.table}", table.get("CreationDateTime"))
    status = str(pitr.get("PointInTimeRecoveryStatus") or "DISABLED")
    what = f"continuous backups (PITR) of table {source.table}"
    earliest, latest = pitr.get("EarliestRestorableDateTime"), pitr.get("LatestRestorableDateTime")
    if status != "ENABLED" or not isinstance(earliest, datetime) or not isinstance(latest, datetime):
        return History(what, frozenset(), bounds=bounds, disabled=f"point-in-time recovery is {status}")
    kept = int(pitr.get("RecoveryPeriodInDays") or PITR_DAYS)
    bounds.append(Bound(period.last + timedelta(days=1 - kept), f"point-in-time recovery keeps {kept} days"))
    first, last = earliest.astimezone(UTC), latest.astimezone(UTC)
    covered = {first.date() + timedelta(days=i) for i in range((last.date() - first.date()).days + 1)}
    return History(f"{what}, restorable from {_shown(first)} to {_shown(last)}", frozenset(covered), bounds=bounds)


def _created(what: str, created: Any) -> list[Bound]:
    if not isinstance(created, datetime):
        return []
    day = created.astimezone(UTC).date()
    return [Bound(day, f"the {what} was created {day.isoformat()}")]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _shown(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%MZ")


def _call(store: str, what: str, actions: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(store, what, exc, actions) from None
