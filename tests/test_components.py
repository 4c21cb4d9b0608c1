"""Components in isolation: retry backoff, extraction deadline and decoding, text rules, spool repair."""

from __future__ import annotations

from email.utils import format_datetime
from datetime import UTC, datetime, timedelta

import pytest
from scrapy import Request
from scrapy.http import Response
from scrapy.settings import Settings

from crawler.middlewares import BackoffRetryMiddleware
from crawler.outlets import get_outlet
from pipelines.clean import GENERIC_RULES, clean_paragraphs
from pipelines.extract import ExtractionTimeout, decode_html, extract_document


def mw() -> BackoffRetryMiddleware:
    return BackoffRetryMiddleware(Settings({"RETRY_ENABLED": True, "RETRY_TIMES": 3, "RETRY_HTTP_CODES": [503],
                                            "RETRY_PRIORITY_ADJUST": -1, "RETRY_EXCEPTIONS": [], "RETRY_BACKOFF_BASE": 2.0,
                                            "RETRY_BACKOFF_MAX": 60.0, "RETRY_GIVE_UP_LOG_LEVEL": "ERROR"}))


def test_backoff_is_exponential_and_honours_retry_after() -> None:
    m = mw()
    req = Request("http://127.0.0.1/x")
    assert m.retry_delay(req, Response(req.url, status=503)) == 2.0
    req.meta["retry_times"] = 2
    assert m.retry_delay(req, Response(req.url, status=503)) == 8.0
    assert m.retry_delay(req, Response(req.url, status=503, headers={"Retry-After": "30"})) == 30.0
    assert m.retry_delay(req, Response(req.url, status=503, headers={"Retry-After": "3600"})) == 60.0  # capped
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    assert 15 <= m.retry_delay(req, Response(req.url, status=503, headers={"Retry-After": later})) <= 20


def test_extraction_has_a_deadline() -> None:
    block = b"<div><p>" + b"word " * 40 + b"</p></div>"
    page = b"<html><body>" + block + b"</body></html>"
    huge = b"<html><body>" + block * 5000 + b"</body></html>"
    assert extract_document(page, "text/html", "http://x/", None, timeout=30)["paragraphs"]
    with pytest.raises(ExtractionTimeout):
        extract_document(huge, "text/html", "http://x/", None, timeout=0.05)


def test_pages_without_charset_header_decode() -> None:
    ua = "Київ. Президент України заявив, що уряд підготує нові рішення щодо енергетики і захисту громадян. " * 20
    text, enc = decode_html(f"<html><head><meta charset=windows-1251></head><body>{ua}</body></html>".encode("cp1251"), "text/html")
    assert ua in text and enc == "cp1251"
    text, enc = decode_html(ua.encode("utf-8"), "text/html")
    assert ua in text


def test_text_rules_drop_junk_lines_and_keep_body_sentences() -> None:
    paragraphs = [
        "BAFL 41.16 Decreased By ▼ -0.09 (-0.22%)\nSILK 0.95 No Change ▼ 0.00 (0%)\nKSE100 55,391 Increased By 1129.9 (2.08%)",
        "Headline",
        "The KSE-100 index increased by 1,129.9 points, or 2.08%, to close at 55,391.",
        "Advertisement:",
        '"This is not an advertisement for the government," he said.',
    ]
    kept, removed = clean_paragraphs("Headline", paragraphs, GENERIC_RULES)
    assert kept == paragraphs[2:3] + paragraphs[4:]
    assert removed == {"ticker_stock": 2, "ticker_index": 1, "ad_label": 1, "repeated_headline": 1}


def test_outlet_line_rules_are_compiled_from_the_outlet_module() -> None:
    from pipelines.clean import outlet_rules

    rules = outlet_rules(get_outlet("pravda"))
    assert len(rules) == len(GENERIC_RULES) + len(get_outlet("pravda").junk_line_patterns)
    assert outlet_rules(get_outlet("pravda")) is rules
