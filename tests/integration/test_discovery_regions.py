"""Discovery's review findings against moto's server over HTTP: a store covers its resource in its own region only
(the same name in another region is uncovered), RDS read replicas fold into their source instance (the evidence
says which), only the tags the filters used are recorded, and filters that match nothing are "not compared"."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.aws_support import MotoServer
from verifiers.cli import main
from verifiers.discovery.aws import discover_aws
from verifiers.discovery.settings import AwsDiscovery

PASSWORD = "password123"
DUMP = """
[[stores]]
name = "dump"
kind = "postgres"
rto = "1h"
rpo = "1d"
source = { type = "file", path = "orders.dump" }
"""


@pytest.fixture
def prefix(aws: MotoServer) -> Iterator[str]:
    """`orders` (RDS) and `carts` (DynamoDB) in us-east-1 and eu-west-1 each, named `<prefix>-…`; `orders` in
    us-east-1 carries an owner e-mail tag beside env=prod."""
    prefix = f"reg{secrets.token_hex(3)}"
    for region in ("us-east-1", "eu-west-1"):
        boto3.client("rds", region_name=region).create_db_instance(
            DBInstanceIdentifier=f"{prefix}-orders", DBInstanceClass="db.t3.micro", Engine="postgres",
            MasterUsername="admin", MasterUserPassword=PASSWORD, AllocatedStorage=20,
            Tags=[{"Key": "env", "Value": "prod"}, {"Key": "owner-email", "Value": "jane@example.com"}])
        boto3.client("dynamodb", region_name=region).create_table(
            TableName=f"{prefix}-carts", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            Tags=[{"Key": "env", "Value": "prod"}, {"Key": "ticket", "Value": "https://jira.example/OPS-1"}])
    yield prefix
    for region in ("eu-west-1", "us-east-1"):  # the cross-region replica promoted before its source goes
        rds = boto3.client("rds", region_name=region)
        mine = [i for i in rds.describe_db_instances()["DBInstances"] if i["DBInstanceIdentifier"].startswith(prefix)]
        for instance in mine:
            if "ReadReplicaSourceDBInstanceIdentifier" in instance:
                rds.promote_read_replica(DBInstanceIdentifier=instance["DBInstanceIdentifier"])
        for instance in mine:
            rds.delete_db_instance(DBInstanceIdentifier=instance["DBInstanceIdentifier"], SkipFinalSnapshot=True)
        boto3.client("dynamodb", region_name=region).delete_table(TableName=f"{prefix}-carts")


def _inventory(tmp_path: Path, prefix: str, stores: str, names: str = "") -> Path:
    path = tmp_path / "inventory.toml"
    path.write_text(f"""{stores}
[discovery.aws]
regions = ["us-east-1", "eu-west-1"]
services = ["rds", "dynamodb"]
names = ["{names or prefix + '-*'}"]
tags = {{ env = "prod" }}
""")
    return path


def _discover(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["inventory", "discover", "--inventory", str(path), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_store_covers_its_own_region_only(prefix: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The reviewer's case: `orders` in two regions, one store restoring the eu-west-1 one; `carts` in two regions,
    one store without `region` (the AWS config chain's: us-east-1, as its restore would use)."""
    stores = f"""
[[stores]]
name = "orders"
kind = "postgres"
rto = "1h"
rpo = "1d"
source = {{ type = "rds-snapshot", instance = "{prefix}-orders", region = "eu-west-1" }}

[[stores]]
name = "carts"
kind = "dynamodb"
rto = "1h"
rpo = "1d"
source = {{ type = "dynamodb-backup", table = "{prefix}-carts", manifest = "m.json" }}
"""
    code, report = _discover(_inventory(tmp_path, prefix, stores), capsys)
    assert code == 1 and report["complete"] is False
    assert sorted((r["ref"], r["region"], r["stores"]) for r in report["covered"]) == [
        (f"dynamodb:{prefix}-carts", "us-east-1", ["carts"]), (f"rds:{prefix}-orders", "eu-west-1", ["orders"])]
    assert sorted((r["ref"], r["region"]) for r in report["uncovered"]) == [
        (f"dynamodb:{prefix}-carts", "eu-west-1"), (f"rds:{prefix}-orders", "us-east-1")]
    # a user-written `covers` by ARN glob pins a region; by `service:name` it matches the name in every region
    pinned = stores + f"""
[[stores]]
name = "dump"
kind = "postgres"
rto = "1h"
rpo = "1d"
source = {{ type = "file", path = "orders.dump" }}
covers = ["arn:aws:rds:us-east-1:*:db:{prefix}-orders", "dynamodb:{prefix}-carts"]
"""
    code, report = _discover(_inventory(tmp_path, prefix, pinned), capsys)
    assert code == 0 and report["complete"] is True
    assert sorted((r["ref"], r["region"], r["stores"]) for r in report["covered"]) == [
        (f"dynamodb:{prefix}-carts", "eu-west-1", ["dump"]), (f"dynamodb:{prefix}-carts", "us-east-1",
                                                              ["carts", "dump"]),
        (f"rds:{prefix}-orders", "eu-west-1", ["orders"]), (f"rds:{prefix}-orders", "us-east-1", ["dump"])]


