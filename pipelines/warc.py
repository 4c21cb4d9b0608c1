"""Every warcio call of the project lives here: writing, reading back, and length checks.

Why one module: the WARC files are the archive of record; keeping the format decisions
(WARC/1.1, gzip per record, sha1 digests, how transfer-decoded bodies are stored) in one place
keeps them consistent and testable byte for byte.

Format decisions:
- A response record holds the status line, the HTTP headers and the body exactly as the server
  sent it *after transfer decoding* (Scrapy hands us de-chunked bytes) and *before content
  decoding* (gzip stays gzip, so ``Content-Encoding`` and the payload digest agree). When the
  server used ``Transfer-Encoding: chunked`` the header is kept as
  ``X-Archive-Orig-Transfer-Encoding`` and a ``Content-Length`` of the stored body is added, so
  readers do not try to de-chunk a body that is no longer chunked.
- A response cut off at the size limit carries ``WARC-Truncated: length``. A body that decodes to
  more than the limit (a decompression bomb) is stored as received, compressed, and complete
  unless the wire body itself was cut; readers here decode at most ``READ_MAX_PAYLOAD`` of it.
- ``Content-Encoding: br`` is kept as ``X-Archive-Orig-Content-Encoding: br`` (body still br as
  received): warcio 1.8.1 decodes br with brotlipy's API, and with the ``brotli`` module that
  Scrapy requires (same module name, other API) ``warcio check`` and every warcio reader crash on
  such a record. The crawl does not ask for br (``Accept-Encoding: gzip, deflate``); this is for
  servers that send it anyway. Other codings warcio does not know (zstd) it leaves undecoded.
- ``warcio`` does not notice a truncated gzip member or a short block, so :func:`scan_warc`
  checks every record's declared ``Content-Length`` against the bytes really present.
"""

from __future__ import annotations

import io
import os
import re
import socket
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

OPEN_SUFFIX = ".open"
WARC_SUFFIX = ".warc.gz"
HOP_BY_HOP_RENAMED = {"transfer-encoding": "X-Archive-Orig-Transfer-Encoding"}
#: Content-Encoding values warcio would try to decode and cannot (see the module docstring)
UNREADABLE_CONTENT_ENCODINGS = frozenset({"br"})
CONTENT_ENCODING_RENAMED = "X-Archive-Orig-Content-Encoding"
#: at most this many decoded payload bytes are read per record (a bomb's 1 GiB is not inflated)
READ_MAX_PAYLOAD = 64 * 1024 * 1024

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]


def utc_now() -> datetime:
    return datetime.now(UTC)


def random_record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def sequential_ids(namespace: str = "newsarchive-test") -> IdFactory:
    """Deterministic record ids (uuid5 of a counter), for byte-stable test output."""
    counter = iter(range(1, 1 << 62))
    ns = uuid.uuid5(uuid.NAMESPACE_URL, namespace)
    return lambda: f"<urn:uuid:{uuid.uuid5(ns, str(next(counter)))}>"


def fixed_clock(when: datetime) -> Clock:
    return lambda: when


@dataclass(frozen=True)
class RecordLocation:
    """Where a record sits: the published file name (without ``.open``), offset and length."""

    filename: str
    record_id: str
    offset: int
    length: int


@dataclass(frozen=True)
class HttpExchange:
    """One HTTP request/response pair as captured below content decoding."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    body: bytes
    ip_address: str | None = None
    truncated: str | None = None  # WARC-Truncated reason ("length", "time", ...)
    protocol: str = "HTTP/1.1"


class _Writer(WARCWriter):
    """warcio's writer with injectable clock and record ids (fixed ones make tests byte-stable)."""

    def __init__(self, fh: io.BufferedIOBase, clock: Clock, ids: IdFactory) -> None:
        super().__init__(fh, gzip=True, warc_version="1.1")
        self._clock = clock
        self._ids = ids

    def _make_warc_id(self) -> str:  # type: ignore[override]
        return self._ids()

    def curr_warc_date(self) -> str:
        return datetime_to_iso_date(self._clock().astimezone(UTC).replace(tzinfo=None), use_micros=True)


