"""PostgreSQL: pg_dump artifacts (custom, directory, tar, plain SQL) restored into a local sandbox server."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from verifiers.checks import CheckResult, CheckSpec
from verifiers.compliance import attach
from verifiers.errors import ArtifactFormatError, NoSuitableServerError
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
from verifiers.stores.postgres import corruption, fidelity, live, self_test
from verifiers.stores.postgres.archive import DumpHeader, major_of, read_header
from verifiers.stores.postgres.checksum import Method
from verifiers.stores.postgres.compare import data_specs, judge, measure_conninfo, sample_plan
from verifiers.stores.postgres.compliance import RestoredPostgres
from verifiers.stores.postgres.facts import DatabaseFacts
from verifiers.stores.postgres.local_server import PgInstallation, choose_installation, find_installations
from verifiers.stores.postgres.manifest import PostgresManifest, load_manifest
from verifiers.stores.postgres.network_server import NetworkPostgres, PostgresTarget
from verifiers.stores.postgres.restore import create_database, restore_dump, restore_jobs, restore_runs
from verifiers.stores.postgres.sandbox import CLIENT_TOOLS, database_ready, needed_tools, open_sandbox, restore_database
from verifiers.stores.postgres.settings import PostgresStore
from verifiers.stores.restore_tool import not_restorable, restore_check
from verifiers.stores.sampling import SampledTable
from verifiers.stores.timeouts import restore_timed_out
from verifiers.timing import UNTIMED, RestoreTimer, StepClock

log = logging.getLogger(__name__)


class PostgresKind:
    def plan(self, store: StoreSettings, located: Located) -> StorePlan:
        store = narrowed(store, PostgresStore)
        if isinstance(store.source, RdsSnapshotSource | AwsBackupSource):  # restored by AWS (see snapshot.py)
            with needed_by(f"store {store.name}: restoring an RDS snapshot"):
                from verifiers.stores.aws_snapshot import snapshot_source
                from verifiers.stores.postgres.snapshot import plan_snapshot
            return plan_snapshot(store, snapshot_source(store, located), located)
        if isinstance(store.source, CloudSqlBackupSource):  # restored by Cloud SQL (see cloudsql.py)
            with needed_by(f"store {store.name}: restoring a Cloud SQL backup"):
                from verifiers.stores.postgres.cloudsql import plan_cloudsql
            return plan_cloudsql(store, store.source, located)
        if located.manifest_path is None and store.live is not None:
            baseline = live.read_baseline(store, located.modified)
            return replace(restore_plan(store, located, PostgresPlan(store, baseline), live.plan_specs(store, baseline),
                                        reference_time=baseline.captured_at), reference=LIVE_REFERENCE)
        path = manifest_beside(store, located, capture_hint="capture backups with `restoreproof capture postgres` (it "
                               "writes NAME-<stamp>.manifest.json next to the dump), or set `live` to compare with "
                               "the live database")
        manifest = load_manifest(path, store=store.name)
        specs = [ENGINE_SPEC, *data_specs(store, manifest.facts)]
        specs += [CheckSpec("assertion", a.name) for a in store.assertions]
        specs += self_test.SPECS if store.self_test else ()
        return restore_plan(store, located, PostgresPlan(store, manifest), specs, reference_time=manifest.captured_at)


@dataclass(frozen=True)
class PostgresPlan(KindPlan):
    """A pg_dump restored into a sandbox, compared with its manifest or (`live`) with the live database."""

    store: PostgresStore
    manifest: PostgresManifest | live.LiveBaseline

    def restore_and_judge(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
                          result: StoreVerification) -> list[CheckResult]:
        store, manifest = self.store, self.manifest
        if isinstance(manifest, live.LiveBaseline):
            result.checks.append(live.artifact_check(artifact))
        else:
            result.checks.append(artifact_check(artifact, manifest.artifact))
        encoding = manifest.encoding if isinstance(manifest, live.LiveBaseline) else manifest.facts.encoding
        try:
            header = read_header(artifact.path)
        except ArtifactFormatError as exc:
            return not_restored(plan, result, "the artifact could not be restored", not_restorable(
                "not restorable", f"store {store.name}: {exc.describe()}"))
        recorded = manifest.source.server_version if isinstance(manifest, PostgresManifest) and manifest.source \
            else None
        source = fidelity.source_version(header, recorded)
        exact = store.sandbox.version_match == "exact" and source is not None
        try:
            with timer.phase("provision"):
                installation = choose_installation(
                    find_installations(store.sandbox.bin_dir, store.sandbox.user), min_major=header.required_major,
                    tools=needed_tools(store), purpose="restore it" + (" on the source's own major "
                    '(sandbox.version_match = "exact")' if exact else ""),
                    exact_major=major_of(source) if exact and source and store.sandbox.type == "local" else None,
                )
        except NoSuitableServerError as exc:
            # A backup no server here can read fails its restore check (named, with the fix), not the run.
            return not_restored(plan, result, "no server here can restore this artifact", not_restorable(
                "not restorable here", f"store {store.name}: {Path(artifact.location).name} was written by pg_dump "
                f"{header.dump_version} from server {header.server_version}; {exc.describe()}"))
        with sandbox(store, installation, timer, header=header, encoding=encoding) as opened:
            try:
                server = with_client_for_target(opened, store, header)
            except NoSuitableServerError as exc:
                return not_restored(plan, result, "no client tools here match the target server", not_restorable(
                    "not restorable here", f"store {store.name}: {exc.describe()}"))
            result.sandbox = fidelity.describe(server.info, server.conninfo(), server.installation,
                                               jobs=restore_jobs(header, store.jobs),
                                               runs=restore_runs(header, store.restore_sections))
            engine = fidelity.engine_check(source, server.info.version, exact=exact)
            result.checks.append(engine)
            if not engine.passed:
                return not_restored(plan, result, "the sandbox is not on the source's major")
            database = restore_database(server)
            with timer.phase("restore"):
                if not database_ready(server):
                    create_database(server, name=database, encoding=encoding)
                outcome = restore_dump(server, artifact.path, header, jobs=store.jobs, database=database,
                                       timeout=store.restore_timeout, work_dir=server.workdir, steps=timer,
                                       sections=store.restore_sections)
                if outcome.timed_out:  # an `error` in restore, not a verdict (verifiers/stores/timeouts.py)
                    raise restore_timed_out(result, restore_check(outcome, Path(artifact.location).name),
                                            store=store.name, artifact_name=Path(artifact.location).name,
                                            tool=outcome.tool, seconds=outcome.timeout_seconds)
            result.checks.append(restore_check(outcome, Path(artifact.location).name))
            with timer.phase("verify"):
                if isinstance(manifest, live.LiveBaseline):
                    judged = live.verify_restored(server.conninfo(database), store, manifest, steps=timer)
                else:
                    methods = {name: t.method for name, t in manifest.facts.tables.items()}
                    sampled = sample_plan(store, manifest.facts, artifact.manifest_path)
                    facts, assertion_results = measure_restored(server, store, methods, manifest.facts, sampled,
                                                                steps=timer)
                    judged = judge(store, manifest.facts, facts, sampled) + assertion_results
                    if store.self_test:  # changes the sandbox, each change rolled back: after the measurements
                        judged += self_test.run(server.conninfo(database), store, manifest.facts, judged)
                if store.amcheck:  # after the read-only measurements: it creates the extension
                    judged.append(corruption.check_indexes(server.conninfo(database), budget=store.amcheck_budget,
                                                           store=store.name))
            # after every read-only measurement: GDPR erasure replay and migrations may write to the sandbox
            result.checks += attach.judge_restored(plan, RestoredPostgres.of(server, database, store=store.name))
        return judged


def with_client_for_target(server: PostgresTarget, store: PostgresStore, header: DumpHeader) -> PostgresTarget:
    """A container's or external server's target with pg_restore/psql of its own major (the nearest newer that
    can read the archive): an older target must not be fed settings a newer pg_restore emits (PostgreSQL 17+
    writes `SET transaction_timeout`, which 15 rejects). A local sandbox already runs its installation's tools."""
    if not isinstance(server, NetworkPostgres):
        return server
    target = major_of(server.info.version)
    client = choose_installation(find_installations(store.sandbox.bin_dir, store.sandbox.user),
                                 min_major=max(header.required_major, target), tools=CLIENT_TOOLS,
                                 purpose=f"restore into the PostgreSQL {server.info.version} target")
    return replace(server, installation=client)


@contextlib.contextmanager
def sandbox(store: PostgresStore, installation: PgInstallation, timer: RestoreTimer, *, header: DumpHeader,
            encoding: str = "UTF8") -> Iterator[PostgresTarget]:
    """The sandbox of the store's type (stores/postgres/sandbox.py), with its start timed as provision and its
    removal as teardown."""
    with timed_sandbox(open_sandbox(store, installation, header, encoding), timer, store=store.name) as server:
        yield server


def measure_restored(server: PostgresTarget, store: PostgresStore, methods: dict[str, Method],
                     expected: DatabaseFacts, sampled: Mapping[str, SampledTable] | None = None,
                     steps: StepClock = UNTIMED) -> tuple[DatabaseFacts, list[CheckResult]]:
    return measure_conninfo(server.conninfo(restore_database(server)), store, methods, expected, sampled=sampled,
                            steps=steps)


KIND = PostgresKind()
