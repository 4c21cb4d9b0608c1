"""``scrapy crawl`` whose exit code says how the run ended, for schedulers (codes: pipelines/crawljob.py).

Expected failures before the start (no spider name, an unknown spider, an unknown or bad ``-a``, a bad
``-s`` value our settings parse, a bad ``ARCHIVE_URI``) are checked in ``process_options``, before
Scrapy builds its crawler process or logs anything: one line on stderr and exit 1 ("could not start"),
never Scrapy's usual 2 for a usage error, which means "incomplete" here. A traceback comes with that
line only under ``LOG_LEVEL=DEBUG`` (``-L DEBUG``); anything failing later is a bug and keeps its own.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import textwrap
import traceback
from typing import Any, NoReturn

from scrapy.commands import ScrapyHelpFormatter
from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.settings import BaseSettings, default_settings, get_settings_priority
from scrapy.spiderloader import get_spider_loader
from scrapy.utils.conf import arglist_to_dict

import crawler.settings as project_settings
from crawler.browsertls import browser_tls_problem
from crawler.extensions import ArchiveExtension
from crawler.spiders.outlet import SPIDER_ARGUMENTS, OutletSpider, SpiderArgumentError
from pipelines.crawljob import EXIT_CODES_DOC, EXIT_FAILED, exit_code
from pipelines.outlets import all_outlets
from pipelines.redisconn import connect, shown
from pipelines.storage import open_store
from pipelines.urls import redact

#: settings holding a Redis URL (checked when set: a bad scheme would fail deep inside the start)
REDIS_URI_SETTINGS = ("DEDUP_URI", "SCHEDULER_URI", "ARCHIVE_STATE_URI")


class CrawlRefused(Exception):
    """An expected failure before the start: ``str()`` is the one line that names it and what to do."""


class _HelpFormatter(ScrapyHelpFormatter):
    """Scrapy's help layout, but the description keeps its lines (lists of arguments, editions, exit codes)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "".join(indent + line for line in text.splitlines(keepends=True))


def _wrap(term: str, text: str, column: int, width: int) -> str:
    """``term`` then ``text`` wrapped in a column (a definition list line of the help)."""
    first = f"  {term}".ljust(column - 1) + " "
    if len(first) > column:
        first = f"  {term}\n" + " " * column
    return textwrap.fill(text, width=width, initial_indent=first, subsequent_indent=" " * column)


def help_text(width: int | None = None) -> str:
    """The crawl command's description: spiders with their editions, the ``-a`` table, the exit codes."""
    width = width or max(60, min(100, shutil.get_terminal_size((100, 24)).columns - 2))
    outlets = all_outlets()
    spiders = []
    for outlet in outlets.values():
        editions = ", ".join(f"{name} (default)" if name == outlet.default_edition else name for name in outlet.editions)
        spiders.append(_wrap(outlet.name, f"{outlet.title} ({outlet.country}); editions: {editions}", 14, width))
    column = 2 + max(len(f"{a.name}={a.metavar}") for a in SPIDER_ARGUMENTS) + 2
    arguments = [_wrap(f"{a.name}={a.metavar}", a.meaning, column, width) for a in SPIDER_ARGUMENTS]
    codes = textwrap.indent(EXIT_CODES_DOC, "  ")
    return "\n".join([
        textwrap.fill("Run one outlet's spider into the archive (ARCHIVE_URI); the exit code says how the run ended.", width=width),
        "",
        "Spiders (scrapy list) and their editions (-a edition=NAME):",
        *spiders,
        "",
        textwrap.fill("Spider arguments (-a NAME=VALUE; any other name refuses the run before anything is fetched):", width=width),
        *arguments,
        "",
        "Exit codes:",
        codes,
        "",
        textwrap.fill(
            "A mistake on the command line (no or an unknown spider, an unknown or bad -a, a bad -s value, "
            "a bad ARCHIVE_URI) is one line on stderr and exit 1 (could not start), not Scrapy's usual 2, "
            "which means incomplete here; -L DEBUG adds its traceback.", width=width),
    ])


def _debug(settings: BaseSettings) -> bool:
    level = settings.get("LOG_LEVEL")
    return str(level).upper() == "DEBUG" or level == logging.DEBUG


def _setting_source(settings: BaseSettings, name: str) -> str:
    """Where ``name`` was set, for the operator to fix it: ``-s NAME`` or the environment/project default."""
    if (settings.getpriority(name) or 0) >= get_settings_priority("cmdline"):
        return f"-s {name}"
    return f"{name} from the environment or crawler/settings.py"


