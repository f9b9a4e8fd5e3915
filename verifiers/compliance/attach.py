"""How the compliance checks join a store's run: their specs join the plan (so each is a pytest item and an
evidence entry), the ones read from backup services' APIs are judged beside the restore (`judge_unrestored`),
and the ones that need the restored data are judged in the sandbox before it is torn down (`judge_postgres`,
`judge_redis`, called by the store kinds after their own measurements; they may write to the sandbox).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verifiers.checks import CheckResult, CheckSpec
from verifiers.compliance import canary, gdpr, hygiene, migrate
from verifiers.compliance.canary import Canary
from verifiers.compliance.gdpr import Erasure
from verifiers.compliance.recovery_points import judge_gap, judge_pitr, latest_restorable, recovery_points
from verifiers.compliance.settings import KeyPlace, SqlPlace
from verifiers.errors import RestoreproofError, SandboxError
from verifiers.store_settings import AnyStore
from verifiers.stores.base import StorePlan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompliancePlan:
    """What the restored-data checks need, read (and validated) at plan time."""

    base_dir: Path
    ledger: tuple[Erasure, ...] = ()
    canary_expected: Canary | None = None
    canary_log: Path | None = None


def unrestored_specs(store: AnyStore) -> list[CheckSpec]:
    """Checks read from the backup services' APIs: no restore needed (the hygiene suite runs only these)."""
    specs: list[CheckSpec] = []
    if store.hygiene is not None:
        if store.hygiene.rpo_gap:
            specs.append(CheckSpec("rpo_gap", "rpo_gap"))
        if store.hygiene.pitr:
            specs.append(CheckSpec("pitr_lag", "pitr_lag"))
        specs += hygiene.specs(store)
    return specs


def restored_specs(store: AnyStore) -> list[CheckSpec]:
    specs: list[CheckSpec] = []
    if store.canary is not None:
        specs.append(CheckSpec("canary", canary.SUBJECT))
    if store.gdpr is not None:
        specs += [CheckSpec("gdpr", gdpr.BEFORE), CheckSpec("gdpr", gdpr.AFTER)]
        if store.gdpr.erase_sql:
            specs.append(CheckSpec("gdpr", gdpr.REPLAY))
    if store.migrate is not None:
        specs.append(CheckSpec("migrate", migrate.SUBJECT))
    return specs


def extend_plan(plan: StorePlan, base_dir: Path) -> StorePlan:
    """The store's plan with its compliance checks; a bad ledger or canary log fails the plan here, named."""
    store = plan.store
    extra = unrestored_specs(store) + restored_specs(store)
    if not extra:
        return plan
    context = CompliancePlan(base_dir=base_dir)
    if store.gdpr is not None:
        context = replace(context, ledger=tuple(gdpr.read_ledger(store.gdpr, base_dir=base_dir, store=store.name)))
    if store.canary is not None:
        path = canary.log_path(store.canary, base_dir=base_dir, store=store.name)
        expected = canary.newest_before(canary.read_log(path, store=store.name), plan.reference_time)
        context = replace(context, canary_expected=expected, canary_log=path)
    return replace(plan, specs=plan.specs + tuple(extra), compliance=context)


def judge_unrestored(store: AnyStore, base_dir: Path, *, now: datetime | None = None) -> list[CheckResult]:
    """Every API-read check of the store; a service that cannot be asked fails its check, naming the fix."""
    moment = now or datetime.now(UTC)
    results: list[CheckResult] = []
    settings = store.hygiene
    if settings is None:
        return results
    if settings.rpo_gap:
        results.append(_guarded("rpo_gap", "rpo_gap", lambda: _gap(store, base_dir, moment)))
    if settings.pitr:
        results.append(_guarded("pitr_lag", "pitr_lag", lambda: _pitr(store, moment)))
    for spec in hygiene.specs(store):
        judge: Callable[[], CheckResult] = functools.partial(hygiene.judge, store, spec, moment, base_dir)
        results.append(_guarded(spec.check, spec.subject, judge))
    return results


def _gap(store: AnyStore, base_dir: Path, now: datetime) -> CheckResult:
    assert store.hygiene is not None
    points, what = recovery_points(store, base_dir)
    return judge_gap(points, rpo=store.rpo, window=store.hygiene.window, now=now, what=what)


def _pitr(store: AnyStore, now: datetime) -> CheckResult:
    latest, what = latest_restorable(store)
    return judge_pitr(latest, rpo=store.rpo, now=now, what=what)


def _guarded(check: str, subject: str, judge: Callable[[], CheckResult]) -> CheckResult:
    try:
        return judge()
    except RestoreproofError as exc:
        return CheckResult(check, subject, False, None, None, f"not judged: {exc.describe()}")


def merge_unrestored(plan: StorePlan, found: Sequence[CheckResult]) -> list[CheckResult]:
    """The run's results with the API-read checks judged: they replace any "not verified" placeholder a failed
    restore put in their place (they do not depend on the restore)."""
    judged = judge_unrestored(plan.store, _base_dir(plan))
    if not judged:
        return list(found)
    mine = {r.spec for r in judged}
    return [r for r in found if r.spec not in mine] + judged


