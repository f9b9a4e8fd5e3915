"""The configuration an earlier month recorded for a store: the newest sealed run filed under a month before this
run's that has a `configuration` block for it, read from a reports root (with the readers `evidence freshness` and
`evidence trend` use, verifiers/evidence/freshness.py) or from the ARCHIVE CI jobs upload to (a folder, s3:// or
git:, verifiers/evidence/archives.py): of a folder or S3 archive only the listing and the evidence.json and
SHA256SUMS of the runs read are fetched; a git archive's branch tip is cloned (git fetches it whole anyway)."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from verifiers.compliance import configuration_facts
from verifiers.compliance.configuration import Earlier
from verifiers.evidence import chain
from verifiers.evidence.archive import SelectiveArchive
from verifiers.evidence.archives import mirrored, open_archive
from verifiers.evidence.freshness import RUNS_DIR, run_directories, sealed_evidence
from verifiers.inventory import Inventory

# a run's two files that prove its evidence.json sealed, as an archive lists them
_RUN_FILE = re.compile(rf"^((?:{RUNS_DIR}/)?\d{{4}}-(?:0[1-9]|1[0-2])/[^/]+)/({re.escape(chain.EVIDENCE)}|"
                       rf"{re.escape(chain.SUMS)})$")
Loader = Callable[[], dict[str, Any] | None]


def recorded_before(inventory: Inventory, started: datetime, *, history: str | None, reports_dir: Path
                    ) -> dict[str, Earlier]:
    """The earlier records a run of `inventory` started at `started` compares with: of the stores a policy covers,
    from `history` (--history: a folder or an archive URL) else from the reports directory. EvidenceError when
    the history named cannot be read."""
    names = [s.name for s in inventory.stores if configuration_facts.policy_of(s, inventory.policy) is not None]
    if not names:
        return {}
    if history is not None:
        return archived_configurations(history, started, stores=names)
    return earlier_configurations(reports_dir, started, stores=names)


def earlier_configurations(root: Path, before: datetime, *, stores: Collection[str] | None = None
                           ) -> dict[str, Earlier]:
    """By store name, the newest configuration recorded in a month before `before`'s month (UTC); a root that
    does not exist yet (the first run) has none. With `stores`, reading stops once each of them is found (a
    years-long archive is not read to its start every run)."""
    if not root.is_dir():
        return {}
    runs = ((rel, partial(sealed_evidence, directory)) for rel, directory in run_directories(root))
    return _newest(runs, before, stores)


def archived_configurations(url: str, before: datetime, *, stores: Collection[str] | None = None,
                            endpoint_url: str | None = None) -> dict[str, Earlier]:
    """As earlier_configurations, from the ARCHIVE `url` (--history: a folder — a reports directory or a folder
    archive —, s3://BUCKET[/PREFIX] with its endpoint from `endpoint_url` else AWS_ENDPOINT_URL, git:BRANCH or
    git+REMOTE#BRANCH); an archive not created yet (the first month: a folder whose parent exists, an empty
    prefix, a branch not pushed yet) has none. EvidenceError, naming the archive and the fix, when it cannot be
    read (no such folder nor parent, a bucket that does not exist or refuses the credentials, a remote that cannot
    be fetched): never an empty history in its place."""
    archive = open_archive(url, endpoint_url=endpoint_url)
    if not isinstance(archive, SelectiveArchive):
        with mirrored(archive) as copy:
            return earlier_configurations(copy, before, stores=stores)
    month = f"{before.astimezone(UTC):%Y-%m}"
    wanted: dict[str, list[str]] = {}
    for path in archive.paths():
        if (found := _RUN_FILE.match(path)) and _month_of(found[1]) < month:
            wanted.setdefault(found[1], []).append(path)
    with tempfile.TemporaryDirectory(prefix="restoreproof-history-") as work:
        def load(rel: str) -> dict[str, Any] | None:
            archive.fetch(wanted[rel], Path(work))
            return sealed_evidence(Path(work) / rel)

        newest_first = sorted(wanted, key=lambda rel: rel.rpartition("/")[2], reverse=True)
        return _newest(((rel, partial(load, rel)) for rel in newest_first), before, stores)


def _newest(runs: Iterable[tuple[str, Loader]], before: datetime, stores: Collection[str] | None
            ) -> dict[str, Earlier]:
    """Over runs newest first (path relative to the root, and how to read its sealed evidence)."""
    month = f"{before.astimezone(UTC):%Y-%m}"
    found: dict[str, Earlier] = {}
    for rel, load in runs:
        if stores is not None and set(stores) <= set(found):
            break
        run_month = _month_of(rel)
        if run_month >= month:
            continue
        evidence = load()
        if evidence is None:
            continue
        run_id = str((evidence.get("run") or {}).get("id") or rel.rpartition("/")[2])
        for store in evidence.get("stores") or []:
            block = _block(store)
            if block is not None and store["name"] not in found:
                found[store["name"]] = Earlier(run=run_id, month=run_month, facts=block["facts"])
    return found


def _month_of(rel: str) -> str:
    return rel.removeprefix(f"{RUNS_DIR}/").partition("/")[0]


def _block(store: Any) -> Mapping[str, Any] | None:
    if not isinstance(store, Mapping) or not isinstance(store.get("name"), str):
        return None
    block = store.get("configuration")
    return block if isinstance(block, Mapping) and isinstance(block.get("facts"), Mapping) else None
