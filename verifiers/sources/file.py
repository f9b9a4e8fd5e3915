"""Backups on local disk: a path or a glob, the newest match wins."""

from __future__ import annotations

import glob
from datetime import UTC, datetime
from pathlib import Path

from verifiers import progress
from verifiers.errors import SourceError
from verifiers.manifests import MANIFEST_SUFFIX
from verifiers.sources import Artifact, Located, sha256_file, sha256_tree
from verifiers.store_settings import FileSource

_ARTIFACT_SUFFIXES = (".dump", ".sql.gz", ".sql", ".tar", ".backup", ".rdb", ".archive.gz", ".archive")


def newest_match(pattern: Path) -> Path | None:
    matches = [Path(m) for m in glob.glob(str(pattern)) if not m.endswith(MANIFEST_SUFFIX)]
    if not matches:
        return None
    # mtime first, then name: capture stamps sort lexically, so ties (e.g. after a git checkout) are stable
    return max(matches, key=lambda p: (p.stat().st_mtime, p.name))


def default_manifest_path(artifact: Path) -> Path:
    name = artifact.name
    for suffix in _ARTIFACT_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return artifact.with_name(name + MANIFEST_SUFFIX)


def _resolve(path: str, base_dir: Path) -> Path:
    return Path(path) if Path(path).is_absolute() else base_dir / path


class FileArtifacts:
    def locate(self, source: FileSource, *, base_dir: Path, store: str) -> Located:
        pattern = _resolve(source.path, base_dir)
        path = newest_match(pattern)
        if path is None:
            raise SourceError(
                f"store {store}: no backup matches {pattern}",
                hint="check stores.source.path in the inventory, or create the backup (e.g. `make demo`)",
            )
        if source.manifest:
            manifest = _resolve(source.manifest, base_dir)
            if not manifest.exists():
                raise SourceError(
                    f"store {store}: manifest {manifest} (stores.source.manifest) does not exist",
                    hint="fix the path, or remove the setting to use the one beside the backup",
                )
        else:
            manifest = default_manifest_path(path)
        return Located(
            location=str(path),
            path=path,
            manifest_path=manifest if manifest.exists() else None,
            modified=datetime.fromtimestamp(path.stat().st_mtime, tz=UTC),
        )

    def fetch(self, located: Located, *, store: str, work_dir: Path | None = None) -> Artifact:
        path = located.path
        try:
            if path.is_dir():
                size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
                digest = sha256_tree(path, progress.task("bytes", total=size).advance)
            else:
                size = path.stat().st_size
                digest = sha256_file(path, progress.task("bytes", total=size).advance)
        except OSError as exc:
            raise SourceError(f"store {store}: cannot read backup {path}: {exc.strerror}",
                              hint="check the file still exists and is readable") from None
        return Artifact(location=located.location, path=path, sha256=digest, bytes=size,
                        modified=located.modified, manifest_path=located.manifest_path)
