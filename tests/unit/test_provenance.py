"""Where a run came from, in its evidence and report (issue 24, item 5): read from GitHub Actions' and GitLab
CI's own variables, or "local" on a workstation; the inventory by its sha256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

from verifiers.cli import main
from verifiers.evidence import SCHEMA_PATH
from verifiers.evidence.provenance import provenance
from verifiers.evidence.report_html import provenance_html

GITHUB = {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/infra",
          "GITHUB_RUN_ID": "123456", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_SHA": "a" * 40, "GITHUB_ACTOR": "sre-bot",
          "GITHUB_EVENT_NAME": "schedule"}
GITLAB = {"GITLAB_CI": "true", "CI_PROJECT_PATH": "acme/infra", "CI_COMMIT_SHA": "b" * 40,
          "CI_JOB_URL": "https://gitlab.example/acme/infra/-/jobs/9", "GITLAB_USER_LOGIN": "alice",
          "CI_PIPELINE_SOURCE": "web"}


def test_github_actions(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.toml"
    inventory.write_text("stores = []\n")
    found = provenance(GITHUB, inventory=inventory, commit="c" * 40)
    assert found == {"ci": "github", "repository": "acme/infra", "commit": "a" * 40,
                     "run_url": "https://github.com/acme/infra/actions/runs/123456/attempts/2", "actor": "sre-bot",
                     "trigger": "schedule", "inventory_sha256": hashlib.sha256(b"stores = []\n").hexdigest()}
    manual = provenance({**GITHUB, "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_RUN_ATTEMPT": "1"},
                        inventory=None, commit=None)
    assert manual["trigger"] == "manual" and manual["run_url"] == "https://github.com/acme/infra/actions/runs/123456"


def test_gitlab_ci_and_a_workstation() -> None:
    found = provenance(GITLAB, inventory=None, commit=None)
    assert (found["ci"], found["run_url"], found["actor"], found["trigger"]) == (
        "gitlab", "https://gitlab.example/acme/infra/-/jobs/9", "alice", "manual")
    local = provenance({}, inventory=Path("/nonexistent/inventory.toml"), commit="d" * 40)
    assert local["ci"] is None and local["trigger"] == "local" and local["commit"] == "d" * 40
    assert local["inventory_sha256"] is None  # unreadable: not known, not made up


def test_the_report_shows_it_and_says_what_is_not_known() -> None:
    shown = provenance_html(provenance(GITLAB, inventory=None, commit=None))
    assert "<a href='https://gitlab.example/acme/infra/-/jobs/9'>" in shown and "<dd>alice</dd>" in shown
    assert "Inventory sha256</dt><dd><span class='rp-dim'>not known</span>" in shown


def test_a_run_records_its_provenance_in_valid_evidence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GITHUB.items():
        monkeypatch.setenv(name, value)
    inventory = tmp_path / "inventory.toml"
    inventory.write_text('[[stores]]\nname = "cache"\nkind = "redis"\nrto = "15m"\nrpo = "30d"\n'
                         'source = { type = "file", path = "none-*.rdb" }\n')
    monkeypatch.chdir(tmp_path)
    assert main(["verify", "--inventory", str(inventory), "--reports-dir", str(tmp_path / "reports"), "-q"]) == 1
    [evidence] = (tmp_path / "reports").glob("*/*/evidence.json")
    record = json.loads(evidence.read_text())
    jsonschema.validate(record, json.loads(SCHEMA_PATH.read_text()))
    assert record["run"]["provenance"]["run_url"] == "https://github.com/acme/infra/actions/runs/123456/attempts/2"
    assert record["run"]["provenance"]["inventory_sha256"] == hashlib.sha256(inventory.read_bytes()).hexdigest()
    assert "acme/infra/actions/runs/123456" in (evidence.parent / "report.html").read_text()
