"""The manifest of an RDS / Aurora snapshot, found among many: an rds-snapshot source's `manifest` may be a folder
or an s3:// prefix of the manifests `restoreproof capture` wrote (a single file is checked the same way).

The snapshot's manifest is the one that records its identifier (`capture --snapshot-id`), else the newest one
captured at or before the snapshot's creation time and at most `manifest_tolerance` before it, among those that
record no snapshot (a manifest recording another snapshot never pairs by time). No match, or two equally good
ones, is a failed `manifest` check naming the snapshot, the closest candidates and the tolerance: a manifest from
another point in time would make every data check compare two different moments.

Only the manifest's `captured_at` and `snapshot_id` are read here (this layer knows no store kind); the kind reads
the chosen file whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import s3_client
from verifiers.errors import SourceError
from verifiers.manifests import MANIFEST_SUFFIX
from verifiers.sources.manifest_pairing import DETAILS_KEY, Candidate, Pairing, local_candidates, pair, read_candidate
from verifiers.sources.s3 import S3Location, download_manifest, source_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["DETAILS_KEY", "Candidate", "Pairing", "manifest_candidates", "pair"]  # the rules: manifest_pairing.py


def manifest_candidates(manifest: str, *, base_dir: Path, store: str, region: str | None,
                        endpoint_url: str | None) -> list[Candidate]:
    """The manifests at `manifest`: a local file or folder (relative to the inventory), an s3:// object or
    prefix; each read for its capture time and snapshot id (S3 objects downloaded to the cache)."""
    if manifest.startswith("s3://"):
        return _s3_candidates(s3_client(region, endpoint_url), manifest, store=store)
    return local_candidates(Path(manifest) if Path(manifest).is_absolute() else base_dir / manifest, store=store)


def names_one_file(manifest: str, *, base_dir: Path) -> bool:
    """`manifest` names one file (an s3:// object ending .json, a local path that is no folder), not a folder or
    prefix of candidates."""
    if manifest.startswith("s3://"):
        return manifest.partition("//")[2].partition("/")[2].endswith(".json")
    return not (Path(manifest) if Path(manifest).is_absolute() else base_dir / manifest).is_dir()


def _s3_candidates(client: S3Client, url: str, *, store: str) -> list[Candidate]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise SourceError(f"store {store}: stores.source.manifest {url!r} is not an s3://BUCKET/KEY-or-PREFIX URL")
    if key.endswith(".json"):
        where = S3Location(bucket, key)
        return [read_candidate(where.url, download_manifest(client, where, store=store))]
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
        keys = sorted(o["Key"] for page in pages for o in page.get("Contents", [])
                      if o["Key"].endswith(MANIFEST_SUFFIX))
    except (ClientError, BotoCoreError) as exc:
        raise source_error(store, f"cannot list the manifests under {url}", exc,
                           missing_hint="check stores.source.manifest's bucket and prefix") from None
    return [read_candidate(f"s3://{bucket}/{k}", download_manifest(client, S3Location(bucket, k), store=store))
            for k in keys]


