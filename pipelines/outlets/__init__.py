"""Registry of outlets, discovered from the modules of this package (no hand-kept list)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from pipelines.outlets.base import Edition, Outlet, TextRule, line_rule

__all__ = ["Edition", "Outlet", "TextRule", "all_outlets", "get_outlet", "line_rule"]


@cache
def all_outlets() -> dict[str, Outlet]:
    """Import every module of this package that declares ``OUTLET``; keyed by name."""
    found: dict[str, Outlet] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        outlet = getattr(module, "OUTLET", None)
        if not isinstance(outlet, Outlet):
            continue
        if outlet.name in found:
            raise RuntimeError(f"two modules declare outlet {outlet.name!r}")
        found[outlet.name] = outlet
    return dict(sorted(found.items()))


def get_outlet(name: str) -> Outlet:
    try:
        return all_outlets()[name]
    except KeyError:
        raise KeyError(f"unknown outlet {name!r}; known: {', '.join(all_outlets())}") from None
