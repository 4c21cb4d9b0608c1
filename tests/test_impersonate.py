"""The opt-in browser-TLS download handler (crawler/browsertls.py, issue 12), all on loopback.

A fixture mirror is served over TLS with a self-signed certificate made here (Scrapy's client and,
with ``DOWNLOAD_VERIFY_CERTIFICATES`` at Scrapy's default off, the handler do not verify it). The
server reads each connection's ClientHello before the handshake (RFC 8446 section 4.1.2 layout),
so the tests see which TLS client spoke: curl impersonating a browser sends GREASE values
(RFC 8701) and offers h2; the OpenSSL client of Scrapy's HTTP/1.1 handler does neither. It also
records the request headers it received, to compare with the WARC request records.
"""

from __future__ import annotations

import datetime
import gzip
import io
import ipaddress
import json
import select
import socket
import ssl
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import curl_cffi.requests
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastwarc.warc import ArchiveIterator as FastIterator
from warcio.archiveiterator import ArchiveIterator

from crawler.browsertls import _Trace, browser_tls_problem
from pipelines import warc
from pipelines.dev import mirror
from pipelines.outlets import all_outlets
from pipelines.reader import completed_runs
from pipelines.storage import open_store
from tests.conftest import SITES, expected, run_crawl
from tests.test_crawl import check_run_against_expectations, check_warcs, run_files

OUTLET = "orda"  # its fixture has a gzip + chunked article, an oversize one and a 404


# --------------------------------------------------------------------------- ClientHello


def _is_grease(value: int) -> bool:
    """RFC 8701: 0x0A0A, 0x1A1A, ... 0xFAFA."""
    return value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF


@dataclass
class ClientHello:
    version: int = 0
    ciphers: list[int] = field(default_factory=list)
    extensions: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    point_formats: list[int] = field(default_factory=list)
    alpn: list[bytes] = field(default_factory=list)

    @property
    def grease(self) -> bool:
        return any(map(_is_grease, self.ciphers + self.extensions + self.groups))

    @property
    def ja3(self) -> str:
        """The JA3 string (GREASE left out; extensions sorted, as browsers now shuffle them)."""
        clean = lambda values: "-".join(str(v) for v in values if not _is_grease(v))  # noqa: E731
        return ",".join([str(self.version), clean(self.ciphers), clean(sorted(self.extensions)),
                         clean(self.groups), clean(self.point_formats)])


def parse_client_hello(record: bytes) -> ClientHello:
    """The fields of a TLS record holding a ClientHello (TLSPlaintext, Handshake, ClientHello)."""
    assert record[0] == 0x16 and record[5] == 0x01, "a handshake record with a ClientHello"
    body = record[9:]
    hello = ClientHello(version=struct.unpack_from("!H", body, 0)[0])
    pos = 2 + 32  # legacy_version, random
    pos += 1 + body[pos]  # legacy_session_id
    (n,) = struct.unpack_from("!H", body, pos)
    hello.ciphers = list(struct.unpack_from(f"!{n // 2}H", body, pos + 2))
    pos += 2 + n
    pos += 1 + body[pos]  # legacy_compression_methods
    (total,) = struct.unpack_from("!H", body, pos)
    pos += 2
    end = pos + total
    while pos < end:
        kind, size = struct.unpack_from("!HH", body, pos)
        data = body[pos + 4 : pos + 4 + size]
        hello.extensions.append(kind)
        if kind == 10:  # supported_groups
            hello.groups = list(struct.unpack_from(f"!{(len(data) - 2) // 2}H", data, 2))
        elif kind == 11:  # ec_point_formats
            hello.point_formats = list(data[1 : 1 + data[0]])
        elif kind == 16:  # application_layer_protocol_negotiation
            i = 2
            while i < len(data):
                hello.alpn.append(data[i + 1 : i + 1 + data[i]])
                i += 1 + data[i]
        pos += 4 + size
    return hello


