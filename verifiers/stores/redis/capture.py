"""Capture at backup time: obtain one consistent RDB, then measure THAT file to write its manifest.

A live Redis cannot be scanned atomically while writes continue (SCAN sees keys before and after each
write; MULTI cannot hold a scan loop), so the manifest is never read from the live server. The only
consistent view is the forked snapshot an RDB is: BGSAVE (wait until `rdb_bgsave_in_progress:0` and the
save counter moved, then copy the dump named by CONFIG GET dir/dbfilename, when the server is on this
host), or `redis-cli --rdb` (a replica-style transfer of a fresh snapshot) when it is not. The RDB is then
loaded into a local sandbox and measured there with the same code a restore uses: RDB and manifest
describe the same bytes by construction, and the live server only forks. An RDB that already exists (an
ElastiCache export) takes the same path with --from-rdb.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from verifiers import __version__
from verifiers.errors import ArtifactFormatError, CaptureError
from verifiers.sources import sha256_file
from verifiers.stores.redis.installations import choose_installation, find_installations
from verifiers.stores.redis.local_server import RdbLoadError, local_redis
from verifiers.stores.redis.manifest import RdbArtifact, RedisManifest, save_manifest
from verifiers.stores.redis.measure import measure_dataset
from verifiers.stores.redis.rdb import RdbHeader, read_header
from verifiers.stores.redis.snapshot import VIA, fetch_rdb, redact_url

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def capture_redis(url: str | None, out_dir: Path, *, name: str | None = None, from_rdb: Path | None = None,
                  via: str = "auto", bin_dir: str | None = None, user: str | None = None,
                  now: datetime | None = None, timeout: float = 3600.0) -> tuple[Path, Path]:
    """Write NAME-<stamp>.rdb and NAME-<stamp>.manifest.json into `out_dir`; return both paths."""
    if name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise CaptureError(f"capture redis: --name {name!r} is not a plain file name",
                           hint="use letters, digits, '.', '_' and '-'")
    if (url is None) == (from_rdb is None):
        raise CaptureError("capture redis: give either --url or --from-rdb")
    if via not in VIA:
        raise CaptureError(f"capture redis: --via {via!r} is not one of {', '.join(VIA)}")
    captured_at = now or datetime.now(UTC)
    stem = f"{name or 'redis'}-{captured_at.strftime(STAMP_FORMAT)}"
    out_dir.mkdir(parents=True, exist_ok=True)
    rdb_path, manifest_path = out_dir / f"{stem}.rdb", out_dir / f"{stem}.manifest.json"
    if rdb_path.exists() or manifest_path.exists():
        raise CaptureError(f"capture redis: {rdb_path} already exists; refusing to overwrite a backup")
    partial = rdb_path.with_name(f".{rdb_path.name}.partial")
    try:
        if from_rdb is not None:
            source = from_rdb.name
            _copy_file(from_rdb, partial)
        else:
            assert url is not None
            source = redact_url(url)
            fetch_rdb(url, partial, via=via, since=captured_at, timeout=timeout)
        manifest = _measure(partial, rdb_path.name, source=source, captured_at=captured_at, bin_dir=bin_dir,
                            user=user)
        os.replace(partial, rdb_path)
        save_manifest(manifest, manifest_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        rdb_path.unlink(missing_ok=True)
        raise
    return rdb_path, manifest_path


def _measure(rdb: Path, final_name: str, *, source: str, captured_at: datetime, bin_dir: str | None,
             user: str | None) -> RedisManifest:
    header = _header(rdb, source)
    installation = choose_installation(find_installations(bin_dir, user), header.version, writer=header.writer)
    try:
        with local_redis(installation, rdb, user_name=user) as server:
            facts = measure_dataset(server.client)
    except RdbLoadError as exc:
        raise CaptureError(f"capture redis: the RDB from {source} does not load: {exc.describe()}",
                           hint="the snapshot is damaged; check the server's disk and take a new one") from None
    return RedisManifest(
        tool_version=__version__, captured_at=captured_at, source=source, measured_on=installation.label,
        artifact=RdbArtifact(name=final_name, sha256=sha256_file(rdb), bytes=rdb.stat().st_size,
                             rdb_version=header.version),
        facts=facts,
    )


def _header(rdb: Path, source: str) -> RdbHeader:
    try:
        return read_header(rdb)
    except ArtifactFormatError as exc:
        raise CaptureError(f"capture redis: what {source} gave is not a usable RDB: {exc.describe()}") from None


def _copy_file(source: Path, target: Path) -> None:
    try:
        shutil.copyfile(source, target)
    except OSError as exc:
        raise CaptureError(f"capture redis: cannot read {source}: {exc.strerror}",
                           hint="check the path and that this user can read it") from None


def run(args: argparse.Namespace) -> str:
    """`restoreproof capture redis`: write the dump and its manifest; say where."""
    dump, manifest = capture_redis(args.url, args.out, name=args.name, from_rdb=args.from_rdb, via=args.via,
                                   bin_dir=args.bin_dir)
    return f"backup:   {dump}\nmanifest: {manifest}"
