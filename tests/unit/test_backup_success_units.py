"""The backup success rate (hygiene check `backup_success`) over a month of provider history, through the real
boto3 clients and paginators with botocore's Stubber asserting each call's exact parameters: AWS Backup jobs
(moto has no ListBackupJobs) and a month of RDS automated snapshots (moto takes one, at the instance's creation;
tests/integration/test_backup_success_aws.py judges that one against moto's server). Also the inventory's refusal
of histories a store cannot have, and a denied call naming the permission."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from verifiers.checks import CheckResult
from verifiers.compliance import aws_points, success_history
from verifiers.compliance.attach import judge_unrestored
from verifiers.errors import InventoryError
from verifiers.inventory import parse_inventory

NOW = datetime(2026, 12, 6, tzinfo=UTC)  # the period: 2026-11-06 .. 2026-12-05, all of it in ListBackupJobs' 30 days
FIRST, LAST = date(2026, 11, 6), date(2026, 12, 5)
ARN = "arn:aws:rds:us-east-1:123456789012:db:app"
OTHER = "arn:aws:rds:us-east-1:123456789012:db:other"
PERIOD = {"ByCreatedAfter": datetime(2026, 11, 6, tzinfo=UTC), "ByCreatedBefore": datetime(2026, 12, 6, tzinfo=UTC)}


def month() -> list[date]:
    return [FIRST + timedelta(days=i) for i in range(30)]


def job(day: date, state: str = "COMPLETED", resource: str = ARN, hour: int = 3) -> dict[str, Any]:
    return {"BackupJobId": f"job-{day.isoformat()}-{hour}-{state}", "State": state, "ResourceArn": resource,
            "CreationDate": datetime(day.year, day.month, day.day, hour, 5, tzinfo=UTC)}


def judged(source: dict[str, Any], rate: dict[str, Any] | None = None, kind: str = "postgres",
           now: datetime = NOW) -> CheckResult:
    store = {"name": "app", "kind": kind, "rto": "1h", "rpo": "1d", "source": source,
             "hygiene": {"rpo_gap": False, "success_rate": rate or {}}}
    (result,) = judge_unrestored(parse_inventory({"stores": [store]}, Path("/inv/inventory.toml")).stores[0],
                                 Path("."), now=now)
    return result


@pytest.fixture
def backup(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("backup", region_name="us-east-1")
    stub = Stubber(client)
    monkeypatch.setattr(success_history, "backup_client", lambda region, endpoint: client)
    with stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def rds(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("rds", region_name="us-east-1")
    stub = Stubber(client)
    monkeypatch.setattr(success_history, "rds_client", lambda region, endpoint: client)
    monkeypatch.setattr(aws_points, "rds_client", lambda region, endpoint: client)
    with stub:
        yield stub
        stub.assert_no_pending_responses()


AWS_BACKUP = {"type": "file", "path": "x.dump"}
BY_ARN = {"history": ["aws-backup"], "resource_arn": ARN}


def test_aws_backup_a_completed_job_every_day_passes_across_pages(backup: Stubber) -> None:
    jobs = [job(d) for d in month()]
    backup.add_response("list_backup_jobs", {"BackupJobs": jobs[:20], "NextToken": "page-2"},
                        {**PERIOD, "ByResourceArn": ARN, "ByBackupVaultName": "prod"})
    backup.add_response("list_backup_jobs", {"BackupJobs": jobs[20:]},
                        {**PERIOD, "ByResourceArn": ARN, "ByBackupVaultName": "prod", "NextToken": "page-2"})
    result = judged(AWS_BACKUP, {**BY_ARN, "vault": "prod"})
    assert result.passed, result.message
    assert (result.observed, result.expected) == ({"completed": 30, "scheduled": 30, "percent": 100.0},
                                                {"min_percent": 99.9})
    assert result.message == (f"AWS Backup jobs of {ARN} in vault prod: 30 of 30 scheduled daily backups from "
                              "2026-11-06 to 2026-12-05 completed (100.000 %)")


def test_aws_backup_names_the_missing_and_the_failed_days(backup: Stubber) -> None:
    days = month()
    jobs = [job(d) for d in days if d not in (date(2026, 11, 10), date(2026, 11, 20), date(2026, 11, 25))]
    jobs += [job(date(2026, 11, 20), "FAILED"), job(date(2026, 11, 20), "EXPIRED", hour=9),
             job(date(2026, 11, 25), "FAILED"), job(date(2026, 11, 25), "COMPLETED", hour=5),  # a retry that made it
             job(date(2026, 11, 10), "COMPLETED", resource=OTHER)]  # another resource's, should the listing hold one
    backup.add_response("list_backup_jobs", {"BackupJobs": jobs}, {**PERIOD, "ByResourceArn": ARN})
    result = judged(AWS_BACKUP, BY_ARN)
    assert not result.passed
    assert result.observed == {"completed": 28, "scheduled": 30, "percent": 93.333}
    assert result.message.endswith("; days without a completed backup: 2026-11-10 missing, 2026-11-20 EXPIRED/FAILED")
    counted = result.scheduled_backups
    assert counted is not None and (counted.first_day, counted.last_day, counted.scheduled, counted.completed) == (
        "2026-11-06", "2026-12-05", 30, 28)
    assert [(m.day, m.status) for m in counted.missed] == [("2026-11-10", "missing"), ("2026-11-20", "EXPIRED/FAILED")]


def test_aws_backup_source_by_name_reads_its_resource_type_and_keeps_its_own_jobs(backup: Stubber) -> None:
    jobs = [job(d, resource=OTHER) for d in month()] + [job(d) for d in month()[1:]]
    backup.add_response("list_backup_jobs", {"BackupJobs": jobs}, {**PERIOD, "ByResourceType": "RDS"})
    source = {"type": "aws-backup", "vault": "prod", "resource_type": "RDS", "resource_name": "app"}
    result = judged(source)
    assert result.observed == {"completed": 29, "scheduled": 30, "percent": 96.667}
    assert result.message.startswith("AWS Backup jobs of RDS app: ")
    assert result.message.endswith("days without a completed backup: 2026-11-06 missing")


def test_aws_backup_since_and_a_long_list_of_missing_days(backup: Stubber) -> None:
    backup.add_response("list_backup_jobs", {"BackupJobs": []}, {**PERIOD, "ByResourceArn": ARN})
    result = judged(AWS_BACKUP, {**BY_ARN, "since": "2026-11-09"})
    assert result.observed == {"completed": 0, "scheduled": 27, "percent": 0.0}
    assert "2026-11-09 missing, 2026-11-10 missing" in result.message
    assert "2026-11-28 missing and 7 more (counted from 2026-11-09: the backups' start set in " \
           "hygiene.success_rate.since)" in result.message  # 20 named in the message
    assert result.scheduled_backups is not None and len(result.scheduled_backups.missed) == 27  # all in evidence


def test_aws_backup_weekly(backup: Stubber) -> None:
    # weeks counted back from 2026-12-05: 11-29..12-05, 11-22..28, 11-15..21, 11-08..14 (11-06 and 11-07 apart)
    jobs = [job(date(2026, 12, 1)), job(date(2026, 11, 16)), job(date(2026, 11, 9), "FAILED"),
            job(date(2026, 11, 7))]  # before the first whole week: not counted
    backup.add_response("list_backup_jobs", {"BackupJobs": jobs}, {**PERIOD, "ByResourceArn": ARN})
    result = judged(AWS_BACKUP, {**BY_ARN, "schedule": "weekly"})
    assert result.observed == {"completed": 2, "scheduled": 4, "percent": 50.0}
    assert result.message.endswith("weeks without a completed backup: week of 2026-11-08 FAILED, "
                                   "week of 2026-11-22 missing")


def listed(jobs: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The jobs ListBackupJobs answers with at `now`: those of the last 30 days only."""
    return [j for j in jobs if j["CreationDate"] >= now - timedelta(days=30)]


