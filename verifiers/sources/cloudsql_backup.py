"""Cloud SQL backup runs: the newest SUCCESSFUL run of an instance, or one named by its id.

Nothing is downloaded: `fetch` confirms the run is still SUCCESSFUL and describes it for the evidence. A backup
run has no content hash; the artifact's `sha256` is that of its identity record (project, instance, run id, times,
database version), so the evidence names exactly which backup was restored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verifiers.cloudsql import CloudSqlApiError, api_call, sqladmin_client
from verifiers.errors import SourceError
from verifiers.inventory_cloud import CloudSqlBackupSource
from verifiers.sources import Artifact, Located
from verifiers.sources.gcs import manifest_file, manifest_objects
from verifiers.sources.manifest_pairing import DETAILS_KEY, Pairing, local_candidates, pair, read_candidate

if TYPE_CHECKING:
    from googleapiclient._apis.sqladmin.v1 import BackupRunsListResponseHttpRequest, SQLAdminResource
    from googleapiclient._apis.sqladmin.v1.schemas import BackupRun as RawRun

SUCCESSFUL = "SUCCESSFUL"
LIST_PAGE = 100


@dataclass(frozen=True)
class BackupRun:
    """What the harness needs of a Cloud SQL backup run and of the instance it was taken of."""

    id: str
    project: str
    instance: str
    status: str
    backup_type: str  # AUTOMATED | ON_DEMAND
    created: str  # ISO 8601 UTC: when the backup's data was taken (the window's start, else its start time)
    end: str
    database_version: str  # the source instance's, e.g. POSTGRES_16 (the temporary instance gets the same)
    region: str
    tier: str
    edition: str  # ENTERPRISE | ENTERPRISE_PLUS ("" when the API names none): a tier belongs to one edition
    disk_gb: str  # the source's data disk; the temporary instance gets as much ("" when unknown)
    location: str

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.created)

    @property
    def engine(self) -> str:
        """postgres | mysql | sqlserver, from the database version."""
        return self.database_version.split("_", 1)[0].lower()

    @property
    def name(self) -> str:
        return f"projects/{self.project}/instances/{self.instance}/backupRuns/{self.id}"

    @property
    def identity_sha256(self) -> str:
        mutable = ("status", "tier", "region", "edition", "disk_gb")  # the source instance's, not the backup's
        identity = {k: v for k, v in asdict(self).items() if k not in mutable}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

    def details(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}

    def evidence(self) -> dict[str, str]:
        """What the evidence's artifact record adds for a backup run (it has no file, size or content hash)."""
        return {"backup_run_id": self.id, "backup_run": self.name, "backup_type": self.backup_type,
                "backup_of": f"Cloud SQL instance {self.project}:{self.instance}", "backup_created": self.created,
                "backup_ended": self.end or "-", "engine": self.database_version, "location": self.location or "-",
                "sha256_of": "the backup run's identity record (project, instance, run id, times, database "
                "version)", "bytes_are": "not known (Cloud SQL does not report a backup's size)"}

    @classmethod
    def from_details(cls, details: Any) -> BackupRun:
        return cls(**{k: str(details[k]) for k in cls.__dataclass_fields__})


def _iso(text: str | None) -> str:
    if not text:
        return ""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).isoformat()


def _run(raw: RawRun, source: CloudSqlBackupSource, instance: dict[str, str]) -> BackupRun:
    return BackupRun(id=str(raw.get("id", "")), project=source.project, instance=source.instance,
                     status=str(raw.get("status", "")), backup_type=str(raw.get("type", "")),
                     created=_iso(raw.get("windowStartTime") or raw.get("startTime") or raw.get("enqueuedTime")),
                     end=_iso(raw.get("endTime")), database_version=instance["database_version"],
                     region=instance["region"], tier=instance["tier"], edition=instance["edition"],
                     disk_gb=instance["disk_gb"], location=str(raw.get("location", "")))


def describe_instance(client: SQLAdminResource, source: CloudSqlBackupSource, *, store: str) -> dict[str, str]:
    """The source instance's database version, region, tier, edition and disk size (the temporary instance
    copies them)."""
    found = api_call(client.instances().get(project=source.project, instance=source.instance),
                     f"store {store}: Cloud SQL instance {source.project}:{source.instance}: instances.get")
    settings = found.get("settings", {})
    return {"database_version": str(found.get("databaseVersion", "")), "region": str(found.get("region", "")),
            "tier": str(settings.get("tier", "")), "edition": str(settings.get("edition", "")),
            "disk_gb": str(settings.get("dataDiskSizeGb", ""))}


def list_runs(client: SQLAdminResource, source: CloudSqlBackupSource, *, store: str) -> list[RawRun]:
    runs: list[RawRun] = []
    request: BackupRunsListResponseHttpRequest | None = client.backupRuns().list(
        project=source.project, instance=source.instance, maxResults=LIST_PAGE)
    while request is not None:
        page = api_call(request, f"store {store}: Cloud SQL instance {source.project}:{source.instance}: "
                        "backupRuns.list")
        runs += page.get("items", [])
        request = client.backupRuns().list_next(request, page)
    return runs


