"""The configuration an earlier month recorded for a store: the newest sealed run filed under a month before this
run's that has a `configuration` block for it, read from a reports root or a local copy of the archive with the
readers `evidence freshness` and `evidence trend` use (verifiers/evidence/freshness.py)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verifiers.compliance.configuration import Earlier
from verifiers.evidence.freshness import run_directories, sealed_evidence


def earlier_configurations(root: Path, before: datetime, *, stores: Collection[str] | None = None
                           ) -> dict[str, Earlier]:
    """By store name, the newest configuration recorded in a month before `before`'s month (UTC); a root that
    does not exist yet (the first run) has none. With `stores`, reading stops once each of them is found (a
    years-long archive is not read to its start every run)."""
    if not root.is_dir():
        return {}
    month = f"{before.astimezone(UTC):%Y-%m}"
    found: dict[str, Earlier] = {}
    for rel, directory in run_directories(root):  # newest first
        if stores is not None and set(stores) <= set(found):
            break
        run_month = rel.removeprefix("runs/").partition("/")[0]
        if run_month >= month:
            continue
        evidence = sealed_evidence(directory)
        if evidence is None:
            continue
        run_id = str((evidence.get("run") or {}).get("id") or directory.name)
        for store in evidence.get("stores") or []:
            block = _block(store)
            if block is not None and store["name"] not in found:
                found[store["name"]] = Earlier(run=run_id, month=run_month, facts=block["facts"])
    return found


def _block(store: Any) -> Mapping[str, Any] | None:
    if not isinstance(store, Mapping) or not isinstance(store.get("name"), str):
        return None
    block = store.get("configuration")
    return block if isinstance(block, Mapping) and isinstance(block.get("facts"), Mapping) else None
