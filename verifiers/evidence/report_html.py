"""What report.html shows beyond pytest-html's table: a per-store summary a non-engineer can read, and per check
the observed and expected values, schema differences as a diff, and the phase timings as a bar chart (with the
steps inside a phase drawn under it, and the steps not measured named with the reason).

HTML fragments only (the plugin hands them to pytest-html's hooks); everything inline, nothing fetched.
Values are counts, digests, names and durations from the evidence record: never row contents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from verifiers.checks import CheckResult, plain_name
from verifiers.durations import format_duration
from verifiers.evidence import soc2
from verifiers.evidence.configuration_html import configuration_html
from verifiers.run_checks import RunCheck
from verifiers.runner import StoreOutcome
from verifiers.terminal_summary import check_counts
from verifiers.timing import PHASES, RTO_PHASES, STEPS

REPORT_CSS = Path(__file__).with_name("report.css")
_CHANGED = re.compile(r"^(?P<where>.*) changed \(was: (?P<was>.*); now: (?P<now>.*)\)$")
_DURATION_CHECKS = ("rto", "rpo", "rpo_gap", "pitr_lag", "copy")  # values in seconds
_SHORT = 24
_DIFFERENCE_CHECKS = ("schema",)  # a failed one's observed value lists what differs (checks.schema_diff)


def summary_html(outcomes: Sequence[StoreOutcome], provenance: Mapping[str, str | None] | None = None) -> str:
    """The block at the top of the report: a one-line verdict, where the run came from, a row per store, a phase
    chart per store."""
    if not outcomes:
        return ""
    records = [(o, o.as_evidence()) for o in outcomes]
    rows = "".join(_store_row(o, r) for o, r in records)
    head = "".join(f"<th>{h}</th>" for h in ("Store", "Result", "Restore time (RTO)", "Backup age (RPO)",
                                              "Backup", "Backup taken", "Restored into", "Checks passed"))
    charts = "".join(
        f"<figure class='rp-figure'><figcaption>{escape(o.store.name)}: time per phase</figcaption>"
        f"{rto_chart_html(r['rto'], label=o.store.name)}</figure>"
        for o, r in records if r["rto"]["phases"]
    )
    return (
        "<section id='restoreproof-summary' class='rp'>"
        f"{_verdict(outcomes)}{provenance_html(provenance or {})}"
        f"<table id='restoreproof-stores' class='rp-table'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        f"<div class='rp-charts'>{charts}</div>"
        f"{configuration_html([(o.store.name, o.configuration) for o in outcomes if o.configuration is not None])}"
        "<p class='rp-note'>Every value here is a count, checksum, name or duration: row contents are never "
        "recorded. Expand a row of the results table below for what each check observed and expected.</p>"
        "</section>"
    )


def run_checks_html(checks: Sequence[RunCheck]) -> str:
    """The checks about the run as a whole (inventory coverage), a row each: what, about what, the verdict and
    why; a check that compared nothing says "Not compared"."""
    shown = {"passed": "Passed", "failed": "Failed", "not compared": "Not compared"}
    rows = "".join(f"<tr class='rp-{c.status.replace(' ', '-')}'><td>{escape(plain_name(c.check))}</td>"
                   f"<td>{escape(c.subject)}</td><td>{shown[c.status]}</td><td>{escape(c.detail)}</td></tr>"
                   for c in checks)
    failures = sum(c.passed is False for c in checks)
    verdict = (f"<p class='rp-verdict rp-failed'>Run NOT passed: {failures} of {len(checks)} run checks failed.</p>"
               if failures else "")
    return (f"<section id='restoreproof-run-checks' class='rp'><h2>Run checks</h2>{verdict}"
            "<table class='rp-table'><thead><tr><th>Check</th><th>Subject</th><th>Result</th><th>Detail</th></tr>"
            f"</thead><tbody>{rows}</tbody></table></section>")


PROVENANCE_LABELS = (("repository", "Repository"), ("commit", "Commit"), ("run_url", "CI run"),
                     ("actor", "Started by"), ("trigger", "Trigger"), ("inventory_sha256", "Inventory sha256"))


def provenance_html(provenance: Mapping[str, str | None]) -> str:
    """Where the run came from (evidence.json's run.provenance), as a definition list: what is unknown says so."""
    if not provenance:
        return ""
    items = []
    for key, label in PROVENANCE_LABELS:
        value = provenance.get(key)
        if key == "run_url" and value:
            shown = f"<a href='{escape(value, quote=True)}'>{escape(value)}</a>"
        else:
            shown = escape(value) if value else "<span class='rp-dim'>not known</span>"
        items.append(f"<dt>{label}</dt><dd>{shown}</dd>")
    where = "a workstation" if provenance.get("ci") is None else f"{provenance['ci']} CI"
    return (f"<dl id='restoreproof-provenance' class='rp-provenance' aria-label='run provenance, on "
            f"{escape(where, quote=True)}'>{''.join(items)}</dl>")


def _verdict(outcomes: Sequence[StoreOutcome]) -> str:
    passed = sum(o.status == "passed" for o in outcomes)
    total = len(outcomes)
    noun = "store" if total == 1 else "stores"
    if passed == total:
        return (f"<p class='rp-verdict rp-passed'>Restore verified: {total} of {total} {noun} restored, complete "
                "and intact, within their targets.</p>")
    problems = ", ".join(f"{escape(o.store.name)} {o.status}" for o in outcomes if o.status != "passed")
    return f"<p class='rp-verdict rp-failed'>Restore NOT verified: {passed} of {total} {noun} passed ({problems}).</p>"


def _store_row(outcome: StoreOutcome, record: Mapping[str, Any]) -> str:
    artifact = record["artifact"] or {}
    rto, rpo = record["rto"], record["rpo"]
    sandbox = record["sandbox"] or {}
    passed, judged, unjudged = check_counts(outcome.checks)
    result = _badge(outcome.status)
    if outcome.error:
        result += f"<div class='rp-error'>in {escape(outcome.error['phase'])}: {escape(outcome.error['message'])}</div>"
    backup = "-"
    if artifact:
        backup = (f"{escape(Path(str(artifact['path'])).name)}<div class='rp-dim'>{_size(artifact['bytes'])}, sha256 "
                  f"<code>{escape(str(artifact['sha256'])[:12])}…</code></div>")
    cells = (
        f"{escape(outcome.store.name)}<div class='rp-dim'>{escape(outcome.store.kind)} · suite "
        f"{escape(str(record['suite']))}</div>",
        result,
        _against_target(rto["seconds"], rto["target_seconds"]) + _rto_mode(sandbox),
        _against_target(rpo["seconds"], rpo["target_seconds"]),
        backup,
        escape(str(artifact.get("created") or "-")),
        sandbox_cell(sandbox),
        f"{passed} of {judged}" + (f"<div class='rp-dim'>{unjudged} not compared</div>" if unjudged else ""),
    )
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


# The settings, read back from a sandbox's server, whose values mean durability was off (fast mode), by engine.
DURABILITY_OFF = {
    "fsync": ("off",), "synchronous_commit": ("off",), "full_page_writes": ("off",),  # PostgreSQL
    "innodb_flush_log_at_trx_commit": ("0", "2"), "innodb_doublewrite": ("OFF", "0"), "sync_binlog": ("0",),  # MySQL
    "save": ("",),  # Redis/Valkey: the loaded data is never written back
}


def sandbox_cell(sandbox: Mapping[str, Any]) -> str:
    """Engine and version, what the server is where the sandbox says so, and in plain words the mode the restore ran
    in: durability off is said, not implied."""
    cell = escape(" ".join(str(sandbox[k]) for k in ("engine", "version") if sandbox.get(k)) or "-")
    if server := sandbox.get("server"):  # what the engine is, in words (mongoeco: "..., not MongoDB")
        cell += f"<div class='rp-dim'>{escape(str(server))}</div>"
    settings = sandbox.get("settings") or {}
    if sandbox.get("mode") == "fast":
        off = [(name, str(settings[name])) for name, values in DURABILITY_OFF.items()
               if name in settings and str(settings[name]) in values]
        shown = ", ".join(f"{name} off" if value.lower() == "off" else f"{name}={value or chr(34) * 2}"
                          for name, value in off)
        cell += (f"<div class='rp-warn'>fast mode: durability off{f' ({escape(shown)})' if shown else ''}, so the "
                 "restore time is optimistic</div>")
    elif sandbox.get("mode") == "production-like":
        cell += "<div class='rp-dim'>production-like mode: durable settings</div>"
    if tools := sandbox.get("tools"):
        cell += "<div class='rp-dim'>" + escape(", ".join(f"{k} {v}" for k, v in tools.items())) + "</div>"
    return cell


def _rto_mode(sandbox: Mapping[str, Any]) -> str:
    mode = sandbox.get("mode")
    if mode is None:
        return ""
    words = "durability off" if mode == "fast" else "durable settings"
    return f"<div class='rp-dim'>measured in {escape(str(mode))} mode ({words})</div>"


def _badge(status: str) -> str:
    css = "rp-passed" if status == "passed" else "rp-failed"
    return f"<span class='rp-badge {css}'>{escape(status.upper())}</span>"


def _against_target(seconds: float | None, target: float) -> str:
    if seconds is None:
        return f"not measured<div class='rp-dim'>target {format_duration(target)}</div>"
    verdict = "within" if seconds <= target else "OVER"
    css = "rp-ok" if seconds <= target else "rp-bad"
    return (f"<span class='{css}'>{format_duration(seconds)}</span>"
            f"<div class='rp-dim'>{verdict} target {format_duration(target)}</div>")


def _size(count: int) -> str:
    size = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} bytes"


