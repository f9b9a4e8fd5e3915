"""The backup configuration of a store with an AWS source, read from the provider APIs (the `aws` extra) with the
readers the hygiene checks use (hygiene.py, aws_points.py): RDS instance or Aurora cluster, DynamoDB table, S3
bucket; for each, the copies AWS Backup plans make of it (backup_plans.py). Each fact is read on its own: a call
that fails makes its facts UNKNOWN with the reason (a denied call names the permission to grant), the others are
still read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from verifiers.aws import backup_client, config_region, s3_client
from verifiers.compliance import backup_plans, hygiene, resource_arns
from verifiers.compliance.aws_points import dynamodb_backups, dynamodb_pitr, dynamodb_table
from verifiers.compliance.configuration import NOT_READ, SAME, CopyPlace, Fact
from verifiers.errors import RestoreproofError
from verifiers.store_settings import AnyStore, DynamoDbBackupSource, RdsSnapshotSource, S3Source

DYNAMODB_PITR_DAYS = 35  # a table's recovery period when DescribeContinuousBackups does not report one


def _facts(read: Callable[[], Mapping[str, Fact]], names: tuple[str, ...]) -> dict[str, Fact]:
    """The facts one reading gives, or each of `names` UNKNOWN with why the reading failed."""
    try:
        return dict(read())
    except RestoreproofError as exc:
        return {name: Fact.not_read(exc.describe()) for name in names}


def rds_facts(store: AnyStore, source: RdsSnapshotSource) -> dict[str, Fact]:
    origin = f"cluster {source.cluster}" if source.cluster else f"instance {source.instance}"

    def described() -> dict[str, Fact]:
        raw = hygiene.describe_origin(store.name, source)
        days = int(raw.get("BackupRetentionPeriod") or 0)
        replicated = sorted({tuple(str(r.get("DBInstanceAutomatedBackupsArn", "")).split(":")[3:5])
                             for r in raw.get("DBInstanceAutomatedBackupsReplications") or []
                             if str(r.get("DBInstanceAutomatedBackupsArn", "")).count(":") >= 4})
        return {
            "retention_days": Fact(days, note=f"automated backups of {origin}"),
            "encrypted": Fact(bool(raw.get("StorageEncrypted")), note=f"storage of {origin} (its snapshots inherit "
                              "it)"),
            "kms_key": Fact(str(raw.get("KmsKeyId") or "") or None),
            "pitr": Fact(days > 0, note="automated backups on" if days else "automated backups off (retention 0)"),
            "deletion_protection": Fact(bool(raw.get("DeletionProtection"))),
            "replicated_to": Fact.of_copies([CopyPlace(f"automated backups replicated to {region}", region, account)
                                             for region, account in replicated]),
        }

    facts = _facts(described, ("retention_days", "encrypted", "kms_key", "pitr", "deletion_protection",
                               "replicated_to"))
    facts["copy_to"] = _copy_to(store, facts.pop("replicated_to"), planned_copies(store, source))
    facts["survives_deletion"] = _facts(lambda: {"survives_deletion": _rds_kept(store, source)},
                                        ("survives_deletion",))["survives_deletion"]
    return facts


def _rds_kept(store: AnyStore, source: RdsSnapshotSource) -> Fact:
    kept, automated = hygiene.kept_snapshots(store.name, source)
    if kept:
        newest = max(kept, key=lambda s: s.created)
        return Fact(True, note=f"{len(kept)} manual or AWS Backup snapshots, the newest {newest.id}: they are kept "
                    "when the instance is deleted")
    return Fact(False, note=f"only automated snapshots ({len(automated)}): they are deleted with the instance, unless "
                "it is deleted with DeleteAutomatedBackups=false (chosen at deletion, not a setting)")


def planned_copies(store: AnyStore, source: resource_arns.ArnSource) -> Fact:
    """The copies to another region or account that AWS Backup plans assigning the source's resource make
    (backup_plans.py), each naming its plan, rule and destination vault."""
    def read() -> dict[str, Fact]:
        arn = resource_arns.resource_arn(store.name, source)
        copies = backup_plans.plan_copies(store.name, backup_client(source.region, source.endpoint_url), arn,
                                          lambda: resource_arns.resource_tags(store.name, source, arn))
        return {"planned": Fact.of_copies([CopyPlace(c.describe(), c.region, c.account) for c in copies])}

    return _facts(read, ("planned",))["planned"]


def _copy_to(store: AnyStore, replicated: Fact | None, planned: Fact) -> Fact:
    """The copies found: RDS automated backup replication or S3 replication (`replicated`), AWS Backup plans' copy
    rules (`planned`), and copies in the region of [stores.hygiene.copy] when it is set. A copy found is known
    even when another reading failed (said in the note); none found while a reading failed is UNKNOWN."""
    found: list[CopyPlace] = []
    failed: list[str] = []
    notes: list[str] = []
    for part in (p for p in (replicated, planned) if p is not None):
        if part.unknown:
            failed.append(part.unknown)
        else:
            found += part.copies
            notes += [part.note] if part.note else []
    target = store.hygiene.copy_ if store.hygiene is not None else None
    if replicated is not None and target is None:  # RDS and S3 only take [stores.hygiene.copy]
        notes.append("other copies are looked for only where [stores.hygiene.copy] says (not set)")
    elif target is not None and not target.role_arn and target.region == _home_region(store):
        # the inventory refuses it where the source names its region; here the region is the config chain's
        notes.append(f"[stores.hygiene.copy] names the source's own region {target.region} and account: the "
                     "backups there are the source's own, no copy")
    elif target is not None:
        try:
            newest, what = hygiene.newest_copy(store, target)
        except RestoreproofError as exc:
            failed.append(exc.describe())
        else:
            if newest:
                account = target.role_arn.split(":")[4] if target.role_arn else SAME
                found.append(CopyPlace(f"{what}, the newest of {newest:%Y-%m-%d %H:%M}Z", target.region, account))
            else:
                notes.append(f"no {what}")
    failed = list(dict.fromkeys(failed))  # a denied describe fails the replication and the plans' reading alike
    if failed and not found:
        return Fact.not_read("; ".join(failed))
    notes += [f"not read: {why}" for why in failed]
    return Fact.of_copies(found, note="; ".join(notes) or None)


def _home_region(store: AnyStore) -> str | None:
    """The source's region: the inventory's, else the AWS config chain's."""
    return getattr(store.source, "region", None) or config_region()


