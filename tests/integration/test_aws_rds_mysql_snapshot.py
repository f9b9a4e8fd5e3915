"""RDS MySQL and Aurora MySQL snapshots: moto's server is the control plane, the "production" MariaDB (reached
through `endpoint_override`) the data plane, the manifest the one `capture mysql` wrote. Engines are checked
before anything is restored, and every path deletes what it made and leaves no local server behind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from fixtures import mysql_demo
from tests.aws_support import MotoServer, harness_leftovers
from tests.conftest import failed
from tests.mysql_support import PAIRS_FIXED_CAPTURE, MysqlCapture, source_dsn
from verifiers.errors import SandboxError
from verifiers.inventory import parse_inventory
from verifiers.runner import PlanFailure, StoreOutcome, plan_store, run_store
from verifiers.stores.mysql import snapshot as mysql_snapshot
from verifiers.stores.mysql.local_server import MysqlServer

pytestmark = [pytest.mark.mysql, pytest.mark.usefixtures("aws", "no_mysql_leftovers")]
PASSWORD = "not-a-real-password"
TABLES = {f"shop.{t}" for t in mysql_demo.COUNTS}


@dataclass(frozen=True)
class Production:
    """A "production" RDS instance or Aurora cluster in moto with two manual snapshots, newest second."""

    origin: str  # instance | cluster
    name: str
    snapshots: tuple[str, str]


def _name(request: pytest.FixtureRequest) -> str:
    return "prod-my-" + str(request.node.name).replace("_", "-").replace("[", "-").strip("]")[5:36].strip("-")


@pytest.fixture
def rds_instance(request: pytest.FixtureRequest) -> Iterator[Production]:
    """An RDS instance of the engine in the test's `engine` parameter (mysql unless given)."""
    engine, version = getattr(request, "param", ("mysql", "8.0.36"))
    rds, name = boto3.client("rds"), _name(request)
    rds.create_db_instance(DBInstanceIdentifier=name, Engine=engine, EngineVersion=version,
                           DBInstanceClass="db.m6g.large", MasterUsername="admin", MasterUserPassword=PASSWORD,
                           AllocatedStorage=50)
    snapshots = (f"{name}-manual-1", f"{name}-manual-2")
    for snapshot in snapshots:
        rds.create_db_snapshot(DBInstanceIdentifier=name, DBSnapshotIdentifier=snapshot)
    yield Production("instance", name, snapshots)
    for snapshot in snapshots:
        rds.delete_db_snapshot(DBSnapshotIdentifier=snapshot)
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)


@pytest.fixture
def aurora_mysql(request: pytest.FixtureRequest) -> Iterator[Production]:
    rds, name = boto3.client("rds"), _name(request)
    rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-mysql", EngineVersion="8.0.mysql_aurora.3.05.2",
                          MasterUsername="admin", MasterUserPassword=PASSWORD)
    snapshots = (f"{name}-manual-1", f"{name}-manual-2")
    for snapshot in snapshots:
        rds.create_db_cluster_snapshot(DBClusterIdentifier=name, DBClusterSnapshotIdentifier=snapshot)
    yield Production("cluster", name, snapshots)
    for snapshot in snapshots:
        rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=snapshot)
    rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)



def plan_for(tmp_path: Path, prod: Production, manifest: Path, source: dict[str, object] | None = None, *,
             kind: str = "mysql", assertions: list[dict[str, object]] | None = None) -> Any:
    # the capture's time is fixed (mysql_support.FIXED), days before moto's snapshots: pair it anyway
    src: dict[str, object] = {"type": "rds-snapshot", prod.origin: prod.name, "include": "manual",
                              "instance_class": "db.r6g.large", "manifest": str(manifest),
                              "manifest_tolerance": PAIRS_FIXED_CAPTURE, **(source or {})}
    store = {"name": "shop", "kind": kind, "rto": "15m", "rpo": "30d", "source": src, "assertions": assertions or []}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    return plan_store(inventory.stores[0], inventory.base_dir)


def verify(tmp_path: Path, prod: Production, capture: MysqlCapture, server: MysqlServer,
           assertions: list[dict[str, object]] | None = None, **source: object) -> StoreOutcome:
    source.setdefault("endpoint_override", source_dsn(server))
    return run_store(plan_for(tmp_path, prod, capture.manifest, source, assertions=assertions))


def nothing_left(aws: MotoServer) -> None:
    assert harness_leftovers(aws.url) == []


@pytest.mark.parametrize("rds_instance", [("mysql", "8.0.36"), ("mariadb", "10.11.6")], indirect=True,
                         ids=["mysql", "mariadb"])
