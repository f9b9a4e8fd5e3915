"""What discovery finds: production resources (each with a stable id, its name, service, region and tags), and the
services it could not look at (`Unknown`: never taken for "none there"), with the permission that was missing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal

Cloud = Literal["aws", "gcp"]


@dataclass(frozen=True)
class Resource:
    """One production store found in a cloud account."""

    cloud: Cloud
    service: str  # rds, rds-cluster, dynamodb, s3, elasticache, cloudsql, gcs
    id: str  # stable: the ARN (AWS), projects/P/instances/I (Cloud SQL), gs://bucket (GCS)
    name: str
    region: str | None
    tags: Mapping[str, str] = field(default_factory=dict)  # only the tags the filters used (filter_tags)
    ref_name: str | None = None  # the name in `ref` when it is not `name` (Cloud SQL: PROJECT/INSTANCE)
    replica_of: str | None = None  # an RDS read replica: its source instance's ARN
    replicas: tuple[str, ...] = ()  # the ids of the read replicas folded into this resource (aws.fold_replicas)

    @property
    def ref(self) -> str:
        """`<service>:<name>`, the short form inventories write (rds:orders, s3:assets, cloudsql:P/I)."""
        return f"{self.service}:{self.ref_name or self.name}"

    def matches(self, pattern: str) -> bool:
        """Whether an id, `<service>:<name>` or a glob over either names this resource."""
        return fnmatchcase(self.id, pattern) or fnmatchcase(self.ref, pattern)

    def as_dict(self) -> dict[str, Any]:
        record = {"cloud": self.cloud, "service": self.service, "id": self.id, "ref": self.ref, "name": self.name,
                  "region": self.region, "tags": dict(sorted(self.tags.items()))}
        return {**record, "replicas": list(self.replicas)} if self.replicas else record


@dataclass(frozen=True)
class Unknown:
    """A service (in a region) discovery could not list: what it holds is unknown, not empty."""

    cloud: Cloud
    service: str
    region: str | None  # AWS: the region (None: S3's global bucket list); GCP: the project
    reason: str
    permission: str | None = None  # the IAM permission that was denied, when that is why

    @property
    def where(self) -> str:
        place = f" in project {self.region}" if self.cloud == "gcp" else f" in {self.region}"
        return f"{self.cloud} {self.service}" + (place if self.region else "")

    def describe(self) -> str:
        if self.permission:
            return f"{self.where}: unknown: permission {self.permission} is missing ({self.reason}); grant it to " \
                   "the identity discovery runs as (docs/inventory-completeness.md)"
        return f"{self.where}: unknown: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"cloud": self.cloud, "service": self.service, "region": self.region, "permission": self.permission,
                "reason": self.reason}


@dataclass
class Discovered:
    """Everything one discovery found, and what it could not list."""

    resources: list[Resource] = field(default_factory=list)
    unknown: list[Unknown] = field(default_factory=list)

    def extend(self, other: Discovered) -> None:
        self.resources += other.resources
        self.unknown += other.unknown


def filter_tags(tags: Mapping[str, str], required: Mapping[str, str]) -> dict[str, str]:
    """The tags a resource is recorded with: only those the filters asked for. Other tags never reach the evidence
    (people put emails, ticket links and worse in tag values)."""
    return {key: tags[key] for key in required if key in tags}


def selected(name: str, tags: Mapping[str, str], *, names: list[str], required: Mapping[str, str]) -> bool:
    """A production resource by the filters: its name matches one of `names` (when given) and it has every
    required tag (or label) with its value."""
    if names and not any(fnmatchcase(name, pattern) for pattern in names):
        return False
    return all(tags.get(key) == value for key, value in required.items())