def rto_chart_html(rto: Mapping[str, Any], *, label: str) -> str:
    """An evidence record's `rto` drawn: its phases with their steps, and the steps not measured, with why."""
    chart = phase_chart_svg(rto.get("phases") or {}, label=label, steps=rto.get("steps") or {})
    unmeasured = rto.get("steps_not_measured") or {}
    reasons: dict[str, list[str]] = {}
    for step in (s for s in STEPS if s in unmeasured):
        reasons.setdefault(str(unmeasured[step]), []).append(step)
    notes = "".join(f"<p class='rp-steps-not-measured'>Not measured: {escape(', '.join(steps))}: {escape(reason)}."
                    "</p>" for reason, steps in reasons.items())
    return chart + notes


def phase_chart_svg(phases: Mapping[str, float], *, label: str, steps: Mapping[str, float] | None = None) -> str:
    """Horizontal bars, one per phase, scaled to the longest; teardown is drawn apart (it is not in the RTO).
    Each phase's `steps` (verifiers/timing.py STEPS) are drawn under it, lighter and indented, on the same scale."""
    steps = steps or {}
    rows: list[tuple[str, float, str]] = []  # (label, seconds, bar class)
    for phase in (p for p in PHASES if p in phases):
        rows.append((phase, phases[phase], "rp-bar" if phase in RTO_PHASES else "rp-bar rp-bar-outside"))
        rows += [(step, steps[step], "rp-bar rp-bar-step") for step, within in STEPS.items()
                 if within == phase and step in steps]
    longest = max((seconds for _label, seconds, _css in rows), default=0.0) or 1.0
    row, bar_x, bar_width = 22, 120 if steps else 92, 240
    height = row * len(rows) + 6
    parts = []
    for index, (name, seconds, css) in enumerate(rows):
        y = index * row + 4
        width = max(1.0, bar_width * seconds / longest)
        step = "rp-bar-step" in css
        parts.append(
            f"<text x='{12 if step else 0}' y='{y + 13}' "
            f"class='{'rp-chart-label rp-step-label' if step else 'rp-chart-label'}'>{escape(name)}</text>"
            f"<rect x='{bar_x}' y='{y}' width='{width:.1f}' height='{11 if step else 15}' rx='2' class='{css}'/>"
            f"<text x='{bar_x + width + 6:.1f}' y='{y + 13}' class='rp-chart-value'>"
            f"{format_duration(seconds)}</text>"
        )
    title = f"{label}: time per phase; RTO is fetch + provision + restore + verify"
    if steps:
        title += "; the indented bars are steps inside the phase above them"
    width_px = bar_x + bar_width + 88
    return (f"<svg class='rp-chart' xmlns='http://www.w3.org/2000/svg' role='img' width='{width_px}' "
            f"height='{height}' viewBox='0 0 {width_px} {height}'><title>{escape(title)}</title>{''.join(parts)}</svg>")