def peek_client_hello(sock: socket.socket, wait: float = 10.0) -> bytes | None:
    """The first TLS record on ``sock``, left unread for the handshake (None: not TLS)."""
    deadline = time.monotonic() + wait
    need = 5
    data = b""
    while time.monotonic() < deadline:
        select.select([sock], [], [], 0.05)
        data = sock.recv(need, socket.MSG_PEEK)
        if not data:
            return None
        if data[0] != 0x16:
            return None
        if len(data) >= 5:
            need = 5 + struct.unpack_from("!H", data, 3)[0]
            if len(data) >= need:
                return data[:need]
        time.sleep(0.005)
    return None


# --------------------------------------------------------------------------- the TLS mirror


def self_signed(tmp: Path) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for 127.0.0.1, speaking HTTP/1.1 only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    context.set_alpn_protocols(["http/1.1"])
    return context


class _RecordingHandler(mirror._Handler):
    """The mirror's handler, noting every request's headers as they arrived (in order)."""

    server: "TLSMirror"

    def _serve(self, head: bool) -> None:
        with self.server.hits_lock:
            self.server.received.setdefault(self.path, []).append(list(self.headers.items()))
        seconds = self.server.drip.get(self.path)
        if seconds is None:
            super()._serve(head)
            return
        # a body that keeps coming, one byte every 0.2 s: never stalled, never finished in time
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        end = time.monotonic() + seconds
        try:
            while time.monotonic() < end:
                self.wfile.write(b"1\r\n \r\n")
                self.wfile.flush()
                time.sleep(0.2)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client hung up before the body was over
            self.server.hung_up.add(self.path)


class TLSMirror(mirror.MirrorServer):
    """The fixture mirror of an outlet over TLS; every connection's ClientHello is recorded."""

    def __init__(self, site_dir: Path, context: ssl.SSLContext) -> None:
        self.context = context
        self.hellos: list[ClientHello] = []
        self.received: dict[str, list[list[tuple[str, str]]]] = {}
        #: paths whose body trickles for this many seconds
        self.drip: dict[str, float] = {}
        self.hung_up: set[str] = set()
        super().__init__(site_dir)
        self.RequestHandlerClass = _RecordingHandler

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"https://{host}:{port}"

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(30)
        record = peek_client_hello(request)
        if record is None:
            return
        with self.hits_lock:
            self.hellos.append(parse_client_hello(record))
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            tls.close()


@pytest.fixture()
def tls_mirror(tmp_path: Path):
    server = TLSMirror(SITES / OUTLET, self_signed(tmp_path)).start()
    yield server
    server.stop()


# --------------------------------------------------------------------------- helpers


def records(run: dict[str, Any]) -> list[tuple[str, str, Any, bytes, Any]]:
    """(type, target path, HTTP headers, raw payload, WARC headers) of every request/response record."""
    out = []
    for data in run["warcs"].values():
        for rec in ArchiveIterator(io.BytesIO(data)):
            if rec.rec_type in ("request", "response"):
                target = rec.rec_headers.get_header("WARC-Target-URI")
                path = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
                out.append((rec.rec_type, path, rec.http_headers, rec.raw_stream.read(), rec.rec_headers))
    return out


def routes_with(flag: str) -> list[str]:
    routes = json.loads((SITES / OUTLET / "site.json").read_text(encoding="utf-8"))["routes"]
    return [path for path, route in routes.items() if route.get(flag)]


def crawl(server: TLSMirror, tmp_path: Path, settings: dict[str, Any], args: dict[str, Any] | None = None) -> dict[str, Any]:
    archive = str(tmp_path / "archive")
    result = run_crawl(OUTLET, server, archive, tmp_path / "spool", {**expected(OUTLET).get("settings", {}), **settings}, args)
    assert result.returncode == 0, result.log[-3000:]
    store = open_store(archive)
    (prefix,) = completed_runs(store)
    run = run_files(store, prefix)
    run["log"] = result.log
    return run


# --------------------------------------------------------------------------- tests


