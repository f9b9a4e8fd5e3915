"""The table at the end of a run, one row per store: status, RTO and RPO against their targets, checks passed;
then what failed, one line per failed check (its first line: names, counts and digests, never rows).

-v adds the time each phase took, a line of the steps inside them (and which were not measured, and why), and
lists every failed check; the default shows the first few of each store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from verifiers.checks import CheckResult
from verifiers.durations import format_duration
from verifiers.run_checks import RunCheck
from verifiers.runner import StoreOutcome
from verifiers.timing import PHASES, STEPS

MAX_FAILED_SHOWN = 5  # per store, unless -v; the report and `pytest -ra` have them all
COLOURS = {"passed": "green", "failed": "red", "error": "yellow"}


@dataclass(frozen=True)
class Line:
    text: str
    colour: str | None = None  # a pytest TerminalWriter markup name: green, red, yellow


def summary_lines(outcomes: Sequence[StoreOutcome], *, verbosity: int = 0) -> list[Line]:
    header = ["store", "kind", "status", "RTO / target", "RPO / target", "checks"]
    if verbosity >= 1:
        header.append("phases")
    rows = [_row(outcome, phases=verbosity >= 1) for outcome in outcomes]
    widths = [max(len(cells[i]) for cells in [header, *rows]) for i in range(len(header))]

    def aligned(cells: list[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    lines = [Line(aligned(header))]
    lines += [Line(aligned(cells), COLOURS.get(o.status)) for cells, o in zip(rows, outcomes, strict=True)]
    if verbosity >= 1:
        lines += [Line(text) for outcome in outcomes for text in step_lines(outcome)]
    for outcome in outcomes:
        lines += [Line(text, COLOURS.get(outcome.status)) for text in _problems(outcome, verbosity)]
    counts = {status: sum(o.status == status for o in outcomes) for status in ("passed", "failed", "error")}
    lines.append(Line(f"{len(outcomes)} store{'s' if len(outcomes) != 1 else ''}: "
                      + ", ".join(f"{n} {status}" for status, n in counts.items() if n)))
    return lines


RUN_CHECK_COLOURS = {"passed": "green", "failed": "red", "not compared": "yellow"}


def run_check_lines(checks: Sequence[RunCheck]) -> list[Line]:
    """The checks about the run as a whole (inventory coverage): one line each, `coverage inventory: FAILED — …`."""
    return [Line(f"{c.check} {_first_line(c.subject, 80)}: {c.status.upper()} — {_first_line(c.detail)}",
                 RUN_CHECK_COLOURS[c.status]) for c in checks]


def _row(outcome: StoreOutcome, *, phases: bool) -> list[str]:
    record = outcome.as_evidence()
    cells = [outcome.store.name, outcome.store.kind, outcome.status.upper(), _versus(record["rto"]),
             _versus(record["rpo"]), checks_passed(outcome.checks)]
    if phases:
        seconds = outcome.timer.seconds
        cells.append(" ".join(f"{p} {format_duration(seconds[p])}" for p in PHASES if p in seconds) or "—")
    return cells


def step_lines(outcome: StoreOutcome) -> list[str]:
    """`saas steps: restore_schema 0.12s, restore_data 3.40s, …`, and one line per reason steps were not
    measured; nothing for a store whose kind times no steps."""
    timer, name = outcome.timer, outcome.store.name
    timed = [f"{s} {format_duration(timer.steps[s])}" for s in STEPS if s in timer.steps]
    lines = [f"{name} steps: {', '.join(timed)}"] if timed else []
    reasons: dict[str, list[str]] = {}
    for step in (s for s in STEPS if s in timer.steps_not_measured):
        reasons.setdefault(timer.steps_not_measured[step], []).append(step)
    lines += [f"{name} not measured: {', '.join(steps)}: {reason}" for reason, steps in reasons.items()]
    return lines


def check_counts(checks: Sequence[CheckResult]) -> tuple[int, int, int]:
    """(passed, compared, not compared): a check that compared nothing is no pass."""
    judged = [c for c in checks if c.compared]
    return sum(c.passed for c in judged), len(judged), len(checks) - len(judged)


def checks_passed(checks: Sequence[CheckResult]) -> str:
    """`30/30`, or `30/30 +1 not compared`."""
    passed, judged, unjudged = check_counts(checks)
    return f"{passed}/{judged}" + (f" +{unjudged} not compared" if unjudged else "")


def _versus(measured: dict[str, float | None]) -> str:
    seconds, target = measured["seconds"], measured["target_seconds"]
    shown = "—" if seconds is None else format_duration(seconds)
    return f"{shown} / {format_duration(target)}" if target else shown


def _problems(outcome: StoreOutcome, verbosity: int) -> list[str]:
    name = outcome.store.name
    if outcome.artifact is not None:  # which backup it was, for whoever follows the failure up
        name += f" ({PurePath(outcome.artifact.location).name})"
    lines = []
    if outcome.error:
        lines.append(f"{name}: error in {outcome.error['phase']}: {_first_line(outcome.error['message'])}")
    failed = [c for c in outcome.checks if not c.passed]
    shown = failed if verbosity >= 1 else failed[:MAX_FAILED_SHOWN]
    lines += [f"{name}: {c.spec.check} {c.spec.subject}: {_first_line(c.message)}" for c in shown]
    if len(failed) > len(shown):
        lines.append(f"{name}: … and {len(failed) - len(shown)} more failed checks (-v lists them)")
    return lines


def _first_line(text: str, limit: int = 160) -> str:
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"
