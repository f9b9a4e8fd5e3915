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
from pathlib import Path
from typing import Any

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import Cursor

from verifiers import checks
from verifiers.checks import DATABASE_SUBJECT, CheckResult, CheckSpec
from verifiers.compliance import attach
from verifiers.errors import ArtifactFormatError, NoSuitableServerError, SandboxError
from verifiers.inventory import Assertion, MysqlStore
from verifiers.sandboxes import timed_sandbox
from verifiers.sandboxes.mysql_installations import MysqlInstallation
from verifiers.sandboxes.network_mysql import MysqlTarget
from verifiers.sources import Artifact, Located
from verifiers.stores import (
    ENGINE_SPEC,
    StorePlan,
    StoreVerification,
    manifest_beside,
    restore_plan,
    selected_tables,
    unverified,
)
from verifiers.stores.mysql import fidelity
from verifiers.stores.mysql.archive import DumpHeader, read_header
from verifiers.stores.mysql.facts import DatabaseFacts
from verifiers.stores.mysql.manifest import MysqlManifest, load_manifest
from verifiers.stores.mysql.measure import DefinitionUnreadable, measure_database, pin_session
from verifiers.stores.mysql.restore import create_database, redact, restore_dump
from verifiers.stores.mysql.rowhash import quote_identifier
from verifiers.stores.mysql.sandbox import (
    as_captured,
    foreign,
    installation_for,
    open_sandbox,
    scratch_database,
    with_client_for_target,
    writes_elsewhere,
)
from verifiers.stores.restore_tool import restore_check
from verifiers.stores.timeouts import restore_timed_out
from verifiers.timing import RestoreTimer

log = logging.getLogger(__name__)
ASSERTION_TIMEOUT_SECONDS = 300
DEFINERS_SQL = """
SELECT DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %(db)s
UNION SELECT DEFINER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %(db)s
UNION SELECT DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %(db)s
UNION SELECT DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %(db)s
"""


class MysqlKind:
    def plan(self, store: MysqlStore, located: Located) -> StorePlan:
        if store.source.type == "rds-snapshot":  # restored by AWS, not from a dump (see snapshot.py)
            from verifiers.stores.mysql.snapshot import plan_snapshot

            return plan_snapshot(store, located)
        path = manifest_beside(store, located, capture_hint="capture backups with `restoreproof capture mysql` (it "
                               "writes NAME-<stamp>.manifest.json next to the dump)")
        manifest = load_manifest(path, store=store.name)
        return restore_plan(store, located, manifest, [ENGINE_SPEC, *data_specs(store, manifest.facts),
                                                       *(CheckSpec("assertion", a.name) for a in store.assertions)])

    def verify(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
               result: StoreVerification) -> None:
        store, manifest = plan.store, plan.manifest
        assert isinstance(store, MysqlStore)
        assert isinstance(manifest, MysqlManifest)
        if store.source.type == "rds-snapshot":
            from verifiers.stores.mysql.snapshot import verify_snapshot

            verify_snapshot(plan, artifact, timer, result)
            return
        name = Path(artifact.location).name
        result.checks.append(checks.artifact(name, artifact.sha256, manifest.artifact.sha256, artifact.bytes,
                                             manifest.artifact.bytes))
        try:
            header = read_header(artifact.path)
        except ArtifactFormatError as exc:
            result.checks.append(_not_restorable("not restorable", f"store {store.name}: {exc.describe()}"))
            result.checks += unverified(plan, "the artifact could not be restored", result.checks)
            return
        header = fidelity.with_recorded_source(header, manifest.source.server_version if manifest.source else None)
        exact = store.sandbox.version_match == "exact" and header.server_version is not None
        try:
            with timer.phase("provision"):
                installation = installation_for(store, header, exact=exact)
        except NoSuitableServerError as exc:
            result.checks.append(_not_restorable(
                "not restorable here", f"store {store.name}: {name} was dumped from {header.flavour} "
                f"{header.server_version or header.distrib}; {exc.describe()}"))
            result.checks += unverified(plan, "no server here can restore this artifact", result.checks)
            return
        with sandbox(store, installation, timer, header=header, charset=manifest.facts.charset,
                     collation=manifest.facts.collation) as opened:
            try:
                server = with_client_for_target(opened, store)
            except NoSuitableServerError as exc:
                result.checks.append(_not_restorable("not restorable here", f"store {store.name}: {exc.describe()}"))
                result.checks += unverified(plan, "no client here matches the target server", result.checks)
                return
            result.sandbox = fidelity.describe(server.info, server.connect, server.installation)
            engine = fidelity.engine_check(header, server.info, exact=exact, chosen=fidelity.why_chosen(server))
            result.checks.append(engine)
            if not engine.passed:
                result.checks += unverified(plan, "the sandbox is not on the source's release", result.checks)
                return
            scratch = scratch_database(server)  # an external server's: restored there, judged as the manifest's
            database = scratch or manifest.database
            if scratch is not None and (elsewhere := writes_elsewhere(artifact.path, header)):
                result.checks.append(_not_restorable("not restorable here", (
                    f"store {store.name}: {name} names a database ({elsewhere}); on an external server only a "
                    "scratch database of this run may be written: restore it into a local or docker sandbox")))
                result.checks += unverified(plan, "the dump would write outside the scratch database",
                                            result.checks)
                return
            with timer.phase("restore"):
                if scratch is None:
                    create_database(server, database, charset=manifest.facts.charset,
                                    collation=manifest.facts.collation)
                outcome = restore_dump(server, artifact.path, header, database=database,
                                       timeout=store.restore_timeout, work_dir=server.workdir)
                if outcome.timed_out:  # an `error` in restore, not a verdict (verifiers/stores/timeouts.py)
                    raise restore_timed_out(result, restore_check(outcome, name), store=store.name,
                                            artifact_name=name, tool=outcome.tool, seconds=outcome.timeout_seconds)
            result.checks.append(restore_check(outcome, name))
            with timer.phase("verify"):
                facts, assertion_results = measure_restored(server, store, database)
                facts = as_captured(facts, scratch, manifest.database)
            # after the read-only measurement: the GDPR erasure replay may write to the sandbox
            result.checks += attach.judge_mysql(plan, lambda: server.connect(database), database)
        result.checks += judge(store, manifest.facts, facts) + assertion_results


