"""Backups in Google Cloud Storage: the newest object under a prefix whose name matches a glob, streamed to the
store's work dir (constant memory) and checked against the object's own CRC32C and MD5 (a composite object has
only a CRC32C). `gcs-bucket` sources list a whole bucket (or prefix) for the gcs store kind instead.

The download is raw (no decompressive transcoding), so a `Content-Encoding: gzip` object arrives as stored and its
checksums apply. Cloud SQL's `gcloud sql export sql` files are ordinary objects: a gcs source restores them.
"""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import google_crc32c

from verifiers.errors import SourceError
from verifiers.gcp import gcs_client, gcs_error, gcs_errors
from verifiers.inventory_cloud import GcsBucketSource, GcsSource
from verifiers.manifests import MANIFEST_SUFFIX
from verifiers.sources import Artifact, Located
from verifiers.sources.file import default_manifest_path
from verifiers.sources.object_download import HashingWriter, save_manifest_bytes, write_listing

if TYPE_CHECKING:
    from google.cloud.storage import Blob, Client



def gs_url(bucket: str, name: str) -> str:
    return f"gs://{bucket}/{name}"


def parse_gs_url(url: str) -> tuple[str, str]:
    bucket, _, name = url.removeprefix("gs://").partition("/")
    if not url.startswith("gs://") or not bucket or not name:
        raise ValueError(f"{url!r} is not a gs://BUCKET/OBJECT URL")
    return bucket, name


def download_manifest(client: Client, bucket: str, name: str, *, store: str) -> Path:
    url = gs_url(bucket, name)
    try:
        body = client.bucket(bucket).blob(name).download_as_bytes(raw_download=True)
    except gcs_errors() as exc:
        raise gcs_error(store, f"cannot read manifest {url}", exc,
                        missing_hint="capture backups with their manifest beside them, or set "
                        "stores.source.manifest to its object name") from None
    return save_manifest_bytes(url, body)


def manifest_objects(url: str, *, store: str, project: str | None) -> list[tuple[str, Path]]:
    """The manifests at a gs:// URL, each (its URL, the local copy): one object (a name ending in .json), else
    every *.manifest.json under the URL as a prefix (a folder ends in /)."""
    bucket, _, prefix = url.removeprefix("gs://").partition("/")
    if not url.startswith("gs://") or not bucket:
        raise SourceError(f"store {store}: stores.source.manifest {url!r} is not a gs://BUCKET/OBJECT-or-PREFIX URL")
    try:
        client = gcs_client(project)
        if prefix.endswith(".json"):
            return [(url, download_manifest(client, bucket, prefix, store=store))]
        names = sorted(str(b.name) for b in client.list_blobs(bucket, prefix=prefix or None)
                       if str(b.name).endswith(MANIFEST_SUFFIX))
    except gcs_errors() as exc:
        raise gcs_error(store, f"cannot list the manifests under {url}", exc,
                        missing_hint="check stores.source.manifest's bucket and prefix") from None
    return [(gs_url(bucket, name), download_manifest(client, bucket, name, store=store)) for name in names]


def manifest_file(manifest: str, *, base_dir: Path, store: str, project: str | None,
                  capture: str = "restoreproof capture gcs …") -> Path:
    """A manifest named in the inventory: a local path (relative to the inventory) or a gs:// URL, fetched.
    `capture` is the command that writes one, named when the file is missing."""
    if manifest.startswith("gs://"):
        try:
            bucket, name = parse_gs_url(manifest)
        except ValueError as exc:
            raise SourceError(f"store {store}: stores.source.manifest: {exc}") from None
        try:
            client = gcs_client(project)
        except gcs_errors() as exc:
            raise gcs_error(store, f"cannot read manifest {manifest}", exc, missing_hint="") from None
        return download_manifest(client, bucket, name, store=store)
    path = Path(manifest) if Path(manifest).is_absolute() else base_dir / manifest
    if not path.exists():
        raise SourceError(f"store {store}: manifest {path} (stores.source.manifest) does not exist",
                          hint=f"capture one (`{capture}`), or fix the path")
    return path


