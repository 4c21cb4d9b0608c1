"""Translations an outlet lists but does not have (yet): status ``missing``, re-checked within a bound.

Ukrainska Pravda lists every story under all three editions in its monthly sitemaps, with
``xhtml:link hreflang`` alternates for all three, also when a story has no English or Russian
version (issue 12: on a mirror of the real December 2025 sitemap, 132 requests went to absent English
pages). Its ``en`` and ``ru`` editions are declared translations of ``uk``
(``Edition.translation_of``, pipelines/outlets/pravda.py), so an article URL of theirs that answers
404/410 is ``missing``: not an error, the run is complete; later runs check it again only while its
publication day is within ``TRANSLATION_RECHECK_DAYS`` (the day goes into the row's ``published``
and the run's attempts file, pipelines/manifest.py, pipelines/state.py).

The mirrors are the Pravda look-alikes of tests/test_discovery_window.py (provenance table there).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from pipelines.layout import attempts_key
from pipelines.manifest import ERROR, MISSING, WRITTEN, ManifestRow, failed_attempts, missing_line, read_attempt_line
from pipelines.state import ArchivedState, load_state
from pipelines.storage import open_store
from tests.hostile import HostileServer, status
from tests.test_discovery_window import LIVE, PravdaSite, Runs, article_path, statuses, today

SINCE = {"since": (today() - timedelta(days=25)).isoformat()}


def row(url: str, status_: str, published: str | None = None, http_status: int | None = 404) -> ManifestRow:
    return ManifestRow(docid="x", url=url, status=status_, published=published, http_status=http_status, reason="r")


# ---------------------------------------------------------------------------------- unit


def test_a_missing_row_goes_to_the_attempts_file_with_its_day() -> None:
    rows = [row(f"{LIVE}/eng/news/2026/12/01/1/", MISSING, "2026-12-01"), row(f"{LIVE}/eng/news/x/", MISSING, None),
            row(f"{LIVE}/gone/", ERROR), row(f"{LIVE}/ok/", WRITTEN, "2026-12-01", 200)]
    lines = failed_attempts(rows, archived={f"{LIVE}/ok/"})
    assert lines == sorted([f"{LIVE}/eng/news/2026/12/01/1/\tmissing 2026-12-01", f"{LIVE}/eng/news/x/\tmissing", f"{LIVE}/gone/"])
    assert [read_attempt_line(line) for line in lines] == [
        (f"{LIVE}/eng/news/2026/12/01/1/", True, "2026-12-01"), (f"{LIVE}/eng/news/x/", True, None), (f"{LIVE}/gone/", False, None)]
    assert not row(f"{LIVE}/a/", MISSING).archived, "a missing translation is not archived by its row"
    assert missing_line(row(f"{LIVE}/a/", MISSING, "2026-11-02")) == f"{LIVE}/a/\tmissing 2026-11-02"


def test_the_state_judges_a_missing_translation_by_its_day(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    dated, undated, gone = f"{LIVE}/eng/news/2026/11/20/1/", f"{LIVE}/eng/news/x/", f"{LIVE}/gone/"
    for run_id in ("r1", "r2", "r3"):
        store.put_bytes(f"{dated}\tmissing 2026-11-20\n{undated}\tmissing\n{gone}\n".encode(), attempts_key("pravda", run_id))
    urls, attempts, missing = load_state(store, "pravda")
    assert missing == {dated: date(2026, 11, 20), undated: None}
    assert attempts == Counter({undated: 3, gone: 3}), "a dated missing translation is judged by its day, not by attempts"
    state = ArchivedState(store, "pravda", max_attempts=3)
    state.load()
    assert dated not in state, "checked again while its day is recent"
    assert state.missing_settled(dated, date(2026, 11, 27), 7) is False
    assert state.missing_settled(dated, date(2026, 11, 28), 7) is True
    assert undated in state and gone in state, "no date: given up after max_attempts runs, like a 404"
    assert state.missing_settled(undated, date(2030, 1, 1), 7) is False
    # mirror runs' state is kept apart
    assert load_state(store, "pravda", mirror=True)[2] == {}


# ---------------------------------------------------------------------------------- end to end


def test_an_absent_translation_is_missing_and_the_run_complete(tmp_path: Path) -> None:
    t = today()
    site = PravdaSite(3)
    present = site.story(9_400_000, t - timedelta(days=1))
    absent = site.story(9_400_001, t - timedelta(days=1), editions=("uk", "ru"))
    withdrawn = site.story(9_400_002, t - timedelta(days=2), editions=("uk",))
    routes = site.routes()
    routes[withdrawn] = status(410)

    runs = Runs(tmp_path)
    with HostileServer(routes) as server:
        run = runs.crawl(server, args=SINCE)
        hits = dict(server.hits)
    assert statuses(run) == {present: "written", absent: "missing", withdrawn: "missing"}
    rows = {u.removeprefix(LIVE): r for u, r in run["rows"].items()}
    assert rows[absent]["http_status"] == 404 and rows[withdrawn]["http_status"] == 410
    assert rows[absent]["published"] == (t - timedelta(days=1)).isoformat(), "the listing's day, kept for the state"
    until = (t - timedelta(days=1) + timedelta(days=7)).isoformat()
    assert rows[absent]["reason"] == (f"HTTP 404: no en translation of this uk story published, or not yet; "
                                      f"checked again by runs until {until} (TRANSLATION_RECHECK_DAYS=7)")
    assert rows[absent]["warc_key"], "the 404 answer is archived in the WARC"
    assert hits[absent] == 1 and hits[withdrawn] == 1
    summary = run["summary"]
    assert summary["outcome"] == "complete" and summary["counts"] == {"missing": 2, "written": 1}
    store = open_store(runs.archive)
    attempts = (store.get_bytes(attempts_key("pravda", summary["run_id"], mirror=True)) or b"").decode().splitlines()
    assert f"{LIVE}{absent}\tmissing {(t - timedelta(days=1)).isoformat()}" in attempts


def test_a_missing_translation_is_checked_again_within_the_bound_and_written_when_it_appears(tmp_path: Path) -> None:
    t = today()
    site = PravdaSite(3)
    late = site.story(9_500_000, t - timedelta(days=1), editions=("uk", "ru"))
    runs = Runs(tmp_path)
    total = Counter[str]()
    with site.serve() as server:
        first = runs.crawl(server, args=SINCE)
        total.update(server.hits)
    with site.serve() as server:
        second = runs.crawl(server, args=SINCE)
        total.update(server.hits)
    assert statuses(first) == statuses(second) == {late: "missing"}
    assert total[late] == 2, "re-checked by the next run: its day is within TRANSLATION_RECHECK_DAYS"
    site.published["en"].add(9_500_000)  # the English version appears
    with site.serve() as server:
        third = runs.crawl(server, args=SINCE)
        total.update(server.hits)
    assert statuses(third) == {late: "written"}
    with site.serve() as server:
        fourth = runs.crawl(server, args=SINCE)
        total.update(server.hits)
    assert statuses(fourth) == {} and total[late] == 3, "written: archived, not fetched again"


def test_a_missing_translation_past_the_bound_is_not_checked_again(tmp_path: Path) -> None:
    t = today()
    site = PravdaSite(3)
    old = site.story(9_600_000, t - timedelta(days=20), editions=("uk",))
    recent = site.story(9_600_001, t - timedelta(days=2), editions=("uk",))
    runs = Runs(tmp_path)
    total = Counter[str]()
    for _ in range(2):
        with site.serve() as server:
            run = runs.crawl(server, args=SINCE)
            total.update(server.hits)
    assert total[old] == 1, "published 20 days ago: found missing once, then counted as done"
    assert total[recent] == 2
    assert statuses(run) == {recent: "missing"}
    assert run["summary"]["scrapy_stats"]["articles/missing_not_rechecked"] == 1
    # the bound is a setting; recrawl=1 checks it anyway
    with site.serve() as server:
        wider = runs.crawl(server, args=SINCE, settings={"TRANSLATION_RECHECK_DAYS": 30})
    assert statuses(wider) == {old: "missing", recent: "missing"}
    assert (f"checked again by runs until {(t - timedelta(days=20) + timedelta(days=30)).isoformat()} (TRANSLATION_RECHECK_DAYS=30)"
            in wider["rows"][LIVE + old]["reason"])
    with site.serve() as server:
        again = runs.crawl(server, args={**SINCE, "recrawl": 1})
    assert old in statuses(again)


def test_the_original_editions_404_stays_an_error(tmp_path: Path) -> None:
    t = today()
    site = PravdaSite(3)
    gone = site.story(9_700_000, t - timedelta(days=1), editions=("en",))  # no Ukrainian page
    uk = article_path(t - timedelta(days=1), 9_700_000, "uk")
    with site.serve() as server:
        run = Runs(tmp_path).crawl(server, args={**SINCE, "edition": "uk"})
    assert gone.startswith("/eng/")
    assert statuses(run) == {uk: "error"}
    assert run["rows"][LIVE + uk]["reason"] == "HTTP 404"
