"""Point-in-time restores and manifests paired with their snapshot, against moto's server (the control plane; it
supports RestoreDBInstanceToPointInTime and RestoreDBClusterToPointInTime) and the demo PostgreSQL database (the
data plane through `endpoint_override`, and the live reference). Each restore request's parameters are read by a
spy on moto's backend; DescribeDBInstanceAutomatedBackups' RestoreWindow, which moto does not return, is tested
with botocore's Stubber with the exact parameters asserted. Every path deletes what it made."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from botocore.stub import Stubber
from moto.rds.exceptions import RDSClientError
from moto.rds.models import DBInstance, RDSBackend, rds_backends

from tests.aws_support import MotoServer, harness_leftovers
from tests.conftest import SOURCE_DB, Capture, failed
from tests.mysql_support import source_dsn as mysql_dsn
from verifiers.aws import CREATED_TAG, SANDBOX_TAG, tag_dict
from verifiers.cli import main
from verifiers.inventory import parse_inventory
from verifiers.runner import PlanFailure, StoreOutcome, plan_store, run_store
from verifiers.sandboxes.aws_rds import RdsSandboxSettings
from verifiers.sandboxes.aws_rds_pitr import restored_point_in_time
from verifiers.sources.rds_point_in_time import locate_point_in_time
from verifiers.sources.rds_snapshot import Snapshot
from verifiers.sources.snapshot_manifests import manifest_candidates, pair
from verifiers.store_settings import RdsSnapshotSource
from verifiers.stores.mysql.local_server import MysqlServer
from verifiers.stores.mysql.manifest import load_manifest as load_mysql_manifest
from verifiers.stores.postgres.live import RESTORE_TIME_SQL, with_restore_time
from verifiers.stores.postgres.local_server import PostgresServer
from verifiers.stores.postgres.manifest import load_manifest

pytestmark = pytest.mark.usefixtures("aws")
PASSWORD = "not-a-real-password"
LIVE_ENV = "RESTOREPROOF_TEST_PITR_LIVE_DSN"
STABLE = {"public.events": "occurred_at < {restore_time}", "public.accounts": "created_at < {restore_time}"}
ACCOUNT, REGION = "123456789012", "us-east-1"


@dataclass(frozen=True)
class Origin:
    kind: str  # instance | cluster
    name: str
    snapshot: str


@pytest.fixture
def prod(request: pytest.FixtureRequest) -> Iterator[Origin]:
    """A "production" PostgreSQL instance with automated backups (7 days) and one manual snapshot."""
    rds = boto3.client("rds")
    name = "pitr-" + request.node.name.replace("_", "-")[5:40].strip("-")
    rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", EngineVersion="16.3", BackupRetentionPeriod=7,
                           DBInstanceClass="db.m6g.large", MasterUsername="app", MasterUserPassword=PASSWORD,
                           AllocatedStorage=100)
    snapshot = f"{name}-manual"
    rds.create_db_snapshot(DBInstanceIdentifier=name, DBSnapshotIdentifier=snapshot)
    yield Origin("instance", name, snapshot)
    rds.delete_db_snapshot(DBSnapshotIdentifier=snapshot)
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)


@pytest.fixture
def prod_cluster(request: pytest.FixtureRequest) -> Iterator[Origin]:
    rds = boto3.client("rds")
    name = "pitr-" + request.node.name.replace("_", "-")[5:40].strip("-")
    rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-postgresql", EngineVersion="16.2",
                          BackupRetentionPeriod=7, MasterUsername="app", MasterUserPassword=PASSWORD)
    yield Origin("cluster", name, "")
    rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)


@pytest.fixture
def live_env(source_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(LIVE_ENV, source_server.conninfo(SOURCE_DB))
    return LIVE_ENV


def run(tmp_path: Path, origin: Origin, server: PostgresServer, *, rpo: str = "30d", live: bool = True,
        **source: object) -> StoreOutcome | PlanFailure:
    src: dict[str, object] = {"type": "rds-snapshot", origin.kind: origin.name, "instance_class": "db.t4g.medium",
                              "endpoint_override": server.conninfo(SOURCE_DB), **source}
    store: dict[str, object] = {"name": "saas", "kind": "postgres", "rto": "15m", "rpo": rpo, "source": src}
    if live:
        store["live"] = {"dsn_env": LIVE_ENV, "stable": STABLE}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    plan = plan_store(inventory.stores[0], inventory.base_dir)
    return plan if isinstance(plan, PlanFailure) else run_store(plan)


def outcome_of(result: StoreOutcome | PlanFailure) -> StoreOutcome:
    assert not isinstance(result, PlanFailure), result.message
    return result


def check(outcome: StoreOutcome, name: str) -> Any:
    [found] = [c for c in outcome.checks if c.check == name]
    return found


class Spy:
    """The keyword arguments moto's backend was called with, by method."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: dict[str, list[dict[str, Any]]] = {}
        self.monkeypatch = monkeypatch

    def on(self, method: str) -> Spy:
        original = getattr(RDSBackend, method)

        def spy(backend: RDSBackend, *args: Any, **kwargs: Any) -> Any:
            self.calls.setdefault(method, []).append({"args": args, **kwargs})
            return original(backend, *args, **kwargs)

        self.monkeypatch.setattr(RDSBackend, method, spy)
        return self


