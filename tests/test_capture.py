"""WARC capture downloader middleware in-process: fake exchanges written through the run's archive.

``WarcCaptureMiddleware`` gets a crawler built as ``scrapy crawl`` builds it (project settings,
outlet spider, ArchiveExtension with a temporary archive, fixed time and run id) and fake Scrapy
requests/responses; the WARC file the archive publishes is then read back with pipelines.warc.
"""

from __future__ import annotations

import gzip
import ipaddress
from pathlib import Path

import pytest
from scrapy import Request, signals
from scrapy.exceptions import NotConfigured, StopDownload
from scrapy.http import Response
from twisted.internet.error import ConnectionRefusedError as TxConnectionRefusedError

from crawler.extensions import ArchiveExtension
from crawler.middlewares import WarcCaptureMiddleware
from pipelines.layout import warc_key
from pipelines.outlets import all_outlets
from pipelines.warc import RecordLocation, check_warc, iter_members, iter_records, read_record
from tests.units import FIXED_TIME, Unit, fake_response, make_crawler, spider_class, unit_crawler, unit_settings

OUTLET = next(iter(all_outlets().values()))  # any outlet spider will do: capture is outlet-agnostic
URL = f"{OUTLET.base_url}/unit/capture-12345/?x=1"
HTML = ("<!doctype html><html><head><meta charset='utf-8'><title>t</title></head><body>"
        + "<p>Paragraph of the captured page. " * 200 + "</body></html>").encode()


def published_warc(unit: Unit, location: RecordLocation) -> bytes:
    """Close the archive (WARC closed and published) and read the WARC file back from the store."""
    unit.ext.archive.close("finished")
    data = unit.ext.archive.store.get_bytes(warc_key(unit.ext.archive.prefix, location.filename))
    assert data is not None, f"{location.filename} was not published"
    return data


def raw_record(data: bytes, offset: int) -> tuple[bytes, bytes]:
    """The WARC header block and the rest (HTTP headers + block) of the gzip member at ``offset``."""
    for member_offset, _, raw in iter_members(data):
        if member_offset == offset:
            head, _, rest = raw.partition(b"\r\n\r\n")
            return head, rest
    raise AssertionError(f"no record at {offset}")


def exchange(mw: WarcCaptureMiddleware, body: bytes = HTML) -> tuple[Request, Response, Response]:
    """A GET of URL answered 200 with a gzip, chunked body, through process_request/process_response."""
    request = Request(URL, headers={"Accept-Encoding": "gzip, deflate", "User-Agent": "newsarchive/unit"})
    assert mw.process_request(request) is None
    gz = gzip.compress(body, mtime=0)
    response = fake_response(
        request,
        gz,
        {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip", "Transfer-Encoding": "chunked", "Date": "Wed, 25 Nov 2026 00:00:00 GMT"},
        ip_address=ipaddress.ip_address("192.0.2.10"),
        protocol="HTTP/1.1",
    )
    return request, response, mw.process_response(request, response)


def test_a_response_is_archived_as_a_response_and_request_record_pair(tmp_path: Path) -> None:
    """process_response writes response + request records; meta['warc'] locates the response record (URL, status, id) and fetched_at is the run's fixed time."""
    with unit_crawler(OUTLET, tmp_path) as unit:
        mw = WarcCaptureMiddleware.from_crawler(unit.crawler)
        request, response, out = exchange(mw)
        assert out.body == HTML and "truncated" not in out.flags, "an untruncated response goes on whole (decoded once, here)"
        location = request.meta["warc"]
        assert isinstance(location, RecordLocation)
        assert request.meta["fetched_at"] == FIXED_TIME
        assert unit.stats.get("archive/warc_responses") == 1
        data = published_warc(unit, location)

    assert check_warc(data) == []
    records = list(iter_records(data))  # warcio, digests checked
    assert [r.rec_type for r in records] == ["warcinfo", "response", "request"]
    resp, req = records[1], records[2]
    assert resp.record_id == location.record_id != req.record_id
    assert resp.target_uri == req.target_uri == URL and resp.status == 200
    assert resp.payload == HTML, "stored still gzip-encoded; readers decode it"

    record = read_record(data, location.offset, location.length)
    assert (record.rec_type, record.target_uri, record.status, record.record_id) == ("response", URL, 200, location.record_id)
    assert record.payload == HTML

    head, rest = raw_record(data, location.offset)
    assert b"WARC-Type: response" in head and b"WARC-IP-Address: 192.0.2.10" in head and b"WARC-Truncated" not in head
    assert f"WARC-Date: {FIXED_TIME[:-1]}".encode() in head
    http_head, _, block = rest.partition(b"\r\n\r\n")
    http_lines = http_head.split(b"\r\n")
    assert http_lines[0] == b"HTTP/1.1 200 OK"
    assert b"X-Archive-Orig-Transfer-Encoding: chunked" in http_lines
    assert not any(line.lower().startswith(b"transfer-encoding:") for line in http_lines)
    gz = response.body
    assert f"Content-Length: {len(gz)}".encode() in http_lines and b"Content-Encoding: gzip" in http_lines
    assert block.startswith(gz), "the body is stored as it came off the wire (content-encoded)"

    req_head, req_rest = raw_record(data, location.offset + location.length)
    assert b"WARC-Type: request" in req_head and f"WARC-Concurrent-To: {location.record_id}".encode() in req_head
    req_lines = req_rest.split(b"\r\n")
    assert req_lines[0].startswith(b"GET /unit/capture-12345/?x=1")
    assert f"Host: {OUTLET.base_url.split('://')[1]}".encode() in req_lines and b"User-Agent: newsarchive/unit" in req_lines


def test_the_request_record_has_a_complete_request_line(tmp_path: Path) -> None:
    """The request record's HTTP request line is "GET <path?query> HTTP/1.1" (method, target and version)."""
    with unit_crawler(OUTLET, tmp_path) as unit:
        request, _, _ = exchange(WarcCaptureMiddleware.from_crawler(unit.crawler))
        location = request.meta["warc"]
        data = published_warc(unit, location)
    _, req_rest = raw_record(data, location.offset + location.length)
    assert req_rest.split(b"\r\n")[0] == b"GET /unit/capture-12345/?x=1 HTTP/1.1"


def test_downloads_are_cut_at_download_maxsize_and_archived_as_truncated(tmp_path: Path) -> None:
    """DOWNLOAD_MAXSIZE: process_request takes the limit over, bytes_received stops the download at it, and the cut response is archived with WARC-Truncated: length."""
    limit = 1000
    with unit_crawler(OUTLET, tmp_path, {"DOWNLOAD_MAXSIZE": limit}) as unit:
        mw = WarcCaptureMiddleware.from_crawler(unit.crawler)
        assert mw.maxsize == limit

        request = Request(URL)
        mw.process_request(request)
        assert request.meta["archive_maxsize"] == limit and request.meta["download_maxsize"] == 0, "Scrapy's own limit is off"
        own = Request(URL, meta={"archive_maxsize": 50})
        mw.process_request(own)
        assert own.meta["archive_maxsize"] == 50, "a request's own limit is kept"

        mw.bytes_received(b"x" * 600, request, unit.spider)
        assert "archive_truncated" not in request.meta
        with pytest.raises(StopDownload) as stop:
            mw.bytes_received(b"x" * 600, request, unit.spider)
        assert stop.value.fail is False, "the partial response is kept"
        assert request.meta["archive_truncated"] == 1200

        # the handler is connected to Scrapy's bytes_received signal (which the download handlers send)
        other = Request(URL + "&signal=1")
        mw.process_request(other)
        results = unit.crawler.signals.send_catch_log(signals.bytes_received, data=b"y" * limit, request=other, spider=unit.spider)
        assert any(getattr(result, "value", None).__class__ is StopDownload for _, result in results)

        body = HTML[:1200]  # what arrived before the download stopped
        response = fake_response(request, body, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(HTML))}, flags=["download_stopped"])
        out = mw.process_response(request, response)
        assert out.body == HTML[:limit] and "truncated" in out.flags
        assert unit.stats.get("archive/responses_truncated") == 1
        location = request.meta["warc"]
        data = published_warc(unit, location)

    assert check_warc(data) == []
    head, _ = raw_record(data, location.offset)
    assert b"WARC-Truncated: length" in head.split(b"\r\n")
    record = read_record(data, location.offset, location.length)
    assert record.record_id == location.record_id and record.payload == HTML[:limit]


