"""Cloud SQL for MySQL backups: the same flow as tests/integration/test_gcp_cloudsql.py (the contract-checked
fake of the Admin API as control plane), the "production" MariaDB reached through `endpoint_override` as the data
plane, the manifest the one `capture mysql` wrote. The harness's password is set on root@% and never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures import mysql_demo
from tests.cloudsql_support import TEMPORARY_PUBLIC_IP, SqlAdminServer, sqladmin  # noqa: F401 - the fixture
from tests.conftest import failed
from tests.mysql_support import PAIRS_FIXED_CAPTURE, MysqlCapture, source_dsn
from verifiers.inventory import parse_inventory
from verifiers.inventory_cloud import CloudSqlBackupSource
from verifiers.runner import PlanFailure, StoreOutcome, plan_store, run_store
from verifiers.sandboxes.cloudsql import Login
from verifiers.stores.mysql.cloudsql import data_plane
from verifiers.stores.mysql.local_server import MysqlServer
from verifiers.stores.mysql.settings import MysqlStore

PROJECT, SOURCE = "acme-prod", "shop-db"
TABLES = {f"shop.{t}" for t in mysql_demo.COUNTS}


def plan_for(tmp_path: Path, capture: MysqlCapture, **source: object) -> StoreOutcome | PlanFailure:
    src: dict[str, object] = {"type": "cloudsql-backup", "project": PROJECT, "instance": SOURCE,
                              "manifest": str(capture.manifest), "manifest_tolerance": PAIRS_FIXED_CAPTURE,
                              "network": "projects/acme-prod/global/networks/ci",
                              **source}
    store = {"name": "shop", "kind": "mysql", "rto": "15m", "rpo": "30d", "source": src}
    loaded = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    plan = plan_store(loaded.stores[0], loaded.base_dir)
    return plan if isinstance(plan, PlanFailure) else run_store(plan)


@pytest.fixture
def production(sqladmin: SqlAdminServer) -> SqlAdminServer:  # noqa: F811 - the fixture imported above
    sqladmin.fake.add_instance(SOURCE, version="MYSQL_8_0", tier="db-n1-standard-2", edition="")
    sqladmin.fake.add_backup_run(SOURCE, "2001", started="2026-12-01T03:00:00.000Z")
    return sqladmin


@pytest.mark.mysql
@pytest.mark.usefixtures("no_mysql_leftovers")
def test_a_mysql_backup_is_restored_on_a_private_ip_verified_and_deleted(
        tmp_path: Path, production: SqlAdminServer, mysql_capture: MysqlCapture, mysql_source: MysqlServer) -> None:
    outcome = plan_for(tmp_path, mysql_capture, endpoint_override=source_dsn(mysql_source))
    assert isinstance(outcome, StoreOutcome)
    assert outcome.status == "passed", failed(outcome) or outcome.error
    assert {c.subject for c in outcome.checks if c.check == "checksum"} == TABLES
    fake = production.fake
    (insert,) = fake.called("sql.instances.insert")
    body = insert.body or {}
    assert body["databaseVersion"] == "MYSQL_8_0" and "edition" not in body["settings"]
    assert body["settings"]["ipConfiguration"] == {
        "sslMode": "ENCRYPTED_ONLY", "ipv4Enabled": False, "privateNetwork": "projects/acme-prod/global/networks/ci"}
    (update,) = fake.called("sql.users.update")
    assert update.params == {"project": PROJECT, "instance": body["name"], "name": "root", "host": "%"}
    password = fake.users[(body["name"], "root")]
    evidence = json.dumps(outcome.as_evidence(), default=str)
    assert password not in evidence and mysql_source.password not in evidence
    assert "private (projects/acme-prod/global/networks/ci)" in evidence
    assert [n for n in fake.instances if n != SOURCE] == []


def test_the_mysql_login_is_root_with_the_harness_password_over_tls() -> None:
    store = MysqlStore.model_validate({"name": "shop", "kind": "mysql", "rto": "15m", "rpo": "1d", "source": {
        "type": "cloudsql-backup", "project": PROJECT, "instance": SOURCE, "authorized_networks": ["192.0.2.0/24"]}})
    assert isinstance(store.source, CloudSqlBackupSource)
    target = data_plane(Login(TEMPORARY_PUBLIC_IP, 3306, "root", "harness-secret"), store, store.source, "shop")
    assert (target.host, target.port, target.user, target.password, target.database) == (
        TEMPORARY_PUBLIC_IP, 3306, "root", "harness-secret", "shop")
    assert "harness-secret" not in target.redacted()


@pytest.mark.mysql
def test_a_postgres_backup_for_a_mysql_store_names_the_kind(
        tmp_path: Path, sqladmin: SqlAdminServer, mysql_capture: MysqlCapture) -> None:  # noqa: F811
    sqladmin.fake.add_instance(SOURCE, version="POSTGRES_15")
    sqladmin.fake.add_backup_run(SOURCE, "1")
    failure = plan_for(tmp_path, mysql_capture)
    assert isinstance(failure, PlanFailure)
    assert "is POSTGRES_15; a mysql store restores MYSQL_* backups only" in failure.message
    assert 'set kind = "postgres"' in failure.message
