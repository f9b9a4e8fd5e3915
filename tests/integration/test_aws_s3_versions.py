"""The s3 store kind on a versioned bucket against moto's server: `as_of` compares the versions current at the
backup time (later changes do not count, earlier ones do), and `restore` copies them into a scratch prefix that is
verified and then deleted, also when verification fails or the run is interrupted."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from boto3.s3.transfer import TransferConfig

from tests.aws_support import MotoServer, harness_leftovers
from tests.conftest import failed
from verifiers.errors import InventoryError
from verifiers.inventory import parse_inventory
from verifiers.runner import StoreOutcome, plan_store, run_store
from verifiers.stores.s3 import copy_restore
from verifiers.stores.s3.manifest import capture_bucket, save_manifest

PREFIX = "exports/"
OBJECTS = {f"{PREFIX}part-{i:03d}.csv": f"id,amount\n{i},{i * 10}\n".encode() for i in range(6)}
KEYS = sorted(OBJECTS)


def _empty(bucket: str) -> None:
    client = boto3.client("s3")
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            client.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])


def scratch_leftovers(bucket: str) -> list[str]:
    """Every version or delete marker under the scratch prefix: must be none after any run."""
    page = boto3.client("s3").list_object_versions(Bucket=bucket, Prefix="restoreproof-scratch/")
    return [e["Key"] for e in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]


@pytest.fixture
def bucket(aws: MotoServer, request: pytest.FixtureRequest) -> Iterator[str]:
    name = "rp-ver-" + request.node.name.lower().replace("_", "-")[5:40].strip("-")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for key, body in OBJECTS.items():
        s3.put_object(Bucket=name, Key=key, Body=body)
    yield name
    _empty(name)
    s3.delete_bucket(Bucket=name)


@pytest.fixture
def manifest(bucket: str, tmp_path: Path) -> Path:
    path = tmp_path / "exports.manifest.json"
    save_manifest(capture_bucket(boto3.client("s3"), bucket, PREFIX), path)
    time.sleep(1.1)  # S3 LastModified has one-second resolution: later writes must be visibly later
    return path


def verify(tmp_path: Path, bucket: str, manifest: Path, *, as_of: str | None = "manifest",
           **settings: object) -> StoreOutcome:
    source: dict[str, object] = {"type": "s3-bucket", "bucket": bucket, "prefix": PREFIX, "manifest": manifest.name}
    if as_of is not None:
        source["as_of"] = as_of
    store = {"name": "exports", "kind": "s3", "rto": "15m", "rpo": "30d", "source": source, **settings}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    return run_store(plan_store(inventory.stores[0], inventory.base_dir))


def change_after_backup(bucket: str) -> None:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=KEYS[0], Body=b"rewritten after the backup")
    s3.delete_object(Bucket=bucket, Key=KEYS[1])
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}part-new.csv", Body=b"new after the backup")


def test_changes_after_the_backup_time_do_not_count(tmp_path: Path, bucket: str, manifest: Path) -> None:
    change_after_backup(bucket)
    assert verify(tmp_path, bucket, manifest, as_of=None).status == "failed"  # the bucket as it is now differs
    outcome = verify(tmp_path, bucket, manifest)
    assert outcome.status == "passed", failed(outcome) or outcome.error
    record = outcome.as_evidence()
    assert record["artifact"]["objects"] == str(len(OBJECTS))
    assert record["artifact"]["as_of"].startswith(str(datetime.now(UTC).year))


def test_a_version_changed_before_the_backup_time_fails(tmp_path: Path, bucket: str, manifest: Path) -> None:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=KEYS[2], Body=OBJECTS[KEYS[2]].replace(b"20", b"21"))  # same size
    s3.delete_object(Bucket=bucket, Key=KEYS[3])
    as_of = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()  # a backup time after these changes
    outcome = verify(tmp_path, bucket, manifest, as_of=as_of)
    assert outcome.status == "failed"
    problems = failed(outcome)
    assert problems["objects:changed"] == f"1 changed under s3://{bucket}/{PREFIX}: {KEYS[2]}"
    assert problems["objects:missing"] == f"1 missing under s3://{bucket}/{PREFIX}: {KEYS[3]}"


def test_restore_copies_into_a_scratch_prefix_verifies_it_and_deletes_it(tmp_path: Path, aws: MotoServer,
                                                                        bucket: str, manifest: Path) -> None:
    change_after_backup(bucket)  # the as-of versions, not the current ones, are what is copied
    outcome = verify(tmp_path, bucket, manifest, restore={"prefix": "restoreproof-scratch/"})
    assert outcome.status == "passed", failed(outcome) or outcome.error
    record = outcome.as_evidence()
    assert set(record["rto"]["phases"]) >= {"fetch", "restore", "verify", "teardown"}
    scratch = record["sandbox"]["scratch"]
    assert scratch.startswith(f"s3://{bucket}/restoreproof-scratch/")
    assert record["sandbox"]["copied_objects"] == str(len(OBJECTS))
    count = next(c for c in record["checks"] if c["check"] == "object_count")
    assert count["subject"] == scratch
    assert scratch_leftovers(bucket) == []
    assert harness_leftovers(aws.url) == []


def test_a_failing_copy_verification_still_deletes_the_scratch_prefix(tmp_path: Path, bucket: str,
                                                                         manifest: Path) -> None:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=KEYS[4], Body=b"changed before the backup time")
    outcome = verify(tmp_path, bucket, manifest, as_of=None, restore={})
    assert outcome.status == "failed"
    assert set(failed(outcome)) == {"objects:changed"}
    assert failed(outcome)["objects:changed"].endswith(f": {KEYS[4]}")
    assert scratch_leftovers(bucket) == []


def test_interrupted_restore_deletes_the_scratch_prefix(tmp_path: Path, bucket: str, manifest: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    real_copy = copy_restore.ScratchCopy.copy

    def copy_then_interrupt(self: copy_restore.ScratchCopy, listing: dict[str, dict[str, object]]) -> None:
        real_copy(self, dict(list(listing.items())[:3]))
        assert scratch_leftovers(bucket), "the copy should have started"
        raise KeyboardInterrupt

    monkeypatch.setattr(copy_restore.ScratchCopy, "copy", copy_then_interrupt)
    outcome = verify(tmp_path, bucket, manifest, restore={})
    assert outcome.interrupted and outcome.status != "passed"
    assert outcome.error is not None and outcome.error["phase"] == "restore"
    assert scratch_leftovers(bucket) == []


def test_a_large_object_is_copied_in_parts_as_of_its_version(bucket: str) -> None:
    """boto3's managed copy above its threshold is a multipart copy (UploadPartCopy), which S3 needs above 5 GiB;
    here the threshold is 5 MiB (S3's smallest part), so an 11 MiB object copies in three parts, from the
    version the listing names although a newer one exists."""
    s3 = boto3.client("s3")
    big = os.urandom(11 * (1 << 20))
    key = f"{PREFIX}big.bin"
    version = s3.put_object(Bucket=bucket, Key=key, Body=big)["VersionId"]
    s3.put_object(Bucket=bucket, Key=key, Body=b"overwritten after the backup")
    listing: dict[str, dict[str, object]] = {key: {"bytes": len(big), "version_id": version},
                                             KEYS[0]: {"bytes": len(OBJECTS[KEYS[0]])}}
    client = boto3.client("s3")
    calls: list[str] = []
    client.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    parts = TransferConfig(multipart_threshold=5 * (1 << 20), multipart_chunksize=5 * (1 << 20))
    with copy_restore.scratch_copy(client, listing, store="exports", source_bucket=bucket, source_prefix=PREFIX,
                                   bucket=bucket, base_prefix="restoreproof-scratch/", transfer=parts) as scratch:
        assert scratch.copied == 2
        assert calls.count("UploadPartCopy") == 3 and calls.count("CompleteMultipartUpload") == 1
        assert calls.count("CopyObject") == 1  # the small object: one request, as below the threshold
        copied = s3.get_object(Bucket=bucket, Key=scratch.scratch_key(key))
        assert hashlib.sha256(copied["Body"].read()).digest() == hashlib.sha256(big).digest()
        assert copied["ETag"].endswith('-3"')
        assert scratch.listing()[key]["bytes"] == len(big)
    assert scratch_leftovers(bucket) == []


@pytest.mark.parametrize("as_of", ["yesterday", "2026-11-01T00:00:00"])
def test_bad_as_of_is_an_inventory_error(tmp_path: Path, as_of: str) -> None:
    store = {"name": "exports", "kind": "s3", "rto": "15m", "rpo": "30d",
             "source": {"type": "s3-bucket", "bucket": "rp-any", "manifest": "m.json", "as_of": as_of}}
    with pytest.raises(InventoryError, match="as_of"):
        parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
