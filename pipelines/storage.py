"""Archive stores chosen by URI scheme, and the local spool that makes uploads lossless.

``ARCHIVE_URI`` is a plain path, ``file://...`` or ``s3://bucket/prefix``; all give the same key
layout (see docs/corpus-format.md). Every file of a run is first written to the spool (a local
folder mirroring the archive keys) and then published; a file leaves the spool only after the
store accepted it, so a failed upload or a killed run loses nothing: the next run publishes what
is left (see :meth:`Spool.pending`).

Store methods block (boto3 does); callers on the reactor run them in a thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)


class Store(Protocol):
    """Where a finished archive lives. Keys use ``/`` and never start with it."""

    uri: str

    def put_file(self, path: Path, key: str) -> None: ...

    def put_bytes(self, data: bytes, key: str) -> None: ...

    def get_bytes(self, key: str) -> bytes | None: ...

    def list_keys(self, prefix: str = "", start_after: str = "") -> list[str]: ...

    def create_exclusive(self, data: bytes, key: str) -> bool:
        """Write ``key`` only if it does not exist, atomically; False when it already exists."""
        ...

    def delete(self, key: str) -> None: ...


def write_atomic(path: Path, data: bytes | None = None, source: Path | None = None) -> None:
    """Write ``data`` (or a copy of ``source``) to ``path`` under a temporary name, then rename:
    a reader sees the whole file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        if source is not None:
            shutil.copyfile(source, tmp)
        else:
            tmp.write_bytes(data or b"")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written temporary file behind
        raise


class FileStore:
    """A folder. Writes go to a temporary name and are renamed, so a key is whole or absent."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.uri = self.root.as_uri()

    @classmethod
    def from_uri(cls, uri: str, **_: Any) -> "FileStore":
        parts = urlsplit(uri)
        return cls(parts.path if parts.scheme == "file" else uri)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"key {key!r} escapes the archive root")
        return path

    def put_file(self, path: Path, key: str) -> None:
        write_atomic(self._path(key), source=path)

    def put_bytes(self, data: bytes, key: str) -> None:
        write_atomic(self._path(key), data)

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def create_exclusive(self, data: bytes, key: str) -> bool:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
        tmp.write_bytes(data)
        try:
            os.link(tmp, dest)  # fails if dest exists: atomic create-if-absent, whole content
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str = "", start_after: str = "") -> list[str]:
        # walk only the folder the prefix names, not the whole archive
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        keys: list[str] = []
        if not base.exists():
            return keys
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith("."):
                    continue
                key = Path(dirpath, name).relative_to(self.root).as_posix()
                if key.startswith(prefix) and key > start_after:
                    keys.append(key)
        return sorted(keys)


class S3Store:
    """An S3 bucket and prefix through boto3; credentials and ``AWS_ENDPOINT_URL`` from the environment.

    Uploads use boto3's managed transfer (multipart above ``multipart_threshold``). A key is
    written once under its final name, so retrying an upload overwrites, never duplicates.
    """

    def __init__(self, bucket: str, prefix: str = "", client: Any = None, multipart_threshold: int = 64 << 20) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.client = client or boto3.client(
            "s3", config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60)
        )
        self.transfer = TransferConfig(multipart_threshold=multipart_threshold, multipart_chunksize=max(multipart_threshold, 5 << 20))

    @classmethod
    def from_uri(cls, uri: str, **kwargs: Any) -> "S3Store":
        parts = urlsplit(uri)
        if not parts.netloc:
            raise ValueError(f"S3 URI without bucket: {uri!r}")
        return cls(parts.netloc, parts.path, **kwargs)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_file(self, path: Path, key: str) -> None:
        self.client.upload_file(str(path), self.bucket, self._key(key), Config=self.transfer)

    def put_bytes(self, data: bytes, key: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get_bytes(self, key: str) -> bytes | None:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            return None
        return obj["Body"].read()

    def create_exclusive(self, data: bytes, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:  # S3 conditional write: refused when the key exists
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def list_keys(self, prefix: str = "", start_after: str = "") -> list[str]:
        full = self._key(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": full}
        if start_after:
            kwargs["StartAfter"] = self._key(start_after)
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(**kwargs):
            keys.extend(obj["Key"][strip:] for obj in page.get("Contents", []))
        return keys


STORE_SCHEMES: dict[str, Callable[..., Store]] = {
    "": FileStore.from_uri,
    "file": FileStore.from_uri,
    "s3": S3Store.from_uri,
}


def open_store(uri: str, **kwargs: Any) -> Store:
    scheme = urlsplit(uri).scheme
    if len(scheme) == 1:  # a Windows drive letter, not a scheme
        scheme = ""
    try:
        factory = STORE_SCHEMES[scheme]
    except KeyError:
        raise ValueError(f"unsupported archive URI scheme {scheme!r} in {uri!r}; use a path, file:// or s3://") from None
    return factory(uri, **kwargs)


class Spool:
    """Local staging folder for one archive: files wait here, under their archive key, until published."""

    def __init__(self, root: Path, archive_uri: str) -> None:
        digest = hashlib.sha256(archive_uri.encode()).hexdigest()[:12]
        self.dir = Path(root).resolve() / digest
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "ARCHIVE_URI").write_text(archive_uri + "\n")

    def path(self, key: str) -> Path:
        path = self.dir / key
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def put(self, key: str, data: bytes) -> None:
        """Stage ``data`` under ``key``, whole or not at all."""
        write_atomic(self.dir / key, data)

    def pending(self, under: str = "") -> Iterator[str]:
        """Keys of files waiting for upload (``.open`` WARCs and temp files excluded)."""
        base = self.dir / under if under else self.dir
        if not base.exists():
            return
        for dirpath, _, filenames in os.walk(base):
            for name in sorted(filenames):
                if name.endswith(".open") or name.startswith(".") or name == "ARCHIVE_URI" or name.endswith(".lock"):
                    continue
                yield Path(dirpath, name).relative_to(self.dir).as_posix()


def publish_file(store: Store, spool: Spool, key: str, retries: int = 5, backoff: float = 1.0) -> bool:
    """Upload one spooled file; delete it from the spool only once the store has it.

    Returns False (file kept in the spool for the next run) after ``retries`` failures.
    """
    path = spool.dir / key
    for attempt in range(1, retries + 1):
        try:
            store.put_file(path, key)
        except Exception as exc:  # boto3/OSError: any failure keeps the file
            if attempt == retries:
                logger.error("upload of %s to %s failed %d times (%s); kept in spool %s", key, store.uri, attempt, exc, path)
                return False
            delay = backoff * 2 ** (attempt - 1)
            logger.warning("upload of %s failed (%s); retry %d/%d in %.1fs", key, exc, attempt, retries, delay)
            time.sleep(delay)
        else:
            path.unlink()
            return True
    return False
