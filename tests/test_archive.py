"""The archive core in-process (no Scrapy): rows, text files, summary, and repair of a dead run's spool."""

from __future__ import annotations

import json
from typing import Any
from pathlib import Path

from pipelines import layout, warc
from pipelines.archive import Archive, ArchiveConfig
from pipelines.manifest import ERROR, WRITTEN, ManifestRow, docid_for
from pipelines.process import HOST
from pipelines.publish import LIVE_MARK
from pipelines.reader import completed_runs, read_rows, read_summary, read_text
from pipelines.storage import FileStore
from pipelines.verify import verify_run


def config(tmp_path: Path, run_id: str) -> ArchiveConfig:
    return ArchiveConfig(
        uri=str(tmp_path / "archive"), spool_dir=str(tmp_path / "spool"), spool_min_free=0, warc_prefix="{outlet}", warc_max_bytes=10**9,
        warc_host="ci", run_id=run_id, fixed_time="2026-11-25T12:00:00Z", upload_deadline=5.0, upload_backoff=0.01, upload_stall_warning=10.0,
        upload_threads=2, multipart_threshold=64 << 20, lock_enabled=True, lock_ttl=60.0, lock_wait=0.0,
        state_uri="", state_key_prefix="archived", max_attempts=3, software="newsarchive-test",
    )


def exchange(url: str) -> warc.HttpExchange:
    body = f"<html><body><p>{url}</p></body></html>".encode()
    return warc.HttpExchange(url=url, method="GET", request_headers=[("Host", "www.example.org")], request_body=b"", status=200,
                             reason="OK", response_headers=[("Content-Type", "text/html")], body=body)


def row(url: str, status: str = WRITTEN) -> ManifestRow:
    return ManifestRow(docid=docid_for(url), url=url, final_url=url, canonical_url=url, outlet="orda", edition="en",
                       language="en", title="T", source="feed:/feed/", status=status, reason=None if status == WRITTEN else "HTTP 404")


def test_a_run_writes_rows_texts_and_a_summary_from_its_manifest(tmp_path: Path) -> None:
    archive = Archive.create(config(tmp_path, "20261125T120000Z-a"), "orda", "en")
    archive.open()
    url = "https://en.orda.kz/a-story-12345/"
    location = archive.record_exchange(exchange(url))
    written = archive.add(row(url), "Headline\n\nBody paragraph.", location)
    failed = archive.add(row("https://en.orda.kz/gone-12346/", ERROR), "", None)
    summary = archive.close("finished", progress={"found": 2}, scrapy_stats={})
    assert summary is not None and summary["published"]
    store = FileStore(tmp_path / "archive")
    [prefix] = completed_runs(store)
    assert verify_run(store, prefix)[0] == []
    rows = read_rows(store, prefix)
    assert rows == [written, failed]
    assert written.seq == 0 and written.text_key == layout.text_key(prefix, 0, written.docid)
    assert (written.warc_key, written.warc_offset, written.warc_length) == (layout.warc_key(prefix, location.filename), location.offset, location.length)
    assert failed.text_key is None and failed.warc_key is None
    assert read_text(store, written) == "Headline\n\nBody paragraph."
    stored = read_summary(store, prefix)
    assert stored["counts"] == {"error": 1, "written": 1} and stored["manifest_rows"] == 2 and stored["progress"] == {"found": 2}
    state = (store.get_bytes(layout.state_key("orda", "20261125T120000Z-a")) or b"").decode().split()
    assert state == [url], "only archived rows enter the state; the error is retried"


def test_a_dead_runs_text_without_a_row_is_dropped_and_its_article_fetched_again(tmp_path: Path) -> None:
    """A run killed between writing a text file and its manifest row must not publish an orphan text."""
    dead = Archive.create(config(tmp_path, "20261125T120000Z-dead"), "orda", "en")
    dead.open()
    kept, cut = "https://en.orda.kz/kept-12345/", "https://en.orda.kz/cut-12346/"
    dead.add(row(kept), "Kept\n\nKept body.", dead.record_exchange(exchange(kept)))
    orphan = layout.text_key(dead.prefix, 1, docid_for(cut))
    dead.spool.put(orphan, b"Cut\n\nIts row was never written.")
    dead.warc.close()
    (dead.run_dir / LIVE_MARK).write_text(f"{HOST} 999999999\n")  # its process is gone
    dead.lock.release()  # type: ignore[union-attr]  # the lock would expire; here it goes at once

    later = Archive.create(config(tmp_path, "20261125T130000Z-next"), "orda", "en")
    later.open()
    assert later.recovered_runs == [dead.prefix]
    assert not later.is_archived(cut) and later.is_archived(kept)
    later.close("finished")
    store = FileStore(tmp_path / "archive")
    assert dead.prefix in completed_runs(store)
    assert verify_run(store, dead.prefix)[0] == [], "no text file without its row"
    assert store.get_bytes(orphan) is None
    assert read_summary(store, dead.prefix)["recovered"] is True
    assert json.loads(store.get_bytes(f"{dead.prefix}/{layout.MARKER}") or b"{}")["manifest_rows"] == 1


