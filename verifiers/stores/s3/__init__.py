"""S3: a bucket (or prefix) compared with its captured manifest. Missing, extra and changed objects are
counted and sampled by key name (never by content); a changed object is one whose size or sha256 differs.

Phases: fetch = listing the bucket, verify = hashing each object the manifest names (streamed).
"""

from __future__ import annotations

import json
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import s3_client
from verifiers.checks import CheckSpec
from verifiers.inventory import S3Store
from verifiers.sources import Artifact, Located
from verifiers.sources.s3 import source_error
from verifiers.stores import StorePlan, StoreVerification
from verifiers.stores.bucket_compare import KINDS, changed_names, comparison_checks, comparison_specs
from verifiers.stores.s3.manifest import S3Manifest, load_manifest, object_sha256
from verifiers.timing import RestoreTimer

__all__ = ["KINDS", "S3Kind", "changed_objects"]


class S3Kind:
    def plan(self, store: S3Store, located: Located) -> StorePlan:
        assert located.manifest_path is not None  # the s3-bucket source requires one
        manifest = load_manifest(located.manifest_path, store=store.name)
        specs = [*comparison_specs(located.location), CheckSpec("rto", "rto"), CheckSpec("rpo", "rpo")]
        return StorePlan(store=store, located=located, specs=tuple(specs), reference_time=manifest.captured_at,
                         manifest=manifest)

    def verify(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
               result: StoreVerification) -> None:
        store, manifest = plan.store, plan.manifest
        assert isinstance(store, S3Store)
        assert isinstance(manifest, S3Manifest)
        listing: dict[str, dict[str, object]] = json.loads(artifact.path.read_text(encoding="utf-8"))
        with timer.phase("verify"):
            changed = changed_objects(artifact, manifest, listing, store=store.name)
        result.checks += comparison_checks(manifest.objects, listing, changed, artifact.location, store.sample)


def changed_objects(artifact: Artifact, manifest: S3Manifest, listing: dict[str, dict[str, object]], *,
                    store: str) -> list[str]:
    """Keys present on both sides whose size differs, or whose content's sha256 does (only then read)."""
    client = s3_client(artifact.details.get("region") or None, artifact.details.get("endpoint_url") or None)
    bucket = artifact.details["bucket"]

    def sha256_of(key: str) -> str:
        try:
            return object_sha256(client, bucket, key)
        except (ClientError, BotoCoreError) as exc:
            raise source_error(store, f"cannot read s3://{bucket}/{key}", exc,
                               missing_hint="the object was deleted while it was verified; run again") from None

    return changed_names(manifest.objects, listing, sha256_of)
