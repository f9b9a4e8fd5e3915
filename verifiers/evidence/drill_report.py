"""drill.html: a drill's report, one page an auditor can read alone (and print): the service, when, who took part,
each store with its restore time and verdict, the service RTO against its target, the findings, and where the run
came from. Drawn by templates/drill.html with autoescape on: participants and findings are text people typed.

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
                        provenance: Mapping[str, str | None]) -> str:
    """The page. `drill`: evidence.json's run.drill; `stores`: the run's store records (as in evidence.json)."""
    ready = drill["store_ready_seconds"]
    rows = [_store_row(store, ready.get(store["name"])) for store in stores]
    return _templates().get_template(DRILL_REPORT).render(
        run_id=run_id, drill=drill, stores=rows, tool_version=__version__,
        provenance=[(label, provenance.get(key)) for key, label in PROVENANCE_LABELS])


def _store_row(store: Mapping[str, Any], ready_seconds: float | None) -> dict[str, Any]:
    rto = store.get("rto") or {}
    error = store.get("error")
    problems = [f"error during {error['phase']}: {error['message']}"] if error else []
    problems += [f"{c['check']} {c['subject']}: {c.get('message', '')}" if c["subject"] != c["check"]
                 else f"{c['check']}: {c.get('message', '')}" for c in store.get("checks") or [] if not c["passed"]]
    return {"name": store["name"], "kind": store["kind"], "status": store["status"],
            "rto_seconds": rto.get("seconds"), "rto_target_seconds": rto.get("target_seconds"),
            "ready_seconds": ready_seconds, "checks": len(store.get("checks") or []), "problems": problems}


def _duration(seconds: float | None) -> str:
    return "not measured" if seconds is None else format_duration(seconds)
