"""The s3 store kind against moto's server: a bucket equal to its captured manifest passes; a changed, a missing
and an extra object each fail their own check, counted and named by key (never by content)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.aws_support import MotoServer
from tests.conftest import failed
from verifiers.inventory import parse_inventory
from verifiers.runner import StoreOutcome, plan_store, run_store
from verifiers.stores.s3.manifest import capture_bucket, save_manifest

PREFIX = "exports/"
OBJECTS = {f"{PREFIX}2026/11/part-{i:03d}.csv": f"id,amount\n{i},{i * 10}\n".encode() for i in range(12)}


@pytest.fixture
def bucket(aws: MotoServer, request: pytest.FixtureRequest) -> Iterator[str]:
    name = "rp-store-" + request.node.name.lower().replace("_", "-")[5:40].strip("-")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    for key, body in OBJECTS.items():
        s3.put_object(Bucket=name, Key=key, Body=body)
    s3.put_object(Bucket=name, Key="outside/the-prefix.csv", Body=b"not verified")
    yield name
    for obj in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


@pytest.fixture
def manifest(bucket: str, tmp_path: Path) -> Path:
    path = tmp_path / "exports.manifest.json"
    save_manifest(capture_bucket(boto3.client("s3"), bucket, PREFIX), path)
    return path


def verify_bucket(tmp_path: Path, bucket: str, manifest: Path, **settings: object) -> StoreOutcome:
    store = {"name": "exports", "kind": "s3", "rto": "15m", "rpo": "30d",
             "source": {"type": "s3-bucket", "bucket": bucket, "prefix": PREFIX, "manifest": manifest.name},
             **settings}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    return run_store(plan_store(inventory.stores[0], inventory.base_dir))


def test_unchanged_bucket_passes(tmp_path: Path, bucket: str, manifest: Path) -> None:
    outcome = verify_bucket(tmp_path, bucket, manifest)
    assert outcome.status == "passed", failed(outcome) or outcome.error
    assert outcome.store.suite_name == "s3"
    record = outcome.as_evidence()
    assert record["artifact"]["path"] == f"s3://{bucket}/{PREFIX}"
    assert record["artifact"]["objects"] == "12"
    assert {c["check"] for c in record["checks"]} == {"object_count", "objects", "rto", "rpo"}
    assert set(record["rto"]["phases"]) == {"fetch", "verify"}


def test_changed_missing_and_extra_objects_fail_their_checks(tmp_path: Path, bucket: str, manifest: Path) -> None:
    s3 = boto3.client("s3")
    keys = sorted(OBJECTS)
    s3.put_object(Bucket=bucket, Key=keys[3], Body=OBJECTS[keys[3]].replace(b"30", b"31"))  # same size
    s3.put_object(Bucket=bucket, Key=keys[4], Body=b"truncated")
    s3.delete_object(Bucket=bucket, Key=keys[5])
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}2026/11/part-999.csv", Body=b"new")
    outcome = verify_bucket(tmp_path, bucket, manifest)
    assert outcome.status == "failed"
    problems = failed(outcome)
    assert set(problems) == {"objects:missing", "objects:changed", "objects:extra"}
    assert problems["objects:changed"] == f"2 changed under s3://{bucket}/{PREFIX}: {keys[3]}, {keys[4]}"
    assert problems["objects:missing"] == f"1 missing under s3://{bucket}/{PREFIX}: {keys[5]}"
    assert problems["objects:extra"].endswith(f"{PREFIX}2026/11/part-999.csv")
    count = next(c for c in outcome.checks if c.check == "object_count")
    assert (count.observed, count.expected, count.passed) == (12, 12, True)  # one gone, one added
    assert "id,amount" not in str(outcome.as_evidence())  # contents never enter the evidence


def test_key_samples_are_bounded(tmp_path: Path, bucket: str, manifest: Path) -> None:
    s3 = boto3.client("s3")
    for key in sorted(OBJECTS)[:5]:
        s3.delete_object(Bucket=bucket, Key=key)
    outcome = verify_bucket(tmp_path, bucket, manifest, sample=2)
    message = failed(outcome)["objects:missing"]
    assert message.startswith(f"5 missing under s3://{bucket}/{PREFIX}: ")
    assert message.endswith("… and 3 more")


def test_capture_cli_writes_the_manifest_the_store_verifies(tmp_path: Path, bucket: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from verifiers.cli import main

    out = tmp_path / "captured.manifest.json"
    assert main(["capture", "s3", "--bucket", bucket, "--prefix", PREFIX, "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"manifest: {out}"
    outcome = verify_bucket(tmp_path, bucket, out)
    assert outcome.status == "passed", failed(outcome)
    assert main(["capture", "s3", "--bucket", "rp-no-such-bucket", "--out", str(out)]) == 2
    assert "cannot capture s3://rp-no-such-bucket/: NoSuchBucket" in capsys.readouterr().err
