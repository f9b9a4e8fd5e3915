"""The CI files a team gets from `restoreproof init` (rendered from verifiers/templates/init/, their only copy)
and this project's own CI: the GitHub workflows lint clean (actionlint's checks, with shellcheck over every `run:`
script), every action is pinned by commit SHA with its release beside it, the GitLab file and the child pipeline
it plans validate against GitLab's CI schema (vendored by check-jsonschema, so offline), and every `restoreproof`
command they call exists. Each linter is also shown a broken file, so a linter that checks nothing cannot pass
these tests. Both run one job per suite the inventory has, every RESTOREPROOF_* variable they set has a reader,
and the project's own CI keeps the privilege its disk-full tests need."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci_support import (
    PINNED_USES,
    ROOT,
    actionlint,
    calls_of,
    example_blocks,
    load,
    on,
    render_starters,
    schema_check,
    shellcheck,
    uncomment,
    uses_lines,
)
from verifiers import __version__
from verifiers.cli import build_parser, main
from verifiers.gitlab_pipeline import child_pipeline, drill_pipeline
from verifiers.stores import registry

OWN_CI = ROOT / ".github" / "workflows" / "ci.yml"
GITLAB_FILE = ".gitlab/ci/restore-verification.yml"


@pytest.fixture(scope="module")
def github(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The GitHub workflows `restoreproof init` writes (no inventory yet), by file name."""
    written = render_starters(tmp_path_factory.mktemp("github"), "github")
    return {Path(path).name: file for path, file in written.items() if path.startswith(".github/")}


