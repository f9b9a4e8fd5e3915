"""How the compliance checks join a store's run: their specs join the plan (so each is a pytest item and an
evidence entry), the ones read from backup services' APIs are judged beside the restore (`judge_unrestored`),
and the ones that need the restored data are judged in the sandbox before it is torn down (`judge_restored`,
called by the store kinds after their own measurements with their RestoredData; they may write to the sandbox).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from verifiers.checks import CheckResult, CheckSpec
from verifiers.compliance import canary, gdpr, hygiene_plan, migrate
from verifiers.compliance.plan import CompliancePlan, PlannedStore
from verifiers.compliance.recovery_points import judge_gap, judge_pitr, latest_restorable, recovery_points
from verifiers.compliance.restored import RestoredData, RestoredSession, SandboxLost
from verifiers.errors import RestoreproofError, SandboxError
from verifiers.extras import needed_by
from verifiers.store_settings import AnyStore

log = logging.getLogger(__name__)

PlanT = TypeVar("PlanT", bound=PlannedStore)


def unrestored_specs(store: AnyStore) -> list[CheckSpec]:
    """Checks read from the backup services' APIs: no restore needed (the hygiene suite runs only these)."""
    specs: list[CheckSpec] = []
    if store.hygiene is not None:
        if store.hygiene.rpo_gap:
            specs.append(CheckSpec("rpo_gap", "rpo_gap"))
        if store.hygiene.pitr:
            specs.append(CheckSpec("pitr_lag", "pitr_lag"))
        specs += hygiene_plan.specs(store)
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


def extend_plan(plan: PlanT, base_dir: Path) -> PlanT:
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
    return plan.with_compliance(extra, context)


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
    specs = hygiene_plan.specs(store)
    if specs:
        try:
            with needed_by(f"store {store.name}: the backup-hygiene checks (read from AWS's backup services)"):
                from verifiers.compliance import hygiene
        except RestoreproofError as exc:
            return results + [CheckResult(s.check, s.subject, False, None, None, f"not judged: {exc.describe()}")
                              for s in specs]
        for spec in specs:
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


def merge_unrestored(plan: PlannedStore, found: Sequence[CheckResult]) -> list[CheckResult]:
    """The run's results with the API-read checks judged: they replace any "not verified" placeholder a failed
    restore put in their place (they do not depend on the restore)."""
    judged = judge_unrestored(plan.store, _base_dir(plan))
    if not judged:
        return list(found)
    mine = {r.spec for r in judged}
    return [r for r in found if r.spec not in mine] + judged


def _base_dir(plan: PlannedStore) -> Path:
    return plan.compliance.base_dir if plan.compliance is not None else Path(".")


def judge_restored(plan: PlannedStore, restored: RestoredData) -> list[CheckResult]:
    """Canary, GDPR (and its erasure replay) and migrations in the restored sandbox, in that order (reads first)."""
    store, context = plan.store, plan.compliance
    if context is None:
        return []
    results: list[CheckResult] = []
    try:
        with restored.session() as session:
            results += _in_session(plan, context, session)
    except SandboxLost as exc:
        raise SandboxError(f"store {store.name}: lost the sandbox server during the compliance checks: {exc.reason}",
                           hint=exc.hint) from None
    if store.migrate is not None:
        target = restored.migration_target()
        if target is not None:
            results.append(migrate.run_migrations(store.migrate, target, base_dir=context.base_dir))
    return results


def _in_session(plan: PlannedStore, context: CompliancePlan, session: RestoredSession) -> list[CheckResult]:
    store = plan.store
    results: list[CheckResult] = []
    if store.canary is not None:
        present, newest = session.canary_probe(store.canary)
        results.append(canary.judge(context.canary_expected, present, newest, backup_time=plan.reference_time,
                                    log=context.canary_log or Path("-")))
    if store.gdpr is not None:
        results += _gdpr(plan, context, session.gdpr_finder(store.gdpr.places), session.gdpr_eraser)
    return results


def _gdpr(plan: PlannedStore, context: CompliancePlan, find: gdpr.Finder,
          erase: Callable[[Sequence[str]], gdpr.Eraser | None]) -> list[CheckResult]:
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
    eraser = erase(settings.erase_sql) if settings.erase_sql else None
    if eraser is not None:
        results.append(gdpr.replay_erasure(eraser, present, find, hasher=hasher))
    return results