@pytest.mark.parametrize(("absent", "observed", "tail"), [
    (None, {"completed": 29, "scheduled": 29, "percent": 100.0}, "completed (100.000 %)"),
    (date(2026, 11, 7), {"completed": 28, "scheduled": 29, "percent": 96.552},
     "days without a completed backup: 2026-11-07 missing"),
])
def test_aws_backup_counts_from_the_first_whole_day_listbackupjobs_still_lists(
        backup: Stubber, absent: date | None, observed: dict[str, Any], tail: str) -> None:
    """A 03:05 job every day, a run at 10:00: the job of 2026-11-06 is older than the 30 days AWS Backup lists, so
    that day is not counted (not named missing); the first whole day listed, 2026-11-07, is."""
    now = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    jobs = listed([job(d) for d in month() if d != absent], now)
    assert min(j["CreationDate"] for j in jobs).date() == date(2026, 11, 7 if absent is None else 8)
    backup.add_response("list_backup_jobs", {"BackupJobs": jobs}, {**PERIOD, "ByResourceArn": ARN})
    result = judged(AWS_BACKUP, BY_ARN, now=now)
    assert result.passed is (absent is None), result.message
    assert result.observed == observed
    assert result.message.endswith(f"{tail} (counted from 2026-11-07: AWS Backup lists the jobs of the last 30 days "
                                   "(ListBackupJobs))")
    assert result.scheduled_backups is not None and result.scheduled_backups.first_day == "2026-11-07"


