"""Downloader middlewares: WARC capture of every exchange, retries that honour Retry-After, and blocks
(401/403/429 walls, bot challenges) recognised and backed off from; a spider middleware hands a 2xx
challenge page to its request's errback.

``WarcCaptureMiddleware`` sits at 900, nearer the downloader than redirects (600), content
decoding (590) and retries (550): it sees every response as it came off the wire (robots.txt,
redirects, 5xx that will be retried, 404s), still content-encoded, so the WARC payload digests
match what the server sent. It also holds ``DOWNLOAD_MAXSIZE`` on the decoded body (a
decompression bomb is cut at the limit, not inflated, see ``WarcCaptureMiddleware``).
"""

from __future__ import annotations

import asyncio
import logging
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from gzip import GzipFile
from http import HTTPStatus
from io import BytesIO
from time import monotonic
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured, StopDownload
from scrapy.http import Response, TextResponse
from scrapy.responsetypes import responsetypes
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.response import response_status_message

from crawler.browsertls import SENT_HEADERS_META
from crawler.extensions import ArchiveExtension
from pipelines.archive import Archive, StorageFault
from pipelines.blocking import CF_MITIGATED, CHALLENGE_MAX_BYTES, CHALLENGE_PAGE, detect_block, next_delay, retry_after, retry_after_seconds
from pipelines.urls import strip_credentials
from pipelines.warc import HttpExchange

logger = logging.getLogger(__name__)

# The decoders HttpCompressionMiddleware uses (Scrapy's own dependencies, imported as Scrapy does)
try:
    import brotli
except ImportError:  # pragma: no cover - PyPy, where Scrapy depends on brotlicffi
    import brotlicffi as brotli  # type: ignore[no-redef]
if sys.version_info >= (3, 14):  # pragma: no cover
    from compression import zstd
else:
    from backports import zstd


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    pairs = []
    for name, values in headers.items():
        for value in values:
            pairs.append((name.decode("latin-1"), value.decode("latin-1")))
    return pairs


# --------------------------------------------------------------------------- decoded-size limit
# WarcCaptureMiddleware decodes content codings itself, once, ahead of HttpCompressionMiddleware
# (590), which then finds nothing left to decode. Scrapy's decoders (scrapy/utils/gz.py,
# scrapy/utils/_compression.py) raise at the limit and keep nothing; these yield the same bytes in
# pieces of at most 64 KiB, so a bomb is cut at the limit with its first bytes kept, and they are
# as lenient as Scrapy's with a cut stream.

_PIECE = 65536


def _gunzip_pieces(data: bytes) -> Iterator[bytes]:
    f = GzipFile(fileobj=BytesIO(data))
    produced = False
    while True:
        try:
            piece = f.read1(_PIECE)
        except (OSError, EOFError, struct.error):
            if produced:  # a cut or damaged tail after some output: what came out counts
                return
            raise
        if not piece:
            return
        produced = True
        yield piece


def _inflate_pieces(data: bytes) -> Iterator[bytes]:
    d = zlib.decompressobj()
    try:
        piece = d.decompress(data, _PIECE)
    except zlib.error:  # raw deflate, as some servers send it
        d = zlib.decompressobj(wbits=-15)
        piece = d.decompress(data, _PIECE)
    yield piece
    while d.unconsumed_tail and not d.eof:
        yield d.decompress(d.unconsumed_tail, _PIECE)


def _unbrotli_pieces(data: bytes) -> Iterator[bytes]:
    d = brotli.Decompressor()
    yield d.process(data, output_buffer_limit=_PIECE)
    while not d.is_finished():
        piece = d.process(b"", output_buffer_limit=_PIECE)
        if not piece:
            return
        yield piece


def _unzstd_pieces(data: bytes) -> Iterator[bytes]:
    f = zstd.ZstdFile(BytesIO(data))
    while True:
        try:
            piece = f.read(_PIECE)
        except EOFError:  # a cut stream: what came out counts
            return
        if not piece:
            return
        yield piece


