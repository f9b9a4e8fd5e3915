"""The inventory against what discovery found: each production resource is covered (by which stores), ignored
(with its reason) or uncovered; the services discovery could not list are unknown; declared stores and the stores
whose SOP record is incomplete are listed beside. Complete means something was found, nothing is uncovered
and nothing unknown; a discovery that found nothing compared nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from verifiers.discovery.resources import Discovered, Resource, Unknown
from verifiers.discovery.settings import DeclaredStore, IgnoreEntry, missing_sop_fields
from verifiers.inventory_cloud import CloudSqlBackupSource, GcsBucketSource
from verifiers.store_settings import (
    AnyStore,
    AwsBackupSource,
    DynamoDbBackupSource,
    RdsSnapshotSource,
    S3BucketSource,
)

# AWS Backup's resource types by name: the ARN pattern of the resource, in its region (the account left open)
_BACKUP_ARNS = {"RDS": "arn:aws*:rds:{region}:*:db:{name}", "Aurora": "arn:aws*:rds:{region}:*:cluster:{name}",
                "DynamoDB": "arn:aws*:dynamodb:{region}:*:table/{name}"}
ANY_REGION = "*"


def store_covers(store: AnyStore, default_region: str | None = None) -> list[str]:
    """What a store's backups protect: the resource its source names, and its `covers` entries. An AWS source
    names its resource in one region — its `region`, else `default_region` (the AWS config chain's, which the
    restore would use too) — so the pattern is the resource's ARN in that region: an `orders` in another region
    is not covered. S3 bucket and GCS bucket names are global; Cloud SQL names its project. Only when no region
    is known at all (the restore could not run either) does the pattern leave the region open."""
    source = store.source
    derived: list[str] = []
    if isinstance(source, RdsSnapshotSource | AwsBackupSource | DynamoDbBackupSource):
        region = source.region or default_region or ANY_REGION
        if isinstance(source, RdsSnapshotSource):
            derived = [_BACKUP_ARNS["RDS"].format(region=region, name=source.instance) if source.instance else
                       _BACKUP_ARNS["Aurora"].format(region=region, name=source.cluster)]
        elif isinstance(source, DynamoDbBackupSource):
            derived = [_BACKUP_ARNS["DynamoDB"].format(region=region, name=source.table)]
        elif source.resource_arn:
            derived = [source.resource_arn]
        elif source.resource_type == "S3":
            derived = [f"s3:{source.resource_name}"]
        else:
            derived = [_BACKUP_ARNS[str(source.resource_type)].format(region=region, name=source.resource_name)]
    elif isinstance(source, S3BucketSource):
        derived = [f"s3:{source.bucket}"]
    elif isinstance(source, CloudSqlBackupSource):
        derived = [f"cloudsql:{source.project}/{source.instance}"]
    elif isinstance(source, GcsBucketSource):
        derived = [f"gcs:{source.bucket}"]
    return [*derived, *store.covers]


@dataclass(frozen=True)
class Covered:
    resource: Resource
    stores: tuple[str, ...]  # the stores (or declared stores) whose backups protect it


@dataclass(frozen=True)
class Ignored:
    resource: Resource
    match: str
    reason: str


@dataclass(frozen=True)
class MissingSop:
    store: str
    fields: tuple[str, ...]
    declared: bool = False


@dataclass(frozen=True)
class Coverage:
    covered: list[Covered] = field(default_factory=list)
    uncovered: list[Resource] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    unknown: list[Unknown] = field(default_factory=list)
    declared: list[DeclaredStore] = field(default_factory=list)
    missing_sop: list[MissingSop] = field(default_factory=list)

    @property
    def found_nothing(self) -> bool:
        """Discovery listed everything it was asked to and found no production store: filters that match nothing
        (a wrong region, name or tag) look like this, so the comparison compared nothing."""
        return not (self.covered or self.uncovered or self.ignored or self.unknown)

    @property
    def complete(self) -> bool:
        """Something was compared, and nothing is uncovered or unknown."""
        return not self.found_nothing and not self.uncovered and not self.unknown

    def counts(self) -> dict[str, int]:
        return {"discovered": len(self.covered) + len(self.uncovered) + len(self.ignored),
                "covered": len(self.covered), "uncovered": len(self.uncovered), "ignored": len(self.ignored),
                "unknown": len(self.unknown), "declared": len(self.declared), "missing_sop": len(self.missing_sop)}

    def as_dict(self) -> dict[str, Any]:
        """The comparison as evidence.json's `coverage` and `inventory discover --json` write it (stable keys)."""
        return {
            "complete": self.complete,
            "counts": self.counts(),
            "covered": [{**c.resource.as_dict(), "stores": list(c.stores)} for c in self.covered],
            "uncovered": [r.as_dict() for r in self.uncovered],
            "ignored": [{**i.resource.as_dict(), "match": i.match, "reason": i.reason} for i in self.ignored],
            "unknown": [u.as_dict() for u in self.unknown],
            "declared": [_declared(d) for d in self.declared],
            "missing_sop": [{"store": m.store, "declared": m.declared, "fields": list(m.fields)}
                            for m in self.missing_sop],
        }


def _declared(store: DeclaredStore) -> dict[str, Any]:
    return {"name": store.name, "type": store.type, "backup_method": store.backup_method,
            "last_verified": store.last_verified.isoformat(), "owner": store.owner, "escalation": store.escalation,
            "data_type": store.data_type, "estimated_size": store.estimated_size, "covers": list(store.covers)}


def compare(stores: Sequence[AnyStore], declared: Sequence[DeclaredStore], ignore: Sequence[IgnoreEntry],
            discovered: Discovered, default_region: str | None = None) -> Coverage:
    """Each discovered resource against the stores' (and declared stores') covers, then the ignore entries: a
    resource a store covers is covered even when an ignore entry matches it too. `default_region`: the region of
    AWS sources that name none (the AWS config chain's)."""
    claims = [(store.name, store_covers(store, default_region)) for store in stores]
    claims += [(store.name, list(store.covers)) for store in declared]
    coverage = Coverage(unknown=list(discovered.unknown), declared=list(declared),
                        missing_sop=_missing_sop(stores, declared))
    for resource in sorted(discovered.resources, key=lambda r: (r.cloud, r.service, r.region or "", r.id)):
        by = tuple(name for name, patterns in claims if any(resource.matches(p) for p in patterns))
        entry = next((e for e in ignore if resource.matches(e.match)), None)
        if by:
            coverage.covered.append(Covered(resource, by))
        elif entry is not None:
            coverage.ignored.append(Ignored(resource, entry.match, entry.reason))
        else:
            coverage.uncovered.append(resource)
    return coverage


def _missing_sop(stores: Sequence[AnyStore], declared: Sequence[DeclaredStore]) -> list[MissingSop]:
    missing = [MissingSop(s.name, tuple(missing_sop_fields(s))) for s in stores]
    missing += [MissingSop(d.name, tuple(missing_sop_fields(d)), declared=True) for d in declared]
    return [m for m in missing if m.fields]
