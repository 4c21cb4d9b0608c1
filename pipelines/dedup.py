"""Near-duplicate (syndicated wire copy) detection on cleaned text: MinHash + LSH, containment-aware.

Why this shape:
- Fingerprints come from the *cleaned body* (never raw pages: shared chrome would make different
  stories alike), after folding copy-edit differences (case, quotes and punctuation, diacritics,
  British/American spellings, country-name variants) so a copy-edited reprint hashes like the
  original.
- Two sketches per document: the full body (96 permutations, 24 bands of 4 rows: candidates from
  Jaccard ~0.45 up) and the lead (its first 120 words, 32 permutations, 8 bands of 4): a brief made
  of a story's first paragraphs has a low Jaccard with the whole story but the same lead.
- Candidates are verified on the full signatures: the Jaccard estimate J and, from J and the
  shingle counts, the containment of the shorter text in the longer. A copy is a duplicate when
  J >= 0.6 (full reprint, ending cut, a paragraph added or dropped) or when the shorter text is
  >= 75 % contained in the longer (a brief). Two different stories sharing a background
  paragraph or two stay below both.
- MinHash by rensa (Rust; about 10 us per document against about 400 us for datasketch on this
  machine, see bench/dedup_bench.py), seeded and version-pinned: signatures are identical across processes and
  machines, so indexes built on different crawlers agree.

Backends: :class:`MemoryIndex` (embedded; persisted as per-run delta files with the archive) and
:class:`RedisIndex` (``DEDUP_URI=redis://...``, shared by concurrent crawlers; check-and-add is
atomic under a Redis lock so two workers seeing two copies at once end with one canonical).
"""

from __future__ import annotations

import io
import logging
import re
import time
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np
import rensa

logger = logging.getLogger(__name__)

SEED = 20261125
FULL_PERM, FULL_BANDS = 96, 24
LEAD_PERM, LEAD_BANDS = 32, 8
SHINGLE = 4
LEAD_WORDS = 120
JACCARD_DUP = 0.6
CONTAINMENT_DUP = 0.75
MIN_SHINGLES = 20  # below this a text is too short to call a copy by containment
FORMAT = f"rensa-{rensa.RMinHash.ALGORITHM_VERSION}-{FULL_PERM}x{LEAD_PERM}-k{SHINGLE}-s{SEED}"

_SPELLING = [  # British -> American, applied to both sides (consistency matters, not correctness)
    (re.compile(r"(\w{3,})isation(s?)$"), r"\1ization\2"),
    (re.compile(r"(\w{3,})is(e|ed|es|ing)$"), r"\1iz\2"),
    (re.compile(r"(\w{2,})ys(e|ed|es|ing)$"), r"\1yz\2"),
    (re.compile(r"(\w{2,})our(s|ful|ed|ing|ite|ites|able|ably)?$"), r"\1or\2"),
    (re.compile(r"(\w{3,})tre(s?)$"), r"\1ter\2"),
    (re.compile(r"(\w{3,})ogue(s?)$"), r"\1og\2"),
    (re.compile(r"(\w{3,}[aeiou])ll(ed|ing|er)$"), r"\1l\2"),
]
_NAMES = {"turkiye": "turkey", "kyiv": "kiev"}  # spelling variants of names (diacritics are already gone)


@lru_cache(maxsize=1 << 18)
def _fold(word: str) -> str:
    """One word, diacritics, name variants and British spelling folded (cached: news vocabulary repeats)."""
    word = "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))
    word = _NAMES.get(word, word)
    for pattern, repl in _SPELLING:
        new = pattern.sub(repl, word)
        if new != word:
            return new
    return word


_WORD = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    """Words of a text with copy-edit differences (case, punctuation, spelling) folded away."""
    return [_fold(w) for w in _WORD.findall(text.casefold())]


def shingles(words: list[str]) -> list[str]:
    if len(words) < SHINGLE:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)]


@dataclass(frozen=True)
class Fingerprint:
    sig: np.ndarray  # uint32[FULL_PERM]
    lead: np.ndarray  # uint32[LEAD_PERM]
    size: int  # distinct shingles of the full text

    def keys(self) -> np.ndarray:
        """LSH bucket keys (uint64): 24 full-text bands, then 8 lead bands."""
        return band_keys(self.sig, self.lead)


