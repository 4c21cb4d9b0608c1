"""Redirect mazes and lying canonical URLs: one row per listed URL, nothing marked archived that was not.

Each case is a Business Recorder look-alike on loopback (tests/hostile.py) crawled by the real
spider. Asserted: the manifest rows (status, reason, identity), the archived state that decides
what a later run fetches again, what the server saw, and that the archive verifies.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.layout import state_prefix
from pipelines.manifest import ManifestRow
from pipelines.reader import completed_runs, read_rows
from pipelines.storage import open_store
from tests.conftest import run_crawl
from tests.hostile import LIVE, HostileServer, Handler, article_html, article_id, brecorder_site, page, redirect, status
from tests.test_crawl import assert_archive_sound

A, B, C = article_id(1), article_id(2), article_id(3)


def crawl(routes: dict[str, Handler], tmp_path: Path, runs: int = 1, settings: dict[str, object] | None = None) -> tuple[HostileServer, list[dict[str, ManifestRow]], list[int]]:
    """Crawl the site ``runs`` times into one archive; rows of each run by URL, exit codes."""
    archive = str(tmp_path / "archive")
    per_run, codes = [], []
    with HostileServer(routes) as server:
        for _ in range(runs):
            result = run_crawl("brecorder", server, archive, tmp_path / "spool", {"RETRY_TIMES": 0, **(settings or {})})
            codes.append(result.returncode)
            store = open_store(archive)
            prefix = completed_runs(store)[-1]
            per_run.append({row.url: row for row in read_rows(store, prefix)})
    assert_archive_sound(open_store(archive), tmp_path)
    return server, per_run, codes


def archived(tmp_path: Path) -> set[str]:
    store = open_store(str(tmp_path / "archive"))
    urls: set[str] = set()
    for key in store.list_keys(state_prefix("brecorder") + "archived/"):
        urls.update((store.get_bytes(key) or b"").decode().split())
    return urls


def test_a_loop_between_two_listed_articles_gives_each_one_row_and_archives_neither(tmp_path: Path) -> None:
    routes = brecorder_site({A: redirect(LIVE + B), B: redirect(LIVE + A)})
    server, [rows], codes = crawl(routes, tmp_path)
    assert codes == [0]
    assert set(rows) == {LIVE + A, LIVE + B}, "exactly one row per listed URL"
    statuses = sorted(r.status for r in rows.values())
    assert statuses == ["error", "skipped"], "the URL that closes the loop is an error; the other moved to it"
    loop = next(r for r in rows.values() if r.status == "error")
    assert loop.reason and loop.reason.startswith("redirect loop: ")
    assert not archived(tmp_path) & {LIVE + A, LIVE + B}, "a loop archives nothing: a later run tries again"
    assert server.hits[A] == 1 and server.hits[B] == 1


def test_a_self_redirect_and_a_loop_through_non_articles_get_error_rows(tmp_path: Path) -> None:
    routes = brecorder_site({
        A: redirect(LIVE + A),  # to itself (Scrapy's dupefilter used to drop the second request: no row at all)
        B: redirect("/go/1"),
        "/go/1": redirect("/go/2"),
        "/go/2": redirect("/go/1"),
    }, listed=[A, B])
    server, [rows], codes = crawl(routes, tmp_path)
    assert codes == [0]
    assert set(rows) == {LIVE + A, LIVE + B}
    assert rows[LIVE + A].status == "error" and rows[LIVE + A].reason == f"redirect loop: {LIVE + A} -> {LIVE + A}"
    assert rows[LIVE + B].status == "error" and rows[LIVE + B].reason == f"redirect loop: {LIVE + B} -> {LIVE}/go/1 -> {LIVE}/go/2 -> {LIVE}/go/1"
    assert server.hits["/go/1"] == 1 and server.hits["/go/2"] == 1
    assert not archived(tmp_path) & {LIVE + A, LIVE + B}


def test_two_articles_redirecting_to_the_same_page_both_get_their_row(tmp_path: Path) -> None:
    """The second chain's hop to an already requested URL must not be dropped by Scrapy's dupefilter."""
    routes = brecorder_site({A: redirect("/login"), B: redirect("/login"), "/login": status(404)}, listed=[A, B])
    server, [rows], _ = crawl(routes, tmp_path)
    assert set(rows) == {LIVE + A, LIVE + B}
    assert [rows[LIVE + p].status for p in (A, B)] == ["error", "error"] and server.hits["/login"] == 2
    assert all(rows[LIVE + p].final_url == f"{LIVE}/login" and rows[LIVE + p].http_status == 404 for p in (A, B))


def test_a_chain_longer_than_the_limit_is_an_error(tmp_path: Path) -> None:
    hops = {f"/hop/{n}": redirect(f"/hop/{n + 1}") for n in range(10)}
    routes = brecorder_site({A: redirect("/hop/0"), **hops}, listed=[A])
    server, [rows], _ = crawl(routes, tmp_path)
    assert rows[LIVE + A].status == "error" and rows[LIVE + A].reason == "more than 5 redirects"
    assert server.hits["/hop/5"] == 0, "no hop beyond the limit is fetched"


def test_a_moved_article_is_archived_under_its_new_url_and_its_old_url_only_once_that_is(tmp_path: Path) -> None:
    routes = brecorder_site({A: redirect(LIVE + B), B: page(article_html("Moved story"))}, listed=[A])
    server, runs, codes = crawl(routes, tmp_path, runs=2)
    first, second = runs
    assert codes == [0, 0]
    assert first[LIVE + A].status == "skipped" and first[LIVE + A].final_url == LIVE + B
    assert first[LIVE + B].status == "written"
    assert {LIVE + A, LIVE + B} <= archived(tmp_path)
    assert second == {} and server.hits[A] == 1 and server.hits[B] == 1, "nothing fetched again"


def test_a_moved_article_whose_new_url_fails_is_retried_then_given_up(tmp_path: Path) -> None:
    routes = brecorder_site({A: redirect(LIVE + B), B: status(404)}, listed=[A])
    server, runs, codes = crawl(routes, tmp_path, runs=3, settings={"ARCHIVE_MAX_ATTEMPTS": 2})
    assert codes == [0, 0, 0]
    first, second, third = runs
    for rows in (first, second):
        assert rows[LIVE + A].status == "skipped" and rows[LIVE + B].status == "error" and rows[LIVE + B].http_status == 404
    assert not archived(tmp_path) & {LIVE + A, LIVE + B}, "the old URL is not archived: its article never was"
    assert third == {}, "after two runs that failed them for good, neither is fetched again"
    assert server.hits[A] == 2 and server.hits[B] == 2


def test_a_transient_failure_is_retried_by_every_run(tmp_path: Path) -> None:
    routes = brecorder_site({A: status(503), B: status(410)})
    server, runs, _ = crawl(routes, tmp_path, runs=3, settings={"ARCHIVE_MAX_ATTEMPTS": 2})
    assert [rows[LIVE + A].status for rows in runs] == ["error"] * 3, "a 503 is not given up"
    assert server.hits[A] == 3 and server.hits[B] == 2, "a 410 is given up after two runs"


def test_relative_canonicals_resolve_against_base_href_and_the_page_url(tmp_path: Path) -> None:
    routes = brecorder_site({
        A: page(article_html("First", canonical="index.html")),
        B: page(article_html("Second", canonical="index.html")),
        C: page(article_html("Third", canonical="story", base=f"{LIVE}/news/40470099/")),
    })
    _, [rows], _ = crawl(routes, tmp_path)
    assert [rows[LIVE + p].status for p in (A, B, C)] == ["written"] * 3, "three different pages, three texts"
    assert rows[LIVE + A].canonical_url == f"{LIVE}/news/40470001/index.html"
    assert rows[LIVE + B].canonical_url == f"{LIVE}/news/40470002/index.html"
    assert rows[LIVE + C].canonical_url == f"{LIVE}/news/40470099/story", "<base href> is honoured"
    assert len({r.docid for r in rows.values()}) == 3


def test_a_canonical_shared_by_different_texts_is_not_an_identity(tmp_path: Path) -> None:
    shared = f"{LIVE}/news/40470099/shared-canonical"
    routes = brecorder_site({p: page(article_html(f"Story {p}", canonical=shared)) for p in (A, B, C)})
    _, [rows], _ = crawl(routes, tmp_path)
    assert [r.status for r in rows.values()] == ["written"] * 3, "no page lost to a shared canonical URL"
    assert len({r.docid for r in rows.values()}) == 3
    kept = [r for r in rows.values() if r.canonical_url == shared]
    assert len(kept) == 1, "the first page keeps the canonical URL"
    for row in rows.values():
        if row is not kept[0]:
            assert row.canonical_url == row.final_url and "another page with a different text has it" in (row.reason or "")
    # the same text under two URLs sharing a canonical is still one article
    same = brecorder_site({A: page(article_html("Same story", canonical=shared)), B: page(article_html("Same story", canonical=shared))})
    _, [rows2], _ = crawl(same, tmp_path / "same")
    assert sorted(r.status for r in rows2.values()) == ["duplicate", "written"]


def test_a_canonical_on_another_site_or_not_an_article_is_not_trusted(tmp_path: Path) -> None:
    routes = brecorder_site({
        A: page(article_html("Elsewhere", canonical="https://www.example.org/news/1")),
        B: page(article_html("Not an article", canonical=f"{LIVE}/trends/kse-100")),
    })
    _, [rows], _ = crawl(routes, tmp_path)
    a, b = rows[LIVE + A], rows[LIVE + B]
    assert a.status == b.status == "written"
    assert a.canonical_url == LIVE + A and "https://www.example.org/news/1 not used as identity: it is on another site" in (a.reason or "")
    assert b.canonical_url == LIVE + B and "not used as identity: it is not an article URL" in (b.reason or "")


def test_redirects_off_the_outlet_are_refused(tmp_path: Path) -> None:
    """Kept from before: off-domain, file:// and other-port redirects are not followed (one error row each)."""
    from tests.conftest import free_port

    other = free_port()
    routes = brecorder_site({
        A: redirect("https://www.example.org/news/1"),
        B: redirect("file:///etc/passwd"),
        C: redirect(f"http://127.0.0.1:{other}/news/40470003/x"),
    })
    _, [rows], codes = crawl(routes, tmp_path)
    assert codes == [0]
    for path, target in ((A, "https://www.example.org/news/1"), (B, "file:///etc/passwd"), (C, f"http://127.0.0.1:{other}/news/40470003/x")):
        row = rows[LIVE + path]
        assert row.status == "error" and row.reason == f"offsite redirect to {target} not followed", row
    archive = tmp_path / "archive"
    assert not any(b"root:" in p.read_bytes() for p in archive.rglob("*") if p.is_file()), "no local file was read"


def test_a_redirect_to_an_over_long_url_gets_an_error_row(tmp_path: Path) -> None:
    """Scrapy drops a request longer than URLLENGTH_LIMIT without a trace; the listed URL keeps its row."""
    long_target = "/go/" + "x" * 9000
    routes = brecorder_site({A: redirect(long_target)}, listed=[A])
    server, [rows], _ = crawl(routes, tmp_path)
    row = rows[LIVE + A]
    assert row.status == "error" and "longer than URLLENGTH_LIMIT" in (row.reason or "")
    assert server.hits[long_target] == 0
