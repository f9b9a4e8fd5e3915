"""The backup success rate (hygiene check `backup_success`) against moto's server over HTTP: RDS automated
snapshots and DynamoDB continuous backups (PITR).

moto takes one automated snapshot when an instance is created (and none after), and its PITR latest restorable
time is the moment PITR was enabled: the history it holds is today's. So these tests judge it as a run on a later
day would (`now` a day or more ahead), which makes today the period's last day or one of its days. A month of
RDS history and AWS Backup jobs (moto has no ListBackupJobs) are in tests/unit/test_backup_success_units.py,
through botocore's Stubber. Last, `restoreproof verify --suite hygiene` end to end: the rate in evidence.json,
report.html and the archive index."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest

from tests.aws_support import MotoServer
from verifiers.checks import CheckResult
from verifiers.cli import main
from verifiers.compliance.attach import judge_unrestored
from verifiers.inventory import parse_inventory

PASSWORD = "not-a-real-password-1"
MIDNIGHT_MARGIN = timedelta(minutes=2)  # longer than any test here takes


@pytest.fixture(autouse=True)
def clear_of_midnight() -> None:
    """moto dates what it creates by the real clock, and the expected days are counted from today: a test that ran
    across midnight UTC (a suite started the evening before, as CI's was) would compare two different todays. So
    each test starts at least MIDNIGHT_MARGIN before the next midnight UTC, waiting past it when it is nearer."""
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    if midnight - now < MIDNIGHT_MARGIN:
        time.sleep((midnight - now).total_seconds() + 1)


def success(tmp_path: Path, source: dict[str, Any], *, days_later: int, kind: str = "postgres",
            rate: dict[str, Any] | None = None) -> CheckResult:
    store = {"name": "app", "kind": kind, "rto": "1h", "rpo": "1d", "source": source,
             "hygiene": {"rpo_gap": False, "success_rate": rate or {}}}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    now = datetime.now(UTC) + timedelta(days=days_later)
    (result,) = judge_unrestored(inventory.stores[0], tmp_path, now=now)
    assert result.check == "backup_success"
    return result


def day(offset: int) -> str:
    """The day `offset` days after today (the test's: clear_of_midnight keeps it one day)."""
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


@pytest.fixture
def instances(aws: MotoServer) -> Iterator[None]:
    """`bs-daily`: 7-day retention (moto took its automated snapshot at creation); `bs-off`: retention 0;
    `bs-manual`: its automated snapshot gone, a manual one in its place."""
    rds = boto3.client("rds")
    common: Any = {"Engine": "postgres", "DBInstanceClass": "db.t4g.small", "MasterUsername": "app",
                   "MasterUserPassword": PASSWORD, "AllocatedStorage": 20}
    rds.create_db_instance(DBInstanceIdentifier="bs-daily", BackupRetentionPeriod=7, **common)
    rds.create_db_instance(DBInstanceIdentifier="bs-off", BackupRetentionPeriod=0, **common)
    rds.create_db_instance(DBInstanceIdentifier="bs-manual", BackupRetentionPeriod=7, **common)
    for snapshot in rds.describe_db_snapshots(DBInstanceIdentifier="bs-manual", SnapshotType="automated")[
            "DBSnapshots"]:
        rds.delete_db_snapshot(DBSnapshotIdentifier=snapshot["DBSnapshotIdentifier"])
    rds.create_db_snapshot(DBInstanceIdentifier="bs-manual", DBSnapshotIdentifier="bs-manual-1")
    yield
    rds.delete_db_snapshot(DBSnapshotIdentifier="bs-manual-1")
    for name in ("bs-daily", "bs-off", "bs-manual"):
        rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)


def rds(instance: str) -> dict[str, Any]:
    return {"type": "rds-snapshot", "instance": instance}


def test_rds_every_day_since_the_creation_has_its_automated_snapshot(tmp_path: Path, instances: None) -> None:
    result = success(tmp_path, rds("bs-daily"), days_later=1)
    assert result.passed and result.compared, result.message
    assert result.observed == {"completed": 1, "scheduled": 1, "percent": 100.0}
    assert result.expected == {"min_percent": 99.9}
    assert f"counted from {day(0)}: the instance bs-daily was created {day(0)}" in result.message
    counted = result.scheduled_backups
    assert counted is not None and (counted.scheduled, counted.completed, counted.missed) == (1, 1, ())


def test_rds_a_day_without_an_automated_snapshot_is_named(tmp_path: Path, instances: None) -> None:
    result = success(tmp_path, rds("bs-daily"), days_later=3)
    assert not result.passed
    assert result.observed == {"completed": 1, "scheduled": 3, "percent": 33.333}
    assert f"days without a completed backup: {day(1)} missing, {day(2)} missing" in result.message
    assert result.scheduled_backups is not None
    assert [(m.day, m.status) for m in result.scheduled_backups.missed] == [(day(1), "missing"), (day(2), "missing")]


def test_rds_retention_bounds_the_days_counted(tmp_path: Path, instances: None) -> None:
    """Ten days on, a 7-day retention shows the 6 days RDS surely keeps: the creation day's snapshot is gone (day
    3's may be deleted in today's backup window, so it is not counted)."""
    result = success(tmp_path, rds("bs-daily"), days_later=10)
    assert result.observed == {"completed": 0, "scheduled": 6, "percent": 0.0}
    assert f"counted from {day(4)}: automated snapshots are kept 7 days (BackupRetentionPeriod)" in result.message


def test_rds_retention_zero_is_every_day_missing(tmp_path: Path, instances: None) -> None:
    """moto takes an automated snapshot even at retention 0; AWS takes none: the setting decides."""
    result = success(tmp_path, rds("bs-off"), days_later=2)
    assert not result.passed
    assert result.observed == {"completed": 0, "scheduled": 2, "percent": 0.0}
    assert result.message.startswith("automated snapshots of instance bs-off: automated backups are disabled "
                                     "(BackupRetentionPeriod 0): none of the 2 scheduled daily backups")


def test_rds_a_manual_snapshot_is_no_automated_backup(tmp_path: Path, instances: None) -> None:
    result = success(tmp_path, rds("bs-manual"), days_later=1)
    assert not result.passed and f"{day(0)} missing" in result.message


def test_rds_nothing_scheduled_yet_is_not_compared(tmp_path: Path, instances: None) -> None:
    result = success(tmp_path, rds("bs-daily"), days_later=0)  # created today: the period ends yesterday
    assert result.passed and not result.compared and result.scheduled_backups is None
    assert result.message == (f"not compared: automated snapshots of instance bs-daily: no daily backup was "
                              f"scheduled from {day(-30)} to {day(-1)}; the instance bs-daily was created {day(0)}")


def test_rds_weekly_schedule_counts_whole_weeks(tmp_path: Path, instances: None) -> None:
    result = success(tmp_path, rds("bs-daily"), days_later=14, rate={"schedule": "weekly"})
    # weeks counted back from the day before: a 7-day retention surely keeps 6 days, so no whole week (RDS may
    # delete the oldest day's snapshot in today's backup window): nothing to compare, and why
    assert result.passed and not result.compared and result.scheduled_backups is None
    assert result.message.startswith(f"not compared: automated snapshots of instance bs-daily: no weekly backup was "
                                     f"scheduled from {day(-16)} to {day(13)}; automated snapshots are kept 7 days")


def test_aurora_cluster_automated_snapshots(tmp_path: Path, aws: MotoServer) -> None:
    rds = boto3.client("rds")
    rds.create_db_cluster(DBClusterIdentifier="bs-aurora", Engine="aurora-postgresql", MasterUsername="app",
                          MasterUserPassword=PASSWORD, BackupRetentionPeriod=7)
    try:
        source = {"type": "rds-snapshot", "cluster": "bs-aurora", "instance_class": "db.r6g.large"}
        result = success(tmp_path, source, days_later=2)
        assert result.observed == {"completed": 1, "scheduled": 2, "percent": 50.0}
        assert result.message.startswith("automated snapshots of cluster bs-aurora: ")
        assert f"{day(1)} missing (counted from {day(0)}: the cluster bs-aurora was created" in result.message
    finally:
        rds.delete_db_cluster(DBClusterIdentifier="bs-aurora", SkipFinalSnapshot=True)


@pytest.fixture
def tables(aws: MotoServer) -> Iterator[None]:
    ddb = boto3.client("dynamodb")
    for name in ("bs-pitr", "bs-no-pitr"):
        ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
    ddb.update_continuous_backups(TableName="bs-pitr",
                                  PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    yield
    for name in ("bs-pitr", "bs-no-pitr"):
        ddb.delete_table(TableName=name)


def table(name: str) -> dict[str, Any]:
    return {"type": "dynamodb-backup", "table": name, "manifest": "m.json"}


def test_dynamodb_pitr_covers_the_days_it_can_restore(tmp_path: Path, tables: None) -> None:
    covered = success(tmp_path, table("bs-pitr"), kind="dynamodb", days_later=1)
    assert covered.passed, covered.message
    assert covered.observed == {"completed": 1, "scheduled": 1, "percent": 100.0}
    assert covered.message.startswith(f"continuous backups (PITR) of table bs-pitr, restorable from {day(0)}T")
    # moto's latest restorable time stays at the moment PITR was enabled: the days after it are not restorable
    later = success(tmp_path, table("bs-pitr"), kind="dynamodb", days_later=3)
    assert later.observed == {"completed": 1, "scheduled": 3, "percent": 33.333}
    assert f"{day(1)} missing, {day(2)} missing" in later.message


def test_dynamodb_pitr_disabled_is_every_day_missing(tmp_path: Path, tables: None) -> None:
    result = success(tmp_path, table("bs-no-pitr"), kind="dynamodb", days_later=2)
    assert not result.passed
    assert result.message.startswith("continuous backups (PITR) of table bs-no-pitr: point-in-time recovery is "
                                     "DISABLED: none of the 2 scheduled daily backups")
    assert result.scheduled_backups is not None and result.scheduled_backups.completed == 0


def test_dynamodb_since_moves_the_start(tmp_path: Path, tables: None) -> None:
    result = success(tmp_path, table("bs-no-pitr"), kind="dynamodb", days_later=5, rate={"since": day(3)})
    assert result.observed == {"completed": 0, "scheduled": 2, "percent": 0.0}
    assert f"counted from {day(3)}: the backups' start set in hygiene.success_rate.since" in result.message


# `restoreproof verify --suite hygiene` in a subprocess whose hygiene suite judges as a run three days after the
# stores were created would: moto's history is today's, and the period ends yesterday (a run today compares
# nothing, which test_rds_nothing_scheduled_yet_is_not_compared shows)
THREE_DAYS_LATER = """
import sys
from datetime import datetime, timedelta

from verifiers.compliance import suite


class ThreeDaysLater(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + timedelta(days=3)


suite.datetime = ThreeDaysLater
from verifiers.cli import main

sys.exit(main(sys.argv[1:]))
"""


def test_the_hygiene_suite_writes_the_rate_into_the_evidence_and_the_index(tmp_path: Path, instances: None,
                                                                          tables: None) -> None:
    (tmp_path / "inventory.toml").write_text(
        '[[stores]]\nname = "orders-db"\nkind = "postgres"\nrto = "1h"\nrpo = "1d"\n'
        '[stores.source]\ntype = "rds-snapshot"\ninstance = "bs-daily"\n'
        '[stores.hygiene]\nrpo_gap = false\n[stores.hygiene.success_rate]\n'
        '[[stores]]\nname = "carts"\nkind = "dynamodb"\nrto = "1h"\nrpo = "1d"\n'
        '[stores.source]\ntype = "dynamodb-backup"\ntable = "bs-no-pitr"\nmanifest = "m.json"\n'
        '[stores.hygiene]\nrpo_gap = false\n[stores.hygiene.success_rate]\ndays = 7\n')
    result = subprocess.run([sys.executable, "-c", THREE_DAYS_LATER, "verify", "--suite", "hygiene"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert f"days without a completed backup: {day(1)} missing, {day(2)} missing" in result.stdout
    (run,) = (tmp_path / "reports").glob("*/*")
    evidence = json.loads((run / "evidence.json").read_text())
    schema = json.loads(resources.files("verifiers.evidence").joinpath("schema/evidence.schema.json").read_text())
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(evidence)) == []
    checks = {s["name"]: s["checks"] for s in evidence["stores"]}
    assert [(c["check"], c["subject"], c["observed"]) for c in checks["orders-db"]] == [
        ("backup_success", "rds-automated", {"completed": 1, "scheduled": 3, "percent": 33.333})]
    assert checks["carts"][0]["scheduled_backups"] == {
        "schedule": "daily", "first_day": day(0), "last_day": day(2), "scheduled": 3, "completed": 0,
        "missed": [{"day": day(i), "status": "missing"} for i in range(3)]}
    assert "Backup success rate" in (run / "report.html").read_text()
    assert main(["evidence", "index", str(tmp_path / "reports")]) == 0
    kpi = json.loads((tmp_path / "reports" / "index.json").read_text())["kpis"]["backup_success_rate"]
    assert (kpi["text"], kpi["meets_target"]) == ("1 of 6 scheduled backups completed (16.667 %)", False)
    assert kpi["stores"]["orders-db"]["histories"][0]["missed"] == [f"{day(1)} missing", f"{day(2)} missing"]
    assert "16.667 %" in (tmp_path / "reports" / "index.html").read_text()
