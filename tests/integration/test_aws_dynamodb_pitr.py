"""DynamoDB point-in-time recovery (backup = "pitr") against moto's server: the table restored into a tagged
temporary table, judged against the manifest, and deleted on every path.

moto (5.x) implements RestoreTableToPointInTime but copies the source table's items as they are when the call is
made, ignoring RestoreDateTime; so a change made after the manifest shows up as drift here, and the restore point
sent to AWS is checked separately with botocore's Stubber."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

from tests.aws_support import MotoServer, harness_leftovers
from tests.conftest import failed
from verifiers.errors import InventoryError
from verifiers.inventory import parse_inventory
from verifiers.runner import PlanFailure, StoreOutcome, plan_store, run_store
from verifiers.sources.dynamodb_backup import Backup
from verifiers.stores.base import StorePlan
from verifiers.stores.dynamodb.manifest import capture_table, save_manifest
from verifiers.stores.dynamodb.sandbox import restored_table


@pytest.fixture
def ledger(aws: MotoServer, request: pytest.FixtureRequest) -> Iterator[str]:
    name = "ledger-" + request.node.name.replace("_", "-")[5:40].strip("-")
    client = boto3.client("dynamodb")
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    for i in range(20):
        client.put_item(TableName=name, Item={"pk": {"S": f"entry#{i}"}, "amount": {"N": str(i * 3)}})
    yield name
    client.delete_table(TableName=name)


def enable_pitr(table: str) -> None:
    boto3.client("dynamodb").update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})


def capture(table: str, tmp_path: Path) -> Path:
    manifest = tmp_path / f"{table}.manifest.json"
    save_manifest(capture_table(boto3.client("dynamodb"), table), manifest)
    return manifest


def plan(tmp_path: Path, table: str, manifest: Path, **source: object) -> StorePlan | PlanFailure:
    store = {"name": "ledger", "kind": "dynamodb", "rto": "15m", "rpo": "1d",
             "source": {"type": "dynamodb-backup", "table": table, "backup": "pitr", "manifest": manifest.name,
                        **source}}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    return plan_store(inventory.stores[0], inventory.base_dir)


def verify(tmp_path: Path, table: str, manifest: Path, **source: object) -> StoreOutcome:
    planned = plan(tmp_path, table, manifest, **source)
    assert isinstance(planned, StorePlan), planned
    return run_store(planned)


def test_pitr_restores_the_latest_point_into_a_temporary_table(tmp_path: Path, aws: MotoServer,
                                                               ledger: str) -> None:
    enable_pitr(ledger)
    outcome = verify(tmp_path, ledger, capture(ledger, tmp_path))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    record = outcome.as_evidence()
    assert record["artifact"]["backup_type"] == "PITR"
    assert record["artifact"]["restore_to"] == "latest"
    assert record["artifact"]["table_arn"].endswith(f":table/{ledger}")
    assert record["sandbox"]["table_arn"].startswith("arn:aws:dynamodb:us-east-1:123456789012:table/restoreproof-")
    assert set(record["rto"]["phases"]) >= {"provision", "restore", "verify", "teardown"}
    assert harness_leftovers(aws.url) == []


def test_drift_fails_the_checksum_and_the_table_is_still_deleted(tmp_path: Path, aws: MotoServer,
                                                                 ledger: str) -> None:
    enable_pitr(ledger)
    manifest = capture(ledger, tmp_path)
    boto3.client("dynamodb").put_item(TableName=ledger, Item={"pk": {"S": "entry#3"}, "amount": {"N": "10"}})
    outcome = verify(tmp_path, ledger, manifest)
    assert outcome.status == "failed"
    assert set(failed(outcome)) == {"checksum:" + ledger}
    assert harness_leftovers(aws.url) == []


def test_pitr_not_enabled_or_outside_the_window_fails_the_plan(tmp_path: Path, ledger: str) -> None:
    manifest = capture(ledger, tmp_path)
    disabled = plan(tmp_path, ledger, manifest)
    assert isinstance(disabled, PlanFailure)
    assert disabled.message.startswith(f"store ledger: point-in-time recovery is not enabled on DynamoDB table "
                                       f"{ledger} — enable it (`aws dynamodb update-continuous-backups")
    enable_pitr(ledger)
    too_old = plan(tmp_path, ledger, manifest, restore_time=datetime.now(UTC) - timedelta(days=40))
    assert isinstance(too_old, PlanFailure)
    assert "is outside the restorable window of table " + ledger in too_old.message
    missing = plan(tmp_path, "ledger-no-such-table", manifest)
    assert isinstance(missing, PlanFailure)
    assert "DynamoDB table ledger-no-such-table does not exist" in missing.message


def test_restore_time_needs_backup_pitr(tmp_path: Path) -> None:
    store = {"name": "ledger", "kind": "dynamodb", "rto": "15m", "rpo": "1d",
             "source": {"type": "dynamodb-backup", "table": "ledger", "manifest": "m.json",
                        "restore_time": "2026-11-01T00:00:00Z"}}
    with pytest.raises(InventoryError, match="restore_time applies only to backup = \"pitr\""):
        parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")


def test_the_recorded_restore_point_is_the_one_requested() -> None:
    """moto ignores RestoreDateTime, so the request itself is checked: the restore point recorded in evidence
    is the one sent, with the temporary table's name, and the table is deleted after."""
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    when = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    point = Backup(arn="arn:aws:dynamodb:us-east-1:123456789012:table/ledger", name="ledger@20261120T030000Z",
                   table="ledger", backup_type="PITR", status="ENABLED", created=when.isoformat(), bytes=0,
                   region="us-east-1", endpoint_url="", pitr=when.isoformat())
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/restoreproof-ledger-x"
    with Stubber(client) as stub:
        stub.add_response("restore_table_to_point_in_time", {"TableDescription": {"TableArn": arn}},
                          {"SourceTableName": "ledger", "TargetTableName": ANY, "RestoreDateTime": when,
                           "BillingModeOverride": "PAY_PER_REQUEST"})
        stub.add_response("tag_resource", {}, {"ResourceArn": arn, "Tags": ANY})
        stub.add_response("delete_table", {}, {"TableName": ANY})
        with restored_table(client, point, "ledger") as table:
            assert table.name.startswith("restoreproof-ledger-")
        stub.assert_no_pending_responses()
