"""Content encodings, asked for or not: DOWNLOAD_MAXSIZE holds on the decoded body, and every record verifies.

A server may send any ``Content-Encoding`` (gzip, deflate, br, zstd, nested ``gzip, gzip``)
whatever the crawler's ``Accept-Encoding`` said: ``tests.hostile.encoded`` plays a server (or a
cache holding one stored variant) that does exactly that. The bombs are what the issue's probe
sent: 1 GiB of zeros, about 1 MB on the wire in gzip (``tests.hostile.bomb``), served with the
headers ``tests.hostile.send`` writes (Content-Type, Content-Encoding, Content-Length).

Before the fix such a bomb was inflated in full (4.4 GB RSS) and its row said ``empty``, not
truncated: the WARC capture middleware turns Scrapy's ``download_maxsize`` off to cut bodies
itself, and HttpCompressionMiddleware reads the same key as its decompression limit. And a br
record crashed ``warcio check`` and ``python -m pipelines check`` (warcio 1.8.1 decodes br with
brotlipy's API; Scrapy requires Google's ``brotli``, which takes the same module name).

Crawl tests run the real ``brecorder`` spider against Business Recorder look-alikes on loopback
and read the result as a downstream reader does (manifest rows, summary, WARC records through
warcio and FastWARC, ``warcio check``); in-process tests pin the middleware's logic and the
Scrapy behaviour it relies on.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import ipaddress
import re
import subprocess
import sys
import zlib
from base64 import b32encode
from pathlib import Path

import brotli
import pytest
import zstandard
from fastwarc.warc import ArchiveIterator as FastIterator
from scrapy import Request
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse
from warcio.exceptions import ArchiveLoadFailed

from crawler.middlewares import WarcCaptureMiddleware, decode_capped
from pipelines import warc
from pipelines.manifest import ManifestRow
from pipelines.reader import completed_runs, read_rows, read_summary
from pipelines.storage import Store, open_store
from tests.conftest import CrawlResult, run_crawl
from tests.hostile import LIVE, SITEMAP, Handler, HostileServer, article_html, article_id, bomb, brecorder_site, encode, encoded, page, send
from tests.test_crawl import assert_archive_sound
from tests.units import fake_response, unit_crawler

ENCODINGS = ["gzip", "deflate", "br", "zstd"]
LIMIT = 32 * 1024 * 1024  # DOWNLOAD_MAXSIZE in crawler/settings.py
DECODED_REASON = f"decoded body exceeds DOWNLOAD_MAXSIZE ({LIMIT} bytes); archived in the WARC only"
ASKED = "gzip, deflate"  # the crawler's Accept-Encoding (DEFAULT_REQUEST_HEADERS)
A, B = article_id(1), article_id(2)


@functools.cache
def bomb_body(coding: str) -> bytes:
    """1 GiB of zeros in ``coding`` (``gzip, gzip``: the gzip bomb gzipped again)."""
    if coding == "gzip, gzip":
        return gzip.compress(bomb("gzip"), compresslevel=9, mtime=0)
    return bomb(coding)


def sent_as_is(body: bytes, content_encoding: str, content_type: str = "text/html; charset=utf-8") -> Handler:
    """``body`` already encoded, sent with that ``Content-Encoding`` whatever the client accepted."""
    return lambda req: send(req, 200, body, content_type, {"Content-Encoding": content_encoding})


def decode(data: bytes, coding: str) -> bytes:
    if coding == "gzip":
        return gzip.decompress(data)
    if coding == "deflate":
        return zlib.decompress(data)
    if coding == "br":
        return brotli.decompress(data)
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def sha1_digest(data: bytes) -> str:
    return "sha1:" + b32encode(hashlib.sha1(data).digest()).decode()


def crawl(routes: dict[str, Handler], tmp_path: Path) -> tuple[HostileServer, dict[str, ManifestRow], CrawlResult, Store, str]:
    archive = str(tmp_path / "archive")
    with HostileServer(routes) as server:
        result = run_crawl("brecorder", server, archive, tmp_path / "spool", {"RETRY_TIMES": 0})
    store = open_store(archive)
    runs = completed_runs(store)
    assert len(runs) == 1, result.log[-3000:]
    return server, {r.url: r for r in read_rows(store, runs[0])}, result, store, runs[0]


def fast_record(data: bytes) -> tuple[dict[str, str], bool, bytes]:
    """The one WARC record in ``data`` through FastWARC: WARC headers, payload digest verified, payload."""
    out = []
    for rec in FastIterator(io.BytesIO(data), parse_http=True):
        out.append(({k: v for k, v in rec.headers}, rec.verify_payload_digest(), rec.reader.read()))
    assert len(out) == 1
    return out[0]


def stored_response(store: Store, row: ManifestRow) -> tuple[dict[str, str], dict[str, str], bytes]:
    """The row's response record as stored: WARC headers, HTTP headers, payload bytes (FastWARC; digest checked)."""
    assert row.warc_key and row.warc_offset is not None and row.warc_length is not None
    data = (store.get_bytes(row.warc_key) or b"")[row.warc_offset : row.warc_offset + row.warc_length]
    warc_headers, verified, payload = fast_record(data)
    assert warc_headers["WARC-Type"] == "response" and warc_headers["WARC-Record-ID"] == row.warc_record_id
    assert verified, "FastWARC verifies the payload digest"
    assert warc_headers["WARC-Payload-Digest"] == sha1_digest(payload)
    http = warc.read_record(store.get_bytes(row.warc_key) or b"", row.warc_offset, row.warc_length).headers
    return warc_headers, {k.lower(): v for k, v in http}, payload


