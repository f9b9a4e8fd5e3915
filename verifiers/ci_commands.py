"""Commands a CI job calls around a restore run:

- `restoreproof summary RUN` prints a run's per-store table as Markdown (append it to $GITHUB_STEP_SUMMARY);
- `restoreproof suites` prints the inventory's suites as JSON, one matrix job per suite (GitHub's matrix), or as
  GitLab's child pipeline with a job per suite (`--format gitlab-pipeline`, verifiers/gitlab_pipeline.py); with
  `--with-hygiene`, plus the hygiene suite when it has a check for a store chosen (its backup hygiene and backup
  configuration evidence, read from the APIs without a restore: the monthly workflow's job for it reads the
  earlier months from the archive, `verify --suite hygiene --history ARCHIVE`); with `--drill SERVICE`, the
  suites of that service's stores, or GitLab's child pipeline of its DR drill (one job extending
  .restoreproof-drill, on the same runner tags as the suites).

Exit codes: 0 printed; 2 bad input (no evidence, bad inventory, nothing matched), reported by verifiers.cli.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verifiers.cli_options import add_inventory
from verifiers.errors import InventoryError, RestoreproofError
from verifiers.evidence.result_kinds import HYGIENE_SUITE
from verifiers.gitlab_pipeline import CiFileError, child_pipeline, drill_pipeline, runner_tags, service_image

if TYPE_CHECKING:
    from verifiers.inventory import Inventory
    from verifiers.store_settings import AnyStore

EXIT_OK = 0


def add_parsers(commands: Any) -> None:
    """Add `summary` and `suites` to the CLI's subcommands (`commands` is argparse's subparsers action)."""
    summary = commands.add_parser("summary", help="a run's per-store table (status, RTO and RPO against their "
                                                  "targets, failed checks) as Markdown, for a CI job summary")
    summary.add_argument("path", type=Path, metavar="RUN_DIR",
                         help="a run directory, its evidence.json, or a reports root (its newest run)")
    summary.add_argument("--format", choices=("markdown",), default="markdown", help="output format (markdown)")
    summary.add_argument("--report-url", help="link to the run's report (e.g. the CI run's page)")

    suites = commands.add_parser("suites", help="the suites of the inventory's stores as a JSON list (a CI matrix) "
                                                "or as a GitLab child pipeline")
    add_inventory(suites)
    suites.add_argument("--suite", default="", help="only this suite; empty: every suite")
    suites.add_argument("--store", default="", help="only the suite of this store; empty: every store")
    suites.add_argument("--with-hygiene", action="store_true",
                        help="also the hygiene suite (backup hygiene and configuration evidence, no restore) when "
                             "it has a check for a store chosen; --suite hygiene then chooses it alone")
    suites.add_argument("--drill", default="", metavar="SERVICE",
                        help="a DR drill of this [[services]] name instead of the suites: json lists the suites of "
                             "its stores; gitlab-pipeline writes one drill job (not with --suite, --store or "
                             "--with-hygiene); empty: the suites")
    suites.add_argument("--format", choices=("json", "gitlab-pipeline"), default="json",
                        help="json: a list of suite names (default); gitlab-pipeline: the child pipeline's YAML, "
                             "the --gitlab-ci-file followed by one job per suite extending its .restoreproof-verify "
                             "(with --drill: one job extending its .restoreproof-drill)")
    suites.add_argument("--gitlab-ci-file", type=Path, metavar="PATH",
                        help="gitlab-pipeline: restoreproof's GitLab CI file (as `restoreproof init --ci gitlab` "
                             "wrote it), the child pipeline's base")
    suites.add_argument("--service-image", type=service_image, action="append", default=[], metavar="SUITE=IMAGE",
                        help="gitlab-pipeline: that suite's job starts this service container, reachable by the "
                             "suite's name (repeatable; e.g. mongo=mongo:7.0)")
    suites.add_argument("--runner-tags", type=runner_tags, default=[], metavar="TAG[,TAG...]",
                        help="gitlab-pipeline: the restore jobs run only on a runner with these tags (e.g. one "
                             "inside the VPC that reaches the temporary RDS instances); empty: any runner")


def run(args: argparse.Namespace) -> int:
    if args.command == "summary":
        return _summary(args)
    return _suites(args)


def _hygiene_checks(inventory: Inventory, stores: list[AnyStore]) -> bool:
    """Whether the hygiene suite checks something of these stores (what it parametrizes, compliance/suite.py)."""
    from verifiers.compliance import configuration_facts
    from verifiers.compliance.attach import unrestored_specs

    return any(unrestored_specs(s) or configuration_facts.specs(s, inventory.policy) for s in stores)


def _summary(args: argparse.Namespace) -> int:
    from verifiers.run_record import load_run
    from verifiers.run_summary import markdown_summary

    print(markdown_summary(load_run(args.path), report_url=args.report_url), end="")
    return EXIT_OK


def _suites(args: argparse.Namespace) -> int:
    from verifiers.inventory import load_inventory

    if args.drill and (args.suite or args.store or args.with_hygiene):
        raise RestoreproofError(f"--drill {args.drill} restores every store of the service: it takes no --suite, "
                                "--store or --with-hygiene", hint="pass either --drill or those")
    inventory = load_inventory(args.inventory)
    if args.drill:
        return _drill(args, inventory)
    hygiene_only = args.with_hygiene and args.suite == HYGIENE_SUITE
    stores = inventory.select(suite=None if hygiene_only else args.suite or None,
                              names=[args.store] if args.store else [])
    suites = [] if hygiene_only else sorted({s.suite_name for s in stores})
    if args.with_hygiene and (hygiene_only or not args.suite) and _hygiene_checks(inventory, stores):
        suites.append(HYGIENE_SUITE)
    if not suites:
        wanted = " and ".join(f"{flag} {value}" for flag, value in (("--suite", args.suite), ("--store", args.store))
                              if value)
        raise InventoryError(f"{args.inventory}: " + (f"no store matches {wanted}" if wanted else "lists no store"),
                             hint="known suites: " + ", ".join(sorted({s.suite_name for s in inventory.stores})))
    if args.format == "json":
        print(json.dumps(suites))
        return EXIT_OK
    print(child_pipeline(_ci_file(args), suites, inventory=args.inventory, store=args.store,
                         services=dict(args.service_image), runner_tags=args.runner_tags), end="")
    return EXIT_OK


def _drill(args: argparse.Namespace, inventory: Inventory) -> int:
    """The suites of the service's stores (json), or the child pipeline of its drill (gitlab-pipeline)."""
    service = inventory.service(args.drill)
    stores = {s.name: s for s in inventory.stores}
    suites = sorted({stores[name].suite_name for name in service.stores})
    if args.format == "json":
        print(json.dumps(suites))
        return EXIT_OK
    print(drill_pipeline(_ci_file(args), service.name, suites, inventory=args.inventory,
                         services=dict(args.service_image), runner_tags=args.runner_tags), end="")
    return EXIT_OK


def _ci_file(args: argparse.Namespace) -> Path:
    if args.gitlab_ci_file is None:
        raise CiFileError("--format gitlab-pipeline needs --gitlab-ci-file", hint="name restoreproof's GitLab CI file")
    path: Path = args.gitlab_ci_file
    return path
