"""The monthly index of a reports root: index.json for tools, index.html for auditors (self-contained).

Per month and store: the runs, pass/fail and RTO against its target, with a trend chart over the months; the
backup SOP's KPIs: monthly restore-test completion, restore success rate, worst RTO per store, stores never
restored; and the SOC 2 criteria each check evidences.

Definitions. Only a store result whose backup was restored is a restore test (result_kinds.py): hygiene-only
results, results that restored nothing (stopped before the restore, a bucket compared in place) and drills are
counted apart and never make a month complete. A restore test is *completed* when it ran to a verdict (passed
or failed; an `error` is a test that did not complete). A month is *complete* when every store (the
inventory's, when given, plus every store in the runs) has a completed restore test in it; a store's month
without one is marked "no restore". The period runs from the first run's month (or --from) to the month before
today, or to the newest run's month when later (or --to); months with no run count. The backup success rate
adds up, across stores, the scheduled and completed backups of each store's newest `backup_success` counts in
the period (the hygiene check reads them from the provider's history), against the SOP's 99.9 %. DR drills
have their own quarterly KPI (drill_quarters.py): the last four quarters of the period, each with a passed drill
or named.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from verifiers.atomic import write_text_atomically
from verifiers.durations import format_duration
from verifiers.errors import EvidenceError
from verifiers.evidence import chain, soc2
from verifiers.evidence.drill_quarters import drill_summary, missing_text, quarterly_drills, services_text
from verifiers.evidence.result_kinds import ResultKind, result_kind
from verifiers.run_checks import ALERT_RESPONSE_CHECK, COVERAGE_CHECK

INDEX_SCHEMA_VERSION = 2  # 2: only restores count as restore tests; hygiene, not restored and drills apart
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
COMPLETED = ("passed", "failed")


def parse_month(text: str, *, what: str = "month") -> tuple[int, int]:
    match = _MONTH.match(text)
    if match is None:
        raise EvidenceError(f"{what} {text!r} is not a month", hint="write it as YYYY-MM, e.g. 2026-01")
    return int(match.group(1)), int(match.group(2))


def month_range(first: str, last: str) -> list[str]:
    """Every calendar month from first to last inclusive, across year boundaries."""
    year, month = parse_month(first, what="--from")
    end = parse_month(last, what="--to")
    if (year, month) > end:
        raise EvidenceError(f"the period {first} .. {last} is empty", hint="--from must not be after --to")
    months = []
    while (year, month) <= end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _month_before(moment: datetime) -> str:
    year, month = moment.year, moment.month
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return f"{year:04d}-{month:02d}"


@dataclass(frozen=True)
class StoreResult:
    """One store in one run, as the index needs it."""

    run: str
    month: str
    name: str
    status: str
    rto_seconds: float | None
    rto_target_seconds: float | None
    failed_checks: tuple[str, ...]
    checks_total: int
    kind: ResultKind
    not_compared: tuple[str, ...] = ()  # checks that compared nothing: they claim no SOC 2 criterion
    phases: Mapping[str, float] = field(default_factory=dict)  # the RTO by phase (rto.phases)
    steps: Mapping[str, float] = field(default_factory=dict)  # the steps inside them (rto.steps), where timed
    scheduled_backups: tuple[Mapping[str, Any], ...] = ()  # backup_success counts, each with its check's subject
    rpo_seconds: float | None = None  # the backup's age when the run began (rpo.seconds)
    rpo_target_seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "status": self.status, "rto_seconds": self.rto_seconds,
                "rto_target_seconds": self.rto_target_seconds, "checks_total": self.checks_total,
                "failed_checks": list(self.failed_checks), "not_compared": list(self.not_compared)}


def _store_results(run_id: str, month: str, evidence: Mapping[str, Any]) -> list[StoreResult]:
    results = []
    for store in evidence.get("stores") or []:
        rto = store.get("rto") or {}
        rpo = store.get("rpo") or {}
        checks = store.get("checks") or []
        results.append(StoreResult(
            run=run_id, month=month, name=str(store.get("name")), status=str(store.get("status")),
            rto_seconds=rto.get("seconds"), rto_target_seconds=rto.get("target_seconds"),
            failed_checks=tuple(f"{c.get('check')}:{c.get('subject')}" for c in checks if not c.get("passed")),
            checks_total=len(checks), kind=result_kind(evidence.get("run") or {}, store),
            not_compared=tuple(f"{c.get('check')}:{c.get('subject')}" for c in checks if c.get("compared") is False),
            phases={str(k): float(v) for k, v in (rto.get("phases") or {}).items() if isinstance(v, int | float)},
            steps={str(k): float(v) for k, v in (rto.get("steps") or {}).items() if isinstance(v, int | float)},
            scheduled_backups=tuple({"subject": c.get("subject"), **c["scheduled_backups"]} for c in checks
                                    if c.get("check") == "backup_success" and c.get("scheduled_backups")),
            rpo_seconds=rpo.get("seconds"), rpo_target_seconds=rpo.get("target_seconds"),
        ))
    return results


def build_index(root: Path, *, stores: Iterable[str] = (), first: str | None = None, last: str | None = None,
                now: datetime | None = None, report: chain.ChainReport | None = None,
                services: Sequence[str] | None = None) -> dict[str, Any]:
    """index.json's content. `stores`: every store that should be tested (the inventory's). `services`: every
    service that should be drilled (the inventory's; None: not known, so none is named as not drilled). `report`: a
    verification of `root` made elsewhere (an archive's, its problem paths relative to `root`); by default the
    reports root's own (chain.verify_reports)."""
    report = report if report is not None else chain.verify_reports(root)
    broken_runs = {"/".join(p.path.split("/")[:2]) for p in report.problems}
    runs = []
    for record in report.runs:
        evidence = record.evidence or {}
        run = evidence.get("run") or {}
        started = str(run.get("started") or "")
        month = started[:7] if _MONTH.match(started[:7]) else record.directory.parent.name
        runs.append({
            "id": record.directory.name, "path": record.rel, "month": month, "started": started or None,
            "status": run.get("status", "unreadable"),
            "report": f"{record.rel}/report.html" if (record.directory / "report.html").is_file() else None,
            "verified": record.rel not in broken_runs,
            "drill": drill_summary(run, report=f"{record.rel}/drill.html"
                                   if (record.directory / "drill.html").is_file() else None),
            "results": _store_results(record.directory.name, month, evidence),
        })
    if not runs:
        raise EvidenceError(f"{root}: no runs to index", hint="upload a run first (evidence upload)")
    moment = now or datetime.now(UTC)
    run_months = sorted(r["month"] for r in runs)
    first = first or run_months[0]
    last = last or max(run_months[-1], _month_before(moment))
    period = month_range(first, last)
    in_period = [r for r in runs if r["month"] in period]
    results = [res for r in in_period for res in r["results"]]
    restores = [res for res in results if res.kind == "restore"]
    names = sorted(set(stores) | {res.name for res in results})
    per_store = {name: _store_kpis(name, [r for r in results if r.name == name], period) for name in names}
    complete = [m for m in period if names and all(m in per_store[n]["months_tested_list"] for n in names)]
    return {
        "schema_version": INDEX_SCHEMA_VERSION,
        "generated": moment.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "period": {"from": period[0], "to": period[-1], "months": period},
        "integrity": {
            "ok": report.ok, "runs": len(report.runs),
            "problems": [str(p) for p in report.problems[:50]],
            "first_broken": str(report.first_broken) if report.first_broken else None,
            "head": report.head.rel if report.head else None, "head_sha256sums": report.head_digest,
        },
        "kpis": {
            "restore_test_completion": {
                "months_complete": len(complete), "months_in_period": len(period),
                "missing_months": [m for m in period if m not in complete],
                "text": f"{len(complete)} of {len(period)} months",
            },
            "restore_success_rate": _rate(restores),
            "backup_success_rate": backup_success_rate(results),
            "hygiene_checks": _tally(results, "hygiene"),
            "not_restored": _tally(results, "not restored"),
            "drills": _tally(results, "drill"),
            "drills_quarterly": quarterly_drills(runs, period, services=services),
            "worst_rto": {n: s["worst_rto"] for n, s in per_store.items()},
            "stores_never_tested": [n for n, s in per_store.items() if not s["months_tested"]],
            "inventory_coverage": newest_coverage(report.runs),
            "alert_response": newest_alert_response(report.runs),
        },
        "stores": {n: {k: v for k, v in s.items() if k != "months_tested_list"} for n, s in per_store.items()},
        "months": [_month_entry(m, [r for r in in_period if r["month"] == m], names) for m in period],
        "soc2": {"criteria": soc2.CRITERIA, "checks": soc2.mapping_records(),
                 "not_compared": _not_compared_counts(results)},
    }


def newest_coverage(runs: Sequence[chain.RunRecord]) -> dict[str, Any] | None:
    """The newest run's inventory coverage (evidence.json's `coverage`, with `[discovery]`): what is uncovered or
    unknown, and the declared stores, counted apart from the restorable ones (never restore tests). The newest run
    with a coverage run check decides: when its discovery failed outright it recorded no `coverage` block, and the
    card says so (`failed`) rather than show an older run's. None when no run compared its inventory."""
    for record in reversed(runs):  # oldest first
        evidence = record.evidence or {}
        coverage = evidence.get("coverage")
        if isinstance(coverage, dict):
            counts = coverage.get("counts") or {}
            return {"run": record.directory.name, "complete": bool(coverage.get("complete")),
                    "uncovered": counts.get("uncovered", 0), "unknown": counts.get("unknown", 0),
                    "covered": counts.get("covered", 0), "ignored": counts.get("ignored", 0),
                    "uncovered_ids": [str(r.get("id")) for r in coverage.get("uncovered") or []],
                    "declared": sorted(str(d.get("name")) for d in coverage.get("declared") or [])}
        checks = [c for c in evidence.get("run_checks") or []
                  if isinstance(c, dict) and c.get("check") == COVERAGE_CHECK]
        if checks:  # a coverage check without a block: discovery failed outright
            return {"run": record.directory.name, "complete": False,
                    "failed": "; ".join(str(c.get("detail") or "") for c in checks)}
    return None


def newest_alert_response(runs: Sequence[chain.RunRecord]) -> dict[str, Any] | None:
    """The newest run's backup-alert response KPI (its `alert_response` run check, recorded with
    --alert-response): the share of the period's backup alerts acknowledged within the target. None when no run
    recorded one."""
    for record in reversed(runs):  # oldest first
        for check in (record.evidence or {}).get("run_checks") or []:
            if isinstance(check, dict) and check.get("check") == ALERT_RESPONSE_CHECK:
                return {"run": record.directory.name, "passed": check.get("passed"),
                        "observed": check.get("observed"), "expected": check.get("expected"),
                        "detail": str(check.get("detail") or "")}
    return None


def _alert_response_card(kpi: Mapping[str, Any] | None) -> list[tuple[str, str, str]]:
    if kpi is None:
        return []
    observed = kpi["observed"] if isinstance(kpi["observed"], dict) else {}
    share = observed.get("share_percent")
    value = "not compared" if kpi["passed"] is None else "unknown" if share is None else f"{share:g} %"
    return [("Backup alerts acknowledged within target", value, f"run {kpi['run']}: {kpi['detail']}")]


def _coverage_card(coverage: Mapping[str, Any] | None) -> list[tuple[str, str, str]]:
    """The newest run's inventory coverage and the declared stores, as KPI cards (none without discovery): "unknown"
    when that run's discovery failed outright, "not compared" when it found no production store."""
    if coverage is None:
        return []
    label = "Production stores not in the inventory"
    if "failed" in coverage:
        return [(label, "unknown", f"discovery failed in run {coverage['run']}: "
                 f"{coverage['failed'].removeprefix('discovery failed: ')}")]
    if not (coverage["uncovered"] or coverage["unknown"] or coverage["covered"] or coverage["ignored"]):
        card = (label, "not compared", f"run {coverage['run']}: discovery found no production store; check "
                "[discovery] regions/names/tags")
    else:
        gaps = ", ".join(coverage["uncovered_ids"][:5]) + (" …" if len(coverage["uncovered_ids"]) > 5 else "")
        note = f"run {coverage['run']}: {coverage['covered']} covered, {coverage['ignored']} ignored"
        note += f", {coverage['unknown']} services unknown" if coverage["unknown"] else ""
        note += f"; not in the inventory: {gaps}" if gaps else ""
        card = (label, str(coverage["uncovered"]), note)
    declared = coverage["declared"]
    return [card, ("Declared stores (not restorable)", str(len(declared)), (", ".join(declared) or "none")
                   + "; counted apart from the restore tests")]


def _not_compared_counts(results: Sequence[StoreResult]) -> dict[str, int]:
    """How many results recorded each check as not compared (claiming no criterion), by check name."""
    counts: dict[str, int] = {}
    for name in (item.split(":", 1)[0] for r in results for item in r.not_compared):
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def _rate(restores: Sequence[StoreResult]) -> dict[str, Any]:
    """The restore success rate: `tests` counts restores only."""
    passed = sum(r.status == "passed" for r in restores)
    return {"passed": passed, "tests": len(restores), "rate": round(passed / len(restores), 4) if restores else None}


BACKUP_SUCCESS_TARGET = 99.9  # percent: the SOP's backup success rate


def backup_success_rate(results: Sequence[StoreResult]) -> dict[str, Any]:
    """The backup success rate across stores: each store's newest backup_success counts (results are oldest
    first), their scheduled and completed backups added up, against BACKUP_SUCCESS_TARGET; the missed days named
    per store and history."""
    newest = {r.name: r for r in results if r.scheduled_backups}
    stores: dict[str, Any] = {}
    for name, result in sorted(newest.items()):
        stores[name] = {"run": result.run, "histories": [
            {"history": c["subject"], "first_day": c["first_day"], "last_day": c["last_day"],
             "scheduled": c["scheduled"], "completed": c["completed"],
             "missed": [f"{m['day']} {m['status']}" for m in c["missed"]]} for c in result.scheduled_backups]}
    histories = [h for s in stores.values() for h in s["histories"]]
    scheduled, completed = sum(h["scheduled"] for h in histories), sum(h["completed"] for h in histories)
    rate = 100.0 * completed / scheduled if scheduled else None
    meets = None if rate is None else rate >= BACKUP_SUCCESS_TARGET
    return {
        "scheduled": scheduled, "completed": completed, "rate_percent": None if rate is None else round(rate, 3),
        "target_percent": BACKUP_SUCCESS_TARGET, "meets_target": meets,
        "text": f"{completed} of {scheduled} scheduled backups completed ({rate:.3f} %)" if rate is not None else
                "not measured: no store has backup_success counts in the period",
        "stores": stores,
    }


def _tally(results: Sequence[StoreResult], kind: ResultKind) -> dict[str, Any]:
    """Results of a kind counted apart from the restore tests (hygiene, not restored, drills)."""
    mine = [r for r in results if r.kind == kind]
    passed = sum(r.status == "passed" for r in mine)
    return {"results": len(mine), "passed": passed, "rate": round(passed / len(mine), 4) if mine else None,
            "stores": sorted({r.name for r in mine})}


def _store_kpis(name: str, results: Sequence[StoreResult], period: Sequence[str]) -> dict[str, Any]:
    restores = [r for r in results if r.kind == "restore"]
    tested = sorted({r.month for r in restores if r.status in COMPLETED})
    passed = sorted({r.month for r in restores if r.status == "passed"})
    measured = [r for r in restores if r.rto_seconds is not None]
    worst = max(measured, key=lambda r: r.rto_seconds or 0.0, default=None)
    trend = []
    for month in period:
        slowest = max((r for r in measured if r.month == month), key=lambda r: r.rto_seconds or 0.0, default=None)
        targets = [r.rto_target_seconds for r in restores if r.month == month and r.rto_target_seconds is not None]
        trend.append({"month": month, "worst_rto_seconds": slowest.rto_seconds if slowest else None,
                      "target_seconds": min(targets) if targets else None,
                      # where that restore's time went: `restoreproof evidence trend` judges these phase by phase
                      # and step by step
                      "phases": dict(slowest.phases) if slowest else {},
                      "steps": dict(slowest.steps) if slowest else {}})
    return {
        "months_tested": len(tested), "months_passed": len(passed), "months_tested_list": tested,
        "months_text": f"{len(tested)} of {len(period)} months",
        "missing_months": [m for m in period if m not in tested],  # months with no completed restore
        "success_rate": _rate(restores),
        "hygiene_checks": _tally(results, "hygiene"),
        "worst_rto": None if worst is None else {
            "seconds": worst.rto_seconds, "target_seconds": worst.rto_target_seconds, "run": worst.run,
            "month": worst.month,
            "within_target": (worst.rto_seconds or 0.0) <= (worst.rto_target_seconds or float("inf")),
        },
        "rto_trend": trend,
        "worst_rpo": _worst_rpo(restores),
    }


def _worst_rpo(restores: Sequence[StoreResult]) -> dict[str, Any] | None:
    """The oldest backup a restore test of the period restored (the backup's age when its run began) against the
    store's RPO target: the SOP's "RPO ≤ 1 h for the primary database", as measured, store by store."""
    measured = [r for r in restores if r.rpo_seconds is not None]
    worst = max(measured, key=lambda r: r.rpo_seconds or 0.0, default=None)
    if worst is None or worst.rpo_seconds is None:
        return None
    target = worst.rpo_target_seconds
    return {"seconds": worst.rpo_seconds, "target_seconds": target, "run": worst.run, "month": worst.month,
            "within_target": None if target is None else worst.rpo_seconds <= target}


def _month_entry(month: str, runs: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    stores: dict[str, Any] = {}
    for name in names:
        mine = [res for r in runs for res in r["results"] if res.name == name]
        restores = [r for r in mine if r.kind == "restore"]
        stores[name] = {
            "tests": len(restores), "passed": sum(r.status == "passed" for r in restores),
            # runs are oldest first: the month's last word
            "status": restores[-1].status if restores else "no restore",
            "restored": any(r.status in COMPLETED for r in restores),
            "worst_rto_seconds": max((r.rto_seconds for r in restores if r.rto_seconds is not None), default=None),
            "hygiene_results": sum(r.kind == "hygiene" for r in mine),
            "not_restored_results": sum(r.kind == "not restored" for r in mine),
            "drill_results": sum(r.kind == "drill" for r in mine),
        }
    return {
        "month": month,
        "stores": stores,
        "runs": [{**{k: v for k, v in r.items() if k != "results"},
                  "stores": [res.as_dict() for res in r["results"]]} for r in runs],
    }


def write_index(root: Path, index: Mapping[str, Any]) -> tuple[Path, Path]:
    json_path, html_path = root / "index.json", root / "index.html"
    write_text_atomically(json_path, json.dumps(index, indent=2) + "\n")
    write_text_atomically(html_path, render_html(index))
    return json_path, html_path


# --- index.html: templates/index.html, with autoescape; the counting and the chart's geometry are done here ---

@cache
def _templates() -> jinja2.Environment:
    environment = jinja2.Environment(loader=jinja2.PackageLoader("verifiers.evidence", "templates"), autoescape=True,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                     keep_trailing_newline=True)
    environment.filters.update(duration=format_duration, percent=_percent, coord=lambda v: f"{v:.1f}")
    environment.globals.update(cell_notes=_cell_notes, run_stores=_run_stores, trend_chart=trend_chart)
    return environment


def render_html(index: Mapping[str, Any]) -> str:
    return _templates().get_template("index.html").render(index=index, kpi_cards=_kpi_cards(index))


def _kpi_cards(index: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The KPI cards: label, value, note."""
    kpis = index["kpis"]
    completion, rate = kpis["restore_test_completion"], kpis["restore_success_rate"]
    missing = ", ".join(completion["missing_months"]) or "none"
    never = ", ".join(kpis["stores_never_tested"]) or "none"
    rate_note = f"{rate['passed']} of {rate['tests']} store restores passed"
    if kpis["not_restored"]["results"]:
        rate_note += (f"; {kpis['not_restored']['results']} results restored nothing (stopped before the restore, or "
                      "a bucket compared in place) and are not counted")
    cards = [
        ("Monthly restore-test completion", completion["text"], f"months missing a completed restore: {missing}"),
        ("Restore success rate", _percent(rate["rate"]), rate_note),
        ("Stores never restored", str(len(kpis["stores_never_tested"])), never),
    ]
    over = [f"{n} ({format_duration(w['seconds'])} > {format_duration(w['target_seconds'])}, {w['run']})"
            for n, s in index["stores"].items() if (w := s.get("worst_rpo")) and w["within_target"] is False]
    measured = sum(1 for s in index["stores"].values() if s.get("worst_rpo"))
    if measured:
        cards.append(("Stores over their RPO", str(len(over)), "; ".join(over) or
                      f"every restored backup of {measured} store{'s' if measured != 1 else ''} was within its RPO"))
    cards[1:1] = [_drill_card(kpis["drills_quarterly"]), *_undrilled_card(kpis["drills_quarterly"])]
    cards.append(_backup_success_card(kpis["backup_success_rate"]))
    for key, label in (("hygiene_checks", "Hygiene checks (no restore)"), ("drills", "Store results in drills")):
        tally = kpis[key]
        if tally["results"]:
            cards.append((label, str(tally["results"]), f"{tally['passed']} of {tally['results']} passed; counted "
                          "apart from the restore tests"))
    return cards + _coverage_card(kpis.get("inventory_coverage")) + _alert_response_card(kpis.get("alert_response"))


MISSED_LISTED = 10  # missed days the index card names


def _backup_success_card(kpi: Mapping[str, Any]) -> tuple[str, str, str]:
    if kpi["rate_percent"] is None:
        return "Backup success rate", "-", kpi["text"]
    missed = [f"{name} ({h['history']}) {day}" for name, s in kpi["stores"].items() for h in s["histories"]
              for day in h["missed"]]
    note = f"{kpi['text']} across {len(kpi['stores'])} store{'s' if len(kpi['stores']) != 1 else ''}, " \
           f"{'meets' if kpi['meets_target'] else 'BELOW'} the target ≥ {kpi['target_percent']:g} %"
    if missed:
        more = f" and {len(missed) - MISSED_LISTED} more" if len(missed) > MISSED_LISTED else ""
        note += "; missed: " + ", ".join(missed[:MISSED_LISTED]) + more
    return "Backup success rate", f"{kpi['rate_percent']:.3f} %", note


def _drill_card(quarterly: Mapping[str, Any]) -> tuple[str, str, str]:
    """The quarterly DR-drill KPI, beside the monthly restore one."""
    return ("DR drills", quarterly["text"], f"quarters without a passed drill: {missing_text(quarterly)}")


def _undrilled_card(quarterly: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The inventory's services not drilled in the last four quarters, apart from the quarterly count (none
    without the inventory)."""
    text = services_text(quarterly)
    if text is None:
        return []
    undrilled = len(quarterly["services_not_drilled"]) + len(quarterly["services_without_passed_drill"])
    return [("Services without a passed drill in the last four quarters", str(undrilled), text)]


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.0f}%"


def _cell_notes(cell: Mapping[str, Any]) -> list[str]:
    """What a store's month held: its restores, and what ran instead of or beside them."""
    notes = []
    if cell["tests"]:
        rto = cell["worst_rto_seconds"]
        notes.append(f"{cell['passed']} of {cell['tests']} restore{'s' if cell['tests'] != 1 else ''} passed"
                     f"{', worst RTO ' + format_duration(rto) if rto else ''}")
    for key, one, many in (("hygiene_results", "hygiene-only result", "hygiene-only results"),
                           ("not_restored_results", "result that restored nothing", "results that restored nothing"),
                           ("drill_results", "drill", "drills")):
        if cell[key]:
            notes.append(f"{cell[key]} {one if cell[key] == 1 else many}")
    return notes


@dataclass(frozen=True)
class ChartLabel:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class TrendChart:
    """Where the parts of a store's RTO trend chart go (SVG units); templates/index.html draws them."""

    width: int
    height: int
    left: int
    right: int
    top: float  # the seconds at the top of the chart
    top_y: float
    zero_y: float
    labels: list[ChartLabel]  # month names along the bottom
    lines: list[list[tuple[float, float]]]  # one line per run of months with a figure
    points: list[ChartLabel]  # each month's worst RTO, its text that figure and where the time went
    target: float | None
    target_y: float | None  # None when the target is above the chart


def trend_chart(trend: Sequence[Mapping[str, Any]]) -> TrendChart:
    """Worst RTO per month as a line (broken where a month has none), the target as a dashed line."""
    values = [p["worst_rto_seconds"] for p in trend if p["worst_rto_seconds"] is not None]
    targets = [p["target_seconds"] for p in trend if p["target_seconds"] is not None]
    target = min(targets) if targets else None
    top = max(values, default=1.0) * 1.2 or 1.0
    if target is not None and target <= 4 * top:
        top = max(top, target * 1.1)
    left, width, height, bottom = 56, max(320, 44 * len(trend)), 180, 28
    step = (width - left - 40) / max(1, len(trend) - 1)  # room for the last month's label

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return 8 + (height - bottom - 8) * (1 - v / top)

    labels, lines, points = [], [], []
    segment: list[tuple[float, float]] = []
    for i, point in enumerate(trend):
        value = point["worst_rto_seconds"]
        if i % max(1, len(trend) // 12) == 0 or i == len(trend) - 1:
            labels.append(ChartLabel(x(i) - 16, height - 8, point["month"]))
        if value is None:
            lines.append(segment)
            segment = []
            continue
        segment.append((x(i), y(value)))
        points.append(ChartLabel(x(i), y(value), _point_title(point, value)))
    lines.append(segment)
    return TrendChart(width=width, height=height, left=left, right=width - 6, top=top, top_y=y(top), zero_y=y(0),
                      labels=labels, lines=[line for line in lines if len(line) > 1], points=points, target=target,
                      target_y=y(target) if target is not None and target <= top else None)


def _point_title(point: Mapping[str, Any], value: float) -> str:
    """A month's worst RTO, and where its time went: the phases, then the steps inside them."""
    phases = "; ".join(part for part in (", ".join(f"{name} {format_duration(seconds)}"
                                                   for name, seconds in (point.get(key) or {}).items())
                                         for key in ("phases", "steps")) if part)
    return f"{point['month']}: {format_duration(value)}" + (f" ({phases})" if phases else "")


def _run_stores(run: Mapping[str, Any]) -> str:
    return "; ".join(_run_store_text(s) for s in run["stores"]) or "no store"


def _run_store_text(store: Mapping[str, Any]) -> str:
    text = f"{store['name']} {store['status']}"
    if store["kind"] != "restore":
        return text + {"hygiene": " (hygiene checks only)", "not restored": " (restored nothing)",
                       "drill": " (drill)"}.get(store["kind"], "")
    return text + (f" (RTO {format_duration(store['rto_seconds'])})" if store["rto_seconds"] else "")
