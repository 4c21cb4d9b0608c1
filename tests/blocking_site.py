"""A Business Recorder look-alike behind a bot wall, on loopback (tests/hostile.py's HostileServer).

Business Recorder and Ukrainska Pravda are reported (issue 12; a public feed checker's table, see
tests/sites/timesca/README.md) to answer HTTP 403 to plain scripted clients on HTML pages and
sitemaps, from Cloudflare, while some of their feeds answer 200 (Pravda's with full text). The
pages served here are what such a client meets.

Provenance of the challenge pages (structure only; every value is invented):

| what | status | evidence |
|---|---|---|
| every challenge response carries ``cf-mitigated: challenge``, whatever the challenge type | confirmed | Cloudflare's docs, "Detecting a challenge page response" (cloudflare/cloudflare-docs pull request 8590, issues corpus) |
| a challenge answers 403 (a WAF challenge action's response is a 403) | confirmed | cloudflare/cloudflare-docs issue 30834 (issues corpus) |
| the interstitial: title "Just a moment...", a ``<noscript>`` "Enable JavaScript and cookies to continue", an inline script setting ``window._cf_chl_opt`` (``cvId``, ``cZone``, ``cType: 'managed'``, ``cRay``, ``cH``) that appends a script from ``/cdn-cgi/challenge-platform/h/<x>/orchestrate/chl_page/v1?ray=<ray>`` | reported | page analyses in the pages corpus: blog.crawlex.net "Inside the Cloudflare challenge platform" (``window._cf_chl_opt``, ``/cdn-cgi/challenge-platform/h/`` orchestration), stackhack.netwrck.com's analysis of desiringgod.org's challenge page (``_cf_chl_opt`` with ``cRay``, the ``/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1`` script appended to ``<head>``); the "Enable JavaScript and cookies to continue" wording in the challenge's translation table (code corpus, tigersoft6084/cloudpiecer output.js, ``js_cookies_missing``) |
| ``Server: cloudflare``, ``CF-RAY: <hex>-<colo>``, ``Cache-Control: private, max-age=0, no-store, ...`` | assumed | common knowledge of Cloudflare responses; not asserted by any test |
| a near-empty 200 whose body is only a challenge script | assumed | the issue's "empty 200s with a challenge script"; script path as above (``/h/b/`` variant) |
| ordinary pages of a Cloudflare site carry ``/cdn-cgi/challenge-platform/scripts/jsd/main.js`` (bot-management JS detection) | reported | widely seen on Cloudflare sites; the reason a challenge-platform path alone is not a block (agentrhq/webcmd pull request 266 discusses such false positives) |
| Pravda's ``/rss/view_news/`` items carry the full text (of the last 20 items) | reported | issue 12; the element name was not found in any stored copy of the feed (find_string "pravda.com.ua/rss" finds only feed lists and readers that use title, link, summary) |
| ``yandex:full-text`` carries an item's whole text in Yandex-News feeds (``xmlns:yandex="http://news.yandex.ru"``) | confirmed (other outlets) | www.ostro.info/rss/ in the pages corpus (HTML paragraphs in CDATA); feed generators in the code corpus (find_string "<yandex:full-text>") |
| WordPress's ``content:encoded`` with the whole post, and a one-sentence ``<description>`` | confirmed | tests/sites/timesca/feeds (WordPress feed shape) |
"""

from __future__ import annotations

from email.utils import format_datetime
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from pipelines.outlets import get_outlet
from tests.hostile import LIVE, Handler, Request, article_html, article_id, page, send

OUTLET = "brecorder"
_EDITION = get_outlet(OUTLET).edition(get_outlet(OUTLET).default_edition)
#: the spider's sources of the brecorder edition (pipelines/outlets/brecorder.py), read from the module
FEEDS: tuple[str, ...] = tuple(_EDITION.feeds)
SITEMAPS: tuple[str, ...] = tuple(_EDITION.sitemaps)
SECTIONS: tuple[str, ...] = tuple(_EDITION.sections)

CF_HEADERS = {
    "cf-mitigated": "challenge",
    "Server": "cloudflare",
    "CF-RAY": "8e2f6a1b3c4d5e60-KHI",
    "Cache-Control": "private, max-age=0, no-store, no-cache, must-revalidate, post-check=0, pre-check=0",
}


def challenge_html(ray: str = "8e2f6a1b3c4d5e60", zone: str = "www.brecorder.com") -> str:
    """A "Just a moment..." managed-challenge interstitial in the structure described above."""
    return (
        '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
        '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
        '<meta http-equiv="X-UA-Compatible" content="IE=Edge"><meta name="robots" content="noindex,nofollow">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<style>*{box-sizing:border-box;margin:0;padding:0}html{line-height:1.15}body{display:flex;flex-direction:column;"
        "height:100vh;min-height:100vh}.main-content{margin:8rem auto;max-width:60rem;padding-left:1.5rem}</style>"
        '</head><body><div class="main-wrapper" role="main"><div class="main-content">'
        '<noscript><div class="h2"><span id="challenge-error-text">Enable JavaScript and cookies to continue</span></div></noscript>'
        "</div></div><script>(function(){window._cf_chl_opt={cvId: '3',cZone: \"" + zone + "\",cType: 'managed',"
        "cRay: '" + ray + "',cH: 'q0w9e8r7t6y5u4i3o2p1',cUPMDTk: \"\\/?__cf_chl_tk=invented\",cFPWv: 'b',cITimeS: '1764700000'};"
        "var cpo=document.createElement('script');cpo.src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1?ray=" + ray + "';"
        "window._cf_chl_opt.cOgUHash=location.hash===''&&location.href.indexOf('#')!==-1?'#':location.hash;"
        "document.getElementsByTagName('head')[0].appendChild(cpo);}());</script></body></html>"
    )


