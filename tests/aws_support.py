"""AWS for the tests: moto's standalone server over HTTP on 127.0.0.1 (a random port), dummy credentials, and
at the end of the session an assertion that nothing the harness creates is left in the moto account."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from verifiers.aws import SANDBOX_TAG, tag_dict

REGION = "us-east-1"


@dataclass(frozen=True)
class MotoServer:
    url: str


def harness_leftovers(url: str) -> list[str]:
    """Every instance, cluster, table or bucket in the moto account that the harness made (by tag or by name)."""
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    rds = session.client("rds", endpoint_url=url)
    found = [f"instance {i['DBInstanceIdentifier']}" for i in rds.describe_db_instances()["DBInstances"]
             if SANDBOX_TAG in tag_dict(i.get("TagList")) or i["DBInstanceIdentifier"].startswith("restoreproof-")]
    found += [f"cluster {c['DBClusterIdentifier']}" for c in rds.describe_db_clusters()["DBClusters"]
              if SANDBOX_TAG in tag_dict(c.get("TagList")) or c["DBClusterIdentifier"].startswith("restoreproof-")]
    found += [f"instance snapshot {s['DBSnapshotIdentifier']}" for s in rds.describe_db_snapshots()["DBSnapshots"]
              if s.get("DBInstanceIdentifier", "").startswith("restoreproof-")]
    dynamodb = session.client("dynamodb", endpoint_url=url)
    found += [f"table {name}" for name in dynamodb.list_tables()["TableNames"] if name.startswith("restoreproof-")]
    s3 = session.client("s3", endpoint_url=url)
    buckets = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    found += [f"bucket {name}" for name in buckets if name.startswith("restoreproof-")]
    for bucket in s3.list_buckets().get("Buckets", []):  # restore-by-copy scratch prefixes (default prefix)
        page = s3.list_object_versions(Bucket=bucket["Name"], Prefix="restoreproof-scratch/")
        found += [f"scratch object s3://{bucket['Name']}/{e['Key']}"
                  for e in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]
    return found


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        yield MotoServer(url)
        assert harness_leftovers(url) == [], "the harness left sandboxes behind in the moto account"
    finally:
        server.stop()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MotoServer:
    """This test talks to moto's server through the standard AWS config chain (env), as a user's run would."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("RESTOREPROOF_CACHE_DIR", str(tmp_path / "cache"))
    return moto_server
