"""`restoreproof drill --service NAME [--participant "Name (role)"]... [--finding TEXT]... [--findings-file F]`: a
disaster-recovery drill (docs/drills.md). Every store of the inventory's service is restored and verified in one
run, at the same time when pytest-xdist (the `parallel` extra) is installed and the machine has more than one
core (else one after another), and the service RTO is measured on this command's own monotonic clock from its
start until every store was verified, against the service's `rto`. The run's evidence holds the drill (run.drill)
and the run directory a drill.html, both sealed.

The exit code is the run's verdict, as `verify`'s: 0 every store passed, the service RTO was met and every other run
check passed; 1 the run failed: a store failed or errored, the drill did not pass (its run check `drill`: the
service RTO missed, or not compared), or another run check failed (with `[discovery]`, a store not in the
inventory: run.drill.passed is then true, the drill's own verdict, while run.status, run_checks, drill.html and
this code say the run failed and why); 2 bad input (an unknown service, a findings file that cannot be read); 130
interrupted.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verifiers.cli_options import add_inventory

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_parser(commands: Any) -> None:
    """Add `drill` to the CLI's subcommands (`commands` is argparse's subparsers action)."""
    drill = commands.add_parser("drill", help="a DR drill: restore every store of a service together, measure the "
                                "service RTO against its target, record participants and findings, write drill.html")
    drill.add_argument("--service", required=True, metavar="NAME", help="the inventory's [[services]] entry to "
                       "recover: all its stores are restored and verified in one run")
    drill.add_argument("--participant", action="append", default=[], metavar='"NAME (ROLE)"',
                       help="who took part (repeatable), recorded as given")
    drill.add_argument("--finding", action="append", default=[], metavar="TEXT",
                       help="what the drill found (repeatable): a gap in the runbook, a slow step, an access missing")
    drill.add_argument("--findings-file", type=Path, metavar="FILE",
                       help="findings, one per line (a Markdown list is fine), after any --finding")
    add_inventory(drill)
    drill.add_argument("--reports-dir", type=Path, default=Path("reports"), metavar="DIR",
                       help="where the run writes its report.html, drill.html, junit.xml and sealed evidence.json "
                       "(default: reports)")
    drill.add_argument("-q", "--quiet", action="count", default=0, help="less output: no progress (pytest's -q)")
    drill.add_argument("-v", "--verbose", action="count", default=0,
                       help="more output: a line per phase, every failed check (pytest's -v)")
    drill.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: extra pytest arguments (-n 0: one "
                       "store after another)")


def run(args: argparse.Namespace) -> int:
    import pytest

    from verifiers.drill import DrillPlan, people_text
    from verifiers.inventory import load_inventory
    from verifiers.plugin.drill import DrillRecorder

    inventory = load_inventory(args.inventory)
    service = inventory.service(args.service)  # an unknown one: InventoryError naming the services there are
    participants = people_text(args.participant, what="participant")
    findings = people_text([*args.finding, *_findings_file(args.findings_file)], what="finding")
    started_monotonic, started = time.monotonic(), datetime.now(UTC)
    plan = DrillPlan(service=service, participants=participants, findings=findings, started=started,
                     started_monotonic=started_monotonic)
    recorder = DrillRecorder(plan)
    code = int(pytest.main(pytest_arguments(args, service.stores), plugins=[recorder]))
    if code == pytest.ExitCode.INTERRUPTED:
        return EXIT_INTERRUPTED
    if code == pytest.ExitCode.USAGE_ERROR:
        return EXIT_USAGE
    passed = code == pytest.ExitCode.OK and recorder.record is not None and recorder.record.passed
    return EXIT_OK if passed else EXIT_FAILED


def pytest_arguments(args: argparse.Namespace, stores: Sequence[str]) -> list[str]:
    """The pytest run of the service's stores, across workers when it can (see workers_for)."""
    arguments = ["--pyargs", "verifiers.all_suites", "--inventory", str(args.inventory.resolve()),
                 "--reports-dir", str(args.reports_dir.resolve()), "-p", "no:cacheprovider"]
    for store in stores:
        arguments += ["--store", store]
    workers = workers_for(len(stores), cores=_cores(), xdist=importlib.util.find_spec("xdist") is not None)
    if workers > 1:
        arguments += ["-n", str(workers)]
    arguments += ["-q"] * args.quiet + ["-v"] * args.verbose
    return arguments + [a for a in args.pytest_args if a != "--"]  # last: the user's -n 0 wins


def workers_for(stores: int, *, cores: int, xdist: bool) -> int:
    """How many pytest-xdist workers restore the stores at the same time: one per store, up to the cores; 1 (one
    session, one store after another) without pytest-xdist or with a single core."""
    return min(stores, cores) if xdist and cores > 1 else 1


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use (a container's limit)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _findings_file(path: Path | None) -> list[str]:
    from verifiers.drill import DrillInputError, findings_from_text

    if path is None:
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DrillInputError(f"findings file {path} does not exist", hint="pass the file's path, or use --finding "
                              "TEXT") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DrillInputError(f"findings file {path} cannot be read: {exc}",
                              hint="save it as UTF-8 text, one finding per line") from None
    return findings_from_text(text)
