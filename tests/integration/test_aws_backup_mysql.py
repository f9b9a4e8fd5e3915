"""An Aurora MySQL recovery point of the aws-backup source in a mysql store: its cluster snapshot restored into a
temporary cluster plus instance, measured like a restored dump, both deleted. moto's server is RDS's control plane,
the "production" MariaDB (`endpoint_override`) the data plane; AWS Backup's calls are stubbed with their parameters
asserted (tests/aws_backup_support.py says why)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.aws_backup_support import (  # noqa: F401  # backup_stub: the `backup` fixture
    ACCOUNT,
    Backup,
    backed_up_cluster,
    backup_stub,
    described,
    listed,
    point,
)
from tests.aws_support import REGION, MotoServer, harness_leftovers
from tests.conftest import failed
from tests.mysql_support import PAIRS_FIXED_CAPTURE, MysqlCapture, source_dsn
from verifiers.inventory import parse_inventory
from verifiers.runner import plan_store, run_store
from verifiers.stores.mysql.local_server import MysqlServer

pytestmark = [pytest.mark.mysql, pytest.mark.usefixtures("aws", "no_mysql_leftovers")]


@pytest.fixture
def aurora_mysql(aws: MotoServer) -> Iterator[tuple[str, str]]:
    """A "production" Aurora MySQL cluster and the cluster snapshot AWS Backup took of it: (name, snapshot ARN)."""
    name = f"prod-shop-{secrets.token_hex(4)}"
    with backed_up_cluster(name, engine="aurora-mysql", engine_version="8.0.mysql_aurora.3.05.2", user="admin",
                           password="not-a-real-password") as arn:
        yield name, arn


def test_an_aurora_mysql_point_restores_cluster_and_instance_verifies_and_deletes_both(
        tmp_path: Path, aws: MotoServer, backup: Backup, aurora_mysql: tuple[str, str],
        mysql_capture: MysqlCapture, mysql_source: MysqlServer) -> None:
    name, snapshot_arn = aurora_mysql
    cluster_arn = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{name}"
    found = point(snapshot_arn, cluster_arn, "Aurora")
    listed(backup.stub, [found], ByResourceType="Aurora")
    described(backup.stub, found)
    src = {"type": "aws-backup", "vault": "prod-vault", "resource_type": "Aurora", "resource_name": name,
           "instance_class": "db.r6g.large", "manifest": str(mysql_capture.manifest),
           "manifest_tolerance": PAIRS_FIXED_CAPTURE,
           "endpoint_override": source_dsn(mysql_source)}
    store = {"name": "shop", "kind": "mysql", "rto": "15m", "rpo": "30d", "source": src}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    outcome = run_store(plan_store(inventory.stores[0], inventory.base_dir))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    record = outcome.as_evidence()
    assert record["artifact"]["recovery_point_arn"] == snapshot_arn
    assert (record["sandbox"]["type"], record["sandbox"]["engine"]) == ("aws-aurora", "aurora-mysql")
    assert record["sandbox"]["cluster_arn"].startswith(f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:restoreproof-shop-")
    assert harness_leftovers(aws.url) == []