def test_a_run_whose_publishing_fails_at_close_says_incomplete_in_its_summary_too(tmp_path: Path) -> None:
    """Uploads that stop only at close (the summary already said complete): the spooled summary is
    amended, so the run that publishes it later does not publish a run that claims it was complete."""
    first = Archive.create(config(tmp_path, "20261125T120000Z-late"), "orda", "en")
    first.open()
    url = "https://en.orda.kz/late-12345/"
    first.add(row(url), "Late\n\nLate body.", first.record_exchange(exchange(url)))
    store, put_file = first.store, first.store.put_file

    def refuse_the_summary(path: Path, key: str, progress: Any = None) -> None:
        if key.endswith("/" + layout.SUMMARY):
            raise ConnectionError("store unreachable")
        put_file(path, key, progress)

    first._uploads.deadline = 0.2
    store.put_file = refuse_the_summary  # type: ignore[method-assign]
    summary = first.close("finished")
    assert summary is not None and not summary["published"]
    assert summary["outcome"] == "incomplete" and "ARCHIVE_UPLOAD_DEADLINE" in summary["outcome_reason"]
    spooled = json.loads((first.run_dir / layout.SUMMARY).read_text())
    assert (spooled["outcome"], spooled["outcome_reason"]) == (summary["outcome"], summary["outcome_reason"])
    assert completed_runs(FileStore(tmp_path / "archive")) == []
    (first.run_dir / LIVE_MARK).write_text(f"{HOST} 999999999\n")  # its process has ended

    later = Archive.create(config(tmp_path, "20261125T130000Z-next"), "orda", "en")
    later.open()
    assert later.recovered_runs == [first.prefix] and later.is_archived(url)
    later.close("finished")
    assert read_summary(FileStore(tmp_path / "archive"), first.prefix)["outcome"] == "incomplete"


def test_a_run_whose_every_article_failed_without_an_answer_is_failed(tmp_path: Path) -> None:
    """Sources read, articles listed, none reached (a dead origin behind a live feed): not complete."""
    archive = Archive.create(config(tmp_path, "20261125T120000Z-dark"), "orda", "en")
    archive.open()
    for n, status in enumerate((None, 503)):
        failed = row(f"https://en.orda.kz/dark-{12345 + n}/", ERROR)
        failed.http_status, failed.reason = status, "Connection refused" if status is None else "HTTP 503"
        archive.add(failed, "", None)
    summary = archive.close("finished")
    assert summary is not None and summary["outcome"] == "failed"
    assert summary["outcome_reason"].startswith("none of the 2 article(s) could be fetched"), summary["outcome_reason"]


def test_a_run_with_one_answered_article_is_not_failed(tmp_path: Path) -> None:
    archive = Archive.create(config(tmp_path, "20261125T120000Z-gone"), "orda", "en")
    archive.open()
    gone = row("https://en.orda.kz/gone-12345/", ERROR)
    gone.http_status = 404
    archive.add(gone, "", None)
    archive.add(row("https://en.orda.kz/dark-12346/", ERROR), "", None)
    summary = archive.close("finished")
    assert summary is not None and summary["outcome"] == "complete", "a 404 is an answer: the article is gone"


def test_an_html_rule_that_matched_no_page_of_a_long_enough_run_is_reported(tmp_path: Path, caplog: Any) -> None:
    """A redesign shows as rules that stop matching: counted per rule, reported from 20 pages on."""
    import logging

    from pipelines.outlets import get_outlet
    from pipelines.publish import RULE_HEALTH_MIN_PAGES

    keys = [r.name for r in get_outlet("orda").qualified_html_rules()]
    caplog.set_level(logging.WARNING)
    archive = Archive.create(config(tmp_path, "20261125T120000Z-rules"), "orda", "en")
    archive.open()
    for n in range(RULE_HEALTH_MIN_PAGES):
        url = f"https://en.orda.kz/story-{12345 + n}/"
        written = row(url)
        written.removed_lines = {keys[0]: 2, "repeated_headline": 1}
        archive.add(written, f"Story {n}\n\nBody {n}.", archive.record_exchange(exchange(url)))
    summary = archive.close("finished")
    assert summary is not None
    health = summary["rule_health"]
    assert health["pages"] == RULE_HEALTH_MIN_PAGES and health["matched"][keys[0]] == RULE_HEALTH_MIN_PAGES
    assert health["unmatched"] == keys[1:], "every other HTML rule matched nothing"
    assert any(f"rule health: {len(keys) - 1} HTML rule(s) of orda matched none of the run's 20 article pages" in r.getMessage()
               for r in caplog.records)


def test_rule_health_says_nothing_unmatched_below_the_page_minimum(tmp_path: Path) -> None:
    archive = Archive.create(config(tmp_path, "20261125T120000Z-few"), "orda", "en")
    archive.open()
    url = "https://en.orda.kz/story-12345/"
    archive.add(row(url), "Story\n\nBody.", archive.record_exchange(exchange(url)))
    summary = archive.close("finished")
    assert summary is not None and summary["rule_health"]["pages"] == 1 and summary["rule_health"]["unmatched"] == []