def check_settings(settings: BaseSettings, given: list[str]) -> None:
    """The settings our components parse, checked before the start: ``given`` (the ``-s`` names) whose
    default is a number or a switch, ``ARCHIVE_URI`` and the Redis URLs; raises :class:`CrawlRefused`."""
    for name in given:
        default = getattr(project_settings, name, getattr(default_settings, name, None))
        value = settings.get(name)
        if isinstance(default, bool):
            try:
                settings.getbool(name)
            except ValueError:
                raise CrawlRefused(f"bad -s {name}={value}: a switch is expected (1/0 or true/false; default {default})") from None
        elif isinstance(default, (int, float)):
            try:
                settings.getfloat(name)
            except (TypeError, ValueError):
                raise CrawlRefused(f"bad -s {name}={value}: a number is expected (default {default})") from None
    tls = browser_tls_problem([n.strip() for n in settings.getlist("BROWSER_TLS_OUTLETS") if n.strip()],
                              str(settings.get("BROWSER_TLS_PROFILE")), all_outlets())
    if tls:
        raise CrawlRefused(f"bad {tls}")
    uri = settings.get("ARCHIVE_URI")
    try:
        open_store(str(uri))  # the store the run will open (nothing is read or written here)
    except ValueError as exc:
        remedy = "" if "; use " in str(exc) else "; use a path, file:///path or s3://bucket/prefix"
        raise CrawlRefused(f"bad ARCHIVE_URI {uri!r} ({_setting_source(settings, 'ARCHIVE_URI')}): {exc}{remedy}") from exc
    for name in REDIS_URI_SETTINGS:
        uri = settings.get(name)
        if not uri:
            continue
        try:
            connect(str(uri)).close()  # parses the URL; connects only when used
        except ValueError as exc:
            raise CrawlRefused(f"bad {name} {shown(str(uri))!r} ({_setting_source(settings, name)}): {exc}") from exc


class Command(ScrapyCrawl):
    def syntax(self) -> str:
        return "[options] <spider> [-a NAME=VALUE ...]"

    def short_desc(self) -> str:
        return "Run one outlet's spider; the exit code says how the run ended"

    def long_desc(self) -> str:
        return help_text()

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.formatter_class = _HelpFormatter
        parser.add_argument("-a", dest="spargs", action="append", default=[], metavar="NAME=VALUE",  # replaces Scrapy's
                            help=f"a spider argument (may be repeated): {', '.join(a.name for a in SPIDER_ARGUMENTS)}; see above")
        # argparse's own usage errors (``-a`` without a value, a bad ``-a``/``-s`` pair, which Scrapy
        # reports through parser.error too) exit 2, which means "incomplete" here: one line and 1 instead
        parser.error = self._usage_error  # type: ignore[method-assign]

    def _usage_error(self, message: str) -> NoReturn:
        self._refuse(CrawlRefused(f"{message}; see scrapy crawl --help"), debug=False)

    def _refuse(self, exc: CrawlRefused, debug: bool, spider: str | None = None) -> NoReturn:
        """One line on stderr naming the problem and what to do (its traceback too under DEBUG); exit 1."""
        if debug:
            traceback.print_exception(exc.__cause__ or exc, file=sys.stderr)
        where = f"scrapy crawl {spider}" if spider else "scrapy crawl"
        sys.stderr.write(redact(f"{where}: {exc} (exit {EXIT_FAILED}: could not start, nothing was crawled)").replace("\n", " ") + "\n")
        sys.stderr.flush()
        raise SystemExit(EXIT_FAILED)

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        debug = _debug(self.settings)
        spider = args[0] if args and not args[0].startswith("-") else None
        try:
            self._check(args, opts)
        except CrawlRefused as exc:
            self._refuse(exc, debug, spider)

    def _check(self, args: list[str], opts: argparse.Namespace) -> None:
        """Everything that can be known wrong before the start, in the order an operator fixes it."""
        assert self.settings is not None
        options = [a for a in args if a.startswith("-")]
        if options:
            raise CrawlRefused(f"unknown option {options[0]}; see scrapy crawl --help")
        loader = get_spider_loader(self.settings)
        names = sorted(loader.list())
        if not args:
            raise CrawlRefused(f"give one spider name: {', '.join(names)}")
        if len(args) > 1:
            raise CrawlRefused(f"one spider per run, got {' '.join(args)}; spider arguments go as -a NAME=VALUE")
        if args[0] not in names:
            raise CrawlRefused(f"unknown spider {args[0]!r}; the spiders are {', '.join(names)}")
        spidercls: Any = loader.load(args[0])
        if isinstance(spidercls, type) and issubclass(spidercls, OutletSpider):
            try:
                spidercls.read_arguments(opts.spargs)
            except SpiderArgumentError as exc:
                raise CrawlRefused(f"{exc}; see scrapy crawl --help") from exc
        given = list(arglist_to_dict(opts.set)) if opts.set else []
        check_settings(self.settings, given)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.crawler_process and len(args) == 1  # process_options refused anything else
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        try:
            ext = crawler.get_extension(ArchiveExtension)
        except RuntimeError:  # the spider could not be created: no extensions
            ext = None
        self.exitcode = exit_code(ext.outcome if ext else None, started=not self.crawler_process.bootstrap_failed,
                                  reason=ext.outcome_reason if ext else None)

