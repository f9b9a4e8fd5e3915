"""What a file that is not the expected backup format actually is, from its first bytes: so that "not an RDB
file" can say "it is a PNG image" or "it is compressed twice", and the user knows which file got mixed up.

A short table of magic numbers rather than python-magic/libmagic: a C library dependency for a dozen
signatures that only ever improve an error message."""

from __future__ import annotations

import zlib

_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF8", "a GIF image"),
    (0, b"%PDF-", "a PDF document"),
    (0, b"PK\x03\x04", "a ZIP archive"),
    (0, b"BZh", "bzip2-compressed data"),
    (0, b"\xfd7zXZ\x00", "xz-compressed data"),
    (0, b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (0, b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (0, b"SQLite format 3\x00", "an SQLite database"),
    (0, b"PGDMP", "a pg_dump archive"),
    (0, b"REDIS", "a Redis RDB file"),
    (0, b"VALKEY", "a Valkey RDB file"),
    (0, b"\x7fELF", "an executable (ELF)"),
    (257, b"ustar", "a tar archive"),
)
GZIP_MAGIC = b"\x1f\x8b"


def identify(head: bytes) -> str | None:
    """`a PNG image`, `gzip-compressed twice`, … for the first bytes of a file; None when unknown."""
    if head.startswith(GZIP_MAGIC):
        inner = _gunzip_head(head)
        if inner is None:
            return "gzip-compressed data (unreadable)"
        if inner.startswith(GZIP_MAGIC):
            return "gzip-compressed twice"
        what = identify(inner)
        return f"gzip-compressed {what.removeprefix('a ').removeprefix('an ')}" if what else "gzip-compressed data"
    for offset, magic, name in _SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return name
    return None


def _gunzip_head(head: bytes) -> bytes | None:
    """The first bytes of a gzip stream's content (works on a prefix of the file)."""
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 512)
    except zlib.error:
        return None
