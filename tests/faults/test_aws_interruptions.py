"""Ctrl-C (SIGINT) and SIGTERM while an AWS sandbox is being restored, in a real run (`pytest suites/<suite>` /
`restoreproof verify` in a subprocess) against moto's server: the temporary RDS instance or DynamoDB table is
deleted on the way out (asserted by listing moto's instances and tables), and the evidence records the store
as `error` in `restore`.

moto's server runs in this test process, so its backend is patched here to keep the restored sandbox
`creating` (as a real restore is, for minutes): the run sits in the restore phase's waiter for sure."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.dynamodb.models.table import RestoredTable
from moto.rds.models import RDSBackend

from tests.aws_support import MotoServer, harness_leftovers
from tests.conftest import SOURCE_DB, Capture
from tests.faults.test_interruptions import INTERRUPTED, Scenario, start, wait_until
from verifiers.inventory import parse_inventory
from verifiers.runner import plan_store, run_store
from verifiers.sandboxes.process import group_alive
from verifiers.stores.dynamodb.manifest import capture_table, save_manifest
from verifiers.stores.postgres.local_server import PostgresServer

PASSWORD = "not-a-real-password"


def toml_store(name: str, kind: str, source: dict[str, str]) -> str:
    lines = [f'[[stores]]\nname = "{name}"\nkind = "{kind}"\nrto = "15m"\nrpo = "3650d"\n\n[stores.source]']
    lines += [f"{key} = {json.dumps(value)}" for key, value in source.items()]  # a JSON string is a TOML string
    return "\n".join(lines) + "\n"


@pytest.fixture
def rds_restoring(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """A production instance with a manual snapshot; instances restored from it stay `creating`. The event is
    set once the harness polls its restored instance (it is then in the restore phase's waiter)."""
    rds = boto3.client("rds")
    name = "prod-interrupted"
    rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", EngineVersion="16.3",
                           DBInstanceClass="db.m6g.large", MasterUsername="app", MasterUserPassword=PASSWORD,
                           AllocatedStorage=100)
    rds.create_db_snapshot(DBInstanceIdentifier=name, DBSnapshotIdentifier=f"{name}-manual-1")
    polled = threading.Event()
    restore, describe = RDSBackend.restore_db_instance_from_db_snapshot, RDSBackend.describe_db_instances

    def stays_creating(self: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]) -> Any:
        database = restore(self, from_snapshot_id, overrides)
        database.status = "creating"
        return database

    def watched(self: RDSBackend, db_instance_identifier: str | None = None, filters: Any = None) -> Any:
        if (db_instance_identifier or "").startswith("restoreproof-"):
            polled.set()
        return describe(self, db_instance_identifier, filters)

    monkeypatch.setattr(RDSBackend, "restore_db_instance_from_db_snapshot", stays_creating)
    monkeypatch.setattr(RDSBackend, "describe_db_instances", watched)
    yield polled
    rds.delete_db_snapshot(DBSnapshotIdentifier=f"{name}-manual-1")
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)


@pytest.fixture
def dynamodb_restoring(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """A production table with a backup; tables restored from it stay `CREATING`. The event is set once the
    harness's waiter describes its restored table."""
    name = "orders-interrupted"
    table = boto3.resource("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"}], KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    with table.batch_writer() as batch:
        for i in range(5):
            batch.put_item(Item={"pk": f"order#{i}", "amount": Decimal(i)})
    polled = threading.Event()
    describe = RestoredTable.describe

    def stays_creating(self: RestoredTable, base_key: str = "TableDescription") -> dict[str, Any]:
        described = describe(self, base_key)
        described[base_key]["TableStatus"] = "CREATING"
        if base_key == "Table":  # DescribeTable (the restore request's own reply is a TableDescription)
            polled.set()
        return described

    monkeypatch.setattr(RestoredTable, "describe", stays_creating)
    yield polled
    client = boto3.client("dynamodb")
    for backup in client.list_backups(TableName=name)["BackupSummaries"]:
        client.delete_backup(BackupArn=backup["BackupArn"])
    client.delete_table(TableName=name)