def check_detail_html(outcome: StoreOutcome, result: CheckResult | None) -> str:
    """The expandable detail of one check's row: verdict, observed vs expected, diff or chart, SOC 2 criteria."""
    if result is None:
        error = outcome.error or {"phase": "-", "message": "the check was not judged"}
        return (f"<div class='rp-check rp-failed'><p class='rp-message'>Not judged: the store failed in "
                f"{escape(error['phase'])}: {escape(error['message'])}</p></div>")
    if not result.compared:
        return _not_compared_html(outcome, result)
    css = "rp-passed" if result.passed else "rp-failed"
    mark = "✓" if result.passed else "✗"
    parts = [
        f"<div class='rp-check {css}'>",
        f"<p class='rp-dim'>{escape(outcome.store.name)}: {escape(result.check)} of {escape(result.subject)}</p>",
        f"<p class='rp-message'>{mark} {escape(result.message)}</p>",
        "<table class='rp-values'>",
        f"<tr><th>Observed (restored)</th><td>{_full_value(result.check, result.observed, passed=result.passed)}"
        "</td></tr>",
        f"<tr><th>Expected</th><td>{_full_value(result.check, result.expected, passed=result.passed)}</td></tr>",
        "</table>",
    ]
    if result.check == "schema" and isinstance(result.observed, list):
        parts.append(schema_diff_html([str(line) for line in result.observed]))
    if result.check == "rto":
        parts.append(rto_chart_html(outcome.as_evidence()["rto"], label=outcome.store.name))
    criteria = ", ".join(soc2.criteria_for(result.check))
    parts.append(f"<p class='rp-soc2'>SOC 2 {escape(criteria)}: {escape(soc2.describe(result.check))}.</p></div>")
    return "".join(parts)