def test_without_download_maxsize_requests_are_left_alone(tmp_path: Path) -> None:
    """DOWNLOAD_MAXSIZE=0: no limit taken over, no bytes_received handler, nothing marked truncated."""
    with unit_crawler(OUTLET, tmp_path, {"DOWNLOAD_MAXSIZE": 0}) as unit:
        mw = WarcCaptureMiddleware.from_crawler(unit.crawler)
        request = Request(URL)
        mw.process_request(request)
        assert "archive_maxsize" not in request.meta and "download_maxsize" not in request.meta
        results = unit.crawler.signals.send_catch_log(signals.bytes_received, data=b"y" * 10_000, request=request, spider=unit.spider)
        assert not any(receiver == mw.bytes_received for receiver, _ in results)
        out = mw.process_response(request, fake_response(request, HTML, {"Content-Type": "text/html"}))
        assert "truncated" not in out.flags and out.body == HTML


def test_fetch_errors_are_counted_by_exception_name(tmp_path: Path) -> None:
    """process_exception counts archive/fetch_errors/<ExceptionName> and lets the exception go on (returns None)."""
    with unit_crawler(OUTLET, tmp_path) as unit:
        mw = WarcCaptureMiddleware.from_crawler(unit.crawler)
        request = Request(URL)
        assert mw.process_exception(request, TimeoutError("slow")) is None
        assert mw.process_exception(request, TimeoutError("slow again")) is None
        assert mw.process_exception(request, TxConnectionRefusedError()) is None
        assert unit.stats.get("archive/fetch_errors/TimeoutError") == 2
        assert unit.stats.get("archive/fetch_errors/ConnectionRefusedError") == 1
        assert "archive/warc_responses" not in unit.stats


def test_without_archive_the_middleware_is_not_configured(tmp_path: Path) -> None:
    """ARCHIVE_ENABLED=False: no ArchiveExtension, and WarcCaptureMiddleware.from_crawler raises NotConfigured."""
    crawler = make_crawler(spider_class(OUTLET), unit_settings(tmp_path, {"ARCHIVE_ENABLED": False}))
    assert crawler.get_extension(ArchiveExtension) is None
    with pytest.raises(NotConfigured):
        WarcCaptureMiddleware.from_crawler(crawler)


def test_same_exchange_same_fixed_time_gives_byte_identical_warc_files(tmp_path: Path) -> None:
    """Two crawlers with the same fixed time and run id writing the same exchanges produce byte-identical WARC files."""
    outputs = []
    for run in ("one", "two"):
        with unit_crawler(OUTLET, tmp_path / run) as unit:
            mw = WarcCaptureMiddleware.from_crawler(unit.crawler)
            request, _, _ = exchange(mw)
            exchange(mw, body=b"<html><body>second</body></html>")
            location = request.meta["warc"]
            outputs.append((location, published_warc(unit, location)))
    (loc1, data1), (loc2, data2) = outputs
    assert loc1 == loc2
    assert len(list(iter_records(data1))) == 5
    assert data1 == data2
