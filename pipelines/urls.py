"""URL hygiene: one identity per article URL, and no credentials anywhere.

The spider (``crawler/spiders/outlet.py``) passes every URL it discovers through
:func:`normalize_article_url` before it looks it up, schedules it or writes it in a row, so the same
article listed as ``https://WWW.PRAVDA.COM.UA/x``, ``http://pravda.com.ua/x`` and
``https://www.pravda.com.ua:443/x#top`` is one article with one row. Credentials in a URL
(``http://user:secret@host/...``, from a feed link or a ``Location`` header) are stripped before a
URL is requested, recorded or logged: a request URL with userinfo would send them as Basic auth.
:func:`redact` removes them from free text (log lines, reasons).
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

from pipelines.outlets.base import Outlet

__all__ = ["normalize_article_url", "redact", "strip_credentials"]

DEFAULT_PORTS = {"http": 80, "https": 443}
#: RFC 3986 unreserved characters: a percent-escape of one of these is decoded
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
#: what may stay as is in a path / a query (RFC 3986 pchar plus "/" and "?"); the rest is escaped
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
#: the userinfo of any URL-looking text: ``scheme://user:pass@`` or ``//user:pass@``
_USERINFO = re.compile(r"(?i)((?:\b[a-z][a-z0-9+.\-]*:)?//)[^\s/?#@\"'<>]*@")


def strip_credentials(url: str) -> str:
    """``url`` without its userinfo (``user:password@``); other URLs are returned unchanged."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def redact(text: str) -> str:
    """``text`` (a log line, a reason) with the credentials of every URL in it removed."""
    return _USERINFO.sub(r"\1", text)


def _normalize_escapes(part: str, safe: str) -> str:
    """Minimal percent-encoding normalisation (RFC 3986 6.2.2.2): escapes upper-case, escapes of
    unreserved characters decoded, characters that may not appear raw (non-ASCII as UTF-8, spaces,
    controls, ``"<>\\^`{|}``, a ``%`` that starts no escape) escaped."""
    out: list[str] = []
    pos = 0
    for m in _ESCAPE.finditer(part):
        out.append(quote(part[pos:m.start()], safe=safe))
        char = chr(int(m[1], 16))
        out.append(char if char in _UNRESERVED else f"%{m[1].upper()}")
        pos = m.end()
    out.append(quote(part[pos:], safe=safe))
    return "".join(out)


def _host(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if host and not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return f"[{host}]" if ":" in host else host


def _aliases(host: str) -> frozenset[str]:
    """The bare-domain and ``www.`` spellings of a canonical host (``www.x.com`` -> ``x.com``, ``www.x.com``)."""
    bare = host[4:] if host.startswith("www.") else host
    return frozenset({bare, f"www.{bare}"})


def normalize_article_url(url: str, outlet: Outlet, edition: str | None = None) -> str:
    """The one identity of an article URL of ``outlet`` (``edition``'s host, else the outlet's).

    Credentials and fragment dropped, scheme and host lower-case, default port dropped, an empty path
    made ``/``, percent-encoding normalised minimally (see :func:`_normalize_escapes`). On a host the
    outlet owns (and without an explicit port), the scheme is the canonical one of the edition's base
    URL, and the bare-domain or ``www.`` spelling of the edition's host becomes that host
    (``http://pravda.com.ua/x`` -> ``https://www.pravda.com.ua/x``). Other hosts of the outlet are
    not aliases (orda's ``orda.kz``, ``en.orda.kz`` and ``kaz.orda.kz`` are different editions) and
    keep their name: ``http://orda.kz/x-1/`` in an English crawl stays the Russian edition's
    ``https://orda.kz/x-1/``, which the English edition then refuses
    (:meth:`pipelines.outlets.base.Outlet.is_article_url`). Only the ``www.``/bare pair of the
    edition's own host is merged, never a bare domain into a sub-domain. URLs of other sites are only
    normalised, never mapped.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # not a port: leave the authority alone, only credentials go
        port, host = None, parts.netloc.rpartition("@")[2].lower()
    else:
        host = _host(parts)
    if port is not None and DEFAULT_PORTS.get(scheme) == port:
        port = None
    if port is None and host and outlet.owns_host(host):
        base = urlsplit(outlet.edition(edition).base_url or outlet.base_url)
        canonical = (base.hostname or "").lower()
        scheme = base.scheme.lower() or scheme
        if canonical and host in _aliases(canonical) and outlet.owns_host(canonical):
            host = canonical
            port = base.port if base.port is not None and DEFAULT_PORTS.get(scheme) != base.port else None
    netloc = f"{host}:{port}" if port is not None else host
    path = _normalize_escapes(parts.path, _PATH_SAFE)
    if not path and netloc:
        path = "/"
    query = _normalize_escapes(parts.query, _QUERY_SAFE)
    return urlunsplit((scheme, netloc, path, query, ""))
