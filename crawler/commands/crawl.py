"""``scrapy crawl`` whose exit code says how the run ended, for schedulers.

0  the run finished and is published (completion marker written)
1  the run could not start (archive unreachable, bad arguments, spider error at start)
2  the run ended but is not complete: uploads failed (files wait in the spool for the next run),
   it was stopped before it finished (finish reason other than "finished"), or not one of the
   outlet's sources (feeds, sitemaps, sections) could be read
75 refused: another run of the outlet holds the archive's lock (EX_TEMPFAIL: try later)
"""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from pipelines.archive import run_outcome

EXIT_OK, EXIT_FAILED, EXIT_INCOMPLETE, EXIT_REFUSED = 0, 1, 2, 75


class Command(ScrapyCrawl):
    def long_desc(self) -> str:
        return (__doc__ or "").strip()

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give one spider name")
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        outcome = run_outcome(crawler)
        if outcome == "refused":
            self.exitcode = EXIT_REFUSED
        elif self.crawler_process.bootstrap_failed or outcome is None:
            self.exitcode = EXIT_FAILED
        elif outcome != "complete":
            self.exitcode = EXIT_INCOMPLETE
        else:
            self.exitcode = EXIT_OK
