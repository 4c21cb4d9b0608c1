"""An opt-in download handler that fetches with a browser's TLS and HTTP/2 fingerprint (curl_cffi).

Some outlets (Business Recorder, Ukrainska Pravda; both behind Cloudflare) are reported to answer
403 to plain scripted clients whatever their headers say, because the TLS ClientHello and HTTP/2
settings of OpenSSL/Twisted are not a browser's. ``BROWSER_TLS_OUTLETS`` names the outlets whose
requests go through curl_cffi (libcurl built with BoringSSL, impersonating ``BROWSER_TLS_PROFILE``);
every other spider keeps Scrapy's own HTTP/1.1 handler, so with the setting empty (the default)
nothing changes.

What stays as it was, so the WARC capture below it (crawler/middlewares.py) remains byte-faithful:
the headers are Scrapy's (the User-Agent still names the crawler; the profile's own browser headers
only with ``BROWSER_TLS_BROWSER_HEADERS``), curl neither follows redirects (RedirectMiddleware and
the spider do) nor decodes content codings (the body and ``Content-Encoding`` arrive as received;
transfer coding is undone, as Scrapy's client does), cookies and proxies are not used,
``DOWNLOAD_TIMEOUT`` bounds the whole exchange (not only connect and stalls, as curl's stream mode
would), and ``DOWNLOAD_MAXSIZE`` and ``StopDownload`` work through Scrapy's ``bytes_received``
signal as with Scrapy's client; a transfer cut short is dropped, not read to its end. Plain-http
origins get HTTP/1.1 (no h2c upgrade offer, which no browser sends). The request headers curl really
sent (its ``Host``, the profile's headers) are put in ``request.meta[SENT_HEADERS_META]`` for the
request record. curl runs on the asyncio loop of Scrapy's asyncio reactor (curl_cffi's
``AsyncSession``), never blocking it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.core.downloader.handlers._base_streaming import BaseStreamingDownloadHandler, _BaseResponseArgs
from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    NotConfigured,
)
from scrapy.http import Headers, Response
from scrapy.utils.misc import build_from_crawler

from pipelines.outlets import all_outlets

try:
    from curl_cffi import Curl, CurlECode, CurlOpt
    from curl_cffi import __version__ as curl_cffi_version
    from curl_cffi.requests import AsyncSession
    from curl_cffi.requests import exceptions as curl_errors
    from curl_cffi.requests.impersonate import resolve_latest_browser_type
except ImportError:  # pragma: no cover - curl_cffi is a runtime pin (requirements.lock)
    AsyncSession = None  # type: ignore[assignment,misc]

if TYPE_CHECKING:
    from curl_cffi.requests import Response as CurlResponse

logger = logging.getLogger(__name__)

#: request.meta key: the request headers as a download handler really sent them (name, value pairs,
#: ``Host`` included), for the WARC request record; absent: Scrapy's request headers are what was sent
SENT_HEADERS_META = "download_sent_headers"

# curl's debug callback kinds (CURLINFO_HEADER_IN / CURLINFO_HEADER_OUT)
_HEADER_IN = 1
_HEADER_OUT = 2


def _header_block(data: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """(first line, header pairs) of one header block as curl logged it; folded lines are joined."""
    lines = [line for line in data.split(b"\r\n") if line]
    pairs: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t") and pairs:
            name, value = pairs[-1]
            pairs[-1] = (name, value + b" " + line.strip())
        elif b":" in line:
            name, _, value = line.partition(b":")
            pairs.append((name.strip(), value.strip()))
    return (lines[0] if lines else b""), pairs


@dataclass
class _Trace:
    """The header blocks curl sent and received on one handle, from its debug callback."""

    sent: list[bytes] = field(default_factory=list)
    received: bytearray = field(default_factory=bytearray)

    def __call__(self, kind: int, data: bytes) -> None:
        if kind == _HEADER_OUT:
            self.sent.append(data)
        elif kind == _HEADER_IN:
            if data.startswith(b"HTTP/"):  # a new response (an interim 1xx came before it)
                self.received.clear()
            self.received += data

    def request_headers(self) -> list[tuple[str, str]]:
        """The last request's headers as sent (``Host`` included)."""
        _, pairs = _header_block(self.sent[-1] if self.sent else b"")
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs]

    def response(self) -> tuple[str, Headers]:
        """(protocol of the status line, headers) of the final response, bytes as received."""
        status_line, pairs = _header_block(bytes(self.received))
        protocol = status_line.split(b" ", 1)[0].decode("latin-1") or "HTTP/1.1"
        headers = Headers()
        for name, value in pairs:
            headers.appendlist(name, value)
        return protocol, headers


