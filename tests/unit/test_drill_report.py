"""drill.html (verifiers/evidence/drill_report.py) says under which conditions each store's restore time was
measured: the sandbox's type, the engine and its version, and the durability mode, from the store evidence's
`sandbox` block; what the evidence lacks is said to be not recorded, never guessed."""

from __future__ import annotations

import re
from typing import Any

from tests.evidence_runs import drill_marker, restore_record
from verifiers.evidence.drill_report import measured_under, render_drill_report


def store(name: str, sandbox: dict[str, Any] | None) -> dict[str, Any]:
    record = restore_record(name)
    record["sandbox"] = sandbox
    return record


def conditions_cell(page: str, name: str) -> str:
    row = re.search(rf"<tr><td>{name}</td>.*?</tr>", page)
    assert row is not None, name
    cell = re.search(r"<td class='conditions'>(.*?)</td>", row.group(0))
    assert cell is not None, row.group(0)
    return cell.group(1)


def test_each_store_row_says_the_sandbox_engine_version_and_durability_mode() -> None:
    stores = [
        store("saas", {"type": "local", "engine": "postgresql", "version": "18.1", "mode": "fast",
                       "settings": {"fsync": "off"}}),
        store("shop", {"type": "docker", "engine": "mariadb", "version": "11.4.2", "mode": "production-like"}),
        store("cache", {"type": "local", "engine": "redis", "version": "7.2.4"}),  # a kind without modes
        store("billing", None),  # errored before its sandbox started
    ]
    drill = drill_marker("checkout", ("saas", "shop", "cache", "billing"))
    page = render_drill_report(run_id="20261206T200000Z-abcdef", drill=drill, stores=stores, provenance={})
    assert "<th>Measured on</th>" in page
    assert conditions_cell(page, "saas") == ("local sandbox, postgresql 18.1<br><span class='bad'>fast mode "
                                             "(durability off: restore times shorter than production&#39;s)</span>")
    assert conditions_cell(page, "shop") == ("docker sandbox, mariadb 11.4.2<br><span class='dim'>production-like "
                                             "mode (durable settings)</span>")
    assert conditions_cell(page, "cache") == ("local sandbox, redis 7.2.4<br><span class='dim'>mode not "
                                              "recorded</span>")
    assert conditions_cell(page, "billing") == ("sandbox not recorded, engine not recorded<br><span class='dim'>mode "
                                                "not recorded</span>")


def test_measured_under_reads_the_sandbox_block() -> None:
    assert measured_under({"type": "aws-rds", "engine": "postgres", "version": "16.4", "mode": "production-like"}) == {
        "sandbox": "aws-rds sandbox", "engine": "postgres 16.4", "mode": "production-like mode (durable settings)"}
    assert measured_under({}) == {"sandbox": "sandbox not recorded", "engine": "engine not recorded",
                                  "mode": "mode not recorded"}


def test_a_drill_that_passed_in_a_run_failed_by_another_run_check_says_the_run_failed() -> None:
    """With [discovery], a store not in the inventory fails the run (exit 1) though the drill passed: drill.html keeps
    the drill's own verdict and says the run failed all the same, naming the check."""
    uncovered = {"check": "coverage", "subject": "arn:aws:rds:eu-west-1:123456789012:db:orders", "passed": False,
                 "observed": "not in inventory", "expected": "in inventory",
                 "detail": "store not in inventory: rds orders <eu-west-1>"}
    page = render_drill_report(run_id="r1", drill=drill_marker(), stores=[restore_record("saas")], provenance={},
                               other_failed_checks=[uncovered])
    assert "id='verdict'>PASSED" in page
    assert "The run failed all the same: 1 other run check failed" in page
    assert ("<li>coverage arn:aws:rds:eu-west-1:123456789012:db:orders: store not in inventory: rds orders "
            "&lt;eu-west-1&gt;</li>") in page
    assert "failed all the same" not in render_drill_report(run_id="r1", drill=drill_marker(),
                                                            stores=[restore_record("saas")], provenance={})
