"""Stores behind one interface: a folder and S3 (moto's server mode over HTTP) give the same keys."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from pipelines.storage import FileStore, S3Store, Spool, open_store, publish_file


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
    assert publish_file(store, spool, key, retries=2, backoff=0.01) is False
    assert list(spool.pending()) == [key]
    client.create_bucket(Bucket="bucket-created-later")
    assert publish_file(store, spool, key, retries=2, backoff=0.01) is True
    assert list(spool.pending()) == []
    assert store.get_bytes(key) == b"warc bytes"


def test_multipart_upload_of_a_large_file(tmp_path: Path, s3_bucket: str) -> None:
    store = S3Store(s3_bucket, "", client=boto3.client("s3"), multipart_threshold=5 << 20)
    big = tmp_path / "big.warc.gz"
    big.write_bytes(bytes(range(256)) * (12 << 12))  # 12 MiB: three parts
    store.put_file(big, "runs/x/warc/big.warc.gz")
    head = boto3.client("s3").head_object(Bucket=s3_bucket, Key="runs/x/warc/big.warc.gz")
    assert head["ContentLength"] == big.stat().st_size
    assert head["ETag"].strip('"').endswith("-3"), "a multipart upload's ETag counts its parts"
    assert store.get_bytes("runs/x/warc/big.warc.gz") == big.read_bytes()
