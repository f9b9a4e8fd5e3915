"""RDS / Aurora snapshots restored into temporary instances: moto's server is the control plane, the demo
PostgreSQL database (reached through `endpoint_override`) the data plane. Every path deletes what it made."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto.rds.exceptions import InvalidParameterValue
from moto.rds.models import RDSBackend

from tests.aws_support import MotoServer, harness_leftovers
from tests.conftest import CORRUPT_INDEX_SQL, SOURCE_DB, Capture, failed
from verifiers.aws import CREATED_TAG, SANDBOX_TAG, tag_dict
from verifiers.inventory import parse_inventory
from verifiers.runner import PlanFailure, StoreOutcome, plan_store, run_store
from verifiers.stores.postgres.local_server import PostgresServer

pytestmark = pytest.mark.usefixtures("aws")
PASSWORD = "not-a-real-password"


@dataclass(frozen=True)
class Production:
    """A "production" RDS instance (or Aurora cluster) in moto with two manual snapshots, newest second."""

    origin: str  # instance | cluster
    name: str
    snapshots: tuple[str, str]
    kms_key: str


@dataclass(frozen=True)
class Network:
    subnet_group: str
    security_group: str


@pytest.fixture
def network(aws: MotoServer) -> Iterator[Network]:
    """A private VPC for the sandboxes: two subnets in a DB subnet group, and a security group."""
    ec2, rds = boto3.client("ec2"), boto3.client("rds")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")
               ["Subnet"]["SubnetId"] for i, zone in ((1, "a"), (2, "b"))]
    group = ec2.create_security_group(GroupName="sandbox-db", Description="sandbox DBs", VpcId=vpc)["GroupId"]
    rds.create_db_subnet_group(DBSubnetGroupName="sandbox-subnets", DBSubnetGroupDescription="sandboxes",
                               SubnetIds=subnets)
    yield Network("sandbox-subnets", group)
    rds.delete_db_subnet_group(DBSubnetGroupName="sandbox-subnets")
    ec2.delete_security_group(GroupId=group)
    for subnet in subnets:
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


@pytest.fixture
def kms_key(aws: MotoServer) -> str:
    return str(boto3.client("kms").create_key(Description="restoreproof test key")["KeyMetadata"]["Arn"])


@pytest.fixture
def prod_instance(kms_key: str, request: pytest.FixtureRequest) -> Iterator[Production]:
    rds = boto3.client("rds")
    name = "prod-" + request.node.name.replace("_", "-")[5:40].strip("-")
    rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", EngineVersion="16.3",
                           DBInstanceClass="db.m6g.large", MasterUsername="app", MasterUserPassword=PASSWORD,
                           AllocatedStorage=100, StorageEncrypted=True, KmsKeyId=kms_key)
    snapshots = (f"{name}-manual-1", f"{name}-manual-2")
    for snapshot in snapshots:
        rds.create_db_snapshot(DBInstanceIdentifier=name, DBSnapshotIdentifier=snapshot)
    yield Production("instance", name, snapshots, kms_key)
    for snapshot in snapshots:
        rds.delete_db_snapshot(DBSnapshotIdentifier=snapshot)
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)


@pytest.fixture
def prod_cluster(kms_key: str, request: pytest.FixtureRequest) -> Iterator[Production]:
    rds = boto3.client("rds")
    name = "prod-" + request.node.name.replace("_", "-")[5:40].strip("-")
    rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-postgresql", EngineVersion="16.2",
                          MasterUsername="app", MasterUserPassword=PASSWORD, StorageEncrypted=True, KmsKeyId=kms_key)
    snapshots = (f"{name}-manual-1", f"{name}-manual-2")
    for snapshot in snapshots:
        rds.create_db_cluster_snapshot(DBClusterIdentifier=name, DBClusterSnapshotIdentifier=snapshot)
    yield Production("cluster", name, snapshots, kms_key)
    for snapshot in snapshots:
        rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=snapshot)
    rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)


def snapshot_inventory(tmp_path: Path, prod: Production, capture: Capture, server: PostgresServer,
                       **source: object) -> Any:
    src: dict[str, object] = {"type": "rds-snapshot", prod.origin: prod.name, "include": "manual",
                              "instance_class": "db.t4g.medium", "manifest": str(capture.manifest),
                              "endpoint_override": server.conninfo(SOURCE_DB)}
    src.update(source)
    store = {"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d", "source": src}
    return parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")


def verify_snapshot(tmp_path: Path, prod: Production, capture: Capture, server: PostgresServer,
                    **source: object) -> StoreOutcome:
    inventory = snapshot_inventory(tmp_path, prod, capture, server, **source)
    return run_store(plan_store(inventory.stores[0], inventory.base_dir))


def sandboxes(moto: MotoServer) -> list[str]:
    return harness_leftovers(moto.url)


@pytest.mark.postgres
def test_latest_instance_snapshot_is_restored_verified_and_deleted(
        tmp_path: Path, aws: MotoServer, prod_instance: Production, demo_capture: Capture,
        source_server: PostgresServer, network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[dict[str, Any]] = []
    original = RDSBackend.restore_db_instance_from_db_snapshot

    def spy(self: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]) -> Any:
        created.append(overrides)
        return original(self, from_snapshot_id, overrides)

    monkeypatch.setattr(RDSBackend, "restore_db_instance_from_db_snapshot", spy)
    outcome = verify_snapshot(tmp_path, prod_instance, demo_capture, source_server,
                              subnet_group=network.subnet_group, security_groups=[network.security_group])
    assert outcome.status == "passed", failed(outcome) or outcome.error
    record = outcome.as_evidence()
    artifact, sandbox = record["artifact"], record["sandbox"]
    assert artifact["snapshot_id"] == prod_instance.snapshots[1]  # the newer of the two
    assert artifact["snapshot_arn"] == f"arn:aws:rds:us-east-1:123456789012:snapshot:{prod_instance.snapshots[1]}"
    assert artifact["path"] == artifact["snapshot_arn"]
    assert artifact["encrypted"] == "true"
    assert artifact["kms_key_id"] == prod_instance.kms_key
    assert artifact["snapshot_created"]
    assert sandbox["type"] == "aws-rds"
    assert sandbox["instance_arn"].startswith("arn:aws:rds:us-east-1:123456789012:db:restoreproof-saas-")
    assert set(record["rto"]["phases"]) == {"fetch", "provision", "restore", "verify", "teardown"}
    [request] = created
    assert request["publicly_accessible"] is False
    assert request["db_instance_class"] == "db.t4g.medium"
    assert request["db_subnet_group_name"] == "sandbox-subnets"
    assert request["vpc_security_group_ids"] == [network.security_group]
    assert {SANDBOX_TAG, CREATED_TAG} <= set(tag_dict(request["tags"]))
    assert sandboxes(aws) == []


@pytest.mark.postgres
def test_aurora_cluster_snapshot_restores_cluster_and_instance_then_deletes_both(
        tmp_path: Path, aws: MotoServer, prod_cluster: Production, demo_capture: Capture,
        source_server: PostgresServer) -> None:
    outcome = verify_snapshot(tmp_path, prod_cluster, demo_capture, source_server)
    assert outcome.status == "passed", failed(outcome) or outcome.error
    record = outcome.as_evidence()
    assert record["artifact"]["snapshot_arn"].endswith(f":cluster-snapshot:{prod_cluster.snapshots[1]}")
    assert record["sandbox"]["type"] == "aws-aurora"
    assert record["sandbox"]["cluster_arn"].startswith("arn:aws:rds:us-east-1:123456789012:cluster:restoreproof-")
    assert record["sandbox"]["instance_arn"].startswith("arn:aws:rds:us-east-1:123456789012:db:restoreproof-")
    assert sandboxes(aws) == []


def test_a_named_snapshot_that_does_not_exist_fails_the_plan(
        tmp_path: Path, prod_instance: Production, demo_capture: Capture, aws: MotoServer) -> None:
    src = {"type": "rds-snapshot", "instance": prod_instance.name, "snapshot": "no-such-snapshot",
           "manifest": str(demo_capture.manifest)}
    store = {"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d", "source": src}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    plan = plan_store(inventory.stores[0], inventory.base_dir)
    assert isinstance(plan, PlanFailure)
    assert plan.message.startswith(f"store saas: RDS snapshot 'no-such-snapshot' of instance {prod_instance.name} "
                                   "does not exist in region us-east-1")
    assert "describe-db-snapshots" in plan.message


def test_an_origin_without_snapshots_of_the_chosen_type_fails_the_plan(
        tmp_path: Path, prod_instance: Production, demo_capture: Capture) -> None:
    src = {"type": "rds-snapshot", "instance": prod_instance.name, "include": "aws-backup",
           "manifest": str(demo_capture.manifest)}
    store = {"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d", "source": src}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    plan = plan_store(inventory.stores[0], inventory.base_dir)
    assert isinstance(plan, PlanFailure)
    assert f"instance {prod_instance.name} has no available aws-backup snapshot" in plan.message


def test_automated_snapshots_are_found(tmp_path: Path, prod_instance: Production, demo_capture: Capture,
                                       source_server: PostgresServer) -> None:
    inventory = snapshot_inventory(tmp_path, prod_instance, demo_capture, source_server, include="automated")
    plan = plan_store(inventory.stores[0], inventory.base_dir)
    assert not isinstance(plan, PlanFailure), plan.message
    assert plan.located.details["snapshot_type"] == "automated"
    assert plan.located.details["id"].startswith(f"rds:{prod_instance.name}-")


def test_a_restore_that_times_out_is_an_error_and_still_deletes_the_instance(
        tmp_path: Path, aws: MotoServer, prod_instance: Production, demo_capture: Capture,
        source_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    original = RDSBackend.restore_db_instance_from_db_snapshot

    def stays_creating(self: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]) -> Any:
        database = original(self, from_snapshot_id, overrides)
        database.status = "creating"  # as a real restore is, for minutes
        return database

    monkeypatch.setattr(RDSBackend, "restore_db_instance_from_db_snapshot", stays_creating)
    outcome = verify_snapshot(tmp_path, prod_instance, demo_capture, source_server, restore_timeout="1s")
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error["phase"] == "restore"
    assert outcome.error["message"].startswith(
        f"store saas: RDS did not finish restoring snapshot {prod_instance.snapshots[1]} within restore_timeout (1s)")
    assert "raise restore_timeout for store saas in the inventory" in outcome.error["message"]
    problems = failed(outcome)
    assert problems["restore:restore"].startswith("RDS instance arn:aws:rds:us-east-1:123456789012:db:restoreproof-")
    assert "was not available within restore_timeout (1s); last status 'creating'" in problems["restore:restore"]
    assert "checksum:public.users" not in problems  # not judged: the error stands for them
    assert "teardown" in outcome.timer.seconds
    assert sandboxes(aws) == []


def test_an_interrupted_run_still_deletes_the_instance(
        tmp_path: Path, aws: MotoServer, prod_instance: Production, demo_capture: Capture,
        source_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(conninfo: str, store: str, hint: str = "") -> None:
        raise KeyboardInterrupt("Ctrl-C")

    monkeypatch.setattr("verifiers.stores.postgres.snapshot.probe_connection", interrupt)
    outcome = verify_snapshot(tmp_path, prod_instance, demo_capture, source_server)
    assert outcome.interrupted
    assert outcome.error == {"phase": "verify", "message": "interrupted (Ctrl-C or SIGTERM)"}
    assert sandboxes(aws) == []


def test_a_refused_restore_request_is_an_error_naming_snapshot_and_fix(
        tmp_path: Path, aws: MotoServer, prod_instance: Production, demo_capture: Capture,
        source_server: PostgresServer) -> None:
    outcome = verify_snapshot(tmp_path, prod_instance, demo_capture, source_server, subnet_group="no-such-subnets")
    assert outcome.status == "error", failed(outcome)
    assert outcome.error is not None
    assert outcome.error["phase"] == "provision"
    message = outcome.error["message"]
    assert message.startswith(f"store saas: cannot restore arn:aws:rds:us-east-1:123456789012:snapshot:"
                              f"{prod_instance.snapshots[1]} into instance restoreproof-saas-")
    assert "DBSubnetGroupNotFoundFault" in message
    assert "check stores.source.instance_class, subnet_group and security_groups" in message
    assert sandboxes(aws) == []


def test_an_aurora_instance_that_cannot_be_created_still_deletes_its_cluster(
        tmp_path: Path, aws: MotoServer, prod_cluster: Production, demo_capture: Capture,
        source_server: PostgresServer) -> None:
    def refuse(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
        raise InvalidParameterValue("DBInstanceClass db.t4g.medium is not offered for this engine version")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RDSBackend, "create_db_instance", refuse)
        outcome = verify_snapshot(tmp_path, prod_cluster, demo_capture, source_server)
    assert outcome.status == "error"
    assert outcome.error is not None
    assert "into instance restoreproof-saas-" in outcome.error["message"]
    assert "is not offered" in outcome.error["message"]
    assert sandboxes(aws) == []


def test_an_unreachable_instance_is_an_error_with_the_fix(
        tmp_path: Path, aws: MotoServer, prod_instance: Production, demo_capture: Capture,
        source_server: PostgresServer) -> None:
    outcome = verify_snapshot(tmp_path, prod_instance, demo_capture, source_server,
                              endpoint_override="host=127.0.0.1 port=1 dbname=saas user=app connect_timeout=2")
    assert outcome.status == "error"
    assert outcome.error is not None
    assert outcome.error["message"].startswith("store saas: cannot connect to the restored RDS instance")
    assert "endpoint_override" in outcome.error["message"]
    assert sandboxes(aws) == []


def test_a_snapshot_store_without_a_manifest_names_the_fix(
        tmp_path: Path, prod_instance: Production) -> None:
    src = {"type": "rds-snapshot", "instance": prod_instance.name}
    store = {"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d", "source": src}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    plan = plan_store(inventory.stores[0], inventory.base_dir)
    assert isinstance(plan, PlanFailure)
    assert "an rds-snapshot source needs a manifest" in plan.message
    assert "stores.source.manifest" in plan.message


@pytest.mark.postgres
def test_a_snapshot_without_a_manifest_is_compared_with_the_live_database(
        tmp_path: Path, aws: MotoServer, prod_instance: Production, source_server: PostgresServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The restored instance's data plane and "production" are the demo database alike: nothing moved on.
    monkeypatch.setenv("RESTOREPROOF_TEST_LIVE_DSN", source_server.conninfo(SOURCE_DB))
    src = {"type": "rds-snapshot", "instance": prod_instance.name, "include": "manual",
           "endpoint_override": source_server.conninfo(SOURCE_DB)}
    stable = {"public.events": "occurred_at < {backup_time}"}
    store = {"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d", "source": src,
             "live": {"dsn_env": "RESTOREPROOF_TEST_LIVE_DSN", "stable": stable}}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    outcome = run_store(plan_store(inventory.stores[0], inventory.base_dir))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    assert {c.subject for c in outcome.checks if c.check == "checksum"} == {"public.events"}
    assert len([c for c in outcome.checks if c.check == "row_count"]) == 6
    assert not [c for c in outcome.checks if c.check == "sequence"]
    assert outcome.as_evidence()["artifact"]["reference"] == "live database"
    assert sandboxes(aws) == []


@pytest.mark.postgres
def test_amcheck_on_the_restored_instance_names_a_corrupt_index(
        tmp_path: Path, aws: MotoServer, prod_instance: Production, demo_capture: Capture,
        source_server: PostgresServer, scratch_db: str) -> None:
    """A snapshot's pages are production's: with amcheck on, an index corrupted there fails the corruption check
    by name (the restored instance here is a local database holding one, as endpoint_override points at it)."""
    with psycopg.connect(source_server.conninfo(scratch_db), autocommit=True) as conn:
        conn.execute(CORRUPT_INDEX_SQL)
    inventory = snapshot_inventory(tmp_path, prod_instance, demo_capture, source_server,
                                   endpoint_override=source_server.conninfo(scratch_db))
    store = inventory.stores[0].model_copy(update={"amcheck": True})
    outcome = run_store(plan_store(store, inventory.base_dir))
    [check] = [c for c in outcome.checks if c.check == "corruption"]
    assert not check.passed and check.compared, check.message
    assert "public.t_f (SQLSTATE XX00" in check.message
    assert outcome.status == "failed"  # the tables differ from the manifest too: this database is not the capture
    assert sandboxes(aws) == []
