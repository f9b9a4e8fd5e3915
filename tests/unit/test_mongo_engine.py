"""Which server a buildInfo reply names, and which command a refusal says the server lacks (issue 26). The
mongoeco replies are as mongoeco 4.11 sends them (tests/integration/test_mongo_wire.py gets them from a real one);
FerretDB was not run here: its 1.x reply has `ferretdbVersion` beside the MongoDB version it claims."""

from __future__ import annotations

import pytest
from pymongo.errors import OperationFailure

from verifiers.stores.mongo.engine import ServerEngine, engine_of, unsupported


@pytest.mark.parametrize(("reply", "expected"), [
    ({"version": "7.0.14", "gitVersion": "ce59cfc6a3c5e5c067dca0d30697edd68d4f5188", "ok": 1.0},
     ServerEngine("mongodb", "7.0.14")),
    ({"version": "7.0.0", "versionArray": [7, 0, 0, 0], "gitVersion": "mongoeco", "ok": 1.0},
     ServerEngine("mongoeco", "?", {"reports_mongodb_version": "7.0.0"})),
    ({"version": "7.0.42", "gitVersion": "0b2c9e4", "ferretdbVersion": "v1.24.0", "ok": 1.0},
     ServerEngine("ferretdb", "v1.24.0", {"reports_mongodb_version": "7.0.42"})),
    ({"version": "7.0.77", "gitVersion": "1a2b3c", "ferretdb": {"version": "v2.5.0"}, "ok": 1.0},
     ServerEngine("ferretdb", "v2.5.0", {"reports_mongodb_version": "7.0.77"})),
])
def test_evidence_names_the_engine_not_the_version_it_claims(reply: dict[str, object],
                                                             expected: ServerEngine) -> None:
    assert engine_of(reply) == expected
    assert ("MongoDB" in expected.describe()) and (expected.engine in expected.describe().lower())


@pytest.mark.parametrize(("errmsg", "code", "lacking"), [
    ("no such command: 'validate'", 59, "validate"),
    ("unsupported wire command: validate", None, "validate"),
    ("Unrecognized expression '$toHashedIndexKey'", 168, "$toHashedIndexKey"),
    ("Invalid $project :: caused by :: Unrecognized expression: '$toHashedIndexKey'", 168, "$toHashedIndexKey"),
    ("unknown operator: $near", 2, "$near"),
    ("E11000 duplicate key error collection: app.users index: email_1 dup key: { email: \"a@b\" }", 11000, None),
    ("$bsonSize cannot encode value of type Decimal128", None, None),
])
def test_a_refusal_names_what_the_server_lacks(errmsg: str, code: int | None, lacking: str | None) -> None:
    exc = OperationFailure(errmsg, code=code, details={"ok": 0.0, "errmsg": errmsg, "code": code})
    assert unsupported(exc) == lacking