@pytest.fixture(scope="module")
def gitlab(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The GitLab files `restoreproof init --ci gitlab` writes, and the child pipelines its plan job writes for an
    inventory with every example of the starter inventory uncommented (a store of every kind): the suites', and a
    drill's of its example service on a tagged runner."""
    folder = tmp_path_factory.mktemp("gitlab")
    written = render_starters(folder, "gitlab")
    inventory = written["inventory.toml"]
    inventory.write_text(uncomment(inventory.read_text()))
    child = folder / "restore-verification-pipeline.yml"
    child.write_text(child_pipeline(written[GITLAB_FILE], project_suites(), inventory=Path("inventory.toml"),
                                    store="", services={"mongo": "mongo:7.0"}))
    drill = folder / "restore-drill-pipeline.yml"
    drill.write_text(drill_pipeline(written[GITLAB_FILE], "checkout", ["mongo", "postgres"],
                                    inventory=Path("inventory.toml"), services={"mongo": "mongo:7.0"},
                                    runner_tags=["vpc", "prod-db"]))
    return {**written, "child": child, "drill-child": drill}


def workflows(github: dict[str, Path]) -> list[Path]:
    return [OWN_CI, github["restore-verification.yml"], github["restore-evidence-freshness.yml"],
            github["restore-drill.yml"]]


def test_github_workflows_lint_clean(github: dict[str, Path]) -> None:
    assert sorted(p.name for p in (ROOT / ".github" / "workflows").glob("*.yml")) == ["ci.yml"]  # the rest: init
    result = actionlint(*workflows(github))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_a_broken_workflow(github: dict[str, Path], tmp_path: Path) -> None:
    workflow = load(github["restore-verification.yml"])
    workflow["jobs"]["verify"]["steps"].append({"name": "typo", "run": 'echo "${{ matrix.suit }}"'})
    broken = tmp_path / "restore-verification.yml"
    broken.write_text(yaml.safe_dump(workflow, sort_keys=False))
    result = actionlint(broken)
    assert result.returncode != 0
    assert 'property "suit" is not defined' in result.stdout


def test_actionlint_rejects_an_action_pinned_by_tag(github: dict[str, Path], tmp_path: Path) -> None:
    text = github["restore-verification.yml"].read_text()
    broken = tmp_path / "restore-verification.yml"
    broken.write_text(re.sub(r"actions/checkout@[0-9a-f]{40} # v\S+", "actions/checkout@v5", text, count=1))
    result = actionlint(broken)
    assert result.returncode != 0
    assert "[unpinned-uses]" in result.stdout


def test_every_action_is_pinned_by_commit_with_its_release(github: dict[str, Path]) -> None:
    """`owner/repo@<40 hex> # vX.Y.Z` everywhere (a tag can be moved to other code, a commit cannot), and one
    commit per action across the files, so that they are bumped together."""
    pins: dict[str, set[tuple[str, str]]] = {}
    for path in workflows(github):
        for line in uses_lines(path.read_text()):
            match = PINNED_USES.match(line)
            assert match, f"{path.name}: not pinned by commit with its release: {line.strip()}"
            pins.setdefault(match[1], set()).add((match[2], match[3]))
    assert set(pins) == {"actions/checkout", "actions/setup-python", "actions/upload-artifact",
                         "aws-actions/configure-aws-credentials"}
    assert {action: len(found) for action, found in pins.items()} == dict.fromkeys(pins, 1)
    for unpinned in ("      - uses: actions/checkout@v5", "      - uses: actions/checkout@93cb6efe18208431cddfb8368fd8",
                     "      - uses: actions/checkout@93cb6efe18208431cddfb8368fd83d5badbf9bfd"):
        assert not PINNED_USES.match(unpinned)


def test_ci_files_match_their_published_schemas(github: dict[str, Path], gitlab: dict[str, Path]) -> None:
    checks = [(gitlab[GITLAB_FILE], "vendor.gitlab-ci"), (gitlab[".gitlab-ci.yml"], "vendor.gitlab-ci"),
              (gitlab["child"], "vendor.gitlab-ci"), (gitlab["drill-child"], "vendor.gitlab-ci"),
              *((p, "vendor.github-workflows") for p in workflows(github))]
    for path, schema in checks:
        result = schema_check(path, schema)
        assert result.returncode == 0, f"{path.name}: {result.stdout}{result.stderr}"


def test_gitlab_schema_check_rejects_a_broken_template(gitlab: dict[str, Path], tmp_path: Path) -> None:
    template = load(gitlab[GITLAB_FILE])
    template["restore-verification-plan"]["rules"].append({"if": '$CI_PIPELINE_SOURCE == "push"', "when": "sometimes"})
    broken = tmp_path / "restore-verification.yml"
    broken.write_text(yaml.safe_dump(template, sort_keys=False))
    result = schema_check(broken, "vendor.gitlab-ci")
    assert result.returncode == 1
    assert "'sometimes' is not one of" in result.stdout


def test_restore_workflow_runs_monthly_per_suite_with_oidc_and_keeps_evidence(github: dict[str, Path]) -> None:
    workflow = load(github["restore-verification.yml"])
    assert re.fullmatch(r"\d+ \d+ 1 \* \*", on(workflow)["schedule"][0]["cron"])
    assert set(on(workflow)["workflow_dispatch"]["inputs"]) == {"suite", "store", "role-to-assume"}
    verify = workflow["jobs"]["verify"]
    # contents: write only to push the evidence to the archive branch (the default archive, git:restore-evidence)
    assert verify["permissions"] == {"id-token": "write", "contents": "write"}
    assert workflow["env"]["ARCHIVE"] == "${{ vars.RESTOREPROOF_EVIDENCE_ARCHIVE || 'git:restore-evidence' }}"
    assert verify["strategy"]["fail-fast"] is False
    assert verify["strategy"]["matrix"]["suite"] == "${{ fromJSON(needs.plan.outputs.suites) }}"
    plan = "\n".join(step.get("run", "") for step in workflow["jobs"]["plan"]["steps"])
    assert 'restoreproof suites --inventory "$INVENTORY"' in plan
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


def test_the_ci_installs_restoreproof_by_name_and_runs_no_demo(github: dict[str, Path],
                                                              gitlab: dict[str, Path]) -> None:
    """A team's repository is not restoreproof's clone: the CI installs the release by its package name (the
    repository variable RESTOREPROOF_PIP_SPEC overrides it) and builds no demo backups."""
    spec = f"restoreproof[all]=={__version__}"
    for path in github.values():
        assert load(path)["env"]["PIP_SPEC"] == f"${{{{ vars.RESTOREPROOF_PIP_SPEC || '{spec}' }}}}"
    assert load(gitlab[GITLAB_FILE])[".restoreproof"]["variables"]["RESTOREPROOF_PIP_SPEC"] == spec
    for path in [*github.values(), gitlab[GITLAB_FILE]]:
        text = path.read_text()
        assert "pip install" in text
        assert "build_demo" not in text and "fixtures" not in text and 'pip install "."' not in text


def test_contributor_ci_runs_the_projects_ci_script() -> None:
    ci = load(OWN_CI)
    assert ci["jobs"]["test"]["steps"][-1]["run"] == "bash .ci/run"


def privileged(job: dict[str, Any]) -> bool:
    """Whether a GitHub job runs in a --privileged container (root with CAP_SYS_ADMIN, allowed to mount)."""
    container = job.get("container")
    return isinstance(container, dict) and "--privileged" in shlex.split(str(container.get("options", "")))


def test_the_ci_script_runs_where_the_disk_full_tests_can_mount_a_tmpfs() -> None:
    """tests/faults/test_sandbox_faults.py mounts a small tmpfs and fails without CAP_SYS_ADMIN; Docker's default
    seccomp/AppArmor profiles refuse mount(2) even with --cap-add SYS_ADMIN, so only --privileged will do."""
    jobs = load(OWN_CI)["jobs"].values()
    running = [job for job in jobs if any(".ci/run" in step.get("run", "") for step in job["steps"])]
    assert len(running) == 1
    assert privileged(running[0]), "the job running .ci/run needs `container: {options: --privileged}`"
    assert running[0]["container"]["image"] == "python:${{ matrix.python }}-bookworm"
    # every Python the classifiers promise runs the whole suite
    promised = {c.rpartition(":: ")[2] for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "classifiers"] if c.startswith("Programming Language :: Python :: 3.")}
    assert set(running[0]["strategy"]["matrix"]["python"]) == promised == {"3.11", "3.12", "3.13"}
    assert not privileged({"container": "python:3.11-bookworm"})
    assert not privileged({"container": {"image": "python:3.11-bookworm", "options": "--cap-add SYS_ADMIN"}})


