"""AWS discovery against moto's server over HTTP: resources in two regions, name and tag filters, ignore entries,
cluster members and replication-group nodes folded into their cluster/group, and the comparison with the stores."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest

from tests.aws_support import MotoServer
from verifiers.discovery.aws import discover_aws
from verifiers.discovery.settings import AwsDiscovery

REGIONS = ("us-east-1", "eu-west-1")


@dataclass(frozen=True)
class Account:
    """Resources made for one test, all named `<prefix>-...` so the shared moto account's others stay out."""

    prefix: str
    url: str


def _client(service: str, region: str, url: str) -> object:
    return boto3.session.Session(region_name=region).client(service, endpoint_url=url)  # type: ignore[call-overload]


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