def _not_restorable(observed: str, message: str) -> CheckResult:
    return CheckResult("restore", "restore", False, observed, "exit 0, no errors", message)


@contextlib.contextmanager
def sandbox(store: MysqlStore, installation: MysqlInstallation, timer: RestoreTimer, *, header: DumpHeader,
            charset: str = "utf8mb4", collation: str = "utf8mb4_general_ci") -> Iterator[MysqlTarget]:
    """The sandbox of the store's type (stores/mysql/sandbox.py), with its start timed as provision and its
    removal as teardown."""
    opening = open_sandbox(store, installation, header, charset=charset, collation=collation)
    with timed_sandbox(opening, timer, store=store.name) as server:
        yield server


def data_specs(store: MysqlStore, facts: DatabaseFacts) -> list[CheckSpec]:
    """The checks of the restored data the manifest promises, whichever way it was restored."""
    tables = selected_tables(store, facts)
    specs = [CheckSpec("tables", "tables")]
    for table in tables:
        specs += [CheckSpec("row_count", table), CheckSpec("checksum", table), CheckSpec("schema", table)]
    specs.append(CheckSpec("schema", DATABASE_SUBJECT))
    return specs + [CheckSpec("sequence", name) for name in sorted(facts.auto_increments) if name in tables]


def measure_restored(server: MysqlTarget, store: MysqlStore, database: str) -> tuple[DatabaseFacts,
                                                                                      list[CheckResult]]:
    try:
        conn = server.connect(database)
    except pymysql.err.OperationalError as exc:
        raise SandboxError(f"store {store.name}: cannot connect to the sandbox server to verify: {exc.args[-1]}",
                           hint="the server may have been killed or run out of memory or disk") from None
    return measure_connected(conn, store, database, create_definers=not foreign(server))