def rds_scenario(tmp_path: Path, request: pytest.FixtureRequest) -> Scenario:
    polled: threading.Event = request.getfixturevalue("rds_restoring")
    capture: Capture = request.getfixturevalue("demo_capture")
    server: PostgresServer = request.getfixturevalue("source_server")
    # the demo capture is of the session, the snapshot of this test: the manifest records the snapshot's id
    manifest = tmp_path / "saas.manifest.json"
    manifest.write_text(json.dumps({**json.loads(capture.manifest.read_text()),
                                    "snapshot_id": "prod-interrupted-manual-1"}))
    source = {"type": "rds-snapshot", "instance": "prod-interrupted", "include": "manual",
              "instance_class": "db.t4g.medium", "manifest": str(manifest),
              "endpoint_override": server.conninfo(SOURCE_DB)}
    return Scenario("rds", "saas", toml_store("saas", "postgres", source), polled.is_set)


def dynamodb_scenario(tmp_path: Path, request: pytest.FixtureRequest) -> Scenario:
    polled: threading.Event = request.getfixturevalue("dynamodb_restoring")
    client = boto3.client("dynamodb")
    save_manifest(capture_table(client, "orders-interrupted"), tmp_path / "orders.manifest.json")
    client.create_backup(TableName="orders-interrupted", BackupName="orders-nightly")
    source = {"type": "dynamodb-backup", "table": "orders-interrupted", "manifest": "orders.manifest.json"}
    return Scenario("dynamodb", "orders", toml_store("orders", "dynamodb", source), polled.is_set)


# one signal and one entry point each: both unwind through the same handler (tests/faults/test_interruptions.py
# tries every pairing on local sandboxes); what is particular here is the AWS sandbox's deletion
@pytest.mark.parametrize(("where", "sig", "cli"), [
    ("rds", signal.SIGTERM, False),
    ("dynamodb", signal.SIGINT, True),
])
def test_signal_mid_restore_deletes_the_aws_sandbox(tmp_path: Path, aws: MotoServer, request: pytest.FixtureRequest,
                                                    where: str, sig: signal.Signals, cli: bool) -> None:
    scenario = (rds_scenario if where == "rds" else dynamodb_scenario)(tmp_path, request)
    (tmp_path / "inventory.toml").write_text(scenario.inventory)
    assert harness_leftovers(aws.url) == []
    proc = start(tmp_path, scenario, cli=cli)  # inherits the `aws` fixture's environment: moto's endpoint
    try:
        wait_until(scenario.arrived, proc, tmp_path)
        made = [m for m in harness_leftovers(aws.url) if m.startswith(("instance restoreproof-", "table "))]
        assert len(made) == 1, made  # the sandbox exists (moto adds an automated snapshot to an instance)
        os.killpg(proc.pid, sig)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    output = (tmp_path / "output.txt").read_text()
    assert proc.returncode == (130 if cli else 2), output[-3000:]
    assert "Traceback" not in output
    assert not group_alive(proc.pid), "a process of the harness's process group outlived it"
    assert harness_leftovers(aws.url) == [], "the AWS sandbox outlived the interrupted run"
    (evidence,) = (tmp_path / "reports").glob("*/*/evidence.json")
    (store,) = json.loads(evidence.read_text())["stores"]
    assert store["name"] == scenario.store and store["status"] == "error"
    assert store["error"] == {"phase": "restore", "message": INTERRUPTED}


def test_a_dynamodb_restore_exceeding_its_timeout_is_an_error_and_deletes_the_table(
        tmp_path: Path, aws: MotoServer, dynamodb_restoring: threading.Event) -> None:
    """In process (the RDS one: tests/integration/test_aws_rds_snapshot.py): the table never becomes ACTIVE."""
    client = boto3.client("dynamodb")
    save_manifest(capture_table(client, "orders-interrupted"), tmp_path / "orders.manifest.json")
    client.create_backup(TableName="orders-interrupted", BackupName="orders-nightly")
    inventory = parse_inventory({"stores": [{
        "name": "orders", "kind": "dynamodb", "rto": "15m", "rpo": "1d", "restore_timeout": "1s",
        "source": {"type": "dynamodb-backup", "table": "orders-interrupted", "manifest": "orders.manifest.json"}}]},
        tmp_path / "inventory.toml")
    outcome = run_store(plan_store(inventory.stores[0], inventory.base_dir))
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error["phase"] == "restore"
    assert outcome.error["message"].startswith("store orders: DynamoDB did not finish restoring backup orders-nightly "
                                               "within restore_timeout (1s)")
    assert "raise restore_timeout for store orders in the inventory" in outcome.error["message"]
    restore = next(c for c in outcome.checks if c.check == "restore")
    assert not restore.passed and restore.observed == "timed out"
    assert "was not ACTIVE within restore_timeout (1s); last status 'CREATING'" in restore.message
    assert "teardown" in outcome.timer.seconds
    assert harness_leftovers(aws.url) == []
