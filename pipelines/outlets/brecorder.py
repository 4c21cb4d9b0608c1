"""Business Recorder (brecorder.com): Pakistan's English-language financial daily, Karachi.

Structure sources (see the provenance table of ``tests/sites/brecorder/README.md``):
- A saved live article page and listing page of January 2025 in a public scraper's test data
  (dr-m-wasim/keepup-scrappers, ``src/tests/test_data/brecorder/{detail,listing}_sample.html``):
  articles at ``/news/<numeric id>/<slug>``, whose ``<link rel=canonical>`` and ``og:url`` omit the
  slug (``https://www.brecorder.com/news/40345317``: the archive keys the story by that URL, the
  slugged URL stays the row's listed ``url``); AMP copies ``/news/amp/<id>``; a per-story feed
  ``/feeds/news/<id>``. The only site feed the pages declare is ``/feeds/latest-news/`` (the listing
  page's ``<link rel=alternate>``; the footer's RSS icon links ``/feeds/latest-news``). The listing's
  canonical is ``/latest-news``.
- Markup of that page (the HTML rules below): the PSX ticker strip ``div.js-ticker`` in ``<header>``,
  the index bar, masthead "<date> اردو ► PRINT EDITION ► BR MARKETS ► Dollar to PKR ►",
  ``article.story.single`` with ``h1.story__title``, ``span.story__byline``, ``div.story__content``
  (an in-body read-also is a paragraph that is only a bold link to another story), ``div.story__tags``
  badges, ``div.social-icons``, the clap button, ``section.comments`` ("Comments" + a character
  counter), ``div.related-stories`` ending with ``#read-more-stories``, GPT ad slots
  ``div.ad__wrapper__slot``, images as ``figure.media`` > ``div.media__item``.
- robots.txt, reported by a public crawler's docstring (not seen): ``Disallow: /search``,
  ``*/print``, ``/authors/*/1..9*`` and ``Sitemap: https://www.brecorder.com/feeds/sitemap``, a news
  sitemap (``<loc>``, ``<lastmod>``, ``<news:title>``) read by several public crawlers; the module's
  former ``/sitemap.xml`` is not cited anywhere.
- ``/feeds/markets`` and ``/feeds/business-finance`` are cited only by third-party feed lists, not
  by the site's pages: not declared.
- Extracted-text junk: project seed 002 (a 2023 page as text) and ``shared/fixtures/TICKER_PATTERNS.md``.
- Access: HTML pages and sitemaps are reported to answer 403 with a Cloudflare challenge to scripted
  clients (``cf-mitigated: challenge``, "Just a moment..."), the feed to be served.
Not confirmed against the live site: the robots.txt text, the sitemap's exact shape, video/gallery
URL shapes, image captions, embedded tweets and videos, and the "Advertisement" label.
"""

from __future__ import annotations

from pipelines.outlets.base import Edition, Outlet, line_rule, node_rule

