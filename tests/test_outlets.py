"""Every outlet module has a fixture site, expectations and golden texts; goldens match extraction."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.outlets import all_outlets, get_outlet
from tests.golden_tool import GOLDEN, INDEX, SITES, expected_text, expectation_files, golden_texts, render_index, written_pages

OUTLETS = sorted(all_outlets())


def test_scrapy_list_shows_every_outlet() -> None:
    out = subprocess.run([sys.executable, "-m", "scrapy", "list"], capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert out.returncode == 0, out.stderr
    assert OUTLETS, "the registry finds the outlet modules"
    assert out.stdout.split() == OUTLETS


@pytest.mark.parametrize("outlet", OUTLETS)
def test_outlet_has_fixture_site_expectations_and_goldens(outlet: str) -> None:
    assert (SITES / outlet / "site.json").is_file(), f"{outlet} has no fixture site"
    assert expectation_files(outlet), f"{outlet} has no expected.json"
    pages = list(written_pages(outlet))
    assert len(pages) >= 5, f"{outlet} needs at least five written fixture articles"
    docids = {expected_text(outlet, url, body, ctype)[0] for url, body, ctype in pages}
    goldens = {p.stem for p in (GOLDEN / outlet).glob("*.txt")}
    assert goldens == docids, "one golden text per written fixture article, none left over"


@pytest.mark.parametrize("outlet", OUTLETS)
def test_golden_texts_byte_for_byte(outlet: str) -> None:
    for url, body, ctype in written_pages(outlet):
        docid, text = expected_text(outlet, url, body, ctype)
        golden = (GOLDEN / outlet / f"{docid}.txt").read_bytes()
        assert text.encode("utf-8") == golden, f"{url}: extraction differs from tests/golden/{outlet}/{docid}.txt"
        assert not golden.startswith(b"\xef\xbb\xbf") and b"\r" not in golden
        title, _, rest = golden.decode("utf-8").partition("\n\n")
        assert title and "\n" not in title and rest, "headline, blank line, body"


@pytest.mark.parametrize("outlet", OUTLETS)
def test_golden_index_names_the_fixture_page_of_every_golden(outlet: str) -> None:
    index_file = GOLDEN / outlet / INDEX
    assert index_file.is_file(), f"no tests/golden/{outlet}/{INDEX}: run python tests/golden_tool.py {outlet}"
    index = json.loads(index_file.read_text(encoding="utf-8"))
    want = {docid: {"url": url, "page": page} for docid, _, url, page in golden_texts(outlet)}
    assert index == want, f"tests/golden/{outlet}/{INDEX} is stale: run python tests/golden_tool.py {outlet}"
    assert set(index) == {p.stem for p in (GOLDEN / outlet).glob("*.txt")}, "one index entry per golden text"
    assert all((SITES / outlet / e["page"]).is_file() for e in index.values())
    assert index_file.read_text(encoding="utf-8") == render_index(want), "the index is written sorted, as golden_tool writes it"


@pytest.mark.parametrize("outlet", OUTLETS)
def test_article_pattern_tells_articles_from_other_pages(outlet: str) -> None:
    o = get_outlet(outlet)
    for exp_file in expectation_files(outlet):
        exp = json.loads(exp_file.read_text(encoding="utf-8"))
        edition = exp.get("edition")
        for url in exp["articles"]:
            assert o.is_article_url(url, edition), url
        for path in exp.get("never_fetched", []):
            # tag, author, video, gallery pages are not articles; robots-disallowed ones may look like one
            if "search" not in path:
                assert not o.is_article_url(o.base_url + path, edition), path
