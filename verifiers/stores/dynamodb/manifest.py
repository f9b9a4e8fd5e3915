"""What a DynamoDB table holds, as facts: item count, an order-independent checksum of its items, and its key
schema and indexes. Captured from the live table into a manifest; measured the same way after a restore.

The checksum is the sum (mod 2^64) of a 64-bit hash per item, the hash taken over a canonical form of the
item in DynamoDB's typed JSON: map keys sorted, sets sorted, numbers normalised (1.50 = 1.5), binary as
base64. Scan order, set order and attribute order therefore never change it; any changed value does.

The same scan keeps items and checksum per key-hash segment (verifiers/stores/hash_ranges.py): an item's segment
is picked by a hash of its key (partition and sort key, in the same canonical form), and the whole checksum is
the segments' sum, so a restore that differs is narrowed to hash ranges without naming a key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from verifiers import __version__
from verifiers.atomic import write_text_atomically
from verifiers.manifests import read_manifest
from verifiers.stores.hash_ranges import DEFAULT_SEGMENT_ITEMS, HashSegments, SegmentDigest, key_hash, segment_bits

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CHECKSUM_ALGORITHM = "sum64(sha256(canonical typed item)[:8]) v1"
KEY_HASH_ALGORITHM = "sha256(canonical typed key: partition, sort)[:8] v1"
_MOD = 1 << 64


class TableFacts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    items: int = Field(ge=0)
    checksum: str = Field(pattern=r"^[0-9a-f]{16}$")
    schema_: dict[str, str] = Field(alias="schema", description="key schema and indexes -> definition")
    segments: HashSegments | None = Field(default=None, description="per key-hash segment, for narrowing")


class DynamoDbManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_version: Literal[1] = 1
    kind: Literal["dynamodb"] = "dynamodb"
    tool_version: str = __version__
    captured_at: datetime
    table: str
    checksum_algorithm: str = CHECKSUM_ALGORITHM
    facts: TableFacts


def _number(text: str) -> str:
    value = Decimal(text).normalize()
    return format(value, "f") if value == value.to_integral_value() else str(value)


def canonical(value: Any) -> Any:
    """One attribute value in DynamoDB's typed form ({"S": ...}, {"M": {...}}, ...) as canonical JSON data."""
    (kind, inner), = value.items()
    if kind == "N":
        return ["N", _number(inner)]
    if kind == "B":
        return ["B", base64.b64encode(bytes(inner)).decode()]
    if kind == "SS":
        return ["SS", sorted(inner)]
    if kind == "NS":
        return ["NS", sorted(_number(n) for n in inner)]
    if kind == "BS":
        return ["BS", sorted(base64.b64encode(bytes(b)).decode() for b in inner)]
    if kind == "M":
        return ["M", {k: canonical(v) for k, v in inner.items()}]
    if kind == "L":
        return ["L", [canonical(v) for v in inner]]
    return [kind, inner]  # S, BOOL, NULL


def item_hash(item: dict[str, Any]) -> int:
    text = json.dumps({k: canonical(v) for k, v in item.items()}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def item_key_hash(item: dict[str, Any], key: list[str]) -> int:
    """The hash of an item's key attributes (`key`: partition key first, then sort key), which picks its segment."""
    text = json.dumps([[name, canonical(item[name])] for name in key], separators=(",", ":"), ensure_ascii=False)
    return key_hash(text.encode())


def key_attributes(description: Any) -> list[str]:
    """The table's key attribute names, partition key first."""
    schema = sorted(description.get("KeySchema", []), key=lambda k: k["KeyType"] != "HASH")
    return [k["AttributeName"] for k in schema]


def table_schema(description: Any) -> dict[str, str]:
    types = {a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])}

    def keys(schema: Any) -> str:
        return ", ".join(f"{k['KeyType']} {k['AttributeName']} {types.get(k['AttributeName'], '?')}" for k in schema)

    out = {"key": keys(description.get("KeySchema", []))}
    for label, field in (("global index", "GlobalSecondaryIndexes"), ("local index", "LocalSecondaryIndexes")):
        for index in description.get(field) or []:
            projection = index.get("Projection", {}).get("ProjectionType", "")
            out[f"{label} {index['IndexName']}"] = f"{keys(index.get('KeySchema', []))}; projection {projection}"
    return out


def digest_items(items: Iterable[dict[str, Any]], key: list[str]) -> SegmentDigest:
    """Count and checksum per key-hash segment of items in DynamoDB's typed form."""
    digest = SegmentDigest(_MOD)
    for item in items:
        digest.add(item_key_hash(item, key), item_hash(item))
    return digest


def measure_table(client: DynamoDBClient, table: str, *, bits: int | None = None,
                  segment_items: int = DEFAULT_SEGMENT_ITEMS) -> TableFacts:
    """Scan the whole table (strongly consistent), holding one page at a time; only the sums per segment remain.
    `bits` cuts the segments as a manifest's were; by default they hold about `segment_items` items each."""
    description = client.describe_table(TableName=table)["Table"]
    key = key_attributes(description)
    pages = client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    digest = digest_items((item for page in pages for item in page.get("Items", [])), key)
    count = digest.count
    segments = digest.segments(segment_bits(count, segment_items) if bits is None else bits, digits=16,
                               algorithm=KEY_HASH_ALGORITHM)
    return TableFacts(items=count, checksum=f"{digest.total:016x}", schema=table_schema(description),
                      segments=segments)


def capture_table(client: DynamoDBClient, table: str, *,
                  segment_items: int = DEFAULT_SEGMENT_ITEMS) -> DynamoDbManifest:
    """The live table's facts (read-only: dynamodb:Scan, dynamodb:DescribeTable). Take it right after the
    backup so both describe the same data."""
    captured_at = datetime.now(UTC)
    return DynamoDbManifest(captured_at=captured_at, table=table,
                            facts=measure_table(client, table, segment_items=segment_items))


def save_manifest(manifest: DynamoDbManifest, path: Path) -> None:
    write_text_atomically(path, manifest.model_dump_json(indent=2, by_alias=True) + "\n")


def load_manifest(path: Path, *, store: str) -> DynamoDbManifest:
    return read_manifest(path, DynamoDbManifest, store=store, kind="dynamodb",
                         capture_hint="capture it with `restoreproof capture dynamodb` right after the backup",
                         algorithm=("checksum_algorithm", CHECKSUM_ALGORITHM))
