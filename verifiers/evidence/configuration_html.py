"""report.html's backup-configuration table: per store whose configuration was read (evidence.json's
`configuration` block), each fact, why a fact is not known, and the change since an earlier month's record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from verifiers.compliance.configuration import FACT_LABELS, UNKNOWN, describe_changes, shown_fact


def configuration_html(blocks: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """(store name, configuration block) pairs as one table; empty when no store's configuration was read."""
    if not blocks:
        return ""
    rows = "".join(_row(name, block) for name, block in blocks)
    head = "".join(f"<th>{h}</th>" for h in ("Store", "Backup configuration", "Change since an earlier month"))
    return (f"<table id='restoreproof-configuration' class='rp-table' aria-label='backup configuration'>"
            f"<caption>Backup configuration, read from the provider</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _row(name: str, block: Mapping[str, Any]) -> str:
    facts = "".join(_fact(fact, value, block) for fact, value in block["facts"].items())
    previous = block.get("previous")
    change = escape(describe_changes(previous))
    if previous is not None and previous.get("changes"):
        change = f"<strong>{change}</strong>"
    return (f"<tr><td>{escape(name)}<div class='rp-dim'>{escape(str(block['source']))} source</div></td>"
            f"<td><dl class='rp-provenance'>{facts}</dl></td><td>{change}</td></tr>")


def _fact(fact: str, value: Any, block: Mapping[str, Any]) -> str:
    label = FACT_LABELS.get(fact, (fact.replace("_", " "), ""))[0]
    why = block.get("unknown", {}).get(fact)
    if why is not None:
        text = f"{UNKNOWN}<div class='rp-dim'>{escape(why)}</div>"
    else:
        note = block.get("notes", {}).get(fact)
        text = escape(shown_fact(fact, value)) + (f"<div class='rp-dim'>{escape(note)}</div>" if note else "")
    return f"<dt>{escape(label)}</dt><dd>{text}</dd>"
