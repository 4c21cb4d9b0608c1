"""Is a process alive? One answer for the run lock and the spool's live-run markers."""

from __future__ import annotations

import os
import socket

HOST = socket.gethostname()


def this_process() -> tuple[str, int]:
    return HOST, os.getpid()


def is_alive(host: str | None, pid: object) -> bool:
    """True unless ``pid`` on this host is known to be gone (another host's process is assumed alive)."""
    if host != HOST or not isinstance(pid, int):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True
