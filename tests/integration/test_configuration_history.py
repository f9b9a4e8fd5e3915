"""Month over month (issue 25 item 4): a store's backup configuration compared with the one an earlier month's run
recorded. Last month's run is written in this process with a start time a month back (the plugin's own run
timestamps cannot be set): the same reading, judging, evidence and report code the hygiene suite runs. This
month's run is `pytest suites/hygiene` in a subprocess, as a user runs it, against the same moto server."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import jsonschema

from tests.aws_support import MotoServer
from tests.evidence_runs import evidence_schema
from verifiers.compliance import configuration_facts
from verifiers.compliance.configuration_history import earlier_configurations
from verifiers.evidence import RunInfo, report_html, write_evidence
from verifiers.inventory import load_inventory
from verifiers.runner import StoreOutcome
from verifiers.timing import RestoreTimer

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INVENTORY = """
[policy]
min_retention_days = 14

[[stores]]
name = "billing"
kind = "postgres"
rto = "4h"
rpo = "1h"
[stores.source]
type = "rds-snapshot"
instance = "cfg-billing"
"""


def last_months_run(inventory_path: Path, reports: Path, started: datetime) -> tuple[StoreOutcome, Path]:
    """What the hygiene suite records for the store, as a run started at `started`."""
    inventory = load_inventory(inventory_path)
    store = inventory.stores[0]
    found = configuration_facts.record(store, inventory.policy, inventory.base_dir, started,
                                       earlier_configurations(reports, started).get(store.name))
    status = "passed" if all(c.passed for c in found.checks) else "failed"
    outcome = StoreOutcome(store=store, status=status, checks=found.checks, timer=RestoreTimer(), suite="hygiene",
                           configuration=found.block)
    return outcome, write_evidence(RunInfo.new(reports, now=started), [outcome], project_dir=ROOT)


def test_a_shortened_retention_is_shown_against_last_months_record(tmp_path: Path, aws: MotoServer) -> None:
    rds = boto3.client("rds")
    rds.create_db_instance(DBInstanceIdentifier="cfg-billing", Engine="postgres", DBInstanceClass="db.t4g.small",
                           MasterUsername="app", MasterUserPassword="not-a-real-password-1", AllocatedStorage=20,
                           BackupRetentionPeriod=35)
    try:
        (tmp_path / "inventory.toml").write_text(INVENTORY)
        reports = tmp_path / "reports"
        a_month_ago = datetime.now(UTC) - timedelta(days=31)
        first, first_path = last_months_run(tmp_path / "inventory.toml", reports, a_month_ago)
        rds.modify_db_instance(DBInstanceIdentifier="cfg-billing", BackupRetentionPeriod=7, ApplyImmediately=True)
        result = subprocess.run([str(BIN / "pytest"), str(ROOT / "suites" / "hygiene"), "--inventory",
                                 "inventory.toml", "--reports-dir", "reports", "-p", "no:cacheprovider", "-q"],
                                cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
        verified = subprocess.run([str(BIN / "restoreproof"), "evidence", "verify", "reports"], cwd=tmp_path,
                                  capture_output=True, text=True, timeout=60, check=False)
        # as a CI job runs it: a fresh reports directory, earlier runs from a copy of the archive
        ci_job = subprocess.run([str(BIN / "restoreproof"), "verify", "--suite", "hygiene", "--reports-dir", "job",
                                 "--history", "reports", "-q"], cwd=tmp_path, capture_output=True, text=True,
                                timeout=120, check=False)
    finally:
        rds.delete_db_instance(DBInstanceIdentifier="cfg-billing", SkipFinalSnapshot=True,
                               DeleteAutomatedBackups=True)

    # last month: no earlier record, said in the evidence and in the report
    first_record = json.loads(first_path.read_text())
    assert first_record["stores"][0]["configuration"]["facts"]["retention_days"] == 35
    assert first_record["stores"][0]["configuration"]["previous"] is None
    assert "no earlier record" in report_html.summary_html([first])
    assert first.status == "passed"

    # this month: the policy fails (7 < 14) and the change since last month is shown
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert "billing: configuration retention: retention is 7 days; the policy requires at least 14 days" \
        in result.stdout
    this_run = max(p for p in reports.glob("*/*") if p != first_path.parent)
    evidence = json.loads((this_run / "evidence.json").read_text())
    assert list(jsonschema.Draft202012Validator(evidence_schema()).iter_errors(evidence)) == []
    block = evidence["stores"][0]["configuration"]
    assert block["facts"]["retention_days"] == 7
    assert block["previous"] == {"run": first_record["run"]["id"], "month": f"{a_month_ago:%Y-%m}",
                                 "changes": [{"fact": "retention_days", "was": 35, "now": 7}]}
    report = (this_run / "report.html").read_text()
    assert f"since run {first_record['run']['id']} ({a_month_ago:%Y-%m}): retention 35 → 7 days" in report
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert ci_job.returncode == 1, ci_job.stdout[-3000:] + ci_job.stderr[-2000:]
    (job_run,) = (tmp_path / "job").glob("*/*")
    assert json.loads((job_run / "evidence.json").read_text())["stores"][0]["configuration"]["previous"] == \
        block["previous"]
