"""The digest script on real servers (Valkey 9 and Redis 7.0) against the pure-Python reference: equal for
any dataset, independent of insertion order, and changed by any single changed value."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.redis_strategies import Dataset, Key, changed, datasets, reference_digest, write
from verifiers.stores.redis.facts import DatasetFacts
from verifiers.stores.redis.installations import RedisInstallation
from verifiers.stores.redis.local_server import RedisServer, local_redis
from verifiers.stores.redis.measure import measure_dataset

pytestmark = pytest.mark.redis
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module", params=["valkey", "system_redis"])
def server(request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    installation: RedisInstallation = request.getfixturevalue(request.param)
    with local_redis(installation, prefix="rp-test-source-redis-") as running:
        yield running


def measured(server: RedisServer, dataset: Dataset, *, seed: int = 0) -> DatasetFacts:
    server.client().flushall()
    write(server.client(), dataset, seed=seed)
    return measure_dataset(server.client)


def digest_of(facts: DatasetFacts) -> str:
    return facts.databases[0].digest if facts.databases else "0" * 40


@SETTINGS
@given(dataset=datasets)
def test_server_digest_equals_the_reference(server: RedisServer, dataset: Dataset) -> None:
    facts = measured(server, dataset)
    assert digest_of(facts) == reference_digest(dataset)
    if dataset:
        db0 = facts.databases[0]
        assert db0.keys == len(dataset)
        assert db0.ttl.keys == sum(k.ttl for k in dataset.values())
        assert db0.ttl.digest == reference_digest({n: k for n, k in dataset.items() if k.ttl})


@SETTINGS
@given(dataset=datasets, seed=st.integers(1, 2**32))
def test_digest_is_independent_of_insertion_order(server: RedisServer, dataset: Dataset, seed: int) -> None:
    # everything but the first expiry time, which is when the TTL was set
    exclude = {"databases": {0: {"ttl": {"first_expiry"}}}}
    once = measured(server, dataset, seed=0).model_dump(exclude=exclude)
    assert measured(server, dataset, seed=seed).model_dump(exclude=exclude) == once


@SETTINGS
@given(dataset=datasets.filter(bool), which=st.integers(0, 100), pick=st.integers(0, 100))
def test_any_single_changed_value_changes_the_digest(server: RedisServer, dataset: Dataset, which: int,
                                                     pick: int) -> None:
    name = sorted(dataset)[which % len(dataset)]
    other: dict[bytes, Key] = {**dataset, name: changed(dataset[name], pick)}
    assert digest_of(measured(server, other)) != digest_of(measured(server, dataset))