@pytest.mark.postgres
def test_an_instance_restored_to_a_random_time_is_verified_against_live_and_deleted(
        tmp_path: Path, aws: MotoServer, prod: Origin, source_server: PostgresServer, live_env: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch).on("restore_db_instance_to_point_in_time").on("restore_db_instance_from_db_snapshot")
    outcome = outcome_of(run(tmp_path, prod, source_server, restore_to="random", restore_seed=11))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    assert "restore_db_instance_from_db_snapshot" not in spy.calls
    [call] = spy.calls["restore_db_instance_to_point_in_time"]
    source_id, target_id, params = call["args"]
    artifact = outcome.as_evidence()["artifact"]
    assert source_id == prod.name and target_id.startswith("restoreproof-saas-")
    assert params["RestoreTime"].replace(tzinfo=UTC) == datetime.fromisoformat(artifact["restore_time"])
    assert (params["PubliclyAccessible"], params["MultiAZ"], params["DeletionProtection"]) == (False, False, False)
    assert (params["CopyTagsToSnapshot"], params["BackupRetentionPeriod"]) == (False, 0)
    assert params["DBInstanceClass"] == "db.t4g.medium"
    assert "UseLatestRestorableTime" not in params
    tags = tag_dict(params["Tags"])
    assert tags[SANDBOX_TAG] == target_id and CREATED_TAG in tags
    earliest, latest = (datetime.fromisoformat(artifact[k]) for k in ("earliest_restorable", "latest_restorable"))
    assert earliest <= datetime.fromisoformat(artifact["restore_time"]) <= latest
    assert artifact["restore_to"] == "random" and artifact["restore_seed"] == "11"
    assert artifact["snapshot_type"] == "point-in-time"
    assert check(outcome, "artifact").message.startswith(
        f"instance {prod.name} (arn:aws:rds:{REGION}:{ACCOUNT}:db:{prod.name}) at {artifact['restore_time']}, within "
        "its restore window; postgres 16.3")
    lag = check(outcome, "pitr_lag")
    assert lag.passed and lag.subject == prod.name and lag.expected == 30 * 86400
    assert f"instance {prod.name}, restored to {artifact['restore_time']}" in lag.message
    checksums = {c.subject: c for c in outcome.checks if c.check == "checksum"}
    assert checksums["public.events"].compared and checksums["public.events"].passed
    assert not checksums["public.users"].compared
    assert "rows written after the restore time cannot be told apart" in checksums["public.users"].message
    counts = [c for c in outcome.checks if c.check == "row_count"]  # live has every row written since that moment
    assert counts and all(not c.compared and c.observed is not None for c in counts)
    assert "the live count includes every row written after the restore time" in counts[0].message
    assert outcome.as_evidence()["sandbox"]["instance_arn"].startswith(
        f"arn:aws:rds:{REGION}:{ACCOUNT}:db:restoreproof-saas-")
    assert harness_leftovers(aws.url) == []


