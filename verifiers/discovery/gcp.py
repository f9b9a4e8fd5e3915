"""Google Cloud discovery: Cloud SQL instances (Admin API instances.list) and GCS buckets. Not implemented yet:
every configured service is reported unknown, so a `[discovery.gcp]` never passes as empty."""

from __future__ import annotations

from verifiers.discovery.resources import Discovered, Unknown
from verifiers.discovery.settings import GcpDiscovery


def discover_gcp(settings: GcpDiscovery) -> Discovered:
    return Discovered(unknown=[Unknown("gcp", service, project, "GCP discovery is not implemented in this release")
                               for project in settings.projects for service in settings.services])
