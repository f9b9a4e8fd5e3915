"""`evidence verify` checks every evidence.json against the shipped schema beside the seals and the chain: a
record sealed and chained correctly but breaking the schema fails, named by file, JSON path and rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.evidence_runs import at, make_run, store_record
from verifiers.cli import main
from verifiers.evidence import chain
from verifiers.evidence.conformance import SHOWN_PER_FILE, evidence_problems, not_checked


def test_a_valid_reports_dir_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "reports"
    for day in (1, 2):
        make_run(root, at(2026, 1, day), [store_record()])
    assert main(["evidence", "verify", str(root)]) == 0
    assert "every evidence.json matches the evidence schema" in capsys.readouterr().out


def test_a_sealed_record_breaking_the_schema_fails_naming_file_path_and_rule(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "reports"
    make_run(root, at(2026, 1, 1), [store_record()])
    tampered = store_record("ledger")
    tampered["rto"]["seconds"] = -5.0  # written so, then sealed and chained: the seals cannot tell
    run = make_run(root, at(2026, 1, 2), [store_record("saas"), tampered])
    assert chain.verify_reports(root).ok  # the chain and every seal are intact
    capsys.readouterr()
    assert main(["evidence", "verify", str(root)]) == 1
    out = capsys.readouterr().out
    rel = run.relative_to(root).as_posix()
    assert "first broken link" not in out
    assert "FAILED: 1 evidence.json file does not match the evidence schema (evidence.schema.json" in out
    line = next(line for line in out.splitlines() if line.startswith(f"  {rel}/evidence.json: "))
    assert line == (f"  {rel}/evidence.json: $.stores[1].rto.seconds: -5.0 is not valid under any of the given "
                    "schemas (rule oneOf; schema path properties/stores/items/properties/rto/properties/seconds/"
                    "oneOf); closest: -5.0 is less than the minimum of 0 (rule minimum)")
    assert out.splitlines()[-1] == f"1 problem in 2 runs under {root}"


def test_an_archive_verify_checks_the_schema_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports, archive = tmp_path / "reports", str(tmp_path / "archive")
    record = store_record()
    record["status"] = "maybe"
    run = make_run(reports, at(2026, 2, 3), [record])
    assert main(["evidence", "upload", str(reports), archive]) == 0
    assert main(["evidence", "seal", archive]) == 0
    capsys.readouterr()
    assert main(["evidence", "verify", archive]) == 1
    out = capsys.readouterr().out
    assert "first broken link" not in out
    assert (f"  {run.relative_to(reports).as_posix()}/evidence.json: $.stores[0].status: 'maybe' is not one of "
            in out), out


def test_another_schema_version_is_said_not_checked_and_fails_nothing() -> None:
    """A monthly archive spans releases: a record of another schema version is not checked against this one's
    schema, and `evidence verify` says so (its seals and chain link are still checked)."""
    record: dict[str, Any] = {"schema_version": 1, "run": {"tool_version": "0.0.9"}, "stores": "anything"}
    assert evidence_problems("2026-01/r", record) == []
    run = chain.RunRecord(directory=Path("/nonexistent/2026-01/r"), rel="2026-01/r", evidence=record)
    assert not_checked([run]) == ["2026-01/r/evidence.json: schema_version 1, not 2: not checked against this "
                                  "restoreproof's schema (written by restoreproof 0.0.9; its seals and chain link "
                                  "are checked)"]


def test_a_record_broken_everywhere_is_named_by_its_first_violations() -> None:
    record = json.loads(json.dumps({"schema_version": 2, "run": {}, "stores": [{}] * 5, "chain": {}}))
    problems = evidence_problems("2026-01/r", record)
    assert len(problems) == SHOWN_PER_FILE + 1
    assert problems[-1].message.startswith("and ") and problems[-1].message.endswith(
        "more violations of the evidence schema")
    assert all(p.path == "2026-01/r/evidence.json" for p in problems)


def test_verify_json_gives_the_verdict_as_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "reports"
    make_run(root, at(2026, 1, 1), [store_record()])
    assert main(["evidence", "verify", str(root), "--json"]) == 0
    good = json.loads(capsys.readouterr().out)
    assert (good["ok"], good["runs"], good["problems"], good["schema_problems"]) == (True, 1, [], [])
    tampered = store_record("ledger")
    tampered["status"] = "maybe"
    run = make_run(root, at(2026, 1, 2), [tampered])
    assert main(["evidence", "verify", str(root), "--json"]) == 1
    bad = json.loads(capsys.readouterr().out)
    assert bad["ok"] is False and bad["runs"] == 2
    [problem] = bad["schema_problems"]
    assert problem["path"] == f"{run.relative_to(root).as_posix()}/evidence.json"
    assert problem["message"].startswith("$.stores[0].status: 'maybe' is not one of")
