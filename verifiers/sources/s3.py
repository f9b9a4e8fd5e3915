"""Backups in S3: the newest object under a prefix whose key matches a glob, streamed to the store's work dir.

`locate` lists the prefix (paginated) and downloads only the small manifest beside the artifact, because the
plan needs it; `fetch` downloads the artifact with boto3's managed download (`download_file`: ranged GETs in
parallel above a threshold, pinned to the version the HEAD saw), then reads the file once, in chunks, for its
sha256 and the object's own S3 checksum. An S3 checksum is compared only when it covers the whole object: a
COMPOSITE (multipart) checksum or a multipart ETag (`…-N`) is not a hash of the content and is never
treated as one; a single-part ETag is the content's MD5 unless the object is KMS- or customer-key-encrypted.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError, FlexibleChecksumError

from verifiers import progress
from verifiers.aws import (
    DOWNLOAD_PART,
    DOWNLOAD_THRESHOLD,
    describe_error,
    error_code,
    permission_hint,
    s3_client,
    transfer_cause,
    transfer_config,
    transfer_errors,
)
from verifiers.errors import SourceError
from verifiers.manifests import MANIFEST_SUFFIX
from verifiers.sources import CHUNK, Artifact, Located
from verifiers.sources.file import default_manifest_path
from verifiers.sources.object_download import cache_dir
from verifiers.store_settings import S3Source

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig
    from mypy_boto3_s3 import S3Client

READ_ACTIONS = "s3:ListBucket and s3:GetObject on the bucket/prefix (plus kms:Decrypt for SSE-KMS objects)"
_NOT_A_CONTENT_MD5 = {"aws:kms", "aws:kms:dsse"}


class _Checksum(Protocol):
    def update(self, chunk: bytes) -> None: ...

    def b64digest(self) -> str: ...


# The S3 checksums computed here; CRC32C and CRC64NVME are validated by botocore itself (with awscrt).
_CHECKSUMS = ("ChecksumSHA256", "ChecksumSHA1", "ChecksumCRC32")


def _checksum(name: str) -> _Checksum:
    # imported here: botocore.httpchecksum pulls in most of botocore (~0.4 s), too much for every CLI start
    from botocore.httpchecksum import Crc32Checksum, Sha1Checksum, Sha256Checksum

    kinds: dict[str, Callable[[], _Checksum]] = {
        "ChecksumSHA256": Sha256Checksum, "ChecksumSHA1": Sha1Checksum, "ChecksumCRC32": Crc32Checksum,
    }
    return kinds[name]()


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @classmethod
    def parse(cls, url: str) -> S3Location:
        bucket, _, key = url.removeprefix("s3://").partition("/")
        if not url.startswith("s3://") or not bucket or not key:
            raise ValueError(f"{url!r} is not an s3://BUCKET/KEY URL")
        return cls(bucket, key)


def source_error(store: str, what: str, exc: Exception, *, missing_hint: str) -> SourceError:
    """An S3 failure named by store and s3:// location, with the fix for its kind (access, missing, other)."""
    hint = permission_hint(exc, READ_ACTIONS)
    if hint is None and isinstance(exc, ClientError) and error_code(exc) in ("NoSuchBucket", "NoSuchKey", "404"):
        hint = missing_hint
    return SourceError(f"store {store}: {what}: {describe_error(exc)}", hint=hint)


