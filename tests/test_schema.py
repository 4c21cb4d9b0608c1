"""The manifest contract: ``docs/manifest.schema.json``, ``ManifestRow`` and the table in
``docs/corpus-format.md`` describe the same fields; every row real fixture crawls write matches the
schema; ``removed_lines`` keys are stable rule names (generic, or ``<outlet>:<name>``)."""

from __future__ import annotations

import json
import re
import types
import typing
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from pipelines import clean
from pipelines.clean import GENERIC_RULE_NAMES, GENERIC_RULES, prune_html
from pipelines.dev.mirror import serve
from pipelines.manifest import SCHEMA_VERSION, STATUSES, ManifestRow, parse_manifest
from pipelines.outlets import Edition, Outlet, TextRule, all_outlets, get_outlet, line_rule
from pipelines.outlets.base import NodeRule, node_rule
from pipelines.reader import completed_runs, read_manifest_text, read_summary
from pipelines.storage import open_store
from tests.conftest import ROOT, expected, run_crawl

jsonschema = pytest.importorskip("jsonschema")  # requirements-test.lock

SCHEMA_FILE = ROOT / "docs" / "manifest.schema.json"
DOCS = ROOT / "docs" / "corpus-format.md"
OUTLETS = sorted(all_outlets())
#: an outlet rule's manifest key
OUTLET_KEY = r"{outlet}:[a-z0-9_]+"


def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def schema_types(prop: dict[str, Any]) -> set[str]:
    kind = prop["type"]
    return set(kind) if isinstance(kind, list) else {kind}


# --------------------------------------------------------------------------- schema = code = docs


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


_JSON_TYPE = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}


def test_schema_properties_are_the_manifest_row_fields() -> None:
    """Neither can drift: same names in the same order (the JSON key order), same types and nullability."""
    s = schema()
    names = [f.name for f in fields(ManifestRow)]
    assert list(s["properties"]) == names, "docs/manifest.schema.json properties follow ManifestRow's fields"
    assert s["required"] == names, "every row has every field"
    assert s["additionalProperties"] is False
    hints = typing.get_type_hints(ManifestRow)
    for name in names:
        hint = hints[name]
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        want = {"null" if a is type(None) else _JSON_TYPE[typing.get_origin(a) or a] for a in args}
        assert schema_types(s["properties"][name]) == want, f"{name}: schema type differs from ManifestRow's {hint}"
    assert s["properties"]["schema_version"]["const"] == SCHEMA_VERSION == ManifestRow("0" * 16).schema_version
    assert set(s["properties"]["status"]["enum"]) == set(STATUSES)
    # a row as written: schema_version first, then the fields in order
    row = json.loads(ManifestRow("0" * 16).to_json())
    assert list(row) == names and row["schema_version"] == SCHEMA_VERSION