def test_rds_instance_snapshot_is_restored_verified_and_deleted(
        tmp_path: Path, aws: MotoServer, rds_instance: Production, mysql_capture: MysqlCapture,
        mysql_source: MysqlServer) -> None:
    outcome = verify(tmp_path, rds_instance, mysql_capture, mysql_source, assertions=[
        {"name": "accounts", "sql": "SELECT COUNT(*) FROM accounts", "expect": 20}])
    assert outcome.status == "passed", failed(outcome) or outcome.error
    assert {c.check for c in outcome.checks} == {"artifact", "manifest", "restore", "tables", "row_count", "checksum",
                                                 "schema", "sequence", "assertion", "rto", "rpo"}
    assert {c.subject for c in outcome.checks if c.check == "checksum"} == TABLES
    record = outcome.as_evidence()
    artifact, sandbox = record["artifact"], record["sandbox"]
    assert artifact["snapshot_id"] == rds_instance.snapshots[1]  # the newer of the two
    assert artifact["engine"].startswith(("mysql 8.0.36", "mariadb 10.11.6"))
    assert sandbox["type"] == "aws-rds"
    assert sandbox["instance_arn"].startswith("arn:aws:rds:us-east-1:123456789012:db:restoreproof-shop-")
    assert set(record["rto"]["phases"]) == {"fetch", "provision", "restore", "verify", "teardown"}
    evidence = json.dumps(record, default=str)
    assert mysql_source.password not in evidence and mysql_demo.MARKER not in evidence
    nothing_left(aws)


def test_aurora_mysql_cluster_snapshot_restores_cluster_and_instance_then_deletes_both(
        tmp_path: Path, aws: MotoServer, aurora_mysql: Production, mysql_capture: MysqlCapture,
        mysql_source: MysqlServer) -> None:
    outcome = verify(tmp_path, aurora_mysql, mysql_capture, mysql_source)
    assert outcome.status == "passed", failed(outcome) or outcome.error
    record = outcome.as_evidence()
    assert record["artifact"]["snapshot_arn"].endswith(f":cluster-snapshot:{aurora_mysql.snapshots[1]}")
    assert (record["sandbox"]["type"], record["sandbox"]["engine"]) == ("aws-aurora", "aurora-mysql")
    assert record["sandbox"]["cluster_arn"].startswith("arn:aws:rds:us-east-1:123456789012:cluster:restoreproof-")
    nothing_left(aws)


def test_restored_data_that_differs_from_the_manifest_fails_by_table(
        tmp_path: Path, aws: MotoServer, rds_instance: Production, mysql_capture: MysqlCapture,
        mysql_source: MysqlServer) -> None:
    """A snapshot whose data is not what was captured: the checks of that table fail, the rest pass."""
    data = json.loads(mysql_capture.manifest.read_text())
    users = data["facts"]["tables"]["shop.users"]
    users["rows"] += 1
    users["checksum"] = f"{(int(users['checksum'], 16) + 1) % (1 << 64):016x}"
    (tmp_path / "changed.manifest.json").write_text(json.dumps(data))
    outcome = run_store(plan_for(tmp_path, rds_instance, tmp_path / "changed.manifest.json",
                                 {"endpoint_override": source_dsn(mysql_source)}))
    assert outcome.status == "failed"
    assert set(failed(outcome)) == {"row_count:shop.users", "checksum:shop.users"}
    assert failed(outcome)["checksum:shop.users"].startswith("checksum differs: restored ")
    nothing_left(aws)


@pytest.mark.parametrize("rds_instance", [("postgres", "16.3")], indirect=True, ids=["postgres"])
def test_a_postgres_snapshot_for_a_mysql_store_fails_the_plan_before_any_restore(
        tmp_path: Path, aws: MotoServer, rds_instance: Production, mysql_capture: MysqlCapture) -> None:
    plan = plan_for(tmp_path, rds_instance, mysql_capture.manifest)
    assert isinstance(plan, PlanFailure)
    assert plan.message.startswith(f"store shop: RDS snapshot arn:aws:rds:us-east-1:123456789012:snapshot:"
                                   f"{rds_instance.snapshots[1]} is a postgres 16.3 snapshot; a mysql store restores "
                                   "mysql, aurora-mysql, aurora, mariadb snapshots only")
    assert 'set kind = "postgres" for this store' in plan.message
    outcome = run_store(plan)
    assert (outcome.status, outcome.sandbox) == ("error", None)  # nothing was restored
    nothing_left(aws)


def test_a_mysql_snapshot_for_a_postgres_store_fails_the_plan(
        tmp_path: Path, aws: MotoServer, aurora_mysql: Production, mysql_capture: MysqlCapture) -> None:
    plan = plan_for(tmp_path, aurora_mysql, mysql_capture.manifest, kind="postgres")
    assert isinstance(plan, PlanFailure)
    assert " is a aurora-mysql 8.0.mysql_aurora.3.05.2 snapshot; a postgres store restores postgres, " \
           "aurora-postgresql snapshots only" in plan.message
    assert 'set kind = "mysql"' in plan.message and "stores.source.cluster" in plan.message


def test_a_postgres_manifest_for_a_mysql_snapshot_is_named(
        tmp_path: Path, rds_instance: Production) -> None:
    manifest = tmp_path / "pg.manifest.json"
    manifest.write_text(json.dumps({"kind": "postgres", "schema_version": 1}))
    plan = plan_for(tmp_path, rds_instance, manifest)
    assert isinstance(plan, PlanFailure)
    assert f"manifest {manifest} is of kind 'postgres', not a mysql manifest" in plan.message


