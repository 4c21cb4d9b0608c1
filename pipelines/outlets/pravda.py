"""Ukrainska Pravda (www.pravda.com.ua), Kyiv: Ukraine's largest independent online newspaper.

Three language editions share one host and one id space: Ukrainian at the root (``/news/...``),
Russian under ``/rus/`` and English under ``/eng/``. Article URLs are
``/<edition>/<news|articles|columns|interview>/YYYY/MM/D[D]/<numeric id>/`` (older English URLs
have an unpadded day, e.g. ``/eng/news/2023/05/4/7400574/``); ``index.amp`` appended gives the AMP
copy. Sitemaps are shared by all editions (``/sitemap/sitemap-archive.xml``, an index of monthly
``sitemap-YYYY-MM.xml[.gz]`` files, and the Google News ``/sitemap/sitemap-news.xml``), so each
edition filters them by its ``article_pattern``. RSS: ``/rss/``, ``/rss/view_news/`` (uk),
``/rus/rss/`` (ru), ``/eng/rss/`` and ``/eng/rss/view_news/`` (en), as used by public scrapers.

Structure sources: the real Russian-edition page in ``/work/shared/fixtures/pages/fundus/ua``
(flairNLP/fundus @ 18da6e5, MIT: ``post_article*``, ``advtext``/``advtext_mob`` "Реклама:" labels,
``nts-ad`` slots, ``image-box__caption``/``__author``, ``post_news_tags``, ``section_other_news``,
``comentario-comments``), fundus's PravdaParser and public scrapers (news pages:
``post_news_title``/``post_news_date``/``post_news_author``/``post_news_text``/
``post_news_photo_captain``), and project seed 004 (English news page text with "Support Us",
"Follow us on Instagram!", "Advertisement:" and "Support UP or become our patron!").
The currency ticker, promo blocks and "read also" box class names are modelled, not confirmed.
"""

from __future__ import annotations

from pipelines.outlets.base import Edition, Outlet, line_rule, node_rule

_SITEMAPS: tuple[str, ...] = ("/sitemap/sitemap-archive.xml", "/sitemap/sitemap-news.xml")
_KINDS = r"(?:news|articles|columns|interview)/\d{4}/\d{1,2}/\d{1,2}/\d+/?$"
_EXCLUDE = r"/(?:tags|authors|video|photo|photo-video|search|rss|sitemap|archives)/|index\.amp|[?&]page="