def docs_table() -> list[tuple[str, str, str]]:
    """(field, type, null) of each row of the manifest table in docs/corpus-format.md."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Manifest rows (`manifest.jsonl`)", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["field", "type", "null", "meaning"], header
    assert set(lines[1].replace("|", "").strip()) == {"-"}
    out = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        names = re.findall(r"`([a-z_0-9]+)`", cells[0])
        assert len(names) == 1 and cells[0] == f"`{names[0]}`", f"one field per row of the table: {cells[0]}"
        out.append((names[0], cells[1], cells[2]))
    return out


_DOC_TYPE = {"string": {"string"}, "integer": {"integer"}, "number": {"number"}, "boolean": {"boolean"},
             "array of string": {"array"}, "object (string → integer)": {"object"}}


def test_docs_table_lists_every_schema_field_with_its_type_and_nullability() -> None:
    s = schema()
    table = docs_table()
    assert [name for name, _, _ in table] == list(s["properties"]), "the docs table lists the schema's fields, in order"
    for name, kind, null in table:
        prop = s["properties"][name]
        assert kind in _DOC_TYPE, f"{name}: unknown type {kind!r} in the docs table"
        assert null in ("yes", "no"), f"{name}: null column must be yes or no"
        want = _DOC_TYPE[kind] | ({"null"} if null == "yes" else set())
        assert schema_types(prop) == want, f"{name}: docs say {kind}, null {null}; schema says {prop['type']}"
    assert "[`manifest.schema.json`](manifest.schema.json)" in DOCS.read_text(encoding="utf-8"), "the docs point to the schema"


# --------------------------------------------------------------------------- rule names


def test_every_generic_removed_lines_key_is_listed() -> None:
    """The names :func:`clean_lines` records for its decisions in context are in ``GENERIC_RULE_NAMES``."""
    source = Path(clean.__file__).read_text(encoding="utf-8")
    literal = set(re.findall(r"\bdrop\(\s*[\w +]+,\s*\"([a-z_0-9]+)\"\)", source))
    assert {"stray_symbols", "repeated_headline", "trailing_list"} <= literal
    assert literal <= GENERIC_RULE_NAMES
    assert {r.name for r in GENERIC_RULES} <= GENERIC_RULE_NAMES
    assert all(":" not in name for name in GENERIC_RULE_NAMES)


@pytest.mark.parametrize("outlet", OUTLETS)
def test_outlet_html_rules_have_stable_names_unique_among_all_its_rules(outlet: str) -> None:
    o = get_outlet(outlet)
    html = [r.name for r in o.qualified_html_rules()]
    text = [r.name for r in o.qualified_text_rules()]
    assert html, f"{outlet} declares no HTML rule"
    assert all(re.fullmatch(OUTLET_KEY.format(outlet=re.escape(outlet)), k) for k in html + text), html + text
    assert len(set(html + text)) == len(html) + len(text), "one key per rule, HTML and text"
    assert o.rule_keys() == frozenset(html + text)
    assert [r.name for r in o.html_rules] == [k.split(":", 1)[1] for k in html]
    assert o.remove_xpaths == tuple(r.xpath for r in o.html_rules)
    assert not o.rule_keys() & GENERIC_RULE_NAMES


def _outlet(html: tuple[object, ...] = (), text: tuple[object, ...] = ()) -> Outlet:
    return Outlet(name="x", title="X", country="XX", base_url="https://x.example", domains=("x.example",),
                  editions={"en": Edition(language="en")}, default_edition="en",
                  html_rules=html, text_rules=text)  # type: ignore[arg-type]


def test_html_rule_declarations_are_checked() -> None:
    assert _outlet((node_rule("ad_slot", "//div[@class='ad']"),)).qualified_html_rules()[0] == NodeRule("x:ad_slot", "//div[@class='ad']")
    with pytest.raises(TypeError, match="node_rule"):
        _outlet(("//div[@class='ad']",))  # a bare XPath has no name
    for bad in ("", "AdSlot", "ad slot", "x:ad_slot", "ad-slot", "_ad"):
        with pytest.raises(ValueError):
            _outlet((NodeRule(bad, "//div"),))
    with pytest.raises(ValueError, match="bad XPath"):
        node_rule("ad_slot", "//div[")
    with pytest.raises(ValueError, match="two HTML rules"):
        _outlet((node_rule("ad_slot", "//div"), node_rule("ad_slot", "//aside")))
    with pytest.raises(ValueError, match="an HTML rule and a text rule"):
        _outlet((node_rule("promo", "//div[@class='promo']"),), (line_rule("promo", r"^Buy now$"),))
    with pytest.raises(ValueError, match="two text rules"):
        _outlet(text=(TextRule("promo", "a"), TextRule("promo", "b")))


def test_prune_html_counts_by_rule_name_and_keeps_tail_text() -> None:
    tree = lxml_html.document_fromstring(
        "<html><body><div class='ad'>Ad one</div>kept tail<p>Body <span class='ad'>x</span>text</p><div class='ad'>Ad two</div></body></html>"
    )
    removed = prune_html(tree, _outlet((node_rule("ad_box", "//div[@class='ad']"), node_rule("inline_ad", "//span[@class='ad']"),
                                         node_rule("nothing", "//aside"))).qualified_html_rules())
    assert removed == {"x:ad_box": 2, "x:inline_ad": 1}
    assert tree.text_content() == "kept tailBody text"


def test_a_row_without_schema_version_reads_as_version_1() -> None:
    old = json.dumps({"docid": "0" * 16, "url": "https://x.example/a", "status": "error", "removed_lines": {"html://nav": 1}})
    assert parse_manifest(old)[0].schema_version == 1
    assert parse_manifest(ManifestRow("0" * 16).to_json())[0].schema_version == SCHEMA_VERSION


# --------------------------------------------------------------------------- real crawls


def _crawl(tmp: Path, outlets: tuple[str, ...]) -> list[tuple[str, list[dict[str, Any]], dict[str, Any]]]:
    """Crawl the outlets' mirrors one after the other into one archive (the later ones' reprints of
    the earlier ones' stories become duplicate rows); (outlet, rows, summary) of each completed run."""
    archive = str(tmp / "archive")
    for outlet in outlets:
        server = serve(outlet)
        try:
            result = run_crawl(outlet, server, archive, tmp / f"spool-{outlet}", expected(outlet).get("settings"))
        finally:
            server.stop()
        assert result.returncode == 0, result.log[-3000:]
    store = open_store(archive)
    runs = []
    for prefix in completed_runs(store):
        rows = [json.loads(line) for line in read_manifest_text(store, prefix).splitlines()]
        runs.append((rows[0]["outlet"] if rows else "", rows, read_summary(store, prefix)))
    assert len(runs) == len(outlets)
    return runs


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, list[dict[str, Any]], dict[str, Any]]]:
    """Every outlet's fixture mirror crawled once: brecorder then orda into one archive (orda reprints
    a brecorder wire story: a duplicate row), pravda into another, the two at the same time."""
    groups = [("brecorder", "orda"), *((o,) for o in OUTLETS if o not in ("brecorder", "orda"))]
    with ThreadPoolExecutor(len(groups)) as pool:
        done = [pool.submit(_crawl, tmp_path_factory.mktemp("-".join(g)), g) for g in groups]
        return [run for f in done for run in f.result()]


