"""Hypothesis strategies for Redis datasets as plain Python values, and how to write one into a server."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

import redis
from hypothesis import strategies as st

from verifiers.stores.redis import digest


@dataclass(frozen=True)
class Key:
    kind: str
    value: object
    ttl: bool


Dataset = Mapping[bytes, Key]

_bytes = st.binary(min_size=0, max_size=12)
_members = st.binary(min_size=1, max_size=12)
_scores = st.floats(allow_nan=False) | st.sampled_from([0.1, -0.0, 5e-324, 1e300, float("inf"), float("-inf")])
_stream_ids = st.lists(st.tuples(st.integers(1, 10**13), st.integers(0, 5)), min_size=0, max_size=6, unique=True)


@st.composite
def _stream(draw: st.DrawFn) -> list[tuple[bytes, list[tuple[bytes, bytes]]]]:
    ids = sorted(draw(_stream_ids))
    fields = st.lists(st.tuples(_members, _bytes), min_size=1, max_size=3, unique_by=lambda fv: fv[0])
    return [(f"{ms}-{seq}".encode(), draw(fields)) for ms, seq in ids]


values: dict[str, st.SearchStrategy[object]] = {
    "string": _bytes,
    "list": st.lists(_bytes, min_size=1, max_size=8),
    "set": st.sets(_members, min_size=1, max_size=8),
    "hash": st.dictionaries(_members, _bytes, min_size=1, max_size=8),
    "zset": st.dictionaries(_members, _scores, min_size=1, max_size=8),
    "stream": _stream(),
}


@st.composite
def keys(draw: st.DrawFn) -> Key:
    kind = draw(st.sampled_from(sorted(values)))
    return Key(kind, draw(values[kind]), draw(st.booleans()))


datasets = st.dictionaries(st.binary(min_size=1, max_size=10), keys(), max_size=12)


def reference_digest(dataset: Dataset) -> str:
    return digest.combine(digest.key_digest(name, k.kind, k.ttl, k.value) for name, k in dataset.items())


def write(client: redis.Redis, dataset: Dataset, *, seed: int = 0) -> None:
    """Write `dataset` with keys, members and fields in an order chosen by `seed` (stream entries keep
    their ID order: that order is the data)."""
    rng = random.Random(seed)  # an insertion order, not a secret
    names = list(dataset)
    rng.shuffle(names)
    for name in names:
        key = dataset[name]
        _write_key(client, name, key, rng)
        if key.ttl:
            client.expire(name, 10**7)


def _write_key(client: redis.Redis, name: bytes, key: Key, rng: random.Random) -> None:
    value = key.value
    if key.kind == "string":
        assert isinstance(value, bytes)
        client.set(name, value)
    elif key.kind == "list":
        assert isinstance(value, list)
        client.rpush(name, *value)
    elif key.kind == "set":
        assert isinstance(value, set)
        client.sadd(name, *rng.sample(sorted(value), len(value)))
    elif key.kind == "hash":
        assert isinstance(value, dict)
        for field in rng.sample(sorted(value), len(value)):
            client.hset(name, field, value[field])
    elif key.kind == "zset":
        assert isinstance(value, dict)
        for member in rng.sample(sorted(value), len(value)):
            client.zadd(name, {member: value[member]})
    else:
        assert isinstance(value, list)
        if not value:
            client.xadd(name, {b"f": b"v"}, id=b"1-1")
            client.xdel(name, b"1-1")  # an empty stream, which exists
        for entry_id, fields in value:
            client.xadd(name, dict(fields), id=entry_id)


def changed(key: Key, pick: int) -> Key:
    """`key` with exactly one value changed: an element, a member, a field's value, a score or an entry's."""
    value = key.value
    if key.kind == "string":
        assert isinstance(value, bytes)
        return Key(key.kind, value + b"!", key.ttl)
    if key.kind == "list":
        assert isinstance(value, list)
        i = pick % len(value)
        return Key(key.kind, [*value[:i], value[i] + b"!", *value[i + 1:]], key.ttl)
    if key.kind == "set":
        assert isinstance(value, set)
        old = sorted(value)[pick % len(value)]
        new = old + b"!"
        while new in value:
            new += b"!"
        return Key(key.kind, (value - {old}) | {new}, key.ttl)
    if key.kind == "hash":
        assert isinstance(value, dict)
        field = sorted(value)[pick % len(value)]
        return Key(key.kind, {**value, field: value[field] + b"!"}, key.ttl)
    if key.kind == "zset":
        assert isinstance(value, dict)
        member = sorted(value)[pick % len(value)]
        return Key(key.kind, {**value, member: 0.25 if value[member] != 0.25 else 0.5}, key.ttl)
    assert isinstance(value, list)
    if not value:
        return Key(key.kind, [(b"1-1", [(b"f", b"v")])], key.ttl)
    i = pick % len(value)
    entry_id, fields = value[i]
    first, rest = fields[0], fields[1:]
    entry = (entry_id, [(first[0], first[1] + b"!"), *rest])
    return Key(key.kind, [*value[:i], entry, *value[i + 1:]], key.ttl)
