"""Reading an archive as a downstream team does: completed runs, their manifest rows, summaries, texts.

Only runs with a completion marker are read (docs/corpus-format.md); rows are
:class:`~pipelines.manifest.ManifestRow` objects, the one definition of the manifest schema.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.layout import MANIFEST, MARKER, SUMMARY
from pipelines.manifest import ManifestRow, parse_manifest
from pipelines.storage import Store


def completed_runs(store: Store, since_day: str = "") -> list[str]:
    """Prefixes of runs whose completion marker exists (optionally from ``since_day`` YYYY-MM-DD on)."""
    start = f"runs/{since_day}" if since_day else ""
    return sorted(k.rsplit("/", 1)[0] for k in store.list_keys("runs/", start_after=start) if k.endswith("/" + MARKER))


def read_manifest_text(store: Store, prefix: str) -> str:
    return (store.get_bytes(f"{prefix}/{MANIFEST}") or b"").decode("utf-8")


def read_rows(store: Store, prefix: str) -> list[ManifestRow]:
    """The run's manifest rows, in the order the run wrote them."""
    return parse_manifest(read_manifest_text(store, prefix))


def read_summary(store: Store, prefix: str) -> dict[str, Any]:
    return json.loads(store.get_bytes(f"{prefix}/{SUMMARY}") or b"{}")


def read_text(store: Store, row: ManifestRow) -> str | None:
    """The corpus text of a ``written`` row (None for other rows)."""
    data = store.get_bytes(row.text_key) if row.text_key else None
    return data.decode("utf-8") if data is not None else None
