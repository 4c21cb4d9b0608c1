"""Where things live: every archive key and every Redis key name, in one place.

The archive layout is the contract of docs/corpus-format.md; the Redis names are shared by the
crawl processes (scrapy-redis frontier, archived-URL state) and the scheduler's workers.
"""

from __future__ import annotations

from datetime import datetime

# --------------------------------------------------------------------------- archive keys

MARKER = "_SUCCESS"
MANIFEST = "manifest.jsonl"
SUMMARY = "summary.json"
DEDUP_PREFIX = "dedup/index/"


def run_prefix(outlet: str, run_id: str, started: datetime) -> str:
    """A run's folder: ``runs/{YYYY-MM-DD}/{outlet}/{run_id}`` (UTC day the run started)."""
    return f"runs/{started:%Y-%m-%d}/{outlet}/{run_id}"


def run_id_of(prefix: str) -> str:
    return prefix.rsplit("/", 1)[-1]


def outlet_of(prefix: str) -> str:
    return prefix.split("/")[2]


def text_key(prefix: str, seq: int, docid: str) -> str:
    return f"{prefix}/text/{seq:03d}_{docid}.txt"


def warc_key(prefix: str, filename: str) -> str:
    return f"{prefix}/warc/{filename}"


ARCHIVED_DIR, ATTEMPTS_DIR = "archived/", "attempts/"
STATE_ROOT = "state/"
#: a mirror run's (``-a base_url=``) state files and dedup delta are kept in this sub-folder of the
#: live runs' folders: a live run never loads them, a mirror run loads only them
MIRROR_DIR = "mirror/"


def state_prefix(outlet: str) -> str:
    return f"{STATE_ROOT}{outlet}/"


def _mirror(mirror: bool) -> str:
    return MIRROR_DIR if mirror else ""


def state_key(outlet: str, run_id: str, mirror: bool = False) -> str:
    """Where a run's archived URLs are listed (the incremental state);
    a mirror run's under ``state/{outlet}/archived/mirror/``."""
    return f"{state_prefix(outlet)}{ARCHIVED_DIR}{_mirror(mirror)}{run_id}.txt"


def attempts_key(outlet: str, run_id: str, mirror: bool = False) -> str:
    """Where a run lists the URLs it tried and failed for good (counted toward ARCHIVE_MAX_ATTEMPTS);
    a mirror run's under ``state/{outlet}/attempts/mirror/``."""
    return f"{state_prefix(outlet)}{ATTEMPTS_DIR}{_mirror(mirror)}{run_id}.txt"


def parse_state_key(key: str) -> tuple[str, str, bool, str] | None:
    """``(outlet, ARCHIVED_DIR or ATTEMPTS_DIR, mirror, run_id)`` of a state file's key, or None."""
    parts = key.split("/")
    if len(parts) not in (4, 5) or parts[0] + "/" != STATE_ROOT or not parts[-1].endswith(".txt"):
        return None
    kind = parts[2] + "/"
    if kind not in (ARCHIVED_DIR, ATTEMPTS_DIR) or (len(parts) == 5 and parts[3] + "/" != MIRROR_DIR):
        return None
    return parts[1], kind, len(parts) == 5, parts[-1].removesuffix(".txt")


def dedup_prefix(mirror: bool = False) -> str:
    """The folder of the live runs' (or the mirror runs') additions to the embedded dedup index."""
    return f"{DEDUP_PREFIX}{_mirror(mirror)}"


def dedup_key(run_id: str, mirror: bool = False) -> str:
    """Where a run's additions to the embedded dedup index are kept (a mirror run's under ``dedup/index/mirror/``)."""
    return f"{dedup_prefix(mirror)}{run_id}.npz"


def lock_key(outlet: str) -> str:
    return f"locks/{outlet}.json"


# --------------------------------------------------------------------------- Redis keys


def frontier_base(outlet: str, job: str) -> str:
    """Prefix of one crawl job's scrapy-redis keys (``{base}:requests``, ``{base}:dupefilter``)."""
    return f"frontier:{outlet}:{job}"


def frontier_requests_key(outlet: str, job: str) -> str:
    return f"{frontier_base(outlet, job)}:requests"


def frontier_dupefilter_key(outlet: str, job: str) -> str:
    return f"{frontier_base(outlet, job)}:dupefilter"


FRONTIER_REQUESTS_PATTERN = "frontier:{outlet}:*:requests"


def frontier_job_of(requests_key: str) -> str:
    """The job name in a ``frontier:{outlet}:{job}:requests`` key."""
    return requests_key.split(":")[2]


def inflight_key(queue_key: str, worker: str) -> str:
    return f"{queue_key}:inflight:{worker}"


def alive_key(queue_key: str, worker: str) -> str:
    return f"{queue_key}:alive:{worker}"


def workers_key(queue_key: str) -> str:
    return f"{queue_key}:workers"


def frontier_epoch_key(outlet: str, job: str) -> str:
    """The job's epoch: a random token set once by its first worker. Missing or changed means Redis
    lost the job (restarted without persistence, flushed): the workers republish and re-seed it."""
    return f"{frontier_base(outlet, job)}:epoch"


def frontier_sources_key(outlet: str, job: str) -> str:
    """How many sources (feeds, sitemaps, sections) the job's workers read together (a counter)."""
    return f"{frontier_base(outlet, job)}:sources_read"


def archived_set_key(key_prefix: str, archive: str, outlet: str) -> str:
    """The Redis set of an outlet's archived URLs in one archive (frontier mode),
    ``{prefix}:{archive id}:{outlet}``: archives sharing a Redis never see each other's URLs."""
    return f"{key_prefix}:{archive}:{outlet}"
