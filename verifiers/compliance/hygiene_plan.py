"""The backup-hygiene checks a store's settings ask for (verifiers/compliance/hygiene.py judges them, reading the
backup services' APIs): named here without any SDK, so that planning a run needs no cloud extra."""

from __future__ import annotations

from verifiers.checks import CheckSpec
from verifiers.compliance.settings import histories
from verifiers.store_settings import AnyStore, S3Source

BUCKET_ASPECTS = ("versioning", "encryption", "public access")


def specs(store: AnyStore) -> list[CheckSpec]:
    settings = store.hygiene
    if settings is None:
        return []
    out: list[CheckSpec] = []
    if settings.encryption or settings.kms_key:
        out.append(CheckSpec("encryption", "encryption"))
    if settings.copy_ is not None:
        out.append(CheckSpec("copy", settings.copy_.region))
    if settings.require_manual:
        out.append(CheckSpec("manual_copy", "manual_copy"))
    if settings.retention_days is not None:
        out.append(CheckSpec("retention", "retention"))
    out += [CheckSpec("bucket", f"{b} {aspect}") for b in buckets(store) for aspect in BUCKET_ASPECTS]
    if settings.backup_jobs is not None:
        out.append(CheckSpec("backup_jobs", "backup_jobs"))
    if settings.success_rate is not None:
        out += [CheckSpec("backup_success", h) for h in histories(store.source.type, settings.success_rate)]
    return out


def buckets(store: AnyStore) -> list[str]:
    assert store.hygiene is not None
    if store.hygiene.buckets is not None:
        return list(store.hygiene.buckets)
    return [store.source.bucket] if isinstance(store.source, S3Source) else []
