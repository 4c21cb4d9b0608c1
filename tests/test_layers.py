"""Architecture rules, checked on the source so that a change that breaks one fails here, naming the line.

* ``pipelines/`` is the core: it must not import Scrapy, Twisted, scrapy_redis or the ``crawler`` package.
* ``crawler/`` is the Scrapy layer above it and may import ``pipelines``.
* No installed module (``crawler/``, ``pipelines/``) imports ``tests``.
* No import cycle between project modules.
* Every Scrapy setting the project reads is declared once, with its default, in ``crawler/settings.py``
  (or is one of Scrapy's own settings) and is read without a second fallback default.

The checks are pure functions over parsed sources; the ``test_*_detector_*`` / ``test_*_parser_*`` tests
feed them small synthetic cases, so the rules are known to fail when they should.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("crawler", "pipelines")
#: top-level names the core may not import
CORE = "pipelines"
CORE_FORBIDDEN = frozenset({"scrapy", "twisted", "scrapy_redis", "crawler"})
#: top-level names no installed module may import
INSTALLED_FORBIDDEN = frozenset({"tests"})
#: Scrapy ``BaseSettings`` getters; ``getdictorlist`` is Scrapy's too and takes the same arguments
SETTINGS_GETTERS = frozenset({"get", "getint", "getfloat", "getbool", "getlist", "getdict", "getdictorlist", "getwithbase"})


# --- parsing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportRef:
    target: str  # resolved, absolute dotted module name
    line: int
    text: str  # the statement, for messages

    @property
    def top(self) -> str:
        return self.target.partition(".")[0]


@dataclass
class Module:
    name: str
    path: str  # relative to the repository root, for messages
    is_package: bool
    source: str
    tree: ast.Module = field(init=False)
    imports: list[ImportRef] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tree = ast.parse(self.source, filename=self.path)


def module_exists_in(root: Path) -> Callable[[str], bool]:
    """``a.b.c`` exists when ``a/b/c.py`` or ``a/b/c/__init__.py`` does under ``root``."""

    def exists(dotted: str) -> bool:
        base = root.joinpath(*dotted.split("."))
        return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()

    return exists


def resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module of ``from <level dots><name> import ...`` written in ``module``."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 > len(package) - 1:
        raise ValueError(f"relative import beyond the top-level package in {module}")
    base = package[: len(package) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def parse_imports(mod: Module, exists: Callable[[str], bool]) -> list[ImportRef]:
    """Every import of a module: statements anywhere (functions, ``if TYPE_CHECKING:``) and
    ``importlib.import_module("literal")`` / ``__import__("literal")`` calls.

    ``import a.b.c`` is an edge to ``a.b.c`` only; ``from a.b import c`` is ``a.b.c`` when that is a
    module, else ``a.b``.
    """
    found: list[ImportRef] = []
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(ImportRef(alias.name, node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = resolve_relative(mod.name, mod.is_package, node.level, node.module)
            else:
                base = node.module or ""
            targets = set()
            for alias in node.names:
                candidate = f"{base}.{alias.name}" if base else alias.name
                targets.add(candidate if alias.name != "*" and exists(candidate) else base)
            for target in sorted(targets):
                found.append(ImportRef(target, node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Call) and node.args:
            func, first = node.func, node.args[0]
            dynamic = (isinstance(func, ast.Name) and func.id in {"__import__", "import_module"}) or (
                isinstance(func, ast.Attribute) and func.attr == "import_module"
            )
            if dynamic and isinstance(first, ast.Constant) and isinstance(first.value, str) and not first.value.startswith("."):
                found.append(ImportRef(first.value, node.lineno, ast.unparse(node)))
    return sorted(found, key=lambda r: (r.line, r.target))


def module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def project_paths(root: Path, packages: Iterable[str] = PROJECT_PACKAGES) -> list[Path]:
    return sorted(p for pkg in packages for p in (root / pkg).rglob("*.py") if "__pycache__" not in p.parts)


@cache
def load_project(root: Path = ROOT) -> dict[str, Module]:
    exists = module_exists_in(root)
    modules: dict[str, Module] = {}
    for path in project_paths(root):
        name, is_package = module_name(path, root)
        mod = Module(name, path.relative_to(root).as_posix(), is_package, path.read_text(encoding="utf-8"))
        mod.imports = parse_imports(mod, exists)
        modules[name] = mod
    return modules


def fake_project(sources: Mapping[str, str], packages: Iterable[str] = ()) -> dict[str, Module]:
    """Modules from source strings (synthetic cases); ``packages`` are the names that are packages."""
    packages = set(packages)
    names = set(sources)

    def exists(dotted: str) -> bool:
        return dotted in names

    modules = {}
    for name, source in sources.items():
        is_package = name in packages
        path = name.replace(".", "/") + ("/__init__.py" if is_package else ".py")
        mod = Module(name, path, is_package, source)
        mod.imports = parse_imports(mod, exists)
        modules[name] = mod
    return modules


# --- import graph -------------------------------------------------------------------------------


def import_edges(modules: Mapping[str, Module]) -> dict[str, dict[str, ImportRef]]:
    """Project module -> project modules it imports (first import statement kept, self-imports dropped)."""
    edges: dict[str, dict[str, ImportRef]] = {name: {} for name in modules}
    for name, mod in modules.items():
        for ref in mod.imports:
            if ref.target in modules and ref.target != name:
                edges[name].setdefault(ref.target, ref)
    return edges


def strongly_connected(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (each one holds a cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


def a_cycle(edges: Mapping[str, Iterable[str]], component: list[str]) -> list[str]:
    """A shortest cycle through the first module of a component: ``[a, b, ..., a]``."""
    start, members = component[0], set(component)
    parent: dict[str, str] = {}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v]):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if w not in parent:
                parent[w] = v
                queue.append(w)
    raise AssertionError(f"no cycle in component {component}")


def cycle_violations(modules: Mapping[str, Module]) -> list[str]:
    edges = import_edges(modules)
    out = []
    for component in strongly_connected(edges):
        cycle = a_cycle(edges, component)
        steps = []
        for a, b in zip(cycle, cycle[1:]):
            ref = edges[a][b]
            steps.append(f"    {modules[a].path}:{ref.line}: {ref.text}")
        out.append(f"import cycle among {', '.join(component)}:\n  " + " -> ".join(cycle) + "\n" + "\n".join(steps))
    return out


def layer_violations(modules: Mapping[str, Module]) -> list[str]:
    out = []
    for name, mod in sorted(modules.items()):
        rules = [(INSTALLED_FORBIDDEN, "installed modules must not import")]
        if name == CORE or name.startswith(CORE + "."):
            rules.append((CORE_FORBIDDEN, f"the core ({CORE}/) must not import"))
        for ref in mod.imports:
            for banned, why in rules:
                if ref.top in banned:
                    out.append(f"{mod.path}:{ref.line}: {ref.text}  ({why} {ref.top})")
    return out


# --- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingRead:
    name: str
    line: int
    text: str
    has_default: bool


def mentions_settings(expr: ast.expr) -> bool:
    for node in ast.walk(expr):
        if isinstance(node, ast.Name) and "settings" in node.id.lower():
            return True
        if isinstance(node, ast.Attribute) and "settings" in node.attr.lower():
            return True
    return False


def settings_reads(tree: ast.AST) -> list[SettingRead]:
    """``<...settings...>.get*("NAME", ...)`` calls and ``<...settings...>["NAME"]`` reads."""
    reads = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SETTINGS_GETTERS:
            if not (node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                continue
            if not mentions_settings(node.func.value):
                continue
            has_default = len(node.args) > 1 or any(k.arg == "default" for k in node.keywords)
            reads.append(SettingRead(node.args[0].value, node.lineno, ast.unparse(node), has_default))
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and mentions_settings(node.value):
                reads.append(SettingRead(key.value, node.lineno, ast.unparse(node), False))
    return sorted(reads, key=lambda r: r.line)


def declared_settings() -> frozenset[str]:
    """UPPER_CASE names of crawler.settings and of Scrapy's defaults (``setmodule`` takes only those)."""
    names: set[str] = set()
    for module in ("crawler.settings", "scrapy.settings.default_settings"):
        names.update(k for k in vars(importlib.import_module(module)) if k.isupper())
    return frozenset(names)


