"""Measure a restored PostgreSQL database and judge it against the expected facts: shared by the dump restore
(the package), the RDS snapshot restore (snapshot.py) and the live reference (live.py), which all import it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg

from verifiers import checks
from verifiers.checks import DATABASE_SUBJECT, CheckResult, CheckSpec
from verifiers.errors import SandboxError
from verifiers.stores import key_ranges, sampling
from verifiers.stores.base import selected_tables
from verifiers.stores.postgres import corruption
from verifiers.stores.postgres.checksum import Method, pin_session
from verifiers.stores.postgres.facts import DatabaseFacts
from verifiers.stores.postgres.manifest import load_manifest
from verifiers.stores.postgres.measure import measure_database
from verifiers.stores.postgres.parallel import Workers
from verifiers.stores.postgres.restore import redact
from verifiers.stores.postgres.settings import PostgresStore
from verifiers.stores.sampling import SampledTable
from verifiers.timing import UNTIMED, StepClock

ASSERTION_TIMEOUT_MS = 300_000


def data_specs(store: PostgresStore, facts: DatabaseFacts) -> list[CheckSpec]:
    """The checks of the restored data the manifest promises, whichever way it was restored."""
    specs = [CheckSpec("tables", "tables")]
    for table in selected_tables(store.tables, facts):
        specs += [CheckSpec("row_count", table), CheckSpec("checksum", table), CheckSpec("schema", table)]
    specs.append(CheckSpec("schema", DATABASE_SUBJECT))
    specs += [CheckSpec("sequence", name) for name in sorted(facts.sequences)]
    return specs + ([corruption.SPEC] if store.amcheck else [])


def measure_conninfo(conninfo: str, store: PostgresStore, methods: dict[str, Method],
                     expected: DatabaseFacts | None = None, *, stable: dict[str, str] | None = None,
                     sampled: Mapping[str, SampledTable] | None = None,
                     steps: StepClock = UNTIMED) -> tuple[DatabaseFacts, list[CheckResult]]:
    """Measure the restored database at `conninfo` (a local sandbox, or a restored RDS instance); with the
    manifest's facts as `expected`, tables that differ are narrowed to key ranges, and `sampled` ones
    (sample_plan) checksummed over the planned ranges only; with the live reference's `stable` conditions, as
    the live database is measured (live.py), sequences left out. `steps`: see measure_database."""
    try:
        with psycopg.connect(conninfo) as conn:
            conn.read_only = True
            facts = measure_database(conn, methods=methods, workers=Workers.sized_to_cores(conninfo),
                                     narrow_against=expected, stable=stable,
                                     sequences=None if stable is None else {},
                                     sample={name: plan.buckets for name, plan in (sampled or {}).items()},
                                     steps=steps)
            conn.rollback()
            return facts, [run_assertion(conn, a) for a in store.assertions]
    except psycopg.OperationalError as exc:
        raise SandboxError(f"store {store.name}: lost the sandbox server while verifying: {redact(str(exc))}",
                           hint="the server may have been killed or run out of memory or disk") from None


def run_assertion(conn: psycopg.Connection[Any], assertion: Any) -> CheckResult:
    try:
        with conn.transaction():
            pin_session(conn)
            conn.execute("SELECT set_config('statement_timeout', %s, true)", (str(ASSERTION_TIMEOUT_MS),))
            row = conn.execute(assertion.sql).fetchone()
    except psycopg.OperationalError:
        raise
    except psycopg.Error as exc:
        return checks.assertion(assertion.name, None, expect=assertion.expect, minimum=assertion.min,
                                maximum=assertion.max, error=redact(str(exc).strip().splitlines()[0]))
    value = row[0] if row else None
    if value is not None and not isinstance(value, int | float | str | bool):
        value = float(value) if hasattr(value, "__float__") else str(value)
    return checks.assertion(assertion.name, value, expect=assertion.expect, minimum=assertion.min,
                            maximum=assertion.max)


def sample_plan(store: PostgresStore, expected: DatabaseFacts, manifest: Path | None) -> dict[str, SampledTable]:
    """With `sample` set: which key ranges of each large table to checksum (verifiers/stores/sampling.py),
    against the previous manifest beside `manifest`."""
    if store.sample is None:
        return {}
    previous, name = sampling.previous_manifest(manifest, lambda path: load_manifest(path, store=store.name))
    return sampling.plan_tables(
        store.sample, {table: (facts.rows, facts.key_ranges) for table, facts in expected.tables.items()},
        None if previous is None else {table: facts.key_ranges for table, facts in previous.facts.tables.items()},
        name)


def judge(store: PostgresStore, expected: DatabaseFacts, observed: DatabaseFacts,
          sampled: Mapping[str, SampledTable] | None = None) -> list[CheckResult]:
    wanted = selected_tables(store.tables, expected)
    present = selected_tables(store.tables, observed)
    results = [checks.table_set(set(present), set(wanted))]
    for table in wanted:
        got, want = observed.tables.get(table), expected.tables[table]
        results.append(checks.row_count(table, got.rows if got else None, want.rows, store.row_count_tolerance))
        plan = (sampled or {}).get(table)
        if plan is not None and store.sample is not None and want.key_ranges is not None and got is not None \
                and got.key_ranges is not None:  # sampled (else measured whole: the restore's key differs)
            results.append(sampling.sampled_checksum(table, plan, want.key_ranges, got.key_ranges, want.rows,
                                                     store.sample.detect_fraction))
        else:
            results.append(checks.checksum(table, got.checksum if got else None, want.checksum,
                                           **key_ranges.narrowing(want, got)))
        results.append(checks.schema(table, got.schema_ if got else None, want.schema_))
    results.append(checks.schema(DATABASE_SUBJECT, observed.objects, expected.objects))
    for name, want_seq in sorted(expected.sequences.items()):
        results.append(checks.sequence(name, observed.sequences.get(name), want_seq))
    return results