_MULT = np.random.default_rng(SEED).integers(1, 2**63 - 1, size=(max(FULL_PERM // FULL_BANDS, LEAD_PERM // LEAD_BANDS),), dtype=np.uint64) | np.uint64(1)
_BAND_SALT = np.random.default_rng(SEED + 1).integers(1, 2**63 - 1, size=(FULL_BANDS + LEAD_BANDS,), dtype=np.uint64)


def band_keys(sig: np.ndarray, lead: np.ndarray) -> np.ndarray:
    rows_f = FULL_PERM // FULL_BANDS
    rows_l = LEAD_PERM // LEAD_BANDS
    with np.errstate(over="ignore"):
        full = (sig.astype(np.uint64).reshape(FULL_BANDS, rows_f) * _MULT[:rows_f]).sum(axis=1, dtype=np.uint64)
        ld = (lead.astype(np.uint64).reshape(LEAD_BANDS, rows_l) * _MULT[:rows_l]).sum(axis=1, dtype=np.uint64)
        return np.concatenate([full, ld]) ^ _BAND_SALT


def fingerprint(text: str) -> Fingerprint:
    words = tokens(text)
    full = shingles(words)
    lead = shingles(words[:LEAD_WORDS])
    m = rensa.RMinHash(num_perm=FULL_PERM, seed=SEED)
    m.update(full or [""])
    ml = rensa.RMinHash(num_perm=LEAD_PERM, seed=SEED + 7)
    ml.update(lead or [""])
    return Fingerprint(
        sig=np.asarray(m.digest(), dtype=np.uint32),
        lead=np.asarray(ml.digest(), dtype=np.uint32),
        size=len(set(full)),
    )


@dataclass(frozen=True)
class Match:
    canonical: str  # docid of the earlier copy
    similarity: float  # estimated Jaccard of the two texts
    containment: float  # estimated share of the shorter text found in the longer
    exact: bool = False  # every MinHash value equal: the same normalised text


def compare_many(fp: Fingerprint, sigs: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Jaccard estimates and containments (of the shorter text in the longer) against many documents."""
    j = np.count_nonzero(sigs == fp.sig, axis=1) / FULL_PERM
    sizes = sizes.astype(np.float64)
    inter = j * (fp.size + sizes) / (1 + j)
    shorter = np.maximum(1.0, np.minimum(fp.size, sizes))
    return j, np.minimum(1.0, inter / shorter)


def best_match(fp: Fingerprint, docids: list[str], sigs: np.ndarray, sizes: np.ndarray) -> Match | None:
    """The closest earlier copy among the candidates, by the duplicate rule (J, then containment)."""
    if not docids:
        return None
    j, c = compare_many(fp, sigs, sizes)
    copy = (j >= JACCARD_DUP) | ((np.minimum(fp.size, sizes) >= MIN_SHINGLES) & (c >= CONTAINMENT_DUP))
    if not copy.any():
        return None
    idx = np.flatnonzero(copy)
    best = idx[np.lexsort((c[idx], j[idx]))[-1]]
    return Match(docids[best], round(float(j[best]), 4), round(float(c[best]), 4))


class DedupIndex(Protocol):
    def check(self, docid: str, fp: Fingerprint) -> Match | None:
        """The earlier copy ``fp`` duplicates, or None (nothing is added)."""
        ...

    def check_and_add(self, docid: str, fp: Fingerprint) -> Match | None:
        """Atomically: the earlier copy ``fp`` duplicates, or None (and ``docid`` becomes canonical)."""
        ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------- embedded


class _Segment:
    """Sorted bucket entries, each packed into one uint64: (top 32 bits of the key << 32) | doc id.

    Packing lets a merge sort in place (no argsort, no second copy) and halves the memory of
    separate key and id arrays; a 32-bit key collision only adds a candidate that verification
    rejects. A directory on the top bits narrows a lookup to a few neighbours that one
    vectorised compare checks (a binary search over tens of millions of entries would cost ~25
    cache misses per key).
    """

    WINDOW = 16
    MASK = np.uint64(0xFFFFFFFF)

    def __init__(self, packed: np.ndarray) -> None:
        packed.sort()  # in place
        self.packed = packed
        self.bits = max(0, min(32, int(np.log2(max(1, len(packed)) / 4))))
        tops = (packed >> np.uint64(64 - self.bits)) if self.bits else None
        self.dir = np.searchsorted(tops, np.arange((1 << self.bits) + 1, dtype=np.uint64)) if tops is not None else None

    @staticmethod
    def pack(keys32: np.ndarray, ids: np.ndarray) -> np.ndarray:
        return (keys32.astype(np.uint64) << np.uint64(32)) | ids.astype(np.uint64)

    def __len__(self) -> int:
        return len(self.packed)

    @property
    def nbytes(self) -> int:
        return self.packed.nbytes + (self.dir.nbytes if self.dir is not None else 0)

    def lookup(self, q32: np.ndarray) -> np.ndarray:
        """Document ids of the entries whose key is in ``q32`` (uint32 keys)."""
        if self.dir is None:
            lo = np.searchsorted(self.packed, q32.astype(np.uint64) << np.uint64(32), side="left")
            hi = np.searchsorted(self.packed, (q32.astype(np.uint64) << np.uint64(32)) | self.MASK, side="right")
            parts = [self.packed[a:b] for a, b in zip(lo.tolist(), hi.tolist()) if b > a]
            return (np.concatenate(parts) & self.MASK).astype(np.uint32) if parts else np.empty(0, np.uint32)
        b = (q32 >> np.uint32(32 - self.bits)).astype(np.int64) if self.bits < 32 else q32.astype(np.int64)
        lo, hi = self.dir[b], self.dir[b + 1]
        window = np.arange(self.WINDOW)
        idx = np.minimum(lo[:, None] + window, len(self.packed) - 1)
        entries = self.packed[idx]
        hit = ((entries >> np.uint64(32)) == q32[:, None].astype(np.uint64)) & (window < (hi - lo)[:, None])
        wide = np.flatnonzero(hi - lo > self.WINDOW)  # a crowded directory cell: search it fully
        hit[wide] = False
        found = [entries[hit]]
        for a, z, k in zip(lo[wide].tolist(), hi[wide].tolist(), q32[wide].tolist()):
            cell = self.packed[a:z]
            found.append(cell[(cell >> np.uint64(32)) == k])
        return (np.concatenate(found) & self.MASK).astype(np.uint32)


class MemoryIndex:
    """In-process LSH index: sorted numpy segments (log-structured) plus a small dict of recent keys.

    Per document: the full signature (96 x uint32 = 384 B), its 32 bucket entries (packed
    uint64 = 256 B), its size and docid: about 0.75 KB, so 1M documents fit in well under 1 GB
    (plus this run's own bucket keys, kept for its delta file).
    """

    PENDING_DOCS = 8192

    def __init__(self) -> None:
        self.docids: list[str] = []
        self.sizes = np.zeros(1024, dtype=np.uint32)
        self.sigs = np.zeros((1024, FULL_PERM), dtype=np.uint32)
        self.segments: list[_Segment] = []
        self._pending: dict[int, list[int]] = {}
        self._pending_docs = 0
        self._loaded = 0  # documents before this are from delta files; after are this run's
        self._new_keys = np.zeros((0, FULL_BANDS + LEAD_BANDS), dtype=np.uint64)

    def __len__(self) -> int:
        return len(self.docids)

    def nbytes(self) -> int:
        """Memory held by the index (arrays, bucket segments, docid strings, recent-key dict)."""
        import sys

        arrays = self.sigs.nbytes + self.sizes.nbytes + self._new_keys.nbytes + sum(g.nbytes for g in self.segments)
        strings = sys.getsizeof(self.docids) + sum(sys.getsizeof(d) for d in self.docids)
        pending = sys.getsizeof(self._pending) + sum(sys.getsizeof(v) + 8 * len(v) for v in self._pending.values())
        return arrays + strings + pending

    def _grow(self) -> None:
        n = len(self.sigs) * 2
        self.sigs = np.resize(self.sigs, (n, FULL_PERM))
        self.sizes = np.resize(self.sizes, n)

    def candidates(self, keys: np.ndarray) -> np.ndarray:
        """Ids of the documents sharing at least one LSH bucket with ``keys``."""
        q32 = (keys >> np.uint64(32)).astype(np.uint32)
        parts = [np.asarray(ids, dtype=np.uint32) for k in q32.tolist() if (ids := self._pending.get(k))]
        parts.extend(seg.lookup(q32) for seg in self.segments)
        return np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.uint32)

    def check(self, docid: str, fp: Fingerprint) -> Match | None:
        ids = self.candidates(fp.keys())
        match = best_match(fp, [self.docids[i] for i in ids.tolist()], self.sigs[ids], self.sizes[ids])
        if match is not None and match.similarity == 1.0:
            match = Match(match.canonical, 1.0, 1.0, exact=True)
        return match

    def add(self, docid: str, fp: Fingerprint, keys: np.ndarray | None = None) -> int:
        i = len(self.docids)
        if i >= len(self.sigs):
            self._grow()
        self.docids.append(docid)
        self.sigs[i] = fp.sig
        self.sizes[i] = fp.size
        keys = fp.keys() if keys is None else keys
        for k in (keys >> np.uint64(32)).tolist():
            self._pending.setdefault(k, []).append(i)
        self._pending_docs += 1
        n_new = i - self._loaded
        if n_new >= len(self._new_keys):
            self._new_keys = np.resize(self._new_keys, (max(64, 2 * len(self._new_keys)), keys.shape[0]))
        self._new_keys[n_new] = keys
        if self._pending_docs >= self.PENDING_DOCS:
            self._flush_pending()
        return i

    def _flush_pending(self) -> None:
        if not self._pending:
            return
        keys = np.fromiter((k for k, ids in self._pending.items() for _ in ids), dtype=np.uint32)
        ids = np.fromiter((i for ids in self._pending.values() for i in ids), dtype=np.uint32)
        self.segments.append(_Segment(_Segment.pack(keys, ids)))
        self._pending.clear()
        self._pending_docs = 0
        # merge segments of similar size (LSM): at most ~log2(N / PENDING_DOCS) segments
        while len(self.segments) >= 2 and len(self.segments[-1]) * 2 >= len(self.segments[-2]):
            self._merge_last(2)

    def _merge_last(self, n: int) -> None:
        parts = self.segments[-n:]
        del self.segments[-n:]
        packed = np.concatenate([g.packed for g in parts])
        del parts  # the old segments go before the in-place sort
        self.segments.append(_Segment(packed))

    def compact(self) -> None:
        """One segment for everything (after loading the archive's delta files): fastest lookups."""
        self._flush_pending()
        if len(self.segments) > 1:
            self._merge_last(len(self.segments))

    def check_and_add(self, docid: str, fp: Fingerprint) -> Match | None:
        match = self.check(docid, fp)
        if match is None:
            self.add(docid, fp)
        return match

    def close(self) -> None:
        pass

    # ---- persistence: one delta file per run, kept with the archive

    def delta_bytes(self) -> bytes | None:
        """The documents added since this index was loaded, as an .npz file (None if none)."""
        n_new = len(self.docids) - self._loaded
        if n_new <= 0:
            return None
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            format=np.asarray(FORMAT),
            docids=np.asarray(self.docids[self._loaded :]),
            sigs=self.sigs[self._loaded : len(self.docids)],
            sizes=self.sizes[self._loaded : len(self.docids)],
            keys=self._new_keys[:n_new],
        )
        return buf.getvalue()

    def load_delta(self, data: bytes) -> int:
        """Add an earlier run's documents (call before this run adds any)."""
        if len(self.docids) != self._loaded:
            raise RuntimeError("load the archive's delta files before adding this run's documents")
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            if str(z["format"]) != FORMAT:
                raise ValueError(f"dedup delta of format {z['format']}, this code writes {FORMAT}")
            docids, sigs, sizes, keys = z["docids"], z["sigs"], z["sizes"], z["keys"]
        for n in range(len(docids)):
            fp = Fingerprint(sig=sigs[n], lead=np.zeros(LEAD_PERM, dtype=np.uint32), size=int(sizes[n]))
            self.add(str(docids[n]), fp, keys=keys[n])
        self._loaded = len(self.docids)
        self._new_keys = self._new_keys[:0]
        return len(docids)


# --------------------------------------------------------------------------- Redis


class RedisIndex:
    """The index in Redis, shared by every crawler process that uses the same ``DEDUP_URI``.

    Keys (prefix ``ns``): ``{ns}:k:{bucket}`` set of internal ids; ``{ns}:d:{id}`` hash with docid,
    signature and size; ``{ns}:seq`` the id counter; ``{ns}:lock`` the check-and-add lock (with
    expiry, so a dead worker cannot block).
    """

    def __init__(self, url: str, namespace: str = "dedup", lock_timeout: float = 10.0) -> None:
        from pipelines.redisconn import connect

        # patient: checks run in a thread, and a Redis restart must not fail the article's row
        self.r = connect(url)
        self.ns = f"{namespace}:{FORMAT}"
        self.lock_timeout = lock_timeout
        self.r.ping()

    def _lock(self) -> str:
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.lock_timeout * 3
        while not self.r.set(f"{self.ns}:lock", token, nx=True, px=int(self.lock_timeout * 1000)):
            if time.monotonic() > deadline:
                raise TimeoutError("dedup lock in Redis not obtained")
            time.sleep(0.001)
        return token

    _UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

    def _unlock(self, token: str) -> None:
        self.r.eval(self._UNLOCK, 1, f"{self.ns}:lock", token)

    def check_and_add(self, docid: str, fp: Fingerprint) -> Match | None:
        token = self._lock()
        try:
            match = self._check(docid, fp)
            if match is None:
                self._add(docid, fp)
            return match
        finally:
            self._unlock(token)

    def check(self, docid: str, fp: Fingerprint) -> Match | None:
        return self._check(docid, fp)

    def _check(self, docid: str, fp: Fingerprint) -> Match | None:
        ns = self.ns
        pipe = self.r.pipeline(transaction=False)
        for k in fp.keys().tolist():
            pipe.smembers(f"{ns}:k:{k}")
        buckets = pipe.execute()
        ids = sorted({int(i) for b in buckets for i in b})
        if not ids:
            return None
        pipe = self.r.pipeline(transaction=False)
        for i in ids:
            pipe.hmget(f"{ns}:d:{i}", "docid", "sig", "size")
        rows = [row for row in pipe.execute() if row[0] is not None]
        if not rows:
            return None
        match = best_match(
            fp,
            [d.decode() for d, _, _ in rows],
            np.stack([np.frombuffer(sig, dtype=np.uint32) for _, sig, _ in rows]),
            np.asarray([int(z) for _, _, z in rows]),
        )
        if match is not None and match.similarity == 1.0:
            match = Match(match.canonical, 1.0, 1.0, exact=True)
        return match

    def _add(self, docid: str, fp: Fingerprint) -> None:
        ns = self.ns
        i = self.r.incr(f"{ns}:seq")
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(f"{ns}:d:{i}", mapping={"docid": docid, "sig": fp.sig.astype(np.uint32).tobytes(), "size": fp.size})
        for k in fp.keys().tolist():
            pipe.sadd(f"{ns}:k:{k}", i)
        pipe.execute()

    def close(self) -> None:
        self.r.close()


# --------------------------------------------------------------------------- wire attribution

_AGENCIES = {
    "AFP": r"AFP|Agence France[- ]Presse",
    "Reuters": r"Reuters",
    "AP": r"AP|Associated Press",
    "Anadolu": r"Anadolu(?: Agency| Ajansı)?|AA",
    "Xinhua": r"Xinhua",
    "dpa": r"dpa",
    "TASS": r"TASS",
    "Interfax": r"Interfax",
    "PTI": r"PTI",
    "APP": r"APP",
}
_WIRE_PATTERNS = [
    (name, re.compile(p))
    for agency, alt in _AGENCIES.items()
    for name, p in (
        (agency, rf"\((?:{alt})\)\s*[-–—:]"),  # "(AFP) – ", "(Reuters) - "
        (agency, rf"©\s*\d{{4}}\s*(?:{alt})\b"),  # "© 2023 AFP"
        (agency, rf"\b[Ww]ith (?:inputs|input|additional reporting) from (?:{alt})\b"),
        (agency, rf"^(?:Source|Джерело|Источник):\s*(?:{alt})\b"),
    )
]


@lru_cache(maxsize=64)
def _byline_patterns(bylines: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((agency, re.compile(b.replace("{agency}", f"(?:{alt})"))) for b in bylines for agency, alt in _AGENCIES.items())


def detect_wire(text: str, authors: Iterable[str] = (), bylines: tuple[str, ...] = ()) -> str | None:
    """The news agency a text is credited to, from credit lines, datelines and bylines; None if none.

    ``bylines``: an outlet's own credit-line shapes, regexes with an ``{agency}`` placeholder
    (``Outlet.wire_bylines``).
    """
    for author in authors:
        for agency, alt in _AGENCIES.items():
            if re.fullmatch(rf"(?:{alt})(?: ?/ ?.*)?", author.strip()):
                return agency
    patterns = _WIRE_PATTERNS + list(_byline_patterns(bylines)) if bylines else _WIRE_PATTERNS
    for line in text.split("\n")[:40] + text.split("\n")[-5:]:
        line = line.strip()
        for agency, pattern in patterns:
            if pattern.search(line):
                return agency
    return None


def open_index(uri: str | None, namespace: str = "dedup") -> DedupIndex:
    if uri and uri.startswith(("redis://", "rediss://", "unix://")):
        return RedisIndex(uri, namespace)
    if uri:
        from pipelines.redisconn import shown

        raise ValueError(f"DEDUP_URI must be empty (embedded index kept with the archive) or redis://..., got {shown(uri)!r}")
    return MemoryIndex()


def load_embedded(deltas: Iterable[bytes]) -> MemoryIndex:
    """The embedded index: the union of an archive's delta files, compacted for fast lookups."""
    index = MemoryIndex()
    for data in deltas:
        if data:
            index.load_delta(data)
    index.compact()
    return index


# --------------------------------------------------------------------------- the run's decisions


@dataclass(frozen=True)
class Verdict:
    """What the dedup step says of one text: its wire credit and, for a copy, what it copies."""

    wire: str | None
    duplicate_of: str | None = None
    similarity: float | None = None
    containment: float | None = None
    reason: str | None = None
    #: the docid the text was filed under when the canonical URL's own docid could not be used
    #: (a canonical URL shared by pages with different texts), else None
    docid: str | None = None


class Deduplicator:
    """One run's copy decisions: the first archived copy of a story is canonical, later ones are copies.

    The one home of "same canonical URL": an article whose docid (its canonical URL) was written
    earlier is a copy of that docid when its text is a copy too; when the text is different, the
    canonical URL is shared by different pages and is not an identity: the text is filed under
    ``fallback`` (the docid of its fetched URL). ``check`` blocks on Redis.
    """

    def __init__(self, index: DedupIndex) -> None:
        self.index = index
        self._written: dict[str, str] = {}  # docid -> URL accepted in this run

    def check(self, docid: str, url: str, body: str, authors: Iterable[str] = (), bylines: tuple[str, ...] = (), fallback: str | None = None) -> Verdict:
        wire = detect_wire(body, authors, bylines)
        fp = fingerprint(body)
        filed_as = None
        if docid in self._written:
            earlier = self.index.check(docid, fp)
            if earlier is not None or fallback is None or fallback == docid:
                return self._copy(wire, docid, earlier, f"same canonical URL as {self._written[docid]} written earlier in this run")
            docid = filed_as = fallback
        match = self.index.check_and_add(docid, fp)
        if match is None:
            self._written[docid] = url
            return Verdict(wire, docid=filed_as)
        return self._copy(wire, docid, match, "same canonical URL archived earlier")

    @staticmethod
    def _copy(wire: str | None, docid: str, match: Match | None, same_reason: str) -> Verdict:
        if match is None:
            return Verdict(wire, docid, reason=same_reason)
        if match.canonical == docid:
            reason = same_reason
        else:
            reason = "exact copy" if match.exact else "near-duplicate (syndicated copy)"
        return Verdict(wire, match.canonical, match.similarity, match.containment, reason)

    def delta(self) -> bytes | None:
        """The embedded index's additions of this run (None with Redis: it keeps them itself)."""
        return self.index.delta_bytes() if isinstance(self.index, MemoryIndex) else None

    def close(self) -> None:
        self.index.close()
