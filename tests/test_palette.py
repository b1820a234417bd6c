"""One palette: the dashboard's folium layers and the static maps of briefings and reports agree.

Every class colour lives in :mod:`geo.render.palette`; these tests draw the same classes
through each code path and compare the colours, and check that no other module writes a
hex colour literal of its own.
"""
from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely
from matplotlib.colors import to_hex

from geo import briefing, hotspot_runs, maps, report_html
from geo.render import palette
from geo.render.static_maps import StaticMap

ROOT = Path(__file__).resolve().parents[1]
CRS = "EPSG:27700"
HEX = re.compile(r"""^[rbuRBU]?(['"])#[0-9a-fA-F]{3,8}\1$""")


def _hex_literals(path: Path) -> list[str]:
    """Python string literals in ``path`` that are nothing but a hex colour."""
    toks = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return [f"{path.relative_to(ROOT)}:{t.start[0]}: {t.string}" for t in toks
            if t.type == tokenize.STRING and HEX.match(t.string)]


def test_no_hex_colour_literal_outside_the_palette():
    files = [p for d in ("geo", "dashboard") for p in (ROOT / d).rglob("*.py")
             if p != ROOT / "geo" / "render" / "palette.py"]
    assert len(files) > 20
    found = [hit for p in files for hit in _hex_literals(p)]
    assert found == [], "colour literals outside geo/render/palette.py:\n" + "\n".join(found)


def test_the_literal_check_finds_a_colour(tmp_path):
    bad = ROOT / "tests" / "_palette_probe_tmp.py"
    try:
        bad.write_text('COLOR = "#ef8a62"\nCSS = "color: #222; x"\n', encoding="utf-8")
        assert _hex_literals(bad) == ['tests/_palette_probe_tmp.py:1: "#ef8a62"']
    finally:
        bad.unlink()


def test_families_cover_every_class_the_methods_produce():
    from geo.hotspots import CALLS_CRIME_CLASSES, HOTSPOT_LABELS
    from geo.spacetime import EHSA_PATTERNS
    drawn = [c for c in HOTSPOT_LABELS if c != "Not significant"] + list(hotspot_runs.KDE_CLASSES) \
        + list(hotspot_runs.CLUSTER_CLASSES) + list(hotspot_runs.SIMPLE_LABELS.values()) \
        + [c for c in EHSA_PATTERNS if c in palette.EMERGING_COLORS] \
        + [c for c in CALLS_CRIME_CLASSES if c != "Not hot"]
    assert [c for c in drawn if c not in palette.CLASS_COLORS] == []
    assert len([c for c in EHSA_PATTERNS if c in palette.EMERGING_COLORS]) == 16
    assert hotspot_runs.CLASS_COLORS is palette.CLASS_COLORS and maps.SITE_COLORS is palette.SITE_COLORS


# ------------------------------------------------------------------ the same class, both renderers
def _cells():
    labels = ["Hot spot 99%", "Hot spot 95%", "Hot spot 90%", "Cold spot 95%", "Not significant"]
    geoms = [shapely.box(i * 300, 0, i * 300 + 300, 300) for i in range(len(labels))]
    return gpd.GeoDataFrame({"class": labels, "hotspot": labels, "n": np.arange(len(labels)),
                             "harm": 1.0, "gistar": 0.0, "p_adj": 0.5}, geometry=geoms, crs=CRS)


@pytest.fixture
def static_calls(monkeypatch):
    """Record the colour of every class fill, patch and site marker the static renderer draws."""
    seen: dict[str, str] = {}
    orig_patch, orig_marker = StaticMap.patch, StaticMap.marker

    def patch(self, color, label, **kw):
        seen[label] = to_hex(color) if color != "none" else kw.get("edgecolor")
        return orig_patch(self, color, label, **kw)

    def marker(self, mk, color, label):
        seen[label] = to_hex(color)
        return orig_marker(self, mk, color, label)

    monkeypatch.setattr(StaticMap, "patch", patch)
    monkeypatch.setattr(StaticMap, "marker", marker)
    return seen


def _folium_fills(m: folium.Map) -> set[str]:
    html = m.get_root().render()  # a style's fill colour, or a feature's own (filled layers: style as data)
    return {h.lower() for h in re.findall(r'"(?:fillColor|_fill)":\s*"(#[0-9a-fA-F]{6})"', html)}


def test_gistar_classes_share_colours_on_the_dashboard_and_in_the_briefing(static_calls):
    cells = _cells()
    m = maps.base_map(maps.wgs84_bounds(cells))
    hotspot_runs.add_hotspot_layer(m, cells, method="gistar", classes=tuple(palette.HOTSPOT_COLORS),
                                   name="Hot spots", title="Gi*")
    dashboard = _folium_fills(m)
    area = briefing.Area("polygon", "polygon", "Test", shapely.box(0, 0, 1500, 300))
    png = briefing.map_png(area, crs=CRS, hot=cells)
    assert png[:4] == b"\x89PNG"
    for label in ("Hot spot 99%", "Hot spot 95%", "Hot spot 90%", "Cold spot 95%"):
        colour = palette.HOTSPOT_COLORS[label]
        assert static_calls[f"{label} (Gi*)"] == colour
        assert colour in dashboard, label
    assert static_calls["Hot spot 95% (Gi*)"] == "#ef6548"   # was #ef8a62 in the PDFs
    assert "Not significant (Gi*)" not in static_calls


def test_site_kinds_share_colours_on_the_dashboard_and_in_the_briefing(static_calls):
    sites = gpd.GeoDataFrame({"kind": ["school", "needle exchange"], "name": ["A", "B"]},
                             geometry=[shapely.Point(100, 100), shapely.Point(900, 200)], crs=CRS)
    m = maps.base_map(maps.wgs84_bounds(sites))
    maps.add_sites(m, sites, buffers_m=(400,))
    dashboard = _folium_fills(m)
    area = briefing.Area("polygon", "polygon", "Test", shapely.box(0, 0, 1500, 300))
    briefing.map_png(area, crs=CRS, sites=sites)
    for kind in ("school", "needle exchange"):
        assert static_calls[kind] == palette.SITE_COLORS[kind]
        assert palette.SITE_COLORS[kind] in dashboard


def test_results_areas_share_colours_on_the_dashboard_and_in_the_report(static_calls):
    page = (ROOT / "dashboard" / "app_pages" / "operations.py").read_text(encoding="utf-8")
    assert "RESULT_COLORS = palette.AREA_COLORS" in page and "palette.RING_COLORS" in page
    import importlib.util
    spec = importlib.util.spec_from_file_location("_td", ROOT / "tests" / "test_displacement.py")
    td = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(td)
    res = td._analyse(td._incidents(np.random.default_rng(11), plant=(600, 0, 120)))
    png = report_html.static_map_png(res, bcus=td._bcus())
    assert png[:4] == b"\x89PNG"
    assert static_calls["Target"] == palette.AREA_COLORS["target"]
    assert static_calls["Comparison (rest of the BCU)"] == palette.AREA_COLORS["control"]
    for i, ring in enumerate(res.catchment.rings):     # the catchment rings, as on the page's folium map
        assert static_calls[f"Ring {ring.label}"] == palette.RING_COLORS[i]


def test_legend_items_follow_the_given_order_and_counts():
    items = palette.legend_items(palette.HOTSPOT_COLORS, ["Cold spot 99%", "Hot spot 99%"],
                                 counts={"Hot spot 99%": 1234})
    assert items == [("#2166ac", "Cold spot 99% (0)"), ("#b2182b", "Hot spot 99% (1,234)")]
    assert palette.class_color("unknown class") == palette.FALLBACK
