"""geo.maps: offline assets, layers, legends, standalone export."""
from __future__ import annotations

import logging
import math
import re
import subprocess
import sys

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from geo import maps
from geo.errors import GeoInputError

URL = re.compile(r"https?://[^\s\"'<>)]+")
X0, Y0 = 429_000, 433_000  # Leeds, British National Grid


@pytest.fixture
def cells():
    return gpd.GeoDataFrame(
        {"harm": [0.0, 5.0, 12.0, 40.0, np.nan, 7.0], "cell": list("abcdef")},
        geometry=[box(X0 + i * 200, Y0, X0 + (i + 1) * 200, Y0 + 200) for i in range(6)],
        crs="EPSG:27700")


@pytest.fixture
def sites():
    return gpd.GeoDataFrame(
        {"kind": ["School", "bail_hostel", "Pharmacy", "Car park"],
         "name": ["St Mary's <b>", "Approved premises", "Chemist", "Multi-storey"]},
        geometry=[Point(X0 + 100, Y0 + 100), Point(X0 + 600, Y0 + 100),
                  Point(X0 + 900, Y0 + 150), Point(X0 + 1100, Y0 + 50)],
        crs="EPSG:27700").to_crs(4326)


def crimes(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(1)
    xy = rng.uniform([X0, Y0], [X0 + 1200, Y0 + 200], size=(n, 2))
    return gpd.GeoDataFrame({"type": rng.choice(["Robbery", "Violence"], n)},
                            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                            crs="EPSG:27700")


@pytest.fixture
def full_map(cells, sites):
    m = maps.base_map(maps.wgs84_bounds(cells))
    maps.add_choropleth(m, cells, "harm", name="Harm (grid)", label="Harm (CCHI days)",
                        tooltip_fields=["cell"])
    maps.add_points(m, crimes(50), name="Crimes", color_by="type", tooltip_fields=["type"])
    maps.add_points(m, crimes(300), name="Calls", max_points=100)
    maps.add_sites(m, sites, buffers_m=(200, 400))
    beats = cells.dissolve().assign(beat="Beat 1")
    maps.add_boundaries(m, beats, name="Beats", name_col="beat")
    maps.add_areas(m, cells.iloc[:2].dissolve().assign(name="Op A"), name="Operations")
    maps.add_draw(m)
    folium.plugins.HeatMap([[53.8, -1.55, 1.0]], name="Heat").add_to(m)  # plain folium
    return maps.finish(m)


def test_rendered_map_loads_nothing_from_the_internet(full_map):
    html = full_map.get_root().render()
    assert URL.findall(html) == []
    for asset in ("leaflet/leaflet.js", "markercluster/leaflet.markercluster.js",
                  "leaflet-draw/leaflet.draw.js", "folium/leaflet_heat.min.js"):
        assert f'"/app/static/vendor/{asset}"' in html


def test_every_vendored_asset_exists():
    for rel in filter(None, maps.LOCAL_ASSETS.values()):
        assert (maps.VENDOR_DIR / rel).is_file(), rel
    assert (maps.VENDOR_DIR / "LICENSES.md").is_file()


def test_tile_url_is_the_only_remote_url(cells):
    tiles = "https://tiles.force.internal/{z}/{x}/{y}.png"
    m = maps.base_map(maps.wgs84_bounds(cells), tile_url=tiles, attribution="Force GIS")
    html = maps.finish(m).get_root().render()
    assert set(URL.findall(html)) == {tiles}
    assert "Force GIS" in html


def test_no_tiles_means_max_zoom_for_clustering(cells):
    m = maps.base_map(maps.wgs84_bounds(cells))
    html = m.get_root().render()
    assert '"maxZoom": 19' in html
    assert "L.tileLayer" not in html and '"preferCanvas": true' in html


def test_asset_base_is_configurable(cells):
    m = maps.base_map(maps.wgs84_bounds(cells), asset_base="/maps/vendor/")
    html = maps.finish(m).get_root().render()
    assert '"/maps/vendor/leaflet/leaflet.js"' in html and "/app/static" not in html


def test_layers_and_legends_present(full_map):
    html = full_map.get_root().render()
    for name in ("Harm (grid)", "Crimes", "Calls", "Sensitive sites", "Beats",
                 "Operations", "Heat"):
        assert f'"{name}"' in html, name  # as a key of the layer control
    assert "L.control.layers" in html
    for legend_text in ("Harm (CCHI days)", "Sensitive sites (rings: 200, 400 m)",
                        "Bail hostel", "Other", "Robbery"):
        assert legend_text in html, legend_text


def test_choropleth_classes_cover_the_values(cells):
    m = maps.base_map(maps.wgs84_bounds(cells))
    group = maps.add_choropleth(m, cells, "harm", name="Harm", label="Harm")
    geojson = next(iter(group._children.values()))
    fills = [f["properties"]["_fill"] for f in geojson.data["features"]]
    assert len(fills) == len(cells)
    assert fills[4] == "#cccccc"  # NaN is grey, "No data"
    assert len(set(fills) - {"#cccccc"}) >= 3
    # The value in the tooltip is formatted with fmt.
    assert [f["properties"]["_t0"] for f in geojson.data["features"]][3] == "40"


def test_points_cluster_above_max_points():
    m = maps.base_map((-1.56, 53.79, -1.53, 53.80))
    few = maps.add_points(m, crimes(100), name="Few", max_points=100)
    many = maps.add_points(m, crimes(101), name="Many", max_points=100)
    assert isinstance(few, folium.FeatureGroup)
    assert isinstance(many, folium.plugins.FastMarkerCluster)
    assert len(many.data) == 101


def test_site_buffers_are_in_metres_for_lonlat_input(sites):
    m = maps.base_map(maps.wgs84_bounds(sites))
    group = maps.add_sites(m, sites, buffers_m=(200, 400))
    ring_layers = [c for c in group._children.values() if getattr(c, "marker", None) is not None
                   and isinstance(c.marker, folium.Circle)]
    # point sites get Leaflet circles, whose radius is in metres on the ground
    assert sorted(layer.marker.options["radius"] for layer in ring_layers) == [200.0, 400.0]
    centres = gpd.GeoDataFrame.from_features(ring_layers[0].data, crs=4326)
    assert len(centres) == len(sites)
    # polygon sites (e.g. a hostel's footprint) get true buffers computed in metres
    poly = sites.to_crs(27700).assign(geometry=lambda d: d.buffer(10)).to_crs(4326)
    group = maps.add_sites(maps.base_map(maps.wgs84_bounds(poly)), poly, buffers_m=(200,))
    rings = gpd.GeoDataFrame.from_features(next(iter(group._children.values())).data, crs=4326)
    areas = rings.to_crs(27700).area
    assert areas.to_numpy() == pytest.approx(math.pi * 210**2, rel=0.02)


def test_site_kinds_are_normalised(sites):
    assert [maps.site_kind(k) for k in sites["kind"]] == [
        "school", "bail hostel", "pharmacy", "other"]


def test_tooltips_escape_html(sites):
    m = maps.base_map(maps.wgs84_bounds(sites))
    maps.add_sites(m, sites)
    html = m.get_root().render()
    assert "St Mary's <b>" not in html
    assert r"St Mary\u0026#x27;s \u0026lt;b\u0026gt;" in html  # escaped, then JSON


def test_legend_escapes_html():
    m = maps.base_map((-1.56, 53.79, -1.53, 53.80))
    maps.add_legend(m, "<script>x</script>", [("#000", "a & b")])
    html = m.get_root().render()
    assert "<script>x" not in html and "a &amp;amp; b" not in html


def test_unvendored_plugin_is_dropped_with_a_warning(cells, caplog):
    m = maps.base_map(maps.wgs84_bounds(cells))
    folium.plugins.MiniMap().add_to(m)
    with caplog.at_level(logging.WARNING, logger="geo.render.map_assets"):
        html = m.get_root().render()
    assert "Control.MiniMap.js" not in html  # (its own OSM tile layer is still there)
    assert "not vendored" in caplog.text


def test_standalone_export_inlines_leaflet(full_map):
    html = maps.render_standalone(full_map)
    assert "Leaflet 1.9.4" in html  # leaflet.js's own header
    assert "L.markerClusterGroup" in html and "markerClusterGroup=function" in html
    assert not re.search(r'(src|href)="/app/static', html)
    assert "data:image/png;base64," in html  # CSS images inlined
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', html)
    assert len(html) < 2_000_000


def test_missing_vendored_file_says_how_to_fix(cells, tmp_path):
    m = maps.base_map(maps.wgs84_bounds(cells))
    with pytest.raises(GeoInputError, match=r"missing.*vendor_assets\.sh"):
        maps.render_standalone(m, static_dir=tmp_path)


def test_bounds_in_metres_are_rejected(cells):
    with pytest.raises(GeoInputError, match=r"longitude/latitude.*to_crs\(4326\)"):
        maps.base_map(cells.total_bounds)


def test_frame_without_crs_is_rejected(cells):
    m = maps.base_map((-1.56, 53.79, -1.53, 53.80))
    with pytest.raises(GeoInputError, match=r"no CRS.*set_crs"):
        maps.add_areas(m, cells.set_crs(None, allow_override=True), name="Ops")


def test_missing_column_is_named(cells):
    m = maps.base_map((-1.56, 53.79, -1.53, 53.80))
    with pytest.raises(GeoInputError, match=r"no column 'risk'.*harm"):
        maps.add_choropleth(m, cells, "risk", name="Risk", label="Risk")


def test_polygons_are_not_points(cells):
    m = maps.base_map((-1.56, 53.79, -1.53, 53.80))
    with pytest.raises(GeoInputError, match=r"needs points.*centroid"):
        maps.add_points(m, cells, name="Cells")


def test_maps_never_imports_streamlit():
    code = "import sys, geo.maps; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_empty_layers_do_not_fail(cells, sites):
    m = maps.base_map(maps.wgs84_bounds(cells))
    maps.add_choropleth(m, cells.iloc[:0], "harm", name="Harm", label="Harm")
    maps.add_points(m, crimes(0), name="Crimes", color_by="type")
    maps.add_sites(m, sites.iloc[:0])
    maps.add_areas(m, cells.iloc[:0].assign(name=[]), name="Ops")
    assert "Harm" in maps.finish(m).get_root().render()
