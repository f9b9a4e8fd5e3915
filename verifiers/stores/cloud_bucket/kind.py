"""GCS buckets and Azure containers compared with their captured manifests, as the s3 kind does (the shared
comparison is verifiers/stores/bucket_compare.py), plus the protection of the bucket/container itself.

Phases: fetch = listing the bucket, verify = hashing each object the manifest names (streamed) and reading the
bucket's settings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from verifiers.azure_storage import azure_error, azure_errors, blob_service
from verifiers.checks import CheckResult, CheckSpec
from verifiers.errors import SourceError
from verifiers.gcp import BUCKET_ROLES, gcs_client, gcs_error, gcs_errors
from verifiers.sources import Artifact, Located
from verifiers.store_settings import StoreSettings
from verifiers.stores.base import KindPlan, StorePlan, StoreVerification, narrowed
from verifiers.stores.bucket_compare import changed_names, comparison_checks, comparison_specs
from verifiers.stores.cloud_bucket.manifest import AzureReader, BucketManifest, GcsReader, ObjectReader, load_manifest
from verifiers.stores.cloud_bucket.protection import azure_protection, gcs_protection, protection_specs
from verifiers.stores.cloud_bucket.settings import AzureBlobStore, GcsStore
from verifiers.timing import RestoreTimer

_DELETED_HINT = "the object was deleted while it was verified; run again"


class CloudBucketKind:
    def plan(self, store: StoreSettings, located: Located) -> StorePlan:
        store = store if isinstance(store, GcsStore) else narrowed(store, AzureBlobStore)
        if located.manifest_path is None:
            raise TypeError(f"store {store.name}: the bucket sources require a manifest")
        manifest = load_manifest(located.manifest_path, store=store.name, kind=store.kind)
        specs = [*comparison_specs(located.location), *protection_specs(store.protection),
                 CheckSpec("rto", "rto"), CheckSpec("rpo", "rpo")]
        return StorePlan(store=store, located=located, specs=tuple(specs), reference_time=manifest.captured_at,
                         kind_plan=CloudBucketPlan(store, manifest))


@dataclass(frozen=True)
class CloudBucketPlan(KindPlan):
    """A GCS bucket's or Azure container's listing compared with its manifest, and its protection judged."""

    store: GcsStore | AzureBlobStore
    manifest: BucketManifest

    def restore_and_judge(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
                          result: StoreVerification) -> list[CheckResult]:
        store, manifest = self.store, self.manifest
        listing: dict[str, dict[str, object]] = json.loads(artifact.path.read_text(encoding="utf-8"))
        reader, protection = (_gcs(store, artifact) if isinstance(store, GcsStore) else _azure(store, artifact))
        with timer.phase("verify"):
            changed = changed_names(manifest.objects, listing, reader)
            result.checks += comparison_checks(manifest.objects, listing, changed, artifact.location, store.sample)
            result.checks += protection()
        return []


Reader = Callable[[str], str]


def _gcs(store: GcsStore, artifact: Artifact) -> tuple[Reader, Callable[[], list[CheckResult]]]:
    bucket = artifact.details["bucket"]
    try:
        client = gcs_client(artifact.details.get("project") or None)
    except gcs_errors() as exc:
        raise gcs_error(store.name, f"cannot read gs://{bucket}", exc, missing_hint="") from None
    objects: ObjectReader = GcsReader(client, bucket, artifact.details["prefix"])

    def sha256_of(name: str) -> str:
        try:
            return objects.sha256(name)
        except gcs_errors() as exc:
            raise gcs_error(store.name, f"cannot read gs://{bucket}/{name}", exc, missing_hint=_DELETED_HINT) from None

    def protection() -> list[CheckResult]:
        if not protection_specs(store.protection):
            return []
        try:
            return gcs_protection(client.get_bucket(bucket), store.protection)
        except gcs_errors() as exc:
            raise gcs_error(store.name, f"cannot read the settings of gs://{bucket}", exc,
                            actions=BUCKET_ROLES + ", or turn the checks off in [stores.protection]",
                            missing_hint="check stores.source.bucket") from None

    return sha256_of, protection


def _azure(store: AzureBlobStore, artifact: Artifact) -> tuple[Reader, Callable[[], list[CheckResult]]]:
    account_url, container = artifact.details["account_url"], artifact.details["container"]
    try:
        service = blob_service(account_url)
    except SourceError as exc:
        raise SourceError(f"store {store.name}: {exc.message}", hint=exc.hint) from None
    objects: ObjectReader = AzureReader(service.get_container_client(container), artifact.details["prefix"])

    def sha256_of(name: str) -> str:
        try:
            return objects.sha256(name)
        except azure_errors() as exc:
            raise azure_error(store.name, f"cannot read {artifact.location.rstrip('/')}/{name}", exc,
                              missing_hint=_DELETED_HINT) from None

    def protection() -> list[CheckResult]:
        if not protection_specs(store.protection):
            return []
        try:
            return azure_protection(service, container, store.protection)
        except azure_errors() as exc:
            raise azure_error(store.name, f"cannot read the settings of {artifact.location}", exc,
                              actions="read access to the Blob service properties and the container "
                              "(Storage Account Contributor, or an account SAS with service and container scope), "
                              "or turn the check off (stores.protection.versioning = false)",
                              missing_hint="check stores.source.container") from None

    return sha256_of, protection


KIND = CloudBucketKind()
