"""Where the restore jobs of the CI files `restoreproof init` writes run (issue 23: the temporary RDS instances
are private, so the jobs must run inside their VPC): GitHub's `runs-on` from RESTOREPROOF_CODEBUILD_PROJECT /
RESTOREPROOF_RUNS_ON, GitLab's runner tags from RESTOREPROOF_RUNNER_TAGS through `restoreproof suites
--runner-tags`, for the suites' jobs and a drill's alike. Linting and the schemas are tests/unit/test_workflows.py's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.ci_support import calls_of, load, render_starters
from verifiers.cli import main

GITLAB_FILE = ".gitlab/ci/restore-verification.yml"


def evaluate_runs_on(expression: str, variables: dict[str, str]) -> str:
    """The `runs-on` expression of the template evaluated as GitHub does for these inputs: the test fails if the
    expression's shape changes, rather than trusting a substring."""
    match = re.fullmatch(
        r"\$\{\{ vars\.RESTOREPROOF_CODEBUILD_PROJECT != '' && format\('([^']*)', "
        r"vars\.RESTOREPROOF_CODEBUILD_PROJECT, github\.run_id, github\.run_attempt\) "
        r"\|\| vars\.RESTOREPROOF_RUNS_ON \|\| '([^']*)' \}\}", expression)
    assert match, expression
    project = variables.get("RESTOREPROOF_CODEBUILD_PROJECT", "")
    if project:
        return match.group(1).format(project, "4711", "2")
    return variables.get("RESTOREPROOF_RUNS_ON") or match.group(2)


def test_github_restore_jobs_run_where_the_variables_say(tmp_path: Path) -> None:
    written = render_starters(tmp_path, "github")
    workflow = load(written[".github/workflows/restore-verification.yml"])
    runs_on = workflow["jobs"]["verify"]["runs-on"]
    assert evaluate_runs_on(runs_on, {}) == "ubuntu-latest"
    assert evaluate_runs_on(runs_on, {"RESTOREPROOF_RUNS_ON": "vpc-runner"}) == "vpc-runner"
    assert evaluate_runs_on(runs_on, {"RESTOREPROOF_RUNS_ON": "vpc-runner",
                                      "RESTOREPROOF_CODEBUILD_PROJECT": "restoreproof"}) == \
        "codebuild-restoreproof-4711-2"
    # planning and sealing touch no database: they stay on GitHub's runners
    assert workflow["jobs"]["plan"]["runs-on"] == workflow["jobs"]["seal"]["runs-on"] == "ubuntu-latest"
    header = written[".github/workflows/restore-verification.yml"].read_text()
    assert "#   RESTOREPROOF_RUNS_ON " in header and "#   RESTOREPROOF_CODEBUILD_PROJECT " in header


def test_gitlab_plan_passes_the_runner_tags_to_the_child_pipeline(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    written = render_starters(tmp_path, "gitlab")
    template = load(written[GITLAB_FILE])
    script = template["restore-verification-plan"]["script"][0]
    assert '--runner-tags "${RESTOREPROOF_RUNNER_TAGS:-}"' in script
    assert "#   RESTOREPROOF_RUNNER_TAGS " in written[GITLAB_FILE].read_text()
    inventory = tmp_path / "inventory.toml"
    inventory.write_text('[[stores]]\nname = "saas"\nkind = "postgres"\nrto = "15m"\nrpo = "1d"\n'
                         'source = { type = "rds-snapshot", instance = "prod", manifest = "m.json" }\n'
                         '[[services]]\nname = "checkout"\nstores = ["saas"]\nrto = "1h"\n')
    # the plan job's command line (run with a restoreproof that records), with the variable set and unset, then
    # run for real: a monthly run's suites and a manual drill's job both land on the tagged runner
    env = {"RESTOREPROOF_INVENTORY": str(inventory), "RESTOREPROOF_CI_FILE": str(written[GITLAB_FILE]),
           "RESTOREPROOF_ALERTS_CONFIG": "alerts.toml"}
    for tags, expected in (("vpc,prod-db", ["vpc", "prod-db"]), ("", None)):
        for source, job_name in (("schedule", "restore-verification:rds"), ("web", "restore-drill:checkout")):
            (args,) = calls_of(script, {**env, "RESTOREPROOF_RUNNER_TAGS": tags, "CI_PIPELINE_SOURCE": source,
                                        "RESTOREPROOF_DRILL_SERVICE": "checkout"}, tmp_path, "sh")
            assert main(args) == 0
            child = yaml.safe_load(capsys.readouterr().out)
            assert child[job_name].get("tags") == expected, (tags, source)


def test_bad_runner_tags_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["suites", "--format", "gitlab-pipeline", "--runner-tags", "vpc,,prod"])
    assert exited.value.code == 2
    assert "expected TAG[,TAG...]" in capsys.readouterr().err