def assert_coding_kept(http: dict[str, str], coding: str) -> None:
    """The server's Content-Encoding is in the record: as sent, or renamed for br (see pipelines/warc.py)."""
    if coding == "br":
        assert "content-encoding" not in http and http["x-archive-orig-content-encoding"] == "br"
    else:
        assert http["content-encoding"] == coding and "x-archive-orig-content-encoding" not in http


def paragraph_text(html: bytes) -> str:
    return re.search(rb"<p>(.*?)</p>", html).group(1).decode()  # type: ignore[union-attr]


# --------------------------------------------------------------------------- crawls


@pytest.mark.parametrize("coding", [*ENCODINGS, "gzip, gzip"])
def test_a_bomb_is_cut_at_download_maxsize_of_its_decoded_body_and_archived_as_sent(coding: str, tmp_path: Path) -> None:
    """1 GiB of zeros in any coding beside a normal article: the bomb's row is error + truncated with the
    decoded-size reason, its WARC record holds the compressed bytes as sent (complete, digest verifies,
    no WARC-Truncated), the normal article is written, the crawl exits 0 and the archive verifies."""
    sent = bomb_body(coding)
    routes = brecorder_site({A: page(article_html("Cotton exports rise", seed=1)), B: sent_as_is(sent, coding)})
    server, rows, result, store, prefix = crawl(routes, tmp_path)

    assert result.returncode == 0, result.log[-3000:]
    assert set(rows) == {LIVE + A, LIVE + B}
    normal, bombed = rows[LIVE + A], rows[LIVE + B]
    assert (normal.status, normal.truncated) == ("written", False), normal.reason
    assert (bombed.status, bombed.truncated, bombed.reason) == ("error", True, DECODED_REASON)
    assert bombed.http_status == 200 and bombed.text_key is None
    assert read_summary(store, prefix)["scrapy_stats"].get("archive/responses_decoded_truncated") == 1

    warc_headers, http, payload = stored_response(store, bombed)
    assert payload == sent, "the WARC keeps the body as received, still encoded"
    assert "WARC-Truncated" not in warc_headers, "the wire body was complete"
    if coding == "gzip, gzip":
        assert http["content-encoding"] == "gzip, gzip"
    else:
        assert_coding_kept(http, coding)
    # a reader decodes such a record only so far
    read = warc.read_record(store.get_bytes(bombed.warc_key) or b"", bombed.warc_offset, bombed.warc_length)  # type: ignore[arg-type]
    if coding in ("gzip", "deflate"):  # the codings warcio decodes
        assert not read.payload_complete and len(read.payload) == warc.READ_MAX_PAYLOAD and not read.payload.strip(b"\0")
    else:
        assert read.payload_complete and read.payload == sent

    assert server.hits[A] == server.hits[B] == 1, "nothing fetched twice"
    assert {seen.headers.get("accept-encoding") for seen in server.seen} == {ASKED}, "br and zstd were not asked for"
    assert_archive_sound(store, tmp_path)


