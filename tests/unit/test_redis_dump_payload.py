"""The RDB → DUMP payload cutter (verifiers/stores/redis/dump_payload.py) on RDB files built byte by byte from
the documented format; that its payloads equal a real server's DUMP for every demo key is checked against real
servers in tests/integration/test_external_sandbox_redis.py."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifiers.stores.redis.dump_payload import RdbFormatError, crc64, dump_payload, iter_payloads


def string(data: bytes) -> bytes:
    assert len(data) < 64
    return bytes([len(data)]) + data


def rdb_file(tmp_path: Path, body: bytes, *, version: int = 10, checksum: bool = True) -> Path:
    content = f"REDIS{version:04d}".encode() + b"\xfa" + string(b"redis-ver") + string(b"7.0.15") + body + b"\xff"
    content += crc64(content).to_bytes(8, "little") if checksum else bytes(8)
    path = tmp_path / "dump.rdb"
    path.write_bytes(content)
    return path


def test_crc64_is_redis_jones_crc() -> None:
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA  # the check value in redis' src/crc64.c
    assert crc64(b"56789", crc64(b"1234")) == crc64(b"123456789")
    assert crc64(b"") == 0


def crc64_bitwise(data: bytes, crc: int = 0) -> int:
    """CRC-64/REDIS one bit at a time from its definition (the Jones polynomial 0xad93d23594c935a9, reflected,
    init 0, no final xor), independent of the library computing crc64."""
    poly = int(f"{0xAD93D23594C935A9:064b}"[::-1], 2)
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc


@given(data=st.binary(max_size=100), start=st.integers(0, 2**64 - 1), split=st.integers(0, 100))
def test_crc64_equals_the_bitwise_reference_at_any_length_and_split(data: bytes, start: int, split: int) -> None:
    assert crc64(data, start) == crc64_bitwise(data, start)
    assert crc64(data[split:], crc64(data[:split], start)) == crc64_bitwise(data, start)
    assert crc64(memoryview(data)) == crc64_bitwise(data)


def test_payload_is_value_version_and_crc() -> None:
    payload = dump_payload(b"\x00\x03abc", 10)
    assert payload[:5] == b"\x00\x03abc"
    assert payload[5:7] == b"\x0a\x00"
    assert payload[7:] == crc64(payload[:7]).to_bytes(8, "little")


def test_keys_dbs_expiry_and_encodings(tmp_path: Path) -> None:
    expiry = 1_900_000_000_123
    body = (b"\xfe\x00\xfb\x02\x01"
            + b"\x00" + string(b"plain") + string(b"value")
            + b"\xfc" + struct.pack("<q", expiry) + b"\x00" + b"\xc0\x07" + b"\xc1\x39\x30"  # int keys 7, int value
            + b"\xfe\x03"
            + b"\x05" + string(b"z") + b"\x02" + string(b"a") + struct.pack("<d", 0.5) + string(b"b")
            + struct.pack("<d", float("inf"))
            + b"\x03" + string(b"oldz") + b"\x01" + string(b"m") + b"\xfe"  # zset v1: +inf as one byte
            + b"\x04" + string(b"h") + b"\x01" + string(b"f") + string(b"v")
            + b"\x12" + string(b"q") + b"\x01\x02" + string(b"listpack-bytes"))
    items = list(iter_payloads(rdb_file(tmp_path, body)))
    assert [(i.db, i.key, i.type_name, i.expires_ms) for i in items] == [
        (0, b"plain", "string", None), (0, b"7", "string", expiry), (3, b"z", "zset", None),
        (3, b"oldz", "zset", None), (3, b"h", "hash", None), (3, b"q", "list", None)]
    assert items[0].payload == dump_payload(b"\x00" + string(b"value"), 10)
    assert items[1].payload == dump_payload(b"\x00\xc1\x39\x30", 10)
    assert items[5].payload[:-10] == b"\x12\x01\x02" + string(b"listpack-bytes")


def test_a_stream_with_a_group_is_cut_whole(tmp_path: Path) -> None:
    stream = (b"\x01" + string(bytes(16)) + string(b"LP")  # one listpack node
              + b"\x01\x05\x00" + b"\x05\x00\x00\x00\x01"  # length, last id, first id, max deleted, added
              + b"\x01" + string(b"group") + b"\x05\x00\x01"  # last id, entries read
              + b"\x01" + bytes(16) + bytes(8) + b"\x01"  # a PEL entry
              + b"\x01" + string(b"alice") + bytes(16) + b"\x01" + bytes(16))  # consumer: seen, active, its PEL
    body = b"\x15" + string(b"events") + stream + b"\x00" + string(b"after") + string(b"x")
    items = list(iter_payloads(rdb_file(tmp_path, body)))
    assert [(i.key, i.type_name) for i in items] == [(b"events", "stream"), (b"after", "string")]
    assert items[0].payload[:-10] == b"\x15" + stream


def test_an_lzf_key_name_is_decompressed(tmp_path: Path) -> None:
    # "aaaaaaaaaa": a literal "a" then a back-reference of 9 bytes at distance 1 (liblzf's format)
    compressed = b"\x00a" + bytes([(7 << 5), 9 - 2 - 7, 0])
    key = b"\xc3" + bytes([len(compressed), 10]) + compressed
    items = list(iter_payloads(rdb_file(tmp_path, b"\x00" + key + string(b"v"))))
    assert items[0].key == b"a" * 10


def test_truncation_and_damage_are_named(tmp_path: Path) -> None:
    path = rdb_file(tmp_path, b"\x00" + string(b"k") + string(b"value"))
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(RdbFormatError, match="truncated"):
        list(iter_payloads(path))
    path = rdb_file(tmp_path, b"\x00" + string(b"k") + string(b"value"))
    data = bytearray(path.read_bytes())
    data[-12] ^= 0xFF  # a value byte
    path.write_bytes(bytes(data))
    with pytest.raises(RdbFormatError, match="checksum does not match"):
        list(iter_payloads(path))
    unchecked = rdb_file(tmp_path, b"\x00" + string(b"k") + string(b"value"), checksum=False)
    assert len(list(iter_payloads(unchecked))) == 1


def test_modules_and_unknown_types_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(RdbFormatError, match=r"key #1 holds a module value \(RDB type 7\)"):
        list(iter_payloads(rdb_file(tmp_path, b"\x07" + string(b"m") + b"\x00")))
    with pytest.raises(RdbFormatError, match="key #2 has RDB type 24"):
        list(iter_payloads(rdb_file(tmp_path, b"\x00" + string(b"k") + string(b"v") + b"\x18" + string(b"h"))))


def test_the_external_target_never_shows_credentials() -> None:
    from verifiers.stores.redis.external_server import _target

    assert _target("redis://ci:s3cret@cache.internal:6380/2") == "cache.internal:6380"
    assert _target("rediss://:s3cret@cache.internal:6390") == "cache.internal:6390"
    assert _target("unix:///run/redis/redis.sock?password=s3cret") == "unix:/run/redis/redis.sock"
