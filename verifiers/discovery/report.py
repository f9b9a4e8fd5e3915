"""`restoreproof inventory discover`'s output: a table per group (covered, uncovered, ignored, unknown, declared,
SOP record incomplete) for people, and the comparison as stable JSON for tools."""

from __future__ import annotations

from collections.abc import Sequence

from verifiers.discovery.coverage import Coverage

NOT_RECORDED = "not recorded"
FOUND_NOTHING = "discovery found no production store; check [discovery] regions/names/tags"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in [header, *rows]]


def verdict(coverage: Coverage) -> str:
    if coverage.found_nothing:
        return f"inventory NOT COMPARED: {FOUND_NOTHING}"
    if coverage.complete:
        return f"inventory complete: {_counted(coverage)}"
    gaps = [f"{n} {what}" for what, n in (("uncovered", len(coverage.uncovered)), ("unknown", len(coverage.unknown)))
            if n]
    return f"inventory INCOMPLETE: {', '.join(gaps)} ({_counted(coverage)})"


def _counted(coverage: Coverage) -> str:
    counts = coverage.counts()
    return (f"{counts['discovered']} production stores found, {counts['covered']} covered, {counts['ignored']} "
            f"ignored; {counts['declared']} declared")


def human_report(coverage: Coverage) -> list[str]:
    lines: list[str] = []
    if coverage.covered:
        lines += [f"Covered ({len(coverage.covered)}):"]
        lines += table(("resource", "region", "store"), [(c.resource.ref, c.resource.region or "-",
                                                         ", ".join(c.stores)) for c in coverage.covered])
    if coverage.uncovered:
        lines += [f"Uncovered ({len(coverage.uncovered)}): store not in inventory — add a store that verifies it "
                  "(or `covers` it), or an [[discovery.ignore]] entry with the reason"]
        lines += table(("resource", "region", "id"), [(r.ref, r.region or "-", r.id) for r in coverage.uncovered])
    if coverage.ignored:
        lines += [f"Ignored ({len(coverage.ignored)}):"]
        lines += table(("resource", "region", "reason"), [(i.resource.ref, i.resource.region or "-", i.reason)
                                                          for i in coverage.ignored])
    folded = [r for r in [*(c.resource for c in coverage.covered), *coverage.uncovered,
                          *(i.resource for i in coverage.ignored)] if r.replicas]
    if folded:
        lines += ["Read replicas folded into their source (compared with it):"]
        lines += [f"  {replica} -> {r.ref} ({r.region or '-'})" for r in folded for replica in r.replicas]
    if coverage.unknown:
        lines += [f"Unknown ({len(coverage.unknown)}): not listed, so not known to be empty"]
        lines += [f"  {u.describe()}" for u in coverage.unknown]
    if coverage.declared:
        lines += [f"Declared ({len(coverage.declared)}): listed, never restored"]
        lines += table(("store", "type", "backup method", "last verified", "owner"), [
            (d.name, d.type, d.backup_method, d.last_verified.isoformat(), d.owner or NOT_RECORDED)
            for d in coverage.declared])
    if coverage.missing_sop:
        lines += [f"SOP record incomplete ({len(coverage.missing_sop)}):"]
        lines += [f"  {m.store}{' (declared)' if m.declared else ''}: {', '.join(m.fields)} {NOT_RECORDED}"
                  for m in coverage.missing_sop]
    return [*lines, verdict(coverage)]
