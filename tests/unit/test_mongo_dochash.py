"""The document checksum's definition, held by hypothesis: order-independent across documents, sensitive to
any single changed value, field order and BSON type; `_id` position normalised; the element scanner agrees
with pymongo's decoder on every BSON type."""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

import bson
from bson import SON, Binary, Code, Decimal128, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.int64 import Int64
from hypothesis import given, settings
from hypothesis import strategies as st

from verifiers.stores.mongo.dochash import (
    CollectionDigest,
    MalformedDocument,
    canonical,
    collection_checksum,
    document_hash,
    elements,
    split_batch,
)

names = st.text(st.characters(exclude_characters="\x00$.", exclude_categories=["Cs"]), min_size=1, max_size=8)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**31), 2**31 - 1), st.integers(-(2**63), 2**63 - 1).map(Int64),
    st.floats(allow_nan=False), st.text(max_size=20), st.binary(max_size=20).map(lambda b: Binary(b, 0)),
    st.builds(ObjectId, st.binary(min_size=12, max_size=12)),
    st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)),
    st.decimals(min_value=-(10**12), max_value=10**12, places=3).map(lambda d: Decimal128(str(d))),
    st.just(Regex("^a.*z$", "i")), st.just(MinKey()), st.just(MaxKey()), st.just(Timestamp(5, 1)),
    st.just(Code("function(){return 1}")), st.just(Code("x", {"a": 1})),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(names, inner, max_size=3).map(SON)),
                      max_leaves=8)
fields = st.dictionaries(names.filter(lambda n: n != "_id"), values, max_size=6)
documents = st.builds(lambda f, i: bson.encode(SON([("_id", i), *f.items()])), fields, st.integers(0, 10**6))
# Many documents per example: plain values keep generation cheap (the rich ones are for the scanner).
simple_documents = st.builds(lambda i, n, t: bson.encode(SON([("_id", i), ("n", n), ("t", t)])),
                             st.integers(0, 50), st.integers(-5, 5), st.text(max_size=3))


@settings(max_examples=150, deadline=None)
@given(documents)
def test_scanner_agrees_with_pymongo(raw: bytes) -> None:
    decoded = bson.decode(raw, codec_options=bson.CodecOptions(document_class=SON))
    assert [name.decode() for name, _, _ in elements(raw)] == list(decoded.keys())


@settings(max_examples=100, deadline=None)
@given(st.lists(simple_documents, max_size=8), st.randoms())
def test_order_independent(docs: list[bytes], rnd: Any) -> None:
    shuffled = docs[:]
    rnd.shuffle(shuffled)
    assert collection_checksum(docs) == collection_checksum(shuffled)


@settings(max_examples=100, deadline=None)
@given(st.lists(simple_documents, min_size=1, max_size=4), st.data())
def test_any_changed_value_changes_the_checksum(docs: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(docs) - 1))
    decoded = bson.decode(docs[index], codec_options=bson.CodecOptions(document_class=SON))
    key = data.draw(st.sampled_from(list(decoded.keys())))
    new = data.draw(values)
    changed = SON(decoded)
    changed[key] = new
    raw = bson.encode(changed)
    if raw == docs[index]:
        return  # drew the same value
    altered = [*docs[:index], raw, *docs[index + 1:]]
    assert collection_checksum(altered) != collection_checksum(docs)


@given(st.lists(simple_documents, max_size=4))
def test_duplicates_count(docs: list[bytes]) -> None:
    assert collection_checksum(docs + docs[:1]) != collection_checksum(docs) or not docs


@settings(max_examples=100, deadline=None)
@given(fields, st.integers(0, 10), st.data())
def test_id_position_is_normalised(body: dict[str, Any], ident: int, data: st.DataObject) -> None:
    items = list(body.items())
    at = data.draw(st.integers(0, len(items)))
    moved = bson.encode(SON([*items[:at], ("_id", ident), *items[at:]]))
    first = bson.encode(SON([("_id", ident), *items]))
    assert canonical(moved) == first
    assert document_hash(moved) == document_hash(first)


def test_field_order_and_types_are_part_of_the_value() -> None:
    ab, ba = bson.encode(SON([("_id", 1), ("a", 1), ("b", 2)])), bson.encode(SON([("_id", 1), ("b", 2), ("a", 1)]))
    assert document_hash(ab) != document_hash(ba)
    nested_ab = bson.encode({"_id": 1, "x": SON([("a", 1), ("b", 2)])})
    nested_ba = bson.encode({"_id": 1, "x": SON([("b", 2), ("a", 1)])})
    assert document_hash(nested_ab) != document_hash(nested_ba)
    as_int32, as_int64, as_double = (bson.encode({"_id": 1, "n": v}) for v in (1, Int64(1), 1.0))
    assert len({document_hash(as_int32), document_hash(as_int64), document_hash(as_double)}) == 3


def test_empty_and_missing_differ_by_count_only() -> None:
    assert collection_checksum([]) == (0, "0" * 32)
    digest = CollectionDigest()
    digest.add(bson.encode({"_id": 1}))
    assert digest.count == 1 and digest.checksum != "0" * 32


@given(st.lists(simple_documents, max_size=6))
def test_split_batch(docs: list[bytes]) -> None:
    assert list(split_batch(b"".join(docs))) == docs


def test_malformed_documents() -> None:
    good = bson.encode({"_id": 1, "s": "text"})
    for bad in (good[:-1], struct.pack("<i", 99) + good[4:], good.replace(b"\x02s\x00", b"\x99s\x00")):
        try:
            list(elements(bad))
        except MalformedDocument:
            continue
        raise AssertionError(f"accepted {bad!r}")
