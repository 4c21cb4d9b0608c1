"""Scrapy settings of the news archive crawler, grouped by component prefix.

Politeness is on by default (robots.txt, AutoThrottle, 2 requests per domain, an honest
User-Agent with a contact); the tests and the offline demo relax only the delays.
"""

import os

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"  # "crawl" with exit codes for schedulers

# --- politeness -------------------------------------------------------------------------------
#: who to contact about this crawler; override with the CRAWL_CONTACT environment variable
CRAWL_CONTACT = os.environ.get("CRAWL_CONTACT", "mailto:news-archive-ops@example.org")
USER_AGENT = f"newsarchive/0.1 (news archive crawler; +{CRAWL_CONTACT})"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60
#: responses are cut (and archived as truncated) at this size, see WarcCaptureMiddleware
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
#: Scrapy's defaults plus Accept-Encoding: only the codings whose WARC records every reader can
#: decode and verify (Scrapy would also advertise br and zstd; warcio 1.8.1 crashes on a br record
#: with the brotli module Scrapy requires, and reads zstd payloads undecoded). A server that sends
#: br or zstd anyway is still decoded, size-limited and archived verifiably (see pipelines/warc.py).
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en",
    "Accept-Encoding": "gzip, deflate",
}
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

# --- retries: 429 and 5xx, backing off, honouring Retry-After ---------------------------------
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
RETRY_BACKOFF_BASE = 2.0
RETRY_BACKOFF_MAX = 120.0

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.StripCredentialsMiddleware": 50,
    # robots.txt (ROBOTSTXT_OBEY) resolved per host before any of its requests goes out; 5xx or
    # unreachable: the host is disallowed for the run (RFC 9309), see crawler/robots.py
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.robots.RobotsPolicyMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    # blocks (401/403/429, bot challenges) judged as each answer arrives, the slot backed off; a
    # challenge page is not retried (BLOCKED_* below)
    "crawler.middlewares.BlockDetectionMiddleware": 560,
    "crawler.middlewares.WarcCaptureMiddleware": 900,
}

ITEM_PIPELINES = {
    "crawler.pipelines.ExtractPipeline": 300,
    "crawler.pipelines.CleanPipeline": 400,
    "crawler.pipelines.DedupPipeline": 500,
    "crawler.pipelines.ArchivePipeline": 900,
}

# --- archive (crawler.extensions.ArchiveExtension) ----------------------------------------------
ARCHIVE_ENABLED = True
#: a path, file://... or s3://bucket/prefix (AWS_* environment, AWS_ENDPOINT_URL for MinIO)
ARCHIVE_URI = os.environ.get("ARCHIVE_URI") or "./archive"
#: local staging folder; files stay here until the store has them
ARCHIVE_SPOOL_DIR = os.environ.get("ARCHIVE_SPOOL_DIR") or ".spool"
#: the run stops cleanly (outcome "failed", exit 1) when the spool's disk has less free space than
#: this before a write; what it wrote is kept and published, the next run fetches the rest
ARCHIVE_SPOOL_MIN_FREE = 64 * 1024 * 1024
ARCHIVE_WARC_PREFIX = "{outlet}"
ARCHIVE_WARC_MAX_BYTES = 1_000_000_000
ARCHIVE_WARC_HOST = None  # default: this machine's host name
ARCHIVE_RUN_ID = None  # default: start time plus a random suffix
ARCHIVE_FIXED_TIME = None  # ISO time: fixed WARC dates and sequential record ids (tests)
#: uploads retry (backoff from ARCHIVE_UPLOAD_BACKOFF seconds, doubling up to 30 s) until the store
#: has failed or stalled for this many seconds in all; then the run's uploads stop, its files wait in
#: the spool for the next run and the run ends incomplete (exit 2)
ARCHIVE_UPLOAD_DEADLINE = 300.0
ARCHIVE_UPLOAD_BACKOFF = 1.0
#: an upload with no progress for this many seconds is reported as stalled (a paused server raises nothing)
ARCHIVE_UPLOAD_STALL_WARNING = 10.0
ARCHIVE_UPLOAD_THREADS = 4  # parallel uploads, during the run and at its end
ARCHIVE_MULTIPART_THRESHOLD = 64 * 1024 * 1024
#: one run per outlet and archive: the lock expires this many seconds after its last refresh
ARCHIVE_LOCK_TTL = 3600
#: how long a run waits for an overlapping run of the same outlet before it exits (0: exit at once)
ARCHIVE_LOCK_WAIT = 0
#: one run per outlet and archive (crawler.frontier turns it off for the workers of a shared frontier)
ARCHIVE_LOCK_ENABLED = True
#: redis://...: the "already archived" state also in this Redis, seen by every worker at once
#: (crawler.frontier sets it to SCHEDULER_URI)
ARCHIVE_STATE_URI = ""
ARCHIVE_STATE_KEY_PREFIX = "archived"  # the Redis set is {prefix}:{archive id}:{outlet} (id: digest of ARCHIVE_URI)
#: a URL that failed for good (404, 410, 451, a redirect loop) in this many runs is not fetched
#: again (0: always retried); transient failures (5xx, timeouts) never count
ARCHIVE_MAX_ATTEMPTS = 3