@pytest.mark.parametrize("coding", ENCODINGS)
def test_an_article_in_any_coding_is_written_and_its_record_verifies(coding: str, tmp_path: Path) -> None:
    """A normal article sent gzip, deflate, br or zstd (the last two unasked) is written with its text,
    and its record (body as sent) passes warcio check, warcio's digest check and FastWARC."""
    html = article_html("Textile exports climb", seed=7).encode()
    server, rows, result, store, _ = crawl(brecorder_site({A: encoded(html, coding)}), tmp_path)

    assert result.returncode == 0, result.log[-3000:]
    row = rows[LIVE + A]
    assert (row.status, row.truncated, row.title) == ("written", False, "Textile exports climb"), row.reason
    text = (store.get_bytes(row.text_key) or b"").decode()  # type: ignore[arg-type]
    assert paragraph_text(html)[:80] in text
    warc_headers, http, payload = stored_response(store, row)
    assert payload == encode(html, coding) and decode(payload, coding) == html
    assert "WARC-Truncated" not in warc_headers
    assert_coding_kept(http, coding)
    assert {seen.headers.get("accept-encoding") for seen in server.seen} == {ASKED}
    assert_archive_sound(store, tmp_path)


@pytest.mark.parametrize("served", ["content-encoding", "gz-file"])
def test_a_sitemap_bomb_is_cut_and_the_other_sources_go_on(served: str, tmp_path: Path) -> None:
    """A sitemap that is a gzip bomb, sent with Content-Encoding: gzip (cut by the capture middleware) or as a
    .gz file without it (the spider's own gunzip, limited to DOWNLOAD_MAXSIZE), is archived as sent and
    skipped; the feed's article is written."""
    sent = bomb_body("gzip")
    handler = sent_as_is(sent, "gzip", "application/xml") if served == "content-encoding" else page(sent, content_type="application/x-gzip")
    routes = brecorder_site({A: page(article_html("Cotton exports rise", seed=1))}, extra={SITEMAP: handler})
    server, rows, result, store, prefix = crawl(routes, tmp_path)

    assert result.returncode == 0, result.log[-3000:]
    assert [(url, row.status) for url, row in rows.items()] == [(LIVE + A, "written")]
    assert server.hits[SITEMAP] == 1
    stats = read_summary(store, prefix)["scrapy_stats"]
    if served == "content-encoding":
        assert stats.get("archive/responses_decoded_truncated") == 1
    else:
        assert not stats.get("archive/responses_decoded_truncated")
        assert f"exceeded the specified maximum ({LIMIT} B)" in result.log, "the spider's gunzip stopped at the limit"
    sitemap_payloads = []
    for key in (k for k in store.list_keys(prefix + "/") if k.endswith(".warc.gz")):
        for rec in FastIterator(io.BytesIO(store.get_bytes(key) or b""), parse_http=True):
            if rec.headers["WARC-Type"] == "response" and rec.headers["WARC-Target-URI"].endswith(SITEMAP):
                assert rec.verify_payload_digest()
                sitemap_payloads.append(rec.reader.read())
    assert sitemap_payloads == [sent]
    assert_archive_sound(store, tmp_path)