def challenge(status: int = 403, header: bool = True) -> Handler:
    """A Cloudflare challenge answer: the interstitial with ``cf-mitigated: challenge`` (``header``)."""
    headers = CF_HEADERS if header else {k: v for k, v in CF_HEADERS.items() if k != "cf-mitigated"}
    return page(challenge_html(), status=status, headers=headers)


#: a 200 whose whole body is the challenge script (no title, no text)
NEAR_EMPTY_CHALLENGE = (
    '<html><head></head><body><script src="/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1?ray=8e2f6a1b3c4d5e61"></script></body></html>'
)


def ordinary_page_mentioning_a_moment(title: str = "Markets pause: just a moment of calm") -> str:
    """An article of a Cloudflare site: Cloudflare's injected jsd script, and "Just a moment..." in its text."""
    body = article_html(title, words=300)
    jsd = ("<script>(function(){var a=document.createElement('iframe');a.height=1;a.width=1;a.style.display='none';"
           "document.body.appendChild(a);var d=a.contentDocument;var s=d.createElement('script');"
           "s.src='/cdn-cgi/challenge-platform/scripts/jsd/main.js';d.getElementsByTagName('head')[0].appendChild(s);})();</script>")
    quote = "<p>\u201cJust a moment...\u201d, the minister said, before the index rose again in the afternoon session.</p>"
    return body.replace('<div class="story__content">', '<div class="story__content">' + quote).replace("</body>", jsd + "</body>")


def rate_limited(retry_after: str, then: Handler) -> Handler:
    """429 with ``Retry-After`` on the first request of the path, then ``then``."""
    def handle(req: Request) -> None:
        if req.hit() == 1:
            send(req, 429, b"Too Many Requests\n", "text/plain", {"Retry-After": retry_after})
        else:
            then(req)
    return handle


def sitemap(paths: list[str]) -> Handler:
    urls = "".join(f"<url><loc>{LIVE}{p}</loc></url>" for p in paths)
    return page(f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
                content_type="application/xml")


def paragraphs(n: int, topic: str) -> list[str]:
    """``n`` paragraphs of generated business-news text, different for each ``topic`` (so that no two
    stories are syndicated copies of each other for the dedup stage)."""
    import random

    vocab = ("market index government minister policy rupee export bank investors growth inflation energy textile cotton "
             "agreement budget reform province court statement analysts percent billion prices demand supply officials "
             "karachi lahore islamabad senate cabinet tariff loan fund reserve dollar exchange deficit surplus import "
             "factory wheat sugar power gas electricity port shipping freight tax revenue customs board committee").split()
    rng = random.Random(topic)
    return [" ".join(rng.choice(vocab) for _ in range(rng.randint(30, 45))).capitalize() + "." for _ in range(n)]


def rss_with_text(items: list[dict[str, Any]]) -> str:
    """An RSS 2.0 feed (WordPress and Yandex namespaces). Each item: ``path``, ``title``, and any of
    ``description``, ``encoded`` (content:encoded) and ``full_text`` (yandex:full-text), as HTML."""
    now = format_datetime(datetime.now(UTC).replace(microsecond=0))  # within any discovery window
    out = []
    for item in items:
        parts = [f"<title>{escape(item['title'])}</title>", f"<link>{LIVE}{item['path']}</link>", f"<pubDate>{now}</pubDate>"]
        if "description" in item:
            parts.append(f"<description><![CDATA[{item['description']}]]></description>")
        if "encoded" in item:
            parts.append(f"<content:encoded><![CDATA[{item['encoded']}]]></content:encoded>")
        if "full_text" in item:
            parts.append(f"<yandex:full-text><![CDATA[{item['full_text']}]]></yandex:full-text>")
        out.append("<item>" + "".join(parts) + "</item>")
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            f'xmlns:yandex="http://news.yandex.ru"><channel><title>Latest</title><link>{LIVE}</link>{"".join(out)}</channel></rss>')


def walled_site(pages: dict[str, Handler], feed: Handler | None, listed: list[str] | None = None) -> dict[str, Handler]:
    """Routes of a walled Business Recorder: robots.txt answers (allow all), the first feed is
    ``feed`` (None: a challenge), the other feeds and the section pages are challenges, the first
    sitemap lists ``listed`` (default: the pages), and ``pages`` are the articles."""
    routes: dict[str, Handler] = {"/robots.txt": page("User-agent: *\nAllow: /\n", content_type="text/plain")}
    for path in FEEDS[1:] + SECTIONS:
        routes[path] = challenge()
    routes[FEEDS[0]] = feed or challenge()
    routes[SITEMAPS[0]] = sitemap(listed if listed is not None else list(pages))
    routes.update(pages)
    return routes


__all__ = ["FEEDS", "SITEMAPS", "SECTIONS", "article_id", "challenge", "challenge_html", "walled_site"]
