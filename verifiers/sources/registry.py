"""Every source type, by its inventory `type`: the one registry (one line per module). Kept apart from the
package, whose modules import its shared types, so that the package and its modules form no import cycle."""

from __future__ import annotations

from verifiers.sources import Source
from verifiers.store_settings import AnySource

_SOURCES: dict[str, Source] = {}


def source_for(source: AnySource) -> Source:
    """The implementation of a source type. Its modules (and their cloud SDKs) are imported on first use, as
    the store kinds are (see verifiers/stores/registry.py); tests/unit/test_import_cycles.py counts these too."""
    if not _SOURCES:
        from verifiers.sources.azure_blob import AzureBlobs, AzureContainers
        from verifiers.sources.dynamodb_backup import DynamoDbBackups
        from verifiers.sources.file import FileArtifacts
        from verifiers.sources.gcs import GcsBuckets, GcsObjects
        from verifiers.sources.rds_snapshot import RdsSnapshots
        from verifiers.sources.s3 import S3Objects
        from verifiers.sources.s3_bucket import S3Buckets

        _SOURCES.update({"file": FileArtifacts(), "s3": S3Objects(), "rds-snapshot": RdsSnapshots(),
                         "s3-bucket": S3Buckets(), "dynamodb-backup": DynamoDbBackups(), "gcs": GcsObjects(),
                         "gcs-bucket": GcsBuckets(), "azure-blob": AzureBlobs(), "azure-container": AzureContainers()})
    return _SOURCES[source.type]