OUTLET = Outlet(
    name="pravda",
    title="Ukrainska Pravda",
    country="UA",
    base_url="https://www.pravda.com.ua",
    domains=("pravda.com.ua", "www.pravda.com.ua"),
    default_edition="en",
    editions={
        "en": Edition(
            language="en",
            feeds=("/eng/rss/", "/eng/rss/view_news/"),
            sitemaps=_SITEMAPS,
            sections=("/eng/news/", "/eng/articles/"),
            article_pattern=r"^/eng/" + _KINDS,
            exclude_pattern=_EXCLUDE,
        ),
        "uk": Edition(
            language="uk",
            feeds=("/rss/", "/rss/view_news/"),
            sitemaps=_SITEMAPS,
            sections=("/news/",),
            article_pattern=r"^/" + _KINDS,
            exclude_pattern=_EXCLUDE,
        ),
        "ru": Edition(
            language="ru",
            feeds=("/rus/rss/",),
            sitemaps=_SITEMAPS,
            sections=("/rus/news/", "/rus/articles/"),
            article_pattern=r"^/rus/" + _KINDS,
            exclude_pattern=_EXCLUDE,
        ),
    },
    html_rules=(
        # site chrome: header with "Support Us"/"Поддержать УП" button, menus, search, footer
        node_rule("site_header", "//header[contains(concat(' ', normalize-space(@class), ' '), ' header ')]"),
        node_rule("main_menu", "//nav[contains(@class, 'main_menu_wrapper')]"),
        node_rule("menu_popups", "//div[contains(@class, 'menu_popup') or contains(@class, 'search_popup')]"),
        node_rule("club_button", "//a[contains(@class, 'top_options_club')]"),
        node_rule("site_footer", "//footer[contains(concat(' ', normalize-space(@class), ' '), ' footer ')]"),
        # currency ticker strip
        node_rule("finance_ticker", "//div[contains(@class, 'finance_ticker')]"),
        # ad slots and their "Advertisement:" / "Реклама:" labels (advtext, advtext_mob)
        node_rule("ad_label_block", "//div[contains(@class, 'advtext')]"),
        node_rule("ad_slot", "//div[contains(@class, 'nts-ad')]"),
        node_rule("banners", "//div[contains(@class, 'unit_header_banner') or contains(@class, 'unit_side_banner')]"),
        node_rule("article_sidebar", "//aside[contains(@class, 'post_article_side')]"),
        # share buttons, view counter, tags
        node_rule("service_bar", "//aside[contains(@class, 'post_article_service')]"),
        node_rule("share_buttons", "//div[contains(@class, 'post_article_social') or contains(@class, 'post_news_social')]"),
        node_rule("tag_list", "//div[contains(@class, 'post_news_tags')]"),
        # promos: Instagram strip, patron block, inline promo, "read also" box
        node_rule("social_promo", "//div[contains(@class, 'social_promo')]"),
        node_rule("support_promo", "//*[contains(@class, 'support_promo')]"),
        node_rule("inline_promo", "//div[contains(@class, 'post_news_promo')]"),
        node_rule("read_also_box", "//div[contains(@class, 'read_also')]"),
        # related / latest news lists
        node_rule("other_news", "//aside[contains(@class, 'section_other_news')]"),
        node_rule("sub_news_list", "//div[contains(@class, 'container_sub_news_list')]"),
        # news dateline ("Author — Tuesday, 24 November 2026, 13:56")
        node_rule("dateline_block", "//div[contains(@class, 'post_news_date')]"),
        # image captions and credits
        node_rule("image_caption", "//div[contains(@class, 'image-box__caption') or contains(@class, 'image-box__author')]"),
        node_rule("header_media_source", "//div[contains(@class, 'post_article_header_media_source')]"),
        node_rule("photo_caption", "//div[contains(@class, 'post_news_photo_captain') or contains(@class, 'post_news_photo_source')]"),
        # comments widget (rules line is an advtext1 div, removed above)
        node_rule("comments_widget", "//comentario-comments"),
        # column disclaimer and author bio box
        node_rule("disclaimer_bio", "//div[contains(@class, 'post_article_disclaimer') or contains(@class, 'post_author_bio')]"),
    ),
    text_rules=(
        line_rule("ad_label", r"^(?:Advertisement|Реклама):?\s*$"),
        line_rule("support_us", r"^(?:Support Us|Підтримати УП|Поддержать УП)\s*$"),
        line_rule("patron_appeal", r"^(?:Support UP or become our patron|Підтримайте УП або станьте нашим патроном|"
                                   r"Поддержите УП или станьте нашим патроном)!?\s*$"),
        line_rule("follow_us", r"^(?:Follow us on|Підписуйтеся на нас [ву]|Подписывайтесь на нас в) "
                               r"(?:Instagram|Telegram|Facebook|X|YouTube|TikTok|WhatsApp|Viber)!?\s*$"),
        line_rule("become_patron", r"^Become a patron of Ukrainska Pravda"),
        line_rule("read_also", r"^(?:Read (?:also|more)(?: on this topic)?|Читайте також(?: на цю тему)?|"
                               r"Читайте также(?: на эту тему)?|Читайте більше у статті|Читайте больше в статье):"),
        line_rule("commenting_rules", r"^(?:Dear readers, please follow the Commenting rules|"
                                      r"Шановні читачі, просимо дотримуватися Правил коментування|"
                                      r"Уважаемые читатели, просим соблюдать Правила комментирования)\s*$"),
        line_rule("column_disclaimer", r"^(?:The column is the author's personal opinion|Колонка є авторською|Колонка является авторской)"),
        # upper-case image captions with credit, e.g. "EMMANUEL MACRON AND ... PHOTO: GETTY IMAGES"
        line_rule("caption_credit", r"^[^a-zа-яіїєґ]*\b(?:PHOTO|VIDEO|ФОТО|ВІДЕО|ВИДЕО): [^a-zа-яіїєґ]+$"),
        # news dateline, with or without the author before a dash
        line_rule("dateline", r"^(?:.{0,120}\s[—–-]\s*|[—–-]\s*)?(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
                              r"Понеділок|Вівторок|Середа|Четвер|П'ятниця|Субота|Неділя|"
                              r"Понедельник|Вторник|Среда|Четверг|Пятница|Суббота|Воскресенье), \d{1,2} \w+ \d{4}, \d{1,2}:\d{2}$"),
        # currency ticker strip, e.g. "NBU exchange rates" then "USD 42.18 ▲ 0.06"
        line_rule("currency_ticker", r"^(?:USD|EUR|PLN|GBP|CHF|CZK) \d+\.\d+ [▲▼] -?\d+\.\d+$"),
        line_rule("ticker_heading", r"^(?:NBU exchange rates|Курси НБУ|Курсы НБУ)$"),
    ),
    notes=(
        "Sitemaps are shared by the uk/ru/en editions; each edition keeps only URLs matching its "
        "article_pattern. Section listings use ?page=N / page_N pagination. robots.txt disallows "
        "/search/ (and per-edition /eng/search/, /rus/search/)."
    ),
)
