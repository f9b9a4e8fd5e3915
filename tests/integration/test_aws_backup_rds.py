"""RDS recovery points of the aws-backup source (postgres stores): a recovery point is a DB snapshot, restored into
a temporary instance like an rds-snapshot source's, or, in restore testing, the instance AWS Backup restored is
verified in place. moto's server is RDS's control plane, the demo PostgreSQL database (`endpoint_override`) the
data plane; AWS Backup's calls are stubbed with their parameters asserted (see test_aws_backup.py for why)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.rds.models import RDSBackend

from tests.aws_backup_support import (  # noqa: F401  # backup_stub: the `backup` fixture
    ACCOUNT,
    JOB,
    VAULT,
    Backup,
    backed_up_cluster,
    backup_stub,
    described,
    listed,
    point,
    recorded_verdicts,
    restore_job,
)
from tests.aws_support import REGION, MotoServer, harness_leftovers
from tests.conftest import SOURCE_DB, Capture, failed
from verifiers.aws import CREATED_TAG, SANDBOX_TAG, STORE_TAG, tag_dict
from verifiers.checks import CheckResult
from verifiers.inventory import parse_inventory
from verifiers.manifests import MANIFEST_SUFFIX
from verifiers.runner import StoreOutcome, plan_store, run_store
from verifiers.sources import aws_backup
from verifiers.stores.postgres.local_server import PostgresServer

PASSWORD = "not-a-real-password"


@pytest.fixture
def prod(aws: MotoServer, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A "production" instance and the DB snapshot AWS Backup took of it: (instance name, snapshot ARN)."""
    rds = boto3.client("rds")
    name = "prod-" + request.node.name.replace("_", "-")[5:40].strip("-")
    rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", EngineVersion="16.3",
                           DBInstanceClass="db.m6g.large", MasterUsername="app", MasterUserPassword=PASSWORD,
                           AllocatedStorage=100)
    # AWS names it awsbackup:job-<id>; moto refuses the colon, the harness takes the id from the ARN either way
    snapshot = f"awsbackup-job-{name[-8:].strip('-')}"
    arn = rds.create_db_snapshot(DBInstanceIdentifier=name, DBSnapshotIdentifier=snapshot)["DBSnapshot"][
        "DBSnapshotArn"]
    yield name, str(arn)
    rds.delete_db_snapshot(DBSnapshotIdentifier=snapshot)
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)


def db_arn(name: str) -> str:
    return f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{name}"


def verify(tmp_path: Path, capture: Capture, server: PostgresServer, **source: object) -> StoreOutcome:
    src = {"type": "aws-backup", "vault": VAULT, "manifest": str(capture.manifest), "instance_class": "db.t4g.medium",
           "endpoint_override": server.conninfo(SOURCE_DB), **source}
    store = {"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d", "source": src}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    return run_store(plan_store(inventory.stores[0], inventory.base_dir))


@pytest.mark.postgres
def test_an_rds_recovery_point_is_restored_as_its_snapshot_verified_and_deleted(
        tmp_path: Path, aws: MotoServer, backup: Backup, prod: tuple[str, str], demo_capture: Capture,
        source_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    name, snapshot_arn = prod
    requests: list[tuple[str, dict[str, Any]]] = []
    original = RDSBackend.restore_db_instance_from_db_snapshot

    def spy(self: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]) -> Any:
        requests.append((from_snapshot_id, overrides))
        return original(self, from_snapshot_id, overrides)

    monkeypatch.setattr(RDSBackend, "restore_db_instance_from_db_snapshot", spy)
    found = point(snapshot_arn, db_arn(name), "RDS")
    listed(backup.stub, [found], ByResourceType="RDS")
    described(backup.stub, found)
    outcome = verify(tmp_path, demo_capture, source_server, resource_type="RDS", resource_name=name)
    assert outcome.status == "passed", failed(outcome) or outcome.error
    record = outcome.as_evidence()
    assert record["artifact"]["recovery_point_arn"] == snapshot_arn
    assert record["artifact"]["snapshot_arn"] == snapshot_arn  # the snapshot the point names was restored
    assert record["sandbox"]["type"] == "aws-rds"
    assert record["sandbox"]["instance_arn"].startswith(f"arn:aws:rds:{REGION}:{ACCOUNT}:db:restoreproof-saas-")
    [(snapshot_id, request)] = requests  # the snapshot the recovery point names, restored private and tagged
    assert snapshot_id == snapshot_arn.rsplit(":snapshot:", 1)[1]
    assert request["publicly_accessible"] is False and request["db_instance_class"] == "db.t4g.medium"
    assert {SANDBOX_TAG, CREATED_TAG, STORE_TAG} <= set(tag_dict(request["tags"]))
    assert harness_leftovers(aws.url) == []


