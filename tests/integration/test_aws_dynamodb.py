"""The dynamodb store kind against moto's server: the newest backup is restored into a tagged temporary table,
judged by item count, checksum and key schema, and the table is deleted on every path."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.aws_support import MotoServer, harness_leftovers
from tests.conftest import failed
from verifiers.inventory import parse_inventory
from verifiers.runner import PlanFailure, StoreOutcome, plan_store, run_store
from verifiers.stores.dynamodb.manifest import capture_table, save_manifest


@pytest.fixture
def orders(aws: MotoServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A "production" table with varied attribute types (sets, maps, lists, binary, decimals) and a GSI."""
    name = "orders-" + request.node.name.replace("_", "-")[5:40].strip("-")
    table = boto3.resource("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"},
                              {"AttributeName": "status", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-status", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}]}])
    with table.batch_writer() as batch:
        for i in range(60):
            item: dict[str, Any] = {"pk": f"account#{i % 7}", "sk": i, "status": ("open", "paid")[i % 2],
                                    "amount": Decimal(f"{i}.50"), "tags": {"a", "b", f"t{i}"},
                                    "lines": [{"sku": f"s{i}", "qty": 2}], "blob": bytes([i, 255 - i])}
            batch.put_item(Item=item)
    yield name
    client = boto3.client("dynamodb")
    for backup in client.list_backups(TableName=name)["BackupSummaries"]:
        client.delete_backup(BackupArn=backup["BackupArn"])
    client.delete_table(TableName=name)


def capture_and_back_up(table: str, tmp_path: Path) -> tuple[Path, str]:
    client = boto3.client("dynamodb")
    manifest = tmp_path / f"{table}.manifest.json"
    save_manifest(capture_table(client, table), manifest)
    arn = client.create_backup(TableName=table, BackupName=f"{table}-nightly")["BackupDetails"]["BackupArn"]
    return manifest, arn


def verify_table(tmp_path: Path, table: str, manifest: Path, **source: object) -> StoreOutcome:
    store = {"name": "orders", "kind": "dynamodb", "rto": "15m", "rpo": "1d",
             "source": {"type": "dynamodb-backup", "table": table, "manifest": manifest.name, **source}}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    return run_store(plan_store(inventory.stores[0], inventory.base_dir))


def test_backup_restores_into_a_temporary_table_and_passes(tmp_path: Path, aws: MotoServer, orders: str) -> None:
    manifest, arn = capture_and_back_up(orders, tmp_path)
    outcome = verify_table(tmp_path, orders, manifest)
    assert outcome.status == "passed", failed(outcome) or outcome.error
    record = outcome.as_evidence()
    assert record["artifact"]["path"] == arn
    assert record["artifact"]["backup_arn"] == arn
    assert record["sandbox"]["type"] == "aws-dynamodb"
    assert record["sandbox"]["table_arn"].startswith("arn:aws:dynamodb:us-east-1:123456789012:table/restoreproof-")
    counts = {c.subject: c.observed for c in outcome.checks if c.check == "row_count"}
    assert counts == {orders: 60}
    assert set(record["rto"]["phases"]) == {"fetch", "provision", "restore", "verify", "teardown"}
    assert harness_leftovers(aws.url) == []


def test_a_changed_item_fails_the_checksum_only(tmp_path: Path, aws: MotoServer, orders: str) -> None:
    client = boto3.client("dynamodb")
    manifest = tmp_path / "orders.manifest.json"
    save_manifest(capture_table(client, orders), manifest)
    client.update_item(TableName=orders, Key={"pk": {"S": "account#3"}, "sk": {"N": "10"}},
                       UpdateExpression="SET amount = :a", ExpressionAttributeValues={":a": {"N": "10.51"}})
    client.create_backup(TableName=orders, BackupName="after-the-change")
    outcome = verify_table(tmp_path, orders, manifest)
    assert set(failed(outcome)) == {f"checksum:{orders}"}
    assert harness_leftovers(aws.url) == []


def test_a_missing_backup_arn_fails_the_plan(tmp_path: Path, orders: str) -> None:
    manifest, arn = capture_and_back_up(orders, tmp_path)
    missing = arn.rsplit("/", 1)[0] + "/01234567890123-deadbeef"
    plan = plan_store(parse_inventory({"stores": [{
        "name": "orders", "kind": "dynamodb", "rto": "15m", "rpo": "1d",
        "source": {"type": "dynamodb-backup", "table": orders, "backup": missing, "manifest": str(manifest)}}]},
        tmp_path / "inventory.toml").stores[0], tmp_path)
    assert isinstance(plan, PlanFailure)
    assert plan.message.startswith(f"store orders: DynamoDB backup {missing} of table {orders} does not exist")


def test_a_table_without_backups_fails_the_plan(tmp_path: Path, orders: str) -> None:
    manifest = tmp_path / "m.json"
    save_manifest(capture_table(boto3.client("dynamodb"), orders), manifest)
    outcome = verify_table(tmp_path, orders, manifest)
    assert outcome.status == "error"
    assert outcome.error is not None
    assert f"table {orders} has no available user/aws-backup backup" in outcome.error["message"]


def test_capture_cli_takes_manifest_and_backup_together(tmp_path: Path, aws: MotoServer, orders: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from verifiers.cli import main

    out = tmp_path / "orders.manifest.json"
    assert main(["capture", "dynamodb", "--table", orders, "--out", str(out), "--backup-name", "nightly"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"manifest: {out}\nbackup:   arn:aws:dynamodb:us-east-1:123456789012:table/{orders}/")
    outcome = verify_table(tmp_path, orders, out)
    assert outcome.status == "passed", failed(outcome) or outcome.error
    assert harness_leftovers(aws.url) == []
