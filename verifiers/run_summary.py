"""A run as a Markdown table, one row per store: what a CI job summary ($GITHUB_STEP_SUMMARY) shows."""

from __future__ import annotations

from verifiers.durations import format_duration
from verifiers.run_record import LoadedRun, Measured, StoreRecord

STATUS_SHOWN = {"passed": "✅ passed", "failed": "❌ failed", "error": "⚠️ error"}
MAX_PROBLEMS = 8  # per store; the rest is counted, the report has them all


def markdown_summary(loaded: LoadedRun, *, report_url: str | None = None) -> str:
    run = loaded.record.run
    stores = loaded.record.stores
    verdict = STATUS_SHOWN.get(run.status, run.status or "unknown")
    passed = sum(s.status == "passed" for s in stores)
    lines = [f"### Restore verification: {verdict}", ""]
    where = f" · [report]({report_url})" if report_url else ""
    lines += [f"Run `{run.id}` · {passed} of {len(stores)} stores passed{where}", ""]
    if not stores:
        return "\n".join([*lines, "No store was verified.", *_run_check_lines(loaded)]) + "\n"
    lines += ["| Store | Status | RTO / target | RPO / target | Failed checks |", "|---|---|---|---|---|"]
    lines += [_row(store) for store in stores]
    return "\n".join([*lines, *_run_check_lines(loaded)]) + "\n"


def _run_check_lines(loaded: LoadedRun) -> list[str]:
    """The failed checks about the run as a whole (a store not in the inventory), after the table."""
    failed = loaded.record.failed_run_checks
    if not failed:
        return []
    shown = [f"- {_cell(c.detail or c.subject)}" for c in failed[:MAX_PROBLEMS]]
    if len(failed) > MAX_PROBLEMS:
        shown.append(f"- … and {len(failed) - MAX_PROBLEMS} more")
    return ["", f"Run checks failed ({len(failed)}):", "", *shown]


def _row(store: StoreRecord) -> str:
    problems = store.problems()
    shown = [_cell(p) for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        shown.append(f"… and {len(problems) - MAX_PROBLEMS} more")
    cells = [
        _cell(store.name),
        STATUS_SHOWN[store.status],
        _cell(_versus(store.rto)),
        _cell(_versus(store.rpo)),
        "<br>".join(shown) or "—",
    ]
    return "| " + " | ".join(cells) + " |"


def _versus(measured: Measured | None) -> str:
    if measured is None:
        return "—"
    seconds = "—" if measured.seconds is None else format_duration(measured.seconds)
    return f"{seconds} / {format_duration(measured.target_seconds)}"


def _cell(text: str) -> str:
    """Text that stays inside one table cell and renders as written (GitHub renders HTML in Markdown)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return " ".join(escaped.split())
