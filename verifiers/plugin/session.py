"""A restore session's state, shared by the pytest plugin (this package's __init__.py) and its distribution over
xdist workers (distributed.py), which both import it and not each other's internals: the settings resolved once,
the stores' plans and outcomes, the stash keys, and what a suite's test function receives (RestoreCheck)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from verifiers.alerts.response_run import AlertResponse
from verifiers.checks import CheckSpec
from verifiers.compliance.configuration import Earlier
from verifiers.drill import DrillRecord
from verifiers.evidence import KEY_ENV, RunInfo, git_commit, signing
from verifiers.evidence.archives import is_remote
from verifiers.evidence.provenance import provenance
from verifiers.inventory import Inventory, load_inventory
from verifiers.plugin.progress_display import MODES as PROGRESS_MODES
from verifiers.progress import NullProgress, ProgressReporter, reporting
from verifiers.run_checks import RunCheck
from verifiers.runner import PlanFailure, StoreOutcome, plan_store, run_store
from verifiers.sandboxes.selection import apply_overrides
from verifiers.stores.base import StorePlan

OPTIONS: tuple[tuple[str, str, str | None, str], ...] = (
    ("inventory", "restoreproof_inventory", "inventory.toml", "inventory file listing the stores to verify"),
    ("reports_dir", "restoreproof_reports_dir", "reports", "where run evidence goes: REPORTS/YYYY-MM/<run-id>/"),
    ("history", "restoreproof_history", None,
     "where earlier runs are read to show each store's backup-configuration change since an earlier month: a "
     "reports directory or the ARCHIVE runs are uploaded to (a folder, s3://BUCKET[/PREFIX], git:BRANCH or "
     "git+REMOTE#BRANCH; default: the reports directory)"),
    ("alert_response", "restoreproof_alert_response", None,
     "alerts.toml whose [response] table names PagerDuty/Opsgenie: the run records the share of the period's backup "
     "alerts acknowledged within the target as a run check (docs/ci.md: Alert response time)"),
    ("suite", "restoreproof_suite", None, "only stores of this suite (e.g. rds)"),
    ("work_dir", "restoreproof_work_dir", None, "where sandboxes keep their data (default: the system temp dir)"),
    ("progress", "restoreproof_progress", "auto",
     "progress while stores restore: auto (a live line on a terminal, plain lines in a log), live, plain, off"),
    ("sandbox_mode", "restoreproof_sandbox_mode", None,
     "fast (durability off) or production-like (durable settings) for every local and docker sandbox, overriding "
     "the inventory's sandbox.mode; the evidence records which measured the RTO"),
    ("signing_key", "restoreproof_signing_key", None,
     f"Ed25519 private key (PEM) that signs each run's SHA256SUMS (else env {KEY_ENV})"),
)


@dataclass(frozen=True)
class Settings:
    """The plugin's settings, each an ini key and a command-line flag, resolved once."""

    inventory: Path
    reports_dir: Path
    suite: str | None
    stores: tuple[str, ...]
    work_dir: Path | None
    signing_key: Path | None
    progress: str = "auto"
    sandbox_mode: str | None = None
    sandbox: str | None = None  # --sandbox: overrides every file-restored store's sandbox type
    allow_external: bool = False  # --allow-external-sandbox
    history: str | None = None  # --history: earlier runs (a folder's absolute path or an archive URL), for the
    # configuration's change (default: reports_dir)
    alert_response: Path | None = None  # --alert-response: alerts.toml with [response], judged once per run

    @classmethod
    def resolve(cls, config: pytest.Config) -> Settings:
        here = config.invocation_params.dir

        def value(name: str, ini: str, default: str | None) -> str | None:
            given = config.getoption(name)
            if given is not None:
                return str(given)
            return str(config.getini(ini) or "") or default

        def path(name: str, ini: str, default: str | None, base: Path) -> Path | None:
            raw = value(name, ini, default)
            return None if raw is None else (Path(raw) if Path(raw).is_absolute() else base / raw)

        given = config.getoption("inventory") is not None
        inventory = path("inventory", "restoreproof_inventory", "inventory.toml", here if given else config.rootpath)
        reports = path("reports_dir", "restoreproof_reports_dir", "reports",
                       here if config.getoption("reports_dir") else config.rootpath)
        assert inventory is not None
        assert reports is not None
        if (shown := value("progress", "restoreproof_progress", "auto")) not in PROGRESS_MODES:
            raise pytest.UsageError(f"--progress {shown}: choose one of {', '.join(PROGRESS_MODES)}")
        return cls(
            inventory=inventory,
            reports_dir=reports,
            suite=value("suite", "restoreproof_suite", None),
            stores=tuple(config.getoption("stores") or ()),
            work_dir=path("work_dir", "restoreproof_work_dir", None, here),
            signing_key=path("signing_key", "restoreproof_signing_key", os.environ.get(KEY_ENV) or None, here),
            progress=value("progress", "restoreproof_progress", "auto") or "auto",
            sandbox_mode=value("sandbox_mode", "restoreproof_sandbox_mode", None),
            sandbox=config.getoption("sandbox", None),
            allow_external=bool(config.getoption("allow_external_sandbox", False)),
            history=history(value("history", "restoreproof_history", None), here),
            alert_response=path("alert_response", "restoreproof_alert_response", None, here),
        )