# --- syndicated-copy detection -----------------------------------------------------------------
DEDUP_ENABLED = True
#: empty: embedded index kept with the archive; redis://host:6379/0: shared by concurrent crawlers
DEDUP_URI = os.environ.get("DEDUP_URI", "")
DEDUP_NAMESPACE = "dedup"  # Redis key prefix; crawlers that share it share the index

# --- extraction -------------------------------------------------------------------------------
EXTRACT_WORKERS = 0  # 0: one process per core
#: seconds a page may take once a worker starts it: an alarm in the worker, then (1 s later) the
#: worker is killed, even inside one C call, and replaced; the page becomes an error row (0: no limit)
EXTRACT_TIMEOUT = 60.0

# --- shared frontier (scale-out) -----------------------------------------------------------------
#: redis://host:6379/0: several crawler processes split one crawl through scrapy-redis (with a
#: password: set the environment variable, not -s, since every local user sees process arguments)
SCHEDULER_URI = os.environ.get("SCHEDULER_URI", "")
FRONTIER_JOB = os.environ.get("FRONTIER_JOB", "")  # workers of one crawl share it (default: the UTC hour)
FRONTIER_HEARTBEAT = 5.0  # seconds; a worker silent for 3 beats is dead and its requests go back
#: seconds a worker waits for an unreachable frontier Redis (it fetches nothing new meanwhile); then
#: it closes with finish reason "frontier_lost" (outcome incomplete, exit 2)
FRONTIER_REDIS_TIMEOUT = 300.0
ADDONS = {"crawler.frontier.SharedFrontier": 0}

# --- operator view ----------------------------------------------------------------------------
#: Progress replaces Scrapy's LogStats (one progress line; LOGSTATS_INTERVAL is not used) and runs
#: before ArchiveExtension, so the summary's scrapy_stats has LogStats' per-minute rates; StatsDefaults
#: puts the always-present stats (crawler.extensions.ALWAYS_PRESENT_STATS) at 0 when the spider opens
EXTENSIONS = {
    "crawler.extensions.RedactCredentials": 0,
    "scrapy.extensions.logstats.LogStats": None,
    "crawler.extensions.StatsDefaults": 10,
    "crawler.extensions.Progress": 50,
    "crawler.extensions.ArchiveExtension": 100,
}
PROGRESS_INTERVAL = 30.0  # seconds between progress lines; 0 turns them off

# --- feed exports (-O/-o): the item's fields (crawler/items.py Article), never the raw body --------
#: Scrapy's CSV and XML exporters, with removed_lines (a mapping of rule names) as JSON in CSV and as
#: <value key="..."> elements in XML; JSON and JSON Lines are Scrapy's own
FEED_EXPORTERS = {"csv": "crawler.items.CsvArticleExporter", "xml": "crawler.items.XmlArticleExporter"}

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

