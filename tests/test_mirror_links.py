"""``-a base_url=`` with a mirror as operators have them: feeds, sitemaps and pages that link to the
mirror's own host (a staging copy, ``wget --mirror --convert-links``), not to the live outlet.

The converted copies are the fixture sites themselves, served with every link to the outlet's live
origin pointing to the mirror (``serve(outlet, own_host=True)``; the JSON-escaped links of JSON-LD
too), or written into ``tmp_path`` with relative links; no page is invented. Such a crawl must
archive the same articles as the standard mirror: the same manifest URLs (the live outlet's), the
same outcomes and identities, texts equal to the goldens, and an incremental rerun that skips them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from pipelines.dev.mirror import MirrorServer, serve
from pipelines.outlets import all_outlets, get_outlet
from pipelines.reader import completed_runs
from pipelines.storage import open_store
from tests.conftest import SITES, expected, run_crawl
from tests.test_crawl import article_paths, check_run_against_expectations, check_warcs, run_files

OUTLETS = sorted(all_outlets())
#: what must be the same whichever way the mirror links (where a record sits, the order number and
#: which source listed an article first depend on timing; the fetch time and address are the mirror's)
SAME = ("url", "final_url", "canonical_url", "docid", "status", "reason", "title", "authors", "published", "http_status",
        "text_sha256", "removed_lines", "wire", "duplicate_of", "truncated", "mirror")


def crawl(outlet: str, server: MirrorServer, tmp_path: Path, name: str) -> tuple[str, dict[str, Any]]:
    archive = str(tmp_path / name)
    result = run_crawl(outlet, server, archive, tmp_path / f"spool-{name}", expected(outlet).get("settings"))
    assert result.returncode == 0, result.log[-3000:]
    store = open_store(archive)
    [prefix] = completed_runs(store)
    return archive, run_files(store, prefix)


def same_fields(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {url: {k: row[k] for k in SAME} for url, row in rows.items()}


def served(server: MirrorServer, path: str) -> bytes:
    """The body ``server`` serves at ``path`` (read without a request: the crawl's hit counts stay as they are)."""
    route = server.routes[path]
    body = (server.site_dir / route["file"]).read_bytes() if "file" in route else route.get("body", "").encode("utf-8")
    return server.to_self(body)


@pytest.mark.parametrize("outlet", OUTLETS)
def test_a_mirror_linking_to_its_own_host_archives_what_the_standard_mirror_does(outlet: str, tmp_path: Path) -> None:
    exp = expected(outlet)
    live = get_outlet(outlet).base_url
    standard = serve(outlet)
    try:
        _, want = crawl(outlet, standard, tmp_path, "standard")
    finally:
        standard.stop()

    own = serve(outlet, own_host=True)
    try:
        feed = served(own, get_outlet(outlet).edition(get_outlet(outlet).default_edition).feeds[0])
        assert own.base_url.encode() in feed and live.encode() not in feed, "the copy links to itself, not to the live site"
        archive, got = crawl(outlet, own, tmp_path, "own-host")
        check_run_against_expectations(outlet, exp, got, own)  # statuses, goldens, never-fetched pages
        check_warcs(got, tmp_path)
        assert same_fields(got["rows"]) == same_fields(want["rows"]), "the same articles, identities and texts"
        assert got["summary"]["mirror"] == own.base_url and {r["mirror"] for r in got["rows"].values()} == {True}
        assert all(r["url"].startswith(("https://", "http://")) and own.base_url not in r["url"] for r in got["rows"].values())

        # incremental: nothing archived is fetched again from the own-host mirror
        paths = article_paths(exp)
        before = {url: own.hits[p] for url, p in paths.items()}
        again = run_crawl(outlet, own, archive, tmp_path / "spool-own-host", exp.get("settings"))
        assert again.returncode == 0, again.log[-3000:]
        for url, state in exp["articles"].items():
            if state["status"] in ("written", "empty", "skipped"):
                assert own.hits[paths[url]] == before[url], f"{url} was fetched again"
    finally:
        own.stop()


def test_relative_links_and_links_to_the_mirror_mixed(tmp_path: Path) -> None:
    """A converted copy whose pages link root-relative (``/slug-123/``) while its feeds and sitemaps
    name the mirror's own host: Orda's fixture site rewritten into tmp_path."""
    outlet = "orda"
    live = get_outlet(outlet).base_url
    site = tmp_path / "site"
    shutil.copytree(SITES / outlet, site)
    for page in (site / "pages").glob("*.html"):
        page.write_bytes(page.read_bytes().replace(live.encode() + b"/", b"/"))
    server = MirrorServer(site, links_to_self=(live,)).start()
    try:
        section = served(server, "/last-news/")
        assert b'href="/' in section and live.encode() not in section
        _, got = crawl(outlet, server, tmp_path, "mixed")
        check_run_against_expectations(outlet, expected(outlet), got, server)
        assert {r["mirror"] for r in got["rows"].values()} == {True}
        assert not [r for r in got["rows"].values() if r["status"] == "written" and r["reason"]], "canonical URLs taken as identities"
    finally:
        server.stop()


def test_links_to_the_mirror_are_the_live_outlets_and_a_host_of_the_outlet_is_no_mirror(tmp_path: Path) -> None:
    """The spider's mapping in-process: a mirror's own links (absolute, protocol-relative, JSON-escaped)
    are the live outlet's; another port or a longer host name is not the mirror. ``base_url`` on a host
    the outlet owns (orda's ru edition is crawled with ``-a base_url=https://orda.kz``) is the live site."""
    from tests.units import unit_crawler

    with unit_crawler("orda", tmp_path / "mirror", open_archive=False, base_url="http://127.0.0.1:8080") as unit:
        spider = unit.spider
        assert spider.mirror_url == "http://127.0.0.1:8080" and unit.ext.archive.mirror
        assert spider.to_live("http://127.0.0.1:8080/a-story-12345/#top") == "https://en.orda.kz/a-story-12345/"
        assert spider.to_fetch("https://en.orda.kz/a-story-12345/") == "http://127.0.0.1:8080/a-story-12345/"
        page = (b'<link rel="canonical" href="http://127.0.0.1:8080/a-1/"><a href="//127.0.0.1:8080/b-2/">'
                b'{"url":"http:\\/\\/127.0.0.1:8080\\/c-3\\/"} http://127.0.0.1:80801/d-4/ http://127.0.0.1:8080.example/e-5/')
        assert spider._live_links(page) == (
            b'<link rel="canonical" href="https://en.orda.kz/a-1/"><a href="//en.orda.kz/b-2/">'
            b'{"url":"https:\\/\\/en.orda.kz\\/c-3\\/"} http://127.0.0.1:80801/d-4/ http://127.0.0.1:8080.example/e-5/')
    with unit_crawler("orda", tmp_path / "ru", open_archive=False, base_url="https://orda.kz", edition="ru") as unit:
        spider = unit.spider
        assert spider.mirror_url is None and not unit.ext.archive.mirror, "the live site, not a mirror"
        assert spider.absolute("/feed/") == "https://orda.kz/feed/"
        assert spider.to_live("https://orda.kz/a-story-417627/") == spider.to_fetch("https://orda.kz/a-story-417627/") == "https://orda.kz/a-story-417627/"
