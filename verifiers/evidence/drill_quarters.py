"""The index's quarterly DR-drill KPI (the backup SOP's "quarterly DR drills 4/4"): of the last four quarters up to
the index's last month, how many had a drill that passed (every store of its service verified within the service's
RTO: evidence.json's run.drill.passed), and which quarters had none. Always four: a quarter before the archive's
first run is missing like any other, named and marked so, never dropped (a young archive is not "1 of 1").

Each quarter shows which services were drilled. The count is of quarters, whatever service was drilled; with the
inventory's services (`evidence index --inventory`), the services not drilled at all in those four quarters, and
those drilled without a pass, are named apart: a service not drilled in a year is a finding of its own.

A quarter that ends after the index's last month is still in progress, and is said to be when it has no passed
drill yet. Drills after the index's last month are not counted.
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


def last_quarters(last_month: str, count: int = QUARTERS) -> list[str]:
    """The `count` quarters ending with `last_month`'s, oldest first: `2026-Q3, 2026-Q4, 2027-Q1` ..."""
    year, number = (int(part) for part in quarter_of(last_month).split("-Q"))
    quarters = []
    for _ in range(count):
        quarters.append(f"{year}-Q{number}")
        year, number = (year, number - 1) if number > 1 else (year - 1, 4)
    return quarters[::-1]


def quarterly_drills(runs: Sequence[Mapping[str, Any]], period: Sequence[str], *,
                     services: Sequence[str] | None = None) -> dict[str, Any]:
    """The KPI over the index's runs (each with its `month`, `id` and `drill`: drill_summary's or None), for the four
    quarters up to the period's last month. `services`: the inventory's (None: no inventory given, so no service is
    named as not drilled)."""
    last = period[-1]
    first_run = min((str(r["month"]) for r in runs), default=None)
    counted = [r for r in runs if r.get("drill") is not None and str(r["month"]) <= last]
    rows: list[dict[str, Any]] = []
    for quarter in last_quarters(last):
        drills = [{"run": r["id"], **r["drill"]} for r in counted if quarter_of(str(r["month"])) == quarter]
        passed = any(d["passed"] for d in drills)
        rows.append({"quarter": quarter, "drills": drills, "passed": passed,
                     "status": "passed" if passed else ("failed" if drills else "no drill"),
                     "services_drilled": sorted({str(d["service"]) for d in drills}),
                     "services_passed": sorted({str(d["service"]) for d in drills if d["passed"]}),
                     "in_progress": _last_month(quarter) > last,
                     "before_first_run": first_run is None or _last_month(quarter) < first_run})
    done = [row["quarter"] for row in rows if row["passed"]]
    missing = [row["quarter"] for row in rows if not row["passed"]]
    drilled = {s for row in rows for s in row["services_drilled"]}
    passed_services = {s for row in rows for s in row["services_passed"]}
    return {"quarters_with_passed_drill": len(done), "quarters": len(rows), "missing_quarters": missing,
            "in_progress": [row["quarter"] for row in rows if row["in_progress"]],
            "before_first_run": [row["quarter"] for row in rows if row["before_first_run"]],
            "text": f"{len(done)} of {len(rows)} quarters", "per_quarter": rows,
            "services": None if services is None else list(services),
            "services_not_drilled": None if services is None else [s for s in services if s not in drilled],
            "services_without_passed_drill": None if services is None else
            [s for s in services if s in drilled and s not in passed_services]}


def missing_text(kpi: Mapping[str, Any]) -> str:
    """The quarters without a passed drill, for people: `2026-Q1 (before the archive's first run), 2026-Q3,
    2026-Q4 (in progress)`, or `none`."""
    shown = [f"{q} (in progress)" if q in kpi["in_progress"] else
             f"{q} (before the archive's first run)" if q in kpi["before_first_run"] else q
             for q in kpi["missing_quarters"]]
    return ", ".join(shown) or "none"


def services_text(kpi: Mapping[str, Any]) -> str | None:
    """The inventory's services not drilled in the four quarters, for people (None: no inventory given):
    `not drilled: billing; drilled, never passed: search`, or `every service drilled and passed: checkout`."""
    if kpi["services"] is None:
        return None
    if not kpi["services"]:
        return "the inventory declares no service ([[services]])"
    parts = []
    if kpi["services_not_drilled"]:
        parts.append(f"not drilled: {', '.join(kpi['services_not_drilled'])}")
    if kpi["services_without_passed_drill"]:
        parts.append(f"drilled, never passed: {', '.join(kpi['services_without_passed_drill'])}")
    return "; ".join(parts) or f"every service drilled and passed: {', '.join(kpi['services'])}"
