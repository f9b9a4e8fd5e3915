"""Google Cloud discovery: Cloud SQL instances (Admin API instances.list, paged) and Cloud Storage buckets, per
project, filtered by name and labels. The harness's own temporary Cloud SQL instances are left out.

A denied or failed listing makes that service in that project *unknown*, naming the IAM permission it needed;
never "empty".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from google.api_core.exceptions import Forbidden, Unauthorized

from verifiers.cloudsql import LABEL_TEMPORARY, CloudSqlApiError, api_call, sqladmin_client
from verifiers.discovery.permissions import GCP_PERMISSIONS
from verifiers.discovery.resources import Discovered, Resource, Unknown, filter_tags, selected
from verifiers.discovery.settings import GcpDiscovery
from verifiers.gcp import gcs_client, gcs_errors

if TYPE_CHECKING:
    from googleapiclient._apis.sqladmin.v1.schemas import InstancesListResponse

LIST_PAGE = 500


def discover_gcp(settings: GcpDiscovery) -> Discovered:
    found = Discovered()
    for project in settings.projects:
        if "cloudsql" in settings.services:
            try:
                found.resources += _cloudsql(settings, project)
            except CloudSqlApiError as exc:
                permission = GCP_PERMISSIONS["cloudsql"] if exc.status in (401, 403) else None
                found.unknown.append(Unknown("gcp", "cloudsql", project, exc.message, permission))
        if "gcs" in settings.services:
            try:
                found.resources += _gcs(settings, project)
            except gcs_errors() as exc:
                found.unknown.append(Unknown("gcp", "gcs", project, _short(exc),
                                             GCP_PERMISSIONS["gcs"] if _denied(exc) else None))
    return found


def _cloudsql(settings: GcpDiscovery, project: str) -> list[Resource]:
    client = sqladmin_client()
    instances = client.instances()
    found: list[Resource] = []
    request: Any = instances.list(project=project, maxResults=LIST_PAGE)
    while request is not None:
        page: InstancesListResponse = api_call(request, f"discovery: instances.list in project {project}")
        for item in page.get("items", []):
            name = str(item.get("name", ""))
            labels = {str(k): str(v) for k, v in item.get("settings", {}).get("userLabels", {}).items()}
            if labels.get(LABEL_TEMPORARY) == "true":
                continue  # a restore's temporary instance, not production (the janitor sweeps leftovers)
            if selected(name, labels, names=settings.names, required=settings.labels):
                found.append(Resource("gcp", "cloudsql", f"projects/{project}/instances/{name}", name,
                                      item.get("region"), filter_tags(labels, settings.labels),
                                      ref_name=f"{project}/{name}"))
        request = instances.list_next(request, page)
    return found


def _gcs(settings: GcpDiscovery, project: str) -> list[Resource]:
    found = []
    for bucket in gcs_client(project).list_buckets():
        labels = {str(k): str(v) for k, v in (bucket.labels or {}).items()}
        if selected(bucket.name, labels, names=settings.names, required=settings.labels):
            location = str(bucket.location).lower() if bucket.location else None
            found.append(Resource("gcp", "gcs", f"gs://{bucket.name}", bucket.name, location,
                                  filter_tags(labels, settings.labels)))
    return found


def _denied(exc: BaseException) -> bool:
    return isinstance(exc, Forbidden | Unauthorized)


def _short(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(text).splitlines()[0][:300]
