"""`restoreproof capture dynamodb`: a table's manifest (item count, checksum, key schema), read-only, and
optionally an on-demand backup taken right after the scan so both describe the same data."""

from __future__ import annotations

import argparse
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import describe_error, dynamodb_client, permission_hint
from verifiers.errors import CaptureError
from verifiers.stores.dynamodb.manifest import capture_table, save_manifest
from verifiers.stores.hash_ranges import check_segment_items


def run(args: argparse.Namespace) -> str:
    """`restoreproof capture dynamodb`: write the manifest (and take a backup); say where."""
    check_segment_items("dynamodb", "--segment-items", args.segment_items)
    client = dynamodb_client(args.region, args.endpoint_url)
    try:
        manifest = capture_table(client, args.table, segment_items=args.segment_items)
        backup = None
        if args.backup_name:
            backup = client.create_backup(TableName=args.table, BackupName=args.backup_name)["BackupDetails"][
                "BackupArn"]
    except (ClientError, BotoCoreError) as exc:
        raise CaptureError(f"cannot capture DynamoDB table {args.table}: {describe_error(exc)}",
                           hint=permission_hint(exc, "dynamodb:Scan, dynamodb:DescribeTable (and "
                                                "dynamodb:CreateBackup with --backup-name)")) from None
    save_manifest(manifest, args.out)
    return f"manifest: {Path(args.out)}" + (f"\nbackup:   {backup}" if backup else "")
