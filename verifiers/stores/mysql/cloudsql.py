"""MySQL from a Cloud SQL for MySQL backup: restored by Cloud SQL into a temporary instance (the shared flow in
verifiers/stores/cloudsql_backup.py), then measured and judged exactly like a restored dump (same
measure_connected, same judge) against the manifest `capture mysql` wrote when the backup was taken.

The data plane is the temporary instance's IP over TLS as the built-in `root`@`%` user with the random password
the harness set; or `endpoint_override`, a MySQL DSN used with its own credentials (a tunnel; in the tests a
local MariaDB while a fake of the Admin API plays the control plane). No Cloud SQL connector (docs/cloudsql.md).
"""

from __future__ import annotations

import dataclasses
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import Cursor

from verifiers.checks import CheckResult
from verifiers.errors import CaptureError, ManifestError, SandboxError, SourceError
from verifiers.inventory_cloud import CloudSqlBackupSource
from verifiers.sandboxes.cloudsql import CloudSqlSandbox, Login
from verifiers.sources import Artifact, Located
from verifiers.stores import cloudsql_backup
from verifiers.stores.base import KindPlan, StorePlan, StoreVerification
from verifiers.stores.mysql import corruption
from verifiers.stores.mysql.compare import data_specs, judge, measure_connected
from verifiers.stores.mysql.dsn import MysqlTarget, parse_dsn
from verifiers.stores.mysql.manifest import MysqlManifest, load_manifest
from verifiers.stores.mysql.restore import redact
from verifiers.stores.mysql.settings import MysqlStore
from verifiers.timing import RestoreTimer

CONNECT_TIMEOUT_SECONDS = 30


def plan_cloudsql(store: MysqlStore, source: CloudSqlBackupSource, located: Located) -> StorePlan:
    override_target(store, source)  # a bad DSN fails the plan, before anything is created

    def load(path: Path) -> MysqlManifest:
        manifest = load_manifest(path, store=store.name)
        if source.database is not None and source.database != manifest.database:
            raise ManifestError(
                f"store {store.name}: stores.source.database is {source.database!r} but manifest {path} was "
                f"captured from database {manifest.database!r}",
                hint="remove stores.source.database (a mysql store verifies the manifest's database) or point "
                "stores.source.manifest at a capture of that database")
        return manifest

    return cloudsql_backup.plan_backup(store, located, engine="mysql", load=load,
                                       data_specs=lambda manifest: data_specs(store, manifest.facts),
                                       kind_plan=lambda manifest: MysqlCloudSqlPlan(store, source, manifest))


@dataclass(frozen=True)
class MysqlCloudSqlPlan(KindPlan):
    """A Cloud SQL for MySQL backup restored by Cloud SQL, measured like a restored dump."""

    store: MysqlStore
    source: CloudSqlBackupSource
    manifest: MysqlManifest

    def restore_and_judge(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
                          result: StoreVerification) -> list[CheckResult]:
        store, manifest, source = self.store, self.manifest, self.source

        def measure(_sandbox: CloudSqlSandbox, login: Login) -> list[CheckResult]:
            target = data_plane(login, store, source, manifest.database)
            # The instance's accounts (every DEFINER among them) came back with the backup: create none.
            facts, assertion_results = measure_connected(connect(target, store.name), store, manifest.database,
                                                         create_definers=False, expected=manifest.facts, steps=timer)
            judged = judge(store, manifest.facts, facts) + assertion_results
            if store.check_table:  # the backup's pages are production's: a table corrupted there is found here
                judged.append(corruption.check_tables(connect(target, store.name), manifest.database,
                                                      budget=store.check_table_budget, store=store.name))
            return judged

        return cloudsql_backup.verify_backup(plan, source, artifact, timer, result, measure=measure)


def override_target(store: MysqlStore, source: CloudSqlBackupSource) -> MysqlTarget | None:
    if source.endpoint_override is None:
        return None
    try:
        return parse_dsn(source.endpoint_override, what=f"store {store.name}: stores.source.endpoint_override")
    except CaptureError as exc:
        raise SourceError(exc.message, hint=exc.hint) from None


def data_plane(login: Login, store: MysqlStore, source: CloudSqlBackupSource, database: str) -> MysqlTarget:
    """Where to measure `database`: `endpoint_override` when set, else the instance with the harness's login."""
    override = override_target(store, source)
    if override is not None:
        return dataclasses.replace(override, database=database)
    return MysqlTarget(database=database, host=login.host, port=login.port, user=login.user,
                       password=login.password)


def connect(target: MysqlTarget, store: str) -> Connection[Cursor]:
    """Connect (over TLS to a host), so an unreachable instance gets its own fix."""
    kwargs: dict[str, Any] = {**target.connect_kwargs(), "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                              "autocommit": True}
    if target.host and not target.unix_socket and not target.ssl_ca:
        kwargs["ssl"] = _encrypt_only()
    try:
        return pymysql.connect(**kwargs)
    except pymysql.err.MySQLError as exc:
        reason = str(exc.args[-1]) if exc.args else type(exc).__name__
        raise SandboxError(f"store {store}: cannot connect to the temporary Cloud SQL instance at "
                           f"{target.redacted()}: {redact(reason.strip())}",
                           hint=cloudsql_backup.CONNECT_HINT) from None


def _encrypt_only() -> ssl.SSLContext:
    """TLS without verifying the certificate (the instance's server CA is Cloud SQL's own, not the system's), as
    libpq's sslmode=require does for the PostgreSQL path; set `?ssl_ca=` in endpoint_override to verify."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
