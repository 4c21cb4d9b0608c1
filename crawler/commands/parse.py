"""``scrapy parse`` that shows what the spider makes of a page without writing a run into the archive."""

from __future__ import annotations

import argparse

from scrapy.commands.parse import Command as ScrapyParse
from scrapy.settings import get_settings_priority


class Command(ScrapyParse):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        # a look at one page is not a run: no WARC, no manifest, no run lock taken from a scheduled
        # crawl. Above the project's settings.py (a command's default_settings rank below it), below
        # an explicit -s ARCHIVE_ENABLED=1.
        self.settings.set("ARCHIVE_ENABLED", False, priority=get_settings_priority("project") + 1)
