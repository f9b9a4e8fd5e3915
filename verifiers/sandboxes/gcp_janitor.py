"""`restoreproof janitor --cloud gcp`: find the temporary Cloud SQL instances a run left behind (a killed CI job,
a failed delete) by the harness's label, and delete those older than a threshold. Listing is the default;
deleting needs --delete, as for AWS (verifiers/sandboxes/aws_janitor.py).

Only instances labelled restoreproof-temporary=true *and* named with the harness's prefix are considered (the
label is asked of the API as a filter and checked again here). Age comes from the restoreproof-created label,
else the API's createTime; an instance of unknown age is listed but never deleted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
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
from verifiers.durations import format_duration

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
        return None if self.created is None else (now - self.created).total_seconds()

    def describe(self, now: datetime) -> str:
        age = self.age(now)
        when = ("age unknown" if age is None or self.created is None
                else f"created {self.created:%Y-%m-%dT%H:%M:%SZ}, {format_duration(age)} ago")
        return f"cloud sql instance {self.project}:{self.name} ({self.state}) of store {self.store or '?'}, {when}"


@dataclass
class Sweep:
    stale: list[Leftover]
    recent: list[Leftover]
    deleted: list[Leftover] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


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
          now: datetime | None = None, progress: Callable[[str], None] = lambda _line: None) -> Sweep:
    """Find the temporary instances; with `delete_them`, delete (and wait for) those older than `older_than`
    seconds. Raises CloudSqlApiError only if nothing could be listed."""
    now = now or datetime.now(UTC)
    found = leftovers(client, project)
    stale = [f for f in found if (age := f.age(now)) is not None and age >= older_than]
    result = Sweep(stale=stale, recent=[f for f in found if f not in stale])
    if not delete_them:
        return result
    for leftover in stale:
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
    from verifiers.durations import parse_duration
    from verifiers.errors import RestoreproofError, SandboxError

    try:
        older_than = parse_duration(args.older_than)
    except ValueError as exc:
        raise RestoreproofError(f"--older-than {args.older_than!r}: {exc}", hint="e.g. 30m, 6h or 2d") from None

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
    verb = "deleted" if args.delete else "would delete"
    for leftover in result.stale:
        if leftover in result.deleted or not args.delete:
            print(f"{verb}: {leftover.describe(now)}")
    for leftover in result.recent:
        print(f"kept (newer than {format_duration(older_than)}): {leftover.describe(now)}")
    for error in result.errors:
        print(f"restoreproof: error: janitor could not delete: {error}", file=sys.stderr)
    summary = (f"janitor: {len(result.stale)} Cloud SQL instance(s) labelled {LABEL_TEMPORARY}=true in project "
               f"{project} older than {format_duration(older_than)}")
    if not args.delete:
        summary += "; dry run, nothing deleted (pass --delete to delete them)" if result.stale else ""
    else:
        summary += f"; {len(result.deleted)} deleted"
    print(summary)
    return 2 if result.errors else 0
