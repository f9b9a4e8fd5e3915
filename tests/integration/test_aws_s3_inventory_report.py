"""The s3 store kind with an S3 Inventory report as the reference (reference = "s3-inventory") against moto's
server. moto does not deliver inventories, so the report is written here in the documented format: a
manifest.json naming gzip'd CSV files (with their MD5) in a destination bucket, keys URL-encoded."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_plus

import boto3
import pytest

from tests.aws_support import MotoServer
from tests.conftest import failed
from verifiers.inventory import parse_inventory
from verifiers.runner import PlanFailure, StoreOutcome, plan_store, run_store
from verifiers.stores.base import StorePlan

PREFIX = "exports/"
OBJECTS = {f"{PREFIX}2026/part {i:03d}.csv": f"id,amount\n{i},{i * 10}\n".encode() for i in range(8)}
KEYS = sorted(OBJECTS)
SCHEMA = "Bucket, Key, Size, LastModifiedDate, ETag, IsMultipartUploaded, ChecksumAlgorithm"
REPORTS = "rp-inventory-reports"


@pytest.fixture
def buckets(aws: MotoServer, request: pytest.FixtureRequest) -> Iterator[str]:
    name = "rp-inv-" + request.node.name.lower().replace("_", "-")[5:40].strip("-")
    s3 = boto3.client("s3")
    for bucket in (name, REPORTS):
        s3.create_bucket(Bucket=bucket)
    for key, body in OBJECTS.items():
        s3.put_object(Bucket=name, Key=key, Body=body)
    yield name
    for bucket in (name, REPORTS):
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)


def write_report(bucket: str, tmp_path: Path, *, damage: bool = False, multipart_row: bool = True) -> Path:
    """The bucket's inventory as S3 would deliver it, in two CSV files; returns the local manifest.json."""
    s3 = boto3.client("s3")
    rows = []
    for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        rows.append([bucket, quote_plus(obj["Key"]), str(obj["Size"]), obj["LastModified"].isoformat(),
                     obj["ETag"].strip('"'), "FALSE", "CRC64NVME"])
    if multipart_row:  # a multipart object not in the bucket (moto's own ETags here are single-part)
        rows.append([bucket, quote_plus(f"{PREFIX}big.bin"), "104857600", "2026-11-01T00:00:00.000Z",
                     "0123456789abcdef0123456789abcdef-12", "TRUE", "CRC64NVME"])
    files = []
    for number, part in enumerate((rows[::2], rows[1::2])):
        text = io.StringIO()
        csv.writer(text, quoting=csv.QUOTE_ALL).writerows(part)
        data = gzip.compress(text.getvalue().encode())
        key = f"{bucket}/inventory/2026-11-27T01-00Z/files/part-{number}.csv.gz"
        s3.put_object(Bucket=REPORTS, Key=key, Body=data[:-4] if damage and number else data)
        files.append({"key": key, "size": len(data), "MD5checksum": hashlib.md5(data).hexdigest()})  # noqa: S324
    manifest = {"sourceBucket": bucket, "destinationBucket": f"arn:aws:s3:::{REPORTS}", "version": "2016-11-30",
                "creationTimestamp": str(int(time.time() * 1000)), "fileFormat": "CSV", "fileSchema": SCHEMA,
                "files": files}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return path


def store_plan(tmp_path: Path, bucket: str, report: Path, **settings: object) -> StorePlan | PlanFailure:
    store = {"name": "exports", "kind": "s3", "rto": "15m", "rpo": "30d",
             "source": {"type": "s3-bucket", "bucket": bucket, "prefix": PREFIX, "manifest": report.name,
                        "reference": "s3-inventory"}, **settings}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    return plan_store(inventory.stores[0], inventory.base_dir)


def objects_failed(outcome: StoreOutcome) -> set[str]:
    """The failed per-kind checks (object_count fails too whenever the counts differ)."""
    return {name for name in failed(outcome) if name.startswith("objects:")}


def verify(tmp_path: Path, bucket: str, report: Path, **settings: object) -> StoreOutcome:
    plan = store_plan(tmp_path, bucket, report, **settings)
    assert not isinstance(plan, PlanFailure), plan.message
    return run_store(plan)


def test_bucket_matching_its_inventory_passes_and_multipart_etags_are_not_compared(tmp_path: Path,
                                                                                   buckets: str) -> None:
    outcome = verify(tmp_path, buckets, write_report(buckets, tmp_path, multipart_row=False))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    assert outcome.as_evidence()["artifact"]["objects"] == str(len(OBJECTS))
    assert outcome.as_evidence()["artifact"]["reference"] == "s3-inventory"
    report = write_report(buckets, tmp_path)
    s3 = boto3.client("s3")
    s3.put_object(Bucket=buckets, Key=f"{PREFIX}big.bin", Body=b"x" * 1024)  # same key, size differs
    outcome = verify(tmp_path, buckets, report)
    assert set(failed(outcome)) == {"objects:changed"}, failed(outcome)  # counts agree: 9 and 9
    assert failed(outcome)["objects:changed"].endswith(f": {PREFIX}big.bin")  # by size: ETag is multipart
    s3.delete_object(Bucket=buckets, Key=f"{PREFIX}big.bin")
    outcome = verify(tmp_path, buckets, report)
    assert objects_failed(outcome) == {"objects:missing"}
    report = write_report(buckets, tmp_path)
    outcome = verify(tmp_path, buckets, report, restore={})  # the restore-by-copy checked against the report
    assert objects_failed(outcome) == {"objects:missing"}, failed(outcome)  # big.bin is in no bucket
    assert outcome.as_evidence()["sandbox"]["copied_objects"] == str(len(OBJECTS))
    assert "Contents" not in s3.list_objects_v2(Bucket=buckets, Prefix="restoreproof-scratch/")  # unversioned


def test_changed_missing_and_extra_against_the_inventory(tmp_path: Path, buckets: str) -> None:
    report = write_report(buckets, tmp_path)  # its multipart big.bin row is missing from the bucket
    s3 = boto3.client("s3")
    s3.put_object(Bucket=buckets, Key=KEYS[1], Body=OBJECTS[KEYS[1]].replace(b"10", b"11"))  # same size: ETag
    s3.put_object(Bucket=buckets, Key=KEYS[2], Body=b"shorter")
    s3.delete_object(Bucket=buckets, Key=KEYS[3])
    s3.put_object(Bucket=buckets, Key=f"{PREFIX}late.csv", Body=b"after the inventory")
    outcome = verify(tmp_path, buckets, report)
    problems = failed(outcome)
    assert objects_failed(outcome) == {"objects:changed", "objects:missing", "objects:extra"}
    assert problems["objects:changed"] == f"2 changed under s3://{buckets}/{PREFIX}: {KEYS[1]}, {KEYS[2]}"
    assert problems["objects:missing"].startswith("2 missing under")
    assert KEYS[3] in problems["objects:missing"]
    assert problems["objects:extra"].endswith(f": {PREFIX}late.csv")


def test_a_damaged_report_fails_the_plan_naming_the_file(tmp_path: Path, buckets: str) -> None:
    report = write_report(buckets, tmp_path, damage=True)
    plan = store_plan(tmp_path, buckets, report)
    assert isinstance(plan, PlanFailure)
    assert "part-1.csv.gz does not match its MD5checksum" in plan.message
    report.write_text(json.dumps({"sourceBucket": buckets}), encoding="utf-8")
    plan = store_plan(tmp_path, buckets, report)
    assert isinstance(plan, PlanFailure)
    assert "is not an S3 Inventory manifest.json" in plan.message
