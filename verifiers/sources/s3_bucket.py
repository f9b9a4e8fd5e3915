"""A bucket (or a prefix of one) as the thing verified: `fetch` lists it (keys, sizes, ETags) into the store's
work dir; the s3 store kind then reads and hashes the objects it needs."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import s3_client
from verifiers.errors import SourceError
from verifiers.sources import Artifact, Located
from verifiers.sources.s3 import manifest_file, source_error
from verifiers.sources.s3_versions import parse_as_of, versions_as_of
from verifiers.store_settings import S3BucketSource

LISTING = "listing.json"


class S3Buckets:
    def locate(self, source: S3BucketSource, *, base_dir: Path, store: str) -> Located:
        manifest = manifest_file(source.manifest, base_dir=base_dir, store=store, region=source.region,
                                 endpoint_url=source.endpoint_url)
        return Located(location=f"s3://{source.bucket}/{source.prefix}", path=Path(source.bucket),
                       manifest_path=manifest, modified=datetime.now(UTC),
                       details={"bucket": source.bucket, "prefix": source.prefix, "region": source.region or "",
                                "endpoint_url": source.endpoint_url or "", "as_of": source.as_of or "",
                                "reference": source.reference})

    def fetch(self, located: Located, *, store: str, work_dir: Path | None = None) -> Artifact:
        """List every object under the prefix into work_dir/listing.json: {key: {bytes, etag}}; with `as_of`,
        the versions current at that time, each with its version_id."""
        if work_dir is None:
            raise ValueError("a bucket listing is written into the store's work dir: pass work_dir")
        bucket, prefix = located.details["bucket"], located.details["prefix"]
        client = s3_client(located.details["region"] or None, located.details["endpoint_url"] or None)
        objects: dict[str, dict[str, object]] = {}
        newest: datetime | None = None
        as_of = _as_of_time(located, store=store)
        try:
            if as_of is not None:
                objects = versions_as_of(client, bucket, prefix, as_of)
                newest = max((datetime.fromisoformat(str(o["modified"])) for o in objects.values()), default=None)
            else:
                for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                    for obj in page.get("Contents", []):
                        objects[obj["Key"]] = {"bytes": obj.get("Size", 0), "etag": obj.get("ETag", "")}
                        modified = obj.get("LastModified")
                        if isinstance(modified, datetime) and (newest is None or modified > newest):
                            newest = modified
        except (ClientError, BotoCoreError) as exc:
            raise source_error(store, f"cannot list {located.location}", exc,
                               missing_hint="check stores.source.bucket and region in the inventory") from None
        listing = work_dir / LISTING
        try:
            listing.write_text(json.dumps(objects, sort_keys=True), encoding="utf-8")
        except OSError as exc:
            raise SourceError(f"store {store}: cannot write the listing of {located.location} to {listing}: "
                              f"{exc.strerror}", hint="free disk space in the work dir (--work-dir)") from None
        size = sum(int(str(o["bytes"])) for o in objects.values())
        as_of_details = {"as_of": as_of.isoformat()} if as_of is not None else {}
        return Artifact(location=located.location, path=listing,
                        sha256=hashlib.sha256(listing.read_bytes()).hexdigest(), bytes=size,
                        modified=(newest or located.modified).astimezone(UTC), manifest_path=located.manifest_path,
                        details={"objects": str(len(objects)), "sha256_of": "the bucket listing (keys, sizes, ETags)",
                                 "bucket": bucket, "prefix": prefix, "region": client.meta.region_name,
                                 "endpoint_url": located.details["endpoint_url"],
                                 "reference": located.details.get("reference", "manifest"), **as_of_details})


def _as_of_time(located: Located, *, store: str) -> datetime | None:
    """The moment whose object versions are compared: the setting's, or the manifest's captured_at."""
    setting = located.details.get("as_of", "")
    if not setting:
        return None
    when = parse_as_of(setting)
    if when is not None:
        return when
    assert located.manifest_path is not None  # the s3-bucket source requires one
    # the store kind imports this module's package, so these are imported late
    from verifiers.stores.s3.inventory_report import load_inventory_report
    from verifiers.stores.s3.manifest import load_manifest

    if located.details.get("reference") == "s3-inventory":
        client = s3_client(located.details["region"] or None, located.details["endpoint_url"] or None)
        report = load_inventory_report(located.manifest_path, client, store=store, prefix=located.details["prefix"])
        return report.captured_at
    return load_manifest(located.manifest_path, store=store).captured_at.astimezone(UTC)