def dynamodb_facts(store: AnyStore, source: DynamoDbBackupSource) -> dict[str, Fact]:
    def table() -> dict[str, Fact]:
        raw = dynamodb_table(source, store=store.name)
        sse = raw.get("SSEDescription") or {}
        # DynamoDB always encrypts at rest: without an SSEDescription it is with an AWS owned key.
        return {"encrypted": Fact(True, note="DynamoDB encrypts every table at rest"),
                "kms_key": Fact(str(sse.get("KMSMasterKeyArn") or "") or None),
                "deletion_protection": Fact(bool(raw.get("DeletionProtectionEnabled")))}

    def continuous() -> dict[str, Fact]:
        pitr = dynamodb_pitr(source, store=store.name)
        if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
            return {"pitr": Fact(False)}
        days = int(pitr.get("RecoveryPeriodInDays") or DYNAMODB_PITR_DAYS)
        return {"pitr": Fact(True), "retention_days": Fact(days, note="point-in-time recovery window")}

    def backups() -> dict[str, Fact]:
        kept = dynamodb_backups(source, store=store.name)
        count = len(kept)
        return {"survives_deletion": Fact(count > 0, note=f"{count} on-demand or AWS Backup backups: they outlive "
                                          "the table" if count else "no on-demand backup: deleting the table leaves "
                                          "only the 35-day system backup PITR makes, if PITR is on"),
                "backup_types": Fact(tuple(str(b.get("BackupType") or "") for b in kept))}

    facts = _facts(table, ("encrypted", "kms_key", "deletion_protection"))
    facts.update(_facts(continuous, ("pitr", "retention_days")))
    facts.update(_facts(backups, ("survives_deletion", "backup_types")))
    backup_types = facts.pop("backup_types")  # read for the retention without PITR, not a fact of its own
    if "retention_days" not in facts:  # PITR off: what is kept is the backups taken on demand
        facts["retention_days"] = on_demand_retention(backup_types)
    facts["copy_to"] = _copy_to(store, None, planned_copies(store, source))
    return facts