def test_every_row_of_the_fixture_crawls_matches_the_schema(crawled: list[tuple[str, list[dict[str, Any]], dict[str, Any]]]) -> None:
    validator = jsonschema.Draft202012Validator(schema())
    seen: set[str] = set()
    assert sorted(outlet for outlet, _, _ in crawled) == OUTLETS
    for outlet, rows, _ in crawled:
        assert rows, f"{outlet}: the crawl wrote no rows"
        for row in rows:
            errors = [f"{'/'.join(map(str, e.absolute_path)) or '(row)'}: {e.message}" for e in validator.iter_errors(row)]
            assert not errors, (row["url"], errors)
            assert row["schema_version"] == SCHEMA_VERSION
            seen.add(row["status"])
    assert seen == set(STATUSES), f"the fixture crawls exercise every status, got {sorted(seen)}"


def test_removed_lines_keys_are_stable_rule_names(crawled: list[tuple[str, list[dict[str, Any]], dict[str, Any]]]) -> None:
    for outlet, rows, _ in crawled:
        own = get_outlet(outlet).rule_keys()
        html = {r.name for r in get_outlet(outlet).qualified_html_rules()}
        keys = {k for r in rows for k in r["removed_lines"]}
        for key in keys:
            assert key in GENERIC_RULE_NAMES or re.fullmatch(OUTLET_KEY.format(outlet=re.escape(outlet)), key), (outlet, key)
            assert key in GENERIC_RULE_NAMES or key in own, f"{outlet}: {key} is not a rule the outlet declares"
        # both cleaning layers are counted: the outlet's HTML rules and text rules (its own or generic)
        assert keys & html and keys - html, (outlet, sorted(keys))


def test_summary_has_the_schema_version(crawled: list[tuple[str, list[dict[str, Any]], dict[str, Any]]]) -> None:
    for outlet, _, summary in crawled:
        assert summary.get("schema_version") == SCHEMA_VERSION, f"{outlet}: summary.json has no schema_version {SCHEMA_VERSION}"
