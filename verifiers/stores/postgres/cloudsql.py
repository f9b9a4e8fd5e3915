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

import psycopg
from psycopg.conninfo import make_conninfo

from verifiers.checks import DATABASE_SUBJECT, CheckResult, CheckSpec
from verifiers.errors import SandboxError
from verifiers.inventory_cloud import CloudSqlBackupSource
from verifiers.sandboxes.cloudsql import CloudSqlSandbox, Login
from verifiers.sources import Artifact, Located
from verifiers.stores import cloudsql_backup
from verifiers.stores.base import KindPlan, StorePlan, StoreVerification, selected_tables
from verifiers.stores.postgres import corruption
from verifiers.stores.postgres.compare import judge, measure_conninfo, sample_plan
from verifiers.stores.postgres.manifest import PostgresManifest, load_manifest
from verifiers.stores.postgres.restore import redact
from verifiers.stores.postgres.settings import PostgresStore
from verifiers.timing import RestoreTimer

CONNECT_TIMEOUT_SECONDS = 30
DEFAULT_DATABASE = "postgres"


def plan_cloudsql(store: PostgresStore, source: CloudSqlBackupSource, located: Located) -> StorePlan:
    def data_specs(manifest: PostgresManifest) -> list[CheckSpec]:
        specs = [CheckSpec("tables", "tables")]
        for table in selected_tables(store.tables, manifest.facts):
            specs += [CheckSpec("row_count", table), CheckSpec("checksum", table), CheckSpec("schema", table)]
        specs.append(CheckSpec("schema", DATABASE_SUBJECT))
        specs += [CheckSpec("sequence", name) for name in sorted(manifest.facts.sequences)]
        return specs + ([corruption.SPEC] if store.amcheck else [])

    return cloudsql_backup.plan_backup(store, located, engine="postgres",
                                       load=lambda path: load_manifest(path, store=store.name), data_specs=data_specs,
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
            methods = {name: t.method for name, t in manifest.facts.tables.items()}
            sampled = sample_plan(store, manifest.facts, artifact.manifest_path)
            facts, assertion_results = measure_conninfo(conninfo, store, methods, manifest.facts, sampled=sampled,
                                                        steps=timer)
            judged = judge(store, manifest.facts, facts, sampled) + assertion_results
            if store.amcheck:  # the backup's pages are production's: an index corrupted there is found here
                judged.append(corruption.check_indexes(conninfo, budget=store.amcheck_budget, store=store.name))
            return judged

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
    try:
        psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
    except psycopg.Error as exc:
        raise SandboxError(f"store {store}: cannot connect to the temporary Cloud SQL instance: "
                           f"{redact(str(exc).strip())}", hint=cloudsql_backup.CONNECT_HINT) from None
