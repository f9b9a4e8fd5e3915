"""`restoreproof init [--ci github|gitlab] [--dir DIR]`: start using restoreproof in a repository.

Writes a starter inventory.toml (every store kind as a commented example), alerts.toml (every channel, commented)
and the CI files (GitHub: .github/workflows/restore-verification.yml, restore-evidence-freshness.yml and
restore-drill.yml, the quarterly DR drill run by hand;
GitLab: .gitlab/ci/restore-verification.yml, plus a .gitlab-ci.yml including it when the project has none);
with `--iac aws`, infra/restoreproof/aws-restoreproof.yml (CloudFormation: the runner's security group, the one
the temporary RDS instances accept it through, a DB subnet group and the OIDC-assumed least-privilege role). A
file that exists is never touched, not even one created while init runs: it is reported as skipped. Then the next
steps are printed.

Exit codes: 0 every file written or skipped; 2 bad input (DIR missing, not a directory, not writable; a file
that cannot be created), raised as InitError and reported by verifiers.cli.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from verifiers.errors import RestoreproofError

EXIT_OK = 0


class InitError(RestoreproofError):
    """`restoreproof init` cannot write into the directory it was given."""


def add_parser(commands: Any) -> None:
    """Add `init` to the CLI's subcommands (`commands` is argparse's subparsers action)."""
    init = commands.add_parser("init", help="write a starter inventory.toml, alerts.toml and the monthly CI "
                                            "workflow into a repository (never overwriting a file)")
    init.add_argument("--ci", choices=("github", "gitlab"), default="github",
                      help="which CI's files to write: GitHub Actions (default) or GitLab CI")
    init.add_argument("--dir", type=Path, default=Path("."), metavar="DIR",
                      help="the repository to write into (default: the current directory)")
    init.add_argument("--iac", choices=("aws",), default=None,
                      help="also write infrastructure as code: aws = infra/restoreproof/aws-restoreproof.yml "
                           "(CloudFormation: runner security group, sandbox security group, subnet group, and an IAM "
                           "role assumed through GitHub's OIDC that restores and deletes only tagged sandboxes)")


def run(args: argparse.Namespace) -> int:
    from verifiers.atomic import create_text_exclusively
    from verifiers.ci_templates import INVENTORY, iac_files, requirement_for, starter_files

    root: Path = args.dir
    _check_writable(root)
    requirement = requirement_for(root / INVENTORY)
    starters = starter_files(args.ci, requirement) + (iac_files(args.iac) if args.iac else [])
    for starter in starters:
        target = root / starter.path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            written = create_text_exclusively(target, starter.text)
        except OSError as exc:
            raise InitError(f"cannot create {target}: {exc.strerror or exc}",
                            hint="check that its folder is a writable directory; the files listed above are "
                                 "written") from None
        print(f"wrote {target}" if written else f"skipped {target} (exists)")
    print(f"\nThe CI installs {requirement.pip_spec} ({requirement.reason}); the variable RESTOREPROOF_PIP_SPEC "
          "overrides it.")
    print(_next_steps(args.ci, root, args.iac))
    return EXIT_OK


def _check_writable(root: Path) -> None:
    if not root.exists():
        raise InitError(f"{root} does not exist", hint="pass --dir with your repository's folder")
    if not root.is_dir():
        raise InitError(f"{root} is not a directory", hint="pass --dir with your repository's folder")
    if not os.access(root, os.W_OK | os.X_OK):
        raise InitError(f"{root} is not writable", hint="run init as a user who may write there")


def _next_steps(ci: str, root: Path, iac: str | None = None) -> str:
    from verifiers.ci_templates import AWS_IAC_FILE, GITHUB_WORKFLOWS, GITLAB_CI_FILE, GITLAB_ROOT_FILE, gitlab_include

    steps = ["Edit inventory.toml: uncomment an example per store, point it at your backups, and check it with "
             "`restoreproof inventory`.",
             "Edit alerts.toml: uncomment at least one channel (its secret stays in the environment variable it "
             "names)."]
    if ci == "github":
        workflow = GITHUB_WORKFLOWS / "restore-verification.yml"
        steps += [f"Set the secrets and variables listed at the top of {workflow}: the environment "
                  "restore-verification with RESTOREPROOF_SIGNING_KEY_PEM and the alert channels' secrets; "
                  "RESTOREPROOF_AWS_ROLE_ARN for AWS (an s3:// RESTOREPROOF_EVIDENCE_ARCHIVE needs the aws extra)."]
    else:
        steps += [f"Set the CI/CD variables listed at the top of {GITLAB_CI_FILE}: RESTOREPROOF_SIGNING_KEY (a File "
                  "variable), the alert channels' secrets, RESTOREPROOF_AWS_ROLE_ARN and "
                  "RESTOREPROOF_EVIDENCE_ARCHIVE; then a pipeline schedule, \"17 5 1 * *\"."]
        root_file = root / GITLAB_ROOT_FILE
        text = root_file.read_text(encoding="utf-8", errors="replace") if root_file.is_file() else ""
        if str(GITLAB_CI_FILE) not in text:
            entry = "\n".join(f"       {line}" for line in gitlab_include().splitlines())
            steps += [f"Include {GITLAB_CI_FILE} from your {GITLAB_ROOT_FILE} (add the entry to its include: "
                      f"list if it has one):\n{entry}"]
    if iac == "aws":
        steps += [f"Deploy {AWS_IAC_FILE} (aws cloudformation deploy, its description says how), then set its "
                  "outputs: RoleArn as RESTOREPROOF_AWS_ROLE_ARN, the subnet group and security groups in each "
                  "rds-snapshot store, and run the restore jobs inside the VPC (docs/aws.md: running inside the VPC)."]
    steps += ["restoreproof doctor    # can this machine verify the inventory: extras, tools, credentials",
              "restoreproof verify    # a first run here; then commit, push, and run the workflow once by hand"]
    return "Next steps:\n" + "\n".join(f"  {number}. {step}" for number, step in enumerate(steps, 1))
