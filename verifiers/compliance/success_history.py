"""The backup histories the success rate is judged from (verifiers/compliance/success_rate.py), read from AWS (the
`aws` extra): per day of the period, whether a backup completed.

- aws-backup: the resource's AWS Backup jobs (ListBackupJobs), by the day each was created: a COMPLETED job
  completes its day; a day with none names the status of its jobs (FAILED, EXPIRED, RUNNING, ...), or is missing.
  The resource is `resource_arn`, an aws-backup source's, or the ARN of the instance, cluster, table or bucket
  an rds-snapshot, dynamodb-backup, s3 or s3-bucket source backs up (resource_arns.py). ListBackupJobs lists the
  jobs of the last 30 days only (JOBS_LISTED_DAYS): counting starts at the first whole UTC day inside those 30
  days, as a day partly before them may have had its job before them (a 03:00 job, a 10:00 run).
- rds-automated: the instance's or cluster's available automated snapshots, by the day each was taken (manual and
  AWS Backup snapshots do not count); none is kept before the creation, and a retention of 0 means automated
  backups are disabled. With a retention of N days, RDS deletes the snapshot of day T-N during day T's backup
  window: before the window it is there, after it is not. Counting starts at T-N+1 (N-1 days of the period), the
  oldest day RDS keeps whatever the hour of the run; not at the oldest snapshot found or EarliestRestorableTime,
  which would hide the failed days at the start of the retention instead of naming them.
- dynamodb-pitr: the table's continuous backups: a day from the earliest to the latest restorable time is
  covered, a day before it (or every day, PITR disabled) is missing; none before the creation or beyond the
  recovery period.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from verifiers.aws import backup_client, rds_client
from verifiers.checks import CheckResult
from verifiers.compliance import aws_points, resource_arns, success_rate
from verifiers.compliance.aws_points import aws_call, dynamodb_table, rds_origin, rds_snapshots
from verifiers.compliance.settings import JOBS_LISTED_DAYS, SuccessRateSettings
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
        "aws-backup": lambda: aws_backup(store, settings, period, now),
        "rds-automated": lambda: rds_automated(store, period),
        "dynamodb-pitr": lambda: dynamodb_pitr(store, period),
    }
    return success_rate.judge(readers[history](), settings, period, subject=history)


def list_backup_jobs(store: str, client: Any, query: dict[str, Any]) -> list[Any]:
    """Every AWS Backup job the query selects, through the paginator (backup_jobs and backup_success both)."""
    def listing() -> list[Any]:
        return [j for page in client.get_paginator("list_backup_jobs").paginate(**query)
                for j in page.get("BackupJobs", [])]

    jobs: list[Any] = aws_call(store, "cannot list the AWS Backup jobs", "backup:ListBackupJobs", listing)
    return jobs


def aws_backup(store: AnyStore, settings: SuccessRateSettings, period: Period, now: datetime) -> History:
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
                   {d: frozenset(s) for d, s in statuses.items()}, bounds=[listed_since(now)])


def listed_since(now: datetime) -> Bound:
    """The first whole UTC day whose jobs ListBackupJobs still lists at `now` (it lists the last 30 days)."""
    oldest = now.astimezone(UTC) - timedelta(days=JOBS_LISTED_DAYS)
    day = oldest.date() if oldest.time() == time() else oldest.date() + timedelta(days=1)
    return Bound(day, f"AWS Backup lists the jobs of the last {JOBS_LISTED_DAYS} days (ListBackupJobs)")


def _of_resource(job_arn: str, arn: str | None, source: AwsBackupSource | None) -> bool:
    if arn is not None:
        return job_arn == arn
    return source is not None and resource_name_of(job_arn) == source.resource_name


def rds_automated(store: AnyStore, period: Period) -> History:
    source = store.source
    assert isinstance(source, RdsSnapshotSource)  # the inventory allows this history on these only
    raw = rds_origin(source, store=store.name)
    origin = f"cluster {source.cluster}" if source.cluster else f"instance {source.instance}"
    kept = int(raw.get("BackupRetentionPeriod") or 0)
    bounds = _created(origin, raw.get("ClusterCreateTime" if source.cluster else "InstanceCreateTime"))
    what = f"automated snapshots of {origin}"
    if kept == 0:
        return History(what, frozenset(), bounds=bounds,
                       disabled="automated backups are disabled (BackupRetentionPeriod 0)")
    # period.last + 1 is today: RDS may already have deleted the snapshot of today - kept (see the module's doc)
    bounds.append(Bound(period.last + timedelta(days=2 - kept),
                        f"automated snapshots are kept {kept} day{'s' if kept != 1 else ''} (BackupRetentionPeriod): "
                        f"the oldest day's is deleted during today's backup window"))
    client = rds_client(source.region, source.endpoint_url)
    snapshots = rds_snapshots(source, store=store.name, kinds=("automated",), client=client)
    return History(what, frozenset(s.created_at.astimezone(UTC).date() for s in snapshots), bounds=bounds)


def dynamodb_pitr(store: AnyStore, period: Period) -> History:
    source = store.source
    assert isinstance(source, DynamoDbBackupSource)  # the inventory allows this history on these only
    table = dynamodb_table(source, store=store.name)
    pitr = aws_points.dynamodb_pitr(source, store=store.name) or {}
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

