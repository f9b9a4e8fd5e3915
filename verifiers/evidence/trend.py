"""`restoreproof evidence trend ARCHIVE_OR_REPORTS_DIR [--runs 6] [--threshold 20%] [--floor 1s] [--alerts
alerts.toml]`: has a restore got slower? (issue 21, RTO by phase, trended)

For every store of the newest sealed run that restored it, each RTO phase's time (fetch, provision, restore,
verify, teardown: the evidence's `rto.phases`) and each step's inside them (restore_schema, restore_data,
restore_indexes, first_query, warm: `rto.steps`) is compared with the median of the same phase or step over that
store's previous `--runs` sealed restores that timed it (a step not measured, or evidence older than steps, is
no history). A phase or step slower than that median by more than `--threshold` and by at least
`--floor` (so that a 0.1 s phase going to 0.2 s is not news) has regressed. With fewer than MIN_HISTORY earlier
runs a phase is "not enough history", never a verdict. A store's run that errored is left out: its phases stop
where it failed.

Only runs whose evidence.json matches their SHA256SUMS count (as for `evidence freshness`); drills are left out.

Exit codes: 0 no regression; 1 a regression (with --alerts, after alerting: one alert per store, resolved by a
later run without one), or an alert not delivered; 2 bad input.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verifiers.durations import format_duration, parse_duration
from verifiers.errors import EvidenceError
from verifiers.evidence.freshness import iso, run_directories, sealed_evidence, started_of
from verifiers.evidence.result_kinds import is_drill, restored
from verifiers.timing import PHASES, STEPS

if TYPE_CHECKING:
    from verifiers.alerts.config import AlertConfig

EXIT_OK, EXIT_REGRESSED = 0, 1
MIN_HISTORY = 3  # earlier runs a phase needs before its median means anything
ALERT_SUFFIX = " (restore time)"  # the alert's pseudo-store: its own incident, apart from the store's results


@dataclass(frozen=True)
class Restore:
    run: str
    started: datetime
    phases: Mapping[str, float]
    steps: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PhaseTrend:
    phase: str  # a phase, or a step inside one (STEPS)
    newest: float
    median: float | None  # None: fewer than MIN_HISTORY earlier runs timed this phase
    history: int  # the earlier runs the median is of

    def slower_by(self) -> float | None:
        """The newest against the median, as a fraction (0.28: 28% slower); None without a median."""
        if self.median is None:
            return None
        return (self.newest - self.median) / self.median if self.median > 0 else float("inf")

    def regressed(self, threshold: float, floor: float) -> bool:
        ratio = self.slower_by()
        return ratio is not None and self.median is not None and ratio > threshold \
            and self.newest - self.median >= floor

    def describe(self, threshold: float, floor: float) -> str:
        shown = f"{self.phase} {format_duration(self.newest)}"
        if self.median is None:
            return f"{shown}: not enough history ({self.history} earlier run{'s' if self.history != 1 else ''}, " \
                   f"{MIN_HISTORY} needed)"
        ratio = self.slower_by() or 0.0
        verdict = "SLOWER" if self.regressed(threshold, floor) else "within"
        return f"{shown}, median {format_duration(self.median)} of {self.history} earlier runs ({ratio:+.0%}): " \
               f"{verdict}"

    def facts(self, threshold: float, floor: float) -> dict[str, Any]:
        median = None if self.median is None else round(self.median, 3)
        return {"seconds": round(self.newest, 3), "median_seconds": median, "history": self.history,
                "regressed": self.regressed(threshold, floor)}


@dataclass(frozen=True)
class StoreTrend:
    store: str
    newest: Restore
    phases: list[PhaseTrend] = field(default_factory=list)
    steps: list[PhaseTrend] = field(default_factory=list)

    def regressions(self, threshold: float, floor: float) -> list[PhaseTrend]:
        return [p for p in [*self.phases, *self.steps] if p.regressed(threshold, floor)]

    def lines(self, threshold: float, floor: float) -> list[str]:
        """Each phase against its median, the steps inside it indented under it."""
        out = []
        for phase in self.phases:
            out.append(phase.describe(threshold, floor))
            out += [f"  {s.describe(threshold, floor)}" for s in self.steps if STEPS[s.phase] == phase.phase]
        return out

    def facts(self, threshold: float, floor: float) -> dict[str, Any]:
        """As data, for a webhook: the newest run and, per phase and step, its time, the median and the verdict."""
        return {"store": self.store, "run": self.newest.run, "started": iso(self.newest.started),
                "threshold": threshold, "floor_seconds": floor,
                "phases": {p.phase: p.facts(threshold, floor) for p in self.phases},
                "steps": {s.phase: s.facts(threshold, floor) for s in self.steps}}


def restores_by_store(root: Path) -> dict[str, list[Restore]]:
    """Each store's sealed restores that did not error, newest first."""
    found: dict[str, list[Restore]] = {}
    for _rel, directory in run_directories(root):
        evidence = sealed_evidence(directory)
        started = started_of(evidence) if evidence is not None else None
        if evidence is None or started is None or is_drill(evidence.get("run") or {}):
            continue
        run_id = str((evidence.get("run") or {}).get("id") or directory.name)
        for store in evidence.get("stores") or []:
            rto = store.get("rto") or {}
            phases = rto.get("phases") or {}
            if not restored(store) or store.get("status") == "error" or not phases:
                continue
            found.setdefault(str(store.get("name")), []).append(
                Restore(run_id, started, _seconds(phases), _seconds(rto.get("steps") or {})))
    for restores in found.values():
        restores.sort(key=lambda r: r.started, reverse=True)
    return found


