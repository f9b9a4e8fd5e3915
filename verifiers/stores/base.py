"""What every store kind shares. A kind turns a located backup into a plan of checks (from its manifest), and
a fetched backup into judged checks by restoring it into a sandbox and measuring facts there: the `StoreKind`
protocol, its `StorePlan`, the checks every restore plans (artifact, restore, RTO, RPO), and the verify flow
every kind fills in (`KindPlan`: restore, measure, judge; a restore that did not happen fails every data check
it promised, naming why).

The plan the runner holds is one type for every kind (`StorePlan`); what only its kind knows (its inventory
model, its manifest, how to restore them) is the kind's own typed `KindPlan` inside it, so no kind narrows an
untyped manifest and the runner needs no kind's types."""

from __future__ import annotations

import fnmatch
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar

from verifiers import checks
from verifiers.checks import CheckResult, CheckSpec
from verifiers.compliance.plan import CompliancePlan
from verifiers.errors import ManifestError
from verifiers.sandboxes import SandboxInfo
from verifiers.sources import Artifact, Located
from verifiers.store_settings import AnyStore, StoreSettings, TableFilter
from verifiers.timing import RestoreTimer


@dataclass(frozen=True)
class StorePlan:
    """What will be checked for a store, known before anything is restored."""

    store: AnyStore
    located: Located
    specs: tuple[CheckSpec, ...]
    reference_time: datetime  # when the backed-up data was taken: manifest capture time, else artifact mtime
    kind_plan: KindPlan  # the kind's own typed half: its store, its manifest, and how it verifies them
    compliance: CompliancePlan | None = None  # what the restored-data checks need (verifiers/compliance/attach.py)
    reference: str = "manifest"  # what the data is compared with, for the evidence: LIVE_REFERENCE otherwise
    manifest_sha256: str | None = None  # of the manifest file compared with, when it is one on local disk

    def verify(self, artifact: Artifact, timer: RestoreTimer, work_dir: Path, result: StoreVerification) -> None:
        self.kind_plan.verify(self, artifact, timer, work_dir, result)

    def with_compliance(self, specs: Sequence[CheckSpec], context: CompliancePlan) -> StorePlan:
        return replace(self, specs=self.specs + tuple(specs), compliance=context)


LIVE_REFERENCE = "live database"


@dataclass
class StoreVerification:
    checks: list[CheckResult] = field(default_factory=list)
    sandbox: SandboxInfo | None = None


class KindPlan(ABC):
    """A kind's half of a plan, a frozen dataclass holding the kind's typed store and manifest. Its `verify` is
    the flow every kind shares; the kind fills in `restore_and_judge`."""

    def verify(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
               result: StoreVerification) -> None:
        """Restore and measure (the kind appends the checks it judges on the way, such as artifact, engine and
        restore, to `result` as they are known, so that an error part-way leaves them, and the sandbox it
        described, in the evidence); then the data checks it returns, judged once its sandbox is gone."""
        result.checks += self.restore_and_judge(plan, artifact, timer, work_dir, result)

    @abstractmethod
    def restore_and_judge(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
                          result: StoreVerification) -> list[CheckResult]:
        """Restore into a sandbox (timed as provision, restore and teardown), measure it (timed as verify) and
        return the judged data checks; or, when the data never became checkable, `not_restored(...)`."""


def not_restored(plan: StorePlan, result: StoreVerification, reason: str,
                 check: CheckResult | None = None) -> list[CheckResult]:
    """The data never became checkable: `check` (the failed restore check, when the kind judged one) and a
    "not verified: <reason>" result for every data check the plan promised, added to `result` at once (inside
    the sandbox, so that a failing teardown after it keeps them); nothing is left to judge, so it returns []."""
    if check is not None:
        result.checks.append(check)
    result.checks += unverified(plan, reason, result.checks)
    return []


class _Recorded(Protocol):
    """What a manifest recorded of the artifact it was captured with."""

    @property
    def sha256(self) -> str: ...
    @property
    def bytes(self) -> int: ...


def artifact_check(artifact: Artifact, recorded: _Recorded) -> CheckResult:
    """The fetched artifact against the one its manifest was captured with: its sha256, and its size."""
    return checks.artifact(Path(artifact.location).name, artifact.sha256, recorded.sha256, artifact.bytes,
                           recorded.bytes)


class _HasTables(Protocol):
    @property
    def tables(self) -> Mapping[str, object]: ...


def selected_tables(tables: TableFilter, facts: _HasTables) -> list[str]:
    """The tables of `facts` that a store's `tables.include` / `tables.exclude` globs select, sorted."""
    def selected(name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in tables.include) and not any(
            fnmatch.fnmatchcase(name, p) for p in tables.exclude)

    return sorted(t for t in facts.tables if selected(t))


def manifest_beside(store: AnyStore, located: Located, *, capture_hint: str) -> Path:
    """The located backup's manifest, or a ManifestError saying how to get one."""
    if located.manifest_path is None:
        raise ManifestError(f"store {store.name}: no manifest beside {located.location}",
                            hint=f"{capture_hint}, or set stores.source.manifest")
    return located.manifest_path


def unverified(plan: StorePlan, reason: str, judged: Sequence[CheckResult] = ()) -> list[CheckResult]:
    """A failed result for every data check the plan promised and `judged` lacks (the engine check may have been
    judged), when the data never became checkable."""
    skip = {"artifact", "restore", "rto", "rpo"}
    done = {(c.check, c.subject) for c in judged}
    return [CheckResult(s.check, s.subject, False, None, None, f"not verified: {reason}")
            for s in plan.specs if s.check not in skip and (s.check, s.subject) not in done]


# The sandbox's engine against the source's (verifiers/stores/postgres/fidelity.py): judged right after the restore.
ENGINE_SPEC = CheckSpec("engine", "sandbox")


def restore_plan(store: AnyStore, located: Located, kind_plan: KindPlan, data_specs: Iterable[CheckSpec], *,
                 reference_time: datetime) -> StorePlan:
    """The plan of a restored backup: its artifact, the restore, the kind's data checks, then RTO and RPO."""
    specs = (CheckSpec("artifact", Path(located.location).name), CheckSpec("restore", "restore"), *data_specs,
             CheckSpec("rto", "rto"), CheckSpec("rpo", "rpo"))
    return StorePlan(store=store, located=located, specs=specs, reference_time=reference_time, kind_plan=kind_plan)


StoreT = TypeVar("StoreT", bound=StoreSettings)


def narrowed(store: StoreSettings, model: type[StoreT]) -> StoreT:
    """The store as its kind's model: the registry hands each kind only its own stores (by `kind`), so this
    fails only if a package registers a model another kind plans."""
    if not isinstance(store, model):
        raise TypeError(f"store {store.name}: a {type(store).__name__} was handed to the kind of {model.__name__}")
    return store


class StoreKind(Protocol):
    """A store kind: turns a store's located backup into its plan (`KindPlan` verifies it)."""

    def plan(self, store: StoreSettings, located: Located) -> StorePlan: ...