def test_a_gzip_encoded_sitemap_still_lists_its_articles(tmp_path: Path) -> None:
    """A sitemap sent with Content-Encoding: gzip (within the limit) is decoded by Scrapy and its article is written."""
    sitemap = (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               f"<url><loc>{LIVE}{B}</loc><lastmod>2026-11-24</lastmod></url></urlset>").encode()
    routes = brecorder_site({A: page(article_html("Cotton exports rise", seed=1)), B: page(article_html("Wheat stocks fall", seed=2))},
                            listed=[A], extra={SITEMAP: encoded(sitemap, "gzip", "application/xml")})
    server, rows, result, store, _ = crawl(routes, tmp_path)
    assert result.returncode == 0, result.log[-3000:]
    assert {url: row.status for url, row in rows.items()} == {LIVE + A: "written", LIVE + B: "written"}
    assert rows[LIVE + B].source == f"sitemap:{SITEMAP}"
    assert server.hits[SITEMAP] == 1 and {seen.headers.get("accept-encoding") for seen in server.seen} == {ASKED}
    assert_archive_sound(store, tmp_path)


# --------------------------------------------------------------------------- in process

URL = f"{LIVE}/news/40470099/unit-encodings"
HTML = article_html("Unit page", seed=9).encode()


def test_settings_ask_only_for_codings_whose_records_every_reader_verifies(tmp_path: Path) -> None:
    """Accept-Encoding is set (gzip, deflate), so Scrapy's default (which adds br and zstd) is not sent."""
    with unit_crawler("brecorder", tmp_path) as unit:
        assert unit.crawler.settings.getdict("DEFAULT_REQUEST_HEADERS")["Accept-Encoding"] == ASKED
        assert unit.crawler.settings.getint("DOWNLOAD_MAXSIZE") == LIMIT


