"""Benchmark: reading and measuring a mongodump archive without a server, against what it cannot beat.

    python bench/mongo_archive.py [--documents 500000]

Prints one JSON object:
  measure_mb_s        facts_from_dump (parse, CRC-64 per namespace, per-document SHA-256 checksum), MB/s of BSON
  floor_mb_s          gunzip + one SHA-256 over the same archive, MB/s of BSON: the I/O and hashing floor
  measure_docs_s      documents per second through facts_from_dump (per-document work dominates small documents)
  measure_vs_floor    measure time / floor time
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import tempfile
import time
from pathlib import Path

import bson
from bson.int64 import Int64

from verifiers.stores.mongo.archive import ArchiveWriter, CollectionEntry, open_dump
from verifiers.stores.mongo.measure import facts_from_dump


def build(path: Path, documents: int) -> int:
    entry = CollectionEntry("bench", "docs", metadata={"indexes": [], "options": {}})
    raw = [bson.encode({"_id": i, "user": f"user{i % 977}@example.com", "n": Int64(i), "score": i / 7,
                        "tags": ["a", "b", str(i % 13)], "nested": {"x": i, "y": "z" * (i % 40)}})
           for i in range(documents)]
    with gzip.open(path, "wb", compresslevel=6) as fh:
        ArchiveWriter(fh, server_version="7.0.0", tool_version="bench", collections=[(entry, 0)]) \
            .write_collection("bench", "docs", raw)
    return sum(len(r) for r in raw)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=500_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.archive.gz"
        size = build(path, args.documents)
        start = time.perf_counter()
        facts = facts_from_dump(open_dump(path))
        measure = time.perf_counter() - start
        assert facts["bench.docs"].documents == args.documents
        start = time.perf_counter()
        digest = hashlib.sha256()
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        floor = time.perf_counter() - start
    mb = size / 1e6
    print(json.dumps({"documents": args.documents, "bson_mb": round(mb, 1), "measure_mb_s": round(mb / measure, 1),
                      "measure_docs_s": round(args.documents / measure),
                      "floor_mb_s": round(mb / floor, 1), "measure_vs_floor": round(measure / floor, 2)}))


if __name__ == "__main__":
    main()
