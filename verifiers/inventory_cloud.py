"""Inventory models of the Google Cloud Storage and Azure Blob Storage sources.
Kept apart from store_settings.py, which joins them with the other sources."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from verifiers.setting_types import StrictModel


class GcsSource(StrictModel):
    """A backup in GCS: the newest object under `prefix` whose name (after the prefix) matches `pattern`.
    Credentials: Application Default Credentials; env STORAGE_EMULATOR_HOST points the client at an emulator."""

    type: Literal["gcs"]
    bucket: str = Field(min_length=3, max_length=222)
    prefix: str = ""
    pattern: str = Field(default="*", min_length=1, description="glob over the object name after `prefix`")
    manifest: str | None = Field(
        default=None, description="manifest object name; default: the artifact's name with .manifest.json")
    project: str | None = Field(default=None, description="billing project; default: the ADC project")


class AzureBlobSource(StrictModel):
    """A backup in Azure Blob Storage: the newest blob under `prefix` whose name matches `pattern`.
    Credentials: env AZURE_STORAGE_CONNECTION_STRING, else DefaultAzureCredential (env, managed identity, CLI)."""

    type: Literal["azure-blob"]
    account_url: str = Field(pattern=r"^https?://", description="https://ACCOUNT.blob.core.windows.net")
    container: str = Field(min_length=3, max_length=63)
    prefix: str = ""
    pattern: str = Field(default="*", min_length=1, description="glob over the blob name after `prefix`")
    manifest: str | None = Field(
        default=None, description="manifest blob name; default: the artifact's name with .manifest.json")


class GcsBucketSource(StrictModel):
    """A GCS bucket (or a prefix of one) itself: the copy to verify against the manifest captured from it."""

    type: Literal["gcs-bucket"]
    bucket: str = Field(min_length=3, max_length=222)
    prefix: str = ""
    manifest: str = Field(min_length=1, description="manifest path (relative to the inventory) or gs:// URL")
    project: str | None = None


class AzureContainerSource(StrictModel):
    """An Azure Blob container (or a prefix of one) itself, verified against the manifest captured from it."""

    type: Literal["azure-container"]
    account_url: str = Field(pattern=r"^https?://", description="https://ACCOUNT.blob.core.windows.net")
    container: str = Field(min_length=3, max_length=63)
    prefix: str = ""
    manifest: str = Field(min_length=1, description="manifest path (relative to the inventory)")
