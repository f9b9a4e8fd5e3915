"""The backup-configuration policy: what a store's backup configuration must be, per store under
[stores.hygiene.configuration] or for every store under the inventory's [policy] (a store's own values win, rule
by rule). Judged by verifiers/compliance/configuration.py against the facts read by configuration_facts.py."""

from __future__ import annotations

from pydantic import Field

from verifiers.setting_types import StrictModel

# The rules, in the order their checks are listed: (rule, the fact it judges, the sources that fact applies to)
RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("retention", "retention_days", ("rds-snapshot", "dynamodb-backup", "s3", "file")),
    ("encryption", "encrypted", ("rds-snapshot", "dynamodb-backup", "s3")),
    ("copy", "copy_to", ("rds-snapshot", "dynamodb-backup", "s3")),
    ("pitr", "pitr", ("rds-snapshot", "dynamodb-backup")),
    ("survives_deletion", "survives_deletion", ("rds-snapshot", "dynamodb-backup")),
    ("deletion_protection", "deletion_protection", ("rds-snapshot", "dynamodb-backup")),
)
CONFIGURATION_SOURCES = ("rds-snapshot", "dynamodb-backup", "s3", "file")  # whose configuration is read


class ConfigurationPolicy(StrictModel):
    """What the backup configuration must be; each rule that requires something is one check (`configuration
    <rule>`) with the fact observed and the rule expected. A rule unset, or set to false, is not judged (false in a
    store opts it out of the inventory's [policy]); the configuration is recorded all the same."""

    min_retention_days: int | None = Field(default=None, ge=1, le=36500,
                                           description="backups are kept at least this many days (RDS retention "
                                           "period, DynamoDB PITR window, S3 lifecycle expiry, oldest kept file)")
    encryption: bool | None = Field(default=None, description="backups are encrypted at rest")
    kms_key: str | None = Field(default=None, description="and with this KMS key (id, ARN or alias ARN); implies "
                                "encryption")
    copy_: bool | None = Field(default=None, alias="copy", description="a copy is configured in another region or "
                               "account (RDS automated backup replication or snapshot copies in hygiene.copy; S3 "
                               "replication; AWS Backup plans' copy rules)")
    pitr: bool | None = Field(default=None, description="point-in-time recovery is enabled (RDS/Aurora automated "
                              "backups, DynamoDB continuous backups)")
    survives_deletion: bool | None = Field(default=None, description="backups outlive the deletion of the instance "
                                           "or table (manual or AWS Backup snapshots, on-demand DynamoDB backups)")
    deletion_protection: bool | None = Field(default=None, description="the instance, cluster or table has "
                                             "deletion protection on")

    model_config = StrictModel.model_config | {"populate_by_name": True}

    def over(self, defaults: ConfigurationPolicy | None) -> ConfigurationPolicy:
        """These rules, each unset one taken from `defaults` (the inventory's [policy])."""
        if defaults is None:
            return self
        return defaults.model_copy(update=self.model_dump(exclude_unset=True, by_alias=False))

    def required(self) -> dict[str, int | str | bool]:
        """The rules that require something, by rule name (RULES), with what each requires. A rule set to false
        requires nothing: a store opts out of an inventory-wide rule that way."""
        out: dict[str, int | str | bool] = {}
        if self.min_retention_days is not None:
            out["retention"] = self.min_retention_days
        if self.kms_key is not None:
            out["encryption"] = self.kms_key
        elif self.encryption:
            out["encryption"] = True
        for rule, value in (("copy", self.copy_), ("pitr", self.pitr), ("survives_deletion", self.survives_deletion),
                            ("deletion_protection", self.deletion_protection)):
            if value:
                out[rule] = True
        return out