def history(given: str | None, base: Path) -> str | None:
    """--history: an archive URL as given, a folder made absolute (relative to where pytest was started)."""
    if given is None or is_remote(given):
        return given
    return str(Path(given) if Path(given).is_absolute() else base / given)


@dataclass
class RestoreRun:
    """Session state: the inventory, the plans, and each store's outcome once it has run."""

    settings: Settings
    run: RunInfo
    project_dir: Path
    inventory: Inventory | None = None
    plans: dict[str, StorePlan | PlanFailure] = field(default_factory=dict)
    outcomes: dict[str, StoreOutcome] = field(default_factory=dict)
    collected: bool = False
    signing_key: signing.PrivateKey | None = None
    progress: ProgressReporter = field(default_factory=NullProgress)
    run_checks: list[RunCheck] = field(default_factory=list)  # about the run as a whole (verifiers/run_checks.py)
    coverage: dict[str, Any] | None = None  # the inventory against discovery, with `[discovery]`
    drill: DrillRecord | None = None  # a drill's record (verifiers/plugin/drill.py): evidence.json's run.drill
    earlier_configurations: dict[str, Earlier] | None = None  # read once by the hygiene suite (compliance/suite.py)
    alert_response: AlertResponse | None = None  # with --alert-response: read at configure, judged at the end

    @cached_property
    def provenance(self) -> dict[str, str | None]:
        """Where this run came from (repository, commit, CI run, actor, trigger, inventory sha256), read once."""
        return provenance(os.environ, inventory=self.settings.inventory, commit=git_commit(self.project_dir))

    def load(self) -> Inventory:
        if self.inventory is None:
            self.inventory = apply_overrides(load_inventory(self.settings.inventory), sandbox=self.settings.sandbox,
                                             allow_external=self.settings.allow_external,
                                             mode=self.settings.sandbox_mode)
        return self.inventory

    def plans_for(self, suite: str) -> list[StorePlan | PlanFailure]:
        inventory = self.load()
        if self.settings.suite and suite not in (ALL_SUITES, self.settings.suite):
            return []
        wanted = self.settings.suite if suite == ALL_SUITES else suite
        chosen = inventory.select(suite=wanted, names=self.settings.stores)
        for store in chosen:
            if store.name not in self.plans:
                self.plans[store.name] = plan_store(store, inventory.base_dir)
        return [self.plans[s.name] for s in chosen]

    def outcome(self, store: str) -> StoreOutcome:
        if store not in self.outcomes:
            status = "error"
            try:
                with reporting(self.progress, store):
                    outcome = run_store(self.plans[store], work_root=self.settings.work_dir)
                status = outcome.status
            finally:  # the progress block ends even when the harness itself fails
                self.progress.store_finished(store, status)
            self.outcomes[store] = outcome
        return self.outcomes[store]


RUN_KEY = pytest.StashKey[RestoreRun]()
CHECK_KEY = pytest.StashKey["RestoreCheck"]()
ALL_SUITES = "*"


@dataclass(frozen=True)
class CheckParam:
    store: str
    spec: CheckSpec

    @property
    def id(self) -> str:
        return f"{self.store}:{self.spec.check}:{self.spec.subject}"


class RestoreCheck:
    """What a suite's test function receives: one judged check of one store."""

    def __init__(self, outcome: StoreOutcome, spec: CheckSpec) -> None:
        self.outcome = outcome
        self.spec = spec
        self.result = outcome.result_for(spec)

    def assert_passed(self) -> None:
        store = self.outcome.store.name
        if self.result is not None:
            if not self.result.compared:  # recorded, not judged: shown as skipped, never as a pass
                pytest.skip(f"{store}: {self.spec.check} {self.spec.subject}: {self.result.message}")
            if not self.result.passed:
                pytest.fail(f"{store}: {self.spec.check} {self.spec.subject}: {self.result.message}", pytrace=False)
            return
        if self.outcome.error is not None:
            err = self.outcome.error
            pytest.fail(f"{store}: error during {err['phase']}: {err['message']}", pytrace=False)
        pytest.fail(f"{store}: {self.spec.id} was not judged", pytrace=False)


def store_of(nodeid: str) -> str | None:
    """The store a restore check item belongs to: its parameter id is `<store>:<check>:<subject>` and a store
    name holds no `:` or `[` (inventory.STORE_NAME_PATTERN)."""
    params = nodeid.partition("::")[2].partition("[")[2]
    store = params.partition(":")[0]
    return store if store and ":" in params else None