def _seconds(timed: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in timed.items() if isinstance(v, int | float)}


def trends(root: Path, *, runs: int = 6) -> list[StoreTrend]:
    """Per store, its newest restore's phases and steps against the median of its `runs` restores before it (of
    a step: the median over those of them that timed it)."""
    result = []
    for store, restores in sorted(restores_by_store(root).items()):
        newest, earlier = restores[0], restores[1:runs + 1]
        phases = [_against(name, newest.phases[name], [r.phases for r in earlier])
                  for name in PHASES if name in newest.phases]
        steps = [_against(name, newest.steps[name], [r.steps for r in earlier])
                 for name in STEPS if name in newest.steps]
        result.append(StoreTrend(store, newest, phases, steps))
    return result


def _against(name: str, newest: float, earlier: list[Mapping[str, float]]) -> PhaseTrend:
    values = [timed[name] for timed in earlier if name in timed]
    median = statistics.median(values) if len(values) >= MIN_HISTORY else None
    return PhaseTrend(name, newest, median, len(values))


def parse_threshold(text: str) -> float:
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise EvidenceError(f"--threshold {text}: not a percentage", hint="e.g. --threshold 20%") from None
    if value <= 0:
        raise EvidenceError(f"--threshold {text}: must be above 0", hint="e.g. --threshold 20%")
    return value


def parse_floor(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise EvidenceError(f"--floor: {exc}", hint="e.g. --floor 1s") from None


def run_trend(root: Path, *, runs: int = 6, threshold: str = "20%", floor: str = "1s", alerts: Path | None = None,
              env: Mapping[str, str] | None = None, shown_as: str | None = None) -> int:
    """The command: print each store's phases against their medians; with `alerts`, trigger a store's alert
    when a phase regressed and resolve it when none did. `shown_as`: how the root is named (an archive's URL)."""
    limit, at_least = parse_threshold(threshold), parse_floor(floor)
    if runs < MIN_HISTORY:
        raise EvidenceError(f"--runs {runs}: at least {MIN_HISTORY} earlier runs make a median",
                            hint=f"e.g. --runs 6 (the default); {MIN_HISTORY} is the least")
    config = None
    if alerts is not None:
        from verifiers.alerts.config import load_alert_config  # pydantic: only when alerting

        config = load_alert_config(alerts)  # a bad configuration fails before anything is judged
    found = trends(root, runs=runs)
    if not found:
        print(f"no sealed restore under {shown_as or root}: no restore time to compare")
    for trend in found:
        print(f"{trend.store} (run {trend.newest.run}):")
        for line in trend.lines(limit, at_least):
            print(f"  {line}")
    regressed = [t for t in found if t.regressions(limit, at_least)]
    delivered = True if config is None else _alert(found, limit, at_least, config,
                                                   os.environ if env is None else env)
    print(f"{len(regressed)} of {len(found)} store(s) slower than the median of their last {runs} restores "
          f"by more than {limit:.0%} in some phase or step")
    return EXIT_OK if delivered and not regressed else EXIT_REGRESSED


def _alert(found: list[StoreTrend], threshold: float, floor: float, config: AlertConfig,
           env: Mapping[str, str]) -> bool:
    from verifiers.alerts.notify import plan_requests, retry_policy, send
    from verifiers.alerts.payload import slower_alert

    alerts = []
    for trend in found:
        slower = trend.regressions(threshold, floor)
        problem = "; ".join(p.describe(threshold, floor) for p in slower) if slower else None
        alerts.append(slower_alert(trend.store + ALERT_SUFFIX, run=trend.newest.run, started=trend.newest.started,
                                   problem=problem, facts=trend.facts(threshold, floor)))
    report = send(plan_requests(alerts, config, env), retry_policy(config))
    for result in report.results:
        print(result.describe())
    for problem in report.problems:
        print(f"FAILED: {problem}")
    print(f"alerts: {len(report.results) - len(report.failed)} sent, {len(report.failed)} failed")
    return report.ok
