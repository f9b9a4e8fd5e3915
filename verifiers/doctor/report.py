"""`restoreproof doctor`'s text: one line per finding, `ok` / `warn` / `FAIL` first, the fix indented below a
finding that is not ok, and a last line with the verdict (the JSON output carries the same facts)."""

from __future__ import annotations

from verifiers.diagnosis import Finding, Status
from verifiers.doctor.results import Diagnosis

MARK: dict[Status, str] = {"ok": "ok", "warn": "warn", "fail": "FAIL"}


def _line(indent: str, finding: Finding) -> list[str]:
    lines = [f"{indent}{MARK[finding.status]:<5}{finding.subject}: {finding.detail}"]
    if finding.hint and finding.status != "ok":
        lines.append(f"{indent}     fix: {finding.hint}")
    return lines


def render_text(diagnosis: Diagnosis) -> str:
    lines = [f"restoreproof doctor{' --probe' if diagnosis.probe else ''}: what this machine can verify", "",
             "Store kinds"]
    for kind in diagnosis.kinds:
        extra = f", extra [{kind.extra}]" if kind.extra else ""
        lines.append(f"  {MARK[kind.status]:<5}{kind.kind}{extra}")
        for finding in kind.findings():
            lines += _line("         ", finding)
    lines += ["", "Sandboxes"]
    for finding in diagnosis.sandboxes:
        lines += _line("  ", finding)
    lines.append("")
    if diagnosis.inventory is None:
        lines.append("Inventory: none (no --inventory, no inventory.toml here): no store checked")
    elif not diagnosis.stores:
        lines.append(f"Inventory {diagnosis.inventory}: lists no store yet: uncomment one of its [[stores]] "
                     "examples, then `restoreproof inventory`")
    else:
        lines.append(f"Inventory {diagnosis.inventory}: {len(diagnosis.stores)} stores")
        for store in diagnosis.stores:
            lines.append(f"  {MARK[store.status]:<5}{store.name} ({store.kind}, suite {store.suite})")
            for finding in store.findings:
                lines += _line("         ", finding)
    if diagnosis.discovery:
        lines += ["", "Discovery"]
        for finding in diagnosis.discovery:
            lines += _line("  ", finding)
    lines += ["", "Evidence"]
    for finding in (*diagnosis.archive, diagnosis.signing_key):
        lines += _line("  ", finding)
    lines += ["", _verdict(diagnosis)]
    return "\n".join(lines)


def _verdict(diagnosis: Diagnosis) -> str:
    failed = diagnosis.cannot_verify
    evidence = [f.subject for f in (*diagnosis.archive, diagnosis.signing_key) if f.status == "fail"]
    parts = []
    if failed:
        parts.append(f"{len(failed)} of {len(diagnosis.stores)} stores cannot be verified here: {', '.join(failed)}")
    if evidence:
        parts.append(f"the configured {' and '.join(dict.fromkeys(evidence))} cannot be used")
    if diagnosis.discovery_fails:
        parts.append("discovery cannot list every configured service, or found nothing (every run's coverage check "
                     "would fail or compare nothing)")
    if parts:
        return "FAIL: " + "; ".join(parts)
    if diagnosis.inventory is None or not diagnosis.stores:
        return "ok: no store in an inventory to check"
    return f"ok: every store ({len(diagnosis.stores)}) can be verified here"