def settings_violations(modules: Mapping[str, Module], declared: Iterable[str]) -> list[str]:
    declared = set(declared)
    out = []
    for _, mod in sorted(modules.items()):
        for read in settings_reads(mod.tree):
            if read.name not in declared:
                out.append(f"{mod.path}:{read.line}: {read.text}  ({read.name} is not declared in crawler/settings.py "
                           "nor a Scrapy default)")
            if read.has_default:
                out.append(f"{mod.path}:{read.line}: {read.text}  (second fallback default; the declared one is in "
                           "crawler/settings.py)")
    return out


def duplicate_settings(tree: ast.AST) -> dict[str, list[int]]:
    """UPPER_CASE names assigned more than once (assignments, annotated and augmented ones, anywhere)."""
    lines: dict[str, list[int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for leaf in ast.walk(target):
                if isinstance(leaf, ast.Name) and isinstance(leaf.ctx, ast.Store) and leaf.id.isupper():
                    lines.setdefault(leaf.id, []).append(node.lineno)
    return {name: sorted(at) for name, at in sorted(lines.items()) if len(at) > 1}


def import_in_subprocess(names: list[str], root: Path) -> dict:
    """Import ``names`` (each on its own, errors caught) in one fresh interpreter with cwd ``root``;
    return the loaded top-level names, the first module after which each one was loaded, and the failures."""
    script = (
        "import importlib, json, sys\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        "first, failed = {}, {}\n"
        f"for name in {names!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except BaseException as exc:\n"
        "        failed[name] = f'{type(exc).__name__}: {exc}'\n"
        "    for top in {m.partition('.')[0] for m in sys.modules}:\n"
        "        first.setdefault(top, name)\n"
        "print(json.dumps({'loaded': sorted(first), 'first': first, 'failed': failed}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and proc.stdout.strip(), f"the import subprocess failed:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def runtime_violations(result: Mapping, banned: Iterable[str]) -> list[str]:
    offenders = [f"  {top} loaded (first seen after importing {result['first'][top]})"
                 for top in sorted(set(banned) & set(result["loaded"]))]
    offenders += [f"  {name} could not be imported: {error}" for name, error in sorted(result["failed"].items())]
    return offenders


# --- the rules, on this repository --------------------------------------------------------------


def test_project_modules_are_found() -> None:
    """Guards the other checks against passing vacuously (a moved package, a wrong root)."""
    modules = load_project()
    assert {"crawler.settings", "crawler.pipelines", "pipelines", "pipelines.archive", "pipelines.outlets"} <= set(modules)
    assert any(m.imports for m in modules.values())


def test_no_import_cycles() -> None:
    """A cycle makes import order matter (half-initialised modules) and ties the layers together."""
    offenders = cycle_violations(load_project())
    assert not offenders, "import cycles between project modules:\n" + "\n".join(offenders)


def test_core_does_not_import_the_scrapy_layer_and_nothing_imports_tests() -> None:
    """pipelines/ must stay usable without Scrapy (scheduler, workers, verify, CLI); tests/ is not installed."""
    offenders = layer_violations(load_project())
    assert not offenders, "layer rule broken:\n" + "\n".join(offenders)


def test_importing_the_core_loads_no_scrapy_layer() -> None:
    """The static check misses dynamic imports and third-party packages that pull Scrapy in; importing
    every core module in one clean interpreter must not load scrapy, twisted, scrapy_redis or crawler.
    A core module that cannot be imported cannot be checked, so that fails too (all are listed)."""
    names = [module_name(p, ROOT)[0] for p in project_paths(ROOT, [CORE])]
    assert "pipelines.__main__" in names and "pipelines.outlets.orda" in names
    offenders = runtime_violations(import_in_subprocess(names, ROOT), CORE_FORBIDDEN)
    assert not offenders, "importing every pipelines/ module:\n" + "\n".join(offenders)


def test_settings_are_declared_and_read_without_a_second_default() -> None:
    """A setting read but not declared has no documented default; a fallback at the read site drifts
    from the declared one (and from ``-s`` overrides' expectations)."""
    offenders = settings_violations(load_project(), declared_settings())
    assert not offenders, "settings reads:\n" + "\n".join(offenders)


def test_settings_are_assigned_once_in_crawler_settings() -> None:
    """A second assignment silently wins over the first, documented one."""
    mod = load_project()["crawler.settings"]
    dups = duplicate_settings(mod.tree)
    assert not dups, "assigned more than once in crawler/settings.py:\n" + "\n".join(
        f"  {name} at lines {', '.join(map(str, at))}" for name, at in dups.items()
    )


# --- the checks themselves fail when they should ------------------------------------------------


def test_cycle_detector_finds_a_cycle() -> None:
    """The detector reports the modules of a cycle and a concrete path, and ignores a module that only leads into it."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert strongly_connected(edges) == [["a", "b", "c"]]
    assert a_cycle(edges, ["a", "b", "c"]) == ["a", "b", "c", "a"]
    assert strongly_connected({"x": {"y"}, "y": {"x"}}) == [["x", "y"]]
    assert a_cycle({"x": {"y"}, "y": {"x"}}, ["x", "y"]) == ["x", "y", "x"]


def test_cycle_detector_accepts_the_registry_pattern() -> None:
    """A package importing its submodules, which import a sibling ``base``, is no cycle (no parent edges)."""
    modules = fake_project(
        {
            "pkg": "from pkg.reg import all_items\n",
            "pkg.reg": "import importlib\nfrom pkg.reg.base import Item\n",
            "pkg.reg.base": "",
            "pkg.reg.one": "from pkg.reg.base import Item\n",
            "pkg.user": "import pkg.reg.one\nfrom pkg.reg import all_items\n",
        },
        packages={"pkg", "pkg.reg"},
    )
    assert cycle_violations(modules) == []


def test_cycle_violations_name_the_modules_and_lines() -> None:
    modules = fake_project(
        {
            "pkg": "",
            "pkg.a": "from pkg import b\n",
            "pkg.b": "def f():\n    from .c import x\n",
            "pkg.c": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n",
        },
        packages={"pkg"},
    )
    [message] = cycle_violations(modules)
    assert "pkg.a, pkg.b, pkg.c" in message
    assert "pkg.a -> pkg.b -> pkg.c -> pkg.a" in message
    assert "pkg/b.py:2: from .c import x" in message
    assert "pkg/c.py:3: import pkg.a" in message


def test_import_parser_resolves_imports() -> None:
    """Relative imports, ``from package import submodule``, imports in functions and literal dynamic imports."""
    modules = fake_project(
        {
            "p": "",
            "p.sub": "",
            "p.sub.mod": (
                "from . import sibling, NAME\n"
                "from .. import other\n"
                "from ..other import thing\n"
                "import a.b.c\n"
                "from x.y import *\n"
                "def f():\n    import importlib\n    importlib.import_module('q.r')\n"
            ),
            "p.sub.sibling": "",
            "p.other": "",
        },
        packages={"p", "p.sub"},
    )
    targets = sorted({r.target for r in modules["p.sub.mod"].imports})
    assert targets == ["a.b.c", "importlib", "p.other", "p.sub", "p.sub.sibling", "q.r", "x.y"]
    assert "a" not in targets and "a.b" not in targets  # no parent-package edges
    assert resolve_relative("p.sub", True, 1, "x") == "p.sub.x"
    assert resolve_relative("p.sub.mod", False, 2, None) == "p"


def test_layer_rule_flags_forbidden_imports() -> None:
    """Every forbidden import is listed, including ones under TYPE_CHECKING and in functions."""
    modules = fake_project(
        {
            "pipelines": "",
            "pipelines.core": (
                "from typing import TYPE_CHECKING\n"
                "from scrapy import Request\n"
                "if TYPE_CHECKING:\n    import crawler.items\n"
                "def f():\n    from twisted.internet import task\n    import scrapy_redis\n"
                "from tests import quality\n"
            ),
            "pipelines.ok": "import pipelines.core\nfrom scrapy_utils import x\nfrom crawlerlib import y\n",
            "crawler": "",
            "crawler.spider": "import scrapy\nfrom pipelines import core\nfrom tests.conftest import ROOT\n",
        },
        packages={"pipelines", "crawler"},
    )
    offenders = layer_violations(modules)
    assert [o.split(":")[0:2] for o in offenders] == [
        ["crawler/spider.py", "3"],
        ["pipelines/core.py", "2"],
        ["pipelines/core.py", "4"],
        ["pipelines/core.py", "6"],
        ["pipelines/core.py", "7"],
        ["pipelines/core.py", "8"],
    ]
    assert "from tests import quality  (installed modules must not import tests)" in offenders[-1]


def test_settings_check_flags_defaults_and_undeclared_names() -> None:
    """Fallback defaults (positional or keyword) and undeclared names are flagged; other ``get`` calls are not."""
    source = (
        "def f(crawler, settings, spec, self):\n"
        "    crawler.settings.getint('DOWNLOAD_MAXSIZE')\n"
        "    settings.getfloat('RETRY_BACKOFF_BASE', 2.0)\n"
        "    self.crawler.settings.get('ARCHIVE_URI', default='x')\n"
        "    settings.getbool('NOT_A_SETTING')\n"
        "    settings['ALSO_NOT_DECLARED']\n"
        "    spec.get('settings', {})\n"
        "    os.environ.get('ARCHIVE_URI', '')\n"
        "    settings.set('SCHEDULER', 'x')\n"
    )
    modules = fake_project({"crawler.thing": source})
    offenders = settings_violations(modules, {"DOWNLOAD_MAXSIZE", "RETRY_BACKOFF_BASE", "ARCHIVE_URI"})
    assert [o.split(":")[1] for o in offenders] == ["3", "4", "5", "6"]
    assert "NOT_A_SETTING is not declared" in offenders[2]
    assert "second fallback default" in offenders[0] and "second fallback default" in offenders[1]


def test_declared_settings_include_project_and_scrapy_defaults() -> None:
    declared = declared_settings()
    assert {"ARCHIVE_URI", "DEDUP_URI", "DOWNLOAD_MAXSIZE", "RETRY_TIMES", "SCHEDULER"} <= declared
    assert "os" not in declared


def test_duplicate_setting_detector() -> None:
    tree = ast.parse("import os\nA = 1\nB = 2\nA = 3\nC: int = 4\nC += 1\nx = 1\nx = 2\nD, B = 5, 6\n")
    assert duplicate_settings(tree) == {"A": [2, 4], "B": [3, 9], "C": [5, 6]}


def test_runtime_import_check_names_the_culprit(tmp_path: Path) -> None:
    """The subprocess check sees a banned package pulled in indirectly and lists modules that fail to import."""
    core = tmp_path / "fakecore"
    core.mkdir()
    (core / "__init__.py").write_text("import json\n")
    (core / "clean.py").write_text("VALUE = 1\n")
    (core / "helper.py").write_text("import importlib\nimportlib.import_module('email' + '.utils')\n")
    (core / "sneaky.py").write_text("from fakecore import helper\nimport importlib\nimportlib.import_module('scr' + 'apy')\n")
    (core / "broken.py").write_text("raise RuntimeError('half-edited')\n")
    names = ["fakecore", "fakecore.clean", "fakecore.sneaky", "fakecore.broken"]
    offenders = runtime_violations(import_in_subprocess(names, tmp_path), {"scrapy", "twisted"})
    assert offenders == [
        "  scrapy loaded (first seen after importing fakecore.sneaky)",
        "  twisted loaded (first seen after importing fakecore.sneaky)",  # through scrapy
        "  fakecore.broken could not be imported: RuntimeError: half-edited",
    ]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line and not line.startswith("-"):
            name, version = line.split(";")[0].split("==")
            pins[name.strip().lower().replace("_", "-").split("[")[0]] = version.strip()
    return pins


def test_the_runtime_lock_holds_no_test_tool_and_the_test_lock_adds_them() -> None:
    """A production image installs requirements.lock only: no moto server, pytest or linters in it."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, test = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements-test.lock")
    assert "-r requirements.lock" in (ROOT / "requirements-test.lock").read_text().splitlines()
    direct, extras = _pins_of(project["dependencies"]), _pins_of(project["optional-dependencies"]["test"])
    assert {n: v for n, v in direct.items() if runtime.get(n) != v} == {}, "every runtime dependency pinned as in pyproject.toml"
    assert {n: v for n, v in extras.items() if test.get(n, runtime.get(n)) != v} == {}, "every test tool pinned"
    tools = {"pytest", "moto", "flask", "cfn-lint", "check-jsonschema", "docker", "scipy", "fastwarc", "pluggy"}
    assert tools & set(runtime) == set(), "test tools in the runtime lock"
    assert set(runtime) & set(test) == set(), "each pin in one lock"


def _pins_of(requirements: list[str]) -> dict[str, str]:
    out = {}
    for req in requirements:
        name, version = req.split(";")[0].split("==")
        out[name.strip().lower().replace("_", "-").split("[")[0]] = version.strip()
    return out