def test_only_the_tags_the_filters_used_are_recorded(prefix: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    found = discover_aws(AwsDiscovery(regions=["us-east-1", "eu-west-1"], services=["rds", "dynamodb"],
                                      names=[f"{prefix}-*"], tags={"env": "prod"}))
    assert len(found.resources) == 4 and all(r.tags == {"env": "prod"} for r in found.resources)
    untagged = discover_aws(AwsDiscovery(regions=["us-east-1"], services=["rds"], names=[f"{prefix}-*"]))
    assert [r.tags for r in untagged.resources] == [{}]  # no tag filter: no tag recorded (RDS returns them all)
    assert main(["inventory", "discover", "--inventory", str(_inventory(tmp_path, prefix, DUMP)), "--json"]) == 1
    out = capsys.readouterr().out  # the same block as evidence.json's coverage
    assert len(json.loads(out)["uncovered"]) == 4
    assert "jane@example.com" not in out and "owner-email" not in out and "jira.example" not in out
    assert out.count('"env": "prod"') == 4


def test_read_replicas_fold_into_their_discovered_source(prefix: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    east = boto3.client("rds", region_name="us-east-1")
    source_arn = east.describe_db_instances(DBInstanceIdentifier=f"{prefix}-orders")["DBInstances"][0]["DBInstanceArn"]
    east.create_db_instance_read_replica(DBInstanceIdentifier=f"{prefix}-orders-ro",
                                         SourceDBInstanceIdentifier=f"{prefix}-orders",
                                         Tags=[{"Key": "env", "Value": "prod"}])
    west = boto3.client("rds", region_name="eu-west-1")
    west.create_db_instance_read_replica(DBInstanceIdentifier=f"{prefix}-orders-dr",
                                         SourceDBInstanceIdentifier=source_arn, SourceRegion="us-east-1",
                                         Tags=[{"Key": "env", "Value": "prod"}])
    ro_arn, dr_arn = (client.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["DBInstanceArn"]
                      for client, name in ((east, f"{prefix}-orders-ro"), (west, f"{prefix}-orders-dr")))
    stores = f"""
[[stores]]
name = "orders"
kind = "postgres"
rto = "1h"
rpo = "1d"
source = {{ type = "rds-snapshot", instance = "{prefix}-orders", region = "us-east-1" }}

[[discovery.ignore]]
match = "arn:aws:rds:eu-west-1:*:db:{prefix}-orders"
reason = "the eu-west-1 orders: a test of this fixture, not of replicas"
"""
    code, report = _discover(_inventory(tmp_path, prefix, stores, names=f"{prefix}-orders*"), capsys)
    assert code == 0, report
    (covered,) = report["covered"]
    assert (covered["id"], covered["stores"], covered["replicas"]) == (source_arn, ["orders"], sorted([ro_arn, dr_arn]))
    assert report["uncovered"] == [] and report["counts"]["discovered"] == 2
    assert main(["inventory", "discover", "--inventory", str(tmp_path / "inventory.toml")]) == 0
    out = capsys.readouterr().out
    assert f"  {dr_arn} -> rds:{prefix}-orders (us-east-1)" in out and f"  {ro_arn} -> rds:{prefix}-orders" in out
    # the source left out (by name): each replica stands alone, compared by itself, and is uncovered
    code, report = _discover(_inventory(tmp_path, prefix, stores.split("[[discovery.ignore]]")[0],
                                        names=f"{prefix}-orders-*"), capsys)
    assert code == 1
    assert sorted(r["id"] for r in report["uncovered"]) == sorted([ro_arn, dr_arn])
    assert all("replicas" not in r for r in report["uncovered"])


def test_filters_that_match_nothing_are_not_compared(prefix: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = _inventory(tmp_path, prefix, DUMP, names=f"{prefix}-typo-*")
    assert main(["inventory", "discover", "--inventory", str(path)]) == 1
    assert capsys.readouterr().out.strip().splitlines()[-1] == (
        "inventory NOT COMPARED: discovery found no production store; check [discovery] regions/names/tags")
