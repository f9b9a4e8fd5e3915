"""The live MySQL / MariaDB database as the reference (verifiers/stores/mysql/live.py), on real MariaDB servers:
moto's server is the control plane (RDS snapshots, point-in-time restores of an instance and of an Aurora MySQL
cluster), a second MariaDB server holding a copy of the demo shop database plays the restored instance (reached
through `endpoint_override`), and the "production" MariaDB of tests/mysql_support.py is the live database (its DSN
in an env variable). Each test changes only the restored copy, so the live database stays as captured."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from fixtures import mysql_demo
from tests.aws_backup_support import (  # noqa: F401  # backup_stub: the `backup` fixture
    ACCOUNT,
    Backup,
    backup_stub,
    described,
    listed,
    point,
)
from tests.aws_support import REGION, MotoServer, harness_leftovers
from tests.conftest import failed
from tests.mysql_support import SOURCE_DB, MysqlCapture, client, mysql_verify, source_dsn
from verifiers.inventory import parse_inventory
from verifiers.runner import PlanFailure, StoreOutcome, plan_store, run_store
from verifiers.stores.mysql.installations import MysqlInstallation
from verifiers.stores.mysql.live import RESTORE_TIME_VARIABLE, set_session
from verifiers.stores.mysql.local_server import MysqlServer, local_mysql

pytestmark = [pytest.mark.mysql, pytest.mark.usefixtures("aws", "no_mysql_leftovers")]
PASSWORD = "not-a-real-password"
LIVE_ENV = "RESTOREPROOF_TEST_MYSQL_LIVE_DSN"
TABLES = {f"shop.{t}" for t in mysql_demo.COUNTS}
STABLE = {"shop.orders": "placed_on < {backup_time}", "shop.accounts": "created_at < {backup_time}"}
STABLE_PITR = {"shop.orders": "placed_on < {restore_time}", "shop.accounts": "created_at < {restore_time}"}


@dataclass(frozen=True)
class Origin:
    kind: str  # instance | cluster
    name: str


@pytest.fixture(scope="module")
def restored_server(mariadb: MysqlInstallation) -> Iterator[MysqlServer]:
    """The stand-in for the restored instance: a MariaDB of its own, so its database has the live one's name."""
    with local_mysql(mariadb, prefix="rp-test-restored-mysql-") as server:
        yield server


@pytest.fixture
def restored(restored_server: MysqlServer, mysql_capture: MysqlCapture) -> MysqlServer:
    """A fresh copy of the captured shop database on the restored server (what the snapshot holds)."""
    client(restored_server, "-e", f"DROP DATABASE IF EXISTS {SOURCE_DB}")
    client(restored_server, "-e", f"CREATE DATABASE {SOURCE_DB}")
    client(restored_server, f"--database={SOURCE_DB}", stdin=gzip.decompress(mysql_capture.dump.read_bytes()))
    return restored_server


@pytest.fixture
def live_env(mysql_source: MysqlServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(LIVE_ENV, source_dsn(mysql_source))
    return LIVE_ENV


def _name(request: pytest.FixtureRequest) -> str:
    return "live-my-" + str(request.node.name).replace("_", "-")[5:36].strip("-")


@pytest.fixture
def prod(request: pytest.FixtureRequest) -> Iterator[Origin]:
    """A "production" RDS MySQL instance with automated backups (7 days) and one manual snapshot."""
    rds, name = boto3.client("rds"), _name(request)
    rds.create_db_instance(DBInstanceIdentifier=name, Engine="mysql", EngineVersion="8.0.36",
                           DBInstanceClass="db.m6g.large", MasterUsername="admin", MasterUserPassword=PASSWORD,
                           AllocatedStorage=50, BackupRetentionPeriod=7)
    rds.create_db_snapshot(DBInstanceIdentifier=name, DBSnapshotIdentifier=f"{name}-manual")
    yield Origin("instance", name)
    rds.delete_db_snapshot(DBSnapshotIdentifier=f"{name}-manual")
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)


