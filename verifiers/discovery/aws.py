"""AWS discovery: RDS instances and Aurora/Multi-AZ clusters, DynamoDB tables, S3 buckets and ElastiCache replication
groups and clusters, listed per service and region with boto3's paginators, filtered by name and tags.

A DB instance that belongs to a cluster is the cluster's (covering the cluster covers it), and a cache cluster
that belongs to a replication group is the group's. Tags: RDS returns them with each resource; for the others
they are read per resource only when `tags` filters, so discovery needs no tag permission otherwise.

A call that is denied (or cannot reach the API) makes that service in that region *unknown*, naming the IAM
permission it needed; it is never taken for an empty list. Every permission named here is in permissions.py
(tests/unit/test_discovery_permissions.py checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import ACCESS_DENIED, SANDBOX_TAG, client, describe_error, error_code, tag_dict
from verifiers.discovery.resources import Discovered, Resource, Unknown, filter_tags, selected
from verifiers.discovery.settings import AwsDiscovery, AwsService


class ListingFailed(Exception):
    """A call discovery needed failed: denied (`permission` names what to grant) or unreachable."""

    def __init__(self, permission: str, exc: Exception) -> None:
        super().__init__(describe_error(exc))
        self.permission = permission if denied(exc) else None


def denied(exc: Exception) -> bool:
    """An access denial, however the service spells it (DynamoDB answers some with a bare 403)."""
    if not isinstance(exc, ClientError):
        return False
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error_code(exc) in ACCESS_DENIED or status == 403 or error_code(exc) == "403"


def _calling(permission: str, call: Callable[..., Any], *args: Any, **params: Any) -> Any:
    try:
        return call(*args, **params)
    except (ClientError, BotoCoreError) as exc:
        raise ListingFailed(permission, exc) from exc


def _pages(client: Any, operation: str, permission: str, key: str, **params: Any) -> Iterator[Any]:
    """Every item under `key` of every page of a paginated call."""
    pages = client.get_paginator(operation).paginate(**params)
    iterator = iter(pages)
    while True:
        page = _calling(permission, next, iterator, None)
        if page is None:
            return
        yield from page.get(key, [])


def _client(service: str, region: str | None, settings: AwsDiscovery) -> Any:
    return client(service, region, settings.endpoint_url)


def discover_aws(settings: AwsDiscovery) -> Discovered:
    """The production resources of every configured service and region, and what could not be listed."""
    found = Discovered()
    for service in settings.services:
        places: list[str | None] = [None] if service == "s3" else list(settings.regions)
        for region in places:
            try:
                found.resources += LISTERS[service](settings, region)
            except ListingFailed as exc:
                found.unknown.append(Unknown("aws", service, region, str(exc), exc.permission))
    found.resources = fold_replicas(found.resources)
    return found


def _keep(settings: AwsDiscovery, name: str, tags: Callable[[], dict[str, str]]) -> dict[str, str] | None:
    """The tags the filters used (filter_tags) when they keep the resource, else None; tags are read only when a
    tag filter needs them."""
    if not selected(name, {}, names=settings.names, required={}):
        return None
    if not settings.tags:
        return {}
    read = tags()
    return filter_tags(read, settings.tags) if selected(name, read, names=[], required=settings.tags) else None


def _rds(settings: AwsDiscovery, region: str | None) -> list[Resource]:
    rds = _client("rds", region, settings)
    found = []
    for cluster in _pages(rds, "describe_db_clusters", "rds:DescribeDBClusters", "DBClusters"):
        tags = tag_dict(cluster.get("TagList"))
        if SANDBOX_TAG in tags:
            continue  # a restore's temporary cluster, not production (`restoreproof janitor` sweeps leftovers)
        kept = _keep(settings, cluster["DBClusterIdentifier"], partial(dict, tags))
        if kept is not None:
            found.append(Resource("aws", "rds-cluster", cluster["DBClusterArn"], cluster["DBClusterIdentifier"],
                                  region, kept))
    for instance in _pages(rds, "describe_db_instances", "rds:DescribeDBInstances", "DBInstances"):
        tags = tag_dict(instance.get("TagList"))
        if instance.get("DBClusterIdentifier") or SANDBOX_TAG in tags:
            continue  # the cluster's member (covered through its cluster), or a restore's temporary instance
        kept = _keep(settings, instance["DBInstanceIdentifier"], partial(dict, tags))
        if kept is not None:
            found.append(Resource("aws", "rds", instance["DBInstanceArn"], instance["DBInstanceIdentifier"],
                                  region, kept, replica_of=_replica_source(instance)))
    return found


def _replica_source(instance: Any) -> str | None:
    """A read replica's source instance, as an ARN: RDS names a source in the same region by its identifier and
    one in another region by its ARN."""
    source = instance.get("ReadReplicaSourceDBInstanceIdentifier")
    if not source:
        return None
    if source.startswith("arn:"):
        return str(source)
    arn = str(instance["DBInstanceArn"])
    return arn[:arn.rindex(":db:")] + f":db:{source}"


def fold_replicas(resources: list[Resource]) -> list[Resource]:
    """RDS read replicas folded into their source instance, as cluster members are into their cluster: covering
    the source covers them, and the source records which (`replicas`). A replica whose source was not discovered
    (another region not listed, filtered out, or gone) stands alone, so that it is compared by itself."""
    by_id = {r.id: r for r in resources}
    folded: dict[str, list[str]] = {}
    for resource in resources:
        root, seen = resource, {resource.id}
        while root.replica_of in by_id and root.replica_of not in seen:  # a replica of a replica: to the top
            root = by_id[root.replica_of]
            seen.add(root.id)
        if root is not resource:
            folded.setdefault(root.id, []).append(resource.id)
    return [replace(r, replicas=tuple(sorted(folded.get(r.id, [])))) for r in resources
            if r.replica_of not in by_id]


def _dynamodb(settings: AwsDiscovery, region: str | None) -> list[Resource]:
    dynamodb = _client("dynamodb", region, settings)
    found = []
    for name in _pages(dynamodb, "list_tables", "dynamodb:ListTables", "TableNames"):
        arn = _calling("dynamodb:DescribeTable", dynamodb.describe_table, TableName=name)["Table"]["TableArn"]
        kept = _keep(settings, name, partial(_table_tags, dynamodb, arn))
        if kept is not None:
            found.append(Resource("aws", "dynamodb", arn, name, region, kept))
    return found


def _table_tags(dynamodb: Any, arn: str) -> dict[str, str]:
    """A table's tags, followed through NextToken (ListTagsOfResource has no boto3 paginator)."""
    tags: list[Any] = []
    token: dict[str, str] = {}
    while True:
        page = _calling("dynamodb:ListTagsOfResource", dynamodb.list_tags_of_resource, ResourceArn=arn, **token)
        tags += page.get("Tags", [])
        if not page.get("NextToken"):
            return tag_dict(tags)
        token = {"NextToken": page["NextToken"]}


