"""Azure Blob Storage clients and errors: a connection string from env AZURE_STORAGE_CONNECTION_STRING (shared
key or SAS, e.g. Azurite's), else azure-identity's DefaultAzureCredential (env service principal, workload or
managed identity, Azure CLI)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from verifiers.errors import SourceError

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"
READ_ROLES = "the Storage Blob Data Reader role on the container (list and read blobs)"
CREDENTIAL_HINT = (f"set {CONNECTION_STRING_ENV}, or sign in for DefaultAzureCredential (AZURE_CLIENT_ID/"
                   "AZURE_TENANT_ID/AZURE_CLIENT_SECRET, a managed identity, or `az login`)")


def blob_service(account_url: str) -> BlobServiceClient:
    """A client of the account; a connection string must name the same account as the inventory, so that a
    stray environment never verifies another account's copy."""
    from azure.storage.blob import BlobServiceClient

    connection_string = os.environ.get(CONNECTION_STRING_ENV)
    if connection_string:
        try:
            client = BlobServiceClient.from_connection_string(connection_string)
        except ValueError:
            raise SourceError(f"{CONNECTION_STRING_ENV} is not a valid storage connection string",
                              hint="copy it from the storage account's Access keys page, or unset it") from None
        if client.url.rstrip("/") != account_url.rstrip("/"):
            raise SourceError(f"{CONNECTION_STRING_ENV} is for {client.url.rstrip('/')}, not {account_url}",
                              hint="set account_url in the inventory to that account, or unset the variable to use "
                              "DefaultAzureCredential")
        return client
    from azure.identity import DefaultAzureCredential

    return BlobServiceClient(account_url, credential=DefaultAzureCredential())


def azure_errors() -> tuple[type[BaseException], ...]:
    from azure.core.exceptions import AzureError

    return (AzureError,)


def azure_error(store: str, what: str, exc: BaseException, *, missing_hint: str,
                actions: str = READ_ROLES) -> SourceError:
    """An Azure failure named by store and blob URL, with the fix for its kind (credentials, access, missing)."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

    raw_code = getattr(exc, "error_code", None) or ""
    code = str(getattr(raw_code, "value", raw_code))  # a StorageErrorCode enum, or the service's string
    if isinstance(exc, ClientAuthenticationError) or code.startswith("Authentication"):
        return SourceError(f"store {store}: {what}: the credential was refused ({code or _short(exc)})",
                           hint=CREDENTIAL_HINT)
    if isinstance(exc, HttpResponseError) and exc.status_code == 403:
        return SourceError(f"store {store}: {what}: access denied ({code or 'HTTP 403'})",
                           hint=f"check the credential ({CONNECTION_STRING_ENV}'s key or SAS, or the identity "
                           f"DefaultAzureCredential found) and grant it {actions}")
    if isinstance(exc, ResourceNotFoundError):
        return SourceError(f"store {store}: {what}: not found ({code or 'HTTP 404'})", hint=missing_hint)
    return SourceError(f"store {store}: {what}: {_short(exc)}",
                       hint="check the network path to the storage account and run again")


def _short(exc: BaseException) -> str:
    text = getattr(exc, "reason", None) or getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(text).splitlines()[0][:300]