def download_manifest(client: S3Client, where: S3Location, *, store: str) -> Path:
    """The manifest object, saved whole (it is small) to the cache; atomically, so a reader never sees half."""
    target = cache_dir() / f"{hashlib.sha256(where.url.encode()).hexdigest()[:16]}-{Path(where.key).name}"
    try:
        body = client.get_object(Bucket=where.bucket, Key=where.key)["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        raise source_error(store, f"cannot read manifest {where.url}", exc,
                           missing_hint="capture backups with their manifest beside them, or set "
                           "stores.source.manifest to its key") from None
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def manifest_file(manifest: str, *, base_dir: Path, store: str, region: str | None,
                  endpoint_url: str | None) -> Path:
    """A manifest named in the inventory: a local path (relative to the inventory) or an s3:// URL, fetched."""
    if manifest.startswith("s3://"):
        try:
            where = S3Location.parse(manifest)
        except ValueError as exc:
            raise SourceError(f"store {store}: stores.source.manifest: {exc}") from None
        return download_manifest(s3_client(region, endpoint_url), where, store=store)
    path = Path(manifest) if Path(manifest).is_absolute() else base_dir / manifest
    if not path.exists():
        raise SourceError(f"store {store}: manifest {path} (stores.source.manifest) does not exist",
                          hint="capture one when the backup is taken (`restoreproof capture …`), or fix the path")
    return path


@dataclass(frozen=True)
class S3Objects:
    transfer: TransferConfig | None = None  # when a download is ranged and in what parts; None: verifiers/aws.py's

    def locate(self, source: S3Source, *, base_dir: Path, store: str) -> Located:
        client = s3_client(source.region, source.endpoint_url)
        newest = _newest_object(client, source, store=store)
        where = S3Location(source.bucket, str(newest["Key"]))
        folder, slash, name = where.key.rpartition("/")
        manifest_key = source.manifest or folder + slash + default_manifest_path(Path(name)).name
        manifest_path = download_manifest(client, S3Location(source.bucket, manifest_key), store=store)
        modified = newest["LastModified"]
        return Located(location=where.url, path=Path(Path(where.key).name), manifest_path=manifest_path,
                       modified=modified.astimezone(UTC) if isinstance(modified, datetime) else datetime.now(UTC),
                       details={"region": client.meta.region_name, "endpoint_url": source.endpoint_url or ""})

    def fetch(self, located: Located, *, store: str, work_dir: Path | None = None) -> Artifact:
        if work_dir is None:
            raise ValueError("an S3 artifact is downloaded into the store's work dir: pass work_dir")
        where = S3Location.parse(located.location)
        target = work_dir / "download" / located.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        client = s3_client(located.details.get("region") or None, _endpoint_of(located))
        transfer = self.transfer or transfer_config(threshold=DOWNLOAD_THRESHOLD, part=DOWNLOAD_PART)
        try:
            head = client.head_object(Bucket=where.bucket, Key=where.key, ChecksumMode="ENABLED")
            download = progress.task("bytes", total=head["ContentLength"])
            client.download_file(where.bucket, where.key, str(target), ExtraArgs=_pinned(head),
                                 Callback=download.advance, Config=transfer)
            digest, size, verified = _hash_file(target, head)
        except OSError as exc:
            raise SourceError(f"store {store}: cannot write {where.url} to {target}: {exc.strerror}",
                              hint="free disk space in the work dir (--work-dir) or point it elsewhere") from None
        except transfer_errors() as exc:
            raise _download_error(store, where, transfer_cause(exc)) from None
        if verified.startswith("MISMATCH"):
            raise SourceError(f"store {store}: {where.url} {verified}",
                              hint="the download is corrupt or the object was overwritten while reading; run again")
        return Artifact(location=located.location, path=target, sha256=digest, bytes=size,
                        modified=located.modified, manifest_path=located.manifest_path,
                        details={"s3_checksum": verified, **_version(head)})


def _download_error(store: str, where: S3Location, cause: Exception) -> SourceError:
    if isinstance(cause, FlexibleChecksumError):  # botocore's own check of the S3 checksum of a whole-object GET
        return SourceError(f"store {store}: {where.url} does not match its S3 checksum: {cause}",
                           hint="the object or the transfer is corrupt; download it again, and if it persists "
                           "restore from an older backup")
    return source_error(store, f"cannot download {where.url}", cause,
                        missing_hint="the object was deleted after it was listed; run again")


