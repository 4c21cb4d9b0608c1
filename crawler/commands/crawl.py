"""``scrapy crawl`` whose exit code says how the run ended, for schedulers (codes: pipelines/crawljob.py)."""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from crawler.extensions import ArchiveExtension
from pipelines.crawljob import EXIT_CODES_DOC, exit_code


class Command(ScrapyCrawl):
    def long_desc(self) -> str:
        return "Run a spider; the exit code says how the run ended:\n\n" + EXIT_CODES_DOC

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give one spider name")
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        try:
            ext = crawler.get_extension(ArchiveExtension)
        except RuntimeError:  # the spider could not be created: no extensions
            ext = None
        self.exitcode = exit_code(ext.outcome if ext else None, started=not self.crawler_process.bootstrap_failed)