def _base_dir(plan: StorePlan) -> Path:
    context = plan.compliance
    return context.base_dir if isinstance(context, CompliancePlan) else Path(".")


def judge_postgres(plan: StorePlan, conninfo: str, *, url: str, pg_env: Mapping[str, str]) -> list[CheckResult]:
    """Canary, GDPR replay and migrations in the restored PostgreSQL sandbox, in that order (reads first)."""
    import psycopg

    store, context = plan.store, plan.compliance
    if not isinstance(context, CompliancePlan):
        return []
    results: list[CheckResult] = []
    try:
        results += _in_postgres(plan, context, conninfo)
    except psycopg.OperationalError as exc:
        from verifiers.stores.postgres.restore import redact

        raise SandboxError(f"store {store.name}: lost the sandbox server during the compliance checks: "
                           f"{redact(str(exc))}", hint="the server may have been killed or run out of memory") from None
    if store.migrate is not None:
        results.append(migrate.run_migrations(store.migrate, url=url, pg_env=pg_env, base_dir=context.base_dir))
    return results


def _in_postgres(plan: StorePlan, context: CompliancePlan, conninfo: str) -> list[CheckResult]:
    import psycopg

    store = plan.store
    results: list[CheckResult] = []
    with psycopg.connect(conninfo) as conn:
        conn.autocommit = True
        if store.canary is not None:
            present, newest = canary.postgres_probe(conn, store.canary, store=store.name)
            results.append(canary.judge(context.canary_expected, present, newest, backup_time=plan.reference_time,
                                        log=context.canary_log or Path("-")))
        if store.gdpr is not None:
            places = [p for p in store.gdpr.places if isinstance(p, SqlPlace)]
            results += _gdpr(plan, context, gdpr.postgres_finder(conn, places, store=store.name),
                             functools.partial(gdpr.postgres_eraser, conn))
    return results


def judge_mysql(plan: StorePlan, connect: Callable[[], Any], database: str) -> list[CheckResult]:
    """Canary and GDPR replay in the restored MySQL/MariaDB sandbox (`connect`: to the restored database)."""
    import pymysql

    store, context = plan.store, plan.compliance
    if not isinstance(context, CompliancePlan):
        return []
    results: list[CheckResult] = []
    try:
        conn = connect()
        try:
            if store.canary is not None:
                present, newest = canary.mysql_probe(conn, store.canary)
                results.append(canary.judge(context.canary_expected, present, newest,
                                            backup_time=plan.reference_time, log=context.canary_log or Path("-")))
            if store.gdpr is not None:
                places = [p for p in store.gdpr.places if isinstance(p, SqlPlace)]
                finder = gdpr.mysql_finder(conn, places, database=database, store=store.name)
                results += _gdpr(plan, context, finder, functools.partial(gdpr.mysql_eraser, conn))
        finally:
            conn.close()
    except pymysql.err.OperationalError as exc:
        raise SandboxError(f"store {store.name}: lost the sandbox server during the compliance checks: "
                           f"{exc.args[-1] if exc.args else exc}",
                           hint="the server may have been killed or run out of memory or disk") from None
    return results


def judge_redis(plan: StorePlan, client_for: Callable[[int], Any]) -> list[CheckResult]:
    """Canary and GDPR presence in the restored Redis sandbox."""
    import redis

    try:
        return _in_redis(plan, client_for)
    except redis.ConnectionError as exc:
        raise SandboxError(f"store {plan.store.name}: lost the sandbox server during the compliance checks: {exc}",
                           hint="the server may have been killed or run out of memory") from None


def _in_redis(plan: StorePlan, client_for: Callable[[int], Any]) -> list[CheckResult]:
    store, context = plan.store, plan.compliance
    if not isinstance(context, CompliancePlan):
        return []
    results: list[CheckResult] = []
    if store.canary is not None:
        present, newest = canary.redis_probe(client_for(store.canary.db), store.canary)
        results.append(canary.judge(context.canary_expected, present, newest, backup_time=plan.reference_time,
                                    log=context.canary_log or Path("-")))
    if store.gdpr is not None:
        places = [p for p in store.gdpr.places if isinstance(p, KeyPlace)]
        results += _gdpr(plan, context, gdpr.redis_finder(client_for, places), None)
    return results


def _gdpr(plan: StorePlan, context: CompliancePlan, find: gdpr.Finder,
          erase: Callable[[Sequence[str]], gdpr.Eraser] | None) -> list[CheckResult]:
    settings = plan.store.gdpr
    assert settings is not None
    hasher = gdpr.SubjectHasher.from_env(settings.salt_env)
    before, after = gdpr.split_by_backup(context.ledger, plan.reference_time)
    try:
        present = find(before | after)
    except SandboxError as exc:  # a place missing from the restored data: the checks fail, the run goes on
        return [CheckResult("gdpr", s.subject, False, None, None, f"not judged: {exc.describe()}")
                for s in restored_specs(plan.store) if s.check == "gdpr"]
    results = gdpr.judge_presence(before, after, present, hasher)
    if settings.erase_sql and erase is not None:
        results.append(gdpr.replay_erasure(erase(settings.erase_sql), present, find, hasher=hasher))
    return results