@pytest.mark.postgres
def test_an_aurora_cluster_is_restored_to_the_latest_time_then_cluster_and_instance_are_deleted(
        tmp_path: Path, aws: MotoServer, prod_cluster: Origin, source_server: PostgresServer, live_env: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch).on("restore_db_cluster_to_point_in_time").on("create_db_instance")
    outcome = outcome_of(run(tmp_path, prod_cluster, source_server, restore_to="latest"))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    [call] = spy.calls["restore_db_cluster_to_point_in_time"]
    artifact = outcome.as_evidence()["artifact"]
    assert call["source_db_cluster_identifier"] == prod_cluster.name
    assert call["db_cluster_identifier"].startswith("restoreproof-saas-")
    assert call["restore_type"] == "full-copy"
    assert call["restore_to_time"].replace(tzinfo=UTC) == datetime.fromisoformat(artifact["latest_restorable"])
    assert artifact["restore_time"] == artifact["latest_restorable"]
    assert call["deletion_protection"] is False and call["copy_tags_to_snapshot"] is False
    assert SANDBOX_TAG in tag_dict(call["tags"])
    created = [c for c in spy.calls["create_db_instance"] if c["args"][0].get("db_cluster_identifier", "").startswith(
        "restoreproof-saas-")]
    assert len(created) == 1
    instance = created[0]["args"][0]
    assert instance["publicly_accessible"] is False and instance["db_instance_class"] == "db.t4g.medium"
    assert instance["engine"] == "aurora-postgresql"
    assert tag_dict(instance["tags"])[SANDBOX_TAG] == call["db_cluster_identifier"]
    assert outcome.as_evidence()["sandbox"]["type"] == "aws-aurora"
    assert harness_leftovers(aws.url) == []


def test_a_given_time_outside_the_window_fails_the_plan_naming_the_window(
        tmp_path: Path, prod: Origin, source_server: PostgresServer, live_env: str) -> None:
    plan = run(tmp_path, prod, source_server, restore_to="2020-01-01T00:00:00Z")
    assert isinstance(plan, PlanFailure)
    assert plan.message.startswith(f"store saas: instance {prod.name}: restore_to 2020-01-01T00:00:00Z is before the "
                                   "earliest restorable time: the restore window is [")
    assert "set restore_to to a time within the window" in plan.message


def test_an_instance_without_automated_backups_has_no_window(tmp_path: Path, source_server: PostgresServer,
                                                              live_env: str) -> None:
    rds = boto3.client("rds")
    rds.create_db_instance(DBInstanceIdentifier="no-backups", Engine="postgres", DBInstanceClass="db.t4g.medium",
                           MasterUsername="app", MasterUserPassword=PASSWORD, AllocatedStorage=20,
                           BackupRetentionPeriod=0)
    try:
        plan = run(tmp_path, Origin("instance", "no-backups", ""), source_server, restore_to="latest")
    finally:
        rds.delete_db_instance(DBInstanceIdentifier="no-backups", SkipFinalSnapshot=True)
    assert isinstance(plan, PlanFailure)
    assert "instance no-backups cannot be restored to a point in time: its automated backups are off" in plan.message


def test_a_point_in_time_restore_needs_the_live_reference(tmp_path: Path, prod: Origin,
                                                          source_server: PostgresServer) -> None:
    plan = run(tmp_path, prod, source_server, live=False, restore_to="latest")
    assert isinstance(plan, PlanFailure)
    assert "is verified against the live database, and store saas sets no `live`" in plan.message
    assert "set `live` on the store" in plan.message


