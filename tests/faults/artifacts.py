"""Damaged backups for the fault tests: each fault turns a good artifact (and its manifest) into a bad one.

A fault that changes the artifact also makes the manifest claim the changed file (its sha256 and size), unless
the manifest is what the fault is about: the harness must then find the damage by reading or restoring the
file, not only by its hash."""

from __future__ import annotations

import gzip
import json
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from verifiers.sources import sha256_file


def png_image() -> bytes:
    """A real 1x1 PNG: the wrong file under a backup's name."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0"))
            + chunk(b"IEND", b""))


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


def gunzipped(data: bytes) -> tuple[bytes, bool]:
    return (gzip.decompress(data), True) if data.startswith(b"\x1f\x8b") else (data, False)


def regzipped(text: bytes, was_gzipped: bool) -> bytes:
    return gzip.compress(text, mtime=0) if was_gzipped else text


def data_offset(kind: str, data: bytes) -> int:
    """A byte inside the table data (not a comment or the header) of a kind's artifact."""
    if kind == "mysql":
        return data.index(b"INSERT INTO") + 60  # inside the first row's values
    return len(data) // 2  # compressed/CRC-checked formats: any byte of the body is data


def newer_server(kind: str, data: bytes) -> bytes:
    """The artifact as if written by a server newer than any installed here."""
    if kind == "postgres":  # the pg_dump and server version strings in the archive header
        head = data[:400]
        for version in re.findall(rb"\x00(\d{2}\.\d+)", head)[:2]:
            data = data.replace(version, b"99" + version[2:], 1)
        return data
    if kind == "redis":
        return b"REDIS0099" + data[9:]
    text, was_gzipped = gunzipped(data)
    text = re.sub(rb"(-- Server version\s+)\d+\.\d+\.\d+", rb"\g<1>99.1.1", text, count=1)
    return regzipped(text, was_gzipped)


@dataclass(frozen=True)
class Fault:
    """One way a backup goes bad; `artifact` rewrites the file's bytes, `manifest` the manifest's JSON."""

    id: str
    artifact: Callable[[str, bytes], bytes] | None = None
    manifest: Callable[[dict[str, object]], object] | None = None


def _schema(version: object) -> Callable[[dict[str, object]], object]:
    return lambda m: {**m, "schema_version": version}


def _other_sha(m: dict[str, object]) -> object:
    artifact = dict(m["artifact"])  # type: ignore[call-overload]
    artifact["sha256"] = "0" * 64
    return {**m, "artifact": artifact}


FAULTS = (
    Fault("empty", artifact=lambda k, d: b""),
    Fault("truncated-in-header", artifact=lambda k, d: d[:7]),
    Fault("truncated-at-half", artifact=lambda k, d: d[: len(d) // 2]),
    Fault("truncated-near-end", artifact=lambda k, d: d[: len(d) * 97 // 100]),
    Fault("flipped-header-byte", artifact=lambda k, d: flip(d, 1)),
    Fault("flipped-data-byte", artifact=lambda k, d: flip(d, data_offset(k, gunzipped(d)[0]))
          if not d.startswith(b"\x1f\x8b") else flip(d, len(d) // 2)),
    Fault("png-under-the-backups-name", artifact=lambda k, d: png_image()),
    Fault("compressed-twice", artifact=lambda k, d: gzip.compress(gzip.compress(gunzipped(d)[0], mtime=0), mtime=0)),
    Fault("newer-server-than-any-here", artifact=newer_server),
    Fault("manifest-sha256-differs", manifest=_other_sha),
    Fault("manifest-schema-version-unknown", manifest=_schema(99)),
    Fault("manifest-schema-version-missing", manifest=lambda m: {k: v for k, v in m.items() if k != "schema_version"}),
    Fault("manifest-not-an-object", manifest=lambda m: [m]),
)


def damage(fault: Fault, kind: str, artifact: Path, manifest: Path) -> None:
    """Apply `fault` to the copies at `artifact` and `manifest` (in place)."""
    data = json.loads(manifest.read_text())
    if fault.artifact is not None:
        artifact.write_bytes(fault.artifact(kind, artifact.read_bytes()))
        data["artifact"].update(sha256=sha256_file(artifact), bytes=artifact.stat().st_size)
    manifest.write_text(json.dumps(fault.manifest(data) if fault.manifest else data))
