"""drill.html: a drill's report, one page an auditor can read alone (and print): the service, when, who took part,
each store with its restore time and verdict and the conditions it was measured under (the sandbox's type, the
engine and its version, fast or production-like durability), the service RTO against its target, the findings,
and where the run came from. Drawn by templates/drill.html with autoescape on: participants and findings are text
people typed.

Written into the run directory before the run is sealed (verifiers/plugin/drill.py), so SHA256SUMS covers it.
Values are names, counts and durations from the evidence record: never row contents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import jinja2

from verifiers import __version__
from verifiers.durations import format_duration
from verifiers.evidence.report_html import PROVENANCE_LABELS

DRILL_REPORT = "drill.html"


@cache
def _templates() -> jinja2.Environment:
    environment = jinja2.Environment(loader=jinja2.PackageLoader("verifiers.evidence", "templates"), autoescape=True,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                     keep_trailing_newline=True)
    environment.filters.update(duration=_duration)
    return environment


def render_drill_report(*, run_id: str, drill: Mapping[str, Any], stores: Sequence[Mapping[str, Any]],
                        provenance: Mapping[str, str | None],
                        other_failed_checks: Sequence[Mapping[str, Any]] = ()) -> str:
    """The page. `drill`: evidence.json's run.drill; `stores`: the run's store records (as in evidence.json);
    `other_failed_checks`: the run's other failed run checks (as in evidence.json's run_checks: an uncovered store),
    which fail the run though the drill passed."""
    ready = drill["store_ready_seconds"]
    rows = [_store_row(store, ready.get(store["name"])) for store in stores]
    return _templates().get_template(DRILL_REPORT).render(
        run_id=run_id, drill=drill, stores=rows, tool_version=__version__, other_failed_checks=other_failed_checks,
        provenance=[(label, provenance.get(key)) for key, label in PROVENANCE_LABELS])


def _store_row(store: Mapping[str, Any], ready_seconds: float | None) -> dict[str, Any]:
    rto = store.get("rto") or {}
    error = store.get("error")
    problems = [f"error during {error['phase']}: {error['message']}"] if error else []
    problems += [f"{c['check']} {c['subject']}: {c.get('message', '')}" if c["subject"] != c["check"]
                 else f"{c['check']}: {c.get('message', '')}" for c in store.get("checks") or [] if not c["passed"]]
    return {"name": store["name"], "kind": store["kind"], "status": store["status"],
            "conditions": measured_under(store.get("sandbox") or {}),
            "rto_seconds": rto.get("seconds"), "rto_target_seconds": rto.get("target_seconds"),
            "ready_seconds": ready_seconds, "checks": len(store.get("checks") or []), "problems": problems}


# A sandbox's durability mode in plain words (the store evidence's sandbox.mode; report.html says the same).
MODE_WORDS = {"fast": "fast mode (durability off: restore times shorter than production's)",
              "production-like": "production-like mode (durable settings)"}


def measured_under(sandbox: Mapping[str, Any]) -> dict[str, str]:
    """Under which conditions a store's restore time was measured, from its evidence's `sandbox` block: where (the
    sandbox's type), on what (engine and version) and how durable (the mode); each says "not recorded" when the
    evidence lacks it (a store that errored before its sandbox started has none)."""
    engine = " ".join(str(sandbox[k]) for k in ("engine", "version") if sandbox.get(k))
    mode = sandbox.get("mode")
    kind = sandbox.get("type")
    return {"sandbox": f"{kind} sandbox" if kind else "sandbox not recorded", "engine": engine or "engine not recorded",
            "mode": MODE_WORDS.get(str(mode), str(mode)) if mode else "mode not recorded"}


def _duration(seconds: float | None) -> str:
    return "not measured" if seconds is None else format_duration(seconds)