def on_demand_retention(types: Fact) -> Fact:
    """A table's retention with PITR off: on-demand backups (USER) never expire (None: no expiry) until someone
    deletes them; those AWS Backup made (AWS_BACKUP) expire by its plan's lifecycle, not read here (unknown);
    none at all is 0 days: nothing is kept, and a min_retention_days rule fails."""
    if types.unknown:
        return Fact.not_read(f"point-in-time recovery is off, and the on-demand backups could not be listed: "
                             f"{types.unknown}")
    found = types.value if isinstance(types.value, tuple) else ()
    user = found.count("USER")
    if user:
        return Fact(None, note=f"point-in-time recovery off; {user} on-demand backup{'s' if user != 1 else ''}, "
                    "kept until deleted (on-demand backups do not expire)")
    managed = found.count("AWS_BACKUP")
    if managed:
        return Fact.not_read(f"point-in-time recovery is off, and the table's {managed} backups are AWS Backup's: "
                             "they expire by the backup plan's lifecycle, which is not read here")
    return Fact(0, note="point-in-time recovery off and no on-demand backup: no backup is kept")


def s3_facts(store: AnyStore, source: S3Source) -> dict[str, Fact]:
    client = s3_client(source.region, source.endpoint_url)

    def lifecycle() -> dict[str, Fact]:
        expiries = hygiene.lifecycle_expiries(store.name, source)
        if not expiries:
            return {"retention_days": Fact(None, note=f"no lifecycle rule expires s3://{source.bucket}/"
                                           f"{source.prefix}")}
        what, days = min(expiries, key=lambda e: e[1])
        return {"retention_days": Fact(days, note=f"{what} after {days} days")}

    def encryption() -> dict[str, Fact]:
        rules: list[Any] = hygiene.default_encryption(store.name, client, source.bucket)
        if not rules:
            return {"encrypted": Fact(False, note="no default encryption rule on the bucket"),
                    "kms_key": Fact(None)}
        return {"encrypted": Fact(True, note="bucket default: " + ", ".join(str(r["SSEAlgorithm"]) for r in rules)),
                "kms_key": Fact(next((str(r["KMSMasterKeyID"]) for r in rules if r.get("KMSMasterKeyID")), None))}

    def replication() -> dict[str, Fact]:
        return {"replicated_to": s3_replicas(store, source, client)}

    facts = _facts(lifecycle, ("retention_days",))
    facts.update(_facts(encryption, ("encrypted", "kms_key")))
    facts["copy_to"] = _copy_to(store, _facts(replication, ("replicated_to",))["replicated_to"],
                                planned_copies(store, source))
    return facts


def s3_replicas(store: AnyStore, source: S3Source, client: Any) -> Fact:
    """The bucket's replicas that are copies: a destination bucket in another account (its region read where it
    can be, else NOT_READ), or in another region (GetBucketLocation of both buckets). A replica in the bucket's own
    region and account is no copy (said in the note); one whose region cannot be read, in no other account named,
    raises: the copy fact is then unknown, naming s3:GetBucketLocation."""
    owner, found = hygiene.replication_destinations(store.name, client, source.bucket, source.prefix)
    copies: list[CopyPlace] = []
    same: list[str] = []
    home: str | None = None
    for arn, account in found:
        name = arn.split(":::", 1)[-1]
        if account is not None and account != owner:  # another account: a copy wherever it is
            try:
                region = hygiene.bucket_region(store.name, client, name)
            except RestoreproofError:  # another account's bucket: its location is often not ours to read
                region = NOT_READ
            copies.append(CopyPlace(f"replication to {arn} (region {region}, account {account})", region, account))
            continue
        region = hygiene.bucket_region(store.name, client, name)
        home = home or hygiene.bucket_region(store.name, client, source.bucket)
        if region == home:
            same.append(f"replication to {arn} stays in {home} and the bucket's account: not a copy in another "
                        "region or account")
        else:
            copies.append(CopyPlace(f"replication to {arn} (region {region})", region))
    return Fact.of_copies(copies, note="; ".join(same) or None)
