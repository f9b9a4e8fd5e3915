"""What the restored-data checks know of a store's plan: `CompliancePlan`, read (and validated) at plan time, and
`PlannedStore`, the plan as these checks see it (the store kinds' StorePlan is one; compliance imports no
store)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, Self

from verifiers.checks import CheckSpec
from verifiers.compliance.canary import Canary
from verifiers.compliance.gdpr import Erasure
from verifiers.store_settings import AnyStore


@dataclass(frozen=True)
class CompliancePlan:
    """What the restored-data checks need, read (and validated) at plan time."""

    base_dir: Path
    ledger: tuple[Erasure, ...] = ()
    canary_expected: Canary | None = None
    canary_log: Path | None = None


class PlannedStore(Protocol):
    @property
    def store(self) -> AnyStore: ...

    @property
    def reference_time(self) -> datetime:
        """When the backed-up data was taken."""
        ...

    @property
    def specs(self) -> tuple[CheckSpec, ...]: ...

    @property
    def compliance(self) -> CompliancePlan | None: ...

    def with_compliance(self, specs: Sequence[CheckSpec], context: CompliancePlan) -> Self:
        """The same plan with these checks added and this context."""
        ...