def test_gitlab_plans_a_child_pipeline_runs_it_and_seals_after_it(gitlab: dict[str, Path]) -> None:
    template = load(gitlab[GITLAB_FILE])
    schedule = {"if": '$CI_PIPELINE_SOURCE == "schedule"'}
    plan, trigger = template["restore-verification-plan"], template["restore-verification"]
    assert plan["stage"] == ".pre" and schedule in plan["rules"] and schedule in trigger["rules"]
    assert "--format gitlab-pipeline" in plan["script"][0]
    assert plan["artifacts"]["paths"] == ["restore-verification-pipeline.yml"]
    assert trigger["needs"] == ["restore-verification-plan"]
    assert trigger["trigger"] == {"include": [{"artifact": "restore-verification-pipeline.yml",
                                               "job": "restore-verification-plan"}], "strategy": "depend",
                                  "forward": {"pipeline_variables": True}}
    job = template[".restoreproof-verify"]
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == "reports/*/*/junit.xml"
    assert template[".restoreproof"]["id_tokens"]["AWS_ID_TOKEN"]["aud"] == "sts.amazonaws.com"
    assert 'restoreproof evidence upload reports "$RESTOREPROOF_EVIDENCE_ARCHIVE"' in job["script"][0]
    sealer = template["restore-evidence-seal"]  # last stage, after the child pipeline, pass or fail
    assert sealer["stage"] == ".post" and {**schedule, "when": "always"} in sealer["rules"]
    for command in ('restoreproof evidence seal "$RESTOREPROOF_EVIDENCE_ARCHIVE"',
                    'restoreproof evidence index "$RESTOREPROOF_EVIDENCE_ARCHIVE"',
                    'restoreproof evidence verify "$RESTOREPROOF_EVIDENCE_ARCHIVE"'):
        assert command in sealer["script"][0], command
    # the parent's jobs run for schedules and manual runs only, so none of them runs again in the child pipeline
    for name, parent_job in template.items():
        if not str(name).startswith("."):
            assert all("$CI_PIPELINE_SOURCE ==" in rule["if"] or rule.get("when") == "never"
                       for rule in parent_job["rules"]), name
    assert load(gitlab[".gitlab-ci.yml"]) == {"include": [{"local": GITLAB_FILE}]}


def project_suites() -> list[str]:
    """The suites restoreproof has: each registered store kind's default suite (verifiers/stores/registry.py)."""
    return sorted(registry.suites())


def test_the_suites_directory_has_a_module_for_every_suite() -> None:
    modules = {match for path in (ROOT / "suites").glob("*/test_*.py")
               for match in re.findall(r'^SUITE = "([^"]+)"$', path.read_text(), re.MULTILINE)}
    assert modules == set(project_suites())
    assert {"gcs", "azure-blob", "mongo"} <= modules  # the derivation found the kinds, not an empty set


def test_both_ci_files_run_every_suite_of_the_inventory(github: dict[str, Path], gitlab: dict[str, Path]) -> None:
    """Both matrices are `restoreproof suites` of the inventory: with a store of every kind, a job per suite."""
    child = load(gitlab["child"])
    jobs = {name: job for name, job in child.items() if str(name).startswith("restore-verification:")}
    assert sorted(job["variables"]["RESTOREPROOF_JOB_SUITE"] for job in jobs.values()) == project_suites()
    assert all(job["extends"] == ".restoreproof-verify" for job in jobs.values())
    assert jobs["restore-verification:mongo"]["services"] == [{"name": "mongo:7.0", "alias": "mongo"}]
    assert ".restoreproof-verify" in child  # the committed file is the child's base
    workflow = load(github["restore-verification.yml"])
    (listed,) = re.findall(r"\(([^)]*)\)", on(workflow)["workflow_dispatch"]["inputs"]["suite"]["description"])
    assert sorted(listed.split(", ")) == project_suites()  # the manual run's input names the choices


