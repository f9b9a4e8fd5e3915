"""Where a run came from, for an auditor reading its evidence alone (issue 24, item 5): the repository and
commit, the CI run's URL, who or what started it (actor, and trigger: schedule or manual), and the sha256 of the
inventory it verified. Read from the variables GitHub Actions and GitLab CI set for every job; a run on a
workstation says "local", with the git commit of the project folder and the user name.
"""

from __future__ import annotations

import getpass
import hashlib
from collections.abc import Mapping
from pathlib import Path

# CI's own names for what started a run, as the evidence says them
TRIGGERS = {"schedule": "schedule", "workflow_dispatch": "manual", "web": "manual", "api": "manual",
            "trigger": "manual", "push": "push", "merge_request_event": "merge request",
            "pull_request": "pull request"}


def provenance(env: Mapping[str, str], *, inventory: Path | None, commit: str | None) -> dict[str, str | None]:
    """The run's provenance from the CI's environment (`commit`: the project folder's, used when CI names none)."""
    if env.get("GITHUB_ACTIONS") == "true":
        server, repository, run_id = (env.get("GITHUB_SERVER_URL", "https://github.com"), env.get("GITHUB_REPOSITORY"),
                                      env.get("GITHUB_RUN_ID"))
        attempt = env.get("GITHUB_RUN_ATTEMPT")
        url = f"{server}/{repository}/actions/runs/{run_id}" if repository and run_id else None
        found = {"ci": "github", "repository": repository, "commit": env.get("GITHUB_SHA") or commit,
                 "run_url": f"{url}/attempts/{attempt}" if url and attempt and attempt != "1" else url,
                 "actor": env.get("GITHUB_ACTOR"), "trigger": _trigger(env.get("GITHUB_EVENT_NAME"))}
    elif env.get("GITLAB_CI") == "true":
        found = {"ci": "gitlab", "repository": env.get("CI_PROJECT_PATH"), "commit": env.get("CI_COMMIT_SHA") or commit,
                 "run_url": env.get("CI_JOB_URL") or env.get("CI_PIPELINE_URL"),
                 "actor": env.get("GITLAB_USER_LOGIN"), "trigger": _trigger(env.get("CI_PIPELINE_SOURCE"))}
    else:
        found = {"ci": None, "repository": None, "commit": commit, "run_url": None, "actor": _user(),
                 "trigger": "local"}
    found["inventory_sha256"] = _sha256(inventory)
    return found


def _trigger(event: str | None) -> str | None:
    return None if not event else TRIGGERS.get(event, event)


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's), nor USER/LOGNAME
        return None


def _sha256(path: Path | None) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else None
    except OSError:
        return None