@pytest.fixture
def prod_cluster(request: pytest.FixtureRequest) -> Iterator[Origin]:
    rds, name = boto3.client("rds"), _name(request)
    rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-mysql", EngineVersion="8.0.mysql_aurora.3.05.2",
                          BackupRetentionPeriod=7, MasterUsername="admin", MasterUserPassword=PASSWORD)
    yield Origin("cluster", name)
    rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)


def plan(tmp_path: Path, origin: Origin, restored: MysqlServer, *, live: dict[str, object] | None = None,
         settings: dict[str, object] | None = None, **source: object) -> Any:
    src: dict[str, object] = {"type": "rds-snapshot", origin.kind: origin.name, "instance_class": "db.t4g.medium",
                              "endpoint_override": source_dsn(restored), **source}
    if "restore_to" not in source:
        src.setdefault("include", "manual")
    store: dict[str, object] = {"name": "shop", "kind": "mysql", "rto": "15m", "rpo": "30d", "source": src}
    if live is not None:
        store["live"] = live
    store.update(settings or {})
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    return plan_store(inventory.stores[0], inventory.base_dir)


def verify(tmp_path: Path, origin: Origin, restored: MysqlServer, stable: dict[str, str] | None = None,
           settings: dict[str, object] | None = None, **source: object) -> StoreOutcome:
    planned = plan(tmp_path, origin, restored, live={"dsn_env": LIVE_ENV, "stable": STABLE if stable is None
                                                     else stable}, settings=settings, **source)
    assert not isinstance(planned, PlanFailure), planned.message
    outcome: StoreOutcome = run_store(planned)
    return outcome


def check(outcome: StoreOutcome, name: str, subject: str) -> Any:
    [found] = [c for c in outcome.checks if c.check == name and c.subject == subject]
    return found


def no_secrets(outcome: StoreOutcome, mysql_source: MysqlServer) -> None:
    text = json.dumps(outcome.as_evidence(), default=str) + json.dumps(outcome.error or {}, default=str)
    assert mysql_source.password not in text and source_dsn(mysql_source) not in text
    assert mysql_demo.MARKER not in text


def test_a_snapshot_without_a_manifest_is_verified_against_the_live_database(
        tmp_path: Path, aws: MotoServer, prod: Origin, restored: MysqlServer, live_env: str,
        mysql_source: MysqlServer) -> None:
    outcome = verify(tmp_path, prod, restored, settings={"check_table": True, "assertions": [
        {"name": "accounts", "sql": "SELECT COUNT(*) FROM accounts", "expect": 20}]})
    assert outcome.status == "passed", failed(outcome) or outcome.error
    assert check(outcome, "assertion", "accounts").observed == 20  # run on the restored database
    assert check(outcome, "corruption", "tables").passed
    assert {c.subject for c in outcome.checks if c.check == "row_count"} == TABLES
    checksums = {c.subject: c for c in outcome.checks if c.check == "checksum"}
    assert set(checksums) == set(STABLE)  # only the stable tables are hashed
    assert all(c.compared and c.passed and c.observed != "0" * 16 for c in checksums.values())
    assert {c.subject for c in outcome.checks if c.check == "schema"} == TABLES | {"database"}
    assert not [c for c in outcome.checks if c.check == "sequence"]  # live counters moved on
    orders = check(outcome, "row_count", "shop.orders")
    assert (orders.observed, orders.expected) == (600, {"min": 570, "max": 630})
    record = outcome.as_evidence()
    assert record["artifact"]["reference"] == "live database"
    assert record["rto"]["steps_not_measured"]["warm"].startswith("the live reference checksums only")
    no_secrets(outcome, mysql_source)
    assert harness_leftovers(aws.url) == []