def test_listed_outlet_is_fetched_with_a_browser_fingerprint_and_archived_byte_faithfully(tls_mirror: TLSMirror, tmp_path: Path) -> None:
    run = crawl(tls_mirror, tmp_path, {"BROWSER_TLS_OUTLETS": OUTLET})
    exp = expected(OUTLET)
    check_run_against_expectations(OUTLET, exp, run, tls_mirror)
    check_warcs(run, tmp_path)  # warcio check, FastWARC block and payload digests, our length scan

    stats = run["summary"]["scrapy_stats"]
    assert stats["downloader/browser_tls/request_count"] == stats["downloader/request_count"] > 0
    assert f"outlet {OUTLET} is fetched with a browser TLS fingerprint" in run["log"]
    # every connection came from curl impersonating the browser: GREASE, and h2 offered
    assert tls_mirror.hellos
    assert all(h.grease and b"h2" in h.alpn for h in tls_mirror.hellos), [h.ja3 for h in tls_mirror.hellos]

    recs = records(run)
    requests = [(path, headers) for kind, path, headers, _, _ in recs if kind == "request"]
    assert requests
    for path, headers in requests:
        # the request record shows the headers as the server received them (Host included, in order)
        assert [list(map(str, pair)) for pair in headers.headers] in [list(map(list, h)) for h in tls_mirror.received[path]], path
        assert headers.get_header("User-Agent").startswith("newsarchive/"), "the crawler still names itself"
        assert headers.get_header("Accept-Encoding") == "gzip, deflate"

    # gzip + chunked: the payload is the gzip stream as sent (curl decoded nothing), de-chunked
    zipped = [p for p in routes_with("gzip") if p in routes_with("chunked")]
    assert zipped
    routes = json.loads((SITES / OUTLET / "site.json").read_text(encoding="utf-8"))["routes"]
    for path in zipped:
        (resp,) = [r for r in recs if r[0] == "response" and r[1] == path]
        _, _, headers, payload, _ = resp
        assert headers.get_header("Content-Encoding") == "gzip"
        assert headers.get_header("X-Archive-Orig-Transfer-Encoding") == "chunked"
        sent = gzip.compress((SITES / OUTLET / routes[path]["file"]).read_bytes(), mtime=0)
        assert payload == sent, "the WARC holds the body as received"

    # DOWNLOAD_MAXSIZE through the handler: the oversize page is cut at the limit and flagged
    limit = int(exp.get("settings", {}).get("DOWNLOAD_MAXSIZE", 0))
    assert limit, "the fixture's crawl sets a small DOWNLOAD_MAXSIZE"
    oversize = routes_with("repeat")
    assert oversize
    for path in oversize:
        (resp,) = [r for r in recs if r[0] == "response" and r[1] == path]
        assert resp[4].get_header("WARC-Truncated") == "length"
        assert len(resp[3]) == limit
        row = next(r for u, r in run["rows"].items() if u.endswith(path))
        assert row["status"] == "error" and "truncated" in row["reason"].lower()


@pytest.mark.parametrize("listed", ["", "pravda"], ids=["setting-empty", "another-outlet-listed"])
def test_outlets_not_listed_keep_scrapys_own_client(listed: str, tls_mirror: TLSMirror, tmp_path: Path) -> None:
    run = crawl(tls_mirror, tmp_path, {"BROWSER_TLS_OUTLETS": listed}, {"max_articles": 2})
    stats = run["summary"]["scrapy_stats"]
    assert stats["downloader/request_count"] > 0
    assert stats.get("downloader/browser_tls/request_count", 0) == 0
    assert "browser TLS fingerprint" not in run["log"]
    assert tls_mirror.hellos
    assert not any(h.grease or b"h2" in h.alpn for h in tls_mirror.hellos), [h.ja3 for h in tls_mirror.hellos]
    check_warcs(run, tmp_path)

    # the browser profile's ClientHello differs from Scrapy's, GREASE aside
    before = len(tls_mirror.hellos)
    with curl_cffi.requests.Session(impersonate="chrome", verify=False, trust_env=False) as session:
        answer = session.get(tls_mirror.base_url + "/robots.txt")
    assert answer.status_code == 200
    browser = tls_mirror.hellos[before:]
    assert browser and all(h.grease for h in browser)
    assert {h.ja3 for h in browser}.isdisjoint({h.ja3 for h in tls_mirror.hellos[:before]})


