"""Google Cloud Storage clients and errors: credentials from Application Default Credentials (the
GOOGLE_APPLICATION_CREDENTIALS file, gcloud's ADC, the metadata server); when env STORAGE_EMULATOR_HOST is set,
google-cloud-storage itself talks to that emulator with anonymous credentials."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from verifiers.errors import SourceError

if TYPE_CHECKING:
    from google.cloud.storage import Client

EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
READ_ROLES = "roles/storage.objectViewer on the bucket (storage.objects.list and storage.objects.get)"
BUCKET_ROLES = "storage.buckets.get on the bucket (e.g. roles/storage.legacyBucketReader) for its protection"
CREDENTIAL_HINT = ("run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS to a service "
                   "account key file, or run where a service account is attached")


class GcsCredentialsError(Exception):
    """No Application Default Credentials (google.auth raised before any request)."""


def gcs_client(project: str | None = None) -> Client:
    """A storage client; raises GcsCredentialsError (with google.auth's reason) when ADC are absent."""
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import storage

    try:
        if os.environ.get(EMULATOR_ENV):
            return storage.Client(project=project or "restoreproof-emulator")
        return storage.Client(project=project) if project else storage.Client()
    except DefaultCredentialsError as exc:
        raise GcsCredentialsError(str(exc).splitlines()[0]) from None


def gcs_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a GCS call raises for an answer (API errors), a transport failure or bad credentials."""
    import requests
    from google.api_core.exceptions import GoogleAPICallError
    from google.auth.exceptions import GoogleAuthError

    return GoogleAPICallError, GoogleAuthError, requests.RequestException, GcsCredentialsError


def gcs_error(store: str, what: str, exc: BaseException, *, missing_hint: str,
              actions: str = READ_ROLES) -> SourceError:
    """A GCS failure named by store and gs:// location, with the fix for its kind (access, missing, other)."""
    from google.api_core.exceptions import Forbidden, NotFound, Unauthorized
    from google.auth.exceptions import GoogleAuthError

    if isinstance(exc, GcsCredentialsError | GoogleAuthError | Unauthorized):
        return SourceError(f"store {store}: {what}: no usable Google credentials ({_short(exc)})",
                           hint=CREDENTIAL_HINT)
    if isinstance(exc, Forbidden):
        return SourceError(f"store {store}: {what}: access denied ({_short(exc)})",
                           hint=f"grant the harness's identity {actions}")
    if isinstance(exc, NotFound):
        return SourceError(f"store {store}: {what}: not found", hint=missing_hint)
    return SourceError(f"store {store}: {what}: {_short(exc)}",
                       hint=f"check the network path to Cloud Storage (or {EMULATOR_ENV}) and run again")


def _short(exc: BaseException) -> str:
    """The first line of an error, without the request URL google-api-core puts in front (it may carry a
    signed query string)."""
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(text).splitlines()[0][:300]