def test_a_schema_drift_fails_naming_the_table_and_column(
        tmp_path: Path, aws: MotoServer, prod: Origin, restored: MysqlServer, live_env: str,
        mysql_source: MysqlServer) -> None:
    client(restored, f"--database={SOURCE_DB}", "-e", "ALTER TABLE users ADD COLUMN extra INT NULL")
    outcome = verify(tmp_path, prod, restored)
    assert outcome.status == "failed"
    problems = failed(outcome)
    assert set(problems) == {"schema:shop.users"}
    assert "extra" in problems["schema:shop.users"]
    no_secrets(outcome, mysql_source)
    assert harness_leftovers(aws.url) == []


def test_a_live_table_missing_from_the_restore_fails_naming_it(
        tmp_path: Path, aws: MotoServer, prod: Origin, restored: MysqlServer, live_env: str) -> None:
    client(restored, f"--database={SOURCE_DB}", "-e", "DROP TABLE settings")
    outcome = verify(tmp_path, prod, restored)
    problems = failed(outcome)
    assert set(problems) == {"tables:tables", "row_count:shop.settings", "schema:shop.settings"}
    assert "missing: shop.settings" in problems["tables:tables"]
    assert harness_leftovers(aws.url) == []


def test_a_row_count_outside_the_tolerance_fails_with_counts_only(
        tmp_path: Path, aws: MotoServer, prod: Origin, restored: MysqlServer, live_env: str,
        mysql_source: MysqlServer) -> None:
    client(restored, f"--database={SOURCE_DB}", "-e", "DELETE FROM audit_log WHERE id > 500")
    outcome = verify(tmp_path, prod, restored)
    problems = failed(outcome)
    assert set(problems) == {"row_count:shop.audit_log"}
    assert "500 rows restored, expected 600 ± 30 (-100)" in problems["row_count:shop.audit_log"]
    no_secrets(outcome, mysql_source)


def test_a_changed_stable_row_fails_that_tables_checksum(
        tmp_path: Path, aws: MotoServer, prod: Origin, restored: MysqlServer, live_env: str,
        mysql_source: MysqlServer) -> None:
    client(restored, f"--database={SOURCE_DB}", "-e", "UPDATE orders SET amount = amount + 1 WHERE id = 5")
    outcome = verify(tmp_path, prod, restored)
    problems = failed(outcome)
    assert set(problems) == {"checksum:shop.orders"}
    assert problems["checksum:shop.orders"].startswith("checksum differs: restored ")
    no_secrets(outcome, mysql_source)


def test_a_condition_that_does_not_plan_fails_the_plan_naming_the_table(
        tmp_path: Path, prod: Origin, restored: MysqlServer, live_env: str, mysql_source: MysqlServer) -> None:
    planned = plan(tmp_path, prod, restored, live={"dsn_env": LIVE_ENV,
                                                   "stable": {"shop.orders": "no_such_column < {backup_time}"}})
    assert isinstance(planned, PlanFailure)
    assert planned.message.startswith("store shop: live.stable condition of shop.orders does not work there: ")
    assert "no_such_column" in planned.message
    assert mysql_source.password not in planned.message
    unknown = plan(tmp_path, prod, restored, live={"dsn_env": LIVE_ENV, "stable": {"shop.nope": "1 = 1"}})
    assert isinstance(unknown, PlanFailure)
    assert f"live.stable names shop.nope, not a table of the live database (env {LIVE_ENV})" in unknown.message


def test_a_condition_that_fails_on_the_restored_table_fails_its_checksum_only(
        tmp_path: Path, aws: MotoServer, prod: Origin, restored: MysqlServer, live_env: str) -> None:
    client(restored, f"--database={SOURCE_DB}", "-e", "ALTER TABLE orders CHANGE placed_on placed DATE NOT NULL")
    outcome = verify(tmp_path, prod, restored)
    problems = failed(outcome)
    assert set(problems) == {"checksum:shop.orders", "schema:shop.orders"}
    assert "its live.stable condition does not work on the restored table" in problems["checksum:shop.orders"]
    assert harness_leftovers(aws.url) == []


