"""S3: a bucket (or prefix) compared with its captured manifest. Missing, extra and changed objects are
counted and sampled by key name (never by content); a changed object is one whose size or sha256 differs.

Phases: fetch = listing the bucket (with `as_of`, its object versions current at that time), verify = hashing
each object the manifest names (streamed). With `restore`, the objects are first copied server-side into a scratch
prefix (restore), the copy is what is verified, and the prefix is deleted (teardown).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import s3_client
from verifiers.checks import CheckResult, CheckSpec
from verifiers.sandboxes import timed_sandbox
from verifiers.sources import Artifact, Located
from verifiers.sources.s3 import source_error
from verifiers.store_settings import AwsBackupSource, S3BucketSource, StoreSettings
from verifiers.stores.base import KindPlan, StorePlan, StoreVerification, narrowed
from verifiers.stores.bucket_compare import KINDS, changed_names, comparison_checks, comparison_specs
from verifiers.stores.s3.copy_restore import scratch_copy
from verifiers.stores.s3.inventory_report import InventoryReport, changed_keys, load_inventory_report
from verifiers.stores.s3.manifest import S3Manifest, load_manifest, object_sha256
from verifiers.stores.s3.settings import S3Store
from verifiers.timing import RestoreTimer

__all__ = ["KINDS", "S3Kind", "S3Plan", "changed_objects"]

Reference = S3Manifest | InventoryReport


class S3Kind:
    def plan(self, store: StoreSettings, located: Located) -> StorePlan:
        store = narrowed(store, S3Store)
        source = store.source
        if isinstance(source, AwsBackupSource):  # restored by AWS Backup into a temporary bucket (backup_plan.py)
            from verifiers.stores.s3.backup_plan import plan_recovery_point

            return plan_recovery_point(store, source, located)
        if not isinstance(source, S3BucketSource) or located.manifest_path is None:
            raise TypeError(f"store {store.name}: an s3 store's source is an s3-bucket, which requires a manifest")
        manifest: Reference
        if source.reference == "s3-inventory":
            client = s3_client(source.region, source.endpoint_url)
            manifest = load_inventory_report(located.manifest_path, client, store=store.name, prefix=source.prefix)
        else:
            manifest = load_manifest(located.manifest_path, store=store.name)
        specs = [*comparison_specs(located.location), CheckSpec("rto", "rto"), CheckSpec("rpo", "rpo")]
        return StorePlan(store=store, located=located, specs=tuple(specs), reference_time=manifest.captured_at,
                         kind_plan=S3Plan(store, manifest))


@dataclass(frozen=True)
class S3Plan(KindPlan):
    """A bucket's listing compared with its manifest or S3 Inventory report; with `restore`, a scratch copy's."""

    store: S3Store
    manifest: Reference

    def restore_and_judge(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
                          result: StoreVerification) -> list[CheckResult]:
        store, manifest = self.store, self.manifest
        listing: dict[str, dict[str, object]] = json.loads(artifact.path.read_text(encoding="utf-8"))
        if store.restore is not None:
            verify_scratch_copy(store, manifest, artifact, listing, timer, result)
            return []
        with timer.phase("verify"):
            changed = changed_objects(artifact, manifest, listing, store=store.name)
        return comparison_checks(manifest.objects, listing, changed, artifact.location, store.sample)


def verify_scratch_copy(store: S3Store, manifest: Reference, artifact: Artifact,
                        listing: dict[str, dict[str, object]], timer: RestoreTimer, result: StoreVerification) -> None:
    """Copy the listed objects into a scratch prefix (timed as restore), compare the copy with the reference."""
    assert store.restore is not None
    client = s3_client(artifact.details.get("region") or None, artifact.details.get("endpoint_url") or None)
    bucket = artifact.details["bucket"]
    if (store.restore.bucket or bucket) == bucket:  # scratch copies (another run's, a killed one's) are no backup
        listing = {k: v for k, v in listing.items() if not k.startswith(store.restore.prefix)}
    opening = scratch_copy(client, listing, store=store.name, source_bucket=bucket,
                           source_prefix=artifact.details["prefix"], bucket=store.restore.bucket or bucket,
                           base_prefix=store.restore.prefix)
    with timed_sandbox(opening, timer, store=store.name, start_phase="restore",
                       what="deleting the scratch prefix", close_failed_start=True) as scratch:
        result.sandbox = scratch.info
        with timer.phase("verify"):
            try:
                copied = scratch.listing()
            except (ClientError, BotoCoreError) as exc:
                raise source_error(store.name, f"cannot list the copy in {scratch.location}", exc,
                                   missing_hint="the scratch prefix changed while it was verified") from None
            changed = _changed(manifest, copied, lambda key: object_sha256(client, scratch.bucket,
                                                                          scratch.scratch_key(key)),
                               where=scratch.location, store=store.name)
        result.checks += comparison_checks(manifest.objects, copied, changed, scratch.location, store.sample)


def changed_objects(artifact: Artifact, manifest: Reference, listing: dict[str, dict[str, object]], *,
                    store: str) -> list[str]:
    """Keys present on both sides whose size differs, or whose content's sha256 does (only then read); against
    an S3 Inventory report, whose size or single-part ETag does."""
    client = s3_client(artifact.details.get("region") or None, artifact.details.get("endpoint_url") or None)
    bucket = artifact.details["bucket"]

    def sha256_of(key: str) -> str:
        version = str(listing[key].get("version_id") or "")  # as_of: the version current then
        return object_sha256(client, bucket, key, version if version not in ("", "null") else None)

    return _changed(manifest, listing, sha256_of, where=f"s3://{bucket}", store=store)


def _changed(manifest: Reference, listing: dict[str, dict[str, object]], sha256_of: Callable[[str], str], *,
             where: str, store: str) -> list[str]:
    if isinstance(manifest, InventoryReport):
        return changed_keys(manifest.objects, listing)
    try:
        return changed_names(manifest.objects, listing, sha256_of)
    except (ClientError, BotoCoreError) as exc:
        raise source_error(store, f"cannot read an object under {where}", exc,
                           missing_hint="an object was deleted while it was verified; run again") from None


KIND = S3Kind()
