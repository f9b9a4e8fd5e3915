"""The permissions discovery needs, per cloud and service: the one list the listings name when denied
(discovery/aws.py, gcp.py), `restoreproof doctor` reports (verifiers/doctor/discovery.py) and
docs/inventory-completeness.md shows (tests/unit/test_discovery_permissions.py holds the page to it). No SDK."""

from __future__ import annotations

from dataclasses import dataclass

from verifiers.discovery.settings import AwsService, DiscoverySettings, GcpService

# The IAM actions discovery calls, by service; those in TAG_PERMISSIONS only when `tags` filters.
AWS_PERMISSIONS: dict[AwsService, tuple[str, ...]] = {
    "rds": ("rds:DescribeDBInstances", "rds:DescribeDBClusters"),
    "dynamodb": ("dynamodb:ListTables", "dynamodb:DescribeTable"),
    "s3": ("s3:ListAllMyBuckets", "s3:GetBucketLocation"),
    "elasticache": ("elasticache:DescribeReplicationGroups", "elasticache:DescribeCacheClusters"),
}
AWS_TAG_PERMISSIONS: dict[AwsService, tuple[str, ...]] = {
    "rds": (),  # RDS returns the tags with each resource
    "dynamodb": ("dynamodb:ListTagsOfResource",),
    "s3": ("s3:GetBucketTagging",),
    "elasticache": ("elasticache:ListTagsForResource",),
}
# Google Cloud IAM permissions (labels come with each resource)
GCP_PERMISSIONS: dict[GcpService, str] = {"cloudsql": "cloudsql.instances.list", "gcs": "storage.buckets.list"}


@dataclass(frozen=True)
class Needed:
    """What one configured service is listed with, and where."""

    cloud: str
    service: str
    places: tuple[str, ...]  # AWS regions (S3: listed once), GCP projects
    permissions: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.cloud} {self.service} in {', '.join(self.places)}: {', '.join(self.permissions)}"


def needed(settings: DiscoverySettings) -> list[Needed]:
    """Each configured service, where it is listed and the permissions that takes (tag permissions only when a tag
    filter needs them)."""
    found: list[Needed] = []
    if settings.aws is not None:
        aws = settings.aws
        for service in aws.services:
            tagged = AWS_TAG_PERMISSIONS[service] if aws.tags else ()
            places = ("the account (buckets kept in " + ", ".join(aws.regions) + ")",) if service == "s3" else tuple(
                aws.regions)
            found.append(Needed("aws", service, places, AWS_PERMISSIONS[service] + tagged))
    if settings.gcp is not None:
        for gcp_service in settings.gcp.services:
            found.append(Needed("gcp", gcp_service, tuple(f"project {p}" for p in settings.gcp.projects),
                                (GCP_PERMISSIONS[gcp_service],)))
    return found
