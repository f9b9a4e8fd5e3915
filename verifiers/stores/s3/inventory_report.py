"""An S3 Inventory report as the reference of an s3 store, instead of a captured manifest: its `manifest.json`
(sourceBucket, creationTimestamp, fileFormat, fileSchema, files[{key, size, MD5checksum}]) and the gzip'd CSV
files it names, read from the inventory's destination bucket. An inventory lists keys, sizes and ETags, not
content hashes: an object is changed when its size differs, or its ETag does where both ETags are single-part
(a multipart ETag "…-N" depends on the part size, so it is never compared)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.errors import ManifestError
from verifiers.sources.s3 import source_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

INVENTORY_HINT = ("point stores.source.manifest at the manifest.json of an S3 Inventory report (CSV format, with "
                  "the Size and ETag fields) and set reference = \"s3-inventory\"")


@dataclass(frozen=True)
class InventoryObject:
    bytes: int
    etag: str  # without quotes; "" when the report has no ETag field


@dataclass(frozen=True)
class InventoryReport:
    source_bucket: str
    captured_at: datetime  # creationTimestamp: when the inventory was taken
    files: int
    objects: dict[str, InventoryObject]


def _etag(value: object) -> str:
    return str(value or "").strip('"')


def is_multipart(etag: str) -> bool:
    return "-" in etag


def changed_keys(expected: Mapping[str, InventoryObject], listing: Mapping[str, Mapping[str, object]]) -> list[str]:
    """Keys on both sides whose size differs, or whose single-part ETags do."""
    changed = []
    for key in sorted(set(expected) & set(listing)):
        want, found = expected[key], listing[key]
        etag = _etag(found.get("etag"))
        comparable = want.etag and etag and not is_multipart(want.etag) and not is_multipart(etag)
        if found["bytes"] != want.bytes or (comparable and etag != want.etag):
            changed.append(key)
    return changed


def _rows(text: str, schema: list[str], where: str) -> Any:
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if len(row) != len(schema):
            raise ManifestError(f"{where} line {number} has {len(row)} fields; fileSchema names {len(schema)}",
                                hint=INVENTORY_HINT)
        yield dict(zip(schema, row, strict=True))


def load_inventory_report(path: Path, client: S3Client, *, store: str, prefix: str = "") -> InventoryReport:
    """Read the report's manifest.json at `path` and every CSV file it names (MD5 verified), keeping the keys
    under `prefix`; with versions listed, only the latest non-deleted version of each key."""
    where = f"store {store}: S3 Inventory manifest {path}"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        bucket_arn, schema_text = str(raw["destinationBucket"]), str(raw["fileSchema"])
        files, created = list(raw["files"]), int(raw["creationTimestamp"])
        source_bucket, file_format = str(raw["sourceBucket"]), str(raw.get("fileFormat", "CSV"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"{where} is not an S3 Inventory manifest.json ({type(exc).__name__}: {exc})",
                            hint=INVENTORY_HINT) from None
    if file_format.upper() != "CSV":
        raise ManifestError(f"{where} is in {file_format} format; only CSV inventories are read",
                            hint="configure the inventory with CSV output (ORC and Parquet are not read yet)")
    schema = [name.strip() for name in schema_text.split(",")]
    if "Key" not in schema or "Size" not in schema:
        raise ManifestError(f"{where} has no Key and Size fields in its fileSchema ({schema_text})",
                            hint="add the Size (and ETag) optional fields to the inventory configuration")
    destination = bucket_arn.removeprefix("arn:aws:s3:::")
    objects: dict[str, InventoryObject] = {}
    for entry in files:
        key, want_md5 = str(entry["key"]), str(entry.get("MD5checksum", ""))
        try:
            data = client.get_object(Bucket=destination, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise source_error(store, f"cannot read the inventory file s3://{destination}/{key}", exc,
                               missing_hint="the report is incomplete: point stores.source.manifest at a newer "
                               "one") from None
        if want_md5 and hashlib.md5(data, usedforsecurity=False).hexdigest() != want_md5:
            raise ManifestError(f"{where}: inventory file s3://{destination}/{key} does not match its MD5checksum",
                                hint="the report is damaged or still being written: use a complete one")
        try:
            text = gzip.decompress(data).decode("utf-8")
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise ManifestError(f"{where}: inventory file s3://{destination}/{key} is not gzip'd CSV: {exc}",
                                hint=INVENTORY_HINT) from None
        for row in _rows(text, schema, f"{where}: s3://{destination}/{key}"):
            name = unquote_plus(row["Key"])  # inventory keys are URL-encoded
            if not name.startswith(prefix) or row.get("IsDeleteMarker") == "true" or row.get("IsLatest") == "false":
                continue
            try:
                objects[name] = InventoryObject(bytes=int(row["Size"] or 0), etag=_etag(row.get("ETag")))
            except ValueError:
                raise ManifestError(f"{where}: key {name} has a Size that is not a number",
                                    hint=INVENTORY_HINT) from None
    return InventoryReport(source_bucket=source_bucket, captured_at=datetime.fromtimestamp(created / 1000, UTC),
                           files=len(files), objects=objects)
