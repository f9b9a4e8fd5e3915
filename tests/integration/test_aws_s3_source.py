"""S3 as a source (against moto's server over HTTP): the newest matching object is streamed to the work dir,
hashed, checked against its S3 checksum, and restored like a local file; every failure names bucket and key."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from moto.backends import get_backend
from moto.core.authorization import enable_iam_authentication

from tests.aws_support import MotoServer
from tests.conftest import Capture, failed
from verifiers import aws as aws_clients
from verifiers.errors import SourceError
from verifiers.inventory import parse_inventory
from verifiers.runner import PlanFailure, StoreOutcome, plan_store, run_store
from verifiers.sources import sha256_file
from verifiers.sources.s3 import S3Objects
from verifiers.store_settings import S3Source

pytestmark = pytest.mark.usefixtures("aws")
PREFIX = "backups/saas/"
MOTO_ACCOUNT = "123456789012"


@pytest.fixture
def bucket(aws: MotoServer, request: pytest.FixtureRequest) -> Iterator[str]:
    name = "rp-" + request.node.name.lower().replace("_", "-")[:40]
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    yield name
    for obj in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


def upload_backup(bucket: str, capture: Capture, *, name: str | None = None, checksum: str = "SHA256") -> str:
    s3 = boto3.client("s3")
    key = PREFIX + (name or capture.dump.name)
    extra: dict[str, Any] = {"ChecksumAlgorithm": checksum} if checksum else {}
    s3.put_object(Bucket=bucket, Key=key, Body=capture.dump.read_bytes(), **extra)
    manifest_key = key.removesuffix(".dump") + ".manifest.json"
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=capture.manifest.read_bytes())
    return key


def verify_s3(tmp_path: Path, bucket: str, **source: object) -> StoreOutcome:
    src = {"type": "s3", "bucket": bucket, "prefix": PREFIX, "pattern": "saas-*.dump", **source}
    store = {"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d", "source": src}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    return run_store(plan_store(inventory.stores[0], inventory.base_dir))


def stored_key(bucket: str, key: str) -> Any:
    """moto's in-process record of an object (its server runs in this process)."""
    return get_backend("s3")[MOTO_ACCOUNT]["aws"].buckets[bucket].keys[key]


@pytest.mark.postgres
def test_backup_in_s3_restores_and_passes(tmp_path: Path, bucket: str, demo_capture: Capture) -> None:
    key = upload_backup(bucket, demo_capture)
    outcome = verify_s3(tmp_path, bucket)
    assert outcome.status == "passed", failed(outcome)
    record = outcome.as_evidence()
    assert record["artifact"]["path"] == f"s3://{bucket}/{key}"
    assert record["artifact"]["sha256"] == sha256_file(demo_capture.dump)
    assert record["artifact"]["s3_checksum"] == "SHA256 matches S3"
    assert record["rto"]["phases"]["fetch"] > 0


def test_newest_matching_object_wins_and_manifests_are_not_artifacts(tmp_path: Path, bucket: str) -> None:
    s3 = boto3.client("s3")
    for key in ("saas-20250101.dump", "saas-20250102.dump", "saas-20250102.manifest.json", "other-20250103.dump"):
        s3.put_object(Bucket=bucket, Key=PREFIX + key, Body=key.encode())
    s3.put_object(Bucket=bucket, Key="elsewhere/saas-20250104.dump", Body=b"outside the prefix")
    source = S3Source(type="s3", bucket=bucket, prefix=PREFIX, pattern="saas-*.dump")
    located = S3Objects().locate(source, base_dir=tmp_path, store="saas")
    assert located.location == f"s3://{bucket}/{PREFIX}saas-20250102.dump"
    assert located.manifest_path is not None
    assert located.manifest_path.read_bytes() == b"saas-20250102.manifest.json"  # downloaded at locate time
    artifact = S3Objects().fetch(located, store="saas", work_dir=tmp_path)
    assert artifact.path.read_bytes() == b"saas-20250102.dump"
    assert artifact.path.is_relative_to(tmp_path)