@pytest.mark.postgres
def test_pitr_lag_over_the_rpo_fails(tmp_path: Path, aws: MotoServer, prod: Origin, source_server: PostgresServer,
                                     live_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    behind = datetime.now(UTC) - timedelta(hours=3)
    backend = rds_backends[ACCOUNT][REGION]
    for snapshot in backend.database_snapshots.values():  # the window opens a day ago
        if snapshot.snapshot_type == "automated" and snapshot.database.db_instance_identifier == prod.name:
            snapshot.created = behind - timedelta(days=1)
    monkeypatch.setattr(DBInstance, "latest_restorable_time", property(lambda self: behind))
    outcome = outcome_of(run(tmp_path, prod, source_server, rpo="1h", restore_to="latest"))
    lag = check(outcome, "pitr_lag")
    assert not lag.passed and outcome.status == "failed"
    assert 3 * 3600 - 60 < lag.observed < 3 * 3600 + 600 and lag.expected == 3600
    assert "lags 3h0" in lag.message and "OVER the target 1h00m" in lag.message
    assert harness_leftovers(aws.url) == []


@pytest.mark.postgres
def test_a_refused_point_in_time_restore_is_an_error_and_leaves_nothing(
        tmp_path: Path, aws: MotoServer, prod: Origin, source_server: PostgresServer, live_env: str) -> None:
    outcome = outcome_of(run(tmp_path, prod, source_server, restore_to="latest", subnet_group="no-such-subnets"))
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error["phase"] == "provision"
    assert outcome.error["message"].startswith(f"store saas: cannot restore instance {prod.name} to "
                                               f"{outcome.as_evidence()['artifact']['restore_time']} into instance "
                                               "restoreproof-saas-")
    assert "DBSubnetGroupNotFoundFault" in outcome.error["message"]
    assert harness_leftovers(aws.url) == []


@pytest.mark.postgres
@pytest.mark.filterwarnings("ignore:Exception\\(RDSClientError\\) with code AccessDenied:UserWarning")  # moto's own
def test_a_denied_point_in_time_restore_names_the_actions_to_grant(
        tmp_path: Path, aws: MotoServer, prod_cluster: Origin, source_server: PostgresServer, live_env: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def deny(backend: RDSBackend, *args: Any, **kwargs: Any) -> Any:
        raise RDSClientError("AccessDenied", "not authorized to perform rds:RestoreDBClusterToPointInTime")

    monkeypatch.setattr(RDSBackend, "restore_db_cluster_to_point_in_time", deny)
    outcome = outcome_of(run(tmp_path, prod_cluster, source_server, restore_to="latest"))
    assert outcome.status == "error" and outcome.error is not None
    message = outcome.error["message"]
    assert message.startswith(f"store saas: cannot restore cluster {prod_cluster.name} to ")
    assert "AccessDenied: not authorized to perform rds:RestoreDBClusterToPointInTime" in message
    assert "grant the harness's AWS identity rds:RestoreDBInstanceToPointInTime, rds:RestoreDBClusterToPointInTime" \
        in message
    assert harness_leftovers(aws.url) == []


def test_the_janitor_finds_a_point_in_time_sandbox_whose_run_was_killed(
        aws: MotoServer, prod: Origin, capsys: pytest.CaptureFixture[str]) -> None:
    client = boto3.client("rds")
    source = RdsSnapshotSource(type="rds-snapshot", instance=prod.name, restore_to="latest")
    located = locate_point_in_time(client, source, store="saas")
    point = Snapshot.from_details(located.details)
    settings = RdsSandboxSettings(store="saas", instance_class=None, subnet_group=None, security_groups=())
    restoring = restored_point_in_time(client, point, settings, point.created_at)
    sandbox = restoring.__enter__()  # and never left: the process was killed here
    time.sleep(1.1)
    assert main(["janitor", "--older-than", "1s", "--delete"]) == 0
    assert f"deleted: rds instance {sandbox.instance_id}" in capsys.readouterr().out
    assert harness_leftovers(aws.url) == []
    restoring.__exit__(None, None, None)  # finds it gone: not-found on delete is fine


def test_an_instance_window_is_read_from_its_automated_backups() -> None:
    """Stubber (moto returns no RestoreWindow): the exact calls, and the window's start from RestoreWindow."""
    client = boto3.client("rds", region_name=REGION)
    earliest, latest = datetime(2026, 11, 29, 3, tzinfo=UTC), datetime(2026, 12, 6, 2, 55, tzinfo=UTC)
    instance = {"DBInstanceIdentifier": "prod", "DBInstanceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:prod",
                "Engine": "postgres", "EngineVersion": "16.3", "BackupRetentionPeriod": 7,
                "LatestRestorableTime": latest, "MasterUsername": "app", "AllocatedStorage": 100,
                "Endpoint": {"Address": "prod.example", "Port": 5433}, "DbiResourceId": "db-THIS"}
    # an earlier instance of the same name, deleted with its automated backups retained: not this one's window
    earlier = {"DBInstanceIdentifier": "prod", "DbiResourceId": "db-EARLIER", "Status": "retained",
               "RestoreWindow": {"EarliestTime": earliest - timedelta(days=30), "LatestTime": earliest}}
    with Stubber(client) as stub:
        stub.add_response("describe_db_instances", {"DBInstances": [instance]}, {"DBInstanceIdentifier": "prod"})
        stub.add_response("describe_db_instance_automated_backups", {"DBInstanceAutomatedBackups": [earlier,
            {"DBInstanceIdentifier": "prod", "DbiResourceId": "db-THIS", "Status": "active",
             "RestoreWindow": {"EarliestTime": earliest, "LatestTime": latest}}]},
            {"DBInstanceIdentifier": "prod"})
        source = RdsSnapshotSource(type="rds-snapshot", instance="prod", restore_to="2026-12-01T00:00:00Z")
        located = locate_point_in_time(client, source, store="saas")
        stub.assert_no_pending_responses()
    assert located.details["earliest_restorable"] == earliest.isoformat()
    assert located.details["latest_restorable"] == latest.isoformat()
    assert located.details["restore_time"] == "2026-12-01T00:00:00+00:00"
    assert located.location == f"arn:aws:rds:{REGION}:{ACCOUNT}:db:prod at 2026-12-01T00:00:00+00:00"
    point = Snapshot.from_details(located.details)
    assert (point.port, point.master_username, point.engine) == (5433, "app", "postgres")


# --- manifests paired with the snapshot -------------------------------------------------------------------------


def manifests_folder(tmp_path: Path, capture: Capture, *entries: tuple[str, datetime, str | None]) -> Path:
    """Copies of the demo manifest, each with its own capture time and snapshot id."""
    folder = tmp_path / "manifests"
    folder.mkdir()
    raw = json.loads(capture.manifest.read_text())
    for name, captured, snapshot_id in entries:
        (folder / f"{name}.manifest.json").write_text(json.dumps(
            {**raw, "captured_at": captured.isoformat(), "snapshot_id": snapshot_id}))
    return folder


def snapshot_created(origin: Origin) -> datetime:
    found = boto3.client("rds").describe_db_snapshots(DBSnapshotIdentifier=origin.snapshot)["DBSnapshots"][0]
    created: datetime = found["SnapshotCreateTime"]
    return created.astimezone(UTC)


@pytest.mark.postgres
def test_the_manifest_recording_the_snapshot_id_is_paired_and_named_in_the_evidence(
        tmp_path: Path, aws: MotoServer, prod: Origin, demo_capture: Capture, source_server: PostgresServer) -> None:
    created = snapshot_created(prod)
    folder = manifests_folder(tmp_path, demo_capture, ("other", created - timedelta(minutes=1), "rds:other-snap"),
                              ("ours", created - timedelta(hours=5), prod.snapshot))
    outcome = outcome_of(run(tmp_path, prod, source_server, live=False, include="manual", manifest=str(folder)))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    paired = check(outcome, "manifest")
    assert paired.passed and paired.subject == prod.snapshot
    assert paired.observed == {"manifest": str(folder / "ours.manifest.json"),
                               "captured_at": (created - timedelta(hours=5)).isoformat(),
                               "snapshot_id": prod.snapshot, "paired_by": "snapshot id"}
    assert paired.expected == {"snapshot_id": prod.snapshot, "snapshot_created": created.isoformat(),
                               "manifest_tolerance_seconds": 3600.0}
    assert harness_leftovers(aws.url) == []


@pytest.mark.postgres
def test_the_newest_capture_before_the_snapshot_within_the_tolerance_is_paired(
        tmp_path: Path, aws: MotoServer, prod: Origin, demo_capture: Capture, source_server: PostgresServer) -> None:
    created = snapshot_created(prod)
    folder = manifests_folder(tmp_path, demo_capture, ("older", created - timedelta(minutes=50), None),
                              ("newer", created - timedelta(minutes=20), None))
    outcome = outcome_of(run(tmp_path, prod, source_server, live=False, include="manual", manifest=str(folder),
                             manifest_tolerance="PT1H"))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    paired = check(outcome, "manifest")
    assert paired.observed["manifest"] == str(folder / "newer.manifest.json")
    assert paired.observed["paired_by"] == "capture time"
    assert "20m00s before the snapshot" in paired.message


def test_a_folder_whose_one_manifest_is_unreadable_fails_the_manifest_check_naming_it(
        tmp_path: Path, aws: MotoServer, prod: Origin, demo_capture: Capture, source_server: PostgresServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch).on("restore_db_instance_from_db_snapshot")
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "cut.manifest.json").write_text('{"captured_at": "2026-12-0')  # a truncated upload
    outcome = outcome_of(run(tmp_path, prod, source_server, live=False, include="manual", manifest=str(folder)))
    assert outcome.status == "failed" and spy.calls == {}  # nothing was restored
    problem = failed(outcome)[f"manifest:{prod.snapshot}"]
    assert f"{folder / 'cut.manifest.json'} (not a readable manifest: JSONDecodeError)" in problem, problem


def test_a_manifest_from_another_point_in_time_fails_without_restoring(
        tmp_path: Path, aws: MotoServer, prod: Origin, demo_capture: Capture, source_server: PostgresServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    created = snapshot_created(prod)
    spy = Spy(monkeypatch).on("restore_db_instance_from_db_snapshot")
    single = manifests_folder(tmp_path, demo_capture, ("old", created - timedelta(hours=3), None)) / "old.manifest.json"
    outcome = outcome_of(run(tmp_path, prod, source_server, live=False, include="manual", manifest=str(single)))
    assert outcome.status == "failed"
    assert spy.calls == {}  # nothing was restored
    problems = failed(outcome)
    assert problems[f"manifest:{prod.snapshot}"] == (
        f"no manifest matches snapshot {prod.snapshot} (created {created.isoformat()}): none records this snapshot's "
        "id, and none that records no snapshot was captured at or before its creation within the tolerance "
        f"(manifest_tolerance 1h00m); closest: {single} (captured {(created - timedelta(hours=3)).isoformat()}, "
        "3h00m before the snapshot, snapshot id not recorded)")
    assert problems["restore:restore"] == ("not restored: no manifest matches the snapshot, and its data checks would "
                                           "compare two moments")
    assert [c.check for c in outcome.checks] == ["artifact", "manifest", "restore", "rto", "rpo"]
    rto = check(outcome, "rto")  # the seconds until it stopped are no recovery time
    assert (rto.compared, rto.expected) == (False, None)
    assert rto.message == "not compared: nothing was restored and verified, so no recovery was timed"
    assert harness_leftovers(aws.url) == []


def test_a_named_snapshot_still_being_created_fails_naming_it_and_its_progress(
        tmp_path: Path, aws: MotoServer, prod: Origin, demo_capture: Capture, source_server: PostgresServer) -> None:
    snapshot = rds_backends[ACCOUNT][REGION].database_snapshots[prod.snapshot]
    snapshot.status = "creating"
    snapshot.percent_progress = 42  # type: ignore[attr-defined]  # moto keeps it for cluster snapshots only
    try:
        plan = run(tmp_path, prod, source_server, live=False, snapshot=prod.snapshot,
                   manifest=str(demo_capture.manifest))
    finally:
        snapshot.status = "available"
    assert isinstance(plan, PlanFailure)
    assert plan.message.startswith(f"store saas: RDS snapshot arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:{prod.snapshot} "
                                   "is 'creating', 42% done")
    assert "not available: nothing was restored" in plan.message
    assert harness_leftovers(aws.url) == []


def test_a_mysql_point_in_time_restore_needs_the_live_reference(tmp_path: Path, aws: MotoServer) -> None:
    rds = boto3.client("rds")
    rds.create_db_instance(DBInstanceIdentifier="shop-prod", Engine="mysql", DBInstanceClass="db.t4g.medium",
                           MasterUsername="admin", MasterUserPassword=PASSWORD, AllocatedStorage=20,
                           BackupRetentionPeriod=7)
    try:
        store = {"name": "shop", "kind": "mysql", "rto": "15m", "rpo": "1d",
                 "source": {"type": "rds-snapshot", "instance": "shop-prod", "restore_to": "latest"}}
        inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
        plan = plan_store(inventory.stores[0], inventory.base_dir)
    finally:
        rds.delete_db_instance(DBInstanceIdentifier="shop-prod", SkipFinalSnapshot=True, DeleteAutomatedBackups=True)
    assert isinstance(plan, PlanFailure)
    assert plan.message.startswith(
        f"store shop: a point-in-time restore of arn:aws:rds:{REGION}:{ACCOUNT}:db:shop-prod at ")
    assert "is verified against the live database, and store shop sets no `live`" in plan.message
    assert "set `live` on the store (its dsn_env and stable conditions with {restore_time})" in plan.message
    assert harness_leftovers(aws.url) == []


@pytest.mark.postgres
def test_the_restore_time_reaches_the_server_as_a_setting_not_as_sql(source_server: PostgresServer) -> None:
    moment = datetime(2026, 12, 1, 3, 4, 5, 678901, tzinfo=UTC)
    conninfo = source_server.conninfo(SOURCE_DB) + " options='-c search_path=billing'"
    bound = with_restore_time(conninfo, moment)
    with psycopg.connect(bound) as conn:
        row = conn.execute(f"SELECT {RESTORE_TIME_SQL}, current_setting('search_path')").fetchone()
    assert row == (moment, "billing")  # the DSN's own options kept
    assert with_restore_time(conninfo, None) == conninfo


@pytest.mark.postgres
def test_restore_time_in_a_condition_of_a_snapshot_store_is_refused(
        tmp_path: Path, prod: Origin, demo_capture: Capture, source_server: PostgresServer, live_env: str) -> None:
    plan = run(tmp_path, prod, source_server, include="manual")  # no manifest: the live reference, {restore_time}
    assert isinstance(plan, PlanFailure)
    assert "live.stable uses {restore_time}, which only a point-in-time restore has" in plan.message
    assert "use {backup_time} for a snapshot or dump, or set stores.source.restore_to" in plan.message


def test_manifests_under_an_s3_prefix_are_candidates(aws: MotoServer) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="pitr-manifests")
    bodies = {"app/a.manifest.json": {"captured_at": "2026-12-06T02:40:00+00:00", "snapshot_id": None},
              "app/b.manifest.json": {"captured_at": "2026-12-05T02:40:00+00:00", "snapshot_id": "rds:app-1"},
              "app/app.dump": "not a manifest", "other/c.manifest.json": {"captured_at": "2026-12-06T02:59:00Z"}}
    for key, body in bodies.items():
        s3.put_object(Bucket="pitr-manifests", Key=key, Body=json.dumps(body).encode())
    try:
        found = manifest_candidates("s3://pitr-manifests/app/", base_dir=Path("."), store="saas", region=REGION,
                                    endpoint_url=aws.url)
        assert [(c.location, c.snapshot_id) for c in found] == [
            ("s3://pitr-manifests/app/a.manifest.json", None), ("s3://pitr-manifests/app/b.manifest.json", "rds:app-1")]
        assert Path(found[1].path).is_file()  # downloaded to the cache, for the kind to read whole
        by_id = pair(found, snapshot_id="rds:app-1", snapshot_arn="", tolerance=3600,
                     created=datetime(2026, 12, 6, 3, tzinfo=UTC))
        assert by_id.matched == found[1]
        by_time = pair(found, snapshot_id="rds:app-2", snapshot_arn="", tolerance=3600,
                       created=datetime(2026, 12, 6, 3, tzinfo=UTC))
        assert by_time.matched == found[0] and by_time.how == "capture time"
    finally:
        for key in bodies:
            s3.delete_object(Bucket="pitr-manifests", Key=key)
        s3.delete_bucket(Bucket="pitr-manifests")


def test_a_moment_that_left_the_window_before_the_restore_is_an_error(
        tmp_path: Path, aws: MotoServer, prod: Origin, source_server: PostgresServer, live_env: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch).on("restore_db_instance_to_point_in_time")
    store = {"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d",
             "live": {"dsn_env": LIVE_ENV, "stable": STABLE},
             "source": {"type": "rds-snapshot", "instance": prod.name, "restore_to": "latest",
                        "endpoint_override": source_server.conninfo(SOURCE_DB)}}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    plan = plan_store(inventory.stores[0], inventory.base_dir)
    assert not isinstance(plan, PlanFailure), plan.message
    for snapshot in rds_backends[ACCOUNT][REGION].database_snapshots.values():  # backups expired meanwhile
        if snapshot.snapshot_type == "automated" and snapshot.database.db_instance_identifier == prod.name:
            snapshot.created = datetime.now(UTC) + timedelta(hours=1)
    outcome = run_store(plan)
    assert outcome.status == "error" and outcome.error is not None and outcome.error["phase"] == "fetch"
    assert f"store saas: {prod.name} can no longer be restored to " in outcome.error["message"]
    assert "run again to choose a time within it" in outcome.error["message"]
    assert spy.calls == {}
    assert harness_leftovers(aws.url) == []


@pytest.mark.postgres
def test_capture_records_the_snapshot_id_in_the_manifest(tmp_path: Path, source_server: PostgresServer) -> None:
    assert main(["capture", "postgres", "--dsn", source_server.conninfo(SOURCE_DB), "--out", str(tmp_path),
                 "--snapshot-id", "rds:app-2026-12-06-03-00"]) == 0
    [written] = tmp_path.glob("*.manifest.json")
    assert load_manifest(written, store="saas").snapshot_id == "rds:app-2026-12-06-03-00"
    [found] = manifest_candidates(str(tmp_path), base_dir=tmp_path, store="saas", region=None, endpoint_url=None)
    assert found.snapshot_id == "rds:app-2026-12-06-03-00"


@pytest.mark.mysql
def test_capture_mysql_records_the_snapshot_id_in_the_manifest(tmp_path: Path, mysql_source: MysqlServer) -> None:
    assert main(["capture", "mysql", "--dsn", mysql_dsn(mysql_source), "--out", str(tmp_path),
                 "--snapshot-id", "rds:shop-2026-12-06-03-00"]) == 0
    [written] = tmp_path.glob("*.manifest.json")
    assert load_mysql_manifest(written, store="shop").snapshot_id == "rds:shop-2026-12-06-03-00"
