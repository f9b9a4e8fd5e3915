"""A manifest is read only if this version computes its checksum the same way: the current definition, or an
older one it still reads (PostgreSQL v2, whose tables name their method); anything else is refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from verifiers.errors import ManifestError
from verifiers.manifests import read_manifest
from verifiers.stores.postgres.manifest import CHECKSUM_ALGORITHM, READS_ALGORITHMS


class Tiny(BaseModel):
    schema_version: int
    kind: str
    checksum_algorithm: str


def write(tmp_path: Path, algorithm: str) -> Path:
    path = tmp_path / "m.manifest.json"
    path.write_text(json.dumps({"schema_version": 1, "kind": "postgres", "checksum_algorithm": algorithm}))
    return path


@pytest.mark.parametrize("algorithm", READS_ALGORITHMS)
def test_current_and_older_readable_definitions_are_read(tmp_path: Path, algorithm: str) -> None:
    manifest = read_manifest(write(tmp_path, algorithm), Tiny, store="app", kind="postgres", capture_hint="capture",
                             algorithm=("checksum_algorithm", READS_ALGORITHMS))
    assert manifest.checksum_algorithm == algorithm


def test_an_unknown_definition_is_refused_naming_the_current_one(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        read_manifest(write(tmp_path, "sum64(md5) v1"), Tiny, store="app", kind="postgres", capture_hint="capture",
                      algorithm=("checksum_algorithm", READS_ALGORITHMS))
    assert "'sum64(md5) v1'" in info.value.message and CHECKSUM_ALGORITHM in info.value.message
    assert READS_ALGORITHMS[0] == CHECKSUM_ALGORITHM and "v3" in CHECKSUM_ALGORITHM
