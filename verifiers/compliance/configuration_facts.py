"""A store's backup configuration read and judged, for the hygiene suite (verifiers/compliance/suite.py): the
facts (configuration_aws.py for AWS sources, the kept files for a file source), the policy's checks, and the
evidence block with the change since the configuration an earlier month recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from verifiers.checks import CheckResult, CheckSpec, not_compared
from verifiers.compliance import configuration
from verifiers.compliance.configuration import Configuration, Earlier, Fact
from verifiers.compliance.configuration_policy import CONFIGURATION_SOURCES, ConfigurationPolicy
from verifiers.compliance.recovery_points import file_points
from verifiers.errors import RestoreproofError
from verifiers.extras import needed_by
from verifiers.store_settings import AnyStore, DynamoDbBackupSource, FileSource, RdsSnapshotSource, S3Source


@dataclass(frozen=True)
class Recorded:
    """What a run records of a store's configuration: the evidence block and the policy's checks."""

    block: dict[str, Any] | None  # None: not read (no policy covers the store, or the cloud extra is missing)
    checks: list[CheckResult]


def policy_of(store: AnyStore, defaults: ConfigurationPolicy | None) -> ConfigurationPolicy | None:
    """The store's configuration policy: its [stores.hygiene.configuration] over the inventory's [policy]
    (`defaults`, which covers every store whose source's configuration is read), or None: not recorded."""
    own = store.hygiene.configuration if store.hygiene is not None else None
    if own is not None:
        return own.over(defaults)
    return defaults if store.source.type in CONFIGURATION_SOURCES else None


NOT_READ = "not_read"  # the subject of the one check of a store the inventory's [policy] covers but cannot judge
UNREAD_WHY = {"aws-backup": "the retention and copy rules of its AWS Backup plan and vault are not read yet; judge the "
              "protected resource through its rds-snapshot, dynamodb-backup or s3 source instead"}


def specs(store: AnyStore, defaults: ConfigurationPolicy | None) -> list[CheckSpec]:
    policy = policy_of(store, defaults)
    if policy is None:
        return [CheckSpec(configuration.CHECK, NOT_READ)] if _unread(store, defaults) else []
    return configuration.specs(policy)


def _unread(store: AnyStore, defaults: ConfigurationPolicy | None) -> bool:
    """The inventory sets a [policy], and the store's source is one whose configuration is not read: the evidence
    says so (one check not compared), not nothing."""
    return defaults is not None and store.source.type not in CONFIGURATION_SOURCES


def not_read(store: AnyStore) -> CheckResult:
    kind = store.source.type
    why = UNREAD_WHY.get(kind, f"restoreproof reads the backup configuration of {', '.join(CONFIGURATION_SOURCES)} "
                         "sources only")
    return not_compared(configuration.CHECK, NOT_READ, None, f"configuration not read for {kind} sources, so the "
                        f"inventory's [policy] is not judged for this store: {why}")


def read_facts(store: AnyStore, base_dir: Path, now: datetime) -> Configuration:
    """The facts of the store's backup configuration; RestoreproofError when the cloud extra is missing."""
    source = store.source
    if isinstance(source, FileSource):
        return Configuration(source.type, file_facts(source, base_dir, now))
    with needed_by(f"store {store.name}: the backup configuration of its {source.type} source"):
        from verifiers.compliance import configuration_aws
    if isinstance(source, RdsSnapshotSource):
        return Configuration(source.type, configuration_aws.rds_facts(store, source))
    if isinstance(source, DynamoDbBackupSource):
        return Configuration(source.type, configuration_aws.dynamodb_facts(store, source))
    assert isinstance(source, S3Source), source.type  # the inventory allows hygiene.configuration on these only
    return Configuration(source.type, configuration_aws.s3_facts(store, source))


def file_facts(source: FileSource, base_dir: Path, now: datetime) -> dict[str, Fact]:
    points = file_points(source, base_dir)
    if not points:
        return {"retention_days": Fact.not_read(f"no backup file matches {source.path}"), "kept_backups": Fact(0)}
    oldest = round((now - min(points)).total_seconds() / 86400, 1)
    return {"retention_days": Fact(oldest, note="the age of the oldest backup file kept"),
            "kept_backups": Fact(len(points))}


def record(store: AnyStore, defaults: ConfigurationPolicy | None, base_dir: Path, now: datetime,
           earlier: Earlier | None) -> Recorded:
    """The store's configuration read, judged against its policy and compared with `earlier`."""
    policy = policy_of(store, defaults)
    if policy is None:
        return Recorded(None, [not_read(store)] if _unread(store, defaults) else [])
    try:
        found = read_facts(store, base_dir, now)
    except RestoreproofError as exc:  # the cloud extra is missing: nothing could be read
        return Recorded(None, [CheckResult(s.check, s.subject, False, None, None, f"not judged: {exc.describe()}")
                               for s in configuration.specs(policy)])
    return Recorded(found.as_evidence(earlier), configuration.judge(policy, found))
