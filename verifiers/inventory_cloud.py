"""Inventory models of the Google Cloud Storage and Azure Blob Storage sources, and the protection settings of
a bucket/container store. Kept out of inventory.py so that file stays about the shared shape of a store."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GcsSource(_Model):
    """A backup in GCS: the newest object under `prefix` whose name (after the prefix) matches `pattern`.
    Credentials: Application Default Credentials; env STORAGE_EMULATOR_HOST points the client at an emulator."""

    type: Literal["gcs"]
    bucket: str = Field(min_length=3, max_length=222)
    prefix: str = ""
    pattern: str = Field(default="*", min_length=1, description="glob over the object name after `prefix`")
    manifest: str | None = Field(
        default=None, description="manifest object name; default: the artifact's name with .manifest.json")
    project: str | None = Field(default=None, description="billing project; default: the ADC project")


class AzureBlobSource(_Model):
    """A backup in Azure Blob Storage: the newest blob under `prefix` whose name matches `pattern`.
    Credentials: env AZURE_STORAGE_CONNECTION_STRING, else DefaultAzureCredential (env, managed identity, CLI)."""

    type: Literal["azure-blob"]
    account_url: str = Field(pattern=r"^https?://", description="https://ACCOUNT.blob.core.windows.net")
    container: str = Field(min_length=3, max_length=63)
    prefix: str = ""
    pattern: str = Field(default="*", min_length=1, description="glob over the blob name after `prefix`")
    manifest: str | None = Field(
        default=None, description="manifest blob name; default: the artifact's name with .manifest.json")


class GcsBucketSource(_Model):
    """A GCS bucket (or a prefix of one) itself: the copy to verify against the manifest captured from it."""

    type: Literal["gcs-bucket"]
    bucket: str = Field(min_length=3, max_length=222)
    prefix: str = ""
    manifest: str = Field(min_length=1, description="manifest path (relative to the inventory) or gs:// URL")
    project: str | None = None


class AzureContainerSource(_Model):
    """An Azure Blob container (or a prefix of one) itself, verified against the manifest captured from it."""

    type: Literal["azure-container"]
    account_url: str = Field(pattern=r"^https?://", description="https://ACCOUNT.blob.core.windows.net")
    container: str = Field(min_length=3, max_length=63)
    prefix: str = ""
    manifest: str = Field(min_length=1, description="manifest path (relative to the inventory)")


class BucketProtection(_Model):
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


