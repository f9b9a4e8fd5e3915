"""PostgreSQL from a Cloud SQL backup: restored by Cloud SQL into a temporary instance (the shared flow in
verifiers/stores/cloudsql_backup.py), then measured and judged exactly like a restored pg_dump (same
measure_conninfo, same judge) against the manifest captured when the backup was taken.

The data plane is the temporary instance's IP (private with `network`, else public) over TLS as the built-in
`postgres` user with the random password the harness set; or `endpoint_override`, a libpq DSN used as given (a
tunnel; in the tests a local PostgreSQL server while a fake of the Admin API plays the control plane). The Cloud
SQL connectors are not used: they need the instance's IAM-authorised certificate exchange and an extra dependency,
where a direct TLS connection with the harness's own password works on both IP types (docs/cloudsql.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo

from verifiers.checks import CheckResult
from verifiers.inventory_cloud import CloudSqlBackupSource
from verifiers.sandboxes.cloudsql import CloudSqlSandbox, Login
from verifiers.sources import Artifact, Located
from verifiers.stores import cloudsql_backup
from verifiers.stores.base import KindPlan, StorePlan, StoreVerification
from verifiers.stores.postgres.compare import data_specs
from verifiers.stores.postgres.manifest import PostgresManifest, load_manifest
from verifiers.stores.postgres.service_restore import (
    CONNECT_TIMEOUT_SECONDS,
    DEFAULT_DATABASE,
    measure_restored,
    probe_instance,
)
from verifiers.stores.postgres.settings import PostgresStore
from verifiers.timing import RestoreTimer


def plan_cloudsql(store: PostgresStore, source: CloudSqlBackupSource, located: Located) -> StorePlan:
    return cloudsql_backup.plan_backup(store, located, engine="postgres",
                                       load=lambda path: load_manifest(path, store=store.name),
                                       data_specs=lambda manifest: data_specs(store, manifest.facts),
                                       kind_plan=lambda manifest: PostgresCloudSqlPlan(store, source, manifest))


@dataclass(frozen=True)
class PostgresCloudSqlPlan(KindPlan):
    """A Cloud SQL for PostgreSQL backup restored by Cloud SQL, measured like a restored dump."""

    store: PostgresStore
    source: CloudSqlBackupSource
    manifest: PostgresManifest

    def restore_and_judge(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
                          result: StoreVerification) -> list[CheckResult]:
        store, manifest, source = self.store, self.manifest, self.source

        def measure(_sandbox: CloudSqlSandbox, login: Login) -> list[CheckResult]:
            conninfo = data_plane(login, source)
            probe_connection(conninfo, store.name)
            return measure_restored(conninfo, store, manifest, artifact.manifest_path, timer)

        return cloudsql_backup.verify_backup(plan, source, artifact, timer, result, measure=measure)


def data_plane(login: Login, source: CloudSqlBackupSource) -> str:
    """Where to measure: `endpoint_override` when set, else the instance over TLS with the harness's password."""
    if source.endpoint_override:
        return source.endpoint_override
    return make_conninfo(host=login.host, port=login.port, dbname=source.database or DEFAULT_DATABASE,
                         user=login.user, password=login.password, sslmode="require",
                         connect_timeout=CONNECT_TIMEOUT_SECONDS)


def probe_connection(conninfo: str, store: str) -> None:
    """Connect once before measuring, so an unreachable instance gets its own fix."""
    probe_instance(conninfo, store, instance="the temporary Cloud SQL instance", hint=cloudsql_backup.CONNECT_HINT)