def test_a_denied_call_names_the_permission(backup: Stubber) -> None:
    backup.add_client_error("list_backup_jobs", service_error_code="AccessDeniedException", http_status_code=403,
                            service_message="not authorized", expected_params={**PERIOD, "ByResourceArn": ARN})
    result = judged(AWS_BACKUP, BY_ARN)
    assert not result.passed and result.message.startswith("not judged: store app: cannot list the AWS Backup jobs")
    assert "grant the harness's AWS identity backup:ListBackupJobs" in result.message


def snapshot(day: date) -> dict[str, Any]:
    return {"DBSnapshotIdentifier": f"rds:app-{day.isoformat()}-04-10", "DBInstanceIdentifier": "app",
            "SnapshotType": "automated", "Status": "available", "Engine": "postgres",
            "SnapshotCreateTime": datetime(day.year, day.month, day.day, 4, 10, tzinfo=UTC)}


def instance(retention: int, created: datetime = datetime(2025, 1, 1, tzinfo=UTC)) -> dict[str, Any]:
    return {"DBInstances": [{"DBInstanceIdentifier": "app", "BackupRetentionPeriod": retention,
                             "InstanceCreateTime": created}]}


def test_rds_a_month_of_automated_snapshots_with_one_day_missing(rds: Stubber) -> None:
    rds.add_response("describe_db_instances", instance(35), {"DBInstanceIdentifier": "app"})
    kept = [snapshot(d) for d in month() if d != date(2026, 11, 30)]
    rds.add_response("describe_db_snapshots", {"DBSnapshots": kept[:10], "Marker": "m"},
                     {"DBInstanceIdentifier": "app", "SnapshotType": "automated"})
    rds.add_response("describe_db_snapshots", {"DBSnapshots": kept[10:]},
                     {"DBInstanceIdentifier": "app", "SnapshotType": "automated", "Marker": "m"})
    result = judged({"type": "rds-snapshot", "instance": "app"})
    assert not result.passed
    assert result.observed == {"completed": 29, "scheduled": 30, "percent": 96.667}
    assert result.message == ("automated snapshots of instance app: 29 of 30 scheduled daily backups from 2026-11-06 "
                              "to 2026-12-05 completed (96.667 %); days without a completed backup: 2026-11-30 "
                              "missing")


