"""AppTest: hostile workspace, site, category, ward and operation names are shown as text.

Regression tests of issue 10: the workspace name in page titles and a category on the harm
page fetched an external image through Markdown; a site name ran script in the Operations
results map. Each page runs on its own against a copy of the South Yorkshire demo workspace
whose names carry those payloads (``tests/hostile_data.py``). The maps are checked in the
HTML that the page hands to ``st_folium``; ``tests/browser/test_escaping.py`` opens them in
Chromium.
"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo import Workspace
from geo.auth import User
from geo.safe import md
from tests.hostile_data import BCU, CATEGORY, NOTES, OPERATION, OPERATION_ID, SITE, WARD, WORKSPACE, \
    make_hostile_workspace

PAGES = Path(__file__).resolve().parents[1] / "dashboard" / "app_pages"
#: Text that must never reach a map unescaped (Markdown is not interpreted there).
MAP_FORBIDDEN = ["${fetch", "<img", "\\u003cimg", "`${1}`"]
#: Text that must never reach Streamlit's Markdown unescaped.
MD_FORBIDDEN = ["![x](", "](http", "<img", ":red[", "*Beighton*"]


@pytest.fixture(scope="module")
def hostile(demo_workspaces, tmp_path_factory) -> Path:
    return make_hostile_workspace(demo_workspaces["south-yorkshire"], tmp_path_factory.mktemp("hostile"))


def page(name: str, path: Path, monkeypatch, role: str = "analyst") -> AppTest:
    monkeypatch.setenv("GEO_WORKSPACES", str(path.parent))
    at = AppTest.from_file(str(PAGES / name), default_timeout=240)
    at.session_state["workspace"] = str(path)
    at.session_state["auth_user"] = User(f"test-{role}", role).to_dict()
    return at


def maps_html(at: AppTest) -> list[str]:
    """The script and HTML of every ``st_folium`` map on the page (AppTest sees its arguments only)."""
    found = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "json_args") and "folium" in str(getattr(proto, "component_name", "")):
            args = json.loads(proto.json_args)
            found.append("\n".join(str(args.get(k, "")) for k in ("script", "html", "header")))
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(at._tree)
    return found


def markdown_texts(at: AppTest) -> list[str]:
    """Every Markdown string the page rendered: titles, headers, captions, markdown, alerts, metric labels."""
    out = []
    for kind in ("title", "header", "subheader", "caption", "markdown", "success", "info", "warning", "error"):
        out += [str(e.value) for e in getattr(at, kind)]
    out += [str(e.label) for e in at.metric]
    return out


def assert_inert(texts, forbidden=MD_FORBIDDEN):
    """No forbidden text outside backslash escapes (Markdown shows ``\\<`` as a plain ``<``)."""
    for text in texts:
        active = re.sub(r"\\.", "", text) if forbidden is MD_FORBIDDEN else text
        for bad in forbidden:
            assert bad not in active, f"unescaped {bad!r} in:\n{text[:300]}"


def test_map_page_title_and_map_escape_the_workspace_site_and_ward_names(hostile, monkeypatch):
    at = page("map.py", hostile, monkeypatch).run()
    assert not at.exception, at.exception
    assert at.title[0].value == f"Map · {md(WORKSPACE)}"
    assert_inert(markdown_texts(at))
    html = maps_html(at)
    assert html, "the map page handed no map to st_folium"
    assert_inert(html, MAP_FORBIDDEN)
    joined = "\n".join(html)
    assert "127.0.0.1:9/site" in joined and "127.0.0.1:9/ward" in joined  # both names are on the map, as text


def test_harm_page_shows_a_hostile_category_as_text(hostile, monkeypatch):
    at = page("harm.py", hostile, monkeypatch).run()
    assert not at.exception, at.exception
    warning = next(w.value for w in at.warning if "have no weight" in w.value)
    assert md(CATEGORY) in warning
    assert_inert(markdown_texts(at))


def test_operations_results_escape_the_site_in_flags_map_and_report(hostile, monkeypatch):
    at = page("operations.py", hostile, monkeypatch).run()
    assert not at.exception, at.exception
    at.selectbox(key="res_op").set_value(OPERATION_ID).run()
    assert not at.exception, at.exception  # the report's static map drew the name (mathtext escaped)
    texts = markdown_texts(at)
    assert_inert(texts)
    assert any(md(OPERATION) in c.value for c in at.caption)
    html = maps_html(at)
    assert_inert(html, MAP_FORBIDDEN)
    assert any("127.0.0.1:9/site" in h for h in html)  # the site in the catchment is on the results map, as text


def test_data_page_caption_escapes_the_workspace_name(hostile, monkeypatch):
    at = page("data.py", hostile, monkeypatch).run()
    assert not at.exception, at.exception
    assert any(md(WORKSPACE) in c.value for c in at.caption)
    assert_inert(markdown_texts(at))


def test_results_report_and_csv_escape_names_and_formulas(hostile):
    from geo.displacement import analyse_operation
    from geo.report_html import render_html, to_csv

    ws = Workspace.open(hostile)
    try:
        res = analyse_operation(ws, OPERATION)
        bcus = ws.boundaries("bcu")
    finally:
        ws.close()
    html = render_html(res, bcus=bcus)
    assert "<img src=x" not in html and "<script" not in html  # the page has no script at all
    assert "Op *Beighton* ![x](http://127.0.0.1:9/op.png) &lt;img src=x onerror=alert(1)&gt;" in html
    table = pd.read_csv(io.StringIO(to_csv(res)), keep_default_na=False)
    text_cells = [v for c in table.columns for v in table[c] if isinstance(v, str)]
    assert not [v for v in text_cells if v and (v[0] in "=+@" or (v[0] == "-" and not v[1:2].isdigit()))]
    assert "'" + BCU in text_cells  # the cross-boundary table names the neighbouring BCU, neutralised
    # (sites are not in the results CSV any more: the calibrated tables name rings, pieces and BCUs)


def test_register_csv_neutralises_formula_notes(hostile):
    from geo.safe import csv_text

    ws = Workspace.open(hostile)
    try:
        op = next(o for o in ws.operations() if o.op_id == OPERATION_ID)
    finally:
        ws.close()
    assert op.notes == NOTES and op.name == OPERATION
    out = pd.read_csv(io.StringIO(csv_text(pd.DataFrame([{"name": op.name, "notes": op.notes}]))))
    assert out["notes"].iloc[0] == "'" + NOTES


def test_ward_name_is_stored_as_given(hostile):
    """The fixture really stores the hostile ward name (so the map test above is meaningful)."""
    ws = Workspace.open(hostile)
    try:
        assert WARD in set(ws.boundaries("ward")["name"])
        assert ws.name == WORKSPACE
    finally:
        ws.close()