def find_backup(client: SQLAdminResource, source: CloudSqlBackupSource, *, store: str) -> BackupRun:
    """The backup run the inventory names: the newest SUCCESSFUL one, or the one with id `backup`."""
    try:
        instance = describe_instance(client, source, store=store)
        runs = [_run(raw, source, instance) for raw in list_runs(client, source, store=store)]
    except CloudSqlApiError as exc:
        raise SourceError(exc.message, hint=exc.hint) from None
    origin = f"Cloud SQL instance {source.project}:{source.instance}"
    if source.backup != "latest":
        named = [r for r in runs if r.id == source.backup]
        if not named:
            raise SourceError(f"store {store}: {origin} has no backup run {source.backup}",
                              hint=f"list them with `gcloud sql backups list --instance {source.instance} --project "
                              f"{source.project}` and fix stores.source.backup, or use backup = \"latest\"")
        if named[0].status != SUCCESSFUL:
            raise SourceError(f"store {store}: backup run {source.backup} of {origin} is {named[0].status}, "
                              f"not {SUCCESSFUL}", hint="choose a successful run, or use backup = \"latest\"")
        return named[0]
    done = [r for r in runs if r.status == SUCCESSFUL and r.created]
    if not done:
        seen = ", ".join(f"{status} x{count}" for status, count in _count(r.status for r in runs)) or "none at all"
        raise SourceError(f"store {store}: {origin} has no {SUCCESSFUL} backup run (runs found: {seen})",
                          hint="enable automated backups on the instance or take one (`gcloud sql backups create "
                          f"--instance {source.instance}`), then run again")
    return max(done, key=lambda r: (r.created, int(r.id) if r.id.isdigit() else 0))


def _count(statuses: Any) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status or "?"] = counts.get(status or "?", 0) + 1
    return sorted(counts.items())


CAPTURE = "restoreproof capture postgres|mysql --snapshot-id RUN_ID … when the backup is taken"


def pair_manifest(source: CloudSqlBackupSource, run: BackupRun, *, base_dir: Path, store: str) -> Pairing | None:
    """The run's manifest among those `manifest` holds: a gs:// object or prefix (fetched, like a GCS source's),
    a local file or folder; by the run's id, else by capture time (verifiers/sources/manifest_pairing.py). None:
    no manifest, or one file that is no manifest (the kind's reader names what is wrong with it)."""
    if source.manifest is None:
        return None
    if source.manifest.startswith("gs://"):
        candidates = [read_candidate(url, path) for url, path in
                      manifest_objects(source.manifest, store=store, project=source.project)]
    else:
        path = Path(source.manifest)
        candidates = local_candidates(path if path.is_absolute() else base_dir / path, store=store)
    if len(candidates) == 1 and candidates[0].problem:
        return None
    return pair(candidates, snapshot_id=run.id, snapshot_arn=run.name, created=run.created_at,
                tolerance=source.manifest_tolerance)


class CloudSqlBackups:
    def locate(self, source: CloudSqlBackupSource, *, base_dir: Path, store: str) -> Located:
        try:
            client = sqladmin_client()
        except CloudSqlApiError as exc:
            raise SourceError(f"store {store}: {exc.message}", hint=exc.hint) from None
        run = find_backup(client, source, store=store)
        pairing = pair_manifest(source, run, base_dir=base_dir, store=store)
        details = run.details()
        manifest = None
        if pairing is None and source.manifest is not None:  # one file that is no manifest: the kind names why
            manifest = manifest_file(source.manifest, base_dir=base_dir, store=store, project=source.project,
                                     capture=CAPTURE)
        elif pairing is not None:  # unpaired: no manifest path, and the store fails the `manifest` check
            details[DETAILS_KEY] = pairing.to_json()
            manifest = Path(pairing.matched.path) if pairing.matched else None
        return Located(location=run.name, path=Path(run.id), modified=run.created_at, details=details,
                       manifest_path=manifest)

    def fetch(self, located: Located, *, store: str, work_dir: Path | None = None) -> Artifact:
        """Confirm the planned backup run is still there and SUCCESSFUL (it may have expired since)."""
        planned = BackupRun.from_details(located.details)
        try:
            client = sqladmin_client()
            raw = api_call(client.backupRuns().get(project=planned.project, instance=planned.instance, id=planned.id),
                           f"store {store}: backup run {planned.name}: backupRuns.get")
        except CloudSqlApiError as exc:
            gone = exc.status == 404
            raise SourceError(f"{exc.message}{' (deleted since it was planned)' if gone else ''}",
                              hint="run again to pick the newest" if gone else exc.hint) from None
        if raw.get("status") != SUCCESSFUL:
            raise SourceError(f"store {store}: backup run {planned.name} is {raw.get('status', 'gone')}, not "
                              f"{SUCCESSFUL}", hint="run again to pick the newest successful backup run")
        return Artifact(location=located.location, path=located.path, sha256=planned.identity_sha256, bytes=0,
                        modified=planned.created_at, manifest_path=located.manifest_path, details=planned.evidence())
