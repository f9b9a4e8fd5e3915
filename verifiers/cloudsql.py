"""The Cloud SQL Admin API (sqladmin v1) for the cloudsql-backup source, its temporary instances and the janitor:
the client, the labels that mark what the harness created, waiting on long-running operations, and errors.

The client is google-api-python-client's discovery client built from the discovery document the package ships
(`static_discovery=True`): building it needs no network. Credentials are Application Default Credentials; when
env RESTOREPROOF_SQLADMIN_ENDPOINT is set the client talks to that endpoint with anonymous credentials (the
tests' fake of the API, tests/cloudsql_support.py), as STORAGE_EMULATOR_HOST does for GCS.

The SDK (the `gcp` extra) is imported at the top: the modules that import this one are reached only through
`needed_by` (verifiers/extras.py), so a missing SDK is named by its extra when they load.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

# googleapiclient first: without the extra, the ModuleNotFoundError names it (the `google` namespace is no extra's)
import googleapiclient.discovery
import googleapiclient.errors
import httplib2
from google.api_core.exceptions import RetryError
from google.api_core.retry import Retry, if_exception_type
from google.auth import default as default_credentials
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError

from verifiers.errors import RestoreproofError

if TYPE_CHECKING:
    from googleapiclient._apis.sqladmin.v1 import SQLAdminResource
    from googleapiclient._apis.sqladmin.v1.schemas import Operation

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
ENDPOINT_ENV = "RESTOREPROOF_SQLADMIN_ENDPOINT"
SCOPE = "https://www.googleapis.com/auth/sqlservice.admin"
# Labels (keys and values: lowercase letters, digits, `-` and `_`, at most 63 characters) on every instance the
# harness creates: the janitor lists by LABEL_TEMPORARY and reads the age from LABEL_CREATED.
LABEL_TEMPORARY = "restoreproof-temporary"
LABEL_RUN = "restoreproof-run"
LABEL_STORE = "restoreproof-store"
LABEL_CREATED = "restoreproof-created"
CREATED_FORMAT = "%Y%m%dt%H%M%Sz"  # labels allow no `:` nor upper case
NAME_PREFIX = "restoreproof-"
TEMPORARY_FILTER = f"settings.userLabels.{LABEL_TEMPORARY}:true"
API_RETRIES = 3  # googleapiclient retries 429/5xx and connection errors this often, with its own backoff
ADMIN_ROLE = "roles/cloudsql.admin"
PERMISSIONS = ("cloudsql.backupRuns.list, cloudsql.instances.get, cloudsql.instances.create, "
               "cloudsql.instances.restoreBackup, cloudsql.users.update, cloudsql.instances.delete")
CREDENTIAL_HINT = ("run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS to a service "
                   "account key file, or run where a service account is attached (in CI: workload identity "
                   "federation)")


class CloudSqlApiError(RestoreproofError):
    """A Cloud SQL Admin API request failed; `status` is its HTTP status (0: no answer, or no credentials)."""

    def __init__(self, message: str, *, hint: str | None = None, status: int = 0) -> None:
        self.status = status
        super().__init__(message, hint=hint)


class OperationTimeout(CloudSqlApiError):
    """An operation was not DONE within its timeout."""


@dataclass(frozen=True)
class Polling:
    """How operations.get is polled: exponential backoff from `initial` to `maximum` seconds."""

    initial: float = 5.0
    maximum: float = 30.0
    multiplier: float = 1.5


POLLING = Polling()  # Cloud SQL operations take minutes; the tests poll faster


def sqladmin_client() -> SQLAdminResource:
    """A sqladmin v1 client from the shipped discovery document. Raises CloudSqlApiError when there are no
    Application Default Credentials."""
    endpoint = os.environ.get(ENDPOINT_ENV)
    if endpoint:
        anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]  # google-auth leaves it unannotated
        return googleapiclient.discovery.build("sqladmin", "v1", credentials=anonymous, static_discovery=True,
                                               client_options={"api_endpoint": endpoint}, cache_discovery=False)
    try:
        credentials, _project = default_credentials(scopes=[SCOPE])
    except DefaultCredentialsError as exc:
        raise CloudSqlApiError(f"no Google Application Default Credentials ({str(exc).splitlines()[0]})",
                               hint=CREDENTIAL_HINT) from None
    return googleapiclient.discovery.build("sqladmin", "v1", credentials=credentials, static_discovery=True,
                                           cache_discovery=False)


class Request(Protocol[T_co]):
    """A built request of the discovery client (its typed stubs: one HttpRequest subclass per response type)."""

    def execute(self, http: Any = ..., num_retries: int = ...) -> T_co: ...


def api_call(request: Request[T], what: str) -> T:
    """Execute one request (retrying 429, 5xx and connection errors API_RETRIES times); any failure becomes
    CloudSqlApiError naming `what` was asked, with the fix for its kind (credentials, permission, not found)."""
    try:
        return request.execute(num_retries=API_RETRIES)
    except googleapiclient.errors.HttpError as exc:
        status = int(exc.resp.status)
        reason = _short(exc.reason if isinstance(exc.reason, str) and exc.reason else str(exc))
        raise CloudSqlApiError(f"{what}: HTTP {status} {reason}", hint=_status_hint(status),
                               status=status) from None
    except GoogleAuthError as exc:
        raise CloudSqlApiError(f"{what}: no usable Google credentials ({_short(str(exc))})",
                               hint=CREDENTIAL_HINT) from None
    except (httplib2.HttpLib2Error, OSError) as exc:
        raise CloudSqlApiError(f"{what}: the Cloud SQL Admin API does not answer ({_short(str(exc))})",
                               hint=f"check the network path to sqladmin.googleapis.com (or {ENDPOINT_ENV})") from None


def _status_hint(status: int) -> str | None:
    if status in (401, 403):
        return f"grant the harness's identity {ADMIN_ROLE} on the project (or the permissions {PERMISSIONS})"
    if status == 404:
        return "check stores.source.project and instance (`gcloud sql instances list --project …`)"
    return None


def _short(text: str) -> str:
    return text.splitlines()[0][:300] if text else "?"


class OperationPending(Exception):
    """An operation is not DONE yet (what the backoff retries on)."""

    def __init__(self, operation: Operation) -> None:
        self.operation = operation
        super().__init__(operation.get("status", "?"))


def wait_operation(client: SQLAdminResource, project: str, operation: Operation, *, timeout: float,
                   what: str) -> Operation:
    """Poll operations.get with exponential backoff (google.api_core's Retry) until the operation is DONE.
    Raises CloudSqlApiError naming the operation when it failed, or is not done within `timeout` seconds."""
    name = operation.get("name", "?")

    def poll() -> Operation:
        current = api_call(client.operations().get(project=project, operation=name),
                           f"{what}: operations.get {name}")
        if current.get("status") != "DONE":
            raise OperationPending(current)
        return current

    if operation.get("status") == "DONE":
        done = operation
    else:
        retry = Retry(predicate=if_exception_type(OperationPending), initial=POLLING.initial,
                      maximum=POLLING.maximum, multiplier=POLLING.multiplier, timeout=timeout)
        try:
            done = retry(poll)()
        except RetryError as exc:
            last = exc.cause.operation.get("status", "?") if isinstance(exc.cause, OperationPending) else "?"
            raise OperationTimeout(f"{what}: operation {name} was not done within {timeout:.0f}s (status {last})",
                                   hint=f"follow it with `gcloud sql operations describe {name} --project "
                                   f"{project}`; raise restore_timeout if the instance is large") from None
    errors = done.get("error", {}).get("errors", [])
    if errors:
        detail = "; ".join(f"{e.get('code', '?')}: {e.get('message', '')}".strip() for e in errors)
        raise CloudSqlApiError(f"{what}: operation {name} failed: {_short(detail)}",
                               hint=_operation_hint(errors[0].get("code", "")))
    return done


def _operation_hint(code: str) -> str | None:
    if "PERMISSION" in code.upper() or "NOT_AUTHORIZED" in code.upper():
        return _status_hint(403)
    return None


def temporary_name(store: str) -> str:
    """`restoreproof-<store>-<random>`: a valid Cloud SQL instance name (lowercase letters, digits and hyphens,
    starting with a letter), never reused (Cloud SQL keeps a deleted name for a week)."""
    slug = re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", store.lower())).strip("-")[:40] or "store"
    return f"{NAME_PREFIX}{slug}-{secrets.token_hex(4)}"


def label_value(text: str) -> str:
    """`text` as a label value: lowercase letters, digits, `-` and `_`, at most 63 characters."""
    return re.sub(r"[^a-z0-9_-]", "-", text.lower())[:63]


def temporary_labels(run_id: str, store: str, now: datetime | None = None) -> dict[str, str]:
    return {LABEL_TEMPORARY: "true", LABEL_RUN: label_value(run_id), LABEL_STORE: label_value(store),
            LABEL_CREATED: (now or datetime.now(UTC)).astimezone(UTC).strftime(CREATED_FORMAT)}


def created_from_labels(labels: dict[str, str], fallback: str | None) -> datetime | None:
    """When a temporary instance was created: its LABEL_CREATED, else the API's createTime, else unknown."""
    try:
        return datetime.strptime(labels.get(LABEL_CREATED, ""), CREATED_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat((fallback or "").replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None
