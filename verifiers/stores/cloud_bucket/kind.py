"""GCS buckets and Azure containers compared with their captured manifests, as the s3 kind does (the shared
comparison is verifiers/stores/bucket_compare.py), plus the protection of the bucket/container itself.

Phases: fetch = listing the bucket, verify = hashing each object the manifest names (streamed) and reading the
bucket's settings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from verifiers.azure_storage import azure_error, azure_errors, blob_service
from verifiers.checks import CheckResult, CheckSpec
from verifiers.errors import SourceError
from verifiers.gcp import BUCKET_ROLES, gcs_client, gcs_error, gcs_errors
from verifiers.sources import Artifact, Located
from verifiers.stores.base import StorePlan, StoreVerification
from verifiers.stores.bucket_compare import changed_names, comparison_checks, comparison_specs
from verifiers.stores.cloud_bucket.manifest import AzureReader, BucketManifest, GcsReader, ObjectReader, load_manifest
from verifiers.stores.cloud_bucket.protection import azure_protection, gcs_protection, protection_specs
from verifiers.stores.cloud_bucket.settings import AzureBlobStore, GcsStore
from verifiers.timing import RestoreTimer

_DELETED_HINT = "the object was deleted while it was verified; run again"


class CloudBucketKind:
    def plan(self, store: GcsStore | AzureBlobStore, located: Located) -> StorePlan:
        assert located.manifest_path is not None  # the bucket sources require one
        manifest = load_manifest(located.manifest_path, store=store.name, kind=store.kind)
        specs = [*comparison_specs(located.location), *protection_specs(store.protection),
                 CheckSpec("rto", "rto"), CheckSpec("rpo", "rpo")]
        return StorePlan(store=store, located=located, specs=tuple(specs), reference_time=manifest.captured_at,
                         manifest=manifest)

    def verify(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
               result: StoreVerification) -> None:
        store, manifest = plan.store, plan.manifest
        assert isinstance(store, GcsStore | AzureBlobStore)
        assert isinstance(manifest, BucketManifest)
        listing: dict[str, dict[str, object]] = json.loads(artifact.path.read_text(encoding="utf-8"))
        reader, protection = (_gcs(store, artifact) if isinstance(store, GcsStore) else _azure(store, artifact))
        with timer.phase("verify"):
            changed = changed_names(manifest.objects, listing, reader)
            result.checks += comparison_checks(manifest.objects, listing, changed, artifact.location, store.sample)
            result.checks += protection()


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
