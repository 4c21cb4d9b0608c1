"""A real HTTP server on loopback that serves an outlet's fixture mirror (``tests/sites/<outlet>/``).

The tests and the offline demo crawl it exactly as they would crawl the live outlet. A site is a
folder with ``site.json``::

    {"routes": {"/path?query": {"file": "pages/a.html",          # body from a file of the site
                                  "body": "inline text",          # ... or inline
                                  "status": 200,
                                  "content_type": "text/html; charset=utf-8",
                                  "headers": {"X-Any": "v"},
                                  "redirect": "/other",            # Location (status 301 unless given)
                                  "gzip": true,                    # Content-Encoding: gzip if accepted
                                  "chunked": true,                 # Transfer-Encoding: chunked
                                  "fail_first": 1,                 # first N hits answer 503 + Retry-After: 0
                                  "repeat": 1000}}}                # body repeated N times (oversize tests)

Unknown paths answer 404. Files hold the live outlet's absolute URLs; the spider maps them to the
mirror's address. Every response carries a fixed ``Date`` so archives are comparable across runs.

``links_to_self`` (``serve(..., own_host=True)``: the outlet's live origin) serves the site as a
staging copy or ``wget --mirror --convert-links`` would: every link to those origins in bodies,
headers and redirects points to the server's own address instead (``http://127.0.0.1:PORT/...``,
also JSON-escaped), so the crawl must take the mirror's own links for the outlet's.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXED_DATE = "Wed, 25 Nov 2026 00:00:00 GMT"
SITES_DIR = Path(__file__).resolve().parents[2] / "tests" / "sites"  # the fixture sites of a source checkout
NOT_FOUND = b"<!doctype html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"


class MirrorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, site_dir: Path, host: str = "127.0.0.1", port: int = 0, delay: float = 0.0, links_to_self: tuple[str, ...] = ()) -> None:
        self.site_dir = Path(site_dir)
        #: seconds every response waits (slow-site tests: a crawl that can be killed midway)
        self.delay = delay
        #: origins (``https://en.orda.kz``) whose links are served as links to this server
        self.links_to_self = tuple(o.rstrip("/") for o in links_to_self)
        spec = json.loads((self.site_dir / "site.json").read_text(encoding="utf-8"))
        self.routes: dict[str, dict[str, Any]] = spec["routes"]
        self.hits: Counter[str] = Counter()
        self.hits_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def to_self(self, data: bytes) -> bytes:
        """``data`` with links to :attr:`links_to_self` pointing to this server (plain and JSON-escaped)."""
        for origin in self.links_to_self:
            for old, new in ((origin, self.base_url), (origin.replace("/", "\\/"), self.base_url.replace("/", "\\/"))):
                data = data.replace(old.encode(), new.encode())
        return data

    def start(self) -> "MirrorServer":
        threading.Thread(target=self.serve_forever, name=f"mirror-{self.site_dir.name}", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: MirrorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet; tests read hits instead
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        return FIXED_DATE

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        with self.server.hits_lock:
            self.server.hits[self.path] += 1
            hit = self.server.hits[self.path]
        if self.server.delay:
            time.sleep(self.server.delay)
        route = self.server.routes.get(self.path)
        if route is None:
            self._send(404, {"Content-Type": "text/html; charset=utf-8"}, NOT_FOUND, head)
            return
        if hit <= int(route.get("fail_first", 0)):
            self._send(503, {"Content-Type": "text/plain", "Retry-After": "0"}, b"busy, retry\n", head)
            return
        headers: dict[str, str] = {k: self.server.to_self(v.encode("latin-1")).decode("latin-1") for k, v in route.get("headers", {}).items()}
        if "redirect" in route:
            headers["Location"] = self.server.to_self(route["redirect"].encode("latin-1")).decode("latin-1")
            self._send(int(route.get("status", 301)), headers, b"", head)
            return
        if "file" in route:
            body = (self.server.site_dir / route["file"]).read_bytes()
        else:
            body = route.get("body", "").encode("utf-8")
        body = self.server.to_self(body) * int(route.get("repeat", 1))
        if "content_type" in route:
            headers["Content-Type"] = route["content_type"]
        if route.get("gzip") and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        self._send(int(route.get("status", 200)), headers, body, head, chunked=bool(route.get("chunked")))

    def _send(self, status: int, headers: dict[str, str], body: bytes, head: bool, chunked: bool = False) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if head:
            return
        if chunked:
            step = 4096
            for i in range(0, len(body), step):
                piece = body[i : i + step]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)


def serve(outlet: str, host: str = "127.0.0.1", port: int = 0, sites_dir: Path = SITES_DIR, delay: float = 0.0, own_host: bool = False) -> MirrorServer:
    """Start the fixture mirror of ``outlet`` in a background thread and return it; ``own_host``: with
    links to the outlet's live site (its ``base_url``) pointing to the mirror itself."""
    links: tuple[str, ...] = ()
    if own_host:
        from pipelines.outlets import get_outlet

        links = (get_outlet(outlet).base_url,)
    return MirrorServer(sites_dir / outlet, host, port, delay, links_to_self=links).start()
