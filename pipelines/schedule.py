"""The scheduler service: starts ``scrapy crawl <outlet>`` at the cron times of ``deploy/schedule.toml``.

Each crawl is a subprocess; its exit code (see ``pipelines/crawljob.py``) is logged with its
meaning. A job whose previous run is still going when its next tick comes is not started again
here; across machines the archive's run lock does the same (exit 75).
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from croniter import croniter

from pipelines import layout
from pipelines.crawljob import EXIT_FAILED, EXIT_REFUSED, crawl_command, meaning
from pipelines.redisconn import UNREACHABLE, connect, shown

logger = logging.getLogger("schedule")


@dataclass
class Job:
    outlet: str
    cron: str
    args: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return crawl_command(self.outlet, self.args, self.settings)

    def next_after(self, when: datetime) -> datetime:
        return croniter(self.cron, when).get_next(datetime)


def load_jobs(path: Path) -> list[Job]:
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    jobs = []
    for outlet, spec in sorted(config.get("outlets", {}).items()):
        if not croniter.is_valid(spec["cron"]):
            raise ValueError(f"{path}: outlet {outlet}: bad cron expression {spec['cron']!r}")
        jobs.append(Job(outlet, spec["cron"], {k: str(v) for k, v in spec.get("args", {}).items()}, {k: str(v) for k, v in spec.get("settings", {}).items()}))
    return jobs


def _finished(job: Job) -> int | None:
    if job.process is None or job.process.poll() is None:
        return None
    code = job.process.returncode
    logger.log(logging.INFO if code == 0 else logging.WARNING, "crawl %s exited %d: %s", job.outlet, code, meaning(code))
    job.process = None
    return code


def run_once(jobs: list[Job], cwd: Path) -> int:
    """Start every job now, wait for all; the exit code is the worst one (for tests and manual runs)."""
    for job in jobs:
        logger.info("starting crawl %s", job.outlet)
        job.process = subprocess.Popen(job.command(), cwd=cwd)
    codes = []
    for job in jobs:
        assert job.process is not None
        job.process.wait()
        codes.append(_finished(job) or 0)
    return max(codes, default=0, key=lambda c: (c not in (0, EXIT_REFUSED), c))


def serve(jobs: list[Job], cwd: Path) -> None:
    """Run forever: start each job at its cron times."""
    now = datetime.now(UTC)
    due = {job.outlet: job.next_after(now) for job in jobs}
    for job in jobs:
        logger.info("%s: cron %r, next run %s", job.outlet, job.cron, due[job.outlet].isoformat())
    while True:
        now = datetime.now(UTC)
        for job in jobs:
            _finished(job)
            if now >= due[job.outlet]:
                if job.process is not None:
                    logger.warning("crawl %s still running at its next tick; not started again", job.outlet)
                else:
                    logger.info("starting crawl %s", job.outlet)
                    job.process = subprocess.Popen(job.command(), cwd=cwd)
                due[job.outlet] = job.next_after(now)
        time.sleep(max(1.0, min(30.0, (min(due.values()) - datetime.now(UTC)).total_seconds())))


def active_jobs(redis_url: str, outlet: str) -> list[str]:
    """Frontier jobs of ``outlet`` that have requests waiting (keys: pipelines/layout.py)."""
    r = connect(redis_url)
    try:
        jobs = []
        for key in r.scan_iter(layout.FRONTIER_REQUESTS_PATTERN.format(outlet=outlet), count=1000):
            if r.zcard(key):
                jobs.append(layout.frontier_job_of(key.decode()))
        return sorted(jobs)
    finally:
        r.close()


def frontier_env(redis_url: str, job: str) -> dict[str, str]:
    """The environment of a crawl that joins frontier job ``job``: the Redis URL (it may hold a
    password) goes through the environment, never the command line, which every local user sees
    (crawler/settings.py reads both variables)."""
    return {**os.environ, "SCHEDULER_URI": redis_url, "FRONTIER_JOB": job}


def work(outlets: list[str], redis_url: str, cwd: Path, extra: list[str], once: bool = False, poll: float = 30.0) -> int:
    """A scalable worker: joins any crawl job of ``outlets`` that has requests waiting in the frontier."""
    worst = 0
    while True:
        joined = False
        for outlet in outlets:
            try:
                jobs = active_jobs(redis_url, outlet)
            except UNREACHABLE as exc:
                logger.warning("frontier Redis %s unreachable (%s); trying again later", shown(redis_url), exc)
                if once:
                    worst = max(worst, EXIT_FAILED)
                continue
            for job in jobs:
                logger.info("joining crawl %s, frontier job %s", outlet, job)
                code = subprocess.run(crawl_command(outlet, extra=extra), cwd=cwd, env=frontier_env(redis_url, job)).returncode
                logger.log(logging.INFO if code == 0 else logging.WARNING, "crawl %s (job %s) exited %d: %s", outlet, job, code, meaning(code))
                worst = max(worst, code)
                joined = True
        if once:
            return worst
        if not joined:
            time.sleep(poll)