if AsyncSession is not None:

    class _TracingSession(AsyncSession):  # type: ignore[misc,valid-type]
        """curl_cffi's session, with a header trace on every handle it hands out (reset after each use)."""

        async def pop_curl(self) -> Curl:
            curl = await super().pop_curl()
            trace = _Trace()
            curl.setopt(CurlOpt.VERBOSE, 1)
            curl.setopt(CurlOpt.DEBUGFUNCTION, trace)
            curl.newsarchive_trace = trace  # type: ignore[attr-defined]
            return curl


@dataclass
class _Exchange:
    response: "CurlResponse"
    protocol: str
    headers: Headers


class CurlImpersonateDownloadHandler(BaseStreamingDownloadHandler):  # type: ignore[type-arg]
    """Scrapy's streaming handler flow (signals, size limits, data loss) over curl_cffi's AsyncSession."""

    #: proxies are not used: a proxy would carry the fingerprint elsewhere; HttpProxyMiddleware's
    #: ``meta["proxy"]`` fails the request (Scrapy's rule for handlers without proxy support)
    supports_proxies: ClassVar[bool] = False

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.profile: str = resolve_latest_browser_type(settings.get("BROWSER_TLS_PROFILE"))
        self.browser_headers: bool = settings.getbool("BROWSER_TLS_BROWSER_HEADERS")
        self.verify: bool = settings.getbool("DOWNLOAD_VERIFY_CERTIFICATES")
        self._session: Any = None

    @staticmethod
    def _check_deps_installed() -> None:
        if AsyncSession is None:  # pragma: no cover
            raise NotConfigured("BROWSER_TLS_OUTLETS needs the curl_cffi package")

    def session(self) -> Any:
        """The session, made on first use inside the running asyncio loop (the reactor's)."""
        if self._session is None:
            self._session = _TracingSession(
                impersonate=self.profile,
                default_headers=self.browser_headers,
                allow_redirects=False,
                trust_env=False,  # no proxies from the environment
                discard_cookies=True,  # COOKIES_ENABLED is Scrapy's business
                verify=self.verify,
                max_clients=max(1, self._pool_size_total),
                # the body as received: no content decoding (gzip stays gzip for the WARC)
                curl_options={CurlOpt.HTTP_CONTENT_DECODING: 0},
            )
        return self._session

    async def download_request(self, request: Request) -> Response:
        """The whole exchange within ``download_timeout`` (curl's stream mode bounds only connect and stalls)."""
        request.meta.pop(SENT_HEADERS_META, None)
        self.crawler.stats.inc_value("downloader/browser_tls/request_count")
        timeout: float = request.meta.get("download_timeout", self._DEFAULT_CONNECT_TIMEOUT)
        try:
            async with asyncio.timeout(timeout or None):
                return await super().download_request(request)
        except TimeoutError as exc:
            raise DownloadTimeoutError(f"Getting {request.url} took longer than {timeout} seconds.") from exc

    @asynccontextmanager
    async def _make_request(self, request: Request, timeout: float) -> AsyncIterator[_Exchange]:
        headers = self._request_headers(request).to_tuple_list()
        # a browser speaks HTTP/1.1 to plain-http origins (curl would offer an h2c upgrade)
        http_version = "v1" if urlsplit(request.url).scheme == "http" else None
        try:
            response = await self.session().request(
                request.method,
                request.url,
                headers=headers,
                content=request.body or None,
                timeout=timeout or None,
                accept_encoding=None,  # Scrapy's Accept-Encoding header, and no decoding by curl
                http_version=http_version,
                quote=False,  # the URL as Scrapy has it
                stream=True,
            )
        except curl_errors.RequestException as exc:
            raise _scrapy_error(exc, request, timeout) from exc
        try:
            trace: _Trace = response.curl.newsarchive_trace
            request.meta[SENT_HEADERS_META] = trace.request_headers()
            protocol, received = trace.response()
            yield _Exchange(response, protocol, received)
        finally:
            await _stop(response)

    @staticmethod
    def _extract_headers(response: _Exchange) -> Headers:  # type: ignore[override]
        return response.headers

    @staticmethod
    def _build_base_response_args(response: _Exchange, request: Request, headers: Headers) -> _BaseResponseArgs:  # type: ignore[override]
        try:
            ip = ipaddress.ip_address(response.response.primary_ip)
        except ValueError:
            ip = None
        return {"status": response.response.status_code, "url": request.url, "headers": headers,
                "ip_address": ip, "protocol": response.protocol}

    @staticmethod
    async def _iter_body_chunks(response: _Exchange) -> AsyncIterator[bytes]:  # type: ignore[override]
        try:
            async for chunk in response.response.aiter_content():
                yield chunk
        except curl_errors.RequestException as exc:
            if _is_partial(exc):
                raise  # data loss: Scrapy's flow decides (DOWNLOAD_FAIL_ON_DATALOSS)
            raise _scrapy_error(exc, None, None) from exc

    @staticmethod
    def _is_dataloss_exception(exc: Exception) -> bool:
        return _is_partial(exc)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


