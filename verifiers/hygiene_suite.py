"""Backup hygiene of every store with [stores.hygiene], read from the backup services' APIs (no restore):
RPO gaps, point-in-time lag, encryption, cross-region copies, manual copies, retention, buckets, AWS Backup jobs.
What `restoreproof verify --suite hygiene` runs from any directory; suites/hygiene/ in this repository imports it."""

import pytest

from verifiers.compliance.suite import hygiene_check
from verifiers.compliance.suite import parametrize as _parametrize
from verifiers.plugin import RestoreCheck

__all__ = ["hygiene_check", "pytest_generate_tests", "test_hygiene"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    _parametrize(metafunc)


def test_hygiene(hygiene_check: RestoreCheck) -> None:
    hygiene_check.assert_passed()