def _version(response: Any) -> dict[str, str]:
    return {"version_id": str(response["VersionId"])} if response.get("VersionId") else {}


def _pinned(head: Any) -> dict[str, str]:
    """The version the HEAD saw, as download_file's ExtraArgs: every ranged GET then reads that one."""
    return {"VersionId": str(head["VersionId"])} if head.get("VersionId") not in (None, "", "null") else {}


def _endpoint_of(located: Located) -> str | None:
    return located.details.get("endpoint_url") or None


def _newest_object(client: S3Client, source: S3Source, *, store: str) -> dict[str, Any]:
    newest: dict[str, Any] | None = None
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=source.bucket, Prefix=source.prefix)
    try:
        for page in pages:
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith(MANIFEST_SUFFIX) or key.endswith("/"):
                    continue
                if not fnmatch.fnmatchcase(key[len(source.prefix):], source.pattern):
                    continue
                if newest is None or (obj["LastModified"], key) > (newest["LastModified"], newest["Key"]):
                    newest = dict(obj)
    except (ClientError, BotoCoreError) as exc:
        raise source_error(store, f"cannot list s3://{source.bucket}/{source.prefix}", exc,
                           missing_hint="check stores.source.bucket and region in the inventory") from None
    if newest is None:
        raise SourceError(
            f"store {store}: no object in s3://{source.bucket}/{source.prefix} matches {source.pattern!r}",
            hint="check stores.source.prefix and pattern (a glob over the key after the prefix), or upload the backup",
        )
    return newest


def _hash_file(target: Path, head: Any) -> tuple[str, int, str]:
    """Read the downloaded file chunk by chunk (its ranges came in any order); the sha256, the size, and how
    the S3 checksum the HEAD gave compared."""
    sha256 = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    algorithm = next((name for name in _CHECKSUMS if head.get(name)), None)
    s3_sum = _checksum(algorithm) if algorithm and _whole_object(head, algorithm) else None
    size = 0
    with target.open("rb") as downloaded:
        while chunk := downloaded.read(CHUNK):
            sha256.update(chunk)
            md5.update(chunk)
            if s3_sum is not None:
                s3_sum.update(chunk)
            size += len(chunk)
    return sha256.hexdigest(), size, _compare(head, algorithm, s3_sum, md5.hexdigest(), size)


def _whole_object(head: Any, algorithm: str) -> bool:
    """Whether the object's S3 checksum covers its whole content, as ChecksumType says; where the answer does not
    say (older S3 APIs, moto's HEAD), only a single-part object's checksum is taken for one."""
    kind = head.get("ChecksumType")
    if kind:
        return bool(kind == "FULL_OBJECT")
    return "-" not in str(head.get("ETag", "")) and "-" not in str(head.get(algorithm, ""))


def _compare(response: Any, algorithm: str | None, s3_sum: _Checksum | None, md5: str, size: int) -> str:
    expected_size = response.get("ContentLength")
    if isinstance(expected_size, int) and expected_size != size:
        return f"MISMATCH: {size} bytes downloaded, S3 says {expected_size}"
    name = (algorithm or "").removeprefix("Checksum")
    if algorithm and s3_sum is not None:
        if s3_sum.b64digest() != response[algorithm]:
            return f"MISMATCH: {name} {s3_sum.b64digest()} downloaded, S3 says {response[algorithm]}"
        return f"{name} matches S3"
    if algorithm:
        return f"{name} composite checksum of the parts (validated per part by S3, not a content hash)"
    etag = str(response.get("ETag", "")).strip('"')
    encrypted = response.get("ServerSideEncryption") in _NOT_A_CONTENT_MD5 or response.get("SSECustomerAlgorithm")
    if etag and "-" not in etag and not encrypted:
        if etag != md5:
            return f"MISMATCH: MD5 {md5} downloaded, single-part ETag says {etag}"
        return "MD5 matches the single-part ETag"
    return "not compared: no S3 checksum, and a multipart or KMS ETag is not a content hash"
