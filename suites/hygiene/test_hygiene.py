"""Backup hygiene of every store with [stores.hygiene], read from the backup services' APIs (no restore):
RPO gaps, point-in-time lag, encryption, cross-region copies, manual copies, retention, buckets, AWS Backup jobs."""

import pytest

from verifiers.compliance.suite import hygiene_check, parametrize
from verifiers.plugin import RestoreCheck

__all__ = ["hygiene_check"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize(metafunc)


def test_hygiene(hygiene_check: RestoreCheck) -> None:
    hygiene_check.assert_passed()