def test_download_timeout_bounds_the_whole_exchange(tls_mirror: TLSMirror, tmp_path: Path) -> None:
    """A page that keeps sending a byte now and then (no stall for curl to notice) still ends at
    DOWNLOAD_TIMEOUT: an error row, and the rest of the crawl goes on."""
    written = [url for url, want in expected(OUTLET)["articles"].items() if want["status"] == "written"]
    slow = written[0]
    path = "/" + slow.split("/", 3)[3]
    tls_mirror.drip[path] = 8.0
    run = crawl(tls_mirror, tmp_path, {"BROWSER_TLS_OUTLETS": OUTLET, "DOWNLOAD_TIMEOUT": 2, "RETRY_TIMES": 0})
    row = run["rows"][slow]
    assert row["status"] == "error"
    assert row["reason"].startswith("DownloadTimeoutError") and "longer than 2" in row["reason"], row["reason"]
    assert all(run["rows"][url]["status"] == "written" for url in written[1:])
    # the server notices the hang-up at its next write (a loaded machine may end the crawl first)
    deadline = time.monotonic() + 15
    while path not in tls_mirror.hung_up and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path in tls_mirror.hung_up, "the handler dropped the transfer instead of reading it to its end"
    assert run["summary"]["scrapy_stats"]["downloader/browser_tls/request_count"] > 0


def test_plain_http_origins_get_http11_from_the_handler(tmp_path: Path) -> None:
    """Over plain http curl would offer an h2c upgrade (Upgrade, HTTP2-Settings), which no browser
    sends; the handler asks for HTTP/1.1 there."""
    server = mirror.serve(OUTLET)
    try:
        archive = str(tmp_path / "archive")
        result = run_crawl(OUTLET, server, archive, tmp_path / "spool",
                           {**expected(OUTLET).get("settings", {}), "BROWSER_TLS_OUTLETS": OUTLET}, {"max_articles": 2})
        assert result.returncode == 0, result.log[-3000:]
        store = open_store(archive)
        (prefix,) = completed_runs(store)
        run = run_files(store, prefix)
    finally:
        server.stop()
    assert run["summary"]["scrapy_stats"]["downloader/browser_tls/request_count"] > 0
    sent = [headers for kind, _, headers, _, _ in records(run) if kind == "request"]
    assert sent and all(h.statusline.endswith(" HTTP/1.1") for h in sent)  # warcio: protocol holds the verb
    assert not any(h.get_header("Upgrade") or h.get_header("HTTP2-Settings") for h in sent)
    assert all(h.get_header("Host") == server.base_url.split("//", 1)[1] for h in sent)
    check_warcs(run, tmp_path)


def test_an_http2_exchange_as_curl_reports_it_is_archived_verifiably(tmp_path: Path) -> None:
    """What the handler makes of curl's header trace for HTTP/2 (the live outlets speak it; the test
    server here cannot): curl logs an HTTP/1-style text of the h2 request and response (its ``-v``
    form; *assumed* for BoringSSL builds as for others), a 1xx before the final answer is dropped,
    a folded header is joined; the WARC records pass warcio and FastWARC."""
    body = gzip.compress(b"<html><body><p>news</p></body></html>", mtime=0)
    trace = _Trace()
    trace(2, b"GET /news/1 HTTP/2\r\nHost: www.example.org\r\nuser-agent: newsarchive/0.1\r\naccept-encoding: gzip, deflate\r\n\r\n")
    for line in (b"HTTP/2 103 \r\n", b"link: </s.css>; rel=preload\r\n", b"\r\n",
                 b"HTTP/2 200 \r\n", b"content-type: text/html\r\n", b"content-encoding: gzip\r\n",
                 b"x-long: one\r\n", b" two\r\n", b"set-cookie: a=1\r\n", b"set-cookie: b=2\r\n", b"\r\n"):
        trace(1, line)
    trace(0, b"some curl chatter\n")  # neither in nor out: ignored
    protocol, headers = trace.response()
    assert protocol == "HTTP/2"
    assert headers.getlist("set-cookie") == [b"a=1", b"b=2"] and headers.get("x-long") == b"one two"
    assert b"link" not in headers, "the 103 Early Hints headers are not the answer's"
    sent = trace.request_headers()
    assert sent[0] == ("Host", "www.example.org") and ("accept-encoding", "gzip, deflate") in sent

    pairs = [(k.decode(), v.decode()) for k, vs in headers.items() for v in vs]
    exchange = warc.HttpExchange("https://www.example.org/news/1", "GET", sent, b"", 200, "OK", pairs, body,
                                 "127.0.0.1", protocol=protocol)
    closed: list[Path] = []
    writer = warc.RotatingWarcWriter(tmp_path, "h2", 10**9, {"software": "newsarchive-test"}, host="t", on_closed=closed.append)
    writer.write_exchange(exchange)
    writer.close()
    (path,) = closed
    assert warc.check_warc(path.read_bytes()) == []
    with open(path, "rb") as fh:
        for rec in FastIterator(fh, parse_http=False):
            assert rec.verify_block_digest()
    with open(path, "rb") as fh:
        kinds = []
        for rec in FastIterator(fh, parse_http=True):
            kinds.append(rec.headers["WARC-Type"])
            if rec.headers["WARC-Type"] in ("response", "request"):
                assert rec.verify_payload_digest()
    assert kinds == ["warcinfo", "response", "request"]
    check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh):
            if rec.rec_type == "response":
                assert rec.http_headers.protocol == "HTTP/2" and rec.http_headers.get_statuscode() == "200"
                assert rec.raw_stream.read() == body


