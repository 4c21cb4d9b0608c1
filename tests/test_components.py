"""Components in isolation: retry backoff, extraction deadline and decoding, text rules, spool repair."""

from __future__ import annotations

import re
from email.utils import format_datetime
from datetime import UTC, datetime, timedelta

import pytest
from scrapy import Request
from scrapy.http import Response
from scrapy.settings import Settings

from crawler.middlewares import BackoffRetryMiddleware
from pipelines.outlets import get_outlet
from pipelines.clean import GENERIC_RULES, clean_lines, rules_for
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
    lines = [
        "BAFL 41.16 Decreased By ▼ -0.09 (-0.22%)", "SILK 0.95 No Change ▼ 0.00 (0%)", "KSE100 55,391 Increased By 1129.9 (2.08%)",
        "Headline",
        "The KSE-100 index increased by 1,129.9 points, or 2.08%, to close at 55,391 on Monday.",
        "Advertisement:",
        '"This is not an advertisement for the government, and we will not stop," he said.',
    ]
    result = clean_lines(lines, "Headline", rules_for(get_outlet("brecorder")))
    assert result.lines == [lines[4], lines[6]]
    assert result.counts == {"brecorder:ticker_stock": 2, "brecorder:ticker_index": 1, "ad_label": 1, "repeated_headline": 1}


def test_a_lone_ticker_like_line_is_not_removed() -> None:
    line = "KSE100 55,391 Increased By 1129.9 (2.08%)"
    result = clean_lines(["A long enough opening sentence of the story that is plainly body text here.", line], "T", rules_for(get_outlet("brecorder")))
    assert line in result.lines


def test_psx_ticker_lines_go_only_in_runs_and_only_for_brecorder() -> None:
    body = [
        "Stocks rallied on Monday as investors welcomed the budget, brokers in Karachi said after the close.",
        "HBL 101.50 Increased By ▲ 1.25 (1.25%)",
        "The central bank is expected to keep its policy rate unchanged at the meeting next week, analysts said.",
    ]
    brecorder = rules_for(get_outlet("brecorder"))
    assert clean_lines(body, "T", brecorder).lines == body, "a lone ticker line inside the body stays"
    run = [*body[:2], "KSE100 55,391 Increased By 1129.9 (2.08%)", body[2]]
    result = clean_lines(run, "T", brecorder)
    assert result.lines == [body[0], body[2]]
    assert result.counts == {"brecorder:ticker_stock": 1, "brecorder:ticker_index": 1}
    # the PSX ticker is Business Recorder's: other outlets and generic pages keep such lines
    assert clean_lines(run, "T", rules_for(None)).lines == run
    assert clean_lines(run, "T", rules_for(get_outlet("pravda"))).lines == run


def test_outlet_rule_names_are_stable_snake_case_and_unique() -> None:
    from pipelines.outlets import Edition, Outlet, TextRule, all_outlets, line_rule

    for name, outlet in all_outlets().items():
        keys = [r.name for r in outlet.qualified_text_rules()]
        assert keys, f"{name} declares no text rule"
        assert all(re.fullmatch(rf"{re.escape(name)}:[a-z][a-z0-9]*(?:_[a-z0-9]+)*", k) for k in keys), keys
        assert len(set(keys)) == len(keys), f"{name}: duplicate rule names"
        assert [r.name for r in outlet.text_rules] == [k.split(":", 1)[1] for k in keys]
        assert len(rules_for(outlet).rules) == len(GENERIC_RULES) + len(keys), "every outlet rule is kept"
    assert {"brecorder:masthead_logo", "brecorder:ticker_stock", "brecorder:ticker_index"} <= {
        r.name for r in get_outlet("brecorder").qualified_text_rules()
    }
    assert "pravda:support_us" in {r.name for r in get_outlet("pravda").qualified_text_rules()}
    assert not {"ticker_stock", "ticker_index"} & {r.name for r in GENERIC_RULES}

    def outlet(*rules: object) -> Outlet:
        return Outlet(name="x", title="X", country="XX", base_url="https://x.example", domains=("x.example",),
                      editions={"en": Edition(language="en")}, default_edition="en", text_rules=rules)  # type: ignore[arg-type]

    assert outlet(line_rule("promo", r"^Buy now$")).qualified_text_rules()[0].name == "x:promo"
    with pytest.raises(TypeError):
        outlet(r"^Buy now$")  # a bare regex has no name
    for bad in ("", "Promo", "buy now", "x:promo", "promo-line", "_promo"):
        with pytest.raises(ValueError):
            outlet(TextRule(bad, r"Buy now"))
    with pytest.raises(ValueError, match="two text rules"):
        outlet(line_rule("promo", r"^Buy now$"), line_rule("promo", r"^Sale$"))
    with pytest.raises(ValueError):
        line_rule("promo", r"^Buy now$", "anywhere")  # unknown scope


def test_outlet_rules_are_dated_and_compiled_once() -> None:
    from datetime import date

    from pipelines.outlets import TextRule

    pravda = get_outlet("pravda")
    rules = rules_for(pravda, date(2026, 11, 25))
    assert len(rules.rules) == len(GENERIC_RULES) + len(pravda.text_rules) == len(GENERIC_RULES) + len(pravda.qualified_text_rules())
    assert rules_for(pravda, date(2026, 11, 25)) is rules
    old = TextRule("old_promo", "Buy now", valid_until=date(2024, 1, 1))
    assert old.valid_on(date(2023, 6, 1)) and not old.valid_on(date(2026, 1, 1))
