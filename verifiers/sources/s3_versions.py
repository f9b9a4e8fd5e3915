"""A versioned bucket as it was at a moment: for each key, the newest version last modified at or before that
moment, unless that version is a delete marker (the key did not exist then). Used by the s3-bucket source's
`as_of` setting, so a bucket that kept changing after the backup is compared as the backup saw it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

AS_OF_MANIFEST = "manifest"


def parse_as_of(value: str) -> datetime | None:
    """None for "manifest" (the manifest's captured_at, known only once it is read), else an aware datetime."""
    if value == AS_OF_MANIFEST:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f'as_of {value!r} is neither "manifest" nor an ISO 8601 time such as '
                         '"2026-11-01T00:00:00Z"') from None
    if when.tzinfo is None:
        raise ValueError(f"as_of {value!r} has no time zone: add Z or an offset such as +00:00")
    return when.astimezone(UTC)


def versions_as_of(client: S3Client, bucket: str, prefix: str, when: datetime) -> dict[str, dict[str, Any]]:
    """{key: {bytes, etag, version_id, modified}} of the objects that existed at `when` (ListBucketVersions).

    The choice is made per key over all pages (a key's versions can span pages, and a page's versions and delete
    markers come in separate lists). LastModified has one-second resolution: of two entries in the same second,
    the one S3 calls latest wins."""
    chosen: dict[str, tuple[tuple[datetime, bool], bool, dict[str, Any]]] = {}
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        entries = [(v, False) for v in page.get("Versions", [])] + [(m, True) for m in page.get("DeleteMarkers", [])]
        for entry, is_marker in entries:
            modified = entry["LastModified"].astimezone(UTC)
            if modified > when:
                continue
            key, rank = entry["Key"], (modified, bool(entry.get("IsLatest")))
            if key in chosen and chosen[key][0] >= rank:
                continue
            facts = {"bytes": entry.get("Size", 0), "etag": entry.get("ETag", ""),
                     "version_id": entry.get("VersionId", "null"), "modified": modified.isoformat()}
            chosen[key] = (rank, is_marker, facts)
    return {key: facts for key, (_, is_marker, facts) in sorted(chosen.items()) if not is_marker}