@pytest.mark.parametrize("coding", ENCODINGS)
def test_decode_capped_agrees_with_scrapys_decoders(coding: str) -> None:
    """Same output as HttpCompressionMiddleware's decoder, on whole and on cut streams; cut only when over the limit (> as Scrapy)."""
    data = encode(HTML, coding)
    enc = coding.encode()
    for body in (data, data[: len(data) * 2 // 3]):
        try:
            scrapy_out = HttpCompressionMiddleware._decode(body, enc, 0)
        except Exception:
            with pytest.raises(Exception):
                decode_capped(body, [enc], LIMIT)
            continue
        assert decode_capped(body, [enc], LIMIT) == (scrapy_out, False)
    assert decode_capped(data, [enc], len(HTML)) == (HTML, False), "exactly the limit fits"
    assert decode_capped(data, [enc], len(HTML) - 1) == (HTML[:-1], True)
    out, cut = decode_capped(bomb(coding, 64 << 20), [enc], 1 << 20)
    assert cut and out == b"\0" * (1 << 20)


def test_decode_capped_raw_deflate_and_nested_codings() -> None:
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    assert decode_capped(raw.compress(HTML) + raw.flush(), [b"deflate"], LIMIT) == (HTML, False)
    nested = gzip.compress(bomb("gzip", 64 << 20), mtime=0)
    assert decode_capped(nested, [b"gzip", b"gzip"], 1 << 20) == (b"\0" * (1 << 20), True)
    # an inner stage over the limit: the outer one decodes what there is of it
    out, cut = decode_capped(gzip.compress(gzip.compress(HTML, mtime=0), mtime=0), [b"gzip", b"gzip"], 200)
    assert cut and HTML.startswith(out)


def test_capture_cuts_a_bomb_on_its_decoded_size_and_leaves_scrapy_nothing_to_inflate(tmp_path: Path) -> None:
    """process_response: the WARC record holds the compressed body; the response goes on decoded, cut at the
    limit, flagged truncated, Content-Encoding gone; Scrapy's decompression limit is back at DOWNLOAD_MAXSIZE;
    the spider's row is error + truncated with the reason."""
    limit = 1 << 20
    with unit_crawler("brecorder", tmp_path, {"DOWNLOAD_MAXSIZE": limit}) as unit:
        mw = WarcCaptureMiddleware.from_crawler(unit.crawler)
        compression = HttpCompressionMiddleware.from_crawler(unit.crawler)
        for coding in [*ENCODINGS, "gzip, gzip"]:
            sent = gzip.compress(bomb("gzip", 16 << 20), mtime=0) if coding == "gzip, gzip" else bomb(coding, 16 << 20)
            info = {"url": URL, "published_hint": None, "source": "feed:/feeds/latest-news", "redirects": 0}
            request = Request(f"{URL}?{coding}", meta={"article": info})
            mw.process_request(request)
            assert request.meta["download_maxsize"] == 0, "the download is cut by the middleware, not dropped by Scrapy"
            headers = {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": coding}
            response = fake_response(request, sent, headers, ip_address=ipaddress.ip_address("127.0.0.1"))
            # what Scrapy alone does with it, once its limit is set: drop it (IgnoreRequest), no row
            with pytest.raises(IgnoreRequest):
                compression.process_response(Request(URL, meta={"download_maxsize": limit}), response)

            out = mw.process_response(request, response)
            assert request.meta["download_maxsize"] == limit, "HttpCompressionMiddleware decodes with the limit"
            assert isinstance(out, HtmlResponse) and out.body == b"\0" * limit
            assert {"truncated", "decoded_truncated"} <= set(out.flags) and b"Content-Encoding" not in out.headers
            assert request.meta["archive_truncated_reason"] == f"decoded body exceeds DOWNLOAD_MAXSIZE ({limit} bytes)"
            assert compression.process_response(request, out) is out, "nothing left for Scrapy to inflate"
            [item] = list(unit.spider.parse_article(out))
            assert (item.status, item.truncated) == ("error", True)
            assert item.reason == f"decoded body exceeds DOWNLOAD_MAXSIZE ({limit} bytes); archived in the WARC only"
            assert item.warc == request.meta["warc"]
        assert unit.stats.get("archive/responses_decoded_truncated") == 5
        assert not unit.stats.get("archive/responses_truncated"), "no wire body was cut"
        location = request.meta["warc"]
        unit.ext.archive.close("finished")
        from pipelines.layout import warc_key

        data = unit.ext.archive.store.get_bytes(warc_key(unit.ext.archive.prefix, location.filename)) or b""
    responses = [r for r in warc.iter_records(data) if r.rec_type == "response"]  # warcio, digests checked
    assert len(responses) == 5


def test_capture_decodes_what_fits_once_and_honours_head_and_compression_off(tmp_path: Path) -> None:
    """A body that decodes within the limit is handed on decoded; a HEAD, a body not in its coding, COMPRESSION_ENABLED off: unchanged."""
    limit = 1 << 20
    with unit_crawler("brecorder", tmp_path, {"DOWNLOAD_MAXSIZE": limit}) as unit:
        mw = WarcCaptureMiddleware.from_crawler(unit.crawler)
        compression = HttpCompressionMiddleware.from_crawler(unit.crawler)
        for coding in ENCODINGS:
            request = Request(f"{URL}?fits-{coding}")
            mw.process_request(request)
            response = fake_response(request, encode(HTML, coding), {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": coding})
            decoded = mw.process_response(request, response)
            assert decoded.body == HTML and b"Content-Encoding" not in decoded.headers, "a body that fits is handed on decoded, in one pass"
            assert isinstance(decoded, HtmlResponse) and "truncated" not in decoded.flags
            assert request.meta["download_maxsize"] == limit, "Scrapy's decompression limit is back"
            assert compression.process_response(request, decoded) is decoded, "so Scrapy has nothing left to decode"
        head = Request(f"{URL}?head", method="HEAD")
        mw.process_request(head)
        response = fake_response(head, bomb("gzip", 4 << 20), {"Content-Type": "text/html", "Content-Encoding": "gzip"})
        assert mw.process_response(head, response) is response
        junk = Request(f"{URL}?junk")
        mw.process_request(junk)
        response = fake_response(junk, b"not gzip at all", {"Content-Type": "text/html", "Content-Encoding": "gzip"})
        assert mw.process_response(junk, response) is response, "not in its coding: Scrapy fails it as before"
    with unit_crawler("brecorder", tmp_path / "off", {"DOWNLOAD_MAXSIZE": limit, "COMPRESSION_ENABLED": False}) as unit:
        mw = WarcCaptureMiddleware.from_crawler(unit.crawler)
        request = Request(f"{URL}?off")
        mw.process_request(request)
        response = fake_response(request, bomb("gzip", 4 << 20), {"Content-Type": "text/html", "Content-Encoding": "gzip"})
        assert mw.process_response(request, response) is response, "no content decoding, nothing to limit"


# --------------------------------------------------------------------------- WARC records


def write_records(directory: Path, exchanges: list[warc.HttpExchange]) -> tuple[Path, list[warc.RecordLocation]]:
    closed: list[Path] = []
    writer = warc.RotatingWarcWriter(directory, "test", 10**9, {"software": "newsarchive-test"}, host="testhost",
                                     ids=warc.sequential_ids(), on_closed=closed.append)
    locations = [writer.write_exchange(ex) for ex in exchanges]
    writer.close()
    return closed[0], locations


def exchange(url: str, headers: list[tuple[str, str]], body: bytes) -> warc.HttpExchange:
    request_headers = [("Host", "www.example.org"), ("Accept-Encoding", ASKED)]
    return warc.HttpExchange(url, "GET", request_headers, b"", 200, "OK", [("Content-Type", "text/html"), *headers], body)


def warcio_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", "-v", str(path)], capture_output=True, text=True)


def test_br_records_are_stored_as_sent_with_the_header_renamed_and_verify(tmp_path: Path) -> None:
    """br (any case) is kept as X-Archive-Orig-Content-Encoding; zstd, gzip, deflate stay as they are; all records verify."""
    bodies = {coding: encode(HTML, coding) for coding in ENCODINGS}
    exchanges = [exchange(f"https://www.example.org/{c}", [("Content-Encoding", c)], bodies[c]) for c in ENCODINGS]
    exchanges.append(exchange("https://www.example.org/BR", [("Content-Encoding", "BR"), ("Transfer-Encoding", "chunked")], bodies["br"]))
    path, locations = write_records(tmp_path, exchanges)
    check = warcio_check(path)
    assert check.returncode == 0 and check.stdout.count("digest pass") == 11, check.stdout + check.stderr
    data = path.read_bytes()
    for coding, loc in zip([*ENCODINGS, "br"], locations):
        rec = warc.read_record(data, loc.offset, loc.length)
        http = {k.lower(): v for k, v in rec.headers}
        if coding == "br":
            assert "content-encoding" not in http and http["x-archive-orig-content-encoding"].lower() == "br"
            assert rec.payload == bodies["br"], "still br as received; warcio does not decode it"
        else:
            assert http["content-encoding"] == coding
            assert rec.payload == (HTML if coding in ("gzip", "deflate") else bodies[coding])
        _, verified, payload = fast_record(data[loc.offset : loc.offset + loc.length])
        assert verified and payload == bodies[coding]
    assert len(list(warc.iter_records(data))) == 11  # warcio with digests checked: no crash


def test_readers_decode_a_bomb_record_only_so_far_and_still_check_its_digest(tmp_path: Path) -> None:
    """read_record/iter_records stop decoding at READ_MAX_PAYLOAD (payload_complete False) but warcio still
    reads the whole raw payload for its digest: a damaged tail past that point is caught."""
    sent = bomb("gzip", 96 << 20)
    path, [loc] = write_records(tmp_path, [exchange("https://www.example.org/bomb", [("Content-Encoding", "gzip")], sent)])
    data = path.read_bytes()
    rec = warc.read_record(data, loc.offset, loc.length)
    assert not rec.payload_complete and len(rec.payload) == warc.READ_MAX_PAYLOAD and not rec.payload.strip(b"\0")
    assert [r.rec_type for r in warc.iter_records(data)] == ["warcinfo", "response", "request"]
    # damage the last byte of the stored body (the gzip trailer, far past READ_MAX_PAYLOAD decoded)
    member = gzip.decompress(data[loc.offset : loc.offset + loc.length])
    at = member.rindex(sent[-8:]) + 7
    damaged = member[:at] + bytes([member[at] ^ 0xFF]) + member[at + 1 :]
    bad = data[: loc.offset] + gzip.compress(damaged, mtime=0) + data[loc.offset + loc.length :]
    with pytest.raises(ArchiveLoadFailed):
        list(warc.iter_records(bad))
