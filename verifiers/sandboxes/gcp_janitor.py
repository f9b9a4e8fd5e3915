"""`restoreproof janitor --cloud gcp`: find the temporary Cloud SQL instances a run left behind (a killed CI job,
a failed delete) by the harness's label, and delete those older than a threshold. Listing is the default;
deleting needs --delete, as for AWS (verifiers/sandboxes/aws_janitor.py).

Only instances labelled restoreproof-temporary=true *and* named with the harness's prefix are considered (the
label is asked of the API as a filter and checked again here). Age comes from the restoreproof-created label,
else the API's createTime; an instance of unknown age is listed but never deleted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from verifiers.cloudsql import (
    LABEL_STORE,
    LABEL_TEMPORARY,
    NAME_PREFIX,
    TEMPORARY_FILTER,
    CloudSqlApiError,
    api_call,
    created_from_labels,
    sqladmin_client,
    wait_operation,
)
from verifiers.errors import RestoreproofError, SandboxError
from verifiers.sandboxes.janitor_report import (
    Sweep,
    age_seconds,
    by_age,
    older_than_seconds,
    print_report,
    when_created,
)

if TYPE_CHECKING:
    from googleapiclient._apis.sqladmin.v1 import InstancesListResponseHttpRequest, SQLAdminResource

LIST_PAGE = 500
DELETE_TIMEOUT = 1800.0  # seconds to wait for one deletion
PROJECT_ENV = "GOOGLE_CLOUD_PROJECT"


@dataclass(frozen=True)
class Leftover:
    project: str
    name: str
    store: str
    state: str
    created: datetime | None

    def age(self, now: datetime) -> float | None:
        return age_seconds(self.created, now)

    def describe(self, now: datetime) -> str:
        return (f"cloud sql instance {self.project}:{self.name} ({self.state}) of store {self.store or '?'}, "
                f"{when_created(self.created, now)}")


def leftovers(client: SQLAdminResource, project: str) -> list[Leftover]:
    """The harness's temporary instances in `project` (not those already being deleted)."""
    found: list[Leftover] = []
    request: InstancesListResponseHttpRequest | None = client.instances().list(
        project=project, filter=TEMPORARY_FILTER, maxResults=LIST_PAGE)
    while request is not None:
        page = api_call(request, f"janitor: instances.list in project {project}")
        for item in page.get("items", []):
            labels = dict(item.get("settings", {}).get("userLabels", {}))
            name = str(item.get("name", ""))
            state = str(item.get("state", ""))
            if labels.get(LABEL_TEMPORARY) != "true" or not name.startswith(NAME_PREFIX) or state == "PENDING_DELETE":
                continue  # never an instance the harness did not make, whatever the filter returned
            found.append(Leftover(project, name, labels.get(LABEL_STORE, ""), state,
                                  created_from_labels(labels, item.get("createTime"))))
        request = client.instances().list_next(request, page)
    return found


def sweep(client: SQLAdminResource, project: str, *, older_than: float, delete_them: bool,
          now: datetime | None = None, progress: Callable[[str], None] = lambda _line: None) -> Sweep[Leftover]:
    """Find the temporary instances; with `delete_them`, delete (and wait for) those older than `older_than`
    seconds. Raises CloudSqlApiError only if nothing could be listed."""
    now = now or datetime.now(UTC)
    result = by_age(leftovers(client, project), now, older_than)
    if not delete_them:
        return result
    for leftover in result.stale:
        what = f"janitor: instances.delete {project}:{leftover.name}"
        try:
            operation = api_call(client.instances().delete(project=project, instance=leftover.name), what)
            wait_operation(client, project, operation, timeout=DELETE_TIMEOUT, what=what)
        except CloudSqlApiError as exc:
            if exc.status == 404:  # gone meanwhile
                result.deleted.append(leftover)
                continue
            result.errors.append(exc.describe())
            continue
        result.deleted.append(leftover)
        progress(f"deleted {leftover.describe(now)}")
    return result


def run(args: Any) -> int:
    """Exit 0 when every stale instance was listed (dry run) or deleted; 2 on any API error."""
    older_than = older_than_seconds(args.older_than)
    project = args.gcp_project or os.environ.get(PROJECT_ENV)
    if not project:
        raise RestoreproofError("janitor --cloud gcp: no Google Cloud project",
                                hint=f"pass --gcp-project PROJECT (or set {PROJECT_ENV})")
    now = datetime.now(UTC)
    try:
        result = sweep(sqladmin_client(), project, older_than=older_than, delete_them=args.delete, now=now)
    except CloudSqlApiError as exc:
        raise SandboxError(f"janitor: cannot list the Cloud SQL instances of project {project}: {exc.message}",
                           hint=exc.hint or "grant the identity cloudsql.instances.list (and "
                           "cloudsql.instances.delete to --delete)") from None
    return print_report(result, now=now, older_than=older_than, deleting=args.delete, could_not_delete=": ",
                        found=f"Cloud SQL instance(s) labelled {LABEL_TEMPORARY}=true in project {project}")
