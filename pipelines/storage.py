"""Archive stores chosen by URI scheme, and the local spool that makes uploads lossless.

``ARCHIVE_URI`` is a plain path, ``file://...`` or ``s3://bucket/prefix``; all give the same key
layout (see docs/corpus-format.md). Every file of a run is first written to the spool (a local
folder mirroring the archive keys) and then published; a file leaves the spool only after the
store accepted it, so a failed upload or a killed run loses nothing: the next run publishes what
is left (see :meth:`Spool.pending`).

Store methods block (boto3 does); callers on the reactor run them in a thread. Uploads go through
one :class:`Uploader` per run: the only retry layer, with one time budget for the whole run.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)


class Store(Protocol):
    """Where a finished archive lives. Keys use ``/`` and never start with it."""

    uri: str

    def check(self) -> None:
        """Raise (:class:`BucketMissing` or the store's error) when the archive cannot be written at all."""
        ...

    def put_file(self, path: Path, key: str, progress: Callable[[int], None] | None = None) -> None:
        """Upload ``path`` as ``key``; ``progress(n)`` is called as bytes go out (stall detection)."""
        ...

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

    def check(self) -> None:
        """Nothing to check: folders are created as files arrive."""

    def put_file(self, path: Path, key: str, progress: Callable[[int], None] | None = None) -> None:
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


class BucketMissing(RuntimeError):
    """The archive's bucket does not exist: retrying cannot help, the run says so in one line."""


def _error_code(exc: BaseException | None) -> str:
    """The S3 error code of ``exc`` or of the ClientError it wraps (boto3's S3UploadFailedError does)."""
    while exc is not None:
        response = getattr(exc, "response", None)
        if isinstance(response, dict):
            return str(response.get("Error", {}).get("Code", ""))
        exc = exc.__cause__ or exc.__context__
    return ""


class S3Store:
    """An S3 bucket and prefix through boto3; credentials and ``AWS_ENDPOINT_URL`` from the environment.

    Uploads use boto3's managed transfer (multipart above ``multipart_threshold``). A key is
    written once under its final name, so retrying an upload overwrites, never duplicates.
    Uploads get one attempt from botocore (:class:`Uploader` is their one retry layer, with a time
    budget); reads, listings and the lock keep botocore's few standard retries, nothing else retries them.
    """

    def __init__(self, bucket: str, prefix: str = "", client: Any = None, multipart_threshold: int = 64 << 20) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.client = client or boto3.client(
            "s3", config=Config(retries={"total_max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=60)
        )
        self.upload_client = client or boto3.client(
            "s3", config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=10, read_timeout=60)
        )
        self.endpoint: str = self.client.meta.endpoint_url
        self.transfer = TransferConfig(multipart_threshold=multipart_threshold, multipart_chunksize=max(multipart_threshold, 5 << 20))

    @classmethod
    def from_uri(cls, uri: str, **kwargs: Any) -> "S3Store":
        parts = urlsplit(uri)
        if not parts.netloc:
            raise ValueError(f"S3 URI without bucket: {uri!r}")
        return cls(parts.netloc, parts.path, **kwargs)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _missing(self) -> BucketMissing:
        return BucketMissing(f"bucket {self.bucket!r} does not exist at {self.endpoint}")

    def check(self) -> None:
        """A cheap HEAD of the bucket: a missing one fails the run at its start, in one line."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            if _error_code(exc) in ("404", "NoSuchBucket"):
                raise self._missing() from None
            raise

    def put_file(self, path: Path, key: str, progress: Callable[[int], None] | None = None) -> None:
        try:
            self.upload_client.upload_file(str(path), self.bucket, self._key(key), Config=self.transfer, Callback=progress)
        except Exception as exc:
            if _error_code(exc) == "NoSuchBucket":
                raise self._missing() from None
            raise

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


def _secs(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


class Uploader:
    """Publishes spooled files to a store: the one retry layer for uploads, with one budget per run.

    An outage starts at the first failed (or stalled) upload since the store last accepted one and
    is shared by every upload of the run: each retries with capped exponential backoff until the
    outage has lasted ``deadline`` seconds; then no upload tries again in this run, their files stay
    in the spool (the next run publishes them) and :attr:`problem` says why. A missing bucket ends it
    at once. A file leaves the spool only once the store has it.

    The operator hears of an outage from a watchdog thread, not from each file: a warning once
    uploads have failed for a couple of seconds, or once one has made no progress for
    ``stall_warning`` seconds (a paused server answers nothing and raises nothing), repeated every
    ``warn_every`` seconds while it lasts, and one line when the store accepts uploads again.
    """

    NOTICE_AFTER = 2.0  # seconds of failures before a warning: a single retried blip is not an outage

    def __init__(self, store: Store, spool: Spool, deadline: float, backoff: float = 1.0, stall_warning: float = 10.0,
                 threads: int = 4, max_backoff: float = 30.0, warn_every: float = 30.0) -> None:
        self.store, self.spool = store, spool
        self.deadline, self.backoff, self.max_backoff = deadline, backoff, max_backoff
        self.stall_warning, self.threads, self.warn_every = stall_warning, max(1, threads), warn_every
        endpoint = getattr(store, "endpoint", None)
        self.target = f"{store.uri} (endpoint {endpoint})" if endpoint else store.uri
        #: why uploads stopped for the rest of the run (deadline spent, bucket missing); None: they go on
        self.problem: str | None = None
        self._cond = threading.Condition()
        self._active: dict[int, list[Any]] = {}  # attempt -> [key, monotonic time of its last progress]
        self._ids = itertools.count()
        self._outstanding = 0  # uploads submitted and not finished (queued, running or backing off)
        self._failing_since: float | None = None  # start of the current outage
        self._failed = False  # the current outage has failures, not only stalls
        self._last_error = ""
        self._last_ok = float("-inf")  # when the store last accepted an upload
        self._warned_at: float | None = None  # last warning of the current outage
        self._accepted = 0  # uploads the store accepted: wakes retries waiting out their backoff
        self._pool: ThreadPoolExecutor | None = None
        self._watchdog: threading.Thread | None = None

    # ------------------------------------------------------------------ entry points

    def publish(self, key: str) -> bool:
        """Upload one spooled file (blocking); True once the store has it, False: it stays in the spool."""
        self._enter(1)
        return self._counted(key)

    def submit(self, key: str) -> Future[bool]:
        """:meth:`publish` in the background (``threads`` at a time)."""
        with self._cond:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="archive-upload")
        self._enter(1)
        return self._pool.submit(self._counted, key)

    def publish_all(self, keys: Iterable[str]) -> bool:
        """Upload ``keys`` in parallel (``threads`` at a time) and wait; True when the store has them all."""
        keys = list(keys)
        if len(keys) <= 1 or self.threads == 1:
            return all([self.publish(k) for k in keys])
        self._enter(len(keys))
        with ThreadPoolExecutor(max_workers=min(self.threads, len(keys)), thread_name_prefix="archive-publish") as pool:
            return all(list(pool.map(self._counted, keys)))

    def shutdown(self) -> None:
        """Wait for the submitted uploads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    # ------------------------------------------------------------------ one upload

    def _enter(self, n: int) -> None:
        with self._cond:
            self._outstanding += n
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, name="archive-upload-watchdog", daemon=True)
                self._watchdog.start()

    def _counted(self, key: str) -> bool:
        try:
            return self._publish(key)
        finally:
            with self._cond:
                self._outstanding -= 1

    def _publish(self, key: str) -> bool:
        path = self.spool.dir / key
        attempt = 0
        while True:
            if not path.exists():  # a local loss, not an outage of the store: it must not spend the budget
                logger.error("spooled file %s is gone; it cannot be published", path)
                return False
            with self._cond:
                if self.problem is not None:
                    return False
                token, entry = next(self._ids), [key, time.monotonic()]
                self._active[token] = entry

            def progress(_: int, entry: list[Any] = entry) -> None:
                entry[1] = time.monotonic()

            try:
                self.store.put_file(path, key, progress)
            except BucketMissing as exc:
                with self._cond:
                    self._active.pop(token, None)
                self._give_up(f"{exc}: uploads stop")
                return False
            except Exception as exc:  # boto3, connection, OSError: any failure keeps the file
                logger.debug("upload of %s to %s failed (attempt %d): %s", key, self.store.uri, attempt + 1, exc)
                delay = self._note_failure(token, entry[1], exc, attempt)
                if delay is None:
                    return False
                with self._cond:  # wait out the backoff; an upload the store accepts meanwhile ends it
                    accepted = self._accepted
                    self._cond.wait_for(lambda: self.problem is not None or self._accepted != accepted, timeout=delay)
                attempt += 1
            else:
                self._note_success(token)
                path.unlink()
                return True

    def _note_failure(self, token: int, last_progress: float, exc: Exception, attempt: int) -> float | None:
        """Count a failure in the outage (from the attempt's last progress: a long upload that moved
        until it broke is not an outage of its length); the backoff before the next attempt, or None:
        budget spent."""
        with self._cond:
            self._active.pop(token, None)
            now = time.monotonic()
            if self._failing_since is None:
                self._failing_since = max(last_progress, self._last_ok)
            self._failed = True
            self._last_error = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]
            lasted = now - self._failing_since
            if lasted < self.deadline:
                return min(self.max_backoff, self.backoff * 2**attempt, self.deadline - lasted)
        self._give_up(self._spent(lasted))
        return None

    def _note_success(self, token: int) -> None:
        with self._cond:
            self._active.pop(token, None)
            now = time.monotonic()
            self._last_ok, self._accepted = now, self._accepted + 1
            since, warned = self._failing_since, self._warned_at is not None
            self._failing_since, self._failed, self._warned_at = None, False, None
            self._cond.notify_all()
        if since is not None and warned and self.problem is None:
            logger.warning("uploads to %s recovered after %s: the store accepts uploads again", self.target, _secs(now - since))

    def _spent(self, lasted: float) -> str:
        how = f"failed for {_secs(lasted)}" if self._failed else f"stalled for {_secs(lasted)}"
        last = f"; last error: {self._last_error}" if self._failed else ""
        return f"uploads to {self.target} {how} (ARCHIVE_UPLOAD_DEADLINE {self.deadline:g} s){last}"

    def _give_up(self, reason: str) -> None:
        with self._cond:
            if self.problem is not None:
                return
            self.problem = reason
            self._cond.notify_all()
        logger.error("%s; no more uploads in this run: files stay in the spool %s for the next run", reason, self.spool.dir)

    # ------------------------------------------------------------------ the operator's view

    def _watch(self) -> None:
        """Notice stalls, give up when the budget is spent, warn at most every ``warn_every`` seconds."""
        tick = max(0.05, min(1.0, self.stall_warning / 4))
        while True:
            time.sleep(tick)
            message = spent = None
            with self._cond:
                if self._outstanding == 0:
                    self._watchdog = None
                    return
                if self.problem is not None:
                    continue
                now = time.monotonic()
                # an upload with no progress for stall_warning seconds, and nothing accepted since it last moved
                quiet = [e[1] for e in self._active.values() if now - e[1] >= self.stall_warning and e[1] >= self._last_ok]
                if quiet and self._failing_since is None:
                    self._failing_since = min(quiet)
                if self._failing_since is None:
                    continue
                lasted = now - self._failing_since
                if lasted >= self.deadline:
                    spent = self._spent(lasted)
                elif (self._warned_at is None and (lasted >= self.NOTICE_AFTER or quiet)) or (
                        self._warned_at is not None and now - self._warned_at >= self.warn_every):
                    self._warned_at = now
                    stalled = sum(1 for e in self._active.values() if now - e[1] >= self.stall_warning)
                    if self._failed:
                        what = f"failing for {_secs(lasted)} ({self._last_error})"
                    else:
                        what = f"stalled for {_secs(lasted)} ({stalled} upload(s) in progress got no answer)"
                    message = (f"uploads to {self.target} {what}; {self._outstanding} file(s) waiting; "
                               f"retrying until ARCHIVE_UPLOAD_DEADLINE ({self.deadline:g} s) is spent")
            if spent is not None:
                self._give_up(spent)
            elif message is not None:
                logger.warning("%s", message)
