"""A process pool with hard per-task deadlines: a task past its deadline has its worker killed.

``concurrent.futures.ProcessPoolExecutor`` cannot stop one task: a worker stuck inside one C call
(an lxml XPath on a pathological page holds the GIL for minutes; no signal handler runs until it
returns) can only be waited for, and killing it breaks the whole executor and every task in it.
Here each slot is one ``multiprocessing`` process (spawn) with a pipe of its own:

- the deadline of a task counts from the moment its worker starts it (time spent queued does not
  count), and is enforced by the parent: past it the worker gets SIGKILL, the task fails with
  :class:`TaskTimeout` and a new worker takes the slot;
- a worker that dies (killed, segfault, out of memory) fails only the task it was running
  (:class:`WorkerDied`); tasks queued behind it are handed to a worker again, never lost or failed;
- a new worker takes tasks once its ``initializer`` has run, so imports never eat into a deadline;
- workers die with the pool's process: on Linux ``PR_SET_PDEATHSIG`` (SIGKILL) even when stuck in
  C, elsewhere when their task pipe closes; :meth:`WorkerPool.close` ends them in any case.

One manager thread does all the bookkeeping (dispatch, results, deadlines, replacements) with
non-blocking writes, so a worker that does not read its pipe cannot stall the others. It also
starts every worker: the parent-death signal follows the thread that started a process, and this
thread lives exactly as long as the pool. Callers get ``concurrent.futures.Future`` objects
(``asyncio.wrap_future`` for a coroutine).
"""

from __future__ import annotations

import collections
import ctypes
import itertools
import logging
import os
import selectors
import signal
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from typing import Any

logger = logging.getLogger(__name__)

_HEADER = struct.Struct("!Q")  # task frames: 8-byte length, then the pickle
_READY = "ready"
#: a worker that dies before it is ready this many times in a row breaks the pool (a broken
#: install would otherwise be restarted forever)
MAX_START_FAILURES = 3


class WorkerError(Exception):
    """A task could not run to its end in a worker."""


class TaskTimeout(WorkerError):
    """The task ran past its deadline; its worker was killed (and replaced)."""


class WorkerDied(WorkerError):
    """The worker running the task exited (killed, crashed) before it answered."""


class PoolClosed(WorkerError):
    """The pool was closed (or broken) before the task ran."""