@pytest.mark.postgres
def test_a_dynamodb_recovery_point_fails_a_postgres_store_naming_what_it_restores(
        tmp_path: Path, backup: Backup, demo_capture: Capture, source_server: PostgresServer) -> None:
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
    managed = f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:0f1e2d3c"
    listed(backup.stub, [point(managed, table, "DynamoDB")], ByResourceArn=table)
    outcome = verify(tmp_path, demo_capture, source_server, resource_arn=table)
    assert outcome.error is not None
    assert "; a postgres store restores RDS and Aurora recovery points only" in outcome.error["message"]


@pytest.fixture
def restored_instance(aws: MotoServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """The instance an AWS Backup restore-testing job restored (not the harness's: no tag, its own name)."""
    name = "awsbackup-restore-test-" + request.node.name.replace("_", "-")[5:20].strip("-")
    boto3.client("rds").create_db_instance(
        DBInstanceIdentifier=name, Engine="postgres", EngineVersion="16.3", DBInstanceClass="db.m6g.large",
        MasterUsername="app", MasterUserPassword=PASSWORD, AllocatedStorage=100)
    yield name
    boto3.client("rds").delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)


@pytest.mark.postgres
def test_restore_testing_verifies_the_restored_instance_in_place_and_reports_the_verdict(
        tmp_path: Path, aws: MotoServer, backup: Backup, prod: tuple[str, str], restored_instance: str,
        demo_capture: Capture, source_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(aws_backup.RESTORE_JOB_ENV, JOB)
    name, snapshot_arn = prod
    job = {"recovery_point": snapshot_arn, "source": db_arn(name), "created": db_arn(restored_instance),
           "resource_type": "RDS"}
    restore_job(backup.stub, **job)
    described(backup.stub, point(snapshot_arn, db_arn(name), "RDS"))
    described(backup.stub, point(snapshot_arn, db_arn(name), "RDS"))
    restore_job(backup.stub, **job)
    sent = recorded_verdicts(backup)
    outcome = verify(tmp_path, demo_capture, source_server, resource_arn=db_arn(name))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    record = outcome.as_evidence()
    assert record["sandbox"]["instance_id"] == restored_instance
    assert record["sandbox"]["deleted_by"] == "AWS Backup (restore testing retention)"
    assert record["artifact"]["restore_testing_job"] == JOB
    assert record["rto"]["phases"]["restore"] >= 7 * 60  # the restore job's own duration, from its times
    total = len(outcome.checks)
    assert sent == [{"RestoreJobId": JOB, "ValidationStatus": "SUCCESSFUL",
                     "ValidationStatusMessage": f"restoreproof passed: {total} of {total} checks passed"}]
    instances = boto3.client("rds").describe_db_instances()["DBInstances"]
    assert restored_instance in {i["DBInstanceIdentifier"] for i in instances}  # left to AWS Backup
    assert harness_leftovers(aws.url) == []


@pytest.fixture
def restored_cluster(aws: MotoServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """An Aurora cluster a restore-testing job restored, without a DB instance yet (moto keeps a deleted cluster's
    automated snapshot: never reuse a cluster name)."""
    name = f"awsbackup-restore-test-{secrets.token_hex(4)}"
    boto3.client("rds").create_db_cluster(DBClusterIdentifier=name, Engine="aurora-postgresql", EngineVersion="16.2",
                                          MasterUsername="app", MasterUserPassword=PASSWORD)
    yield name
    rds = boto3.client("rds")
    for member in rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0].get("DBClusterMembers", []):
        rds.delete_db_instance(DBInstanceIdentifier=member["DBInstanceIdentifier"])
    rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)