def test_browser_headers_are_added_only_when_asked_and_recorded_as_sent(tls_mirror: TLSMirror, tmp_path: Path) -> None:
    run = crawl(tls_mirror, tmp_path, {"BROWSER_TLS_OUTLETS": OUTLET, "BROWSER_TLS_BROWSER_HEADERS": "1"}, {"max_articles": 1})
    requests = [(path, headers) for kind, path, headers, _, _ in records(run) if kind == "request"]
    assert requests
    for path, headers in requests:
        names = [name.lower() for name, _ in headers.headers]
        assert "sec-ch-ua" in names and "sec-fetch-mode" in names, names  # the profile's own
        assert headers.get_header("User-Agent").startswith("newsarchive/"), "Scrapy's headers win"
        assert headers.get_header("Accept-Encoding") == "gzip, deflate"
        assert [list(map(str, pair)) for pair in headers.headers] in [list(map(list, h)) for h in tls_mirror.received[path]], path
    check_warcs(run, tmp_path)


def test_redirects_are_left_to_scrapy(tls_mirror: TLSMirror, tmp_path: Path) -> None:
    """curl follows nothing: the 301 reaches Scrapy and the WARC, and the spider follows it."""
    written = [url for url, want in expected(OUTLET)["articles"].items() if want["status"] == "written"]
    moved = written[0]
    old = "/" + moved.split("/", 3)[3]
    new = "/moved" + old
    tls_mirror.routes[new] = tls_mirror.routes[old]
    tls_mirror.routes[old] = {"redirect": new, "status": 301}
    run = crawl(tls_mirror, tmp_path, {"BROWSER_TLS_OUTLETS": OUTLET})
    assert run["rows"][moved]["status"] == "written"
    assert run["rows"][moved]["final_url"].endswith(new)
    responses = {path: headers for kind, path, headers, _, _ in records(run) if kind == "response"}
    assert responses[old].get_statuscode() == "301" and responses[old].get_header("Location") == new
    assert responses[new].get_statuscode() == "200"
    assert tls_mirror.hits[old] == 1 and tls_mirror.hits[new] == 1
    check_warcs(run, tmp_path)


def test_settings_that_cannot_work_are_named() -> None:
    known = all_outlets()
    assert browser_tls_problem([], "chrome", known) is None
    assert browser_tls_problem([OUTLET], "chrome", known) is None
    assert browser_tls_problem([OUTLET], "firefox", known) is None
    assert "names no outlet: pravdaa" in (browser_tls_problem(["pravdaa"], "chrome", known) or "")
    assert "cannot impersonate" in (browser_tls_problem([OUTLET], "netscape4", known) or "")
