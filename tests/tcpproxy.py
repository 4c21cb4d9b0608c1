"""A small threaded TCP proxy on loopback, for fault tests: the test decides what the upstream does.

Put it in front of a server (moto's S3 server in the tests) and give the client its address. The
test switches it at any time between:

* ``forward()``: bytes pass both ways (the normal case; also how an outage ends);
* ``refuse()``: every connection, open or new, is reset at once (a server that is down);
* ``pause()``: connections are accepted but nothing is passed on, either way, until the next
  ``forward()`` (a hung server: the client gets no error, only silence). Bytes held back then flow.

``accepted`` counts the connections clients opened (a client's retries show up here).
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from typing import Any

FORWARD, REFUSE, PAUSE = "forward", "refuse", "pause"


class TcpProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.mode = FORWARD
        self.accepted = 0
        self._cond = threading.Condition()
        self._closed = False
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.address: tuple[str, int] = self._listener.getsockname()[:2]

    @classmethod
    def to_url(cls, url: str) -> "TcpProxy":
        """A proxy in front of ``http://host:port``."""
        host, _, port = url.split("://", 1)[-1].rstrip("/").rpartition(":")
        return cls((host, int(port)))

    @property
    def url(self) -> str:
        return f"http://{self.address[0]}:{self.address[1]}"

    def start(self) -> "TcpProxy":
        threading.Thread(target=self._accept_loop, name="tcpproxy-accept", daemon=True).start()
        return self

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ control

    def forward(self) -> None:
        self._set(FORWARD)

    def refuse(self) -> None:
        """Open connections are reset within a tenth of a second, new ones at once."""
        self._set(REFUSE)

    def pause(self) -> None:
        self._set(PAUSE)

    def stop(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._listener.close()

    def _set(self, mode: str) -> None:
        with self._cond:
            self.mode = mode
            self._cond.notify_all()

    # ------------------------------------------------------------------ plumbing

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # stopped
            with self._cond:
                self.accepted += 1
                refused = self.mode == REFUSE or self._closed
            if refused:
                _reset(client)
                continue
            threading.Thread(target=self._serve, args=(client,), name="tcpproxy-conn", daemon=True).start()

    def _wait_while_paused(self) -> bool:
        """False when the connection must end (refused or stopped)."""
        with self._cond:
            while self.mode == PAUSE and not self._closed:
                self._cond.wait(0.1)
            return self.mode == FORWARD and not self._closed

    def _serve(self, client: socket.socket) -> None:
        """One connection; only this thread closes its sockets, once both directions have ended."""
        upstream = None
        try:
            if not self._wait_while_paused():  # paused: accepted, upstream not even asked yet
                return
            upstream = socket.create_connection(self.upstream, timeout=10)
            upstream.settimeout(None)
            back = threading.Thread(target=self._pump, args=(upstream, client), name="tcpproxy-pump", daemon=True)
            back.start()
            self._pump(client, upstream)
            back.join()
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    if self.mode == REFUSE or self._closed:
                        _reset(sock)
                    else:
                        sock.close()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while self._wait_while_paused():
                ready, _, _ = select.select([src], [], [], 0.1)
                if not ready:
                    continue
                data = src.recv(65536)
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                if not self._wait_while_paused():  # paused with bytes in hand: they wait here
                    return
                dst.sendall(data)
        except (OSError, ValueError):
            for sock in (src, dst):  # the other direction ends too (shutdown is safe across threads)
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0): the peer sees "connection reset", not a clean end."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
