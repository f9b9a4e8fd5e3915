"""`pytest suites/hygiene`: the checks read from the backup services' APIs (RPO gaps, PITR lag, encryption,
copies, retention, buckets, AWS Backup jobs) for every store with [stores.hygiene], without restoring anything:
cheap enough to run daily. Each store's result is recorded in the run's evidence with suite "hygiene".

The suite also records each store's backup configuration where a policy asks for it ([policy], or
[stores.hygiene.configuration]): the facts, the policy's checks, and the change since an earlier month's record
(read from --history — a reports directory or the ARCHIVE runs are uploaded to, read when the session starts,
verifiers/plugin/__init__.py, so that one that cannot be read is a usage error naming it — default the reports
directory). Restore suites do not read it: one reading per run is the
hygiene suite's, which needs no restore (docs/configuration-evidence.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from verifiers.checks import CheckSpec
from verifiers.compliance import configuration_facts
from verifiers.compliance.attach import judge_unrestored, unrestored_specs
from verifiers.compliance.configuration import Earlier
from verifiers.compliance.configuration_history import recorded_before
from verifiers.errors import InventoryError
from verifiers.plugin import _record_properties
from verifiers.plugin.session import CHECK_KEY, RUN_KEY, CheckParam, RestoreCheck, RestoreRun
from verifiers.runner import StoreOutcome
from verifiers.timing import RestoreTimer

SUITE = "hygiene"


def parametrize(metafunc: pytest.Metafunc) -> None:
    """One item per hygiene check per store (the suite module's pytest_generate_tests calls this)."""
    if "hygiene_check" not in metafunc.fixturenames:
        return
    state = metafunc.config.stash.get(RUN_KEY, None)
    if state is None:
        raise pytest.UsageError("hygiene checks need a restore session: pass --inventory PATH")
    try:
        inventory = state.load()
        stores = inventory.select(names=state.settings.stores)
    except InventoryError as exc:
        raise pytest.UsageError(exc.describe()) from None
    if state.settings.suite not in (None, SUITE):
        stores = []
    params = [CheckParam(s.name, spec) for s in stores
              for spec in unrestored_specs(s) + configuration_facts.specs(s, inventory.policy)]
    metafunc.parametrize("hygiene_check", params, ids=[p.id for p in params], indirect=True)


def outcome(state: RestoreRun, name: str) -> StoreOutcome:
    key = f"{SUITE}:{name}"
    if key not in state.outcomes:
        inventory = state.load()
        store = inventory.select(names=[name])[0]
        now = datetime.now(UTC)
        found = judge_unrestored(store, inventory.base_dir, now=now)
        covered = configuration_facts.policy_of(store, inventory.policy) is not None
        recorded = configuration_facts.record(store, inventory.policy, inventory.base_dir, now,
                                              _earlier(state).get(store.name) if covered else None)
        found += recorded.checks
        status = "passed" if all(c.passed for c in found) else "failed"
        state.outcomes[key] = StoreOutcome(store=store, status=status, checks=found, timer=RestoreTimer(),
                                           planned=tuple(CheckSpec(c.check, c.subject) for c in found), suite=SUITE,
                                           configuration=recorded.block)
    return state.outcomes[key]


def _earlier(state: RestoreRun) -> dict[str, Earlier]:
    """The configurations earlier months recorded, by store, read once per run."""
    if state.earlier_configurations is None:
        state.earlier_configurations = recorded_before(state.load(), state.run.started,
                                                       history=state.settings.history,
                                                       reports_dir=state.settings.reports_dir)
    return state.earlier_configurations


@pytest.fixture
def hygiene_check(request: pytest.FixtureRequest) -> RestoreCheck:
    param: CheckParam = request.param
    judged = outcome(request.config.stash[RUN_KEY], param.store)
    check = RestoreCheck(judged, param.spec)
    _record_properties(request.node, judged, check)
    request.node.stash[CHECK_KEY] = check
    return check
