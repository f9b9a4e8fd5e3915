"""Reading a store's manifest: one set of rules and messages for every kind.

A manifest that is missing, not JSON, of another kind, of an unknown schema_version, invalid, or measured with
another checksum definition is refused with a ManifestError naming the store, the file and the fix: a
manifest written by another version must not be half-understood.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from verifiers.errors import ManifestError

MANIFEST_SUFFIX = ".manifest.json"  # NAME.manifest.json beside the artifact NAME.<ext> it describes

M = TypeVar("M", bound=BaseModel)


def read_manifest(path: Path, model: type[M], *, store: str, kind: str, capture_hint: str,
                  schema_version: int = 1, algorithm: tuple[str, str | tuple[str, ...]] | None = None) -> M:
    """The manifest at `path` as `model`. `kind` is the manifest's own `kind` (a manifest without one is taken
    as that kind and judged by the model); `algorithm` is (field, value) the manifest must carry, e.g.
    ("checksum_algorithm", CHECKSUM_ALGORITHM), or (field, values) when older definitions are still read (the
    first is the current one)."""
    where = f"store {store}: manifest {path}"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{where} does not exist", hint=f"{capture_hint}, or set stores.source.manifest") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{where} is not readable JSON: {exc}", hint=capture_hint) from None
    if not isinstance(raw, dict):
        raise ManifestError(f"{where} is not a JSON object, so not a {kind} manifest", hint=capture_hint)
    found = raw.get("kind", kind)
    if found != kind:
        raise ManifestError(f"{where} is of kind {found!r}, not a {kind} manifest",
                            hint=f"point stores.source.manifest at the manifest of this backup ({capture_hint})")
    version = raw.get("schema_version")
    if version != schema_version:
        raise ManifestError(f"{where} has schema_version {version!r}; this restoreproof reads {schema_version}",
                            hint="upgrade restoreproof, or re-capture the backup with this version")
    try:
        manifest = model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        at = ".".join(str(p) for p in first["loc"])
        raise ManifestError(f"{where} is invalid at {at}: {first['msg']}", hint=capture_hint) from None
    if algorithm is not None:
        field, accepted = algorithm
        readable = (accepted,) if isinstance(accepted, str) else accepted
        used = getattr(manifest, field)
        if used not in readable:
            raise ManifestError(f"{where} uses {field.replace('_', ' ')} {used!r}, this restoreproof computes "
                                f"{readable[0]!r}", hint="re-capture the backup with this version")
    return manifest
