"""Is an answer the outlet refusing the crawler (a wall or a bot challenge), and is the whole run blocked?

One place decides, for every HTTP answer of a run (:func:`detect_block`): the Scrapy layer calls it
once per response (``crawler.middlewares.BlockDetectionMiddleware``) and everything else reads its
verdict. What counts as a block:

- HTTP 401, 403 and 429 (a login wall, a refusal, a rate limit);
- Cloudflare's ``cf-mitigated: challenge`` header, which every Cloudflare challenge page carries,
  whatever its type and status (Cloudflare's "Detecting a challenge page response",
  cloudflare/cloudflare-docs pull request 8590);
- a challenge page in the body, also with HTTP 200 or 503: the "Just a moment..." interstitial, whose
  inline script sets ``window._cf_chl_opt`` (with ``cRay``, ``cType``) and loads
  ``/cdn-cgi/challenge-platform/h/<x>/orchestrate/...`` (pages corpus: blog.crawlex.net's teardown of
  the cf-chl orchestration; stackhack's analysis of a challenge page served for desiringgod.org), and
  an empty or near-empty page whose only content is such a script. A challenge marker alone is not
  enough: Cloudflare also injects ``/cdn-cgi/challenge-platform/scripts/jsd/main.js`` into ordinary
  pages, and "challenge" or "Just a moment" are ordinary words in a news text (a lesson also drawn in
  agentrhq/webcmd pull request 266: only decisive markers decide).

A run is blocked (:func:`run_blocked`) when at least ``min_requests`` answers came back and at least
``share`` of them were blocks, and no article could be written from its feed's full text instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from pipelines.crawljob import BLOCKED_BY

#: statuses that are a refusal whatever the body says
BLOCK_STATUSES = (401, 403, 429)
#: a challenge page is small: a larger body is an ordinary page, not searched for one
CHALLENGE_MAX_BYTES = 256 * 1024
#: visible text (characters) below which a page with a challenge script is the challenge itself
NEAR_EMPTY_CHARS = 600

#: ``by_reason`` keys (stats ``blocked/by_reason/<key>``, the run summary's ``blocked.by_reason``)
CF_MITIGATED, CHALLENGE_PAGE = "cf_mitigated_challenge", "challenge_page"

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
#: titles of Cloudflare's interstitials (challenge, and the "Attention Required!" block page)
_CHALLENGE_TITLES = ("just a moment...", "just a moment\u2026", "attention required! | cloudflare")
#: markers only a challenge page has (the options object, the orchestration path)
_CHALLENGE_MARKERS = re.compile(rb"_cf_chl_opt|/cdn-cgi/challenge-platform/h/[a-z]/", re.I)
_SCRIPTS = re.compile(rb"<(script|style|noscript)\b.*?</\1\s*>", re.I | re.S)
_TAGS = re.compile(rb"<[^>]*>")


@dataclass(frozen=True)
class Block:
    """A refusal: ``key`` groups it in the counts (``http_403``, ``cf_mitigated_challenge``,
    ``challenge_page``), ``reason`` says what was seen (a row's reason, a log line)."""

    key: str
    reason: str


def _headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return {name.lower(): value for name, value in pairs}


def challenge_title(body: bytes) -> str | None:
    """The title of the Cloudflare challenge page ``body`` is, or None when it is not one."""
    if not body or len(body) > CHALLENGE_MAX_BYTES or not _CHALLENGE_MARKERS.search(body):
        return None
    m = _TITLE.search(body)
    title = " ".join(m.group(1).decode("utf-8", "replace").split()) if m else ""
    if title.lower() in _CHALLENGE_TITLES:
        return title
    visible = b" ".join(_TAGS.sub(b" ", _SCRIPTS.sub(b" ", body)).split())
    return (title or "challenge script") if len(visible) < NEAR_EMPTY_CHARS else None


def detect_block(status: int, headers: Mapping[str, str] | Iterable[tuple[str, str]], body: bytes) -> Block | None:
    """The block ``status``, ``headers`` and (decoded) ``body`` amount to, or None for an ordinary answer."""
    h = _headers(headers)
    if "challenge" in h.get("cf-mitigated", "").lower():
        return Block(CF_MITIGATED, f"HTTP {status} with cf-mitigated: challenge")
    title = challenge_title(body)
    if title is not None:
        return Block(CHALLENGE_PAGE, f"Cloudflare challenge page ({title}), HTTP {status}")
    if status in BLOCK_STATUSES:
        retry = h.get("retry-after")
        return Block(f"http_{status}", f"HTTP {status}" + (f" (Retry-After: {retry.strip()})" if retry else ""))
    return None


def block_reason(status: int, headers: Mapping[str, str] | Iterable[tuple[str, str]], body: bytes) -> str | None:
    """What :func:`detect_block` saw, in words, or None."""
    block = detect_block(status, headers, body)
    return block.reason if block else None


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header as seconds from ``now`` (delta-seconds or an HTTP date; negative for a
    date in the past), None when absent or unreadable. The one reader of the header: the block
    back-off (:func:`retry_after_seconds`) and the retries (``crawler.middlewares.BackoffRetryMiddleware``)."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - (now or datetime.now(UTC))).total_seconds()


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """:func:`retry_after`, never below 0 (a date in the past: no wait)."""
    asked = retry_after(value, now)
    return None if asked is None else max(0.0, asked)


def next_delay(delay: float, start: float, cap: float, retry_after: float | None = None) -> float:
    """A download slot's delay after a block: doubled (at least ``start``), at least ``retry_after``, at most ``cap``."""
    grown = max(start, delay * 2, retry_after or 0.0)
    return min(cap, grown) if cap > 0 else grown


def block_counts(stats: Mapping[str, object]) -> dict[str, object]:
    """The run summary's ``blocked`` block from the run's Scrapy stats (``blocked/*``)."""
    get = lambda key: int(stats.get(key, 0) or 0)  # type: ignore[call-overload]  # noqa: E731
    prefix = "blocked/by_reason/"
    return {
        "requests": get("blocked/requests"),
        "blocked": get("blocked/responses"),
        "by_reason": {k[len(prefix):]: int(v or 0) for k, v in sorted(stats.items()) if k.startswith(prefix)},  # type: ignore[call-overload]
        "sources": get("blocked/sources"),
        "from_feed": get("articles/from_feed"),
    }


def run_blocked(outlet: str, counts: Mapping[str, object], min_requests: int, share: float) -> str | None:
    """The outcome reason of a blocked run (``blocked by <outlet>: N of M requests blocked (...)``), or None.

    ``counts``: :func:`block_counts`. Blocked: at least ``min_requests`` answers (every HTTP answer
    of the run, retries and robots.txt included), at least ``share`` of them blocks, and no article
    written from a feed's full text (a run that archived its articles from the feed did its job)."""
    requests, blocked = int(counts["requests"]), int(counts["blocked"])  # type: ignore[call-overload]
    if requests < max(1, min_requests) or blocked < share * requests or counts.get("from_feed"):
        return None
    by_reason = counts.get("by_reason") or {}
    detail = ", ".join(f"{key}: {n}" for key, n in sorted(by_reason.items(), key=lambda kv: -kv[1]))  # type: ignore[union-attr]
    return f"{BLOCKED_BY} {outlet}: {blocked} of {requests} requests blocked" + (f" ({detail})" if detail else "")
