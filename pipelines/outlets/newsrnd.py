"""The Limited Times (newsrnd.com): an English-language news site that republishes, in English, stories
of other outlets (each page ends with ``Source: <outlet>``). Its country is not known (``"XX"``).

Evidence (no live access; the search tool's stored pages and public repositories, 2026). Each claim is
marked **confirmed**, **reported** (one public source), **assumed** or **invented** (the fixture's own).

* Name and host (confirmed): a public bibliography cites "The Limited Times. 2022. 'Data confiscated from
  Pirate Party servers.' https://newsrnd.com/tech/2022-06-24-data-confiscated-from-pirate-party-servers.SJxeH5I79q.html";
  every cited link uses the bare host ``https://newsrnd.com``.
* Article URLs ``/<section>/<YYYY-MM-DD>-<slug>.<id>.html`` (confirmed, cited in public repositories):
  ``/tech/2022-06-24-...SJxeH5I79q.html``, ``/sports/2023-08-08-france-morocco-(4-0)--les-bleues-join-the-quarters-of-the-women-s-world-cup-without-trembling.BJXjfpknn.html``,
  ``/life/2023-12-05-the-mountain-guide-s-heartbreaking-last-message-...-of-his-death.SyrDzr-6HT.html``.
  The id is a 9-10 character short id of letters, digits, ``-`` and ``_``; slugs keep ``(``, ``)``
  and double hyphens. ``/images/no-image.png`` is the site's placeholder image (cited).
* Page text (confirmed by seed 001, ``shared/seeds/001_8aa0ecb8040d0b20.txt``, a page of this site as
  text): the site name, a banner ``Now you can see non-English news...``, the headline, an ISO 8601
  timestamp ``2023-11-12T11:52:15.031Z``, a ``Highlights: ...`` summary, the story (a lone ``«`` before
  a quoted paragraph), ``Source: lefigaro``, a link ``All news articles on 2023-11-12``, lists ``You may
  like``, ``Trends 24h``, ``Latest``, and the footer ``© Communities 2019 - Privacy`` with a two-line
  disclaimer about external sources.
* **Not confirmed**: no stored HTML page, feed, sitemap or robots.txt of newsrnd.com was found. The
  section pages ``/<section>`` (``/news``, ``/world``), the day archive ``/archive/<YYYY-MM-DD>``, the
  feed ``/rss.xml``, the sitemap index ``/sitemap.xml`` with monthly children, robots.txt and every
  class name below are assumptions (the class names are the fixture's own, ``tests/sites/newsrnd/``);
  the text rules rest on the confirmed text formats of seed 001.
"""

from __future__ import annotations

from pipelines.outlets.base import Edition, Outlet, line_rule, node_rule

#: ``/<section>/<YYYY-MM-DD>-<slug>.<short id>.html``; ``(``, ``)`` and ``--`` occur in real slugs
_ARTICLE = r"^/[a-z]+(?:-[a-z]+)*/\d{4}-\d{2}-\d{2}-[a-z0-9()-]+\.[A-Za-z0-9_-]{7,14}\.html$"
#: day archives, tags, search and system paths (none has the article shape; kept explicit)
_EXCLUDE = r"^/(?:archive|tag|tags|search|images|static|api)(?:/|$)|[?&](?:page|q)="


def _cls(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


OUTLET = Outlet(
    name="newsrnd",
    title="The Limited Times",
    country="XX",
    base_url="https://newsrnd.com",
    domains=("newsrnd.com", "www.newsrnd.com"),
    default_edition="en",
    editions={
        "en": Edition(
            language="en",
            feeds=("/rss.xml",),
            sitemaps=("/sitemap.xml",),
            sections=("/news", "/world"),
            article_pattern=_ARTICLE,
            exclude_pattern=_EXCLUDE,
        ),
    },
    # Every HTML rule is an assumption: the class names are the fixture's (no stored page of the site).
    html_rules=(
        node_rule("site_header", "//header[@id='lt-header']"),
        node_rule("site_footer", "//footer[@id='lt-footer']"),
        # "Now you can see non-English news..." under the masthead
        node_rule("language_banner", f"//div[{_cls('lt-lang-banner')}]"),
        node_rule("timestamp", f"//div[{_cls('lt-article-date')}]"),
        # the "Highlights: ..." summary above the story
        node_rule("highlights", f"//div[{_cls('lt-highlights')}]"),
        node_rule("ad_slot", f"//div[{_cls('lt-ad')}]"),
        # "All news articles on <day>" after the story
        node_rule("day_archive_link", f"//div[{_cls('lt-day-archive')}]"),
        # "You may like", "Trends 24h", "Latest" lists
        node_rule("link_lists", f"//section[{_cls('lt-list')}]"),
    ),
    text_rules=(
        # the banner under the masthead (confirmed text)
        line_rule("language_banner_text", r"^Now you can see non-English news\.*$"),
        # the summary above the story: one long line, never the story's own first sentence (confirmed format)
        line_rule("highlights_text", r"^Highlights: "),
        # the link after the story (confirmed format)
        line_rule("day_archive_text", r"^All news articles on \d{4}-\d{2}-\d{2}$"),
        # the footer's disclaimer (confirmed text), also when the copyright line before it is gone: its lines
        # read as sentences, so only their wording tells them from the story
        line_rule("external_sources_disclaimer", r"^The (?:information on this site is from external sources|inclusion of any links does not necessarily imply)\b.{0,160}$"),
    ),
    # the attribution line that closes every story names its source in lower case ("Source: lefigaro",
    # confirmed); that an agency's copy reads "Source: afp" or "Source: reuters" is assumed
    wire_bylines=(r"^Source:\s*(?i:{agency})\s*$",),
    notes=(
        "The Limited Times on https://newsrnd.com: English versions of other outlets' stories, articles "
        "/<section>/<YYYY-MM-DD>-<slug>.<short id>.html (confirmed). Feed /rss.xml, sitemap /sitemap.xml, section "
        "pages and robots.txt are not confirmed; all HTML rules are the fixture's class names."
    ),
)
