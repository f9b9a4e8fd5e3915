"""GCP discovery against the fake Cloud SQL Admin API (tests/cloudsql_support.py: instances.list as documented,
paged) and the GCS emulator: names and labels filter, the harness's temporary instances are left out, paging is
followed, and a denied listing is unknown with the missing permission. The emulator lists bucket names only (no
labels, no project): bucket label filters are tested on Cloud SQL only."""

from __future__ import annotations

import secrets

from google.cloud import storage

from tests.cloud_support import GcsEmulator, gcs, gcs_emulator  # noqa: F401 - fixtures
from tests.cloudsql_support import SqlAdminServer, sqladmin  # noqa: F401 - the fixture
from verifiers.discovery.gcp import discover_gcp
from verifiers.discovery.settings import GcpDiscovery


def test_cloudsql_instances_filtered_by_name_and_labels(sqladmin: SqlAdminServer) -> None:  # noqa: F811 - the fixture
    fake = sqladmin.fake
    fake.page_size = 2  # three pages for five instances
    fake.add_instance("prod-orders", labels={"env": "prod"}, region="europe-west1")
    fake.add_instance("prod-ledger", labels={"env": "prod", "team": "finance"}, region="us-central1")
    fake.add_instance("prod-scratch", labels={"env": "dev"})
    fake.add_instance("analytics", labels={"env": "prod"})
    fake.add_instance("restoreproof-orders-1a2b", labels={"env": "prod", "restoreproof-temporary": "true"})
    found = discover_gcp(GcpDiscovery(projects=["acme-prod"], services=["cloudsql"], names=["prod-*"],
                                      labels={"env": "prod"}))
    assert found.unknown == []
    assert [(r.id, r.ref, r.region) for r in found.resources] == [
        ("projects/acme-prod/instances/prod-orders", "cloudsql:acme-prod/prod-orders", "europe-west1"),
        ("projects/acme-prod/instances/prod-ledger", "cloudsql:acme-prod/prod-ledger", "us-central1")]
    assert len(fake.called("sql.instances.list")) == 3  # every page was read


def test_a_denied_cloudsql_listing_is_unknown(sqladmin: SqlAdminServer) -> None:  # noqa: F811 - the fixture
    sqladmin.fake.fail_http["sql.instances.list"] = (403, "The client is not authorized to make this request.")
    found = discover_gcp(GcpDiscovery(projects=["acme-prod"], services=["cloudsql"]))
    (unknown,) = found.unknown
    assert (unknown.service, unknown.region, unknown.permission) == ("cloudsql", "acme-prod",
                                                                     "cloudsql.instances.list")
    assert "HTTP 403" in unknown.reason and found.resources == []


def test_gcs_buckets_by_name(gcs: GcsEmulator) -> None:  # noqa: F811 - the fixture
    prefix = f"disc{secrets.token_hex(3)}"
    client = storage.Client(project="acme-prod")
    for name in ("assets", "backups"):
        client.create_bucket(f"{prefix}-{name}")
    try:
        found = discover_gcp(GcpDiscovery(projects=["acme-prod"], services=["gcs"], names=[f"{prefix}-a*"]))
        assert found.unknown == []
        assert [(r.id, r.ref) for r in found.resources] == [(f"gs://{prefix}-assets", f"gcs:{prefix}-assets")]
    finally:
        for name in ("assets", "backups"):
            client.bucket(f"{prefix}-{name}").delete()


def test_an_unknown_gcp_service_names_its_project(sqladmin: SqlAdminServer) -> None:  # noqa: F811 - the fixture
    sqladmin.fake.fail_http["sql.instances.list"] = (403, "The client is not authorized to make this request.")
    (unknown,) = discover_gcp(GcpDiscovery(projects=["acme-prod"], services=["cloudsql"])).unknown
    assert unknown.describe().startswith("gcp cloudsql in project acme-prod: unknown: permission "
                                         "cloudsql.instances.list is missing (discovery: instances.list in project "
                                         "acme-prod: HTTP 403")
