"""`restoreproof capture gcs|azure-blob`: the manifest of a GCS bucket or Azure container (or prefix),
read-only (GCS: storage.objects.list/get; Azure: Storage Blob Data Reader)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from verifiers.azure_storage import azure_error, azure_errors, blob_service
from verifiers.errors import CaptureError, SourceError
from verifiers.gcp import gcs_client, gcs_error, gcs_errors
from verifiers.stores.cloud_bucket.manifest import AzureReader, GcsReader, capture_objects, save_manifest


def add_parsers(kinds: Any) -> None:
    gcs = kinds.add_parser("gcs", help="manifest of a GCS bucket/prefix: every object name, size and sha256 "
                           "(reads each object; credentials from Application Default Credentials)")
    gcs.add_argument("--bucket", required=True)
    gcs.add_argument("--prefix", default="", help="only objects under this prefix")
    gcs.add_argument("--out", required=True, type=Path, help="manifest file to write (JSON)")
    gcs.add_argument("--project", help="billing project (default: the ADC project)")
    az = kinds.add_parser("azure-blob", help="manifest of an Azure Blob container/prefix: every blob name, size "
                          "and sha256 (AZURE_STORAGE_CONNECTION_STRING, else DefaultAzureCredential)")
    az.add_argument("--account-url", required=True, help="https://ACCOUNT.blob.core.windows.net")
    az.add_argument("--container", required=True)
    az.add_argument("--prefix", default="", help="only blobs under this prefix")
    az.add_argument("--out", required=True, type=Path, help="manifest file to write (JSON)")


def run(args: Any) -> Path:
    """Capture and write the manifest; errors become CaptureError naming what was read and the fix."""
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
    return Path(args.out)