#: the content codings HttpCompressionMiddleware decodes (its ACCEPTED_ENCODINGS and x-gzip)
_DECODERS: dict[bytes, Callable[[bytes], Iterator[bytes]]] = {
    b"gzip": _gunzip_pieces,
    b"x-gzip": _gunzip_pieces,
    b"deflate": _inflate_pieces,
    b"br": _unbrotli_pieces,
    b"zstd": _unzstd_pieces,
}


def _split_encodings(values: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """(codings to undo, last applied first; codings left), as HttpCompressionMiddleware splits them."""
    left = [coding.strip().lower() for value in values for coding in value.split(b",")]
    undo: list[bytes] = []
    while left and left[-1] in _DECODERS:
        undo.append(left.pop())
    return undo, left


def decode_capped(body: bytes, codings: list[bytes], limit: int) -> tuple[bytes, bool]:
    """``body`` with ``codings`` undone (last applied first), cut at ``limit`` bytes; and whether it was cut.

    Never holds more than ``limit`` decoded bytes (plus one 64 KiB piece): the rest of a bomb is
    not inflated. Raises what the decoder raises on a stream that is not in its coding. When an
    inner stage is cut, the outer ones decode what there is (as they would a stream cut on the wire).
    """
    cut = False
    for coding in codings:
        out = bytearray()
        try:
            for piece in _DECODERS[coding](body):
                if len(out) + len(piece) > limit:
                    out += piece[: limit - len(out)]
                    cut = True
                    break
                out += piece
        except Exception:
            if not cut:
                raise
            out = bytearray()  # a cut inner stage that the next coding cannot read at all
        body = bytes(out)
    return body, cut


def _decoded(response: Response, body: bytes, left: list[bytes], flags: list[str]) -> Response:
    """``response`` with its decoded ``body``, as HttpCompressionMiddleware builds it (codings
    ``left`` undecoded stay in Content-Encoding; response class and encoding chosen anew)."""
    headers = response.headers.copy()
    if left:
        headers["Content-Encoding"] = left
    else:
        del headers["Content-Encoding"]
    respcls = responsetypes.from_args(headers=headers, url=response.url, body=body)
    kwargs: dict[str, Any] = {"body": body, "headers": headers, "flags": flags}
    if issubclass(respcls, TextResponse):
        kwargs["encoding"] = None
    return response.replace(cls=respcls, **kwargs)


class StripCredentialsMiddleware:
    """First of all (before robots.txt): a request whose URL carries credentials (``user:pass@``,
    e.g. from a source's redirect, which RedirectMiddleware follows as given) goes again without
    them, so they are never sent, archived, counted or logged."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "StripCredentialsMiddleware":
        return cls(crawler)

    def process_request(self, request: Request) -> Request | None:
        if "@" not in urlsplit(request.url).netloc:
            return None
        self.crawler.stats.inc_value("downloader/credentials_stripped")
        return request.replace(url=strip_credentials(request.url), dont_filter=True)


class WarcCaptureMiddleware:
    """Write every HTTP exchange as WARC request/response records; cut responses at the size limit.

    Scrapy's own ``DOWNLOAD_MAXSIZE`` cancels a download and keeps nothing. An archive wants
    the first bytes and a record saying it was cut, so this middleware takes over the limit:
    it turns Scrapy's off per request and stops the download itself once ``DOWNLOAD_MAXSIZE``
    bytes have arrived, keeping the partial body (``WARC-Truncated: length``).

    The limit holds for the decoded body too. Scrapy's HttpCompressionMiddleware reads the same
    ``download_maxsize`` meta key as its decompression limit (0: none), so once the download is
    done the key is set back to the limit; and a content-encoded body (gzip, deflate, br, zstd,
    nested) is first decoded here up to the limit: if it decodes to more (a decompression bomb),
    the response goes on decoded and cut at the limit, flagged ``truncated``, with the reason in
    ``meta["archive_truncated_reason"]``, instead of being dropped by Scrapy (IgnoreRequest)
    without a row. The WARC keeps the body as received (still encoded, ``WARC-Truncated`` only
    when the wire body was cut).
    """

    def __init__(self, archive: Archive, maxsize: int, crawler: Crawler, decode: bool = True) -> None:
        self.archive = archive
        self.maxsize = maxsize
        self.crawler = crawler
        self.decode = decode  # COMPRESSION_ENABLED: Scrapy decodes content codings
        self._received: dict[int, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "WarcCaptureMiddleware":
        ext = crawler.get_extension(ArchiveExtension)
        if ext is None:
            raise NotConfigured("no archive (ARCHIVE_ENABLED is off)")
        settings = crawler.settings
        mw = cls(ext.archive, settings.getint("DOWNLOAD_MAXSIZE"), crawler, settings.getbool("COMPRESSION_ENABLED"))
        if mw.maxsize:
            crawler.signals.connect(mw.bytes_received, signal=signals.bytes_received)
        return mw

    def process_request(self, request: Request) -> None:
        if self.maxsize:
            request.meta.setdefault("archive_maxsize", self.maxsize)
            request.meta["download_maxsize"] = 0

    def bytes_received(self, data: bytes, request: Request, spider: Any) -> None:
        limit = request.meta.get("archive_maxsize")
        if not limit:
            return
        key = id(request)
        total = self._received.get(key, 0) + len(data)
        self._received[key] = total
        if total >= limit:
            request.meta["archive_truncated"] = total
            raise StopDownload(fail=False)

    def process_response(self, request: Request, response: Response) -> Response:
        self._received.pop(id(request), None)
        body = response.body
        truncated = None
        if "download_stopped" in response.flags or request.meta.get("archive_truncated"):
            limit = request.meta.get("archive_maxsize") or len(body)
            body = body[:limit]
            truncated = "length"
            response = response.replace(body=body)
            response.flags.append("truncated")
            request.meta["archive_truncated_reason"] = f"response truncated at DOWNLOAD_MAXSIZE ({limit} bytes)"
            self.crawler.stats.inc_value("archive/responses_truncated")
            logger.warning("response of %s cut at %d bytes (DOWNLOAD_MAXSIZE)", response.url, limit)
        # the headers as sent when the download handler reports them (crawler.browsertls); else
        # Scrapy's: its HTTP client adds Host itself, and the request record should show it
        headers = list(request.meta.get(SENT_HEADERS_META) or [])
        if not headers:
            headers = [] if b"Host" in request.headers else [("Host", urlsplit(request.url).netloc)]
            headers += _header_pairs(request.headers)
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        exchange = HttpExchange(
            url=response.url,
            method=request.method,
            request_headers=headers,
            request_body=request.body or b"",
            status=response.status,
            reason=reason,
            response_headers=_header_pairs(response.headers),
            body=body,
            ip_address=str(response.ip_address) if response.ip_address else None,
            truncated=truncated,
            protocol=response.protocol or "HTTP/1.1",
        )
        try:
            location = self.archive.record_exchange(exchange)
        except StorageFault as exc:  # logged once by the archive; the run is stopping
            self.crawler.stats.inc_value("archive/not_archived_storage_fault")
            raise IgnoreRequest(f"not archived: {exc}") from None
        request.meta["warc"] = location  # a RecordLocation, all the way to the manifest row
        request.meta["fetched_at"] = self.archive.now()
        self.crawler.stats.inc_value("archive/warc_responses")
        limit = request.meta.get("archive_maxsize")
        if limit:
            # HttpCompressionMiddleware's decompression limit (it reads this key; 0 would be none)
            request.meta["download_maxsize"] = limit
            response = self._cap_decoded(request, response, limit)
        return response

    def _cap_decoded(self, request: Request, response: Response, limit: int) -> Response:
        """The response decoded, and cut at ``limit`` (flagged ``truncated``) if its decoded body is larger."""
        if not self.decode or request.method == "HEAD":
            return response  # HttpCompressionMiddleware does not decode these either
        codings, left = _split_encodings(response.headers.getlist("Content-Encoding"))
        if not codings:
            return response
        try:
            decoded, cut = decode_capped(response.body, codings, limit)
        except Exception:
            return response  # not in its coding: HttpCompressionMiddleware fails it, as without us
        if not cut:
            # fits: handed on decoded, as HttpCompressionMiddleware would (one decoding pass, not two)
            self.crawler.stats.inc_value("httpcompression/response_bytes", len(decoded))
            self.crawler.stats.inc_value("httpcompression/response_count")
            return _decoded(response, decoded, left, list(response.flags))
        reason = f"decoded body exceeds DOWNLOAD_MAXSIZE ({limit} bytes)"
        request.meta.setdefault("archive_truncated_reason", reason)
        flags = [*response.flags, "decoded_truncated"]
        if "truncated" not in response.flags:
            flags.append("truncated")
        self.crawler.stats.inc_value("archive/responses_decoded_truncated")
        logger.warning("decoded body of %s cut at %d bytes (DOWNLOAD_MAXSIZE; %d bytes on the wire, %s)",
                       response.url, limit, len(response.body), ", ".join(c.decode() for c in codings))
        return _decoded(response, decoded, left, flags)

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._received.pop(id(request), None)
        if not isinstance(exception, IgnoreRequest):  # e.g. forbidden by robots.txt: nothing was fetched
            self.crawler.stats.inc_value(f"archive/fetch_errors/{type(exception).__name__}")
        return None


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry, plus a wait before each retry: ``Retry-After`` when given, else exponential.

    Waits ``RETRY_BACKOFF_BASE * 2**n`` seconds (capped at ``RETRY_BACKOFF_MAX``) before the
    n-th retry of a 429/5xx, or what the server's ``Retry-After`` asks if that is longer
    (still capped). Only the retried request waits; the rest of the crawl goes on.
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE")
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX")

    def retry_delay(self, request: Request, response: Response) -> float:
        attempt = request.meta.get("retry_times", 0)
        delay = self.backoff_base * (2**attempt)
        asked = retry_after(response.headers.get(b"Retry-After", b"").decode("latin-1"))
        if asked is not None and asked >= 0:  # unreadable, or a date already past: the exponential delay
            delay = asked
        return min(delay, self.backoff_max)

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        delay = self.retry_delay(request, response)
        if delay > 0:
            logger.info("HTTP %d for %s; retrying in %.1fs", response.status, request.url, delay)
            await asyncio.sleep(delay)
        return retry


class BlockedResponse(HttpError):
    """A 2xx answer that is a block (a bot challenge page): the request's errback gets it, as it gets an HTTP error."""


class BlockDetectionMiddleware:
    """Every answer judged once (:func:`pipelines.blocking.detect_block`), as it arrives; a block backs off its host.

    The verdict goes into ``request.meta["blocked"]`` (what was seen, the row's reason) and
    ``meta["blocked_key"]``, and into the stats ``blocked/requests`` (answers judged),
    ``blocked/responses`` and ``blocked/by_reason/<key>``. The judging runs on ``response_downloaded``,
    as AutoThrottle's does, because that is the last moment before the download slot sends its next
    request: on a block the slot's delay doubles (at least ``BLOCKED_BACKOFF_START``, at most
    ``BLOCKED_BACKOFF_MAX``, at least a 429/503's ``Retry-After``, and the next request waits for the
    Retry-After itself), logged once per change (``blocked/backoffs``); the first answer of the host
    that is not a block gives the slot its delay from before the blocks back (one refused page, a
    paywalled article, does not slow the rest of the run; a wall keeps doubling it). Between retries (550) and
    decoding (590): a challenge page is not retried, since another try meets the same challenge;
    a 429 is retried by :class:`BackoffRetryMiddleware` after its Retry-After.
    """

    def __init__(self, crawler: Crawler, start: float, cap: float) -> None:
        self.crawler = crawler
        self.start = start
        self.cap = cap
        #: slot key -> its delay before the blocks that raised it
        self._before: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "BlockDetectionMiddleware":
        mw = cls(crawler, crawler.settings.getfloat("BLOCKED_BACKOFF_START"), crawler.settings.getfloat("BLOCKED_BACKOFF_MAX"))
        crawler.signals.connect(mw.response_downloaded, signal=signals.response_downloaded)
        return mw

    def response_downloaded(self, response: Response, request: Request, spider: Any = None) -> None:
        stats = self.crawler.stats
        stats.inc_value("blocked/requests")
        # a retry carries its meta over: an earlier attempt's verdict is not this answer's
        request.meta.pop("blocked", None)
        request.meta.pop("blocked_key", None)
        block = detect_block(response.status, _header_pairs(response.headers), _plain_body(response))
        if block is None:
            self._recover(request)
            return
        request.meta["blocked"], request.meta["blocked_key"] = block.reason, block.key
        stats.inc_value("blocked/responses")
        stats.inc_value(f"blocked/by_reason/{block.key}")
        self._back_off(request, response, block.reason)

    def _slot(self, request: Request) -> tuple[str, Any] | tuple[None, None]:
        downloader = getattr(self.crawler.engine, "downloader", None)
        if downloader is None:
            return None, None
        key = request.meta.get("download_slot") or downloader.get_slot_key(request)
        slot = downloader.slots.get(key)
        return (key, slot) if slot is not None else (None, None)

    def _recover(self, request: Request) -> None:
        """An answer that is not a block: a slot backed off gets its delay from before the blocks back."""
        if not self._before:
            return
        key, slot = self._slot(request)
        if key is None or key not in self._before:
            return
        before = self._before.pop(key)
        if slot.delay > before:
            logger.info("%s answers again: its download delay goes back from %.1fs to %.1fs", key, slot.delay, before)
            slot.delay = before

    def _back_off(self, request: Request, response: Response, reason: str) -> None:
        key, slot = self._slot(request)
        if key is None:
            return
        self._before.setdefault(key, slot.delay)
        wait = None
        if response.status in (429, 503):
            wait = retry_after_seconds(response.headers.get(b"Retry-After", b"").decode("latin-1"))
        if wait:
            wait = min(wait, self.cap) if self.cap > 0 else wait
            slot.lastseen = max(slot.lastseen, monotonic() + wait)  # the slot's next request waits for it
        delay = next_delay(slot.delay, self.start, self.cap, wait)
        if delay != slot.delay:
            logger.warning("%s refused a request (%s): its download delay goes from %.1fs to %.1fs", key, reason, slot.delay, delay)
            slot.delay = delay
            self.crawler.stats.inc_value("blocked/backoffs")

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("blocked_key") in (CF_MITIGATED, CHALLENGE_PAGE):
            request.meta["dont_retry"] = True
        return response


def _plain_body(response: Response) -> bytes:
    """A small response's body without its content codings (a challenge page is small); else empty."""
    body = response.body
    if len(body) > CHALLENGE_MAX_BYTES:
        return b""
    codings, left = _split_encodings(response.headers.getlist("Content-Encoding"))
    if left:
        return b""
    if codings:
        try:
            body, cut = decode_capped(body, codings, CHALLENGE_MAX_BYTES + 1)
        except Exception:
            return b""
        if cut:
            return b""
    return body


class BlockedResponseMiddleware:
    """Spider middleware after HttpErrorMiddleware (50): a 2xx answer judged a block goes to the
    request's errback as :class:`BlockedResponse` (the errback makes a ``blocked`` row or counts a
    blocked source), never to a callback that would read a challenge page as an article or a feed."""

    def process_spider_input(self, response: Response) -> None:
        meta = response.meta if response.request is not None else {}
        if 200 <= response.status < 300 and meta.get("blocked"):
            raise BlockedResponse(response, f"blocked: {meta['blocked']}")