def test_a_condition_selecting_no_rows_is_not_compared_rather_than_passed(
        tmp_path: Path, aws: MotoServer, prod: Origin, restored: MysqlServer, live_env: str) -> None:
    outcome = verify(tmp_path, prod, restored, stable={**STABLE, "shop.orders": "placed_on < '1900-01-01'"})
    assert outcome.status == "passed", failed(outcome) or outcome.error
    orders = check(outcome, "checksum", "shop.orders")
    assert not orders.compared and orders.expected is None
    assert "its live.stable condition selects no rows, live or restored" in orders.message
    assert check(outcome, "checksum", "shop.accounts").compared


def test_a_missing_live_dsn_fails_the_plan_naming_the_variable(
        tmp_path: Path, prod: Origin, restored: MysqlServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LIVE_ENV, raising=False)
    planned = plan(tmp_path, prod, restored, live={"dsn_env": LIVE_ENV})
    assert isinstance(planned, PlanFailure)
    assert f"the live database is the reference (a snapshot without a manifest, a point-in-time restore) and its " \
           f"DSN is not set (env {LIVE_ENV})" in planned.message
    monkeypatch.setenv(LIVE_ENV, "mysql://app:Very-s3cret-pw@db.internal:notaport/shop")
    planned = plan(tmp_path, prod, restored, live={"dsn_env": LIVE_ENV})
    assert isinstance(planned, PlanFailure)
    assert planned.message.startswith(f"store shop: env {LIVE_ENV}: the DSN is not a valid URL")
    assert "Very-s3cret-pw" not in planned.message


def test_restore_time_in_a_condition_of_a_snapshot_store_is_refused(
        tmp_path: Path, prod: Origin, restored: MysqlServer, live_env: str) -> None:
    planned = plan(tmp_path, prod, restored, live={"dsn_env": LIVE_ENV, "stable": STABLE_PITR})
    assert isinstance(planned, PlanFailure)
    assert "live.stable uses {restore_time}, which only a point-in-time restore has" in planned.message


def test_a_database_other_than_the_live_ones_fails_the_plan(
        tmp_path: Path, prod: Origin, restored: MysqlServer, live_env: str) -> None:
    planned = plan(tmp_path, prod, restored, live={"dsn_env": LIVE_ENV}, database="billing")
    assert isinstance(planned, PlanFailure)
    assert "stores.source.database is 'billing' but the live database (env " in planned.message


def test_an_instance_restored_to_a_point_in_time_is_verified_as_of_the_restore_time(
        tmp_path: Path, aws: MotoServer, prod: Origin, restored: MysqlServer, live_env: str,
        mysql_source: MysqlServer) -> None:
    """A row placed after the restore time (2099) in the restored copy is left out of the checksum by
    `placed_on < {restore_time}`: the restore time reached the server; the tables without a condition are not
    compared."""
    client(restored, f"--database={SOURCE_DB}", "-e",
           "INSERT INTO orders (user_id, amount, status, placed_on) VALUES (1, 1.00, 'new', '2099-01-01')")
    outcome = verify(tmp_path, prod, restored, stable=STABLE_PITR, restore_to="random", restore_seed=7)
    assert outcome.status == "passed", failed(outcome) or outcome.error
    orders = check(outcome, "checksum", "shop.orders")
    assert orders.compared and orders.passed and orders.observed != "0" * 16
    users = check(outcome, "checksum", "shop.users")
    assert not users.compared and users.passed
    assert "rows written after the restore time cannot be told apart" in users.message
    count = check(outcome, "row_count", "shop.orders")  # the live count has every row written since that moment
    assert not count.compared and "the live count includes every row written after" in count.message
    lag = check(outcome, "pitr_lag", prod.name)
    assert lag.passed and lag.expected == 30 * 86400
    artifact = outcome.as_evidence()["artifact"]
    assert artifact["snapshot_type"] == "point-in-time" and artifact["restore_to"] == "random"
    assert artifact["reference"] == "live database"
    no_secrets(outcome, mysql_source)
    assert harness_leftovers(aws.url) == []


