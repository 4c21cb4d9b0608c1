"""``scrapy crawl`` as an operator meets it: strict spider arguments, one-line errors, a readable --help.

The bad-input matrix runs real ``scrapy crawl`` subprocesses (all at once, each fails before it
fetches anything: the fixture mirror they point at must see no request). The argument table is
checked in process, through Scrapy's own spider construction.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler.commands.crawl import CrawlRefused, check_settings, help_text
from crawler.spiders.outlet import SPIDER_ARGUMENTS, OutletSpider, SpiderArgumentError
from pipelines.crawljob import EXIT_FAILED, EXIT_REFUSED
from pipelines.dev.mirror import MirrorServer, serve
from pipelines.outlets import all_outlets
from tests.conftest import ROOT
from tests.units import spider_class

#: the registry as the refusals list it
OUTLET_LIST = ", ".join(sorted(all_outlets()))

SECRET = "s3cret-pw"
ARG_NAMES = "max_articles, since, base_url, edition, recrawl, backfill"
#: the one line every refusal before the start ends with
REFUSED_TAIL = "(exit 1: could not start, nothing was crawled)"


@dataclass
class Case:
    """One bad invocation: the arguments after ``scrapy crawl``, the exit code, what its one line says."""

    id: str
    argv: list[str]
    code: int
    says: list[str]
    #: the run starts Scrapy (archive locked, unreachable): its log has INFO lines, one error line
    started: bool = False
    #: point the crawl at the fixture mirror (-a base_url=), to prove nothing is fetched
    mirror: bool = True
    absent: list[str] = field(default_factory=list)


CASES = [
    Case("typo_argument", ["orda", "-a", "max_article=2"], EXIT_FAILED,
         ["unknown spider argument max_article", "did you mean max_articles?", ARG_NAMES]),
    Case("unknown_argument", ["orda", "-a", "bogus=1"], EXIT_FAILED, ["unknown spider argument bogus", ARG_NAMES]),
    Case("impossible_date", ["orda", "-a", "since=2023-13-45"], EXIT_FAILED, ["since must be a real date", "'2023-13-45'"]),
    Case("max_articles_not_a_number", ["orda", "-a", "max_articles=abc"], EXIT_FAILED,
         ["max_articles must be a positive whole number", "'abc'"]),
    Case("unknown_edition", ["orda", "-a", "edition=uk"], EXIT_FAILED, ["edition must be one of en, ru for orda", "'uk'"]),
    Case("base_url_credentials_not_echoed", ["orda", "-a", f"base_url=http://user:{SECRET}@127.0.0.1:8080"], EXIT_FAILED,
         ["base_url must be like"], mirror=False, absent=[SECRET]),
    Case("argument_without_value", ["orda", "-a", "max_articles"], EXIT_FAILED, ["Invalid -a value, use -a NAME=VALUE"]),
    Case("unknown_spider", ["nosuch"], EXIT_FAILED, ["unknown spider 'nosuch'", OUTLET_LIST], mirror=False),
    Case("no_spider", [], EXIT_FAILED, [f"give one spider name: {OUTLET_LIST}"], mirror=False),
    Case("unknown_option", ["orda", "--bogus"], EXIT_FAILED, ["unknown option --bogus"]),
    Case("archive_uri_ftp", ["orda", "-s", "ARCHIVE_URI=ftp://x"], EXIT_FAILED,
         ["bad ARCHIVE_URI 'ftp://x' (-s ARCHIVE_URI)", "unsupported archive URI scheme 'ftp'", "file://", "s3://"]),
    Case("archive_uri_s3_without_bucket", ["orda", "-s", "ARCHIVE_URI=s3://"], EXIT_FAILED,
         ["bad ARCHIVE_URI 's3://'", "without bucket", "s3://bucket/prefix"]),
    Case("upload_deadline_not_a_number", ["orda", "-s", "ARCHIVE_UPLOAD_DEADLINE=abc"], EXIT_FAILED,
         ["bad -s ARCHIVE_UPLOAD_DEADLINE=abc", "a number is expected (default 300.0)"]),
    Case("dedup_uri_not_redis", ["orda", "-s", f"DEDUP_URI=http://user:{SECRET}@127.0.0.1:1"], EXIT_FAILED,
         ["bad DEDUP_URI", "redis://"], absent=[SECRET]),
    # the run starts: the archive refuses it in one CRITICAL line (crawler/extensions.py RunNotStarted)
    Case("archive_locked", ["orda"], EXIT_REFUSED, ["another run of orda is in progress", "exits without crawling"], started=True),
    Case("archive_unreachable", ["orda", "-s", f"ARCHIVE_URI={ROOT / 'README.md'}"], EXIT_FAILED,
         ["is unreachable", "nothing was crawled"], started=True),
    # the archive opened, the dedup index's Redis is down: the run is published as failed, one line
    Case("dedup_redis_unreachable", ["orda", "-s", "DEDUP_URI=redis://127.0.0.1:1/0"], EXIT_FAILED,
         ["failed: dedup index Redis redis://127.0.0.1:1/0 is unreachable", "nothing was crawled", "(exit 1"], started=True),
    Case("frontier_redis_unreachable", ["orda", "-s", "SCHEDULER_URI=redis://127.0.0.1:1/0"], EXIT_FAILED,
         ["frontier Redis redis://127.0.0.1:1/0 is unreachable", "nothing was crawled"], started=True),
]


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str
    seconds: float


def scrapy_crawl(argv: list[str], cwd: Path = ROOT, timeout: float = 60) -> Ran:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", *argv], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "SCHEDULER_URI": "", "DEDUP_URI": "", "ARCHIVE_URI": ""})
    return Ran(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def lock_held_elsewhere(archive: Path, outlet: str) -> None:
    """The run lock of ``outlet`` held by a live run on another host (pipelines/runlock.py's format)."""
    (archive / "locks").mkdir(parents=True)
    now = time.time()
    body = {"run_id": "other-run", "host": "another-host.invalid", "pid": 1, "acquired_at": now, "expires_at": now + 3600}
    (archive / "locks" / f"{outlet}.json").write_text(json.dumps(body))


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Ran], MirrorServer]]:
    """Every case of :data:`CASES`, run at once against one fixture mirror that must see no request."""
    tmp = tmp_path_factory.mktemp("cli")
    server = serve("orda")
    try:
        def run(case: Case) -> Ran:
            archive = tmp / case.id / "archive"
            if case.id == "archive_locked":
                lock_held_elsewhere(archive, "orda")
            argv = [*case.argv]
            if case.argv and not case.argv[0].startswith("-"):
                argv += ["-s", f"ARCHIVE_SPOOL_DIR={tmp / case.id / 'spool'}", "-s", "EXTRACT_WORKERS=1"]
                if not any(a.startswith("ARCHIVE_URI=") for a in argv):
                    argv += ["-s", f"ARCHIVE_URI={archive}"]
                if case.mirror:
                    argv += ["-a", f"base_url={server.base_url}"]
            return scrapy_crawl(argv)

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = dict(zip([c.id for c in CASES], pool.map(run, CASES)))
        yield results, server
    finally:
        server.stop()