def _not_compared_html(outcome: StoreOutcome, result: CheckResult) -> str:
    """A check that compared nothing: what was recorded and why, no verdict mark and no SOC 2 claim."""
    return (f"<div class='rp-check rp-not-compared'>"
            f"<p class='rp-dim'>{escape(outcome.store.name)}: {escape(result.check)} of {escape(result.subject)}</p>"
            f"<p class='rp-message'><span class='rp-badge rp-not-compared'>NOT COMPARED</span> "
            f"{escape(result.message)}</p><table class='rp-values'>"
            f"<tr><th>Recorded</th><td>{_full_value(result.check, result.observed, passed=True)}</td></tr>"
            "<tr><th>Expected</th><td><span class='rp-dim'>nothing to compare with</span></td></tr></table>"
            f"<p class='rp-soc2'>SOC 2: {escape(soc2.describe(result.check, compared=False))}.</p></div>")


def schema_diff_html(lines: Sequence[str]) -> str:
    """Schema differences as a diff: + only in the restored database, - only in the reference, ~ changed."""
    rows = []
    for line in lines:
        changed = _CHANGED.match(line)
        if changed:
            rows.append(f"<li class='rp-diff-chg'>~ {escape(changed['where'])} changed"
                        f"<div class='rp-diff-del'>- was: <code>{escape(changed['was'])}</code></div>"
                        f"<div class='rp-diff-add'>+ now: <code>{escape(changed['now'])}</code></div></li>")
        elif line.endswith(" added"):
            rows.append(f"<li class='rp-diff-add'>+ {escape(line)}</li>")
        elif line.endswith(" dropped"):
            rows.append(f"<li class='rp-diff-del'>- {escape(line)}</li>")
        else:
            rows.append(f"<li>{escape(line)}</li>")
    return ("<div class='rp-diff'><p class='rp-dim'>Schema differences (+ only in the restored database, - only "
            f"in the reference (the backup's manifest, or the live database), ~ changed):</p><ul>{''.join(rows)}"
            "</ul></div>")


def _full_value(check: str, value: Any, *, passed: bool) -> str:
    if _are_differences(check, value, passed=passed):
        return _differences(value)
    if check in _DURATION_CHECKS and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{format_duration(float(value))} <span class='rp-dim'>({value} s)</span>"
    if value is None:
        return "<span class='rp-dim'>nothing (missing)</span>"
    return f"<code>{escape(plain_value(value))}</code>"


def short_value(check: str, value: Any, *, passed: bool) -> str:
    """A results-table cell: the value, shortened (the row's detail has it in full)."""
    if _are_differences(check, value, passed=passed):
        return _differences(value)
    if check in _DURATION_CHECKS and isinstance(value, int | float) and not isinstance(value, bool):
        return format_duration(float(value))
    text = "-" if value is None else plain_value(value)
    return escape(text if len(text) <= _SHORT else text[: _SHORT - 1] + "…")


def plain_value(value: Any) -> str:
    """A value as text: counts by name as `keys 13, with_ttl 0` (a range as `9..13`), a list of names as
    `db0, db1`, key ranges as `1493..1515, ..5`."""
    if isinstance(value, Mapping) and set(value) == {"min", "max"}:
        return f"{value['min']}..{value['max']}"
    if isinstance(value, Mapping):
        return ", ".join(f"{name} {plain_value(v)}" for name, v in value.items())
    if isinstance(value, list) and value and all(isinstance(v, list) and len(v) == 2 for v in value):
        # key ranges, [first, last] each (None: open-ended), as `id 1493..1515` reads
        return ", ".join(f"{'' if first is None else first}..{'' if last is None else last}" for first, last in value)
    if isinstance(value, list):  # places (copies' region and account) each in parentheses, to tell them apart
        return ", ".join(f"({plain_value(v)})" if isinstance(v, Mapping) else plain_value(v)
                         for v in value) if value else "none"
    return str(value)


def _are_differences(check: str, value: Any, *, passed: bool) -> bool:
    """Only a failed check's list of differences is one: elsewhere a list names things (logical dbs,
    collections), and a passing check has no differences to count."""
    return not passed and check in _DIFFERENCE_CHECKS and isinstance(value, list)


def _differences(value: list[Any]) -> str:
    return f"{len(value)} difference{'s' if len(value) != 1 else ''}"