def gitlab_scripts(template: dict[Any, Any]) -> Iterator[tuple[str, str]]:
    for name, job in template.items():
        if isinstance(job, dict) and ("script" in job or "before_script" in job):
            yield str(name), "\n".join([*job.get("before_script", []), *job.get("script", [])])


def test_gitlab_scripts_pass_shellcheck(gitlab: dict[str, Path], tmp_path: Path) -> None:
    found = dict(gitlab_scripts(load(gitlab[GITLAB_FILE])))
    assert set(found) == {".restoreproof", "restore-verification-plan", ".restoreproof-verify",
                          "restore-evidence-seal", ".restoreproof-drill"}
    for name, script in found.items():
        result = shellcheck(script, tmp_path)
        assert result.returncode == 0, f"{name}: {result.stdout}"
    assert shellcheck('alerts="--alerts x"\nrestoreproof evidence trend "$ARCHIVE" $alerts', tmp_path).returncode


def scripts(github: dict[str, Path], gitlab: dict[str, Path]) -> list[str]:
    """Every shell script the CI files run: GitHub `run:` steps, the GitLab jobs' before_script and script."""
    found = [step.get("run", "") for path in workflows(github) for job in load(path)["jobs"].values()
             for step in job["steps"]]
    return [*found, *(script for _, script in gitlab_scripts(load(gitlab[GITLAB_FILE])))]