# --- date-bounded discovery and translations (pipelines/window.py, crawler/spiders/outlet.py) ------
#: a scheduled run's discovery window starts at the start of the last complete run of the outlet's
#: edition (same kind: live or mirror) minus this overlap, so a story listed late is still found
DISCOVERY_OVERLAP_HOURS = 24
#: on a first run (no complete run of the edition in the last 62 day partitions) the window starts
#: this many days back; -a since= and -a backfill=1 override the window
DISCOVERY_LOOKBACK_DAYS = 3
#: a translation edition's article that answered 404/410 (status missing) is checked again by later
#: runs only while its publication day is at most this many days back; then it counts as archived
TRANSLATION_RECHECK_DAYS = 7

# --- browser-TLS fetching (crawler.browsertls), opt-in per outlet --------------------------------
#: outlets (comma list of spider names, e.g. "pravda,brecorder") fetched with a browser's TLS and
#: HTTP/2 fingerprint through curl_cffi, for sites that refuse plain scripted clients (Cloudflare);
#: empty: every outlet uses Scrapy's own HTTP/1.1 client. The request then no longer identifies the
#: crawler the same way at the TLS layer (docs/operations.md): the operator decides per outlet's terms
BROWSER_TLS_OUTLETS = ""
#: the curl_cffi impersonation target: "chrome" (its newest Chrome), "firefox", "safari", or a
#: version such as "chrome146"
BROWSER_TLS_PROFILE = "chrome"
#: also send the profile's own browser headers that a request lacks (sec-ch-ua, Sec-Fetch-*, a
#: browser User-Agent only if USER_AGENT is emptied); off: Scrapy's headers only
BROWSER_TLS_BROWSER_HEADERS = False
#: http and https: the listed outlets through curl_cffi, every other spider through Scrapy's
#: HTTP11DownloadHandler
DOWNLOAD_HANDLERS = {
    "http": "crawler.browsertls.BrowserTLSDownloadHandler",
    "https": "crawler.browsertls.BrowserTLSDownloadHandler",
}

# --- blocked-site detection and feed full text (pipelines/blocking.py, crawler.middlewares) ---------
#: BlockDetectionMiddleware (DOWNLOADER_MIDDLEWARES) judges every answer (pipelines.blocking.detect_block:
#: HTTP 401/403/429, Cloudflare's cf-mitigated: challenge, "Just a moment..." challenge pages); this
#: spider middleware hands a 2xx challenge page to the request's errback like an HTTP error
SPIDER_MIDDLEWARES = {"crawler.middlewares.BlockedResponseMiddleware": 55}
#: a run is blocked (outcome failed, exit 3) when it got at least this many answers (every HTTP
#: answer, retries and robots.txt included) ...
BLOCKED_MIN_REQUESTS = 5
#: ... and at least this share of them were blocks, and no article was written from a feed's full text
BLOCKED_SHARE = 0.5
#: on a block the download slot's delay (DOWNLOAD_DELAY, AutoThrottle's) grows: doubled, at least
#: BLOCKED_BACKOFF_START seconds, at least a Retry-After (429/503), at most BLOCKED_BACKOFF_MAX;
#: the next request to the host also waits for the Retry-After
BLOCKED_BACKOFF_START = 5.0
BLOCKED_BACKOFF_MAX = 120.0
#: an article whose page cannot be fetched (blocked, or 5xx after retries) is written from its feed
#: item's full text (content:encoded, Atom content, yandex:full-text, fulltext, a full HTML
#: description) when it has at least FEED_TEXT_MIN_CHARS characters of text; text_source "feed"
FEED_TEXT_ENABLED = True
FEED_TEXT_MIN_CHARS = 500
#: feed texts kept per worker (the newest; not in the shared frontier's requests)
FEED_TEXT_MAX_ITEMS = 2000
