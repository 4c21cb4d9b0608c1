"""Business Recorder (brecorder.com): Pakistan's English-language financial daily, Karachi.

Structure sources:
- URL shapes: articles at ``/news/<numeric id>/<slug>`` (the id alone, ``/news/<id>``, also resolves and is
  the canonical form on the live site); AMP copies at ``/news/amp/<id>``; tag pages under ``/trends/<slug>``;
  author pages ``/authors/<id>/<slug>``; section pages such as ``/latest-news``, ``/markets``,
  ``/business-finance``; RSS at ``/feeds/<section>`` (``latest-news``, ``markets``, ``business-finance``).
- Markup (class names below) follows a saved live article page and listing page of 2025 (published in a
  public scraper's test data): the PSX ticker strip ``div.js-ticker`` plus the index bar in ``<header>``,
  masthead date + "PRINT EDITION / BR MARKETS / Dollar to PKR" links, ``article.story.single`` with
  ``h1.story__title``, ``span.story__byline``, ``div.story__content``, ``div.story__tags`` (badges),
  ``section.comments`` ("Comments" + character counter), ``div.related-stories`` ending with
  ``#read-more-stories``, GPT ad slots ``div.ad__wrapper__slot``.
- Extracted-text junk patterns: project seed 002 and ``shared/fixtures/TICKER_PATTERNS.md``.
Not confirmed against the live site: sitemap paths (``/sitemap.xml`` index with children under
``/sitemaps/``), robots.txt rules, video/gallery URL shapes and the "Advertisement" label text.
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
            feeds=("/feeds/latest-news", "/feeds/markets", "/feeds/business-finance"),
            sitemaps=("/sitemap.xml",),
            sections=("/latest-news", "/markets"),
            article_pattern=r"^/news/\d{5,}(?:/[A-Za-z0-9][A-Za-z0-9._-]*)?/?$",
            exclude_pattern=(
                r"^/news/amp/"
                r"|^/(?:trends|authors|videos|galleries|multimedia|search|print|feeds|comments)(?:/|\?|$)"
            ),
        ),
    },
    default_edition="en",
    html_rules=(
        # PSX ticker strip (stocks marquee + index bar) and its duplicated copy
        node_rule("psx_ticker", "//div[contains(@class,'js-ticker')]"),
        node_rule("ticker_copy", "//div[contains(@class,'tickers')]"),
        # masthead: logo, today's date, PRINT EDITION / BR MARKETS / Dollar to PKR links
        node_rule("logo_link", "//a[contains(@class,'logo')]"),
        node_rule("edition_links", "//div[a[@title='Print Edition']]"),
        node_rule("nav_menu", "//nav"),
        node_rule("site_footer", "//footer"),
        # ad slots, inline ad wrappers and their "Advertisement" labels
        node_rule("ad_slot", "//div[contains(@class,'ad__wrapper__slot')]"),
        node_rule("inline_ad", "//div[contains(@class,'ad--inline')]"),
        node_rule("ad_label_block", "//*[contains(@class,'ad__label')]"),
        node_rule("aux_content", "//div[contains(@class,'aux-content')]"),
        # category badge (breadcrumb), tag list, share buttons, clapper + follow-us row
        node_rule("category_badge", "//span[contains(@class,'badge')]"),
        node_rule("tag_list", "//div[contains(@class,'story__tags')]"),
        node_rule("share_buttons", "//div[contains(@class,'social-icons')]"),
        node_rule("engage_row", "//div[contains(@class,'story__engage')]"),
        node_rule("clap_button", "//a[contains(@class,'js-count-clap')]"),
        # in-body read-also line (a paragraph that is only a bold link to another story) and link boxes
        node_rule(
            "inline_read_also",
            "//div[contains(@class,'story__content')]//p[strong/a[contains(@href,'/news/')]"
            " and normalize-space(.)=normalize-space(strong)]",
        ),
        node_rule("read_more_box", "//div[contains(@class,'story__read-more')]"),
        node_rule("promo_box", "//div[contains(@class,'story__promo')]"),
        # embedded tweets / videos inside the body
        node_rule("embedded_tweet", "//blockquote[contains(@class,'twitter-tweet')]"),
        node_rule("embedded_video", "//div[contains(@class,'media__item--youtube')]"),
        # image captions and credits
        node_rule("image_caption", "//figcaption"),
        node_rule("media_credit", "//*[contains(@class,'media__credit')]"),
        # comments widget, related stories / "Read more stories", sidebar market tables
        node_rule("comments_section", "//section[contains(@class,'comments')]"),
        node_rule("related_stories", "//div[contains(@class,'related-stories')]"),
        node_rule("more_stories_list", "//*[@id='read-more-stories']"),
        node_rule("market_sidebar", "//div[contains(@class,'w-80') and contains(@class,'flex-shrink-0')]"),
        node_rule("market_tabs", "//div[contains(@class,'tabs')]"),
        node_rule("pagination", "//nav[contains(@class,'pagination')]"),
    ),
    text_rules=(
        # PSX ticker lines (TICKER_PATTERNS.md), removed only inside a run of two or more: a single
        # look-alike line may be a sentence of a markets story
        line_rule("ticker_stock", r"^[A-Z][A-Z0-9]{1,9} [\d,]+\.\d{2} (?:Increased By ▲|Decreased By ▼|No Change ▼) -?[\d,.]+ \(-?[\d.]+%\)$", "run"),
        line_rule("ticker_index", r"^(?:BR100|BR30|KSE100|KSE30|ALLSHR|KMI30) [\d,]+(?:\.\d+)? (?:Increased|Decreased|No Change)(?: By)? -?[\d,.]+ \(-?[\d.]+%\)$", "run"),
        # masthead
        line_rule("masthead_logo", r"^Brecorder Logo$"),
        line_rule("masthead_links", r"^(?:[A-Z][a-z]{2} \d{1,2}, \d{4} )?PRINT EDITION ► BR MARKETS ► Dollar to PKR ►$"),
        # byline + timestamp line, e.g. "AFP Published 12 Nov, 2023 05:28pm"
        line_rule("byline_timestamp", r"^.{1,80}? (?:Published|Updated) \d{1,2} [A-Z][a-z]{2}, \d{4} \d{1,2}:\d{2}[ap]m$"),
        # ad labels, comments widget, related list footer
        line_rule("ad_label", r"^(?i:advertisement)$"),
        line_rule("comments_heading", r"^Comments$"),
        line_rule("comment_counter", r"^\d+ characters$"),
        line_rule("read_more_stories", r"^Read more stories$"),
        line_rule("read_more", r"^Read more:$"),
        # promos and sign-off
        line_rule("follow_us", r"^Follow (?:us|BR|Business Recorder)\b.*\b(?:Google News|WhatsApp|Facebook|Twitter|X|Instagram|LinkedIn)\b.*$"),
        line_rule("whatsapp_promo", r"^BR Research is now on WhatsApp\b.*$"),
        line_rule("copyright", r"^Copyright Business Recorder, \d{4}$"),
    ),
    wire_bylines=(
        # byline + timestamp line of agency copy, e.g. "AFP Published 12 Nov, 2023 05:28pm"
        r"^{agency}\s+(?:Published|Updated)\b",
    ),
    notes=(
        "Live HTML pages reportedly answer 403 to scripted clients while /feeds/<section> RSS is served; "
        "crawl politely and expect to rely on feeds. Live canonical URLs omit the slug (/news/<id>); the "
        "fixture uses the slugged URL as canonical so discovered and canonical URLs coincide."
    ),
)
