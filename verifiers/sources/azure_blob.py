"""Backups in Azure Blob Storage: the newest blob under a prefix whose name matches a glob, streamed to the
store's work dir chunk by chunk (constant memory) and checked against the blob's Content-MD5 where it is set
(the service sets it for a single-request upload; a block-list upload has one only if the uploader set it).
`azure-container` sources list a whole container (or prefix) for the azure-blob store kind instead."""

from __future__ import annotations

import base64
import fnmatch
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from verifiers.azure_storage import azure_error, azure_errors, blob_service
from verifiers.errors import SourceError
from verifiers.inventory_cloud import AzureBlobSource, AzureContainerSource
from verifiers.manifests import MANIFEST_SUFFIX
from verifiers.sources import Artifact, Located
from verifiers.sources.file import default_manifest_path
from verifiers.sources.object_download import HashingWriter, save_manifest_bytes, write_listing

if TYPE_CHECKING:
    from azure.storage.blob import BlobProperties, BlobServiceClient


def blob_url(account_url: str, container: str, name: str) -> str:
    return f"{account_url.rstrip('/')}/{container}/{name}"


def _service(account_url: str, store: str, what: str) -> BlobServiceClient:
    try:
        return blob_service(account_url)
    except SourceError as exc:
        raise SourceError(f"store {store}: {what}: {exc.message}", hint=exc.hint) from None
    except azure_errors() as exc:
        raise azure_error(store, what, exc, missing_hint="") from None


def download_manifest(service: BlobServiceClient, container: str, name: str, *, store: str) -> Path:
    url = blob_url(service.url, container, name)
    try:
        body = service.get_blob_client(container, name).download_blob().readall()
    except azure_errors() as exc:
        raise azure_error(store, f"cannot read manifest {url}", exc,
                          missing_hint="capture backups with their manifest beside them, or set "
                          "stores.source.manifest to its blob name") from None
    return save_manifest_bytes(url, body)


def content_md5(props: BlobProperties) -> str:
    md5 = props.content_settings.content_md5 if props.content_settings else None
    return base64.b64encode(bytes(md5)).decode() if md5 else ""


class AzureBlobs:
    def locate(self, source: AzureBlobSource, *, base_dir: Path, store: str) -> Located:
        where = blob_url(source.account_url, source.container, source.prefix)
        service = _service(source.account_url, store, f"cannot list {where}")
        newest = _newest_blob(service, source, where, store=store)
        folder, slash, name = newest.name.rpartition("/")
        manifest_name = source.manifest or folder + slash + default_manifest_path(Path(name)).name
        manifest_path = download_manifest(service, source.container, manifest_name, store=store)
        return Located(location=blob_url(source.account_url, source.container, newest.name),
                       path=Path(Path(newest.name).name), manifest_path=manifest_path,
                       modified=newest.last_modified.astimezone(UTC),
                       details={"account_url": source.account_url, "container": source.container,
                                "blob": newest.name, "etag": str(newest.etag)})

    def fetch(self, located: Located, *, store: str, work_dir: Path | None = None) -> Artifact:
        if work_dir is None:
            raise ValueError("an Azure blob is downloaded into the store's work dir: pass work_dir")
        target = work_dir / "download" / located.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        service = _service(located.details["account_url"], store, f"cannot download {located.location}")
        try:
            downloader = service.get_blob_client(located.details["container"], located.details["blob"]).download_blob()
            writer = HashingWriter(target, downloader.size)
            try:
                for chunk in downloader.chunks():  # each at most max_chunk_get_size (4 MiB) in memory
                    writer.write(chunk)
            finally:
                writer.close()
        except azure_errors() as exc:
            raise azure_error(store, f"cannot download {located.location}", exc,
                              missing_hint="the blob was deleted after it was listed; run again") from None
        except OSError as exc:
            raise SourceError(f"store {store}: cannot write {located.location} to {target}: {exc.strerror}",
                              hint="free disk space in the work dir (--work-dir) or point it elsewhere") from None
        verified = _compare(downloader.properties, writer)
        if verified.startswith("MISMATCH"):
            target.unlink(missing_ok=True)
            raise SourceError(f"store {store}: {located.location} {verified}",
                              hint="the blob or the transfer is corrupt; download it again, and if it persists "
                              "restore from an older backup")
        props = downloader.properties
        details = {"azure_checksum": verified, "etag": str(props.etag)}
        if props.version_id:
            details["version_id"] = str(props.version_id)
        if props.encryption_scope:
            details["encryption_scope"] = str(props.encryption_scope)
        return Artifact(location=located.location, path=target, sha256=writer.sha256, bytes=writer.size,
                        modified=located.modified, manifest_path=located.manifest_path, details=details)


