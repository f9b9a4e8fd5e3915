"""`credentials = "reset"` for an Aurora MySQL cluster, end to end against moto's server: the harness resets the
cluster's master password (ModifyDBCluster, ApplyImmediately), waits until RDS reports it applied, and logs in to
the data plane with it. Here moto's ModifyDBCluster is spied on to do what RDS does: the password it receives
becomes the master user's on the "production" MariaDB that endpoint_override points at, so only the password the
harness sent can log in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.rds.models import RDSBackend

from tests.aws_support import MotoServer, harness_leftovers
from tests.conftest import failed
from tests.mysql_support import PAIRS_FIXED_CAPTURE, MysqlCapture
from verifiers.inventory import parse_inventory
from verifiers.runner import plan_store, run_store
from verifiers.stores.mysql.local_server import MysqlServer

pytestmark = [pytest.mark.mysql, pytest.mark.usefixtures("aws", "no_mysql_leftovers")]
MASTER = "vpcmaster"


@pytest.fixture
def aurora_mysql(aws: MotoServer) -> Iterator[str]:
    rds, name = boto3.client("rds"), "prod-my-vpc-reset"
    rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-mysql", EngineVersion="8.0.mysql_aurora.3.05.2",
                          MasterUsername=MASTER, MasterUserPassword="production-secret")
    rds.create_db_cluster_snapshot(DBClusterIdentifier=name, DBClusterSnapshotIdentifier=f"{name}-manual")
    yield name
    rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=f"{name}-manual")
    rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)


@pytest.fixture
def applied(mysql_source: MysqlServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Each ModifyDBCluster's parameters; a MasterUserPassword becomes MASTER's password on the data plane."""
    seen: list[dict[str, Any]] = []
    modify = RDSBackend.modify_db_cluster

    def apply(self: RDSBackend, kwargs: dict[str, Any]) -> Any:
        seen.append(dict(kwargs))
        if kwargs.get("master_user_password"):
            conn = mysql_source.connect()
            with conn.cursor() as cur:
                cur.execute("CREATE OR REPLACE USER %s@'localhost' IDENTIFIED BY %s",
                            (MASTER, kwargs["master_user_password"]))
                cur.execute(f"GRANT ALL ON *.* TO {MASTER}@'localhost'")
            conn.close()
        return modify(self, kwargs)

    monkeypatch.setattr(RDSBackend, "modify_db_cluster", apply)
    yield seen
    conn = mysql_source.connect()
    with conn.cursor() as cur:
        cur.execute("DROP USER IF EXISTS %s@'localhost'", (MASTER,))
    conn.close()


def test_an_aurora_mysql_cluster_is_reset_and_logged_in_to_with_the_new_password(
        tmp_path: Path, aws: MotoServer, aurora_mysql: str, mysql_capture: MysqlCapture, mysql_source: MysqlServer,
        applied: list[dict[str, Any]]) -> None:
    src = {"type": "rds-snapshot", "cluster": aurora_mysql, "include": "manual", "instance_class": "db.r6g.large",
           "manifest": str(mysql_capture.manifest), "manifest_tolerance": PAIRS_FIXED_CAPTURE, "credentials": "reset",
           "endpoint_override": f"unix_socket={mysql_source.socket} database=shop"}
    store = {"name": "shop", "kind": "mysql", "rto": "15m", "rpo": "30d", "source": src}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    outcome = run_store(plan_store(inventory.stores[0], inventory.base_dir))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    [change] = applied
    assert change["db_cluster_identifier"].startswith("restoreproof-shop-")
    assert change["apply_immediately"] is True and len(change["master_user_password"]) == 32
    record = json.dumps(outcome.as_evidence(), default=str)
    assert change["master_user_password"] not in record
    assert outcome.as_evidence()["sandbox"]["credentials"] == "reset"
    assert harness_leftovers(aws.url) == []