def error_lines(stderr: str) -> list[str]:
    """The log lines at ERROR or CRITICAL of a started run."""
    return [line for line in stderr.splitlines() if re.search(r"\] (ERROR|CRITICAL): ", line)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_invocation_is_one_line_with_its_exit_code_and_no_traceback(case: Case, matrix: tuple[dict[str, Ran], MirrorServer]) -> None:
    results, server = matrix
    ran = results[case.id]
    assert ran.code == case.code, ran.stderr[-3000:]
    assert "Traceback" not in ran.stderr + ran.stdout
    if case.started:
        lines = error_lines(ran.stderr)
        assert len(lines) == 1, lines
        line = lines[0]
    else:
        assert ran.stdout == ""
        lines = ran.stderr.splitlines()
        assert len(lines) == 1, ran.stderr
        line = lines[0]
        assert line.startswith("scrapy crawl") and line.endswith(REFUSED_TAIL), line
    for text in case.says:
        assert text in line, line
    for text in case.absent:
        assert text not in ran.stderr + ran.stdout
    assert sum(server.hits.values()) == 0, f"fetched before refusing: {dict(server.hits)}"


def test_debug_log_level_adds_the_traceback_above_the_line() -> None:
    ran = scrapy_crawl(["orda", "-L", "DEBUG", "-a", "since=2023-13-45"])
    assert ran.code == EXIT_FAILED
    assert "Traceback (most recent call last)" in ran.stderr
    last = ran.stderr.strip().splitlines()[-1]
    assert last.startswith("scrapy crawl orda: since must be a real date") and last.endswith(REFUSED_TAIL)
    ran = scrapy_crawl(["orda", "-s", "LOG_LEVEL=DEBUG", "-s", "ARCHIVE_URI=ftp://x"])
    assert ran.code == EXIT_FAILED and "Traceback" in ran.stderr and "unsupported archive URI scheme" in ran.stderr.splitlines()[-1]


def test_bucket_missing_is_one_line(tmp_path: Path, s3_endpoint: str) -> None:
    """A missing bucket is checked before anything is fetched: one CRITICAL line naming it, exit 1."""
    server = serve("orda")
    try:
        ran = scrapy_crawl(["orda", "-a", f"base_url={server.base_url}", "-s", "ARCHIVE_URI=s3://no-such-bucket-cli/x",
                            "-s", f"ARCHIVE_SPOOL_DIR={tmp_path / 'spool'}"])
        assert ran.code == EXIT_FAILED, ran.stderr[-3000:]
        assert "Traceback" not in ran.stderr
        lines = error_lines(ran.stderr)
        assert len(lines) == 1 and "no-such-bucket-cli" in lines[0], lines
        assert sum(server.hits.values()) == 0
    finally:
        server.stop()


# ---------------------------------------------------------------------------------- --help


def test_help_lists_spiders_editions_arguments_and_exit_codes() -> None:
    ran = scrapy_crawl(["orda", "--help"])
    assert ran.code == 0, ran.stderr
    out = ran.stdout
    for outlet in all_outlets().values():
        line = next((l for l in out.splitlines() if l.strip().startswith(outlet.name + " ")), "")
        assert outlet.title in line, out
        for edition in outlet.editions:
            assert re.search(rf"\b{edition}\b", line.partition("editions:")[2]), line
        assert f"{outlet.default_edition} (default)" in line
    for arg in SPIDER_ARGUMENTS:
        assert re.search(rf"^  {arg.name}={re.escape(arg.metavar)} +\S", out, re.M), arg.name
        assert " ".join(arg.meaning.split()[:4]) in " ".join(out.split())
    # the exit codes as a list, one code per line (not one paragraph)
    for code, word in ((0, "complete"), (1, "failed"), (2, "incomplete"), (75, "refused")):
        assert re.search(rf"^  {code} +{word}:", out, re.M), out
    assert "exit 1 (could not start)" in " ".join(out.split())


def test_help_text_is_built_from_the_argument_table_and_the_registry() -> None:
    text = help_text(width=80)
    assert all(len(line) <= 80 for line in text.split("Exit codes:")[0].splitlines())
    listed = re.findall(r"^  ([a-z_]+)=", text, re.M)
    assert listed == [a.name for a in SPIDER_ARGUMENTS]
    assert re.findall(r"^  ([a-z_]+) +\S.*; editions: ", text, re.M) == list(all_outlets())


# ---------------------------------------------------------------------------------- the argument table, in process


def construct(outlet: str, **args: Any) -> OutletSpider:
    """The spider as ``scrapy crawl`` creates it: ``Spider.from_crawler`` with the ``-a`` arguments."""
    cls = spider_class(outlet)
    crawler = get_crawler(cls, {"ARCHIVE_ENABLED": False, "SCHEDULER_URI": ""})
    spider = cls.from_crawler(crawler, **args)
    assert isinstance(spider, OutletSpider)
    return spider


def test_the_table_is_what_the_constructor_reads() -> None:
    names = [a.name for a in SPIDER_ARGUMENTS]
    assert len(set(names)) == len(names) and ", ".join(names) == ARG_NAMES
    assert all(a.meaning and a.metavar and not a.name.startswith("_") for a in SPIDER_ARGUMENTS)
    spider = construct("pravda", max_articles="3", since="2024-02-29", base_url="http://127.0.0.1:8080", edition="uk", recrawl="yes")
    assert (spider.max_articles, str(spider.since), spider._mirror, spider.edition_name, spider.recrawl) == (
        3, "2024-02-29", ("http", "127.0.0.1:8080"), "uk", True)
    default = construct("pravda")
    assert (default.max_articles, default.since, default._mirror, default.edition_name, default.recrawl) == (None, None, None, "en", False)


@pytest.mark.parametrize(("given", "says"), [
    ({"max_article": "2"}, "unknown spider argument max_article (did you mean max_articles?); the arguments are " + ARG_NAMES),
    ({"bogus": "1"}, "unknown spider argument bogus; the arguments are " + ARG_NAMES),
    ({"name": "x", "start_urls": "y"}, "unknown spider arguments name, start_urls"),
    ({"since": "2023-13-45"}, "since must be a real date"),
])
def test_unknown_or_bad_arguments_are_refused_by_the_constructor(given: dict[str, str], says: str) -> None:
    with pytest.raises(SpiderArgumentError) as err:
        construct("orda", **given)
    assert says in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, ValueError)