def measure_connected(conn: Connection[Cursor], store: MysqlStore, database: str, *,
                      create_definers: bool = True) -> tuple[DatabaseFacts, list[CheckResult]]:
    """Measure `database` over an open connection (a local sandbox, or a restored RDS/Aurora instance, whose
    accounts came back with the snapshot: `create_definers=False`) and run the store's assertions; the
    connection is closed after."""
    try:
        with conn.cursor() as cur:
            if create_definers:
                _create_definers(cur, database)
            pin_session(cur)
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            facts = measure_database(cur, database)
            cur.execute("ROLLBACK")
            return facts, [run_assertion(cur, a) for a in store.assertions]
    except DefinitionUnreadable as exc:
        raise SandboxError(f"store {store.name}: the restored {exc} has no readable definition") from None
    except pymysql.err.OperationalError as exc:
        raise SandboxError(f"store {store.name}: lost the sandbox server while verifying: {redact(str(exc.args[-1]))}",
                           hint="the server may have been killed or run out of memory or disk") from None
    finally:
        with contextlib.suppress(pymysql.err.MySQLError):
            conn.close()


def _create_definers(cur: Any, database: str) -> None:
    """Production accounts named as DEFINER of views and routines do not exist in a sandbox: create them
    (locked, no password) with rights on the restored database, so views and routines can be used."""
    cur.execute(DEFINERS_SQL, {"db": database})
    for (definer,) in cur.fetchall():
        user, sep, host = str(definer).rpartition("@")
        if not sep or user in ("root", ""):
            continue
        cur.execute("CREATE USER IF NOT EXISTS %s@%s ACCOUNT LOCK", (user, host))
        cur.execute(f"GRANT ALL PRIVILEGES ON {quote_identifier(database)}.* TO %s@%s", (user, host))


def run_assertion(cur: Any, assertion: Assertion) -> CheckResult:
    """One assertion in its own read-only transaction with a statement time limit."""
    try:
        _limit_statement_time(cur)
        cur.execute("START TRANSACTION READ ONLY")
        try:
            cur.execute(assertion.sql)
            row = cur.fetchone() if cur.description else None
        except pymysql.err.MySQLError:
            cur.execute("ROLLBACK")
            raise
        # Not in a `finally`: after Ctrl-C mid-query the server is still running it, and a ROLLBACK would wait
        # for it to finish (up to the statement limit) before the sandbox could be torn down.
        cur.execute("ROLLBACK")
    except pymysql.err.OperationalError as exc:
        if exc.args and isinstance(exc.args[0], int) and exc.args[0] >= 2000:  # client-side: the server is gone
            raise
        return _failed_assertion(assertion, exc)
    except pymysql.err.MySQLError as exc:
        return _failed_assertion(assertion, exc)
    value = row[0] if row else None
    if value is not None and not isinstance(value, int | float | str | bool):
        value = float(value) if hasattr(value, "__float__") else str(value)
    return checks.assertion(assertion.name, value, expect=assertion.expect, minimum=assertion.min,
                            maximum=assertion.max)


def _failed_assertion(assertion: Assertion, exc: pymysql.err.MySQLError) -> CheckResult:
    text = str(exc.args[-1]) if exc.args else type(exc).__name__
    return checks.assertion(assertion.name, None, expect=assertion.expect, minimum=assertion.min,
                            maximum=assertion.max, error=redact(text.strip().splitlines()[0]))


def _limit_statement_time(cur: Any) -> None:
    for statement in (f"SET SESSION max_statement_time = {ASSERTION_TIMEOUT_SECONDS}",  # MariaDB, seconds
                      f"SET SESSION max_execution_time = {ASSERTION_TIMEOUT_SECONDS * 1000}"):  # MySQL, ms
        try:
            cur.execute(statement)
            return
        except pymysql.err.OperationalError as exc:
            if exc.args[0] != 1193:  # unknown system variable: the other flavour's name
                raise


def judge(store: MysqlStore, expected: DatabaseFacts, observed: DatabaseFacts) -> list[CheckResult]:
    wanted = selected_tables(store, expected)
    present = selected_tables(store, observed)
    results = [checks.table_set(set(present), set(wanted))]
    for table in wanted:
        got, want = observed.tables.get(table), expected.tables[table]
        results.append(checks.row_count(table, got.rows if got else None, want.rows, store.row_count_tolerance))
        results.append(checks.checksum(table, got.checksum if got else None, want.checksum))
        results.append(checks.schema(table, got.schema_ if got else None, want.schema_))
    results.append(checks.schema(DATABASE_SUBJECT, observed.objects, expected.objects))
    for name, want_counter in sorted(expected.auto_increments.items()):
        if name in wanted:
            results.append(checks.sequence(name, observed.auto_increments.get(name), want_counter))
    return results

