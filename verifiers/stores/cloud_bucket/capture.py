"""`restoreproof capture gcs|azure-blob`: the manifest of a GCS bucket or Azure container (or prefix),
read-only (GCS: storage.objects.list/get; Azure: Storage Blob Data Reader)."""

from __future__ import annotations

import argparse
from pathlib import Path

from verifiers.azure_storage import azure_error, azure_errors, blob_service
from verifiers.errors import CaptureError, SourceError
from verifiers.gcp import gcs_client, gcs_error, gcs_errors
from verifiers.stores.cloud_bucket.manifest import AzureReader, GcsReader, capture_objects, save_manifest


def run(args: argparse.Namespace) -> str:
    """`restoreproof capture gcs|azure-blob`: write the manifest and say where; errors become
    CaptureError naming what was read and the fix."""
    try:
        if args.kind == "gcs":
            where = f"gs://{args.bucket}/{args.prefix}"
            try:
                manifest = capture_objects(GcsReader(gcs_client(args.project), args.bucket, args.prefix),
                                           kind="gcs", bucket=args.bucket, prefix=args.prefix)
            except gcs_errors() as exc:
                raise gcs_error("capture", f"cannot capture {where}", exc,
                                missing_hint="check --bucket and --prefix") from None
        else:
            where = f"{args.account_url.rstrip('/')}/{args.container}/{args.prefix}"
            try:
                reader = AzureReader(blob_service(args.account_url).get_container_client(args.container), args.prefix)
                manifest = capture_objects(reader, kind="azure-blob", bucket=args.container, prefix=args.prefix,
                                           account_url=args.account_url)
            except azure_errors() as exc:
                raise azure_error("capture", f"cannot capture {where}", exc,
                                  missing_hint="check --account-url, --container and --prefix") from None
    except SourceError as exc:
        raise CaptureError(exc.message.removeprefix("store capture: "), hint=exc.hint) from None
    save_manifest(manifest, args.out)
    return f"manifest: {Path(args.out)}"
