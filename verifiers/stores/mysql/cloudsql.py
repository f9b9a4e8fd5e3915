"""MySQL from a Cloud SQL for MySQL backup: restored by Cloud SQL into a temporary instance (the shared flow in
verifiers/stores/cloudsql_backup.py), then measured and judged exactly like a restored dump (same
measure_connected, same judge) against the manifest `capture mysql` wrote when the backup was taken.

The data plane is the temporary instance's IP over TLS as the built-in `root`@`%` user with the random password
the harness set; or `endpoint_override`, a MySQL DSN used with its own credentials (a tunnel; in the tests a
local MariaDB while a fake of the Admin API plays the control plane). No Cloud SQL connector (docs/cloudsql.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from pymysql.connections import Connection
from pymysql.cursors import Cursor

from verifiers.checks import CheckResult
from verifiers.inventory_cloud import CloudSqlBackupSource
from verifiers.sandboxes.cloudsql import CloudSqlSandbox, Login
from verifiers.sources import Artifact, Located
from verifiers.stores import cloudsql_backup
from verifiers.stores.base import KindPlan, StorePlan, StoreVerification
from verifiers.stores.mysql.compare import data_specs
from verifiers.stores.mysql.dsn import MysqlTarget
from verifiers.stores.mysql.manifest import MysqlManifest
from verifiers.stores.mysql.service_restore import (
    connect_instance,
    load_restored_manifest,
    measure_restored,
    override_target,
)
from verifiers.stores.mysql.settings import MysqlStore
from verifiers.timing import RestoreTimer


def plan_cloudsql(store: MysqlStore, source: CloudSqlBackupSource, located: Located) -> StorePlan:
    override_target(store, source.endpoint_override)  # a bad DSN fails the plan, before anything is created
    return cloudsql_backup.plan_backup(store, located, engine="mysql",
                                       load=lambda path: load_restored_manifest(path, store, source.database),
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
            return measure_restored(lambda: connect(target, store.name), store, manifest, timer)

        return cloudsql_backup.verify_backup(plan, source, artifact, timer, result, measure=measure)


def data_plane(login: Login, store: MysqlStore, source: CloudSqlBackupSource, database: str) -> MysqlTarget:
    """Where to measure `database`: `endpoint_override` when set, else the instance with the harness's login."""
    override = override_target(store, source.endpoint_override)
    if override is not None:
        return dataclasses.replace(override, database=database)
    return MysqlTarget(database=database, host=login.host, port=login.port, user=login.user,
                       password=login.password)


def connect(target: MysqlTarget, store: str) -> Connection[Cursor]:
    """Connect (over TLS to a host; the instance's server CA is Cloud SQL's own), so an unreachable instance gets
    its own fix."""
    return connect_instance(target, store, instance="the temporary Cloud SQL instance",
                            hint=cloudsql_backup.CONNECT_HINT)
