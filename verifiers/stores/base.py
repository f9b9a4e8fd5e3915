"""What every store kind shares. A kind turns a located backup into a plan of checks (from its manifest), and
a fetched backup into judged checks by restoring it into a sandbox and measuring facts there: the `StoreKind`
protocol, its `StorePlan`, and the checks every restore plans (artifact, restore, RTO, RPO)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from verifiers.checks import CheckResult, CheckSpec
from verifiers.compliance.plan import CompliancePlan
from verifiers.errors import ManifestError
from verifiers.sandboxes import SandboxInfo
from verifiers.sources import Artifact, Located
from verifiers.store_settings import AnyStore, TableFilter
from verifiers.timing import RestoreTimer


@dataclass(frozen=True)
class StorePlan:
    """What will be checked for a store, known before anything is restored."""

    store: AnyStore
    located: Located
    specs: tuple[CheckSpec, ...]
    reference_time: datetime  # when the backed-up data was taken: manifest capture time, else artifact mtime
    manifest: Any  # the store kind's manifest model
    compliance: CompliancePlan | None = None  # what the restored-data checks need (verifiers/compliance/attach.py)
    reference: str = "manifest"  # what the data is compared with, for the evidence: LIVE_REFERENCE otherwise
    manifest_sha256: str | None = None  # of the manifest file compared with, when it is one on local disk

    def with_compliance(self, specs: Sequence[CheckSpec], context: CompliancePlan) -> StorePlan:
        return replace(self, specs=self.specs + tuple(specs), compliance=context)


LIVE_REFERENCE = "live database"


@dataclass
class StoreVerification:
    checks: list[CheckResult] = field(default_factory=list)
    sandbox: SandboxInfo | None = None


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


def restore_plan(store: AnyStore, located: Located, manifest: Any, data_specs: Iterable[CheckSpec]) -> StorePlan:
    """The plan of a restored backup: its artifact, the restore, the kind's data checks, then RTO and RPO."""
    specs = (CheckSpec("artifact", Path(located.location).name), CheckSpec("restore", "restore"), *data_specs,
             CheckSpec("rto", "rto"), CheckSpec("rpo", "rpo"))
    return StorePlan(store=store, located=located, specs=specs, reference_time=manifest.captured_at,
                     manifest=manifest)


StoreT_contra = TypeVar("StoreT_contra", contravariant=True)


class StoreKind(Protocol[StoreT_contra]):
    """A store kind; generic in the inventory model it plans for (PostgresStore, RedisStore, ...)."""

    def plan(self, store: StoreT_contra, located: Located) -> StorePlan: ...

    def verify(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
               result: StoreVerification) -> None:
        """Restore and measure, appending judged checks to `result` as they are known, so that an error
        part-way leaves the checks already judged (and the sandbox already described) in the evidence."""
        ...
