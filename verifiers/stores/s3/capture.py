"""`restoreproof capture s3`: the manifest of a bucket (or prefix), read-only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import describe_error, permission_hint, s3_client
from verifiers.errors import CaptureError
from verifiers.stores.s3.manifest import capture_bucket, save_manifest


def add_parser(kinds: Any) -> None:
    s3 = kinds.add_parser("s3", help="manifest of an S3 bucket/prefix: every key, size and sha256 (reads each object)")
    s3.add_argument("--bucket", required=True)
    s3.add_argument("--prefix", default="", help="only keys under this prefix")
    s3.add_argument("--out", required=True, type=Path, help="manifest file to write (JSON)")
    s3.add_argument("--region", help="AWS region (default: the AWS config chain's)")
    s3.add_argument("--endpoint-url", help="AWS API endpoint (default: env AWS_ENDPOINT_URL, else AWS)")


def run(args: Any) -> Path:
    client = s3_client(args.region, args.endpoint_url)
    try:
        manifest = capture_bucket(client, args.bucket, args.prefix)
    except (ClientError, BotoCoreError) as exc:
        raise CaptureError(f"cannot capture s3://{args.bucket}/{args.prefix}: {describe_error(exc)}",
                           hint=permission_hint(exc, "s3:ListBucket and s3:GetObject")) from None
    save_manifest(manifest, args.out)
    return Path(args.out)