def test_an_aurora_mysql_cluster_restored_to_the_latest_time_is_verified_and_deleted(
        tmp_path: Path, aws: MotoServer, prod_cluster: Origin, restored: MysqlServer, live_env: str,
        mysql_source: MysqlServer) -> None:
    outcome = verify(tmp_path, prod_cluster, restored, stable=STABLE_PITR, restore_to="latest")
    assert outcome.status == "passed", failed(outcome) or outcome.error
    record = outcome.as_evidence()
    assert record["artifact"]["restore_time"] == record["artifact"]["latest_restorable"]
    assert (record["sandbox"]["type"], record["sandbox"]["engine"]) == ("aws-aurora", "aurora-mysql")
    assert check(outcome, "pitr_lag", prod_cluster.name).passed
    assert {c.subject for c in outcome.checks if c.check == "checksum" and c.compared} == set(STABLE_PITR)
    no_secrets(outcome, mysql_source)
    assert harness_leftovers(aws.url) == []


def test_the_restore_time_reaches_the_server_as_a_bound_session_variable(mysql_source: MysqlServer) -> None:
    moment = datetime(2026, 12, 1, 3, 4, 5, 678901, tzinfo=UTC)
    conn = mysql_source.connect(SOURCE_DB)
    try:
        with conn.cursor() as cur:
            set_session(cur, moment, moment)
            assert RESTORE_TIME_VARIABLE == "@restoreproof_restore_time"
            cur.execute("SELECT @restoreproof_restore_time, COUNT(*) FROM orders "
                        "WHERE placed_on < @restoreproof_restore_time")
            found = cur.fetchone()
            cur.execute("SELECT COUNT(*) FROM orders WHERE placed_on < '2026-12-01 03:04:05.678901'")
            literal = cur.fetchone()
    finally:
        conn.close()
    assert found is not None and literal is not None
    value, selected = found
    assert value == "2026-12-01 03:04:05.678901"  # MariaDB keeps a DATETIME user variable as its text
    assert selected == literal[0]


def test_an_aws_backup_recovery_point_without_a_manifest_is_verified_against_the_live_database(
        tmp_path: Path, aws: MotoServer, backup: Backup, restored: MysqlServer, live_env: str,
        mysql_source: MysqlServer) -> None:
    """AWS Backup's calls stubbed with their parameters asserted (tests/aws_backup_support.py says why)."""
    rds = boto3.client("rds")
    name = "prod-shop-live"
    rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-mysql", EngineVersion="8.0.mysql_aurora.3.05.2",
                          MasterUsername="admin", MasterUserPassword=PASSWORD)
    snapshot_arn = rds.create_db_cluster_snapshot(DBClusterIdentifier=name, DBClusterSnapshotIdentifier=(
        "awsbackup-job-live"))["DBClusterSnapshot"]["DBClusterSnapshotArn"]
    try:
        found = point(snapshot_arn, f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{name}", "Aurora")
        listed(backup.stub, [found], ByResourceType="Aurora")
        described(backup.stub, found)
        src = {"type": "aws-backup", "vault": "prod-vault", "resource_type": "Aurora", "resource_name": name,
               "instance_class": "db.r6g.large", "endpoint_override": source_dsn(restored)}
        store = {"name": "shop", "kind": "mysql", "rto": "15m", "rpo": "30d", "source": src,
                 "live": {"dsn_env": LIVE_ENV, "stable": STABLE}}
        inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
        outcome = run_store(plan_store(inventory.stores[0], inventory.base_dir))
    finally:
        rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier="awsbackup-job-live")
        rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)
    assert outcome.status == "passed", failed(outcome) or outcome.error
    record = outcome.as_evidence()
    assert record["artifact"]["recovery_point_arn"] == snapshot_arn
    assert record["artifact"]["reference"] == "live database"
    assert {c.subject for c in outcome.checks if c.check == "checksum" and c.compared} == set(STABLE)
    no_secrets(outcome, mysql_source)
    assert harness_leftovers(aws.url) == []