def test_multipart_etag_is_never_taken_for_a_content_hash(tmp_path: Path, bucket: str) -> None:
    big = tmp_path / "saas-big.dump"
    big.write_bytes(os.urandom(6 * 1024 * 1024))  # two parts of S3's 5 MiB minimum
    s3 = boto3.client("s3")
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_file(str(big), bucket, PREFIX + big.name, Config=config)
    s3.put_object(Bucket=bucket, Key=PREFIX + "saas-big.manifest.json", Body=b"{}")
    assert "-" in s3.head_object(Bucket=bucket, Key=PREFIX + big.name)["ETag"]
    source = S3Source(type="s3", bucket=bucket, prefix=PREFIX, pattern="saas-*.dump")
    located = S3Objects().locate(source, base_dir=tmp_path, store="saas")
    artifact = S3Objects().fetch(located, store="saas", work_dir=tmp_path / "work")
    assert artifact.sha256 == sha256_file(big)
    assert artifact.bytes == big.stat().st_size
    assert "MD5" not in artifact.details["s3_checksum"]
    assert "matches" not in artifact.details["s3_checksum"]  # a composite checksum or nothing: never "verified"


def ranged_gets(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Range of every GetObject the source sends (its clients come from verifiers.aws.s3_client)."""
    ranges: list[str] = []
    real = aws_clients.s3_client

    def recording(region: str | None = None, endpoint_url: str | None = None) -> Any:
        client = real(region, endpoint_url)
        client.meta.events.register("before-call.s3.GetObject",
                                    lambda params, **_: ranges.append(params.get("headers", {}).get("Range", "")))
        return client

    monkeypatch.setattr("verifiers.sources.s3.s3_client", recording)
    return ranges


SMALL_PARTS = TransferConfig(multipart_threshold=1 << 20, multipart_chunksize=1 << 20)


def test_a_large_object_downloads_in_parallel_ranges_and_is_checked_whole(tmp_path: Path, bucket: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3's download_file above its threshold: ranged GETs in parallel (1 MiB here), written where they
    belong; the sha256 and the object's S3 checksum are then computed over the whole file."""
    body = os.urandom(4 * (1 << 20) + 4321)
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=PREFIX + "saas-1.dump", Body=body, ChecksumAlgorithm="SHA256")
    s3.put_object(Bucket=bucket, Key=PREFIX + "saas-1.manifest.json", Body=b"{}")
    ranges = ranged_gets(monkeypatch)
    source = S3Source(type="s3", bucket=bucket, prefix=PREFIX, pattern="saas-*.dump")
    objects = S3Objects(transfer=SMALL_PARTS)
    located = objects.locate(source, base_dir=tmp_path, store="saas")
    ranges.clear()  # locate's GET of the manifest
    artifact = objects.fetch(located, store="saas", work_dir=tmp_path / "work")
    assert sorted(ranges) == [*(f"bytes={i << 20}-{((i + 1) << 20) - 1}" for i in range(4)), f"bytes={4 << 20}-"]
    assert artifact.path.read_bytes() == body and artifact.bytes == len(body)
    assert artifact.sha256 == hashlib.sha256(body).hexdigest()
    assert artifact.details["s3_checksum"] == "SHA256 matches S3"


def test_a_large_object_changed_behind_its_checksum_fails_the_ranged_fetch(tmp_path: Path, bucket: str,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    body = os.urandom(3 * (1 << 20))
    s3 = boto3.client("s3")
    key = PREFIX + "saas-1.dump"
    s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm="SHA256")
    s3.put_object(Bucket=bucket, Key=PREFIX + "saas-1.manifest.json", Body=b"{}")
    stored = stored_key(bucket, key)
    stored.value = body[:-1] + bytes([body[-1] ^ 0xFF])  # same size, the stored SHA256 now describes other bytes
    ranges = ranged_gets(monkeypatch)
    source = S3Source(type="s3", bucket=bucket, prefix=PREFIX, pattern="saas-*.dump")
    objects = S3Objects(transfer=SMALL_PARTS)
    located = objects.locate(source, base_dir=tmp_path, store="saas")
    with pytest.raises(SourceError) as raised:
        objects.fetch(located, store="saas", work_dir=tmp_path / "work")
    assert len([r for r in ranges if r]) == 3
    assert raised.value.describe().startswith(f"store saas: s3://{bucket}/{key} MISMATCH: SHA256 ")
    assert "S3 says" in raised.value.describe() and "run again" in raised.value.describe()