class RemoteTraceback(Exception):
    """The worker-side traceback, attached as ``__cause__`` of an exception raised by a task."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(eq=False)
class _Task:
    id: int
    future: Future[Any]
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    deadline: float | None  # seconds from the start of the task in its worker
    started: float | None = None  # time.monotonic() when the worker started it


@dataclass(eq=False)
class _Slot:
    index: int
    process: BaseProcess
    pid: int
    tasks: Connection  # parent's (write) end; written without blocking
    results: Connection  # parent's (read) end
    ready: bool = False
    out: bytearray = field(default_factory=bytearray)
    inflight: collections.deque[_Task] = field(default_factory=collections.deque)  # in order; [0] runs


class WorkerPool:
    """``size`` worker processes; :meth:`submit` returns a future, settled within the deadline.

    ``prefetch``: tasks written to a worker's pipe at once. Above 1 the next task is there when the
    worker finishes one, but it waits for the one before it, up to that one's deadline (then it goes
    to a worker again, never lost); 1, the default, measured as fast for extraction
    (``bench/crawl_bench.py``), leaves nothing waiting behind a stuck task.
    """

    def __init__(
        self,
        size: int,
        initializer: Callable[[], Any] | None = None,
        prefetch: int = 1,
        start_method: str = "spawn",
        name: str = "workers",
    ) -> None:
        if size < 1 or prefetch < 1:
            raise ValueError("size and prefetch must be at least 1")
        self.size = size
        self.prefetch = prefetch
        self.name = name
        self._initializer = initializer
        self._context = get_context(start_method)
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._pending: collections.deque[_Task] = collections.deque()
        self._closing = False
        self._broken: str | None = None
        self._slots: list[_Slot | None] = [None] * size
        self._start_failures = 0
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        self._wake_closed = False
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name}-manager", daemon=True)
        self._thread.start()
        self._started.wait()

    # ------------------------------------------------------------------ caller side

    def submit(self, fn: Callable[..., Any], *args: Any, deadline: float | None = None) -> Future[Any]:
        """Run ``fn(*args)`` in a worker (both must pickle); ``deadline``: seconds the task may run
        once started (None or 0: no limit) before its worker is killed and the future fails with
        :class:`TaskTimeout`."""
        future: Future[Any] = Future()
        with self._lock:
            if self._closing or self._broken:
                raise PoolClosed(self._broken or "the pool is closed")
            self._pending.append(_Task(next(self._ids), future, fn, args, deadline or None))
        self._wake()
        return future

    def pids(self) -> list[int]:
        """Process ids of the current workers (started or starting)."""
        return [s.pid for s in list(self._slots) if s is not None]

    def close(self, timeout: float | None = None) -> None:
        """Fail the tasks not yet started (:class:`PoolClosed`), let the running ones end (each
        within its deadline), then end the workers; returns when they are gone (or after
        ``timeout`` seconds, the workers then being killed)."""
        with self._lock:
            self._closing = True
        self._wake()
        self._thread.join(timeout)
        if self._thread.is_alive():  # the running tasks took too long: end them now
            with self._lock:
                self._broken = self._broken or "the pool was closed"
            self._wake()
            self._thread.join()
        with self._lock:
            if not self._wake_closed:
                self._wake_closed = True
                os.close(self._wake_r)
                os.close(self._wake_w)

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _wake(self) -> None:
        with self._lock:
            if self._wake_closed:
                return
            try:
                os.write(self._wake_w, b"x")
            except BlockingIOError:
                pass  # already awake (the pipe is full)

    # ------------------------------------------------------------------ manager thread

    def _run(self) -> None:
        try:
            for index in range(self.size):
                self._spawn(index)
            self._started.set()
            self._loop()
        except BaseException as exc:  # a bug here must not leave callers waiting forever
            logger.exception("%s: worker pool manager failed", self.name)
            self._broken = f"worker pool manager failed: {exc!r}"
        finally:
            self._started.set()
            self._shutdown()

    def _loop(self) -> None:
        while True:
            with self._lock:
                closing, broken = self._closing, self._broken
                if closing or broken:
                    dropped = list(self._pending)
                    self._pending.clear()
                else:
                    dropped = []
            for task in dropped:
                if _start(task):
                    task.future.set_exception(PoolClosed(broken or "the pool was closed before the task ran"))
            if broken or (closing and not any(s is not None and s.inflight for s in self._slots)):
                return
            self._dispatch()
            for key, _ in self._selector.select(self._next_timeout()):
                if key.data is None:
                    self._drain_wake()
                else:
                    slot, what = key.data
                    if self._slots[slot.index] is not slot:
                        continue  # replaced earlier in this round
                    if what == "results":
                        self._read(slot)
                    else:
                        self._flush(slot)
            self._expire()

    def _next_timeout(self) -> float | None:
        ends = [s.inflight[0].started + s.inflight[0].deadline
                for s in self._slots if s is not None and s.inflight
                and s.inflight[0].deadline is not None and s.inflight[0].started is not None]
        return max(0.0, min(ends) - time.monotonic()) if ends else None

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    def _spawn(self, index: int) -> None:
        task_r, task_w = self._context.Pipe(duplex=False)
        result_r, result_w = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_worker_main,
            args=(task_r, result_w, os.getpid(), self._initializer),
            name=f"{self.name}-{index}",
            daemon=True,
        )
        process.start()
        task_r.close()
        result_w.close()
        os.set_blocking(task_w.fileno(), False)
        slot = _Slot(index, process, process.pid or 0, task_w, result_r)
        self._slots[index] = slot
        self._selector.register(result_r.fileno(), selectors.EVENT_READ, (slot, "results"))

    def _dispatch(self) -> None:
        while True:
            ready = [s for s in self._slots if s is not None and s.ready and len(s.inflight) < self.prefetch]
            if not ready:
                return
            with self._lock:
                if not self._pending:
                    return
                task = self._pending.popleft()
            if not _start(task):
                continue  # cancelled while queued
            try:
                data = bytes(ForkingPickler.dumps((task.id, task.fn, task.args)))
            except Exception as exc:
                task.future.set_exception(exc)
                continue
            slot = min(ready, key=lambda s: len(s.inflight))
            slot.out += _HEADER.pack(len(data)) + data
            slot.inflight.append(task)
            if len(slot.inflight) == 1:
                task.started = time.monotonic()
            self._flush(slot)

    def _flush(self, slot: _Slot) -> None:
        try:
            while slot.out:
                written = os.write(slot.tasks.fileno(), slot.out)
                del slot.out[:written]
        except BlockingIOError:
            pass
        except OSError:  # the worker is gone: its results pipe says so too, handled there
            slot.out.clear()
        events = selectors.EVENT_WRITE if slot.out else 0
        key = self._selector.get_map().get(slot.tasks.fileno())
        if events and key is None:
            self._selector.register(slot.tasks.fileno(), events, (slot, "tasks"))
        elif not events and key is not None:
            self._selector.unregister(slot.tasks.fileno())

    def _read(self, slot: _Slot) -> None:
        try:
            while slot.results.poll():
                data = slot.results.recv_bytes()
                try:
                    message = ForkingPickler.loads(data)
                except Exception as exc:  # e.g. an exception class whose constructor does not take its args
                    message = (None, False, WorkerError(f"the worker's answer does not unpickle: {type(exc).__name__}: {exc}"), None)
                self._answer(slot, message)
        except (EOFError, OSError):
            self._replace(slot, died=True)

    def _answer(self, slot: _Slot, message: Any) -> None:
        if message == _READY:
            slot.ready = True
            self._start_failures = 0
            return
        task_id, ok, value, remote_tb = message
        task = slot.inflight.popleft()
        if task_id is not None and task_id != task.id:  # cannot happen: a worker answers in order
            raise RuntimeError(f"worker answered task {task_id}, expected {task.id}")
        if ok:
            task.future.set_result(value)
        else:
            if remote_tb and isinstance(value, BaseException):
                value.__cause__ = RemoteTraceback(remote_tb)
            task.future.set_exception(value)
        if slot.inflight:
            slot.inflight[0].started = time.monotonic()

    def _expire(self) -> None:
        now = time.monotonic()
        for slot in list(self._slots):
            if slot is None or not slot.inflight:
                continue
            head = slot.inflight[0]
            if head.deadline is not None and head.started is not None and now >= head.started + head.deadline:
                self._replace(slot, died=False)

    def _replace(self, slot: _Slot, died: bool) -> None:
        """End the slot's worker (SIGKILL unless it died), settle the task it ran, requeue the
        ones behind it and start a new worker in the slot."""
        process = slot.process
        if process.is_alive():
            process.kill()
        process.join()
        pid, code = slot.pid, process.exitcode
        process.close()
        self._forget(slot)
        head = slot.inflight.popleft() if slot.inflight else None
        requeue = list(slot.inflight)  # written to the pipe, never started: they go to a worker again
        for task in requeue:
            task.started = None
        with self._lock:
            self._pending.extendleft(reversed(requeue))
        self._slots[slot.index] = None
        try:
            if died and not slot.ready:
                self._start_failures += 1
                logger.error("%s: worker %s exited with code %s before it was ready", self.name, pid, code)
                if self._start_failures >= MAX_START_FAILURES:
                    with self._lock:
                        self._broken = f"workers keep exiting before they are ready (exit code {code})"
                    return  # the loop fails what is queued, _shutdown what is in flight
            elif died:
                logger.warning("%s: worker %s exited with code %s; replaced", self.name, pid, code)
            else:
                logger.warning("%s: worker %s killed at the deadline of its task; replaced", self.name, pid)
            if not self._closing:
                self._spawn(slot.index)  # before the caller hears of it: the pool is whole again
        finally:
            if head is not None and died:
                head.future.set_exception(WorkerDied(f"worker {pid} exited with code {code}"))
            elif head is not None:
                head.future.set_exception(TaskTimeout(f"the task ran longer than its {head.deadline:g}s deadline; worker {pid} killed"))

    def _forget(self, slot: _Slot) -> None:
        for conn in (slot.results, slot.tasks):
            if conn.fileno() in self._selector.get_map():
                self._selector.unregister(conn.fileno())
            conn.close()

    def _shutdown(self) -> None:
        """End every worker: close its task pipe (it exits when idle), then SIGKILL what is left."""
        with self._lock:
            self._broken = self._broken or "the pool was closed"  # submit refuses from now on
            dropped = list(self._pending)
            self._pending.clear()
        for task in dropped:  # left by a manager that failed
            if _start(task):
                task.future.set_exception(PoolClosed(self._broken))
        slots = [s for s in self._slots if s is not None]
        for slot in slots:
            if slot.inflight:  # closed before its task ended (close's timeout, a broken pool)
                slot.process.kill()
            for task in slot.inflight:
                if not task.future.done():
                    task.future.set_exception(PoolClosed(self._broken or "the pool was closed"))
            slot.inflight.clear()
            if slot.tasks.fileno() in self._selector.get_map():
                self._selector.unregister(slot.tasks.fileno())
            slot.tasks.close()
        end = time.monotonic() + 5
        for slot in slots:
            slot.process.join(max(0.0, end - time.monotonic()))
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            if slot.results.fileno() in self._selector.get_map():
                self._selector.unregister(slot.results.fileno())
            slot.results.close()
            slot.process.close()
        self._slots = [None] * self.size
        self._selector.close()


def _start(task: _Task) -> bool:
    """Mark the task's future running (once: a requeued task already is); False if it was cancelled."""
    return task.future.running() or task.future.set_running_or_notify_cancel()


