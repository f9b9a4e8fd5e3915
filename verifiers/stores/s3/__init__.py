"""S3: a bucket (or prefix) compared with its captured manifest. Missing, extra and changed objects are
counted and sampled by key name (never by content); a changed object is one whose size or sha256 differs.

Phases: fetch = listing the bucket, verify = hashing each object the manifest names (streamed).
"""

from __future__ import annotations

import json
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import s3_client
from verifiers.checks import CheckResult, CheckSpec
from verifiers.inventory import S3Store
from verifiers.sources import Artifact, Located
from verifiers.sources.s3 import source_error
from verifiers.stores import StorePlan, StoreVerification
from verifiers.stores.s3.manifest import S3Manifest, load_manifest, object_sha256
from verifiers.timing import RestoreTimer

KINDS = ("missing", "changed", "extra")


class S3Kind:
    def plan(self, store: S3Store, located: Located) -> StorePlan:
        assert located.manifest_path is not None  # the s3-bucket source requires one
        manifest = load_manifest(located.manifest_path, store=store.name)
        specs = [CheckSpec("object_count", located.location), *(CheckSpec("objects", k) for k in KINDS),
                 CheckSpec("rto", "rto"), CheckSpec("rpo", "rpo")]
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
        missing = sorted(set(manifest.objects) - set(listing))
        extra = sorted(set(listing) - set(manifest.objects))
        result.checks.append(CheckResult(
            "object_count", artifact.location, len(listing) == len(manifest.objects), len(listing),
            len(manifest.objects), f"{len(listing)} objects, {len(manifest.objects)} captured"))
        for kind, keys in zip(KINDS, (missing, changed, extra), strict=True):
            result.checks.append(objects_check(kind, keys, artifact.location, store.sample))


def changed_objects(artifact: Artifact, manifest: S3Manifest, listing: dict[str, dict[str, object]], *,
                    store: str) -> list[str]:
    """Keys present on both sides whose size differs, or whose content's sha256 does (only then read)."""
    client = s3_client(artifact.details.get("region") or None, artifact.details.get("endpoint_url") or None)
    bucket = artifact.details["bucket"]
    changed = []
    for key in sorted(set(manifest.objects) & set(listing)):
        want = manifest.objects[key]
        if listing[key]["bytes"] != want.bytes:
            changed.append(key)
            continue
        try:
            if object_sha256(client, bucket, key) != want.sha256:
                changed.append(key)
        except (ClientError, BotoCoreError) as exc:
            raise source_error(store, f"cannot read s3://{bucket}/{key}", exc,
                               missing_hint="the object was deleted while it was verified; run again") from None
    return changed


def objects_check(kind: str, keys: list[str], location: str, sample: int) -> CheckResult:
    if not keys:
        return CheckResult("objects", kind, True, 0, 0, f"no {kind} objects under {location}")
    shown = ", ".join(keys[:sample]) + (f" … and {len(keys) - sample} more" if len(keys) > sample else "")
    return CheckResult("objects", kind, False, len(keys), 0, f"{len(keys)} {kind} under {location}: {shown}")
