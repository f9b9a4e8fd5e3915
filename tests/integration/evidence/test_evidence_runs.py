"""Real runs of `pytest suites/rds`: each is sealed after its reports are final, chained to the one before and
signed; every evidence.json validates against the shipped JSON Schema; damage to a real run is named; the
index counts the runs; and no artifact holds a row's contents or a secret."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from fixtures.saas_demo import MARKER
from tests.integration.evidence.conftest import PASSWORD, Reports, SigningKey
from verifiers.evidence import chain
from verifiers.sources import sha256_file

pytestmark = pytest.mark.postgres
CLI = [sys.executable, "-m", "verifiers.cli"]


def restoreproof(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, check=False)


def test_every_evidence_json_validates_against_the_shipped_schema(chained_reports: Reports,
                                                                 failing_reports: Reports) -> None:
    shipped = resources.files("verifiers.evidence").joinpath("schema/evidence.schema.json")
    schema = json.loads(shipped.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    runs = [*chained_reports.runs, *failing_reports.runs]
    for run in runs:
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in validator.iter_errors(json.loads((run / "evidence.json").read_text()))]
        assert errors == [], run
    assert len(runs) == 4


def test_runs_are_sealed_after_their_reports_are_final(chained_reports: Reports) -> None:
    """The seal covers the files as pytest-html and junitxml left them (the second run rewrote report.html
    after every test, so a seal taken too early would not match)."""
    for position, (run, output) in enumerate(zip(chained_reports.runs, chained_reports.output, strict=True)):
        entries, why = chain.read_sums(run / "SHA256SUMS")
        assert why is None
        assert set(entries) == {"evidence.json", "junit.xml", "report.html"}
        assert {name: sha256_file(run / name) for name in entries} == entries
        report = (run / "report.html").read_text()
        assert "id='restoreproof-summary'" in report and "summary__reload__button hidden" in report
        evidence = json.loads((run / "evidence.json").read_text())
        cases = ET.parse(run / "junit.xml").getroot().findall(".//testcase")
        assert len(cases) == len(evidence["stores"][0]["checks"]) > 20
        assert sorted(p.name for p in run.iterdir()) == ["SHA256SUMS", "SHA256SUMS.sig", "evidence.json",
                                                          "junit.xml", "report.html"]
        if position == 0:  # the line says what the chain holds: nothing before the first run
            assert "sealed: SHA256SUMS, the first run of this reports directory (nothing before it to chain to), " \
                   "signed by key" in output
        else:
            assert f"sealed: SHA256SUMS, chained to the previous run, {chained_reports.runs[position - 1].name}, " \
                   "signed by key" in output
        checked = subprocess.run(["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=run, capture_output=True,
                                 text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_runs_form_a_verified_signed_chain(chained_reports: Reports, signing_key: SigningKey) -> None:
    records = [json.loads((run / "evidence.json").read_text()) for run in chained_reports.runs]
    assert [r["chain"]["sequence"] for r in records] == [1, 2, 3]
    assert records[0]["chain"]["previous"] is None
    assert [r["chain"]["previous"]["run"] for r in records[1:]] == [run.name for run in chained_reports.runs[:2]]
    assert len({r["chain"]["signature"]["key_id"] for r in records}) == 1
    result = restoreproof("evidence", "verify", str(chained_reports.root), "--public-key", str(signing_key.public))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"verified 3 runs in {chained_reports.root}")
    assert "3 signed by the given key" in result.stdout


def test_damage_to_a_real_run_is_named(chained_reports: Reports, tmp_path: Path) -> None:
    root = tmp_path / "reports"
    shutil.copytree(chained_reports.root, root)
    middle = root / chained_reports.runs[1].relative_to(chained_reports.root)
    junit = middle / "junit.xml"
    data = bytearray(junit.read_bytes())
    data[len(data) // 3] ^= 0x20
    junit.write_bytes(bytes(data))
    result = restoreproof("evidence", "verify", str(root))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (f"FAILED: first broken link: {junit.relative_to(root).as_posix()}: "
                                             "modified after the run was sealed: its sha256 differs from the one "
                                             "in SHA256SUMS")
    shutil.rmtree(middle)
    result = restoreproof("evidence", "verify", str(root))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith(
        f"FAILED: first broken link: {middle.relative_to(root).as_posix()}/evidence.json: missing: run {middle.name} "
        "was deleted or moved")


def test_failing_run_records_what_differs(failing_reports: Reports) -> None:
    evidence = json.loads((failing_reports.runs[0] / "evidence.json").read_text())
    assert evidence["run"]["status"] == "failed" and evidence["chain"]["sequence"] == 1
    failed = {f"{c['check']}:{c['subject']}": c for c in evidence["stores"][0]["checks"] if not c["passed"]}
    assert "checksum:public.users" in failed  # the marker row changed: the canary is live
    assert failed["schema:public.users"]["observed"] == ["public.users.nickname: column added"]


def test_index_of_real_runs(chained_reports: Reports, tmp_path: Path) -> None:
    root = tmp_path / "reports"
    shutil.copytree(chained_reports.root, root)
    result = restoreproof("evidence", "index", str(root))
    assert result.returncode == 0, result.stdout + result.stderr
    index = json.loads((root / "index.json").read_text())
    months = {run.parent.name for run in chained_reports.runs}  # one, unless the runs straddled a month's end
    for entry in (m for m in index["months"] if m["month"] in months):
        mine = [run.name for run in chained_reports.runs if run.parent.name == entry["month"]]
        assert [r["id"] for r in entry["runs"]] == mine
        worst = max(r["stores"][0]["rto_seconds"] for r in entry["runs"])
        assert entry["stores"]["saas"] == {"tests": len(mine), "passed": len(mine), "status": "passed",
                                           "restored": True, "worst_rto_seconds": worst, "hygiene_results": 0,
                                           "not_restored_results": 0, "drill_results": 0}
    assert index["integrity"]["ok"] and index["kpis"]["restore_success_rate"] == {"passed": 3, "tests": 3, "rate": 1.0}
    assert index["stores"]["saas"]["months_tested"] == len(months)
    assert {s["kind"] for m in index["months"] for r in m["runs"] for s in r["stores"]} == {"restore"}


def test_no_row_contents_or_secrets_in_any_artifact(chained_reports: Reports, failing_reports: Reports,
                                                    signing_key: SigningKey, tmp_path: Path) -> None:
    """The planted marker row value, the DSN's password and the signing key appear in no file of any run, no
    index, and no output."""
    private_key_body = "".join(signing_key.private.read_text().splitlines()[1:-1])
    secrets = {"marker": MARKER, "password": PASSWORD, "private key": private_key_body}
    roots = []
    for reports in (chained_reports, failing_reports):
        root = tmp_path / reports.root.parent.name
        shutil.copytree(reports.root, root)
        assert restoreproof("evidence", "index", str(root)).returncode == 0
        roots.append(root)
    files = [p for root in roots for p in root.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"report.html", "junit.xml", "evidence.json", "SHA256SUMS", "SHA256SUMS.sig",
                                       "index.html", "index.json"}
    for path in files:
        data = path.read_bytes()
        for what, secret in secrets.items():
            assert secret.encode() not in data, f"{what} found in {path}"
    for output in [*chained_reports.output, *failing_reports.output]:
        for what, secret in secrets.items():
            assert secret not in output, f"{what} found in a run's output"
