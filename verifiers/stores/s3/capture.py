"""`restoreproof capture s3`: the manifest of a bucket (or prefix), read-only."""

from __future__ import annotations

import argparse
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import describe_error, permission_hint, s3_client
from verifiers.errors import CaptureError
from verifiers.stores.s3.manifest import capture_bucket, save_manifest


def run(args: argparse.Namespace) -> str:
    """`restoreproof capture s3`: write the manifest; say where."""
    client = s3_client(args.region, args.endpoint_url)
    try:
        manifest = capture_bucket(client, args.bucket, args.prefix)
    except (ClientError, BotoCoreError) as exc:
        raise CaptureError(f"cannot capture s3://{args.bucket}/{args.prefix}: {describe_error(exc)}",
                           hint=permission_hint(exc, "s3:ListBucket and s3:GetObject")) from None
    save_manifest(manifest, args.out)
    return f"manifest: {Path(args.out)}"
