"""The dynamodb store kind against moto's server: the newest backup is restored into a tagged temporary table,
judged by item count, checksum and key schema, and the table is deleted on every path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest

from tests.aws_support import MotoServer, harness_leftovers
from tests.conftest import failed
from verifiers.checks import CheckResult
from verifiers.evidence import SCHEMA_PATH
from verifiers.inventory import parse_inventory
from verifiers.runner import PlanFailure, StoreOutcome, plan_store, run_store
from verifiers.stores.dynamodb import self_test as dynamodb_self_test
from verifiers.stores.dynamodb.manifest import capture_table, item_key_hash, measure_table, save_manifest
from verifiers.stores.hash_ranges import HashSegments


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


def changed_segment_outcome(tmp_path: Path, orders: str, change: str) -> tuple[StoreOutcome, int, HashSegments]:
    """Capture in 16 segments (about 4 items each), change or delete one item, back up, verify."""
    client = boto3.client("dynamodb")
    manifest_path = tmp_path / "orders.manifest.json"
    manifest = capture_table(client, orders, segment_items=4)
    save_manifest(manifest, manifest_path)
    key = {"pk": {"S": "account#3"}, "sk": {"N": "10"}}
    if change == "change":
        client.update_item(TableName=orders, Key=key, UpdateExpression="SET amount = :a",
                           ExpressionAttributeValues={":a": {"N": "10.51"}})
    else:
        client.delete_item(TableName=orders, Key=key)
    client.create_backup(TableName=orders, BackupName=f"after-the-{change}")
    assert manifest.facts.segments is not None and manifest.facts.segments.bits == 4
    return verify_table(tmp_path, orders, manifest_path), item_key_hash(key, ["pk", "sk"]), manifest.facts.segments


@pytest.mark.parametrize("change", ["change", "delete"])
def test_a_differing_item_is_narrowed_to_its_key_hash_range_and_no_key_is_shown(
        tmp_path: Path, aws: MotoServer, orders: str, change: str) -> None:
    outcome, hashed, segments = changed_segment_outcome(tmp_path, orders, change)
    expected_failures = {f"checksum:{orders}"} | ({f"row_count:{orders}"} if change == "delete" else set())
    assert set(failed(outcome)) == expected_failures
    low, high = segments.bounds(hashed >> 60)
    assert low <= hashed <= high
    check = next(c for c in outcome.checks if c.check == "checksum")
    assert check.observed["ranges"] == [[f"key-hash 0x{low:016x}", f"0x{high:016x}"]]
    captured = segments.segments[hashed >> 60][0]
    restored = captured - (change == "delete")
    assert check.message.endswith(f"; differs in key-hash 0x{low:016x}..0x{high:016x} "
                                  f"({restored} items restored, {captured} captured)")
    record = outcome.as_evidence()
    store_schema = {"$defs": json.loads(SCHEMA_PATH.read_text())["$defs"], "$ref": "#/$defs/store"}
    jsonschema.Draft202012Validator(store_schema).validate(record)
    assert "account#" not in json.dumps(record) and "account#" not in check.message
    assert harness_leftovers(aws.url) == []


def test_a_manifest_without_segments_still_verifies_and_only_says_the_checksum_differs(
        tmp_path: Path, aws: MotoServer, orders: str) -> None:
    client = boto3.client("dynamodb")
    manifest = tmp_path / "orders.manifest.json"
    save_manifest(capture_table(client, orders), manifest)
    older = json.loads(manifest.read_text())
    del older["facts"]["segments"]  # as written before segments
    manifest.write_text(json.dumps(older))
    client.delete_item(TableName=orders, Key={"pk": {"S": "account#3"}, "sk": {"N": "10"}})
    client.create_backup(TableName=orders, BackupName="after-the-delete")
    outcome = verify_table(tmp_path, orders, manifest)
    assert set(failed(outcome)) == {f"checksum:{orders}", f"row_count:{orders}"}
    check = next(c for c in outcome.checks if c.check == "checksum")
    assert isinstance(check.observed, str) and "differs in" not in check.message
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


def test_the_self_test_proves_the_checks_can_fail_and_puts_the_item_back(tmp_path: Path, aws: MotoServer,
                                                                          orders: str) -> None:
    manifest, _arn = capture_and_back_up(orders, tmp_path)
    store = {"name": "orders", "kind": "dynamodb", "rto": "15m", "rpo": "1d", "self_test": True,
             "source": {"type": "dynamodb-backup", "table": orders, "manifest": manifest.name}}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    outcome = run_store(plan_store(inventory.stores[0], inventory.base_dir))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    proofs = {c.subject: c for c in outcome.checks if c.check == "self_test"}
    assert set(proofs) == {"item removed", "item changed"} and all(c.passed for c in proofs.values())
    assert proofs["item removed"].observed == "detected by row_count, checksum"
    assert proofs["item changed"].observed == "detected by checksum"
    assert "account#" not in str(outcome.as_evidence())  # keys never leave the run
    assert harness_leftovers(aws.url) == []


def test_a_self_test_whose_checks_cannot_fail_fails_and_leaves_the_table_as_it_was(aws: MotoServer,
                                                                                    orders: str) -> None:
    client = boto3.client("dynamodb")
    before = measure_table(client, orders)
    always = [CheckResult("checksum", orders, True, "x", "x", "checksum matches")]
    results = dynamodb_self_test.run(client, orders, always, lambda _facts: always, bits=None)
    assert [c.passed for c in results] == [False, False]
    assert results[0].message.endswith("yet checksum still passed: these checks cannot fail on this store")
    assert measure_table(client, orders) == before  # each change was put back
