"""Azure Blob stores: each container (or prefix) compared with its captured manifest, and its protection."""

from verifiers.plugin import RestoreCheck

SUITE = "azure-blob"


def test_restore(restore_check: RestoreCheck) -> None:
    restore_check.assert_passed()