@pytest.mark.parametrize(("hour", "kept_days", "missing"), [
    (10, range(-6, 1), None),  # after today's backup window: 11-29's snapshot is deleted, today's taken
    (2, range(-7, 0), None),  # before it: 11-29's is still there, today's not yet taken
    (10, range(-6, 1), date(2026, 12, 1)),  # a day inside the retention without a snapshot is named
])
def test_rds_counts_only_the_days_the_retention_surely_keeps(rds: Stubber, hour: int, kept_days: range,
                                                            missing: date | None) -> None:
    """A retention of 7 days, run on 2026-12-06: RDS deletes the snapshot of 11-29 during today's 04:10 window, so
    the days counted are 11-30 to 12-05 (6), whatever the hour of the run."""
    today = date(2026, 12, 6)
    rds.add_response("describe_db_instances", instance(7), {"DBInstanceIdentifier": "app"})
    kept = [snapshot(today + timedelta(days=d)) for d in kept_days if today + timedelta(days=d) != missing]
    rds.add_response("describe_db_snapshots", {"DBSnapshots": kept},
                     {"DBInstanceIdentifier": "app", "SnapshotType": "automated"})
    result = judged({"type": "rds-snapshot", "instance": "app"}, now=datetime(2026, 12, 6, hour, 0, tzinfo=UTC))
    assert result.passed is (missing is None), result.message
    assert result.observed == {"completed": 6 if missing is None else 5, "scheduled": 6,
                               "percent": 100.0 if missing is None else 83.333}
    assert "from 2026-11-30 to 2026-12-05" in result.message
    assert result.message.endswith("(counted from 2026-11-30: automated snapshots are kept 7 days "
                                   "(BackupRetentionPeriod): the oldest day's is deleted during today's backup "
                                   "window)")
    if missing:
        assert "days without a completed backup: 2026-12-01 missing (" in result.message


def test_rds_a_denied_describe_names_the_permission(rds: Stubber) -> None:
    rds.add_client_error("describe_db_instances", service_error_code="AccessDenied", http_status_code=403,
                         expected_params={"DBInstanceIdentifier": "app"})
    result = judged({"type": "rds-snapshot", "instance": "app"})
    assert not result.passed and "grant the harness's AWS identity rds:DescribeDBInstances" in result.message