# --- a dump without a manifest (a `file` source), restored into a local sandbox ----------------------------------


def dump_only(directory: Path, dump: Path) -> Path:
    """`dump` alone in `directory` (no manifest beside it)."""
    directory.mkdir(exist_ok=True)
    (directory / dump.name).write_bytes(dump.read_bytes())
    return directory


def test_a_dump_without_a_manifest_is_verified_against_the_live_database(
        tmp_path: Path, mysql_capture: MysqlCapture, live_env: str, mysql_source: MysqlServer) -> None:
    directory = dump_only(tmp_path / "backups", mysql_capture.dump)
    outcome = mysql_verify(directory, "shop-*.sql.gz", live={"dsn_env": LIVE_ENV, "stable": STABLE})
    assert outcome.status == "passed", failed(outcome) or outcome.error
    assert {c.subject for c in outcome.checks if c.check == "row_count"} == TABLES
    assert {c.subject for c in outcome.checks if c.check == "checksum" and c.compared} == set(STABLE)
    artifact = next(c for c in outcome.checks if c.check == "artifact")
    assert not artifact.compared and "no manifest to compare it with" in artifact.message
    assert outcome.as_evidence()["artifact"]["reference"] == "live database"
    no_secrets(outcome, mysql_source)


def test_a_dump_whose_stable_row_differs_from_live_fails_that_checksum(
        tmp_path: Path, mysql_variant: Any, live_env: str) -> None:
    dump = mysql_variant("UPDATE orders SET amount = amount + 1 WHERE id = 5")
    directory = dump_only(tmp_path / "backups", dump)
    outcome = mysql_verify(directory, "variant.sql.gz", live={"dsn_env": LIVE_ENV, "stable": STABLE})
    assert set(failed(outcome)) == {"checksum:shop.orders"}


def test_a_dump_without_a_manifest_or_live_fails_the_plan_saying_how(tmp_path: Path,
                                                                      mysql_capture: MysqlCapture) -> None:
    directory = dump_only(tmp_path / "backups", mysql_capture.dump)
    store = {"name": "shop", "kind": "mysql", "rto": "15m", "rpo": "3650d",
             "source": {"type": "file", "path": "shop-*.sql.gz"}}
    inventory = parse_inventory({"stores": [store]}, directory / "inventory.toml")
    planned = plan_store(inventory.stores[0], inventory.base_dir)
    assert isinstance(planned, PlanFailure)
    assert "no manifest beside" in planned.message and "or set `live` to compare with the live database" in \
        planned.message


def test_a_dump_restored_into_an_external_servers_scratch_database_is_judged_as_the_live_one(
        tmp_path: Path, mysql_capture: MysqlCapture, restored_server: MysqlServer, live_env: str) -> None:
    """The external sandbox (a server the harness did not start) restores into a random scratch database; its
    facts are named as the live database's (foreign keys and views name the scratch database there)."""
    directory = dump_only(tmp_path / "backups", mysql_capture.dump)
    sandbox = {"type": "external", "allow_external": True,
               "dsn": f"unix_socket={restored_server.socket} user=root password={restored_server.password} "
               "database=mysql"}
    outcome = mysql_verify(directory, "shop-*.sql.gz", sandbox=sandbox, live={"dsn_env": LIVE_ENV, "stable": STABLE})
    assert outcome.status == "passed", failed(outcome) or outcome.error
    assert outcome.sandbox is not None and str(outcome.sandbox["database"]).startswith("restoreproof_scratch_")
    assert {c.subject for c in outcome.checks if c.check == "schema"} == TABLES | {"database"}
    assert {c.subject for c in outcome.checks if c.check == "checksum" and c.compared} == set(STABLE)