OUTLET: Outlet = Outlet(
    name="brecorder",
    title="Business Recorder",
    country="PK",
    base_url="https://www.brecorder.com",
    domains=("brecorder.com", "www.brecorder.com"),
    editions={
        "en": Edition(
            language="en",
            feeds=("/feeds/latest-news/",),
            sitemaps=("/feeds/sitemap",),
            sections=("/latest-news",),
            article_pattern=r"^/news/\d{5,}(?:/[A-Za-z0-9][A-Za-z0-9._-]*)?/?$",
            exclude_pattern=(
                r"^/news/amp/|/print(?:/|$)"
                r"|^/(?:trends|authors|videos|galleries|multimedia|search|print|feeds|comments)(?:/|\?|$)"
            ),
        ),
    },
    default_edition="en",
    html_rules=(
        # seen on the saved live article page (detail_sample.html, January 2025)
        node_rule("psx_ticker", "//div[contains(@class,'js-ticker')]"),
        node_rule("logo_link", "//a[contains(@class,'logo')]"),
        node_rule("edition_links", "//div[a[@title='Print Edition']]"),
        node_rule("nav_menu", "//nav"),
        node_rule("site_footer", "//footer"),
        node_rule("ad_slot", "//div[contains(@class,'ad__wrapper__slot')]"),
        node_rule("aux_content", "//div[contains(@class,'aux-content')]"),
        node_rule("category_badge", "//span[contains(@class,'badge')]"),
        node_rule("tag_list", "//div[contains(@class,'story__tags')]"),
        node_rule("share_buttons", "//div[contains(@class,'social-icons')]"),
        node_rule("clap_button", "//a[contains(@class,'js-count-clap')]"),
        # in-body read-also line (a paragraph that is only a bold link to another story)
        node_rule(
            "inline_read_also",
            "//div[contains(@class,'story__content')]//p[strong/a[contains(@href,'/news/')]"
            " and normalize-space(.)=normalize-space(strong)]",
        ),
        node_rule("comments_section", "//section[contains(@class,'comments')]"),
        node_rule("related_stories", "//div[contains(@class,'related-stories')]"),
        node_rule("more_stories_list", "//*[@id='read-more-stories']"),
        node_rule("market_sidebar", "//div[contains(@class,'w-80') and contains(@class,'flex-shrink-0')]"),
        node_rule("market_tabs", "//div[contains(@class,'tabs')]"),
        # unconfirmed, kept as plausible: standard embed markup (X/Twitter's blockquote, the CMS's
        # YouTube media item) and captions, none of which the saved page happens to carry
        node_rule("embedded_tweet", "//blockquote[contains(@class,'twitter-tweet')]"),
        node_rule("embedded_video", "//div[contains(@class,'media__item--youtube')]"),
        node_rule("image_caption", "//figcaption"),
        # removed (matched nothing on the saved live page, no other evidence): ticker_copy
        # (div.tickers), inline_ad (div.ad--inline), ad_label_block (.ad__label), engage_row
        # (div.story__engage), read_more_box (div.story__read-more), promo_box (div.story__promo),
        # media_credit (.media__credit), pagination (nav.pagination)
    ),
    text_rules=(
        # PSX ticker lines (TICKER_PATTERNS.md, seed 002), removed only inside a run of two or more: a
        # single look-alike line may be a sentence of a markets story
        line_rule("ticker_stock", r"^[A-Z][A-Z0-9]{1,9} [\d,]+\.\d{2} (?:Increased By ▲|Decreased By ▼|No Change ▼) -?[\d,.]+ \(-?[\d.]+%\)$", "run"),
        line_rule("ticker_index", r"^(?:BR100|BR30|KSE100|KSE30|ALLSHR|KMI30) [\d,]+(?:\.\d+)? (?:Increased|Decreased|No Change)(?: By)? -?[\d,.]+ \(-?[\d.]+%\)$", "run"),
        # masthead (seed 002: "Brecorder Logo"; the 2025 page adds an Urdu link: "اردو ►")
        line_rule("masthead_logo", r"^Brecorder Logo$"),
        line_rule("masthead_links", r"^(?:[A-Z][a-z]{2} \d{1,2}, \d{4} )?(?:اردو ► )?PRINT EDITION ► BR MARKETS ► Dollar to PKR ►$"),
        # byline + timestamp line: "AFP Published 12 Nov, 2023 05:28pm" (seed 002), "BR Web Desk
        # Published January 29, 2025" (the 2025 page)
        line_rule(
            "byline_timestamp",
            r"^.{1,80}? (?:Published|Updated) (?:\d{1,2} [A-Z][a-z]{2}, \d{4} \d{1,2}:\d{2}[ap]m|[A-Z][a-z]{2,8} \d{1,2}, \d{4})$",
        ),
        # comments widget: "Comments", "1000 characters" (seed 002) / "200 characters" (2025 page)
        line_rule("comments_heading", r"^Comments$"),
        line_rule("comment_counter", r"^\d+ characters$"),
        # the heading of the related list (#read-more-stories on the 2025 page)
        line_rule("read_more_stories", r"^Read more stories$"),
        # the share row's label (2025 page)
        line_rule("follow_us", r"^Follow us$"),
        # print-edition sign-off, reported in scraped Brecorder text ("Copyright Business Recorder, 2019")
        line_rule("copyright", r"^Copyright Business Recorder, \d{4}$"),
        # unconfirmed, kept as plausible: the GPT slots' label
        line_rule("ad_label", r"^(?i:advertisement)$"),
    ),
    wire_bylines=(
        # byline + timestamp line of agency copy, e.g. "AFP Published 12 Nov, 2023 05:28pm"
        r"^{agency}\s+(?:Published|Updated)\b",
    ),
    notes=(
        "HTML pages and the sitemap reportedly answer 403 with a Cloudflare challenge to scripted clients "
        "while the /feeds/latest-news/ RSS is served; crawl politely and expect to rely on the feed. "
        "Canonical URLs omit the slug (/news/<id>): the archive keys a story by it, the row keeps the "
        "listed slugged URL. robots.txt names /feeds/sitemap."
    ),
)