def _s3(settings: AwsDiscovery, region: str | None) -> list[Resource]:
    s3 = _client("s3", settings.regions[0], settings)
    found = []
    for bucket in _pages(s3, "list_buckets", "s3:ListAllMyBuckets", "Buckets"):
        name = bucket["Name"]
        if not selected(name, {}, names=settings.names, required={}):
            continue  # by name before any per-bucket call
        where = _calling("s3:GetBucketLocation", s3.get_bucket_location, Bucket=name)
        home = where.get("LocationConstraint") or "us-east-1"  # S3 answers None for us-east-1, EU for eu-west-1
        home = "eu-west-1" if home == "EU" else home
        if home not in settings.regions:
            continue
        kept = _keep(settings, name, partial(_bucket_tags, s3, name))
        if kept is not None:
            found.append(Resource("aws", "s3", f"arn:aws:s3:::{name}", name, home, kept))
    return found


def _bucket_tags(s3: Any, bucket: str) -> dict[str, str]:
    try:
        return tag_dict(s3.get_bucket_tagging(Bucket=bucket).get("TagSet"))
    except ClientError as exc:
        if error_code(exc) == "NoSuchTagSet":
            return {}
        raise ListingFailed("s3:GetBucketTagging", exc) from exc
    except BotoCoreError as exc:
        raise ListingFailed("s3:GetBucketTagging", exc) from exc


def _elasticache(settings: AwsDiscovery, region: str | None) -> list[Resource]:
    elasticache = _client("elasticache", region, settings)

    found = []
    for group in _pages(elasticache, "describe_replication_groups", "elasticache:DescribeReplicationGroups",
                        "ReplicationGroups"):
        arn = group["ARN"]
        kept = _keep(settings, group["ReplicationGroupId"], partial(_cache_tags, elasticache, arn))
        if kept is not None:
            found.append(Resource("aws", "elasticache", arn, group["ReplicationGroupId"], region, kept))
    for cluster in _pages(elasticache, "describe_cache_clusters", "elasticache:DescribeCacheClusters",
                          "CacheClusters"):
        if cluster.get("ReplicationGroupId"):
            continue  # a node of a replication group: covered through its group
        arn = cluster["ARN"]
        kept = _keep(settings, cluster["CacheClusterId"], partial(_cache_tags, elasticache, arn))
        if kept is not None:
            found.append(Resource("aws", "elasticache", arn, cluster["CacheClusterId"], region, kept))
    return found


def _cache_tags(elasticache: Any, arn: str) -> dict[str, str]:
    listed = _calling("elasticache:ListTagsForResource", elasticache.list_tags_for_resource, ResourceName=arn)
    return tag_dict(listed.get("TagList"))


LISTERS: dict[AwsService, Callable[[AwsDiscovery, str | None], list[Resource]]] = {
    "rds": _rds, "dynamodb": _dynamodb, "s3": _s3, "elasticache": _elasticache,
}