async def _stop(response: "CurlResponse") -> None:
    """End a streamed transfer whose body was not read to its end (StopDownload, the size limit, the
    timeout): curl_cffi's own ``aclose`` would wait for the whole body to arrive.

    curl's next write callback fails the transfer; a server that sends nothing more is dropped by
    curl's stall limit (no byte for ``download_timeout`` seconds). The transfer task is not
    cancelled: curl_cffi would then free the debug callback before curl is done calling it.
    """
    task = response.astream_task
    if task is None:
        return
    if not task.done():
        response.quit_now.set()
    await asyncio.wait({task})


def _is_partial(exc: BaseException) -> bool:
    """curl's "transfer closed with outstanding read data remaining" (a body cut short)."""
    return getattr(exc, "code", None) == CurlECode.PARTIAL_FILE


def _scrapy_error(exc: Exception, request: Request | None, timeout: float | None) -> Exception:
    """The Scrapy exception for a curl error, so RetryMiddleware and the spider's errback read it as usual."""
    if isinstance(exc, curl_errors.Timeout):
        where = f"Getting {request.url} took longer than {timeout} seconds" if request else "timed out"
        return DownloadTimeoutError(f"{where}: {exc}")
    if isinstance(exc, curl_errors.DNSError):
        return CannotResolveHostError(str(exc))
    if getattr(exc, "code", None) == CurlECode.COULDNT_CONNECT:
        return DownloadConnectionRefusedError(str(exc))
    return DownloadFailedError(str(exc))


def browser_tls_problem(outlets: Iterable[str], profile: str, known: Iterable[str]) -> str | None:
    """What is wrong with ``BROWSER_TLS_OUTLETS`` and ``BROWSER_TLS_PROFILE``, in one line (None:
    nothing): names that are no outlet, a profile curl_cffi cannot impersonate."""
    listed = set(outlets)
    unknown = sorted(listed - set(known))
    if unknown:
        return f"BROWSER_TLS_OUTLETS names no outlet: {', '.join(unknown)} (outlets: {', '.join(sorted(known))})"
    if not listed:
        return None
    if AsyncSession is None:  # pragma: no cover - a runtime pin
        return "BROWSER_TLS_OUTLETS needs the curl_cffi package (requirements.lock)"
    if Curl().impersonate(resolve_latest_browser_type(profile), default_headers=False) != 0:
        return (f"BROWSER_TLS_PROFILE {profile!r}: curl_cffi {curl_cffi_version} cannot impersonate it "
                "(e.g. chrome, firefox, safari, chrome146)")
    return None


class BrowserTLSDownloadHandler(BaseDownloadHandler):
    """http and https: the outlets in ``BROWSER_TLS_OUTLETS`` through curl_cffi, every other spider
    through Scrapy's HTTP11DownloadHandler (the default, and all of them while the setting is empty)."""

    lazy = False

    def __init__(self, crawler: Crawler, outlets: frozenset[str]) -> None:
        super().__init__(crawler)
        self.outlets = outlets
        self.fallback = build_from_crawler(HTTP11DownloadHandler, crawler)
        #: made on the first request of a listed outlet's spider
        self.impersonating: CurlImpersonateDownloadHandler | None = None
        self._use: bool | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "BrowserTLSDownloadHandler":
        settings = crawler.settings
        outlets = frozenset(name.strip() for name in settings.getlist("BROWSER_TLS_OUTLETS") if name.strip())
        # refused at the start (Scrapy logs it and fails every request) rather than quietly not impersonating
        problem = browser_tls_problem(outlets, settings.get("BROWSER_TLS_PROFILE"), all_outlets())
        if problem:
            raise ValueError(problem)
        handler = cls(crawler, outlets)
        if outlets:
            handler.impersonating = build_from_crawler(CurlImpersonateDownloadHandler, crawler)
        return handler

    def uses_browser_tls(self) -> bool:
        """Whether this crawl's spider (one per crawler) is an outlet listed in ``BROWSER_TLS_OUTLETS``."""
        if self._use is None:
            spider = self.crawler.spider
            name = getattr(spider, "outlet_name", None) or getattr(spider, "name", "")
            self._use = bool(self.impersonating is not None and name in self.outlets)
            if self._use:
                assert self.impersonating is not None
                logger.info("outlet %s is fetched with a browser TLS fingerprint (curl_cffi, %s; BROWSER_TLS_OUTLETS)",
                            name, self.impersonating.profile)
        return self._use

    async def download_request(self, request: Request) -> Response:
        if self.uses_browser_tls():
            assert self.impersonating is not None
            return await self.impersonating.download_request(request)
        return await self.fallback.download_request(request)

    async def close(self) -> None:
        await self.fallback.close()
        if self.impersonating is not None:
            await self.impersonating.close()
