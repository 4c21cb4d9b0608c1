"""Session services on loopback: the outlets' fixture mirrors and moto's S3 server; crawl helpers.

Crawls run as real ``scrapy crawl`` subprocesses (Scrapy's asyncio reactor, as in production);
in-process tests only touch pure code.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.dev.mirror import MirrorServer, serve
from pipelines.crawljob import mirror_crawl_command
from tests.tcpproxy import TcpProxy

ROOT = Path(__file__).resolve().parent.parent
SITES = ROOT / "tests" / "sites"
GOLDEN = ROOT / "tests" / "golden"
SHARED = ROOT.parent / "shared"
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto in server mode: a real S3 HTTP API on loopback."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    old = {k: os.environ.get(k) for k in [*S3_ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update(S3_ENV)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    yield endpoint
    server.stop()
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture()
def s3_proxy(s3_endpoint: str) -> Iterator[TcpProxy]:
    """moto's S3 server behind a TCP proxy the test can make refuse or pause (tests/tcpproxy.py)."""
    with TcpProxy.to_url(s3_endpoint) as p:
        yield p


@pytest.fixture()
def s3_bucket(s3_endpoint: str) -> str:
    """A new empty bucket for each test."""
    import uuid

    import boto3

    name = f"archive-{uuid.uuid4().hex[:16]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=name)
    return name


REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture()
def redis_ns() -> Iterator[str]:
    """A unique name for a test's Redis keys (dedup namespace, frontier job); its keys go afterwards."""
    import uuid

    import redis

    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    r = redis.Redis.from_url(REDIS_URL)
    keys = list(r.scan_iter(f"*{name}*", count=1000))
    if keys:
        r.delete(*keys)


@dataclass
class CrawlResult:
    returncode: int
    log: str


def fixture_args(args: dict[str, Any] | None = None) -> dict[str, str]:
    """A fixture crawl's spider arguments: ``backfill=1`` unless the test bounds discovery itself
    (``since`` or ``backfill``), since the fixture sites are dated in the past and a first run's
    discovery window (DISCOVERY_LOOKBACK_DAYS) would skip them."""
    given = {k: str(v) for k, v in (args or {}).items()}
    return given if "since" in given or "backfill" in given else {**given, "backfill": "1"}


def run_crawl(
    outlet: str,
    server: MirrorServer,
    archive: str,
    spool: Path,
    settings: dict[str, Any] | None = None,
    args: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> CrawlResult:
    """Run ``scrapy crawl`` against the mirror as a subprocess (``backfill=1`` unless ``args`` bound
    discovery: :func:`fixture_args`); its log is returned for diagnosis."""
    merged = {"ARCHIVE_SPOOL_DIR": str(spool), "EXTRACT_WORKERS": "2", "LOG_LEVEL": "INFO"}
    merged.update({k: str(v) for k, v in (settings or {}).items()})
    cmd = mirror_crawl_command(outlet, server.base_url, archive, merged, fixture_args(args))
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    return CrawlResult(proc.returncode, proc.stderr + proc.stdout)


def crawl_popen(outlet: str, server: MirrorServer, archive: str, spool: Path, settings: dict[str, Any] | None = None, log: Path | None = None) -> subprocess.Popen[bytes]:
    merged = {"ARCHIVE_SPOOL_DIR": str(spool), "EXTRACT_WORKERS": "2", "LOG_LEVEL": "INFO"}
    merged.update({k: str(v) for k, v in (settings or {}).items()})
    out = open(log, "wb") if log else subprocess.DEVNULL
    return subprocess.Popen(mirror_crawl_command(outlet, server.base_url, archive, merged, fixture_args()), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


@dataclass
class FixtureRun:
    """One completed crawl of an outlet's fixture mirror, read back as a reader does."""

    store: Any
    prefix: str
    rows: dict[str, Any]  # url -> pipelines.manifest.ManifestRow
    hits: dict[str, int]  # the mirror's requests by path

    def text(self, url: str) -> str:
        """The text file of the written row of ``url``."""
        row = self.rows[url]
        assert row.status == "written" and row.text_key, (url, row.status, row.reason)
        return self.store.get_bytes(row.text_key).decode("utf-8")


def crawl_fixture(outlet: str, tmp_path: Path) -> FixtureRun:
    """``scrapy crawl OUTLET`` of its fixture mirror into a new local archive (exit 0 asserted): its one run."""
    from pipelines.reader import completed_runs, read_rows
    from pipelines.storage import open_store

    server = serve(outlet)
    try:
        archive = str(tmp_path / "archive")
        result = run_crawl(outlet, server, archive, tmp_path / "spool")
        assert result.returncode == 0, result.log[-3000:]
        hits = dict(server.hits)
    finally:
        server.stop()
    store = open_store(archive)
    (prefix,) = completed_runs(store)
    return FixtureRun(store, prefix, {r.url: r for r in read_rows(store, prefix)}, hits)


def expected(outlet: str, edition: str | None = None) -> dict[str, Any]:
    name = "expected.json" if edition is None else f"expected-{edition}.json"
    return json.loads((SITES / outlet / name).read_text(encoding="utf-8"))


@pytest.fixture()
def mirror(request: pytest.FixtureRequest) -> Iterator[MirrorServer]:
    """A fresh fixture mirror of the outlet given by indirect parametrisation (hit counts per test)."""
    server = serve(request.param)
    yield server
    server.stop()


def python() -> str:
    return sys.executable
