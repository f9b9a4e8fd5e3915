"""Every source type, by its inventory `type`: the one registry (one line per module). Kept apart from the
package, whose modules import its shared types, so that the package and its modules form no import cycle."""

from __future__ import annotations

from verifiers.extras import needed_by
from verifiers.sources import Source
from verifiers.store_settings import AnySource

_SOURCES: dict[str, Source] = {}


def source_for(source: AnySource) -> Source:
    """The implementation of a source type. Its module (and its cloud SDK) is imported on first use, as the store
    kinds are (see verifiers/stores/registry.py); a missing SDK is the one-line error naming the extra to install
    (verifiers/extras.py). tests/unit/test_import_cycles.py counts these imports too."""
    if source.type not in _SOURCES:
        with needed_by(f"the {source.type} source type"):
            _SOURCES[source.type] = _load(source.type)
    return _SOURCES[source.type]


def _load(source_type: str) -> Source:
    if source_type == "file":
        from verifiers.sources.file import FileArtifacts

        return FileArtifacts()
    if source_type == "s3":
        from verifiers.sources.s3 import S3Objects

        return S3Objects()
    if source_type == "rds-snapshot":
        from verifiers.sources.rds_point_in_time import RdsRestorePoints

        return RdsRestorePoints()
    if source_type == "s3-bucket":
        from verifiers.sources.s3_bucket import S3Buckets

        return S3Buckets()
    if source_type == "dynamodb-backup":
        from verifiers.sources.dynamodb_backup import DynamoDbBackups

        return DynamoDbBackups()
    if source_type == "aws-backup":
        from verifiers.sources.aws_backup import AwsBackups

        return AwsBackups()
    if source_type in ("gcs", "gcs-bucket"):
        from verifiers.sources.gcs import GcsBuckets, GcsObjects

        return GcsObjects() if source_type == "gcs" else GcsBuckets()
    if source_type in ("azure-blob", "azure-container"):
        from verifiers.sources.azure_blob import AzureBlobs, AzureContainers

        return AzureBlobs() if source_type == "azure-blob" else AzureContainers()
    if source_type == "cloudsql-backup":
        from verifiers.sources.cloudsql_backup import CloudSqlBackups

        return CloudSqlBackups()
    raise KeyError(source_type)
