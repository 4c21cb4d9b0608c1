"""robots.txt, honoured from the first request of a host (RFC 9309), replacing Scrapy's middleware.

Scrapy's ``RobotsTxtMiddleware`` (2.19) has every request of a host that arrives while its
robots.txt is being fetched await one shared Deferred; turning that Deferred into an asyncio
future consumes its result, so only the first waiter gets the parser and the others go out as
if there were no robots.txt (the crawl's concurrent start requests: sitemaps, section pages).
It also parses whatever body a failed fetch returned: a robots.txt answering 500 (after the
retries) or 404 is read as its error page, and an unreachable one means no rules at all.

:class:`RobotsPolicyMiddleware` resolves one :class:`RobotsPolicy` per host (``netloc``) for the
run, and every request of the host, the ones that were waiting included, awaits that policy:

- 2xx: the rules of the file (Protego, ``ROBOTSTXT_PARSER``; a body cut at ``DOWNLOAD_MAXSIZE`` is
  read as far as it goes).
- 3xx that was not followed (no usable ``Location``) or more than :data:`MAX_REDIRECTS`
  redirects, and 4xx: robots.txt is unavailable, everything is allowed (RFC 9309 §2.3.1.2-3).
- 429 and 5xx (after the retries of ``BackoffRetryMiddleware``), an unexpected status, or no
  answer at all (connection refused or closed, timeout, DNS): robots.txt is unreachable, the
  host is completely disallowed for the run (RFC 9309 §2.3.1.4; 429 too, as Google does: the
  server asked us to slow down, not to go ahead).

Redirects of robots.txt are followed by Scrapy's RedirectMiddleware, up to five (RFC 9309 §2.3.1.2),
across hosts too. Every robots.txt exchange goes through the WARC capture like any other.

A request refused by robots raises :class:`RobotsForbidden`, Scrapy's ``IgnoreRequest``: the
request's errback gets it (the spider gives a listed article an ``error`` row, retried by a later
run). The policy of each host is in the stats as ``robotstxt/policy/<host>`` (hence in the run
summary's ``scrapy_stats``) and logged once, at WARNING when everything is disallowed.
``ROBOTSTXT_OBEY`` stays the switch.

robots.txt is also a discovery source: the ``Sitemap:`` URLs of a file read as rules (2xx) are kept
in the host's policy (:attr:`RobotsPolicy.sitemaps`, absolute), and once a host's policy is resolved
the middleware sends :data:`robots_resolved` (``netloc``, ``policy``); the outlet spider schedules
the sitemaps of its outlet's host it does not already declare (crawler/spiders/outlet.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from pipelines.manifest import ROBOTS_FORBIDDEN
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

if TYPE_CHECKING:
    from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)

RULES, ALLOW_ALL, DISALLOW_ALL = "rules", "allow_all", "disallow_all"
#: redirects of robots.txt followed (RFC 9309 §2.3.1.2: at least five); more: unavailable
MAX_REDIRECTS = 5
#: the reason of a refused request, and the start of its manifest row's reason
FORBIDDEN = ROBOTS_FORBIDDEN

#: signal sent once per host when its robots.txt policy is resolved, before any request of the host
#: goes out; arguments ``netloc`` (the host as requested, with its port) and ``policy`` (RobotsPolicy)
robots_resolved = object()


@dataclass(frozen=True)
class RobotsPolicy:
    """What robots.txt lets this crawler fetch from one host for the run, and why."""

    kind: str  # RULES, ALLOW_ALL or DISALLOW_ALL
    why: str  # "HTTP 200", "HTTP 404", "HTTP 503", "unreachable: DownloadTimeoutError", ...
    parser: Any = None  # the RobotParser of RULES
    #: the absolute URLs of the file's ``Sitemap:`` lines, in order, without repeats (RULES only)
    sitemaps: tuple[str, ...] = ()

    def __str__(self) -> str:
        """The stats value: ``rules (HTTP 200)``, ``allow_all (HTTP 404)``, ``disallow_all (HTTP 503)``..."""
        return f"{self.kind} ({self.why})"


def policy_of_status(status: int) -> tuple[str, str]:
    """The policy kind and its why for a robots.txt answered with ``status`` (after redirects and retries)."""
    why = f"HTTP {status}"
    if 200 <= status < 300:
        return RULES, why
    if status == 429 or 500 <= status < 600:
        return DISALLOW_ALL, why
    if 300 <= status < 500:
        return ALLOW_ALL, why
    return DISALLOW_ALL, f"{why}, unexpected"


def sitemaps_of(parser: Any, robots_url: str) -> tuple[str, ...]:
    """The ``Sitemap:`` URLs of a parsed robots.txt, made absolute against ``robots_url``, in order,
    without repeats: Protego's ``sitemaps`` (Scrapy's default parser), the standard library's
    ``site_maps()``; none for a parser that does not give them."""
    rp = getattr(parser, "rp", None)
    found: Any = getattr(rp, "sitemaps", None)
    if found is None and callable(getattr(rp, "site_maps", None)):
        found = rp.site_maps()
    urls: list[str] = []
    for url in found or ():
        url = urljoin(robots_url, str(url).strip())
        if url and url not in urls and urlsplit(url).scheme in ("http", "https"):
            urls.append(url)
    return tuple(urls)


class RobotsForbidden(IgnoreRequest):
    """A request robots.txt does not allow; ``str()`` is the reason for the manifest row."""


class RobotsPolicyMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with one resolved policy per host that every request awaits."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)  # NotConfigured unless ROBOTSTXT_OBEY
        self._policies: dict[str, RobotsPolicy] = {}
        #: the requests of a host waiting for its robots.txt, each with its own Deferred
        self._waiting: dict[str, list[Deferred[RobotsPolicy]]] = {}

    async def process_request(self, request: Request) -> None:  # type: ignore[override]
        if request.meta.get("dont_obey_robotstxt"):
            return
        if request.url.startswith(("data:", "file:")):
            return
        self.check(await self.policy(request), request)

    def check(self, policy: RobotsPolicy, request: Request) -> None:
        """Raise :class:`RobotsForbidden` unless ``policy`` lets ``request`` go out."""
        if policy.kind == ALLOW_ALL:
            return
        if policy.kind == RULES:
            useragent: str | bytes | None = self._robotstxt_useragent or request.headers.get(b"User-Agent", self._default_useragent)
            assert useragent is not None
            if policy.parser.allowed(request.url, useragent):
                return
            reason = FORBIDDEN
        else:
            reason = f"{FORBIDDEN}: {policy}"
        logger.debug("%s: %s", reason, request, extra={"spider": self.crawler.spider})
        self._stats.inc_value("robotstxt/forbidden")
        raise RobotsForbidden(reason)

    async def policy(self, request: Request) -> RobotsPolicy:
        """The policy of ``request``'s host; the first request of a host fetches robots.txt, every
        other one waits for the same answer (each with its own Deferred: none is handed a None)."""
        url = urlparse_cached(request)
        netloc = url.netloc
        known = self._policies.get(netloc)
        if known is not None:
            return known
        waiter: Deferred[RobotsPolicy] = Deferred()
        first = netloc not in self._waiting
        self._waiting.setdefault(netloc, []).append(waiter)
        if first:
            resolving = deferred_from_coro(self._resolve(f"{url.scheme}://{netloc}/robots.txt", netloc, request))
            resolving.addBoth(self._resolved, netloc)
        return await maybe_deferred_to_future(waiter)

    def _resolved(self, result: RobotsPolicy | Failure, netloc: str) -> None:
        """Hand the host's policy to every request that waited for it (a failure, such as the
        crawl being cancelled, to each of them too: the next request of the host tries again)."""
        for waiter in self._waiting.pop(netloc, []):
            if isinstance(result, Failure):
                waiter.errback(result)
            else:
                waiter.callback(result)

    async def _resolve(self, robotsurl: str, netloc: str, request: Request) -> RobotsPolicy:
        robotsreq = Request(
            robotsurl,
            priority=self.DOWNLOAD_PRIORITY,
            # allow_offsite: a redirect of robots.txt to another host is followed (RFC 9309)
            meta={"dont_obey_robotstxt": True, "allow_offsite": True, "redirect_ttl": MAX_REDIRECTS},
            callback=NO_CALLBACK,
        )
        self._stats.inc_value("robotstxt/request_count")
        try:
            response = await self.crawler.engine.download_async(robotsreq)
        except IgnoreRequest as exc:  # RedirectMiddleware: more than MAX_REDIRECTS
            policy = RobotsPolicy(ALLOW_ALL, f"unavailable: {exc}")
            detail = str(exc)
        except Exception as exc:  # connection refused or lost, timeout, DNS..., after the retries
            self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
            policy = RobotsPolicy(DISALLOW_ALL, f"unreachable: {type(exc).__name__}")
            detail = f"{type(exc).__name__}: {exc}"
        else:
            policy = await self._policy_of_response(response, request)
            detail = f"{len(response.body)} bytes" + (f" from {response.url}" if response.url != robotsurl else "")
        self._policies[netloc] = policy
        self._stats.set_value(f"robotstxt/policy/{netloc}", str(policy))
        spider = {"spider": self.crawler.spider}
        if policy.sitemaps:
            logger.info("robots.txt of %s lists %d sitemaps: %s", netloc, len(policy.sitemaps), ", ".join(policy.sitemaps), extra=spider)
        # the spider schedules the sitemaps it did not know; the host's requests still wait for the policy
        self.crawler.signals.send_catch_log(signal=robots_resolved, netloc=netloc, policy=policy)
        if policy.kind == DISALLOW_ALL:
            logger.warning("robots.txt of %s: %s [%s]; RFC 9309: an unreachable robots.txt disallows everything, "
                           "nothing of %s is fetched in this run", netloc, policy, detail, netloc, extra=spider)
        elif policy.kind == ALLOW_ALL:
            logger.info("robots.txt of %s: %s [%s]; RFC 9309: robots.txt is unavailable, everything is allowed", netloc, policy, detail, extra=spider)
        else:
            logger.info("robots.txt of %s: %s [%s]; its rules apply", netloc, policy, detail, extra=spider)
        return policy

    async def _policy_of_response(self, response: Response, request: Request) -> RobotsPolicy:
        self._stats.inc_value("robotstxt/response_count")
        self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        kind, why = policy_of_status(response.status)
        if kind != RULES:
            return RobotsPolicy(kind, why)
        try:
            parser: RobotParser = build_from_crawler(self._parserimpl, self.crawler, response.body)
        except Exception as exc:  # Protego reads junk as no rules; a parser that raises is not trusted
            logger.error("robots.txt %s could not be parsed: %s: %s", response.url, type(exc).__name__, exc, extra={"spider": self.crawler.spider})
            return RobotsPolicy(DISALLOW_ALL, f"{why}, unparsable: {type(exc).__name__}")
        await self.crawler.signals.send_catch_log_async(signal=signals.robots_parsed, robotparser=parser, request=request)
        try:
            sitemaps = sitemaps_of(parser, response.url)
        except Exception as exc:  # the rules stand; only the discovery hint is lost
            logger.warning("robots.txt %s: Sitemap lines unreadable: %s: %s", response.url, type(exc).__name__, exc, extra={"spider": self.crawler.spider})
            sitemaps = ()
        return RobotsPolicy(RULES, why, parser, sitemaps)

    def sitemaps(self, netloc: str) -> tuple[str, ...]:
        """The ``Sitemap:`` URLs of ``netloc``'s robots.txt (none until its policy is resolved)."""
        policy = self._policies.get(netloc)
        return policy.sitemaps if policy is not None else ()
