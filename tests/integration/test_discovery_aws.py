"""AWS discovery against moto's server over HTTP: resources in two regions, name and tag filters, ignore entries,
cluster members and replication-group nodes folded into their cluster/group, and the comparison with the stores."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from tests.aws_support import MotoServer
from verifiers.cli import main
from verifiers.discovery.aws import discover_aws
from verifiers.discovery.coverage import compare
from verifiers.discovery.settings import AwsDiscovery, IgnoreEntry
from verifiers.inventory import parse_inventory

REGIONS = ("us-east-1", "eu-west-1")


@dataclass(frozen=True)
class Account:
    """Resources made for one test, all named `<prefix>-...` so the shared moto account's others stay out."""

    prefix: str
    url: str


@pytest.fixture
def account(aws: MotoServer) -> Iterator[Account]:
    prefix = f"disc{secrets.token_hex(3)}"
    made: list[tuple[str, str, str]] = []  # (service, region, name) to delete afterwards
    url = aws.url
    for region in REGIONS:
        rds = boto3.client("rds", region_name=region, endpoint_url=url)
        rds.create_db_instance(DBInstanceIdentifier=f"{prefix}-orders-{region}", DBInstanceClass="db.t3.micro",
                               Engine="postgres", MasterUsername="admin", MasterUserPassword="password123",
                               AllocatedStorage=20, Tags=[{"Key": "env", "Value": "prod"}])
        made.append(("rds", region, f"{prefix}-orders-{region}"))
        dynamodb = boto3.client("dynamodb", region_name=region, endpoint_url=url)
        table = dynamodb.create_table(TableName=f"{prefix}-events-{region}", BillingMode="PAY_PER_REQUEST",
                                      AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                      KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        dynamodb.tag_resource(ResourceArn=table["TableDescription"]["TableArn"],
                              Tags=[{"Key": "env", "Value": "prod" if region == "us-east-1" else "staging"}])
        made.append(("dynamodb", region, f"{prefix}-events-{region}"))
    rds = boto3.client("rds", region_name="us-east-1", endpoint_url=url)
    rds.create_db_cluster(DBClusterIdentifier=f"{prefix}-ledger", Engine="aurora-postgresql",
                          MasterUsername="admin", MasterUserPassword="password123",
                          Tags=[{"Key": "env", "Value": "prod"}])
    rds.create_db_instance(DBInstanceIdentifier=f"{prefix}-ledger-1", DBInstanceClass="db.r6g.large",
                           Engine="aurora-postgresql", DBClusterIdentifier=f"{prefix}-ledger")
    made += [("rds-cluster", "us-east-1", f"{prefix}-ledger"), ("rds-member", "us-east-1", f"{prefix}-ledger-1")]
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=url)
    s3.create_bucket(Bucket=f"{prefix}-assets")
    s3.put_bucket_tagging(Bucket=f"{prefix}-assets", Tagging={"TagSet": [{"Key": "env", "Value": "prod"}]})
    s3.create_bucket(Bucket=f"{prefix}-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.create_bucket(Bucket=f"{prefix}-tokyo", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    made += [("s3", "us-east-1", f"{prefix}-{b}") for b in ("assets", "logs", "tokyo")]
    cache = boto3.client("elasticache", region_name="eu-west-1", endpoint_url=url)
    cache.create_replication_group(ReplicationGroupId=f"{prefix}-sessions", ReplicationGroupDescription="sessions",
                                   Engine="redis", CacheNodeType="cache.t3.micro", NumCacheClusters=2,
                                   Tags=[{"Key": "env", "Value": "prod"}])
    made.append(("elasticache", "eu-west-1", f"{prefix}-sessions"))
    yield Account(prefix, url)
    for service, region, name in reversed(made):
        if service == "rds" or service == "rds-member":
            boto3.client("rds", region_name=region, endpoint_url=url).delete_db_instance(
                DBInstanceIdentifier=name, SkipFinalSnapshot=True)
        elif service == "rds-cluster":
            boto3.client("rds", region_name=region, endpoint_url=url).delete_db_cluster(
                DBClusterIdentifier=name, SkipFinalSnapshot=True)
        elif service == "dynamodb":
            boto3.client("dynamodb", region_name=region, endpoint_url=url).delete_table(TableName=name)
        elif service == "s3":
            boto3.client("s3", region_name=region, endpoint_url=url).delete_bucket(Bucket=name)
        else:
            boto3.client("elasticache", region_name=region, endpoint_url=url).delete_replication_group(
                ReplicationGroupId=name)


def test_lists_every_service_in_both_regions(account: Account) -> None:
    found = discover_aws(AwsDiscovery(regions=list(REGIONS), names=[f"{account.prefix}-*"]))
    assert found.unknown == []
    p = account.prefix
    refs = sorted(r.ref for r in found.resources)
    assert refs == sorted([
        f"rds:{p}-orders-us-east-1", f"rds:{p}-orders-eu-west-1", f"rds-cluster:{p}-ledger",
        f"dynamodb:{p}-events-us-east-1", f"dynamodb:{p}-events-eu-west-1",
        f"s3:{p}-assets", f"s3:{p}-logs", f"elasticache:{p}-sessions"])  # not the cluster's member, not Tokyo
    by_ref = {r.ref: r for r in found.resources}
    orders = by_ref[f"rds:{p}-orders-eu-west-1"]
    assert orders.region == "eu-west-1"
    assert orders.id.startswith("arn:aws:rds:eu-west-1:") and orders.id.endswith(f":db:{p}-orders-eu-west-1")
    assert by_ref[f"s3:{p}-logs"].region == "eu-west-1"
    assert by_ref[f"s3:{p}-assets"].id == f"arn:aws:s3:::{p}-assets"
    assert by_ref[f"elasticache:{p}-sessions"].id.startswith("arn:aws:elasticache:eu-west-1:")
    assert by_ref[f"dynamodb:{p}-events-us-east-1"].id.startswith("arn:aws:dynamodb:us-east-1:")


def test_tags_must_all_match_and_names_filter(account: Account) -> None:
    found = discover_aws(AwsDiscovery(regions=list(REGIONS), names=[f"{account.prefix}-*"], tags={"env": "prod"},
                                      services=["dynamodb", "s3", "elasticache"]))
    assert found.unknown == []
    p = account.prefix
    assert sorted(r.ref for r in found.resources) == sorted([
        f"dynamodb:{p}-events-us-east-1", f"s3:{p}-assets", f"elasticache:{p}-sessions"])  # not staging, untagged
    assert all(r.tags == {"env": "prod"} for r in found.resources)
    only_rds = discover_aws(AwsDiscovery(regions=["eu-west-1"], names=[f"{account.prefix}-orders-*"],
                                         services=["rds"]))
    assert [r.ref for r in only_rds.resources] == [f"rds:{p}-orders-eu-west-1"]


def test_the_comparison_with_stores_and_ignore_entries(account: Account) -> None:
    p = account.prefix
    inventory = parse_inventory({"stores": [
        {"name": "orders", "kind": "postgres", "rto": "1h", "rpo": "1d",
         "source": {"type": "rds-snapshot", "instance": f"{p}-orders-us-east-1"}},
        {"name": "ledger", "kind": "postgres", "rto": "1h", "rpo": "1d",
         "source": {"type": "rds-snapshot", "cluster": f"{p}-ledger", "instance_class": "db.r6g.large"}},
        {"name": "events", "kind": "dynamodb", "rto": "1h", "rpo": "1d",
         "source": {"type": "dynamodb-backup", "table": f"{p}-events-us-east-1", "manifest": "m.json"}},
    ]}, Path("inv.toml"))
    found = discover_aws(AwsDiscovery(regions=list(REGIONS), names=[f"{p}-*"]))
    ignore = [IgnoreEntry(match=f"s3:{p}-logs", reason="access logs, rebuilt from the load balancer")]
    coverage = compare(inventory.stores, [], ignore, found)
    assert {c.resource.ref: c.stores for c in coverage.covered} == {
        f"rds:{p}-orders-us-east-1": ("orders",), f"rds-cluster:{p}-ledger": ("ledger",),
        f"dynamodb:{p}-events-us-east-1": ("events",)}
    assert [(i.resource.ref, i.reason) for i in coverage.ignored] == [
        (f"s3:{p}-logs", "access logs, rebuilt from the load balancer")]
    assert sorted(r.ref for r in coverage.uncovered) == sorted([
        f"rds:{p}-orders-eu-west-1", f"dynamodb:{p}-events-eu-west-1", f"s3:{p}-assets",
        f"elasticache:{p}-sessions"])
    assert not coverage.complete


@pytest.fixture
def restricted_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A moto server of its own that checks IAM (INITIAL_NO_AUTH_ACTION_COUNT is read when moto is imported, so in
    another process), one table in us-east-1, and the credentials of a user allowed to list everything but RDS
    instances, ElastiCache and DynamoDB's DescribeTable."""
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "5"}  # the 5 set-up calls below, then every call is checked
    script = ("from moto.server import ThreadedMotoServer\nimport time\n"
              "s = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)\ns.start()\n"
              "print(s.get_host_and_port()[1], flush=True)\ntime.sleep(3600)")
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              env=env, text=True)
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        boto3.client("dynamodb", region_name="us-east-1", endpoint_url=url, aws_access_key_id="setup",
                     aws_secret_access_key="setup").create_table(
            TableName="orders-events", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        iam = boto3.client("iam", region_name="us-east-1", endpoint_url=url, aws_access_key_id="setup",
                           aws_secret_access_key="setup")
        iam.create_user(UserName="discovery")
        allowed = ["rds:DescribeDBClusters", "dynamodb:ListTables", "s3:ListBuckets",
                   "s3:ListAllMyBuckets", "s3:GetBucketLocation"]
        policy = iam.create_policy(PolicyName="discovery", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": allowed, "Resource": "*"}]}))
        iam.attach_user_policy(UserName="discovery", PolicyArn=policy["Policy"]["Arn"])
        key = iam.create_access_key(UserName="discovery")["AccessKey"]
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
        yield url
    finally:
        server.kill()
        server.wait()


def test_a_denied_listing_is_unknown_with_the_missing_permission(restricted_identity: str) -> None:
    found = discover_aws(AwsDiscovery(regions=["us-east-1", "eu-west-1"], endpoint_url=restricted_identity))
    unknown = {(u.service, u.region): u for u in found.unknown}
    assert sorted(unknown) == [("dynamodb", "us-east-1"), ("elasticache", "eu-west-1"), ("elasticache", "us-east-1"),
                               ("rds", "eu-west-1"), ("rds", "us-east-1")]  # never "empty"
    assert unknown["rds", "eu-west-1"].permission == "rds:DescribeDBInstances"
    # DynamoDB (as moto answers it) denies with a bare 403: still a denial, naming the call that needed it; eu-west-1
    # has no table to describe, so its listing is complete (and empty)
    assert unknown["dynamodb", "us-east-1"].permission == "dynamodb:DescribeTable"
    assert unknown["elasticache", "us-east-1"].permission == "elasticache:DescribeReplicationGroups"
    assert unknown["rds", "eu-west-1"].describe().startswith(
        "aws rds in eu-west-1: unknown: permission rds:DescribeDBInstances is missing (AccessDenied: ")
    assert found.resources == []


def _inventory(tmp_path: Path, prefix: str, extra: str = "") -> Path:
    path = tmp_path / "inventory.toml"
    path.write_text(f"""
[[stores]]
name = "orders"
kind = "postgres"
rto = "1h"
rpo = "1d"
owner = "orders-team"
escalation = "#orders-oncall"
data_type = "orders, customer addresses"
estimated_size = "40 GB"
source = {{ type = "rds-snapshot", instance = "{prefix}-orders-us-east-1" }}
covers = ["rds-cluster:{prefix}-ledger"]

[discovery.aws]
regions = ["us-east-1"]
services = ["rds", "s3"]
names = ["{prefix}-*"]

[[declared]]
name = "stripe"
type = "saas"
backup_method = "Stripe keeps it; nightly export to S3"
last_verified = 2026-11-02
owner = "payments"
{extra}""")
    return path


def test_inventory_discover_lists_the_gap_and_fails(account: Account, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    p = account.prefix
    assert main(["inventory", "discover", "--inventory", str(_inventory(tmp_path, p))]) == 1
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()]
    assert "Covered (2):" in out
    assert [f"rds:{p}-orders-us-east-1", "us-east-1", "orders"] in rows
    assert [f"rds-cluster:{p}-ledger", "us-east-1", "orders"] in rows
    assert "Uncovered (1): store not in inventory" in out and f"s3:{p}-assets" in out
    assert "Declared (1): listed, never restored" in out and "stripe  saas" in out
    assert "stripe (declared): escalation, data_type, estimated_size not recorded" in out
    assert out.rstrip().endswith("inventory INCOMPLETE: 1 uncovered (3 production stores found, 2 covered, 0 ignored; "
                                 "1 declared)")


def test_inventory_discover_complete_once_ignored_as_json(account: Account, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    p = account.prefix
    path = _inventory(tmp_path, p, f'[[discovery.ignore]]\nmatch = "s3:{p}-*"\nreason = "static assets, rebuilt '
                                   'by the deploy"\n')
    assert main(["inventory", "discover", "--inventory", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["complete"] is True
    assert report["counts"] == {"discovered": 3, "covered": 2, "uncovered": 0, "ignored": 1, "unknown": 0,
                                "declared": 1, "missing_sop": 1}
    assert [(i["ref"], i["reason"]) for i in report["ignored"]] == [(f"s3:{p}-assets",
                                                                    "static assets, rebuilt by the deploy")]
    assert report["covered"][0]["stores"] == ["orders"]
    assert report["declared"][0] == {"name": "stripe", "type": "saas", "backup_method": "Stripe keeps it; nightly "
                                     "export to S3", "last_verified": "2026-11-02", "owner": "payments",
                                     "escalation": None, "data_type": None, "estimated_size": None, "covers": []}


def test_inventory_discover_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "inventory.toml"
    path.write_text('[[stores]]\nname = "a"\nkind = "postgres"\nrto = "1h"\nrpo = "1d"\n'
                    'source = { type = "file", path = "a.dump" }\n[[discovery.ignore]]\nmatch = "s3:x"\n')
    assert main(["inventory", "discover", "--inventory", str(path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"restoreproof: error: {path}: discovery.ignore[0].reason: required field is missing; add it")
    path.write_text('[[stores]]\nname = "a"\nkind = "postgres"\nrto = "1h"\nrpo = "1d"\n'
                    'source = { type = "file", path = "a.dump" }\n')
    assert main(["inventory", "discover", "--inventory", str(path)]) == 2
    assert "has no [discovery] table" in capsys.readouterr().err
