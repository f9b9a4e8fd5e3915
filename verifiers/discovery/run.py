"""Inventory coverage as run-level checks: what every restore run with a `[discovery]` records (evidence.json's
`coverage` and `run_checks`). Each uncovered resource is a failed check "store not in inventory: <id>", each
service discovery could not list is a failed check saying why, and one check says whether the inventory is
complete, so a passing run shows what it compared."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verifiers.discovery.coverage import Coverage
from verifiers.discovery.discover import inventory_coverage
from verifiers.discovery.report import FOUND_NOTHING
from verifiers.inventory import Inventory
from verifiers.redaction import redact_secrets
from verifiers.run_checks import COVERAGE_CHECK, RunCheck

CHECK = COVERAGE_CHECK


@dataclass(frozen=True)
class RunCoverage:
    """evidence.json's `coverage` block (None without `[discovery]`) and the run checks it makes."""

    record: dict[str, Any] | None = None
    checks: list[RunCheck] = field(default_factory=list)


def run_coverage(inventory: Inventory) -> RunCoverage:
    """One discovery for the run, compared with its inventory; nothing without `[discovery]`. Discovery that fails
    outright (an answer of a shape not foreseen) is a failed check, so that the run's evidence is still written."""
    try:
        coverage = inventory_coverage(inventory)
    except Exception as exc:  # recorded as a failed check, never passed over: see the docstring
        detail = f"discovery failed: {type(exc).__name__}: {redact_secrets(str(exc))[:300]}; run `restoreproof " \
                 "inventory discover` to see it, and report it if it is not a setup problem"
        return RunCoverage(None, [RunCheck(CHECK, "discovery", False, observed={"listed": False},
                                           expected={"listed": True}, detail=detail)])
    if coverage is None:
        return RunCoverage()
    return RunCoverage(coverage.as_dict(), coverage_checks(coverage))


def coverage_checks(coverage: Coverage) -> list[RunCheck]:
    counts = coverage.counts()
    if coverage.found_nothing:
        return [RunCheck(CHECK, "inventory", None, observed=counts, expected={"discovered_at_least": 1},
                         detail=f"not compared: {FOUND_NOTHING}")]
    gaps = {"uncovered": counts["uncovered"], "unknown": counts["unknown"]}
    checks = [RunCheck(CHECK, "inventory", coverage.complete, observed=counts, expected={"uncovered": 0, "unknown": 0},
                       detail="every production store found is in the inventory or ignored with a reason"
                       if coverage.complete else
                       f"inventory incomplete: {gaps['uncovered']} uncovered, {gaps['unknown']} unknown")]
    checks += [RunCheck(CHECK, resource.id, False, observed={"in_inventory": False, "ref": resource.ref,
                                                             "region": resource.region},
                        expected={"in_inventory": True},
                        detail=f"store not in inventory: {resource.id} — add a store that verifies it (or `covers` "
                        "it), or a [[discovery.ignore]] entry with the reason")
               for resource in coverage.uncovered]
    checks += [RunCheck(CHECK, unknown.where, False, observed={"listed": False, "permission": unknown.permission},
                        expected={"listed": True}, detail=unknown.describe())
               for unknown in coverage.unknown]
    return checks
