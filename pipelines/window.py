"""The discovery window of a run: from which day on its sources' entries are worth requesting.

A scheduled run needs only what appeared since the last run, yet an outlet's sitemap index may
list every month since 2000 (Ukrainska Pravda's ``/sitemap/sitemap-archive.xml``: 309 monthly
``sitemap-YYYY-MM.xml.gz`` children, no ``<lastmod>``). The window bounds discovery: an index child
whose dates (its ``<lastmod>``, else the date in its URL) end before the window's start is not
requested, nor a listed article whose feed or sitemap date is older. Its start is, first found:
``-a since=``; none with ``-a backfill=1``; the start of the last complete run of the same outlet,
edition and kind (live or mirror) minus an overlap; on a first run, a few days back.

Finding the last complete run lists the archive one day partition at a time, newest first
(``runs/{YYYY-MM-DD}/{outlet}/``, :mod:`pipelines.layout`), never the whole archive.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pipelines.crawljob import COMPLETE
from pipelines.layout import MARKER, run_prefix
from pipelines.reader import read_summary
from pipelines.storage import Store

#: day partitions a run looks back through for the last complete run (one listing each)
LOOKBACK_PARTITIONS = 62

_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
#: a date in a URL path: year, separator, month, and optionally the same separator and a day
#: (``sitemap-2025-12.xml.gz``, ``/2025/12/``, ``-2025-12-03``, ``/2025/12/1/``); not part of a longer number
_URL_DATE = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})([-/_])([0-9]{1,2})(?:\2([0-9]{1,2}))?(?![0-9])")


def parse_day(value: str | None) -> date | None:
    """The calendar day of an ISO 8601 or RFC 822 date (a feed's, a sitemap's), or None."""
    if not value:
        return None
    value = value.strip()
    m = _ISO_DAY.search(value)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError, IndexError):
        return None


def url_dates(url: str) -> tuple[date, date] | None:
    """The days a URL's path names, first and last: a month (``sitemap-2025-12.xml.gz``, ``/2025/12/``)
    or a day (``-2025-12-03``, ``/2025/12/1/``); None when its path has no such date."""
    for m in _URL_DATE.finditer(urlsplit(url).path):
        year, month = int(m[1]), int(m[3])
        if not 1 <= month <= 12:
            continue
        if m[4] is None:
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        try:
            day = date(year, month, int(m[4]))
        except ValueError:
            continue
        return day, day
    return None


def url_day(url: str) -> date | None:
    """The day an article URL names (``/eng/news/2025/12/1/7xxxxxx/``), or None (a month is not a day)."""
    found = url_dates(url)
    return found[0] if found and found[0] == found[1] else None


@dataclass(frozen=True)
class DiscoveryWindow:
    """Entries dated before ``since`` are out of the run; ``since`` None: everything is in."""

    since: date | None
    #: why the window starts there: ``since argument``, ``backfill``, ``last complete run <id>``,
    #: ``DISCOVERY_LOOKBACK_DAYS=<n>``
    basis: str

    def summary(self) -> dict[str, Any]:
        """What the run's ``summary.json`` records as ``discovery_window``."""
        return {"since": self.since.isoformat() if self.since else None, "basis": self.basis}

    def before(self, day: date | None) -> bool:
        """A dated entry older than the window (an undated one is never before it)."""
        return self.since is not None and day is not None and day < self.since

    def child_outside(self, loc: str, lastmod: str | None) -> bool:
        """A sitemap-index child whose dates end before the window: its ``<lastmod>`` (the newest
        change it holds), else the last day of the date in its URL. A child without a date is in."""
        if self.since is None:
            return False
        last = parse_day(lastmod)
        if last is None:
            found = url_dates(loc)
            last = found[1] if found else None
        return self.before(last)


def last_complete_run(store: Store, outlet: str, edition: str, mirror: bool, today: date,
                      partitions: int = LOOKBACK_PARTITIONS) -> tuple[str, datetime] | None:
    """The run id and start time of the newest complete run of ``outlet``'s ``edition`` of this kind
    (a mirror run's or a live run's), looking back from ``today`` one day partition (one listing) at
    a time, at most ``partitions`` days; None when there is none."""
    for back in range(partitions + 1):
        day = today - timedelta(days=back)
        folder = run_prefix(outlet, "", datetime(day.year, day.month, day.day, tzinfo=UTC))  # runs/{day}/{outlet}/
        best: tuple[str, datetime] | None = None
        for key in store.list_keys(folder):
            if not key.endswith("/" + MARKER):
                continue
            prefix = key.rsplit("/", 1)[0]
            try:
                summary = read_summary(store, prefix)
                started = datetime.fromisoformat(str(summary.get("started_at")).replace("Z", "+00:00"))
            except (ValueError, TypeError):
                continue  # a summary cut short: not a run to count on
            if summary.get("outcome") != COMPLETE or summary.get("edition") != edition or bool(summary.get("mirror")) != mirror:
                continue
            if _stopped_short(summary):
                continue
            if started.tzinfo is None:
                started = started.replace(tzinfo=UTC)
            if best is None or started > best[1]:
                best = (str(summary.get("run_id") or prefix.rsplit("/", 1)[-1]), started)
        if best is not None:
            return best
    return None


#: stats of a run that did not read all it listed (``-a max_articles=N`` reached): it covers no window
_SHORT_STATS = ("articles/over_max_articles", "discovery/sitemaps_over_max_articles")


def _stopped_short(summary: dict[str, object]) -> bool:
    """A complete run that stopped at ``max_articles`` left listed articles unread: the next window must
    not start from it."""
    stats = summary.get("scrapy_stats")
    return isinstance(stats, dict) and any(int(stats.get(key) or 0) > 0 for key in _SHORT_STATS)


def discovery_window(*, since: date | None, backfill: bool, last_run: tuple[str, datetime] | None, now: datetime,
                     overlap_hours: float, lookback_days: int) -> DiscoveryWindow:
    """The run's window: ``since`` given; else none with ``backfill``; else from the last complete
    run's start minus ``overlap_hours``; else ``lookback_days`` before ``now`` (a first run)."""
    if since is not None:
        return DiscoveryWindow(since, "since argument")
    if backfill:
        return DiscoveryWindow(None, "backfill")
    if last_run is not None:
        run_id, started = last_run
        return DiscoveryWindow((started - timedelta(hours=max(0.0, overlap_hours))).date(), f"last complete run {run_id}")
    return DiscoveryWindow((now - timedelta(days=max(0, lookback_days))).date(), f"DISCOVERY_LOOKBACK_DAYS={lookback_days}")
