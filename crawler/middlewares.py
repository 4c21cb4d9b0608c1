"""Downloader middlewares: WARC capture of every exchange, and retries that honour Retry-After.

``WarcCaptureMiddleware`` sits at 900, nearer the downloader than redirects (600), content
decoding (590) and retries (550): it sees every response as it came off the wire (robots.txt,
redirects, 5xx that will be retried, 404s), still content-encoded, so the WARC payload digests
match what the server sent.
"""

from __future__ import annotations

import asyncio
import logging
from email.utils import parsedate_to_datetime
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import NotConfigured, StopDownload
from scrapy.http import Response
from scrapy.utils.response import response_status_message

from crawler.extensions import ArchiveExtension
from pipelines.archive import Archive
from pipelines.warc import HttpExchange

logger = logging.getLogger(__name__)


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    pairs = []
    for name, values in headers.items():
        for value in values:
            pairs.append((name.decode("latin-1"), value.decode("latin-1")))
    return pairs


class WarcCaptureMiddleware:
    """Write every HTTP exchange as WARC request/response records; cut responses at the size limit.

    Scrapy's own ``DOWNLOAD_MAXSIZE`` cancels a download and keeps nothing. An archive wants
    the first bytes and a record saying it was cut, so this middleware takes over the limit:
    it turns Scrapy's off per request and stops the download itself once ``DOWNLOAD_MAXSIZE``
    bytes have arrived, keeping the partial body (``WARC-Truncated: length``).
    """

    def __init__(self, archive: Archive, maxsize: int, crawler: Crawler) -> None:
        self.archive = archive
        self.maxsize = maxsize
        self.crawler = crawler
        self._received: dict[int, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "WarcCaptureMiddleware":
        ext = crawler.get_extension(ArchiveExtension)
        if ext is None:
            raise NotConfigured("no archive (ARCHIVE_ENABLED is off)")
        mw = cls(ext.archive, crawler.settings.getint("DOWNLOAD_MAXSIZE"), crawler)
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
            self.crawler.stats.inc_value("archive/responses_truncated")
            logger.warning("response of %s cut at %d bytes (DOWNLOAD_MAXSIZE)", response.url, limit)
        # Scrapy's HTTP client adds Host itself; the request record should show it
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
        location = self.archive.record_exchange(exchange)
        request.meta["warc"] = location  # a RecordLocation, all the way to the manifest row
        request.meta["fetched_at"] = self.archive.now()
        self.crawler.stats.inc_value("archive/warc_responses")
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._received.pop(id(request), None)
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
        header = response.headers.get(b"Retry-After")
        if header:
            value = header.decode("latin-1").strip()
            try:
                asked = float(value)
            except ValueError:
                try:
                    asked = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
                except (TypeError, ValueError):
                    asked = delay
            delay = max(0.0, asked) if asked >= 0 else delay
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
