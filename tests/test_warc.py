"""WARC writing: byte-stable output, digests that independent readers verify, truncation and repair."""

from __future__ import annotations

import gzip
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastwarc.warc import ArchiveIterator as FastIterator

from pipelines import warc

WHEN = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
HTML = "<html><head><title>t</title></head><body><p>Київ — Kyiv</p></body></html>".encode()


def exchanges() -> list[warc.HttpExchange]:
    gz = gzip.compress(HTML, mtime=0)
    common = [("Host", "www.example.org"), ("User-Agent", "newsarchive-test"), ("Accept-Encoding", "gzip, deflate")]
    return [
        warc.HttpExchange("https://www.example.org/robots.txt", "GET", common, b"", 200, "OK",
                          [("Content-Type", "text/plain"), ("Content-Length", "26")], b"User-agent: *\nDisallow: /x\n"[:26]),
        warc.HttpExchange("https://www.example.org/news/1/", "GET", common, b"", 200, "OK",
                          [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")], gz, "127.0.0.1"),
        warc.HttpExchange("https://www.example.org/old", "GET", common, b"", 301, "Moved Permanently",
                          [("Location", "/news/1/"), ("Content-Length", "0")], b""),
        warc.HttpExchange("https://www.example.org/big", "GET", common, b"", 200, "OK",
                          [("Content-Type", "text/html"), ("Content-Length", "999999")], HTML, truncated="length"),
    ]


def write(directory: Path, max_bytes: int = 10**9) -> tuple[list[Path], list[warc.RecordLocation]]:
    closed: list[Path] = []
    writer = warc.RotatingWarcWriter(directory, "test", max_bytes, {"software": "newsarchive-test"}, host="testhost",
                                     clock=warc.fixed_clock(WHEN), ids=warc.sequential_ids(), on_closed=closed.append)
    locations = [writer.write_exchange(ex) for ex in exchanges()]
    writer.close()
    return closed, locations


def test_output_is_byte_stable_and_named_by_the_convention(tmp_path: Path) -> None:
    files_a, _ = write(tmp_path / "a")
    files_b, _ = write(tmp_path / "b")
    assert [f.name for f in files_a] == ["test-20261125120000-00000-testhost.warc.gz"]
    assert files_a[0].read_bytes() == files_b[0].read_bytes()
    assert not list((tmp_path / "a").glob("*.open"))


def test_independent_readers_verify_every_digest(tmp_path: Path) -> None:
    files, locations = write(tmp_path)
    path = files[0]
    check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", "-v", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") == 9  # warcinfo + 4 x (response, request)
    kinds = []
    with open(path, "rb") as fh:
        for rec in FastIterator(fh, parse_http=False):
            assert rec.verify_block_digest(), rec.record_id
            kinds.append(rec.headers["WARC-Type"])
    with open(path, "rb") as fh:
        for rec in FastIterator(fh, parse_http=True):
            if rec.headers["WARC-Type"] in ("response", "request"):
                assert rec.verify_payload_digest(), rec.record_id
    assert kinds == ["warcinfo"] + ["response", "request"] * 4
    data = path.read_bytes()
    assert warc.check_warc(data) == []
    rec = warc.read_record(data, locations[1].offset, locations[1].length)
    assert rec.rec_type == "response" and rec.status == 200 and rec.payload == HTML  # content-decoded by the reader
    assert ("X-Archive-Orig-Transfer-Encoding", "chunked") in rec.headers
    trunc = warc.read_record(data, locations[3].offset, locations[3].length)
    assert trunc.target_uri == "https://www.example.org/big"
    assert b"WARC-Truncated: length" in gzip.decompress(data[locations[3].offset:locations[3].offset + locations[3].length])


def test_rotation_at_max_bytes(tmp_path: Path) -> None:
    files, locations = write(tmp_path, max_bytes=600)
    assert len(files) >= 3
    assert [f.name.split("-")[2] for f in files] == [f"{i:05d}" for i in range(len(files))]
    by_name = {f.name: f.read_bytes() for f in files}
    for loc, ex in zip(locations, exchanges()):
        assert warc.read_record(by_name[loc.filename], loc.offset, loc.length).target_uri == ex.url
    for data in by_name.values():
        assert warc.check_warc(data) == []


def test_truncated_file_is_detected_and_an_open_file_repaired(tmp_path: Path) -> None:
    files, locations = write(tmp_path)
    data = files[0].read_bytes()
    cut = data[: locations[3].offset + 40]  # the last response record cut mid-member
    assert warc.check_warc(cut), "a cut gzip member must be reported"
    open_file = tmp_path / "x-20261125120000-00000-h.warc.gz.open"
    open_file.write_bytes(cut)
    repaired = warc.repair_open_warc(open_file)
    assert repaired is not None and repaired.name == "x-20261125120000-00000-h.warc.gz"
    fixed = repaired.read_bytes()
    assert warc.check_warc(fixed) == []
    assert fixed == data[: locations[3].offset]
    assert [r.rec_type for r in warc.iter_records(fixed)] == ["warcinfo"] + ["response", "request"] * 3


def test_short_block_inside_a_complete_gzip_member_is_reported() -> None:
    record = b"WARC/1.1\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:uuid:1>\r\nContent-Length: 100\r\n\r\nonly a few bytes\r\n\r\n"
    problems = warc.check_warc(gzip.compress(record))
    assert any("Content-Length 100" in p for p in problems)


@pytest.mark.parametrize("name", ["resiliparse/clipped.warc.gz"])
def test_real_clipped_warc_from_shared_fixtures_is_reported(name: str) -> None:
    path = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "warc" / name
    assert warc.check_warc(path.read_bytes()), f"{name} is clipped and must not pass"


def test_sequential_ids_are_deterministic() -> None:
    a, b = warc.sequential_ids(), warc.sequential_ids()
    assert [a() for _ in range(3)] == [b() for _ in range(3)]
    assert a() != a()  # successive ids differ