def test_object_changed_behind_its_checksum_fails_the_fetch(tmp_path: Path, bucket: str,
                                                            demo_capture: Capture) -> None:
    key = upload_backup(bucket, demo_capture)
    stored = stored_key(bucket, key)
    data = bytearray(stored.value)
    data[len(data) // 2] ^= 0xFF
    stored.value = bytes(data)  # same size, the stored SHA256 checksum now describes other bytes
    outcome = verify_s3(tmp_path, bucket)
    assert outcome.status == "error"
    assert outcome.error is not None
    assert outcome.error["phase"] == "fetch"
    assert outcome.error["message"].startswith(f"store saas: s3://{bucket}/{key} does not match its S3 checksum")
    assert "restore from an older backup" in outcome.error["message"]


def test_single_part_object_without_checksum_is_compared_by_md5(tmp_path: Path, bucket: str) -> None:
    s3 = boto3.client("s3", config=Config(request_checksum_calculation="when_required"))
    s3.put_object(Bucket=bucket, Key=PREFIX + "saas-1.dump", Body=b"backup bytes")
    s3.put_object(Bucket=bucket, Key=PREFIX + "saas-1.manifest.json", Body=b"{}")
    source = S3Source(type="s3", bucket=bucket, prefix=PREFIX, pattern="saas-*.dump")
    located = S3Objects().locate(source, base_dir=tmp_path, store="saas")
    artifact = S3Objects().fetch(located, store="saas", work_dir=tmp_path)
    assert artifact.details["s3_checksum"] == "MD5 matches the single-part ETag"


def test_no_matching_object_names_bucket_prefix_and_pattern(tmp_path: Path, bucket: str) -> None:
    outcome = verify_s3(tmp_path, bucket)
    assert outcome.status == "error"
    assert outcome.error is not None
    assert outcome.error["message"].startswith(f"store saas: no object in s3://{bucket}/{PREFIX} matches 'saas-*.dump'")


def test_missing_bucket_is_named_with_the_fix(tmp_path: Path, aws: MotoServer) -> None:
    plan = plan_store(parse_inventory({"stores": [{
        "name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d",
        "source": {"type": "s3", "bucket": "rp-no-such-bucket"}}]}, tmp_path / "i.toml").stores[0], tmp_path)
    assert isinstance(plan, PlanFailure)
    assert "s3://rp-no-such-bucket/" in plan.message
    assert "NoSuchBucket" in plan.message
    assert "check stores.source.bucket" in plan.message


def test_missing_manifest_beside_the_backup_is_named(tmp_path: Path, bucket: str) -> None:
    boto3.client("s3").put_object(Bucket=bucket, Key=PREFIX + "saas-1.dump", Body=b"x")
    source = S3Source(type="s3", bucket=bucket, prefix=PREFIX, pattern="saas-*.dump")
    with pytest.raises(SourceError, match=rf"cannot read manifest s3://{bucket}/{PREFIX}saas-1.manifest.json"):
        S3Objects().locate(source, base_dir=tmp_path, store="saas")


def test_access_denied_names_the_bucket_and_the_permissions(tmp_path: Path, bucket: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    boto3.client("s3").put_object(Bucket=bucket, Key=PREFIX + "saas-1.dump", Body=b"x")
    iam = boto3.client("iam")
    user = f"reader-{bucket}"[:64]
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="no-s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "rds:Describe*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    source = S3Source(type="s3", bucket=bucket, prefix=PREFIX, pattern="saas-*.dump")
    try:
        with enable_iam_authentication(), pytest.raises(SourceError) as raised:
            S3Objects().locate(source, base_dir=tmp_path, store="saas")
    finally:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
        iam.delete_user_policy(UserName=user, PolicyName="no-s3")
        iam.delete_user(UserName=user)
    message = raised.value.describe()
    assert message.startswith(f"store saas: cannot list s3://{bucket}/{PREFIX}: AccessDenied")
    assert "s3:ListBucket and s3:GetObject" in message
    assert key["SecretAccessKey"] not in message
