"""A hostile web server on loopback: bombs, loops, lies and silence, programmable per path.

Unlike the fixture mirror (``pipelines/dev/mirror.py``, data-driven, well behaved), every route here
is a Python function that writes the raw response itself, so a test can send what real broken and
hostile servers send: a gzip bomb, a redirect loop, a robots.txt that answers 500 or hangs, a
response that stops halfway. The server records every request it saw (path and headers), so a
test can assert what the crawler fetched and what it never touched.

Sites are shaped like Business Recorder (``/news/<id>/<slug>`` articles listed in an RSS feed at
``/feeds/latest-news/``, the module's feed), crawled by the real ``brecorder`` spider with ``-a base_url=`` (the feed
lists live ``https://www.brecorder.com/...`` URLs, as the real feed does; the spider maps them to
the server). Page shape: the structure of ``tests/sites/brecorder/pages`` (Business Recorder's
live markup, see that folder's README), with generated body text.
"""

from __future__ import annotations

import gzip
import random
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

LIVE = "https://www.brecorder.com"
#: the feed and the sitemap the brecorder module declares (pipelines/outlets/brecorder.py)
FEED = "/feeds/latest-news/"
SITEMAP = "/feeds/sitemap"
Handler = Callable[["Request"], None]


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    at: float


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, routes: dict[str, Handler], host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes = dict(routes)
        self.hits: Counter[str] = Counter()
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        super().__init__((host, port), Request)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "HostileServer":
        threading.Thread(target=self.serve_forever, name="hostile", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> "HostileServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def paths(self) -> list[str]:
        """Every path requested, in order."""
        with self.lock:
            return [s.path for s in self.seen]


class Request(BaseHTTPRequestHandler):
    server: HostileServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.hits[self.path] += 1
            self.server.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic()))
        handler = self.server.routes.get(self.path)
        try:
            if handler is None:
                send(self, 404, b"<html><body><h1>Not Found</h1></body></html>", "text/html")
            else:
                handler(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the crawler hung up: that is what a size limit does

    def hit(self) -> int:
        return self.server.hits[self.path]


# --------------------------------------------------------------------------- responses


def send(req: Request, status: int, body: bytes, content_type: str = "text/html; charset=utf-8", headers: dict[str, str] | None = None) -> None:
    req.send_response(status)
    req.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        req.send_header(name, value)
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    req.wfile.write(body)


def page(body: bytes | str, status: int = 200, content_type: str = "text/html; charset=utf-8", headers: dict[str, str] | None = None) -> Handler:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return lambda req: send(req, status, data, content_type, headers)


def redirect(location: str, status: int = 301) -> Handler:
    return lambda req: send(req, status, b"", "text/html", {"Location": location})


def status(code: int, retry_after: str | None = None) -> Handler:
    return lambda req: send(req, code, f"status {code}\n".encode(), "text/plain", {"Retry-After": retry_after} if retry_after else None)


def silence(seconds: float) -> Handler:
    """Accept the request and say nothing for ``seconds`` (then close)."""
    return lambda req: time.sleep(seconds)


def encoded(body: bytes, encoding: str, content_type: str = "text/html; charset=utf-8") -> Handler:
    """``body`` sent with ``Content-Encoding`` (gzip, deflate, br or zstd), whatever the client accepted."""
    return lambda req: send(req, 200, encode(body, encoding), content_type, {"Content-Encoding": encoding})


def encode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body, mtime=0)
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "br":
        import brotli

        return brotli.compress(body)
    if encoding == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(body)
    raise ValueError(encoding)


def bomb(encoding: str, size: int = 1 << 30) -> bytes:
    """``size`` bytes of zeros compressed with ``encoding``, built without holding them in memory."""
    chunk = b"\0" * (1 << 20)
    if encoding == "gzip":
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        return b"".join([*(c.compress(chunk) for _ in range(size >> 20)), c.flush()])
    if encoding == "deflate":
        c = zlib.compressobj(9)
        return b"".join([*(c.compress(chunk) for _ in range(size >> 20)), c.flush()])
    if encoding == "br":
        import brotli

        b = brotli.Compressor(quality=5)
        return b"".join([*(b.process(chunk) for _ in range(size >> 20)), b.finish()])
    if encoding == "zstd":
        import zstandard

        z = zstandard.ZstdCompressor(level=3).compressobj()
        return b"".join([*(z.compress(chunk) for _ in range(size >> 20)), z.flush()])
    raise ValueError(encoding)


# --------------------------------------------------------------------------- site content


def article_html(title: str, words: int = 400, canonical: str | None = None, base: str | None = None, seed: int = 0, extra_head: str = "") -> str:
    """An article page in Business Recorder's structure with ``words`` words of generated body text."""
    vocab = ("market index government minister policy rupee export bank investors growth inflation energy textile cotton "
             "agreement budget reform province court statement analysts week percent billion prices demand supply officials "
             "karachi lahore islamabad senate cabinet tariff loan fund reserve dollar exchange rate deficit surplus import "
             "factory wheat sugar power gas electricity port shipping freight tax revenue customs board committee").split()
    rng = random.Random(f"{title}/{seed}")
    sentences = []
    while sum(len(s.split()) for s in sentences) < words:
        sentences.append(" ".join(rng.choice(vocab) for _ in range(rng.randint(10, 22))).capitalize() + ".")
    paras = "".join(f"<p>{' '.join(sentences[i:i + 4])}</p>" for i in range(0, len(sentences), 4))
    head = f'<meta charset="utf-8"><title>{escape(title)}</title><meta property="og:title" content="{escape(title)}">'
    head += '<meta property="article:published_time" content="2026-11-24T10:00:00+05:00">'
    if canonical is not None:
        head += f'<link rel="canonical" href="{escape(canonical)}">'
    if base is not None:
        head += f'<base href="{escape(base)}">'
    return (f"<!doctype html><html lang=\"en\"><head>{head}{extra_head}</head><body>"
            f'<article class="story single"><h1 class="story__title">{escape(title)}</h1>'
            f'<div class="story__content">{paras}</div></article></body></html>')


def rss(urls: list[str], dates: list[str] | None = None) -> str:
    """An RSS 2.0 feed listing ``urls`` (absolute, or paths under the live outlet)."""
    now = format_datetime(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    items = "".join(
        f"<item><title>Item {i}</title><link>{escape(u if u.startswith(('http:', 'https:')) else LIVE + u)}</link>"
        f"<pubDate>{(dates or [now] * len(urls))[i]}</pubDate></item>"
        for i, u in enumerate(urls)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Latest</title><link>{LIVE}</link>{items}</channel></rss>'


def brecorder_site(articles: dict[str, Handler], listed: list[str] | None = None, robots: Handler | None = None, extra: dict[str, Handler] | None = None) -> dict[str, Handler]:
    """Routes of a Business Recorder look-alike: robots.txt (allow all unless given), one RSS feed
    listing ``listed`` (default: the article paths) and the articles; every other source is 404."""
    routes: dict[str, Handler] = {
        "/robots.txt": robots or page("User-agent: *\nAllow: /\n", content_type="text/plain"),
        FEED: page(rss(listed if listed is not None else list(articles)), content_type="application/rss+xml; charset=utf-8"),
    }
    routes.update(articles)
    routes.update(extra or {})
    return routes


def article_id(n: int) -> str:
    return f"/news/{40470000 + n}/hostile-case-{n}"


@dataclass
class Case:
    """A named hostile case: its routes and what the test expects (used by the bench too)."""

    name: str
    routes: dict[str, Handler]
    notes: str = ""
    expect: dict[str, Any] = field(default_factory=dict)