def _safe_host(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", name) or "host"


class RotatingWarcWriter:
    """Writes WARC files named ``{prefix}-{YYYYMMDDhhmmss}-{serial:05d}-{host}.warc.gz``.

    A file is written under a ``.open`` suffix and renamed when it is closed: at
    ``max_bytes`` or at the end of the run. ``on_closed`` receives the closed path (the
    archive publishes it). Not thread-safe: Scrapy calls it from the reactor thread.
    """

    def __init__(
        self,
        directory: Path,
        prefix: str,
        max_bytes: int,
        info: dict[str, str],
        host: str | None = None,
        clock: Clock = utc_now,
        ids: IdFactory = random_record_id,
        on_closed: Callable[[Path], None] | None = None,
        first_serial: int = 0,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.info = info
        self.host = _safe_host(host or socket.gethostname())
        self.clock = clock
        self.ids = ids
        self.on_closed = on_closed
        self.serial = first_serial
        self._fh: io.FileIO | None = None
        self._buf = io.BytesIO()  # the records of one write, before they go to the file whole
        self._size = 0  # bytes in the current file
        self._writer: _Writer | None = None
        self._name: str | None = None
        self.records_written = 0
        self.bytes_written = 0

    def _open(self) -> None:
        stamp = self.clock().astimezone(UTC).strftime("%Y%m%d%H%M%S")
        name = f"{self.prefix}-{stamp}-{self.serial:05d}-{self.host}{WARC_SUFFIX}"
        self.serial += 1
        path = self.directory / (name + OPEN_SUFFIX)
        # unbuffered: each exchange is one write, undone whole if the disk refuses it (see _append)
        self._fh = open(path, "wb", buffering=0)
        self._name, self._size = name, 0
        self._writer = _Writer(self._buf, self.clock, self.ids)
        info = dict(self.info)
        info.setdefault("format", "WARC File Format 1.1")
        info.setdefault("conformsTo", "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/")
        self._writer.write_record(self._writer.create_warcinfo_record(name, info))
        try:
            self._append(self._take())
        except OSError:
            self._fh.close()
            path.unlink(missing_ok=True)
            self._fh = self._writer = None
            self._name = None
            raise

    def _take(self) -> bytes:
        """The records written to the buffer since the last call."""
        data = self._buf.getvalue()
        self._buf.seek(0)
        self._buf.truncate()
        return data

    def _append(self, data: bytes) -> None:
        """Append whole records, or nothing: a failed write (ENOSPC) is cut back off the file, so
        the file always ends after a complete record and every earlier record stays valid."""
        assert self._fh is not None
        start = self._size
        try:
            view = memoryview(data)
            while view:
                view = view[self._fh.write(view) or 0:]
        except OSError:
            os.ftruncate(self._fh.fileno(), start)
            self._fh.seek(start)
            raise
        self._size = start + len(data)

    def write_exchange(self, ex: HttpExchange) -> RecordLocation:
        """Write the response and its request record; return where the response record sits."""
        if self._writer is None:
            self._open()
        assert self._writer is not None and self._fh is not None and self._name is not None
        self._take()  # nothing left over from a record that failed to build
        date = self._writer.curr_warc_date()
        resp_id = self.ids()
        warc_headers = {"WARC-Record-ID": resp_id, "WARC-Date": date}
        if ex.ip_address:
            warc_headers["WARC-IP-Address"] = ex.ip_address
        if ex.truncated:
            warc_headers["WARC-Truncated"] = ex.truncated
        headers = _archival_response_headers(ex.response_headers, len(ex.body))
        http_headers = StatusAndHeaders(f"{ex.status} {ex.reason}".strip(), headers, protocol=ex.protocol)
        response = self._writer.create_warc_record(
            ex.url,
            "response",
            payload=io.BytesIO(ex.body),
            length=len(ex.body),
            warc_headers_dict=warc_headers,
            http_headers=http_headers,
        )
        req_path = _request_target(ex.url)
        # warcio takes the verb off a request's status line: the line must carry the HTTP version itself
        req_http = StatusAndHeaders(f"{ex.method} {req_path} {ex.protocol}", ex.request_headers, is_http_request=True)
        request = self._writer.create_warc_record(
            ex.url,
            "request",
            payload=io.BytesIO(ex.request_body),
            length=len(ex.request_body),
            warc_headers_dict={"WARC-Record-ID": self.ids(), "WARC-Date": date, "WARC-Concurrent-To": resp_id},
            http_headers=req_http,
        )
        self._writer.write_record(response)
        length = self._buf.tell()
        self._writer.write_record(request)
        offset = self._size
        self._append(self._take())
        self.records_written += 2
        location = RecordLocation(self._name, resp_id, offset, length)
        if self._size >= self.max_bytes:
            self.close()
        return location

    def close(self) -> Path | None:
        """Close the current file (if any) and drop the ``.open`` suffix."""
        if self._fh is None or self._name is None:
            return None
        self.bytes_written += self._size
        os.fsync(self._fh.fileno())
        self._fh.close()
        final = self.directory / self._name
        os.replace(self.directory / (self._name + OPEN_SUFFIX), final)
        self._fh = self._writer = None
        self._name = None
        if self.on_closed is not None:
            self.on_closed(final)
        return final


def _request_target(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _archival_response_headers(headers: list[tuple[str, str]], body_len: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    renamed = False
    for name, value in headers:
        new = HOP_BY_HOP_RENAMED.get(name.lower())
        if name.lower() == "content-encoding" and value.strip().lower() in UNREADABLE_CONTENT_ENCODINGS:
            out.append((CONTENT_ENCODING_RENAMED, value))
        elif new:
            out.append((new, value))
            renamed = True
        else:
            out.append((name, value))
    if renamed and not any(n.lower() == "content-length" for n, _ in out):
        out.append(("Content-Length", str(body_len)))
    return out


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ScannedRecord:
    offset: int
    length: int  # compressed length of the gzip member
    rec_type: str
    target_uri: str
    record_id: str
    declared_length: int
    actual_length: int

    @property
    def complete(self) -> bool:
        return self.declared_length == self.actual_length


class WarcDamage(ValueError):
    pass


def iter_members(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Yield (offset, compressed length, decompressed bytes) of each gzip member.

    Raises :class:`WarcDamage` for a member that ends early (a truncated file).
    """
    pos = 0
    while pos < len(data):
        d = zlib.decompressobj(wbits=31)
        try:
            out = d.decompress(data[pos:])
        except zlib.error as exc:
            raise WarcDamage(f"bad gzip member at offset {pos}: {exc}") from exc
        if not d.eof:
            raise WarcDamage(f"gzip member at offset {pos} is truncated")
        used = len(data) - pos - len(d.unused_data)
        yield pos, used, out
        pos += used


def _parse_record_head(raw: bytes, offset: int) -> ScannedRecord:
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"WARC/"):
        raise WarcDamage(f"record at offset {offset} has no WARC header")
    fields: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("utf-8", "replace").partition(":")
        fields[name.strip().lower()] = value.strip()
    declared = int(fields.get("content-length", "-1"))
    # block plus the two CRLFs that end every record
    actual = len(rest) - 4 if rest.endswith(b"\r\n\r\n") else -1
    return ScannedRecord(
        offset=offset,
        length=0,
        rec_type=fields.get("warc-type", ""),
        target_uri=fields.get("warc-target-uri", ""),
        record_id=fields.get("warc-record-id", ""),
        declared_length=declared,
        actual_length=actual,
    )


def scan_warc(data: bytes) -> list[ScannedRecord]:
    """Every record of a gzip-per-record WARC, with its declared and real block lengths."""
    records = []
    for offset, length, raw in iter_members(data):
        rec = _parse_record_head(raw, offset)
        records.append(ScannedRecord(**{**rec.__dict__, "length": length}))
    return records


def check_warc(data: bytes) -> list[str]:
    """Problems found in a WARC file (empty list when sound): truncation and short blocks."""
    problems: list[str] = []
    try:
        records = scan_warc(data)
    except WarcDamage as exc:
        return [str(exc)]
    if not records or records[0].rec_type != "warcinfo":
        problems.append("file does not open with a warcinfo record")
    for rec in records:
        if not rec.complete:
            problems.append(
                f"record {rec.record_id} at {rec.offset}: Content-Length {rec.declared_length}, block has {rec.actual_length}"
            )
    return problems


def repair_open_warc(path: Path) -> Path | None:
    """Keep the complete records of a ``.open`` file left by a killed run; return the closed file.

    The tail after the last complete record is cut off; a file with no complete record
    besides warcinfo is removed (it archived nothing) and ``None`` is returned.
    """
    data = path.read_bytes()
    keep = 0
    useful = False
    try:
        for offset, length, raw in iter_members(data):
            rec = _parse_record_head(raw, offset)
            if not rec.complete:
                break
            keep = offset + length
            useful = useful or rec.rec_type != "warcinfo"
    except WarcDamage:
        pass
    if not useful:
        path.unlink()
        return None
    with open(path, "r+b") as fh:
        fh.truncate(keep)
    final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    os.replace(path, final)
    return final


@dataclass(frozen=True)
class ReadRecord:
    rec_type: str
    target_uri: str
    record_id: str
    status: int | None
    headers: list[tuple[str, str]]
    #: content-decoded body as a warcio reader gets it (gzip and deflate decoded; br, renamed, and zstd
    #: as stored), at most READ_MAX_PAYLOAD bytes of it
    payload: bytes
    payload_complete: bool = True  # False: the payload decodes to more than READ_MAX_PAYLOAD bytes


def _read_payload(stream: Any, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of a warcio content stream; and whether that was all of it."""
    pieces, size = [], 0
    while size <= limit:
        piece = stream.read(min(1 << 20, limit + 1 - size))
        if not piece:
            return b"".join(pieces), True
        pieces.append(piece)
        size += len(piece)
    return b"".join(pieces)[:limit], False


def _read(rec: Any, max_payload: int = READ_MAX_PAYLOAD) -> ReadRecord:
    http = rec.http_headers if rec.rec_type in ("response", "request") else None
    # the rest of the record is still read (raw) by warcio, so digests are checked all the same
    payload, complete = _read_payload(rec.content_stream(), max_payload)
    return ReadRecord(
        rec_type=rec.rec_type,
        target_uri=rec.rec_headers.get_header("WARC-Target-URI") or "",
        record_id=rec.rec_headers.get_header("WARC-Record-ID") or "",
        status=int(http.get_statuscode()) if http is not None and rec.rec_type == "response" else None,
        headers=list(http.headers) if http is not None else [],
        payload=payload,
        payload_complete=complete,
    )


def read_record(data: bytes, offset: int, length: int) -> ReadRecord:
    """Read the single record at ``offset``/``length`` of a WARC (what manifest rows point to)."""
    for rec in ArchiveIterator(io.BytesIO(data[offset : offset + length])):
        return _read(rec)
    raise WarcDamage(f"no record at offset {offset}")


def iter_records(data: bytes) -> Iterable[ReadRecord]:
    """All records of a WARC through warcio, digests checked (independent of our own scanner)."""
    for rec in ArchiveIterator(io.BytesIO(data), check_digests="raise"):
        yield _read(rec)
