"""AWS pieces without AWS: S3 checksum comparison rules, the DynamoDB item checksum's invariants, waiter
bounds, sandbox names, and inventory errors naming the field path of the new source types."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import pytest
from botocore.httpchecksum import Sha256Checksum
from hypothesis import given
from hypothesis import strategies as st

from verifiers.aws import sandbox_identifier, waiter_config
from verifiers.errors import InventoryError
from verifiers.inventory import parse_inventory
from verifiers.sources.s3 import _compare
from verifiers.stores.dynamodb.manifest import canonical, item_hash

DATA = b"backup bytes"
MD5 = hashlib.md5(DATA, usedforsecurity=False).hexdigest()


def compare(response: dict[str, Any], algorithm: str | None = None, data: bytes = DATA) -> str:
    s3_sum = None
    if algorithm:
        s3_sum = Sha256Checksum()
        s3_sum.update(data)
    return _compare({"ContentLength": len(data), **response}, algorithm, s3_sum, MD5, len(data))


def test_sha256_checksum_is_compared() -> None:
    good = Sha256Checksum()
    good.update(DATA)
    assert compare({"ChecksumSHA256": good.b64digest()}, "ChecksumSHA256") == "SHA256 matches S3"
    assert compare({"ChecksumSHA256": "AAAA"}, "ChecksumSHA256").startswith("MISMATCH: SHA256")


def test_single_part_etag_is_an_md5() -> None:
    assert compare({"ETag": f'"{MD5}"'}) == "MD5 matches the single-part ETag"
    assert compare({"ETag": '"0123456789abcdef0123456789abcdef"'}).startswith("MISMATCH: MD5")


@pytest.mark.parametrize("response", [
    {"ETag": '"0123456789abcdef0123456789abcdef-3"'},  # multipart: an MD5 of the parts' MD5s
    {"ETag": '"0123456789abcdef0123456789abcdef"', "ServerSideEncryption": "aws:kms"},
    {"ETag": '"0123456789abcdef0123456789abcdef"', "SSECustomerAlgorithm": "AES256"},
])
def test_etags_that_are_not_content_hashes_are_never_compared(response: dict[str, Any]) -> None:
    assert compare(response).startswith("not compared")


def test_a_size_difference_is_a_mismatch() -> None:
    assert compare({"ContentLength": 99}).startswith("MISMATCH: 12 bytes downloaded, S3 says 99")


ITEM = {"pk": {"S": "a#1"}, "n": {"N": "1.50"}, "tags": {"SS": ["x", "y", "z"]}, "m": {"M": {"b": {"BOOL": True},
        "a": {"L": [{"N": "2"}, {"NULL": True}]}}}, "bin": {"B": b"\x00\xff"}, "nums": {"NS": ["3", "1.0"]}}


def test_item_hash_ignores_attribute_set_and_number_form() -> None:
    shuffled = dict(reversed(list(ITEM.items())))
    shuffled["tags"] = {"SS": ["z", "x", "y"]}
    shuffled["n"] = {"N": "1.5"}
    shuffled["nums"] = {"NS": ["1", "3"]}
    assert item_hash(shuffled) == item_hash(ITEM)


def test_item_hash_sees_list_order_and_types() -> None:
    reordered = {**ITEM, "m": {"M": {"b": {"BOOL": True}, "a": {"L": [{"NULL": True}, {"N": "2"}]}}}}
    assert item_hash(reordered) != item_hash(ITEM)
    assert item_hash({"v": {"S": "1"}}) != item_hash({"v": {"N": "1"}})


@given(st.lists(st.dictionaries(st.text(min_size=1, max_size=5), st.integers(-10**6, 10**6), min_size=1,
                                max_size=4), min_size=1, max_size=20, unique_by=lambda d: tuple(sorted(d.items()))),
       st.randoms())
def test_table_checksum_is_order_independent_and_sees_any_change(rows: list[dict[str, int]],
                                                                   rng: random.Random) -> None:
    items = [{k: {"N": str(v)} for k, v in row.items()} for row in rows]

    def total(batch: list[dict[str, Any]]) -> int:
        return sum(item_hash(i) for i in batch) % (1 << 64)

    shuffled = items[:]
    rng.shuffle(shuffled)
    assert total(shuffled) == total(items)
    victim = rng.randrange(len(items))
    key = next(iter(items[victim]))
    changed = [dict(i) for i in items]
    changed[victim][key] = {"N": str(int(items[victim][key]["N"]) + 1)}
    assert total(changed) != total(items)


def test_canonical_form_of_binary_sets_is_sorted_base64() -> None:
    assert canonical({"BS": [b"\x02", b"\x01"]}) == ["BS", ["AQ==", "Ag=="]]


@pytest.mark.parametrize(("seconds", "config"), [
    (1, {"Delay": 1, "MaxAttempts": 1}), (0, {"Delay": 1, "MaxAttempts": 1}),
    (120, {"Delay": 12, "MaxAttempts": 10}), (3600, {"Delay": 30, "MaxAttempts": 120}),
])
def test_waiters_poll_within_the_timeout_at_least_once(seconds: float, config: dict[str, int]) -> None:
    assert waiter_config(seconds, 30) == config


def test_sandbox_names_are_valid_rds_identifiers() -> None:
    name = sandbox_identifier("Billing_DB.eu--west")
    assert name.startswith("restoreproof-billing-db-eu-west-")
    assert len(name) <= 63
    assert "--" not in name


@pytest.mark.parametrize(("source", "message"), [
    ({"type": "rds-snapshot"}, "stores[0].source: set exactly one of `instance` (RDS) or `cluster` (Aurora)"),
    ({"type": "rds-snapshot", "cluster": "c"}, "stores[0].source: an Aurora `cluster` snapshot needs `instance_class`"),
    ({"type": "rds-snapshot", "instance": "i", "include": "weekly"}, "stores[0].source.include: unsupported value"),
    ({"type": "s3", "bucket": "b"}, "stores[0].source.bucket: String should have at least 3 characters"),
    ({"type": "s3", "bucket": "bkt", "patern": "*"}, "stores[0].source.patern: unknown field"),
    ({"type": "s3-bucket", "bucket": "bkt"}, "stores[0].source.manifest: required field is missing"),
    ({"type": "s4"}, "stores[0].source.type: unsupported value 's4'"),
])
def test_aws_source_errors_name_the_field(source: dict[str, Any], message: str) -> None:
    store = {"name": "a", "kind": "postgres", "rto": "1h", "rpo": "1d", "source": source}
    with pytest.raises(InventoryError) as raised:
        parse_inventory({"stores": [store]}, Path("inventory.toml"))
    assert message in str(raised.value)


def test_a_service_source_must_fit_the_store_kind() -> None:
    store = {"name": "a", "kind": "dynamodb", "rto": "1h", "rpo": "1d", "source": {"type": "file", "path": "x"}}
    with pytest.raises(InventoryError, match="source type `file` cannot be restored by a dynamodb store"):
        parse_inventory({"stores": [store]}, Path("inventory.toml"))
