"""GCS stores: each bucket (or prefix) compared with its captured manifest, and the bucket's protection."""

from verifiers.plugin import RestoreCheck

SUITE = "gcs"


def test_restore(restore_check: RestoreCheck) -> None:
    restore_check.assert_passed()