def test_dynamodb_the_days_before_the_earliest_restorable_time_are_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """PITR re-enabled on 2026-11-20 10:00 of a table from 2025: the 14 days before it are missing."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    stub = Stubber(client)
    monkeypatch.setattr(aws_points, "dynamodb_client", lambda region, endpoint: client)
    stub.add_response("describe_table", {"Table": {"TableName": "orders",
                                                   "CreationDateTime": datetime(2025, 3, 1, tzinfo=UTC)}},
                      {"TableName": "orders"})
    stub.add_response("describe_continuous_backups", {"ContinuousBackupsDescription": {
        "ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": {
            "PointInTimeRecoveryStatus": "ENABLED", "RecoveryPeriodInDays": 35,
            "EarliestRestorableDateTime": datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
            "LatestRestorableDateTime": NOW - timedelta(minutes=5)}}}, {"TableName": "orders"})
    with stub:
        result = judged({"type": "dynamodb-backup", "table": "orders", "manifest": "m.json"}, kind="dynamodb")
    stub.assert_no_pending_responses()
    assert result.observed == {"completed": 16, "scheduled": 30, "percent": 53.333}
    assert result.message.startswith("continuous backups (PITR) of table orders, restorable from 2026-11-20T10:00Z "
                                     "to 2026-12-05T23:55Z: 16 of 30")
    assert result.message.endswith("days without a completed backup: " + ", ".join(
        f"2026-11-{d:02d} missing" for d in range(6, 20)))


@pytest.mark.parametrize(("source", "rate", "kind", "says"), [
    ({"type": "file", "path": "x"}, {}, "postgres", "hygiene.success_rate of a file source needs `history`"),
    ({"type": "file", "path": "x"}, {"history": ["aws-backup"]}, "postgres", "needs `resource_arn`: the protected "
     "resource whose AWS Backup jobs to read (derived only for rds-snapshot, dynamodb-backup, s3, s3-bucket sources)"),
    ({"type": "rds-snapshot", "instance": "db"}, {"history": ["dynamodb-pitr"]}, "postgres",
     "history dynamodb-pitr applies to dynamodb-backup sources, not rds-snapshot"),
    ({"type": "rds-snapshot", "instance": "db"}, {"schedule": "hourly"}, "postgres", "schedule"),
    ({"type": "rds-snapshot", "instance": "db"}, {"days": 0}, "postgres", "days"),
    ({"type": "aws-backup", "vault": "prod", "resource_type": "RDS", "resource_name": "db"}, {"days": 31}, "postgres",
     "hygiene.success_rate days = 31 with history aws-backup: AWS Backup lists the jobs of the last 30 days only "
     "(ListBackupJobs), so the older days cannot be read; set days to 30 or less"),
    ({"type": "rds-snapshot", "instance": "db"}, {"days": 90, "history": ["rds-automated", "aws-backup"]},
     "postgres", "days = 90 with history aws-backup"),
])
def test_inventory_refuses_a_history_the_store_cannot_have(source: dict[str, Any], rate: dict[str, Any], kind: str,
                                                           says: str) -> None:
    store = {"name": "app", "kind": kind, "rto": "1h", "rpo": "1d", "source": source,
             "hygiene": {"rpo_gap": False, "success_rate": rate}}
    with pytest.raises(InventoryError) as caught:
        parse_inventory({"stores": [store]}, Path("/inv/inventory.toml"))
    assert says in str(caught.value)


@pytest.mark.parametrize(("source", "operation", "action"), [
    ({"type": "rds-snapshot", "instance": "app"}, "describe_db_instances", "rds:DescribeDBInstances"),
    ({"type": "rds-snapshot", "cluster": "app", "instance_class": "db.r6g.large"}, "describe_db_clusters",
     "rds:DescribeDBClusters"),
])
def test_aws_backup_history_a_denied_describe_of_the_resource_names_the_permission(
        monkeypatch: pytest.MonkeyPatch, source: dict[str, Any], operation: str, action: str) -> None:
    """No resource_arn: the ARN is described, and a denial says which permission; no job is listed."""
    client = boto3.client("rds", region_name="us-east-1")
    stub = Stubber(client)
    monkeypatch.setattr(aws_points, "rds_client", lambda region, endpoint: client)
    key = "DBClusterIdentifier" if "cluster" in source else "DBInstanceIdentifier"
    stub.add_client_error(operation, service_error_code="AccessDenied", http_status_code=403,
                          expected_params={key: "app"})
    with stub:
        result = judged(source, {"history": ["aws-backup"]})
    stub.assert_no_pending_responses()
    assert not result.passed and result.message.startswith("not judged: store app: cannot describe ")
    assert f"grant the harness's AWS identity {action}" in result.message


def test_aws_backup_history_a_denied_describe_table_names_the_permission(monkeypatch: pytest.MonkeyPatch) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    stub = Stubber(client)
    monkeypatch.setattr(aws_points, "dynamodb_client", lambda region, endpoint: client)
    stub.add_client_error("describe_table", service_error_code="AccessDeniedException", http_status_code=400,
                          expected_params={"TableName": "orders"})
    with stub:
        result = judged({"type": "dynamodb-backup", "table": "orders", "manifest": "m.json"},
                        {"history": ["aws-backup"]}, kind="dynamodb")
    stub.assert_no_pending_responses()
    assert not result.passed and "cannot describe table orders" in result.message
    assert "grant the harness's AWS identity dynamodb:DescribeTable" in result.message


def test_inventory_refuses_backup_jobs_over_more_days_than_aws_backup_lists() -> None:
    """hygiene.backup_jobs reads ListBackupJobs too: a 90-day share would be the last 30 days' said as 90."""
    store = {"name": "app", "kind": "postgres", "rto": "1h", "rpo": "1d", "source": {"type": "file", "path": "x"},
             "hygiene": {"rpo_gap": False, "backup_jobs": {"days": 90}}}
    with pytest.raises(InventoryError) as caught:
        parse_inventory({"stores": [store]}, Path("/inv/inventory.toml"))
    assert "stores[0].hygiene.backup_jobs.days: Input should be less than or equal to 30" in str(caught.value)
    store["hygiene"] = {"rpo_gap": False, "backup_jobs": {"days": 30}}
    assert parse_inventory({"stores": [store]}, Path("/inv/inventory.toml")).stores[0].hygiene is not None
