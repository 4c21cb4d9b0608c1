"""A redis-server of a test's own on a free loopback port, stopped and restarted by its pid.

Fault tests stop Redis under running crawlers; the session's Redis on 6379 is shared by every test
and is never touched. ``appendonly=True``: the server keeps its data in an AOF in ``dir`` (a stop
with SIGTERM writes it out, a start on the same port and folder loads it); ``appendonly=False``:
it keeps nothing, a restart starts empty.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.conftest import free_port


@dataclass
class RedisProc:
    dir: Path
    appendonly: bool
    password: str | None = None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=5)

    def start(self, timeout: float = 20.0) -> "RedisProc":
        assert self.proc is None, "already running"
        self.dir.mkdir(parents=True, exist_ok=True)
        # a config file, not arguments: a password on the command line would be in /proc/*/cmdline
        conf = self.dir / "redis.conf"
        conf.write_text("".join(f"{line}\n" for line in [
            f"port {self.port}", "bind 127.0.0.1", "protected-mode yes", f'dir "{self.dir}"', 'save ""',
            f"appendonly {'yes' if self.appendonly else 'no'}", "daemonize no", f'logfile "{self.dir / f"redis-{self.starts}.log"}"',
            *([f"requirepass {self.password}"] if self.password else []),
        ]))
        self.proc = subprocess.Popen(["redis-server", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.starts += 1
        deadline = time.monotonic() + timeout
        client = self.client()
        try:
            while True:
                assert self.proc.poll() is None, f"redis-server exited {self.proc.returncode}: {self.log()[-2000:]}"
                try:
                    if client.ping():
                        return self
                except (redis.ConnectionError, redis.TimeoutError):  # BusyLoadingError too (AOF being read)
                    pass
                assert time.monotonic() < deadline, f"redis-server on port {self.port} did not answer: {self.log()[-2000:]}"
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM (an AOF server writes its file out first), then wait; SIGKILL if it does not exit."""
        assert self.proc is not None, "not running"
        proc, self.proc = self.proc, None
        os.kill(proc.pid, signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            return proc.wait(timeout=timeout)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.dir.glob("redis-*.log")))

    def __enter__(self) -> "RedisProc":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.stop()
