"""The digest's pure-Python reference: pinned values (a change of definition must be deliberate), order
independence and sensitivity to any single value (the servers are held to it in
tests/integration/test_redis_digest.py)."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from tests.redis_strategies import Dataset, Key, changed, datasets, keys, reference_digest
from verifiers.stores.redis import digest


def test_pinned_values() -> None:
    assert digest.enc(b"abc") == b"3:abc"
    assert digest.key_digest(b"k", "string", False, b"v") == digest.sha1_hex(b"1:k6:string1:01:v")
    assert digest.value_part("list", [b"a", b"b"]) == digest.sha1_hex(
        digest.sha1_hex(b"1:a").encode() + b"1:b").encode()
    assert digest.value_part("zset", {b"m": 0.1}) == digest.sha1_hex(b"1:m19:0.10000000000000001").encode()
    assert digest.value_part("zset", {b"m": -0.0}) == digest.value_part("zset", {b"m": 0.0})
    assert digest.value_part("set", {b"x"}) == digest.sha1_hex(b"1:x").encode()
    assert digest.value_part("stream", []) == b""
    assert digest.value_part("ReJSON-RL", object()) == b""
    assert digest.combine([]) == digest.ZERO
    assert digest.combine(["f" * 40, "0" * 39 + "1"]) == digest.ZERO  # modulo 2**160


@given(dataset=datasets, seed=st.integers())
def test_key_order_does_not_matter(dataset: Dataset, seed: int) -> None:
    names = list(dataset)
    random.Random(seed).shuffle(names)
    assert reference_digest({n: dataset[n] for n in names}) == reference_digest(dataset)


@given(key=keys(), seed=st.integers())
def test_member_and_field_order_do_not_matter(key: Key, seed: int) -> None:
    value = key.value
    rng = random.Random(seed)
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        value = dict(items)
    assert digest.key_digest(b"k", key.kind, key.ttl, value) == digest.key_digest(b"k", key.kind, key.ttl, key.value)


@given(dataset=datasets.filter(bool), which=st.integers(0, 100), pick=st.integers(0, 100))
def test_any_single_change_changes_the_digest(dataset: Dataset, which: int, pick: int) -> None:
    name = sorted(dataset)[which % len(dataset)]
    key = dataset[name]
    before = reference_digest(dataset)
    assert reference_digest({**dataset, name: changed(key, pick)}) != before
    assert reference_digest({**dataset, name: Key(key.kind, key.value, not key.ttl)}) != before
    renamed = {(n + b"~" if n == name else n): k for n, k in dataset.items()}
    if len(renamed) == len(dataset):
        assert reference_digest(renamed) != before


@given(a=st.lists(st.text("0123456789abcdef", min_size=40, max_size=40)),
       b=st.lists(st.text("0123456789abcdef", min_size=40, max_size=40)))
def test_difference_undoes_combine(a: list[str], b: list[str]) -> None:
    assert digest.difference(digest.combine(a + b), digest.combine(b)) == digest.combine(a)
