"""Stores behind one interface: a folder and S3 (moto's server mode over HTTP) give the same keys."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest

from pipelines.runlock import RunLock
from pipelines.storage import BucketMissing, FileStore, S3Store, Spool, Uploader, open_store
from tests.tcpproxy import TcpProxy


def exercise(store) -> list[str]:
    store.put_bytes(b"one", "runs/2026-11-24/orda/r1/a.txt")
    store.put_bytes(b"two", "runs/2026-11-25/orda/r2/b.txt")
    store.put_bytes(b"three", "state/orda/archived/r2.txt")
    assert store.get_bytes("runs/2026-11-24/orda/r1/a.txt") == b"one"
    assert store.get_bytes("runs/missing") is None
    # "everything since yesterday" is one listing
    assert store.list_keys("runs/", start_after="runs/2026-11-25") == ["runs/2026-11-25/orda/r2/b.txt"]
    store.put_bytes(b"one again", "runs/2026-11-24/orda/r1/a.txt")  # idempotent: same key, no second copy
    return store.list_keys()


def test_file_and_s3_stores_give_the_same_layout(tmp_path: Path, s3_bucket: str) -> None:
    local = exercise(open_store(str(tmp_path / "archive")))
    s3 = exercise(open_store(f"s3://{s3_bucket}/corpus"))
    assert local == s3 == ["runs/2026-11-24/orda/r1/a.txt", "runs/2026-11-25/orda/r2/b.txt", "state/orda/archived/r2.txt"]
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert all(k.startswith("corpus/") for k in keys)


def test_uri_schemes() -> None:
    assert isinstance(open_store("./archive"), FileStore)
    assert isinstance(open_store("file:///tmp/archive"), FileStore)
    assert open_store("file:///tmp/archive").uri == "file:///tmp/archive"
    with pytest.raises(ValueError, match="unsupported"):
        open_store("ftp://host/x")


def test_file_store_refuses_keys_outside_its_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        FileStore(tmp_path).put_bytes(b"x", "../escape")


def test_failed_upload_stays_in_spool_until_a_later_publish(tmp_path: Path, s3_endpoint: str) -> None:
    client = boto3.client("s3")
    store = S3Store("bucket-created-later", "p", client=client)
    spool = Spool(tmp_path / "spool", store.uri)
    key = "runs/2026-11-25/orda/r1/warc/x.warc.gz"
    spool.path(key).write_bytes(b"warc bytes")
    uploader = Uploader(store, spool, deadline=30, backoff=0.01)
    assert uploader.publish(key) is False, "a missing bucket: no retries, the file stays"
    assert list(spool.pending()) == [key]
    assert uploader.problem and "'bucket-created-later' does not exist" in uploader.problem
    client.create_bucket(Bucket="bucket-created-later")
    assert Uploader(store, spool, deadline=30, backoff=0.01).publish(key) is True, "the next run publishes it"
    assert list(spool.pending()) == []
    assert store.get_bytes(key) == b"warc bytes"


def test_a_missing_bucket_is_named_at_the_check_and_at_an_upload(tmp_path: Path, s3_bucket: str) -> None:
    store = open_store(f"s3://{s3_bucket}/corpus")
    store.check()
    gone = open_store("s3://no-such-bucket-here/corpus")
    with pytest.raises(BucketMissing, match=r"bucket 'no-such-bucket-here' does not exist at http://127\.0\.0\.1:\d+"):
        gone.check()
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(BucketMissing, match="no-such-bucket-here"):
        gone.put_file(tmp_path / "f", "k")
    FileStore(tmp_path / "archive").check()  # a folder has nothing to check


class FlakyStore:
    """A folder store whose uploads fail, hang or find no bucket while the test says so."""

    def __init__(self, root: Path, mode: str = "ok") -> None:
        self.inner = FileStore(root)
        self.uri = self.inner.uri
        self.mode = mode
        self.attempts: Counter[str] = Counter()
        self.released = threading.Event()  # ends a hang
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def put_file(self, path: Path, key: str, progress: Any = None) -> None:
        with self._lock:
            self.attempts[key] += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            if self.mode == "fail":
                raise ConnectionRefusedError("connection refused")
            if self.mode == "missing":
                raise BucketMissing("bucket 'gone' does not exist at http://example.invalid")
            if self.mode == "hang":
                assert self.released.wait(30)
            elif self.mode == "slow":
                time.sleep(0.2)
            self.inner.put_file(path, key)
        finally:
            with self._lock:
                self.running -= 1


def spooled(tmp_path: Path, store: Any, n: int) -> tuple[Spool, list[str]]:
    spool = Spool(tmp_path / "spool", store.uri)
    keys = [f"runs/2026-11-25/orda/r1/text/{i:03d}_x.txt" for i in range(n)]
    for key in keys:
        spool.path(key).write_bytes(key.encode())
    return spool, keys


def wait_for(condition: Any, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def messages(caplog: pytest.LogCaptureFixture, level: int = logging.WARNING) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "pipelines.storage" and r.levelno >= level]


def test_an_outage_shorter_than_the_deadline_is_retried_through_and_reported_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    store = FlakyStore(tmp_path / "archive", mode="fail")
    spool, keys = spooled(tmp_path, store, 6)
    uploader = Uploader(store, spool, deadline=60, backoff=0.05, threads=2)
    futures = [uploader.submit(k) for k in keys]
    wait_for(lambda: any("failing for" in m for m in messages(caplog)))
    store.mode = "ok"
    assert all(f.result(timeout=60) for f in futures)
    uploader.shutdown()
    assert list(spool.pending()) == [] and uploader.problem is None
    assert sorted(store.inner.list_keys()) == keys
    lines = messages(caplog)
    failing = [m for m in lines if "failing for" in m]
    assert len(failing) == 1, "one warning for the outage, not one per file or attempt"
    assert store.inner.uri in failing[0] and "ConnectionRefusedError" in failing[0] and "ARCHIVE_UPLOAD_DEADLINE" in failing[0]
    assert len([m for m in lines if "recovered after" in m]) == 1
    assert len(lines) == 2


def test_a_spent_budget_stops_every_upload_and_keeps_the_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = FlakyStore(tmp_path / "archive", mode="fail")
    spool, keys = spooled(tmp_path, store, 5)
    uploader = Uploader(store, spool, deadline=0.5, backoff=0.05, threads=3)
    assert uploader.publish_all(keys) is False
    assert sorted(spool.pending()) == keys, "every file stays in the spool for the next run"
    assert uploader.problem and "failed for" in uploader.problem and "ARCHIVE_UPLOAD_DEADLINE 0.5 s" in uploader.problem
    assert "ConnectionRefusedError" in uploader.problem
    tried = sum(store.attempts.values())
    store.mode = "ok"
    assert uploader.publish(keys[0]) is False, "once spent, no upload of this run tries again"
    assert sum(store.attempts.values()) == tried
    assert len([m for m in messages(caplog, logging.ERROR)]) == 1, "one line says the uploads stopped"


def test_a_success_ends_the_outage_so_a_flaky_store_never_spends_the_budget(tmp_path: Path) -> None:
    class EveryOther(FlakyStore):
        def put_file(self, path: Path, key: str, progress: Any = None) -> None:
            self.mode = "fail" if sum(self.attempts.values()) % 2 == 0 else "ok"
            super().put_file(path, key, progress)

    store = EveryOther(tmp_path / "archive")
    spool, keys = spooled(tmp_path, store, 10)
    uploader = Uploader(store, spool, deadline=1.5, backoff=0.25, threads=1)
    # ten failures of 0.25 s each add up to more than the deadline; no single outage comes near it
    assert all(uploader.publish(k) for k in keys), "each failure is followed by a success: the clock starts again"
    assert uploader.problem is None and list(spool.pending()) == []


def test_a_long_upload_that_moved_until_it_broke_does_not_count_as_a_long_outage(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class BreaksLate(FlakyStore):
        def put_file(self, path: Path, key: str, progress: Any = None) -> None:
            if not self.attempts[key]:
                self.attempts[key] += 1
                for _ in range(20):  # bytes flow for longer than the deadline, then the connection breaks
                    progress(1 << 20)
                    time.sleep(0.05)
                raise ConnectionResetError("connection reset by peer")
            super().put_file(path, key, progress)

    store = BreaksLate(tmp_path / "archive")
    spool, keys = spooled(tmp_path, store, 1)
    uploader = Uploader(store, spool, deadline=0.5, backoff=0.01, stall_warning=0.3)
    assert uploader.publish(keys[0]) is True and uploader.problem is None
    assert store.attempts[keys[0]] == 2
    assert not [m for m in messages(caplog) if "stalled" in m], "an upload that moves is not stalled, however long it takes"


def test_a_missing_bucket_stops_uploads_at_once_without_retries(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = FlakyStore(tmp_path / "archive", mode="missing")
    spool, keys = spooled(tmp_path, store, 4)
    uploader = Uploader(store, spool, deadline=300, backoff=5, threads=1)
    assert uploader.publish_all(keys) is False
    assert sum(store.attempts.values()) == 1, "the first failure gives up: no retry, no other file tried"
    assert sorted(spool.pending()) == keys
    assert uploader.problem == "bucket 'gone' does not exist at http://example.invalid: uploads stop"
    assert messages(caplog) == [f"{uploader.problem}; no more uploads in this run: files stay in the spool {spool.dir} for the next run"]


def test_a_stalled_upload_is_reported_and_so_is_its_recovery(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = FlakyStore(tmp_path / "archive", mode="hang")
    spool, keys = spooled(tmp_path, store, 2)
    uploader = Uploader(store, spool, deadline=60, stall_warning=0.3, threads=2)
    futures = [uploader.submit(k) for k in keys]
    try:
        wait_for(lambda: any("stalled for" in m for m in messages(caplog)))
    finally:
        store.released.set()
    stalled = [m for m in messages(caplog) if "stalled for" in m]
    assert len(stalled) == 1 and store.inner.uri in stalled[0] and "upload(s) in progress got no answer" in stalled[0]
    assert all(f.result(timeout=30) for f in futures)
    uploader.shutdown()
    assert list(spool.pending()) == []
    assert len([m for m in messages(caplog) if "recovered after" in m]) == 1


def test_a_stall_longer_than_the_deadline_spends_the_budget(tmp_path: Path) -> None:
    store = FlakyStore(tmp_path / "archive", mode="hang")
    spool, keys = spooled(tmp_path, store, 3)
    uploader = Uploader(store, spool, deadline=0.5, stall_warning=0.2, threads=1)
    futures = [uploader.submit(k) for k in keys]
    try:
        wait_for(lambda: uploader.problem is not None)
    finally:
        store.released.set()
    assert "stalled for" in uploader.problem and "ARCHIVE_UPLOAD_DEADLINE 0.5 s" in uploader.problem
    # the hung upload ends after all; the files queued behind it are not tried
    assert [f.result(timeout=30) for f in futures] == [True, False, False]
    assert store.attempts[keys[1]] == store.attempts[keys[2]] == 0
    assert sorted(spool.pending()) == keys[1:]


def test_publish_all_uploads_in_parallel(tmp_path: Path) -> None:
    store = FlakyStore(tmp_path / "archive", mode="slow")
    spool, keys = spooled(tmp_path, store, 8)
    assert Uploader(store, spool, deadline=60, threads=4).publish_all(keys) is True
    assert store.most_at_once > 1
    assert list(spool.pending()) == [] and sorted(store.inner.list_keys()) == keys


def test_botocore_makes_one_attempt_per_upload_so_ours_is_the_only_retry_layer(tmp_path: Path, s3_bucket: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with TcpProxy.to_url(s3_endpoint) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        store = open_store(f"s3://{s3_bucket}/corpus")
        spool, keys = spooled(tmp_path, store, 1)
        proxy.refuse()
        before = proxy.accepted
        assert Uploader(store, spool, deadline=0).publish(keys[0]) is False
        assert proxy.accepted - before == 1, "one connection: botocore did not retry behind our back"
        proxy.forward()
        assert Uploader(store, spool, deadline=0).publish(keys[0]) is True


def test_multipart_upload_of_a_large_file(tmp_path: Path, s3_bucket: str) -> None:
    store = S3Store(s3_bucket, "", client=boto3.client("s3"), multipart_threshold=5 << 20)
    big = tmp_path / "big.warc.gz"
    big.write_bytes(bytes(range(256)) * (12 << 12))  # 12 MiB: three parts
    store.put_file(big, "runs/x/warc/big.warc.gz")
    head = boto3.client("s3").head_object(Bucket=s3_bucket, Key="runs/x/warc/big.warc.gz")
    assert head["ContentLength"] == big.stat().st_size
    assert head["ETag"].strip('"').endswith("-3"), "a multipart upload's ETag counts its parts"
    assert store.get_bytes("runs/x/warc/big.warc.gz") == big.read_bytes()


class FlakyLockStore(FileStore):
    """A file store whose writes fail while ``down`` is set (an S3 outage seen by the lock)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.down = threading.Event()
        self.refreshes = 0

    def put_bytes(self, data: bytes, key: str) -> None:
        if self.down.is_set():
            raise ConnectionError("store unreachable")
        self.refreshes += 1
        super().put_bytes(data, key)


def test_the_run_lock_keeps_refreshing_after_a_store_outage(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A refresh that fails must not end the refreshing: else the lock expires under a live run."""
    store = FlakyLockStore(tmp_path / "archive")
    lock = RunLock(store, "orda", "run-1", ttl=0.3)
    lock.acquire()
    try:
        store.down.set()
        wait_for(lambda: any("could not refresh lock" in r.getMessage() for r in caplog.records if r.name == "pipelines.runlock"))
        store.down.clear()
        before = store.refreshes
        wait_for(lambda: store.refreshes > before)
        assert (lock.holder() or {}).get("run_id") == "run-1"
    finally:
        lock.release()
    assert lock.holder() is None