def test_every_restoreproof_command_called_exists(github: dict[str, Path], gitlab: dict[str, Path]) -> None:
    (subcommands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    text = "\n".join(scripts(github, gitlab))
    called = set(re.findall(r"\brestoreproof ([a-z]+)\b", text))
    assert called == {"suites", "summary", "evidence", "notify", "doctor"}
    assert text.count('doctor --probe --inventory "$') == 2  # before each suite's restore, on both CIs
    build_parser().parse_args(["doctor", "--probe", "--inventory", "inventory.toml"])  # the flags exist
    assert text.count("verify --inventory") == 2  # `verify` goes through an argument list (--store only if given)
    assert text.count("(drill --inventory") == 1  # and `drill` (restore-drill.yml; GitLab: `set -- drill`)
    assert text.count("set -- drill --inventory") == 1
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


def test_every_restoreproof_variable_the_ci_files_set_is_read(github: dict[str, Path],
                                                              gitlab: dict[str, Path]) -> None:
    documents = [*map(load, workflows(github)), load(gitlab[GITLAB_FILE]), load(gitlab["child"]),
                 load(gitlab["drill-child"])]
    assert {"RESTOREPROOF_JOB_SUITE", "RESTOREPROOF_CI_FILE", "RESTOREPROOF_JOB_SERVICE",
            "RESTOREPROOF_JOB_SUITES"} <= set().union(*map(variables_set, documents))
    assert unread_variables(documents) == set()


def test_a_variable_nothing_reads_is_found(github: dict[str, Path], gitlab: dict[str, Path]) -> None:
    """RESTOREPROOF_MONGO_URL, once set by both files: the external sandbox takes its address from the
    inventory's `url`, no code read the variable."""
    workflow = load(github["restore-verification.yml"])
    workflow["jobs"]["verify"]["env"]["RESTOREPROOF_MONGO_URL"] = "${{ matrix.suite == 'mongo' && 'x' || '' }}"
    template = load(gitlab[GITLAB_FILE])
    template[".restoreproof-verify"]["script"].append('export RESTOREPROOF_MONGO_URL="mongodb://mongo:27017"')
    assert unread_variables([workflow]) == {"RESTOREPROOF_MONGO_URL"}
    assert unread_variables([template]) == {"RESTOREPROOF_MONGO_URL"}


def test_a_month_without_a_restore_test_is_alerted_by_a_workflow_scheduled_apart(github: dict[str, Path]) -> None:
    """The monthly workflow cannot alert about its own absence: a weekly one reads the archive."""
    workflow = load(github["restore-evidence-freshness.yml"])
    assert re.fullmatch(r"\d+ \d+ \* \* \d", on(workflow)["schedule"][0]["cron"])  # weekly, whatever the month did
    runs = "\n".join(step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"])
    assert 'restoreproof evidence freshness "$ARCHIVE" --max-age 35d "${alerts[@]}"' in runs
    assert workflow["env"]["ARCHIVE"] == load(github["restore-verification.yml"])["env"]["ARCHIVE"]


def test_the_starter_inventory_has_an_example_of_every_kind(gitlab: dict[str, Path]) -> None:
    """So the child pipeline above, planned from every example, covers every suite (and a new kind needs one)."""
    text = (ROOT / "verifiers" / "templates" / "init" / "inventory.toml").read_text()
    kinds = {match for block in example_blocks(text) for match in re.findall(r'^kind = "([^"]+)"', uncomment(block),
                                                                          re.MULTILINE)}
    assert kinds == set(registry.kinds())


def test_the_hygiene_job_reads_last_months_configuration_from_the_archive(github: dict[str, Path],
                                                                         gitlab: dict[str, Path],
                                                                         tmp_path: Path) -> None:
    """Each matrix job starts with a fresh reports/: the hygiene job (planned by `suites --with-hygiene`) passes
    the archive as --history, so its configuration evidence shows the change since last month; the restore
    suites' jobs do not read it. The scripts are run, as the CI runs them, with a restoreproof that records."""
    workflow = load(github["restore-verification.yml"])
    plan = "\n".join(step.get("run", "") for step in workflow["jobs"]["plan"]["steps"])
    assert "--with-hygiene" in plan
    (verify_step,) = [step["run"] for step in workflow["jobs"]["verify"]["steps"]
                      if step.get("name") == "Restore and verify"]
    base = {"INVENTORY": "inventory.toml", "STORE": "", "ARCHIVE": "s3://evidence/prod"}
    assert calls_of(verify_step, {**base, "SUITE": "hygiene"}, tmp_path, "bash") == [
        ["verify", "--inventory", "inventory.toml", "--suite", "hygiene", "--reports-dir", "reports",
         "--history", "s3://evidence/prod"]]
    assert calls_of(verify_step, {**base, "SUITE": "rds", "STORE": "billing"}, tmp_path, "bash") == [
        ["verify", "--inventory", "inventory.toml", "--suite", "rds", "--reports-dir", "reports",
         "--store", "billing"]]

    template = load(gitlab[GITLAB_FILE])
    assert "--with-hygiene" in template["restore-verification-plan"]["script"][0]
    job = "\n".join(template[".restoreproof-verify"]["script"])
    env = {"RESTOREPROOF_INVENTORY": "inventory.toml", "RESTOREPROOF_ALERTS_CONFIG": "alerts.toml",
           "CI_JOB_URL": "https://gitlab.example/job/1"}
    verifies = [c for c in calls_of(job, {**env, "RESTOREPROOF_JOB_SUITE": "hygiene",
                                          "RESTOREPROOF_EVIDENCE_ARCHIVE": "git:restore-evidence"}, tmp_path, "sh")
                if c[0] == "verify"]
    assert verifies == [["verify", "--inventory", "inventory.toml", "--suite", "hygiene", "--reports-dir",
                         "reports", "--history", "git:restore-evidence"]]
    # no archive configured: nothing to read (the run says "no earlier record"), and no archive is invented
    verifies = [c for c in calls_of(job, {**env, "RESTOREPROOF_JOB_SUITE": "hygiene"}, tmp_path, "sh")
                if c[0] == "verify"]
    assert verifies == [["verify", "--inventory", "inventory.toml", "--suite", "hygiene", "--reports-dir",
                         "reports"]]
    build_parser().parse_args([*verifies[0], "--history", "s3://evidence/prod"])  # the flag exists
    build_parser().parse_args(["suites", "--with-hygiene"])


def test_the_hygiene_job_records_the_alert_response_where_alerts_toml_asks(github: dict[str, Path],
                                                                         gitlab: dict[str, Path],
                                                                         tmp_path: Path) -> None:
    """With a [response] table in alerts.toml, the hygiene job (only it: once a month) passes --alert-response;
    without one, or in a restore suite's job, it does not. The scripts are run with a restoreproof that records."""
    workflow = load(github["restore-verification.yml"])
    (step,) = [s for s in workflow["jobs"]["verify"]["steps"] if s.get("name") == "Restore and verify"]
    assert step["env"]["PAGERDUTY_API_TOKEN"] == "${{ secrets.PAGERDUTY_API_TOKEN }}"
    template = load(gitlab[GITLAB_FILE])
    job = "\n".join(template[".restoreproof-verify"]["script"])
    base = {"INVENTORY": "inventory.toml", "STORE": "", "ARCHIVE": "", "ALERTS_CONFIG": "alerts.toml"}
    gl_env = {"RESTOREPROOF_INVENTORY": "inventory.toml", "RESTOREPROOF_ALERTS_CONFIG": "alerts.toml",
              "CI_JOB_URL": "https://gitlab.example/job/1"}

    def verifies(suite: str) -> tuple[list[list[str]], list[list[str]]]:
        github_calls = calls_of(step["run"], {**base, "SUITE": suite}, tmp_path, "bash")
        gitlab_calls = calls_of(job, {**gl_env, "RESTOREPROOF_JOB_SUITE": suite}, tmp_path, "sh")
        return github_calls, [c for c in gitlab_calls if c[0] == "verify"]

    hygiene = ["verify", "--inventory", "inventory.toml", "--suite", "hygiene", "--reports-dir", "reports"]
    (tmp_path / "alerts.toml").write_text('[[channels]]\ntype = "slack"\nwebhook_url_env = "SLACK"\n')
    assert verifies("hygiene") == ([hygiene], [hygiene])  # channels only: nothing to read
    (tmp_path / "alerts.toml").write_text('[response]\ntarget = "PT1H"\n[response.pagerduty]\n'
                                          'token_env = "PAGERDUTY_API_TOKEN"\n')
    with_kpi = [*hygiene, "--alert-response", "alerts.toml"]
    assert verifies("hygiene") == ([with_kpi], [with_kpi])
    rds = ["verify", "--inventory", "inventory.toml", "--suite", "rds", "--reports-dir", "reports"]
    assert verifies("rds") == ([rds], [rds])
    build_parser().parse_args(with_kpi)  # the flag exists


def test_the_drill_workflow_runs_a_drill_by_hand_and_archives_it(github: dict[str, Path], tmp_path: Path) -> None:
    """restore-drill.yml: started by hand with the service, participants and findings (semicolon-separated, each
    passed as typed, trimmed, through the environment: never spliced into the script); the sealed run goes to the
    monthly workflow's archive, which is then sealed, indexed and verified."""
    workflow = load(github["restore-drill.yml"])
    assert set(on(workflow)) == {"workflow_dispatch"}
    inputs = on(workflow)["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"service", "participants", "findings"} and inputs["service"]["required"] is True
    assert workflow["env"]["ARCHIVE"] == load(github["restore-verification.yml"])["env"]["ARCHIVE"]
    job = workflow["jobs"]["drill"]
    assert job["permissions"] == {"id-token": "write", "contents": "write"}
    assert job["env"] == {"SERVICE": "${{ inputs.service }}", "PARTICIPANTS": "${{ inputs.participants }}",
                          "FINDINGS": "${{ inputs.findings }}"}
    assert all("${{ inputs." not in step.get("run", "") for step in job["steps"])
    steps = {step.get("uses", "").split("@")[0] or step["name"]: step for step in job["steps"]}
    drill = next(step["run"] for name, step in steps.items() if str(name).startswith("Drill"))
    env = {"INVENTORY": "inventory.toml", "SERVICE": "checkout",
           "PARTICIPANTS": " Ada Lovelace (incident commander);Grace Hopper (DBA) ;; ",
           "FINDINGS": "the runbook's cache step is out of date; $(touch pwned) `id` stays text"}
    (called,) = calls_of(drill, env, tmp_path, "bash")
    assert called == ["drill", "--inventory", "inventory.toml", "--service", "checkout", "--reports-dir", "reports",
                      "--participant", "Ada Lovelace (incident commander)", "--participant", "Grace Hopper (DBA)",
                      "--finding", "the runbook's cache step is out of date",
                      "--finding", "$(touch pwned) `id` stays text"]
    assert not (tmp_path / "pwned").exists()
    build_parser().parse_args(called)  # the flags exist
    (called,) = calls_of(drill, {**env, "PARTICIPANTS": "", "FINDINGS": ""}, tmp_path, "bash")
    assert called == ["drill", "--inventory", "inventory.toml", "--service", "checkout", "--reports-dir", "reports"]
    archive = next(step for name, step in steps.items() if str(name).startswith("Upload the drill"))
    assert archive["if"].startswith("always()")
    calls = calls_of(archive["run"], {"ARCHIVE": "git:restore-evidence", "INVENTORY": "inventory.toml",
                                      "RESTOREPROOF_SIGNING_KEY": "/tmp/signing.pem"}, tmp_path, "bash")
    assert calls == [["evidence", "upload", "reports", "git:restore-evidence"],
                     ["evidence", "seal", "git:restore-evidence", "--signing-key", "/tmp/signing.pem"],
                     ["evidence", "index", "git:restore-evidence", "--inventory", "inventory.toml"],
                     ["evidence", "verify", "git:restore-evidence", "--signing-key", "/tmp/signing.pem"]]
    for call in calls:
        build_parser().parse_args(call)
    assert steps["actions/upload-artifact"]["with"]["path"] == "reports/"


def plan_calls(gitlab: dict[str, Path], tmp_path: Path, **env: str) -> list[list[str]]:
    """The `restoreproof` command lines the GitLab plan job runs with these variables (and the starter inventory
    of every example, the runner tags vpc,prod-db), run with a restoreproof that records."""
    script = load(gitlab[GITLAB_FILE])["restore-verification-plan"]["script"][0]
    return calls_of(script, {"RESTOREPROOF_INVENTORY": str(gitlab["inventory.toml"]),
                             "RESTOREPROOF_CI_FILE": str(gitlab[GITLAB_FILE]),
                             "RESTOREPROOF_ALERTS_CONFIG": "alerts.toml", "RESTOREPROOF_RUNNER_TAGS": "vpc,prod-db",
                             "CI_JOB_URL": "https://gitlab.example/job/1", **env}, tmp_path, "sh")


def planned(call: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> dict[Any, Any]:
    """The child pipeline the real `restoreproof` writes for a command line of the plan job, schema-checked."""
    assert main(call) == 0
    child = tmp_path / "planned.yml"
    child.write_text(capsys.readouterr().out)
    result = schema_check(child, "vendor.gitlab-ci")
    assert result.returncode == 0, result.stdout + result.stderr
    return load(child)


def test_a_schedule_ignores_the_drill_variables_and_runs_the_suites(gitlab: dict[str, Path], tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """RESTOREPROOF_DRILL_SERVICE left as a project variable: a scheduled pipeline still plans and triggers every
    suite (before, plan and trigger were `when: never` and the schedule sealed nothing but went green)."""
    template = load(gitlab[GITLAB_FILE])
    for name in ("restore-verification-plan", "restore-verification"):
        assert template[name]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'},
                                           {"if": '$CI_PIPELINE_SOURCE == "web"'}], name
    assert "restore-drill" not in template  # the drill is the child pipeline's job, never the parent's
    drill_set = {"RESTOREPROOF_DRILL_SERVICE": "checkout", "RESTOREPROOF_DRILL_PARTICIPANTS": "Ada (IC)"}
    (call,) = plan_calls(gitlab, tmp_path, CI_PIPELINE_SOURCE="schedule", **drill_set)
    assert call == ["suites", "--inventory", str(gitlab["inventory.toml"]), "--suite", "", "--store", "",
                    "--with-hygiene", "--format", "gitlab-pipeline", "--gitlab-ci-file", str(gitlab[GITLAB_FILE]),
                    "--service-image", "mongo=mongo:7.0", "--runner-tags", "vpc,prod-db"]
    assert plan_calls(gitlab, tmp_path, CI_PIPELINE_SOURCE="web") == [call]  # a manual run without a drill
    child = planned(call, capsys, tmp_path)
    jobs = {name: job for name, job in child.items() if str(name).startswith(("restore-verification:",
                                                                               "restore-drill:"))}
    assert sorted(jobs) == [f"restore-verification:{suite}" for suite in project_suites()]
    assert all(job["tags"] == ["vpc", "prod-db"] for job in jobs.values())


def test_a_manual_drill_runs_in_a_child_pipeline_on_the_runner_tags(gitlab: dict[str, Path], tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A manual pipeline with RESTOREPROOF_DRILL_SERVICE plans one drill job, on the runner the restore jobs run on
    (the temporary RDS instances are private), and the trigger job runs it; the .post seal job seals its run."""
    (call,) = plan_calls(gitlab, tmp_path, CI_PIPELINE_SOURCE="web", RESTOREPROOF_DRILL_SERVICE="checkout",
                         RESTOREPROOF_SUITE="rds")  # a suite left in the form does not narrow a drill
    assert call == ["suites", "--inventory", str(gitlab["inventory.toml"]), "--drill", "checkout", "--format",
                    "gitlab-pipeline", "--gitlab-ci-file", str(gitlab[GITLAB_FILE]), "--service-image",
                    "mongo=mongo:7.0", "--runner-tags", "vpc,prod-db"]
    child = planned(call, capsys, tmp_path)
    jobs = [name for name in child if str(name).startswith(("restore-verification:", "restore-drill:"))]
    assert jobs == ["restore-drill:checkout"]
    assert child["restore-drill:checkout"] == {
        "extends": ".restoreproof-drill", "tags": ["vpc", "prod-db"],
        "variables": {"RESTOREPROOF_JOB_SERVICE": "checkout", "RESTOREPROOF_JOB_SUITES": "rds",
                      "RESTOREPROOF_INVENTORY": str(gitlab["inventory.toml"])}}
    # as JSON, a drill's suites are its stores' (both of checkout's example stores are RDS snapshots)
    assert main(["suites", "--inventory", str(gitlab["inventory.toml"]), "--drill", "checkout"]) == 0
    assert json.loads(capsys.readouterr().out) == ["rds"]
    template = load(gitlab[GITLAB_FILE])
    trigger = template["restore-verification"]
    assert trigger["trigger"]["include"] == [{"artifact": "restore-verification-pipeline.yml",
                                              "job": "restore-verification-plan"}]
    # the form's participants and findings reach the child's drill job as variables, not through its YAML
    assert trigger["trigger"]["forward"] == {"pipeline_variables": True}
    assert {"if": '$CI_PIPELINE_SOURCE == "web"', "when": "always"} in template["restore-evidence-seal"]["rules"]


def test_a_drill_of_a_service_with_a_mongo_store_starts_the_mongo_service(gitlab: dict[str, Path]) -> None:
    job = load(gitlab["drill-child"])["restore-drill:checkout"]
    assert job["services"] == [{"name": "mongo:7.0", "alias": "mongo"}] and job["tags"] == ["vpc", "prod-db"]
    assert job["variables"]["RESTOREPROOF_JOB_SUITES"] == "mongo postgres"


def test_a_bad_drill_plan_fails_naming_the_fix(gitlab: dict[str, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    base = ["suites", "--inventory", str(gitlab["inventory.toml"]), "--format", "gitlab-pipeline",
            "--gitlab-ci-file", str(gitlab[GITLAB_FILE])]

    def refused(*extra: str) -> str:
        assert main([*base, *extra]) == 2
        out, err = capsys.readouterr()
        assert out == ""  # nothing half-written
        return err

    err = refused("--drill", "chekout")
    assert "chekout" in err and "checkout" in err
    assert "takes no --suite, --store or --with-hygiene" in refused("--drill", "checkout", "--suite", "rds")
    older = tmp_path / "older.yml"  # a CI file written before drills ran in the child pipeline
    older.write_text(gitlab[GITLAB_FILE].read_text().replace(".restoreproof-drill:", ".restore-drill-old:"))
    err = refused("--gitlab-ci-file", str(older), "--drill", "checkout")
    assert "defines no .restoreproof-drill job" in err and "restoreproof init --ci gitlab" in err


def test_gitlab_drill_job_passes_participants_and_findings_as_typed(gitlab: dict[str, Path], tmp_path: Path) -> None:
    """The drill job (`.restoreproof-drill`, as the child pipeline's job extends it) with the form's variables:
    inputs with blanks and shell syntax passed as typed; MariaDB installed only for a service with a mysql store."""
    job = load(gitlab["drill-child"])["restore-drill:checkout"]
    script = "\n".join(load(gitlab[GITLAB_FILE])[".restoreproof-drill"]["script"])
    apt_log = tmp_path / "apt.log"
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "apt-get").write_text(f'#!/bin/sh\necho "$*" >> {apt_log}\n')
    (tmp_path / "bin" / "apt-get").chmod(0o755)
    env = {**job["variables"], "RESTOREPROOF_INVENTORY": "inventory.toml",
           "RESTOREPROOF_DRILL_PARTICIPANTS": " Ada Lovelace (incident commander);Grace Hopper (DBA) ;; ",
           "RESTOREPROOF_DRILL_FINDINGS": "the runbook's cache step is out of date; $(touch pwned) * stays text",
           "RESTOREPROOF_EVIDENCE_ARCHIVE": "s3://evidence/prod", "CI_JOB_URL": "https://gitlab.example/job/1"}
    calls = calls_of(script, env, tmp_path, "sh")
    drill = ["drill", "--inventory", "inventory.toml", "--service", "checkout", "--reports-dir", "reports"]
    assert [c for c in calls if c[0] in ("drill", "evidence")] == [
        [*drill, "--participant", "Ada Lovelace (incident commander)", "--participant", "Grace Hopper (DBA)",
         "--finding", "the runbook's cache step is out of date", "--finding", "$(touch pwned) * stays text"],
        ["evidence", "upload", "reports", "s3://evidence/prod"]]
    assert not (tmp_path / "pwned").exists() and not apt_log.exists()
    build_parser().parse_args(calls[0])  # the flags exist
    calls = calls_of(script, {**env, "RESTOREPROOF_JOB_SUITES": "mysql rds", "RESTOREPROOF_DRILL_PARTICIPANTS": "",
                              "RESTOREPROOF_DRILL_FINDINGS": ""}, tmp_path, "sh")
    assert [c for c in calls if c[0] == "drill"] == [drill]
    assert "mariadb-server" in apt_log.read_text()