def test_a_schedulers_private_argument_is_left_to_scrapy() -> None:
    """scrapyd passes ``-a _job=ID``: accepted, an attribute of the spider as Scrapy makes it."""
    spider = construct("orda", _job="abc123")
    assert spider._job == "abc123"  # type: ignore[attr-defined]


@pytest.mark.parametrize("outlet", list(all_outlets()))
def test_every_edition_of_the_registry_is_accepted_and_no_other(outlet: str) -> None:
    editions = all_outlets()[outlet].editions
    for edition in editions:
        assert construct(outlet, edition=edition).edition_name == edition
    for other in {"en", "uk", "ru", "fr"} - set(editions):
        with pytest.raises(SpiderArgumentError, match=rf"^edition must be one of {', '.join(sorted(editions))} for {outlet}"):
            construct(outlet, edition=other)


@pytest.mark.parametrize(("given", "says"), [
    ({"ARCHIVE_UPLOAD_DEADLINE": "abc"}, "bad -s ARCHIVE_UPLOAD_DEADLINE=abc: a number is expected (default 300.0)"),
    ({"EXTRACT_WORKERS": "many"}, "bad -s EXTRACT_WORKERS=many: a number is expected"),
    ({"DOWNLOAD_DELAY": "slow"}, "bad -s DOWNLOAD_DELAY=slow: a number is expected"),
    ({"ROBOTSTXT_OBEY": "maybe"}, "bad -s ROBOTSTXT_OBEY=maybe: a switch is expected"),
    ({"ARCHIVE_URI": "ftp://x"}, "bad ARCHIVE_URI 'ftp://x' (-s ARCHIVE_URI): unsupported archive URI scheme"),
    ({"ARCHIVE_URI": "s3://"}, "bad ARCHIVE_URI 's3://' (-s ARCHIVE_URI): S3 URI without bucket"),
    ({"SCHEDULER_URI": "localhost:6379"}, "bad SCHEDULER_URI"),
    ({"BROWSER_TLS_OUTLETS": "prvda"}, "bad BROWSER_TLS_OUTLETS names no outlet: prvda (outlets: brecorder,"),
    ({"BROWSER_TLS_OUTLETS": "pravda", "BROWSER_TLS_PROFILE": "netscape"}, "bad BROWSER_TLS_PROFILE 'netscape': curl_cffi"),
])
def test_settings_our_components_parse_are_checked_before_the_start(given: dict[str, str], says: str) -> None:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(given, priority="cmdline")
    with pytest.raises(CrawlRefused) as err:
        check_settings(settings, list(given))
    assert str(err.value).startswith(says) and "\n" not in str(err.value)


def test_good_settings_pass_the_check(tmp_path: Path) -> None:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    given = {"ARCHIVE_URI": str(tmp_path), "ARCHIVE_LOCK_WAIT": "0.5", "ARCHIVE_LOCK_ENABLED": "false", "DOWNLOAD_DELAY": "0",
             "DEDUP_URI": "redis://127.0.0.1:6379/0", "LOG_LEVEL": "DEBUG", "FRONTIER_JOB": "x",
             "BROWSER_TLS_OUTLETS": "pravda, brecorder", "BROWSER_TLS_PROFILE": "firefox"}
    settings.setdict(given, priority="cmdline")
    check_settings(settings, list(given))
    assert not (tmp_path / "locks").exists(), "the check writes nothing"