# ---------------------------------------------------------------------- worker process


def die_with_parent(parent_pid: int) -> None:
    """On Linux, have the kernel SIGKILL this process when the thread that started it ends (the
    pool's manager thread, which lives as long as its process), even mid C call; exit now if that
    already happened."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:
        os._exit(1)


def _worker_main(tasks: Connection, results: Connection, parent_pid: int, initializer: Callable[[], Any] | None) -> None:
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle (it ends us)
    if initializer is not None:
        initializer()
    reader = os.fdopen(os.dup(tasks.fileno()), "rb")
    tasks.close()
    results.send(_READY)
    while True:
        header = reader.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return  # the pool closed the pipe (or its process is gone)
        (length,) = _HEADER.unpack(header)
        data = reader.read(length)
        if len(data) < length:
            return
        task_id = None
        try:
            task_id, fn, args = ForkingPickler.loads(data)
            answer = (task_id, True, fn(*args), None)
        except BaseException as exc:
            answer = (task_id, False, exc, "".join(traceback.format_exception(exc)))
        try:
            try:
                results.send(answer)
            except (BrokenPipeError, ConnectionResetError):
                raise
            except Exception as exc:  # the result or the exception does not pickle
                results.send((task_id, False, WorkerError(f"{type(exc).__name__}: {exc} (sending {answer[2]!r:.200})"), None))
        except (BrokenPipeError, ConnectionResetError):
            return  # the pool is gone