class GcsObjects:
    def locate(self, source: GcsSource, *, base_dir: Path, store: str) -> Located:
        try:
            client = gcs_client(source.project)
        except gcs_errors() as exc:
            raise gcs_error(store, f"cannot list gs://{source.bucket}/{source.prefix}", exc,
                            missing_hint="") from None
        newest = _newest_blob(client, source, store=store)
        folder, slash, name = newest.name.rpartition("/")
        manifest_name = source.manifest or folder + slash + default_manifest_path(Path(name)).name
        manifest_path = download_manifest(client, source.bucket, manifest_name, store=store)
        return Located(location=gs_url(source.bucket, newest.name), path=Path(Path(newest.name).name),
                       manifest_path=manifest_path, modified=_updated(newest),
                       details={"project": source.project or "", "generation": str(newest.generation or "")})

    def fetch(self, located: Located, *, store: str, work_dir: Path | None = None) -> Artifact:
        if work_dir is None:
            raise ValueError("a GCS artifact is downloaded into the store's work dir: pass work_dir")
        bucket, name = parse_gs_url(located.location)
        target = work_dir / "download" / located.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            client = gcs_client(located.details.get("project") or None)
            blob = client.bucket(bucket).get_blob(name)
            if blob is None:
                raise SourceError(f"store {store}: {located.location} is gone",
                                  hint="the object was deleted after it was listed; run again")
            writer = HashingWriter(target, blob.size, crc32c=google_crc32c.Checksum())
            try:
                # checksum=None: the CRC32C/MD5 are compared below, over exactly the bytes written to disk
                blob.download_to_file(writer, raw_download=True, checksum=None,
                                      if_generation_match=blob.generation)
            finally:
                writer.close()
        except gcs_errors() as exc:
            raise gcs_error(store, f"cannot download {located.location}", exc,
                            missing_hint="the object was deleted or replaced after it was listed; run again") from None
        except OSError as exc:
            raise SourceError(f"store {store}: cannot write {located.location} to {target}: {exc.strerror}",
                              hint="free disk space in the work dir (--work-dir) or point it elsewhere") from None
        verified = compare_checksums(blob, writer)
        if verified.startswith("MISMATCH"):
            target.unlink(missing_ok=True)
            raise SourceError(f"store {store}: {located.location} {verified}",
                              hint="the object or the transfer is corrupt; download it again, and if it persists "
                              "restore from an older backup")
        return Artifact(location=located.location, path=target, sha256=writer.sha256, bytes=writer.size,
                        modified=located.modified, manifest_path=located.manifest_path,
                        details={"gcs_checksum": verified, "generation": str(blob.generation or ""),
                                 **({"kms_key": str(blob.kms_key_name)} if blob.kms_key_name else {})})


def compare_checksums(blob: Blob, writer: HashingWriter) -> str:
    """How the bytes on disk compare with the object's size, CRC32C and (when it has one) MD5."""
    if blob.size is not None and blob.size != writer.size:
        return f"MISMATCH: {writer.size} bytes downloaded, GCS says {blob.size}"
    compared = []
    if blob.crc32c:
        if blob.crc32c != writer.crc32c_b64:
            return f"MISMATCH: CRC32C {writer.crc32c_b64} downloaded, GCS says {blob.crc32c}"
        compared.append("CRC32C")
    if blob.md5_hash:
        if blob.md5_hash != writer.md5_b64:
            return f"MISMATCH: MD5 {writer.md5_b64} downloaded, GCS says {blob.md5_hash}"
        compared.append("MD5")
    if not compared:
        return "not compared: GCS gave no CRC32C or MD5 for the object"
    return " and ".join(compared) + " match GCS"


def _updated(blob: Blob) -> datetime:
    when = blob.updated or blob.time_created
    return when.astimezone(UTC) if isinstance(when, datetime) else datetime.now(UTC)


def _newest_blob(client: Client, source: GcsSource, *, store: str) -> Blob:
    newest: Blob | None = None
    try:
        for blob in client.list_blobs(source.bucket, prefix=source.prefix or None):
            name = str(blob.name)
            if name.endswith(MANIFEST_SUFFIX) or name.endswith("/"):
                continue
            if not fnmatch.fnmatchcase(name[len(source.prefix):], source.pattern):
                continue
            if newest is None or (_updated(blob), name) > (_updated(newest), str(newest.name)):
                newest = blob
    except gcs_errors() as exc:
        raise gcs_error(store, f"cannot list gs://{source.bucket}/{source.prefix}", exc,
                        missing_hint="check stores.source.bucket in the inventory") from None
    if newest is None:
        raise SourceError(
            f"store {store}: no object in gs://{source.bucket}/{source.prefix} matches {source.pattern!r}",
            hint="check stores.source.prefix and pattern (a glob over the name after the prefix), or upload the backup",
        )
    return newest


class GcsBuckets:
    """A bucket (or prefix) as the thing verified: `fetch` lists it into work_dir/listing.json."""

    def locate(self, source: GcsBucketSource, *, base_dir: Path, store: str) -> Located:
        manifest = manifest_file(source.manifest, base_dir=base_dir, store=store, project=source.project)
        return Located(location=gs_url(source.bucket, source.prefix), path=Path(source.bucket),
                       manifest_path=manifest, modified=datetime.now(UTC),
                       details={"bucket": source.bucket, "prefix": source.prefix, "project": source.project or ""})

    def fetch(self, located: Located, *, store: str, work_dir: Path | None = None) -> Artifact:
        if work_dir is None:
            raise ValueError("a bucket listing is written into the store's work dir: pass work_dir")
        bucket, prefix = located.details["bucket"], located.details["prefix"]
        objects: dict[str, dict[str, object]] = {}
        newest: datetime | None = None
        try:
            client = gcs_client(located.details.get("project") or None)
            for blob in client.list_blobs(bucket, prefix=prefix or None):
                objects[str(blob.name)] = {"bytes": int(blob.size or 0), "crc32c": blob.crc32c or "",
                                           "generation": str(blob.generation or "")}
                updated = _updated(blob)
                newest = updated if newest is None or updated > newest else newest
        except gcs_errors() as exc:
            raise gcs_error(store, f"cannot list {located.location}", exc,
                            missing_hint="check stores.source.bucket in the inventory") from None
        return write_listing(located, objects, newest, work_dir=work_dir, store=store,
                             sha256_of="the bucket listing (names, sizes, CRC32Cs, generations)")
