"""The inventory settings of a gcs or azure-blob store."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from verifiers.setting_types import StrictModel
from verifiers.store_settings import StoreSettings


class BucketProtection(StrictModel):
    """[stores.protection]: how the bucket/container itself is kept, judged with the comparison (no restore)."""

    versioning: bool = Field(default=True, description="object versioning or soft delete is on")
    public_access_blocked: bool = Field(default=True, description="no anonymous read access")
    encryption: bool = Field(default=True, description="report the encryption at rest (always on in both clouds)")
    kms_key: str | None = Field(default=None, description="and require this customer-managed key (GCS: the "
                                "bucket's default KMS key name; Azure: the container's default encryption scope)")

    @model_validator(mode="after")
    def _kms_needs_encryption(self) -> BucketProtection:
        if self.kms_key is not None and not self.encryption:
            raise ValueError("`kms_key` is checked by the encryption check; leave `encryption` on")
        return self


class _CloudBucketStore(StoreSettings):
    """A GCS bucket or Azure container compared with a captured manifest (as s3), plus its protection."""

    FILE_SOURCES: ClassVar[frozenset[str]] = frozenset()
    NO_SQL_ASSERTIONS: ClassVar[str | None] = "a bucket or container store"
    sample: int = Field(default=10, ge=1, le=1000, description="object names listed per missing/extra/changed check")
    protection: BucketProtection = Field(default_factory=BucketProtection)


class GcsStore(_CloudBucketStore):
    DEFAULT_SUITE: ClassVar[str] = "gcs"
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset({"gcs-bucket"})
    kind: Literal["gcs"]


class AzureBlobStore(_CloudBucketStore):
    DEFAULT_SUITE: ClassVar[str] = "azure-blob"
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset({"azure-container"})
    kind: Literal["azure-blob"]


SETTINGS = (GcsStore, AzureBlobStore)
