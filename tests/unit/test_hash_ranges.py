"""How a pass cuts items into key-hash segments (verifiers/stores/hash_ranges.py), how the segments add up to the
whole checksum, and, held by hypothesis on DynamoDB's item hashing (pure Python, no server): any single changed,
added or deleted item is narrowed to exactly the segment holding its key's hash, and no key value is named."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifiers import checks
from verifiers.errors import CaptureError
from verifiers.evidence import SCHEMA_PATH
from verifiers.evidence.report_html import plain_value
from verifiers.stores import hash_ranges
from verifiers.stores.dynamodb.manifest import KEY_HASH_ALGORITHM, digest_items, item_key_hash
from verifiers.stores.hash_ranges import (
    MAX_BITS,
    HashSegments,
    SegmentDigest,
    check_segment_items,
    differing_segments,
    segment_bits,
)

MOD64 = 1 << 64
KEY = ["pk", "sk"]


@pytest.mark.parametrize(("items", "segment_items", "bits"), [
    (0, 1000, 0), (1, 1000, 0), (1000, 1000, 0),  # one segment
    (1001, 1000, 1), (2000, 1000, 1), (2001, 1000, 2),  # a power of two of segments, 500..1,000 items each
    (1_000_000, 1000, 10),
    (10**12, 1000, MAX_BITS),  # a manifest stays bounded
    (5, 1, 3),
])
def test_segment_bits(items: int, segment_items: int, bits: int) -> None:
    assert segment_bits(items, segment_items) == bits


def test_a_segment_size_below_one_item_is_refused() -> None:
    with pytest.raises(CaptureError, match="capture dynamodb: --segment-items 0"):
        check_segment_items("dynamodb", "--segment-items", 0)


def test_segments_cover_the_hash_space_in_order() -> None:
    cut = HashSegments(algorithm="x", bits=4, segments={})
    assert cut.bounds(0) == (0, 0x0FFF_FFFF_FFFF_FFFF)
    assert cut.bounds(3) == (0x3000_0000_0000_0000, 0x3FFF_FFFF_FFFF_FFFF)
    assert cut.bounds(15)[1] == MOD64 - 1
    assert all(cut.bounds(s)[1] + 1 == cut.bounds(s + 1)[0] for s in range(15))
    assert HashSegments(algorithm="x", bits=0, segments={}).bounds(0) == (0, MOD64 - 1)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, MOD64 - 1), st.integers(0, MOD64 - 1)), max_size=40),
       st.integers(0, MAX_BITS))
def test_the_segments_add_up_to_the_whole_at_any_cut(terms: list[tuple[int, int]], bits: int) -> None:
    digest = SegmentDigest(MOD64)
    for key, term in terms:
        digest.add(key, term)
    assert (digest.count, digest.total) == (len(terms), sum(t for _, t in terms) % MOD64)
    cut = digest.segments(bits, digits=16, algorithm="x")
    assert sum(n for n, _ in cut.segments.values()) == len(terms)
    assert sum(int(c, 16) for _, c in cut.segments.values()) % MOD64 == digest.total
    for key, _ in terms:  # each term in the segment whose bounds hold its key hash
        segment = key >> (64 - bits)
        assert segment in cut.segments and cut.bounds(segment)[0] <= key <= cut.bounds(segment)[1]


def item(pk: str, sk: int, value: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}, "note": {"S": value}}


# Keys stand for personal data: marked, so that no part of the harness's own text can look like one.
MARK = "person:"
personal = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12).map(MARK.__add__)
tables = st.dictionaries(st.tuples(personal, st.integers(-10**6, 10**6)), st.text(max_size=6), min_size=1,
                         max_size=120)


def cut(items: list[dict[str, Any]], bits: int) -> HashSegments:
    return digest_items(items, KEY).segments(bits, digits=16, algorithm=KEY_HASH_ALGORITHM)


@settings(max_examples=150, deadline=None)
@given(tables, st.data(), st.sampled_from(["change", "delete", "add"]), st.integers(1, 40))
def test_any_single_changed_item_lands_in_exactly_the_segment_of_its_key(
        rows: dict[tuple[str, int], str], data: st.DataObject, change: str, segment_items: int) -> None:
    captured_items = [item(pk, sk, v) for (pk, sk), v in rows.items()]
    bits = segment_bits(len(captured_items), segment_items)
    restored_items = list(captured_items)
    index = data.draw(st.integers(0, len(captured_items) - 1))
    target = captured_items[index]
    if change == "change":
        restored_items[index] = {**target, "note": {"S": target["note"]["S"] + "!"}}
    elif change == "delete":
        del restored_items[index]
    else:
        target = item(data.draw(personal.filter(lambda pk: (pk, 0) not in rows)), 0, "new")
        restored_items.append(target)
    data.draw(st.randoms()).shuffle(restored_items)  # scan order never matters
    captured, restored = cut(captured_items, bits), cut(restored_items, bits)
    segment = item_key_hash(target, KEY) >> (64 - bits)
    assert [s for s, _got, _want in differing_segments(captured, restored)] == [segment]
    (first, last), = hash_ranges.differing_bounds(captured, restored, label="key-hash")
    low, high = captured.bounds(segment)
    assert (first, last) == (f"key-hash 0x{low:016x}", f"0x{high:016x}")
    assert low <= item_key_hash(target, KEY) <= high
    message = hash_ranges.narrowed(captured, restored, label="key-hash", noun="items")
    assert message is not None and message.startswith(f"key-hash 0x{low:016x}..0x{high:016x} (")
    result = checks.checksum("orders", "0" * 16, "1" * 16, where=message, ranges=[(first, last)])
    shown = json.dumps([result.message, result.observed], ensure_ascii=False)
    assert MARK not in shown


def test_a_table_cut_differently_or_without_segments_is_not_narrowed() -> None:
    items = [item("a", 1, "x"), item("b", 2, "y")]
    assert hash_ranges.narrowed(None, cut(items, 2), label="key-hash", noun="items") is None
    assert hash_ranges.differing_bounds(cut(items, 2), None, label="key-hash") == []
    assert differing_segments(cut(items, 2), cut(items[:1], 3)) == []


def test_a_message_names_ten_ranges_and_counts_the_rest() -> None:
    captured = HashSegments(algorithm="x", bits=8, segments={s: (2, f"{s:016x}") for s in range(256)})
    restored = HashSegments(algorithm="x", bits=8, segments={s: (1, f"{s:016x}") for s in range(12)})
    message = hash_ranges.narrowed(captured, restored, label="key-hash", noun="items")
    assert message is not None
    assert message.startswith("key-hash 0x0000000000000000..0x00ffffffffffffff (1 items restored, 2 captured); ")
    assert message.endswith("; and 246 more ranges") and message.count("key-hash") == 10
    assert len(hash_ranges.differing_bounds(captured, restored, label="key-hash")) == 256


def test_the_evidence_schema_and_the_report_take_key_hash_ranges() -> None:
    result = checks.checksum("orders", "00ff00ff00ff00ff", "11ee11ee11ee11ee",
                             ranges=[("key-hash 0x3c00000000000000", "0x3fffffffffffffff")])
    assert result.observed == {"checksum": "00ff00ff00ff00ff",
                               "ranges": [["key-hash 0x3c00000000000000", "0x3fffffffffffffff"]]}
    check_schema = {"$defs": json.loads(SCHEMA_PATH.read_text())["$defs"], "$ref": "#/$defs/check"}
    jsonschema.validate(result.as_dict(), check_schema)
    assert plain_value(result.observed) == ("checksum 00ff00ff00ff00ff, "
                                            "ranges key-hash 0x3c00000000000000..0x3fffffffffffffff")


@pytest.mark.parametrize(("algorithm", "label"), [
    ("row-hash: hashtextextended(row::text, 0), PostgreSQL, v1", "row-hash"),
    ("key-hash: row hash of (tenant, id), MySQL, v1", "key-hash"),
    ("sha256(canonical typed key: partition, sort)[:8] v1", "key-hash"),  # DynamoDB's: no label of its own
])
def test_a_segments_label_is_its_algorithms_or_key_hash(algorithm: str, label: str) -> None:
    assert HashSegments(algorithm=algorithm, bits=0, segments={}).label == label