def _compare(props: BlobProperties, writer: HashingWriter) -> str:
    if props.size is not None and props.size != writer.size:
        return f"MISMATCH: {writer.size} bytes downloaded, Azure says {props.size}"
    expected = content_md5(props)
    if not expected:
        return "not compared: the blob has no Content-MD5 (uploaded in blocks without one)"
    if expected != writer.md5_b64:
        return f"MISMATCH: MD5 {writer.md5_b64} downloaded, Content-MD5 says {expected}"
    return "MD5 matches the blob's Content-MD5"


def _newest_blob(service: BlobServiceClient, source: AzureBlobSource, where: str, *, store: str) -> BlobProperties:
    newest: BlobProperties | None = None
    try:
        for blob in service.get_container_client(source.container).list_blobs(name_starts_with=source.prefix or None):
            name = str(blob.name)
            if name.endswith(MANIFEST_SUFFIX) or name.endswith("/"):
                continue
            if not fnmatch.fnmatchcase(name[len(source.prefix):], source.pattern):
                continue
            if newest is None or (blob.last_modified, name) > (newest.last_modified, str(newest.name)):
                newest = blob
    except azure_errors() as exc:
        raise azure_error(store, f"cannot list {where}", exc,
                          missing_hint="check stores.source.account_url and container in the inventory") from None
    if newest is None:
        raise SourceError(f"store {store}: no blob in {where} matches {source.pattern!r}",
                          hint="check stores.source.prefix and pattern (a glob over the name after the prefix), "
                          "or upload the backup")
    return newest


class AzureContainers:
    """A container (or prefix) as the thing verified: `fetch` lists it into work_dir/listing.json."""

    def locate(self, source: AzureContainerSource, *, base_dir: Path, store: str) -> Located:
        path = Path(source.manifest) if Path(source.manifest).is_absolute() else base_dir / source.manifest
        if not path.exists():
            raise SourceError(f"store {store}: manifest {path} (stores.source.manifest) does not exist",
                              hint="capture one (`restoreproof capture azure-blob …`), or fix the path")
        return Located(location=blob_url(source.account_url, source.container, source.prefix),
                       path=Path(source.container), manifest_path=path, modified=datetime.now(UTC),
                       details={"account_url": source.account_url, "container": source.container,
                                "prefix": source.prefix})

    def fetch(self, located: Located, *, store: str, work_dir: Path | None = None) -> Artifact:
        if work_dir is None:
            raise ValueError("a container listing is written into the store's work dir: pass work_dir")
        service = _service(located.details["account_url"], store, f"cannot list {located.location}")
        objects: dict[str, dict[str, object]] = {}
        newest: datetime | None = None
        try:
            container = service.get_container_client(located.details["container"])
            for blob in container.list_blobs(name_starts_with=located.details["prefix"] or None):
                objects[str(blob.name)] = {"bytes": int(blob.size or 0), "etag": str(blob.etag),
                                           "content_md5": content_md5(blob)}
                modified = blob.last_modified.astimezone(UTC)
                newest = modified if newest is None or modified > newest else newest
        except azure_errors() as exc:
            raise azure_error(store, f"cannot list {located.location}", exc,
                              missing_hint="check stores.source.account_url and container in the inventory") from None
        return write_listing(located, objects, newest, work_dir=work_dir, store=store,
                             sha256_of="the container listing (names, sizes, ETags, Content-MD5s)")