@pytest.mark.parametrize(("dsn", "message"), [
    ("mysql://admin:S3cret-pw@db:notaport/shop", "the DSN is not a valid URL"),
    ("host=db user=admin password=S3cret-pw", "the DSN names no database"),
    ("postgresql://admin:S3cret-pw@db/shop", "the DSN's scheme 'postgresql' is not one of mysql, mariadb"),
])
def test_a_bad_endpoint_override_fails_the_plan_without_its_password(
        tmp_path: Path, aws: MotoServer, rds_instance: Production, mysql_capture: MysqlCapture,
        dsn: str, message: str) -> None:
    plan = plan_for(tmp_path, rds_instance, mysql_capture.manifest, {"endpoint_override": dsn})
    assert isinstance(plan, PlanFailure)
    assert plan.message.startswith(f"store shop: stores.source.endpoint_override: {message}")
    assert "S3cret-pw" not in plan.message
    nothing_left(aws)


def test_a_database_other_than_the_manifests_fails_the_plan(
        tmp_path: Path, rds_instance: Production, mysql_capture: MysqlCapture) -> None:
    plan = plan_for(tmp_path, rds_instance, mysql_capture.manifest, {"database": "billing"})
    assert isinstance(plan, PlanFailure)
    assert "stores.source.database is 'billing' but manifest" in plan.message
    assert "captured from database 'shop'" in plan.message


def test_an_unreachable_instance_is_an_error_without_the_password(
        tmp_path: Path, aws: MotoServer, rds_instance: Production, mysql_capture: MysqlCapture,
        mysql_source: MysqlServer) -> None:
    wrong = f"unix_socket={mysql_source.socket} user=root password=Wrong-S3cret database=shop"
    outcome = verify(tmp_path, rds_instance, mysql_capture, mysql_source, endpoint_override=wrong)
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error["phase"] == "verify"
    message = outcome.error["message"]
    assert message.startswith("store shop: cannot connect to the restored RDS instance at mysql://root:***@")
    assert "Access denied" in message and "Wrong-S3cret" not in message
    assert "endpoint_override" in message and "MYSQL_PWD" in message
    assert outcome.as_evidence()["sandbox"]["instance_arn"]  # the instance was made, and then deleted:
    nothing_left(aws)


def test_an_interrupted_run_still_deletes_the_cluster(
        tmp_path: Path, aws: MotoServer, aurora_mysql: Production, mysql_capture: MysqlCapture,
        mysql_source: MysqlServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt("Ctrl-C")

    monkeypatch.setattr(mysql_snapshot, "connect_restored", interrupt)
    outcome = verify(tmp_path, aurora_mysql, mysql_capture, mysql_source)
    assert outcome.interrupted
    assert outcome.error == {"phase": "verify", "message": "interrupted (Ctrl-C or SIGTERM)"}
    nothing_left(aws)


def test_the_master_password_comes_from_mysql_pwd_or_my_cnf_and_is_never_shown(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("MYSQL_PWD", raising=False)
    assert mysql_snapshot._master_password("shop") == ""
    (tmp_path / ".my.cnf").write_text('[client]\nuser=admin\npassword="pa ss#word"\nsocket=/nowhere.sock\n')
    assert mysql_snapshot._master_password("shop") == "pa ss#word"
    monkeypatch.setenv("MYSQL_PWD", "from-env")
    assert mysql_snapshot._master_password("shop") == "from-env"
    monkeypatch.delenv("MYSQL_PWD")
    (tmp_path / ".my.cnf").write_text("password=Leaky-S3cret\n[client\n")
    with pytest.raises(SandboxError) as info:
        mysql_snapshot._master_password("shop")
    assert "is not a readable option file" in str(info.value) and "Leaky-S3cret" not in str(info.value)


def test_check_table_on_the_restored_instance(tmp_path: Path, aws: MotoServer, aurora_mysql: Production,
                                              mysql_capture: MysqlCapture, mysql_source: MysqlServer) -> None:
    """With check_table on, the restored instance's tables are checked where the snapshot's pages are
    production's own (the instance here is the local source server, as endpoint_override points at it)."""
    src: dict[str, object] = {"type": "rds-snapshot", aurora_mysql.origin: aurora_mysql.name, "include": "manual",
                              "instance_class": "db.r6g.large", "manifest": str(mysql_capture.manifest),
                              "manifest_tolerance": PAIRS_FIXED_CAPTURE, "endpoint_override": source_dsn(mysql_source)}
    store = {"name": "shop", "kind": "mysql", "rto": "15m", "rpo": "30d", "source": src, "check_table": True}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    outcome = run_store(plan_store(inventory.stores[0], inventory.base_dir))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    [check] = [c for c in outcome.checks if c.check == "corruption"]
    assert check.compared and check.message.startswith("CHECK TABLE found all "), check.message
    nothing_left(aws)
