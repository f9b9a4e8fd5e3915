"""Backup hygiene of every store with [stores.hygiene], read from the backup services' APIs (no restore):
RPO gaps, point-in-time lag, encryption, cross-region copies, manual copies, retention, buckets, AWS Backup jobs.
The suite ships in the package (verifiers/hygiene_suite.py, for `restoreproof verify --suite hygiene`)."""

from verifiers.hygiene_suite import hygiene_check, pytest_generate_tests, test_hygiene

__all__ = ["hygiene_check", "pytest_generate_tests", "test_hygiene"]
