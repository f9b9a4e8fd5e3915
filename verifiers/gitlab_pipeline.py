"""The child pipeline GitLab runs for one monthly restore verification (one job per suite of the inventory) or
for one DR drill (one job, the drill of a service).

GitLab's `parallel: matrix` is fixed when the pipeline is created, so the suites a matrix lists cannot come from
the inventory. Instead the plan job (`restoreproof suites --format gitlab-pipeline`) writes a child pipeline and
a trigger job runs it (`trigger: include: - artifact: ... job: ...`, GitLab's dynamic child pipelines). The child
is the project's own restoreproof CI file, as committed (its `.restoreproof-verify` job template; its other jobs
run only for schedules and manual runs, never in a child pipeline), followed by a job per suite extending that
template, or by the drill's job extending `.restoreproof-drill`. Either way the jobs carry the runner tags: a drill
restores the same stores as the suites, so it must run where they can reach the temporary RDS instances. Nothing is
included by reference, so the child runs exactly the file of the commit that planned it.

Each job is written as a JSON flow mapping, which is YAML too: no YAML library is needed to write it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from verifiers.errors import RestoreproofError

JOB_TEMPLATE = ".restoreproof-verify"  # the hidden job of the GitLab template each suite's job extends
JOB_PREFIX = "restore-verification:"
DRILL_TEMPLATE = ".restoreproof-drill"  # the hidden job the drill's job extends
DRILL_PREFIX = "restore-drill:"


class CiFileError(RestoreproofError):
    """The CI file the child pipeline is built from is missing, unreadable, or not restoreproof's."""


def child_pipeline(ci_file: Path, suites: Sequence[str], *, inventory: Path, store: str,
                   services: Mapping[str, str], runner_tags: Sequence[str] = ()) -> str:
    """The child pipeline's YAML: `ci_file` as it is, then a job per suite (`services`: suite -> image of the
    service container its job starts, reachable by the suite's name; `runner_tags`: the tags of the runner the
    restore jobs must run on, e.g. one inside the VPC of the temporary RDS instances)."""
    lines = [_base(ci_file, JOB_TEMPLATE),
             f"# The jobs below: `restoreproof suites --format gitlab-pipeline`, one per suite of {inventory}."]
    for suite in suites:
        job: dict[str, object] = {
            "extends": JOB_TEMPLATE,
            "variables": {"RESTOREPROOF_JOB_SUITE": suite, "RESTOREPROOF_INVENTORY": str(inventory),
                          "RESTOREPROOF_STORE": store},
        }
        job.update(_placement([suite], services, runner_tags))
        lines.append(f"{json.dumps(JOB_PREFIX + suite)}: {json.dumps(job)}")
    return "\n".join(lines) + "\n"


def drill_pipeline(ci_file: Path, service: str, suites: Sequence[str], *, inventory: Path,
                   services: Mapping[str, str], runner_tags: Sequence[str] = ()) -> str:
    """The child pipeline of a DR drill: `ci_file` as it is, then one job extending its `.restoreproof-drill` that
    drills `service` (whose stores are of `suites`), with the service containers of those suites (`services`, as
    for child_pipeline) and on the runner with `runner_tags`. Who took part and what was found are not written
    here: the job reads them from the pipeline's variables, so they never pass through YAML or a shell line."""
    job: dict[str, object] = {
        "extends": DRILL_TEMPLATE,
        "variables": {"RESTOREPROOF_JOB_SERVICE": service, "RESTOREPROOF_JOB_SUITES": " ".join(suites),
                      "RESTOREPROOF_INVENTORY": str(inventory)},
    }
    job.update(_placement(suites, services, runner_tags))
    return "\n".join([_base(ci_file, DRILL_TEMPLATE),
                      f"# The job below: `restoreproof suites --format gitlab-pipeline --drill {service}`, of "
                      f"{inventory}.",
                      f"{json.dumps(DRILL_PREFIX + service)}: {json.dumps(job)}"]) + "\n"


def _base(ci_file: Path, template: str) -> str:
    """The CI file's text, checked to define the hidden job `template` the planned jobs extend."""
    try:
        text = ci_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CiFileError(f"GitLab CI file {ci_file} does not exist",
                          hint="set RESTOREPROOF_CI_FILE to the path of restoreproof's GitLab file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CiFileError(f"GitLab CI file {ci_file} cannot be read: {exc}") from None
    if f"\n{template}:" not in text:
        raise CiFileError(f"GitLab CI file {ci_file} defines no {template} job",
                          hint="point RESTOREPROOF_CI_FILE at the file `restoreproof init --ci gitlab` wrote "
                               "(a file written by an older restoreproof: run `restoreproof init --ci gitlab` again)")
    return text.rstrip("\n") + "\n"


def _placement(suites: Sequence[str], services: Mapping[str, str], runner_tags: Sequence[str]) -> dict[str, object]:
    """A job's `services` (the containers of these suites) and `tags` (where it runs), each only when there are any."""
    placement: dict[str, object] = {}
    containers = [{"name": services[suite], "alias": suite} for suite in suites if suite in services]
    if containers:
        placement["services"] = containers
    if runner_tags:
        placement["tags"] = list(runner_tags)
    return placement


def runner_tags(value: str) -> list[str]:
    """`TAG[,TAG...]` from the command line (argparse's `type`); empty: no tags (the project's shared runners)."""
    tags = [tag.strip() for tag in value.split(",")]
    if any(not tag for tag in tags) and value.strip():
        raise argparse.ArgumentTypeError(f"{value!r}: expected TAG[,TAG...], e.g. restoreproof,vpc-prod")
    return [tag for tag in tags if tag]


def service_image(value: str) -> tuple[str, str]:
    """`SUITE=IMAGE` from the command line (argparse's `type`)."""
    suite, sep, image = value.partition("=")
    if not sep or not suite or not image:
        raise argparse.ArgumentTypeError(f"{value!r}: expected SUITE=IMAGE, e.g. mongo=mongo:7.0")
    return suite, image
