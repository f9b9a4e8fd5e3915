"""What an RDB file is, read from its first bytes without loading it.

The header is a 9-byte magic: `REDIS` and a 4-digit version (`REDIS0011`), or since Valkey 9 `VALKEY` and a
3-digit version (`VALKEY080`). Auxiliary fields may follow (opcode 0xFA, then two strings), among them
`redis-ver` / `valkey-ver`, the release that wrote the file: for messages, and to restore the file on the release
that wrote it where one is installed (verifiers/stores/redis/installations.py). Redis and Valkey 7.2 write
`redis-ver`, Valkey 8 `valkey-ver` (still under the REDIS magic), Valkey 9 `valkey-ver` under its own.
A string is a length (6, 14, 32 or 64 bits by its top two bits) and bytes, or an integer encoded in 1, 2 or 4
bytes; see src/rdb.c rdbLoadLen / rdbGenericLoadStringObject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from verifiers.errors import ArtifactFormatError
from verifiers.filetypes import identify
from verifiers.stores.redis.installations import RedisRelease

_MAGIC = re.compile(rb"^(?:REDIS(\d{4})|VALKEY(\d{3}))$")
OPCODE_AUX = 0xFA
HINT = ("point the store's source at an RDB file (BGSAVE's dump.rdb, an ElastiCache export, or "
        "`restoreproof capture redis`)")


@dataclass(frozen=True)
class RdbHeader:
    magic: str  # "REDIS" | "VALKEY"
    version: int
    written_by: str | None  # e.g. "7.0.15", from the redis-ver / valkey-ver aux field
    written_by_field: str | None = None  # which of the two

    @property
    def writer(self) -> RedisRelease | None:
        """The release that wrote the file: a Valkey when its field is valkey-ver or its magic VALKEY, and when a
        redis-ver of 8 or later comes with a format no Redis 8 writes (11 or older); else a Redis. A redis-ver 7.2
        may as well be Valkey 7.2, which is Redis 7.2.4 renamed (the same release to RedisRelease)."""
        if self.written_by is None:
            return None
        release = RedisRelease("redis", self.written_by).release
        valkey = (self.written_by_field == "valkey-ver" or self.magic == "VALKEY"
                  or (release is not None and release[0] >= 8 and self.version <= 11))
        return RedisRelease("valkey" if valkey else "redis", self.written_by)

    @property
    def describe(self) -> str:
        by = f", written by {self.written_by}" if self.written_by else ""
        return f"RDB version {self.version} ({self.magic}{self.version:0{4 if self.magic == 'REDIS' else 3}d}{by})"


def read_header(path: Path) -> RdbHeader:
    try:
        with path.open("rb") as fh:
            return parse_header(fh, str(path))
    except OSError as exc:
        raise ArtifactFormatError(f"{path}: cannot read: {exc.strerror}", hint="check the file is readable") from None


def parse_header(fh: IO[bytes], artifact: str) -> RdbHeader:
    magic = fh.read(9)
    if 0 < len(magic) < 9 and any(m.startswith(magic[: len(m)]) for m in (b"REDIS", b"VALKEY")):
        raise ArtifactFormatError(f"{artifact}: the RDB header is truncated (the file ends inside it)",
                                  hint="the backup is incomplete; take a new one")
    match = _MAGIC.match(magic)
    if not match:
        what = identify(magic + fh.read(1024)) if magic else None
        shown = "empty file" if not magic else f"no REDIS/VALKEY signature{'; it is ' + what if what else ''}"
        raise ArtifactFormatError(f"{artifact}: not an RDB file ({shown})", hint=HINT)
    kind = "REDIS" if match.group(1) else "VALKEY"
    field, written_by = _written_by(fh)
    return RdbHeader(magic=kind, version=int(match.group(1) or match.group(2)), written_by=written_by,
                     written_by_field=field)


def _written_by(fh: IO[bytes]) -> tuple[str | None, str | None]:
    """The aux field naming the writer's release and the release, from the leading aux fields; (None, None) when
    absent or unreadable."""
    for _ in range(32):
        opcode = fh.read(1)
        if opcode != bytes([OPCODE_AUX]):
            return None, None
        key, value = _string(fh), _string(fh)
        if key is None or value is None:
            return None, None
        if key in (b"redis-ver", b"valkey-ver"):
            return key.decode("ascii"), value.decode("ascii", errors="replace")
    return None, None


def _string(fh: IO[bytes]) -> bytes | None:
    first = fh.read(1)
    if not first:
        return None
    kind, low = first[0] >> 6, first[0] & 0x3F
    if kind == 3:  # an integer encoded as a string
        size = {0: 1, 1: 2, 2: 4}.get(low)
        raw = fh.read(size) if size else b""
        return str(int.from_bytes(raw, "little", signed=True)).encode() if size and len(raw) == size else None
    if kind == 0:
        length = low
    elif kind == 1:
        more = fh.read(1)
        length = (low << 8) | more[0] if more else -1
    else:
        size = {0x80: 4, 0x81: 8}.get(first[0])
        raw = fh.read(size) if size else b""
        length = int.from_bytes(raw, "big") if size and len(raw) == size else -1
    if not 0 <= length <= 1 << 16:
        return None
    data = fh.read(length)
    return data if len(data) == length else None