@pytest.fixture
def prod_cluster(aws: MotoServer, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    name = "prod-" + request.node.name.replace("_", "-")[5:40].strip("-")
    with backed_up_cluster(name, engine="aurora-postgresql", engine_version="16.2", user="app",
                           password=PASSWORD) as arn:
        yield name, arn


def adopting_cluster(backup: Backup, prod: tuple[str, str], restored: str) -> None:
    name, snapshot_arn = prod
    cluster_arn = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:"
    job = {"recovery_point": snapshot_arn, "source": cluster_arn + name, "created": cluster_arn + restored,
           "resource_type": "Aurora"}
    restore_job(backup.stub, **job)
    described(backup.stub, point(snapshot_arn, cluster_arn + name, "Aurora"))
    described(backup.stub, point(snapshot_arn, cluster_arn + name, "Aurora"))
    restore_job(backup.stub, **job)


@pytest.mark.postgres
def test_restore_testing_measures_the_writer_of_the_aurora_cluster_aws_backup_restored(
        tmp_path: Path, aws: MotoServer, backup: Backup, prod_cluster: tuple[str, str], restored_cluster: str,
        demo_capture: Capture, source_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(aws_backup.RESTORE_JOB_ENV, JOB)
    boto3.client("rds").create_db_instance(DBInstanceIdentifier=f"{restored_cluster}-1", Engine="aurora-postgresql",
                                           DBInstanceClass="db.r6g.large", DBClusterIdentifier=restored_cluster)
    adopting_cluster(backup, prod_cluster, restored_cluster)
    backup.stub.add_response("put_restore_validation_result", {})
    outcome = verify(tmp_path, demo_capture, source_server,
                     resource_arn=f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{prod_cluster[0]}")
    assert outcome.status == "passed", failed(outcome) or outcome.error
    sandbox = outcome.as_evidence()["sandbox"]
    assert (sandbox["type"], sandbox["cluster_id"], sandbox["instance_id"]) == (
        "aws-aurora", restored_cluster, f"{restored_cluster}-1")
    assert harness_leftovers(aws.url) == []


@pytest.mark.postgres
def test_restore_testing_of_an_aurora_cluster_without_an_instance_fails_saying_so(
        tmp_path: Path, aws: MotoServer, backup: Backup, prod_cluster: tuple[str, str], restored_cluster: str,
        demo_capture: Capture, source_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(aws_backup.RESTORE_JOB_ENV, JOB)
    adopting_cluster(backup, prod_cluster, restored_cluster)
    sent = recorded_verdicts(backup)
    outcome = verify(tmp_path, demo_capture, source_server,
                     resource_arn=f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{prod_cluster[0]}")
    assert outcome.status == "error" and outcome.error is not None
    assert f"Aurora cluster arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{restored_cluster}, restored by AWS Backup " \
           f"restore job {JOB}, has no DB instance to measure" in outcome.error["message"]
    [report] = sent
    assert report["ValidationStatus"] == "FAILED"
    assert "has no DB instance to measure" in report["ValidationStatusMessage"]


def manifests(tmp_path: Path, capture: Capture, *captures: tuple[str, datetime, str | None]) -> Path:
    """A folder of copies of `capture`'s manifest, each (file stem, captured_at, snapshot_id) — the folder
    `restoreproof capture --out` fills over time."""
    folder = tmp_path / "manifests"
    folder.mkdir()
    raw = json.loads(capture.manifest.read_text(encoding="utf-8"))
    for stem, captured, snapshot_id in captures:
        (folder / f"{stem}{MANIFEST_SUFFIX}").write_text(json.dumps(
            {**raw, "captured_at": captured.isoformat(), "snapshot_id": snapshot_id}), encoding="utf-8")
    return folder


def snapshot_created(snapshot_arn: str) -> datetime:
    found = boto3.client("rds").describe_db_snapshots(DBSnapshotIdentifier=snapshot_arn.rsplit(":snapshot:", 1)[1])
    return found["DBSnapshots"][0]["SnapshotCreateTime"].astimezone(UTC)


def restores(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The snapshots moto is asked to restore, from now on."""
    seen: list[str] = []
    original = RDSBackend.restore_db_instance_from_db_snapshot

    def spy(self: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]) -> Any:
        seen.append(from_snapshot_id)
        return original(self, from_snapshot_id, overrides)

    monkeypatch.setattr(RDSBackend, "restore_db_instance_from_db_snapshot", spy)
    return seen


def manifest_check_of(outcome: StoreOutcome) -> CheckResult:
    [check] = [c for c in outcome.checks if c.check == "manifest"]
    return check


def latest_point(backup: Backup, name: str, snapshot_arn: str) -> None:
    found = point(snapshot_arn, db_arn(name), "RDS")
    listed(backup.stub, [found], ByResourceType="RDS")
    described(backup.stub, found)


@pytest.mark.postgres
def test_a_recovery_point_is_paired_with_the_newest_manifest_captured_before_its_snapshot(
        tmp_path: Path, aws: MotoServer, backup: Backup, prod: tuple[str, str], demo_capture: Capture,
        source_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    name, snapshot_arn = prod
    created = snapshot_created(snapshot_arn)
    folder = manifests(tmp_path, demo_capture, ("older", created - timedelta(minutes=50), None),
                       ("paired", created - timedelta(minutes=5), None),
                       ("after", created + timedelta(minutes=5), None))
    latest_point(backup, name, snapshot_arn)
    seen = restores(monkeypatch)
    outcome = verify(tmp_path, demo_capture, source_server, resource_type="RDS", resource_name=name,
                     manifest=str(folder))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    check = manifest_check_of(outcome)
    assert check.passed and check.observed["paired_by"] == "capture time"
    assert Path(check.observed["manifest"]).name == f"paired{MANIFEST_SUFFIX}"
    snapshot_id = snapshot_arn.rsplit(":snapshot:", 1)[1]
    assert check.subject == snapshot_id and f"snapshot {snapshot_id}" in check.message  # the evidence names both
    assert seen == [snapshot_id]
    assert harness_leftovers(aws.url) == []


@pytest.mark.postgres
def test_a_recovery_point_is_paired_with_the_manifest_recording_its_snapshot_arn(
        tmp_path: Path, aws: MotoServer, backup: Backup, prod: tuple[str, str], demo_capture: Capture,
        source_server: PostgresServer) -> None:
    name, snapshot_arn = prod
    created = snapshot_created(snapshot_arn)
    folder = manifests(tmp_path, demo_capture, ("by-time", created - timedelta(minutes=5), None),
                       ("by-id", created - timedelta(days=2), snapshot_arn))  # long before: the id decides
    latest_point(backup, name, snapshot_arn)
    outcome = verify(tmp_path, demo_capture, source_server, resource_type="RDS", resource_name=name,
                     manifest=str(folder))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    check = manifest_check_of(outcome)
    assert check.observed["paired_by"] == "snapshot id"
    assert Path(check.observed["manifest"]).name == f"by-id{MANIFEST_SUFFIX}"


@pytest.mark.postgres
def test_a_recovery_point_no_manifest_matches_fails_the_manifest_check_and_restores_nothing(
        tmp_path: Path, aws: MotoServer, backup: Backup, prod: tuple[str, str], demo_capture: Capture,
        source_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    name, snapshot_arn = prod
    created = snapshot_created(snapshot_arn)
    folder = manifests(tmp_path, demo_capture, ("stale", created - timedelta(hours=3), None),
                       ("other", created - timedelta(minutes=5), "awsbackup:job-of-another-snapshot"))
    latest_point(backup, name, snapshot_arn)
    seen = restores(monkeypatch)
    outcome = verify(tmp_path, demo_capture, source_server, resource_type="RDS", resource_name=name,
                     manifest=str(folder), manifest_tolerance="1h")
    assert outcome.status == "failed"
    check = manifest_check_of(outcome)
    assert not check.passed and check.observed is None
    assert check.message.startswith(f"no manifest matches snapshot {snapshot_arn.rsplit(':snapshot:', 1)[1]}")
    assert f"stale{MANIFEST_SUFFIX}" in check.message  # the closest candidates are named
    assert seen == []  # nothing restored
    assert harness_leftovers(aws.url) == []


@pytest.mark.postgres
def test_restore_testing_of_an_unpaired_recovery_point_fails_the_manifest_check_and_reports_it(
        tmp_path: Path, aws: MotoServer, backup: Backup, prod: tuple[str, str], restored_instance: str,
        demo_capture: Capture, source_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(aws_backup.RESTORE_JOB_ENV, JOB)
    name, snapshot_arn = prod
    folder = manifests(tmp_path, demo_capture, ("stale", snapshot_created(snapshot_arn) - timedelta(hours=3), None))
    job = {"recovery_point": snapshot_arn, "source": db_arn(name), "created": db_arn(restored_instance),
           "resource_type": "RDS"}
    restore_job(backup.stub, **job)
    described(backup.stub, point(snapshot_arn, db_arn(name), "RDS"))
    described(backup.stub, point(snapshot_arn, db_arn(name), "RDS"))
    restore_job(backup.stub, **job)
    sent = recorded_verdicts(backup)
    outcome = verify(tmp_path, demo_capture, source_server, resource_arn=db_arn(name), manifest=str(folder))
    assert outcome.status == "failed"
    assert not manifest_check_of(outcome).passed
    [report] = sent
    assert report["ValidationStatus"] == "FAILED" and "manifest" in report["ValidationStatusMessage"]


def continuous_arn(name: str) -> str:
    """A continuous backup's recovery point (AWS Backup's ARN for RDS's automated backups it manages)."""
    return f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:continuous:db-{name[-12:]}-0f51c39b"


@pytest.mark.postgres
def test_latest_skips_a_newer_continuous_point_and_restores_the_newest_snapshot_backed_one(
        tmp_path: Path, aws: MotoServer, backup: Backup, prod: tuple[str, str], demo_capture: Capture,
        source_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    name, snapshot_arn = prod
    snapshot = point(snapshot_arn, db_arn(name), "RDS", age=timedelta(hours=5))
    listed(backup.stub, [point(continuous_arn(name), db_arn(name), "RDS", age=timedelta(minutes=5)), snapshot],
           ByResourceType="RDS")
    described(backup.stub, snapshot)
    seen = restores(monkeypatch)
    outcome = verify(tmp_path, demo_capture, source_server, resource_type="RDS", resource_name=name)
    assert outcome.status == "passed", failed(outcome) or outcome.error
    assert outcome.as_evidence()["artifact"]["recovery_point_arn"] == snapshot_arn
    assert seen == [snapshot_arn.rsplit(":snapshot:", 1)[1]]


@pytest.mark.postgres
def test_latest_with_only_continuous_points_names_them(
        tmp_path: Path, backup: Backup, prod: tuple[str, str], demo_capture: Capture,
        source_server: PostgresServer) -> None:
    name, _ = prod
    listed(backup.stub, [point(continuous_arn(name), db_arn(name), "RDS")], ByResourceType="RDS")
    outcome = verify(tmp_path, demo_capture, source_server, resource_type="RDS", resource_name=name)
    assert outcome.error is not None
    assert (f"has no COMPLETED snapshot-backed recovery point of RDS {name}; recovery points seen: 1 COMPLETED "
            "continuous (point-in-time, skipped)") in outcome.error["message"]


@pytest.mark.postgres
def test_a_named_continuous_point_fails_the_plan_naming_its_type_and_the_fix(
        tmp_path: Path, aws: MotoServer, backup: Backup, prod: tuple[str, str], demo_capture: Capture,
        source_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    name, _ = prod
    continuous = point(continuous_arn(name), db_arn(name), "RDS")
    described(backup.stub, continuous)
    seen = restores(monkeypatch)
    outcome = verify(tmp_path, demo_capture, source_server, resource_arn=db_arn(name),
                     recovery_point=continuous_arn(name))
    assert outcome.error is not None and outcome.error["phase"] == "fetch"
    message = outcome.error["message"]
    assert (f"recovery point {continuous_arn(name)} of RDS instance {db_arn(name)} is a continuous (point-in-time) "
            "backup, not a DB snapshot") in message
    assert "an rds-snapshot source with restore_to" in message
    assert "DBSnapshot" not in message and seen == []  # no snapshot was looked up by the whole ARN


@pytest.mark.postgres
def test_restore_testing_of_a_continuous_point_fails_saying_why_and_reports_it(
        tmp_path: Path, aws: MotoServer, backup: Backup, prod: tuple[str, str], restored_instance: str,
        demo_capture: Capture, source_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(aws_backup.RESTORE_JOB_ENV, JOB)
    name, _ = prod
    job = {"recovery_point": continuous_arn(name), "source": db_arn(name), "created": db_arn(restored_instance),
           "resource_type": "RDS"}
    restore_job(backup.stub, **job)
    described(backup.stub, point(continuous_arn(name), db_arn(name), "RDS"))
    restore_job(backup.stub, **job)
    sent = recorded_verdicts(backup)
    outcome = verify(tmp_path, demo_capture, source_server, resource_arn=db_arn(name))
    assert outcome.error is not None
    assert (f"AWS Backup restore job {JOB} restored the continuous (point-in-time) recovery point "
            f"{continuous_arn(name)}") in outcome.error["message"]
    assert "RecoveryPointTypes" in outcome.error["message"]
    [report] = sent
    assert report["ValidationStatus"] == "FAILED" and "continuous" in report["ValidationStatusMessage"]
