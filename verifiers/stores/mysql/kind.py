"""MySQL, MariaDB and Aurora/RDS MySQL: mysqldump / mariadb-dump SQL artifacts (.sql, .sql.gz) restored into a
local sandbox server, measured, and judged against the manifest captured with them.

RDS MySQL / MariaDB and Aurora MySQL *snapshots* (storage-level, not dumps) come in through the `rds-snapshot`
source: AWS restores them into a temporary instance and this kind measures it the same way (`measure_connected`,
see snapshot.py) against the manifest captured when the snapshot was taken.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import Cursor

from verifiers.checks import CheckResult, CheckSpec
from verifiers.compliance import attach
from verifiers.errors import ArtifactFormatError, NoSuitableServerError, SandboxError
from verifiers.extras import needed_by
from verifiers.inventory_cloud import CloudSqlBackupSource
from verifiers.sandboxes import timed_sandbox
from verifiers.sources import Artifact, Located
from verifiers.store_settings import AwsBackupSource, RdsSnapshotSource, StoreSettings
from verifiers.stores.base import (
    ENGINE_SPEC,
    LIVE_REFERENCE,
    KindPlan,
    StorePlan,
    StoreVerification,
    artifact_check,
    manifest_beside,
    narrowed,
    not_restored,
    restore_plan,
)
from verifiers.stores.mysql import corruption, fidelity, live
from verifiers.stores.mysql import self_test as mysql_self_test
from verifiers.stores.mysql.archive import DumpHeader, read_header
from verifiers.stores.mysql.compare import data_specs, judge, measure_connected
from verifiers.stores.mysql.compliance import RestoredMysql
from verifiers.stores.mysql.facts import DatabaseFacts
from verifiers.stores.mysql.installations import MysqlInstallation
from verifiers.stores.mysql.manifest import MysqlManifest, load_manifest
from verifiers.stores.mysql.network_server import MysqlTarget
from verifiers.stores.mysql.restore import create_database, restore_dump
from verifiers.stores.mysql.sandbox import (
    as_captured,
    foreign,
    installation_for,
    open_sandbox,
    scratch_database,
    with_client_for_target,
    writes_elsewhere,
)
from verifiers.stores.mysql.settings import MysqlStore
from verifiers.stores.restore_tool import not_restorable, restore_check
from verifiers.stores.timeouts import restore_timed_out
from verifiers.timing import UNTIMED, RestoreTimer, StepClock

log = logging.getLogger(__name__)


class MysqlKind:
    def plan(self, store: StoreSettings, located: Located) -> StorePlan:
        store = narrowed(store, MysqlStore)
        if isinstance(store.source, RdsSnapshotSource | AwsBackupSource):  # restored by AWS (see snapshot.py)
            with needed_by(f"store {store.name}: restoring an RDS snapshot"):
                from verifiers.stores.aws_snapshot import snapshot_source
                from verifiers.stores.mysql.snapshot import plan_snapshot
            return plan_snapshot(store, snapshot_source(store, located), located)
        if isinstance(store.source, CloudSqlBackupSource):  # restored by Cloud SQL (see cloudsql.py)
            with needed_by(f"store {store.name}: restoring a Cloud SQL backup"):
                from verifiers.stores.mysql.cloudsql import plan_cloudsql
            return plan_cloudsql(store, store.source, located)
        if located.manifest_path is None and store.live is not None:  # the live database as the reference
            baseline = live.read_baseline(store, located.modified)
            return replace(restore_plan(store, located, MysqlPlan(store, baseline),
                                        [ENGINE_SPEC, *live.data_specs(store, baseline),
                                         *(CheckSpec("assertion", a.name) for a in store.assertions)],
                                        reference_time=baseline.captured_at), reference=LIVE_REFERENCE)
        path = manifest_beside(store, located, capture_hint="capture backups with `restoreproof capture mysql` (it "
                               "writes NAME-<stamp>.manifest.json next to the dump), or set `live` to compare with "
                               "the live database")
        manifest = load_manifest(path, store=store.name)
        return restore_plan(store, located, MysqlPlan(store, manifest),
                            [ENGINE_SPEC, *data_specs(store, manifest.facts),
                             *(CheckSpec("assertion", a.name) for a in store.assertions),
                             *(mysql_self_test.SPECS if store.self_test else ())],
                            reference_time=manifest.captured_at)


@dataclass(frozen=True)
class MysqlPlan(KindPlan):
    """A mysqldump / mariadb-dump restored into a sandbox and compared with its manifest or (`live`) with the
    live database."""

    store: MysqlStore
    manifest: MysqlManifest | live.LiveBaseline

    def restore_and_judge(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
                          result: StoreVerification) -> list[CheckResult]:
        store, manifest = self.store, self.manifest
        name = Path(artifact.location).name
        if isinstance(manifest, live.LiveBaseline):
            result.checks.append(live.artifact_check(artifact))
            recorded, charset, collation = None, manifest.charset, manifest.collation
        else:
            result.checks.append(artifact_check(artifact, manifest.artifact))
            recorded = manifest.source.server_version if manifest.source else None
            charset, collation = manifest.facts.charset, manifest.facts.collation
        try:
            header = read_header(artifact.path)
        except ArtifactFormatError as exc:
            return not_restored(plan, result, "the artifact could not be restored",
                               not_restorable("not restorable", f"store {store.name}: {exc.describe()}"))
        header = fidelity.with_recorded_source(header, recorded)
        exact = store.sandbox.version_match == "exact" and header.server_version is not None
        try:
            with timer.phase("provision"):
                installation = installation_for(store, header, exact=exact)
        except NoSuitableServerError as exc:
            return not_restored(plan, result, "no server here can restore this artifact", not_restorable(
                "not restorable here", f"store {store.name}: {name} was dumped from {header.flavour} "
                f"{header.server_version or header.distrib}; {exc.describe()}"))
        with sandbox(store, installation, timer, header=header, charset=charset, collation=collation) as opened:
            try:
                server = with_client_for_target(opened, store)
            except NoSuitableServerError as exc:
                return not_restored(plan, result, "no client here matches the target server", not_restorable(
                    "not restorable here", f"store {store.name}: {exc.describe()}"))
            result.sandbox = fidelity.describe(server.info, server.connect, server.installation)
            engine = fidelity.engine_check(header, server.info, exact=exact, chosen=fidelity.why_chosen(server))
            result.checks.append(engine)
            if not engine.passed:
                return not_restored(plan, result, "the sandbox is not on the source's release")
            scratch = scratch_database(server)  # an external server's: restored there, judged as the manifest's
            database = scratch or manifest.database
            if scratch is not None and (elsewhere := writes_elsewhere(artifact.path, header)):
                return not_restored(plan, result, "the dump would write outside the scratch database", not_restorable(
                    "not restorable here", f"store {store.name}: {name} names a database ({elsewhere}); on an "
                    "external server only a scratch database of this run may be written: restore it into a local "
                    "or docker sandbox"))
            with timer.phase("restore"):
                if scratch is None:
                    create_database(server, database, charset=charset, collation=collation)
                outcome = restore_dump(server, artifact.path, header, database=database,
                                       timeout=store.restore_timeout, work_dir=server.workdir, steps=timer)
                if outcome.timed_out:  # an `error` in restore, not a verdict (verifiers/stores/timeouts.py)
                    raise restore_timed_out(result, restore_check(outcome, name), store=store.name,
                                            artifact_name=name, tool=outcome.tool, seconds=outcome.timeout_seconds)
            result.checks.append(restore_check(outcome, name))
            with timer.phase("verify"):
                if isinstance(manifest, live.LiveBaseline):  # CHECK TABLE included; no self-test without facts
                    judged = live.verify_restored(lambda: connect_to(server, store, database), store, manifest,
                                                  steps=timer, restored_as=database,
                                                  create_definers=not foreign(server))
                else:
                    judged = self.judge_manifest(server, database, scratch, manifest, timer)
            # after the read-only measurement: the GDPR erasure replay may write to the sandbox
            result.checks += attach.judge_restored(
                plan, RestoredMysql(lambda: server.connect(database), database, store=store.name))
        return judged


    def judge_manifest(self, server: MysqlTarget, database: str, scratch: str | None, manifest: MysqlManifest,
                       timer: RestoreTimer) -> list[CheckResult]:
        """The restored database measured and judged against the manifest, self-test and CHECK TABLE after."""
        store = self.store
        facts, assertion_results = measure_restored(server, store, database, manifest, steps=timer)
        facts = as_captured(facts, scratch, manifest.database)
        judged = judge(store, manifest.facts, facts) + assertion_results
        if store.self_test:  # after the read-only measurement: each change is rolled back
            judged += mysql_self_test.run(connect_to(server, store, database), store, database,
                                          manifest.facts, judged, captured_as=manifest.database)
        if store.check_table:  # after the read-only measurement, on a connection of its own
            judged.append(corruption.check_tables(
                connect_to(server, store, database), database, budget=store.check_table_budget,
                store=store.name, shown_as=manifest.database))
        return judged


@contextlib.contextmanager
def sandbox(store: MysqlStore, installation: MysqlInstallation, timer: RestoreTimer, *, header: DumpHeader,
            charset: str = "utf8mb4", collation: str = "utf8mb4_general_ci") -> Iterator[MysqlTarget]:
    """The sandbox of the store's type (stores/mysql/sandbox.py), with its start timed as provision and its
    removal as teardown."""
    opening = open_sandbox(store, installation, header, charset=charset, collation=collation)
    with timed_sandbox(opening, timer, store=store.name) as server:
        yield server


def measure_restored(server: MysqlTarget, store: MysqlStore, database: str, manifest: MysqlManifest,
                     steps: StepClock = UNTIMED) -> tuple[DatabaseFacts, list[CheckResult]]:
    return measure_connected(connect_to(server, store, database), store, database,
                             create_definers=not foreign(server), expected=manifest.facts,
                             captured_as=manifest.database, steps=steps)


def connect_to(server: MysqlTarget, store: MysqlStore, database: str) -> Connection[Cursor]:
    try:
        return server.connect(database)
    except pymysql.err.OperationalError as exc:
        raise SandboxError(f"store {store.name}: cannot connect to the sandbox server to verify: {exc.args[-1]}",
                           hint="the server may have been killed or run out of memory or disk") from None


KIND = MysqlKind()
