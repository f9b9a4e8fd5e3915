"""Inventory models of the Google Cloud Storage, Cloud SQL and Azure Blob Storage sources.
Kept apart from store_settings.py, which joins them with the other sources."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, model_validator

from verifiers.setting_types import MANIFEST_TOLERANCE, Seconds, StrictModel


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


class CloudSqlBackupSource(StrictModel):
    """A Cloud SQL for PostgreSQL or MySQL backup run of `instance`, restored into a labelled temporary instance that is
    deleted afterwards (docs/cloudsql.md). Credentials: Application Default Credentials."""

    type: Literal["cloudsql-backup"]
    project: str = Field(pattern=r"^[a-z][a-z0-9:.-]{4,61}[a-z0-9]$", description="the Google Cloud project of "
                         "the source instance (the temporary instance is created there too)")
    instance: str = Field(pattern=r"^[a-z][a-z0-9-]{0,97}$", description="Cloud SQL instance whose backups to use")
    backup: str = Field(default="latest", pattern=r"^(latest|[0-9]+)$",
                        description='"latest" (the newest SUCCESSFUL backup run) or a backup run id')
    tier: str | None = Field(default=None, min_length=1, description="machine tier of the temporary instance, "
                             "e.g. db-custom-2-7680; default: the source instance's")
    region: str | None = Field(default=None, min_length=1, description="region of the temporary instance; "
                               "default: the source instance's")
    network: str | None = Field(default=None, pattern=r"^projects/[^/]+/global/networks/[^/]+$",
                                description="VPC network for a private IP only (projects/P/global/networks/N, "
                                "with private services access); the harness must run in that network")
    authorized_networks: list[str] = Field(default_factory=list, description="without `network`: the CIDRs "
                                           "(the runner's public egress) allowed to reach the public IP")
    database: str | None = Field(default=None, min_length=1, description="database to verify on the instance; "
                                 "default: postgres (postgres stores), the manifest's database (mysql stores)")
    endpoint_override: str | None = Field(
        default=None, description="DSN to measure instead of the restored instance (libpq for postgres, mysql://… "
        "for mysql), used with its own credentials, e.g. a tunnel")
    manifest: str | None = Field(default=None, description="manifest path (relative to the inventory) or gs:// URL: "
                                 "a file, a folder or a gs:// prefix of manifests")
    manifest_tolerance: Seconds = Field(
        default=MANIFEST_TOLERANCE, description="`manifest` a folder or gs:// prefix of many manifests (a single "
        "file is checked alike): the one recording the backup run's id (`capture --snapshot-id RUN_ID`), else the "
        "newest captured at most this long before the run's start")
    restore_timeout: Seconds | None = Field(default=None, description="bounds each wait (create, restore, "
                                            "delete); default: the store's restore_timeout")

    @model_validator(mode="after")
    def _reachable(self) -> CloudSqlBackupSource:
        for cidr in self.authorized_networks:
            try:
                ipaddress.ip_network(cidr)
            except ValueError as exc:
                raise ValueError(f"authorized_networks: {exc}") from None
        if self.network is not None and self.authorized_networks:
            raise ValueError("set `network` (private IP) or `authorized_networks` (public IP), not both")
        if self.network is None and not self.authorized_networks and self.endpoint_override is None:
            raise ValueError("the harness must reach the temporary instance: set `network` (a private IP in the VPC "
                             "the harness runs in) or `authorized_networks` (the runner's public egress CIDR)")
        return self
