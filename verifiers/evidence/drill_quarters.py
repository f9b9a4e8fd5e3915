"""The index's quarterly DR-drill KPI (the backup SOP's "quarterly DR drills 4/4"): of the last four quarters of the
index's period (fewer when the period is shorter), how many had a drill that passed (every store of its service
verified within the service's RTO: evidence.json's run.drill.passed), and which quarters had none.

A quarter counts when the period includes any of its months, and every drill run in it counts; a quarter that
ends after the period's last month is still in progress, and is said to be when it has no passed drill yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from verifiers.evidence.result_kinds import is_drill

QUARTERS = 4  # the SOP's year of quarterly drills


def quarter_of(month: str) -> str:
    """`2026-Q3` for `2026-08` (a YYYY-MM month)."""
    year, number = month.split("-")
    return f"{year}-Q{(int(number) - 1) // 3 + 1}"


def _last_month(quarter: str) -> str:
    year, number = quarter.split("-Q")
    return f"{year}-{int(number) * 3:02d}"


def drill_summary(run: Mapping[str, Any], *, report: str | None = None) -> dict[str, Any] | None:
    """A run's drill as the index shows it (None: the run was no drill); `report`: its drill.html, relative to the
    index."""
    if not is_drill(run):
        return None
    drill = run["drill"]
    return {"service": drill.get("service"), "passed": drill.get("passed") is True,
            "service_rto_seconds": drill.get("service_rto_seconds"),
            "rto_target_seconds": drill.get("rto_target_seconds"),
            "rto_status": (drill.get("rto") or {}).get("status"), "participants": len(drill.get("participants") or []),
            "report": report}


def quarterly_drills(runs: Sequence[Mapping[str, Any]], period: Sequence[str]) -> dict[str, Any]:
    """The KPI over the index's runs (each with its `month`, `id` and `drill`: drill_summary's or None)."""
    quarters = list(dict.fromkeys(quarter_of(m) for m in period))[-QUARTERS:]
    rows = []
    for quarter in quarters:
        drills = [{"run": r["id"], **r["drill"]} for r in runs
                  if r.get("drill") is not None and quarter_of(str(r["month"])) == quarter]
        passed = any(d["passed"] for d in drills)
        rows.append({"quarter": quarter, "drills": drills, "passed": passed,
                     "status": "passed" if passed else ("failed" if drills else "no drill"),
                     "in_progress": _last_month(quarter) > period[-1]})
    done = [row["quarter"] for row in rows if row["passed"]]
    missing = [row["quarter"] for row in rows if not row["passed"]]
    return {"quarters_with_passed_drill": len(done), "quarters": len(rows), "missing_quarters": missing,
            "in_progress": [row["quarter"] for row in rows if row["in_progress"]],
            "text": f"{len(done)} of {len(rows)} quarters", "per_quarter": rows}


def missing_text(kpi: Mapping[str, Any]) -> str:
    """The quarters without a passed drill, for people: `2026-Q3, 2026-Q4 (in progress)`, or `none`."""
    shown = [f"{q} (in progress)" if q in kpi["in_progress"] else q for q in kpi["missing_quarters"]]
    return ", ".join(shown) or "none"
