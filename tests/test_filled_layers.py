"""Filled layers styled from their data (``geo.render.filled_layers``) and the hot-spot layer as data.

A cluster layer's features each carry their class colour, one script reads it (no per-feature style
``case``), the tooltip texts are escaped, and a layer drawn from its kept data renders the same script as
one drawn from the frame. Small frames built in code.
"""
from __future__ import annotations

import json
import pickle
import re

import geopandas as gpd
import shapely

from geo import maps
from geo.hotspot_runs import add_hotspot_layer, hotspot_layer_data
from geo.render import palette
from geo.render.filled_layers import FilledLayer

CRS = "EPSG:27700"
CLASSES = ("Cluster: top 5 by harm", "Cluster: 6th–20th by harm", "Cluster: other")


def _clusters() -> gpd.GeoDataFrame:
    classes = [CLASSES[0], CLASSES[0], CLASSES[1], CLASSES[2], "not drawn"]
    geoms = [shapely.box(430000 + i * 400, 387000, 430300 + i * 400, 387300) for i in range(len(classes))]
    return gpd.GeoDataFrame({"class": classes, "cluster_id": range(1, 6), "n": [50, 40, 30, 20, 10],
                             "harm": [900.0, 800.0, 300.0, 100.0, 5.0],
                             "top_categories": ["Drugs", "<img src=x onerror=alert(1)>", "Robbery", "`${x}`", "-"]},
                            geometry=geoms, crs=CRS)


def _render(layer) -> str:
    m = maps.base_map((-1.5, 53.3, -1.4, 53.4))
    add_hotspot_layer(m, layer, classes=CLASSES, method="dbscan", name="Hot spots", title="DBSCAN clusters")
    html = m.get_root().render()
    return re.sub(r"_[0-9a-f]{32}", "_ID", html)  # folium's element names differ between two maps


def test_each_feature_carries_its_class_colour_and_one_script_styles_them():
    data = hotspot_layer_data(_clusters(), classes=CLASSES, method="dbscan")
    features = json.loads(data.geojson)["features"]
    assert [f["properties"]["_fill"] for f in features] == [palette.class_color(c) for c in
                                                            (CLASSES[0], CLASSES[0], CLASSES[1], CLASSES[2])]
    html = _render(_clusters())
    assert html.count("_styler(feature)") == 1 and "case " not in html  # no per-feature switch
    assert "feature.properties[\"_fill\"]" in html
    assert [lab for _, lab in data.legend_items] == [f"{CLASSES[0]} (2)", f"{CLASSES[1]} (1)", f"{CLASSES[2]} (1)"]


def test_tooltips_are_escaped_in_the_layer_data():
    data = hotspot_layer_data(_clusters(), classes=CLASSES, method="dbscan")
    assert "<img" not in data.geojson and "onerror=alert(1)&gt;" in data.geojson.replace("\\u0026", "&")
    assert "${x}" not in data.geojson  # backticks and $ escaped for folium's template literal (geo.safe.js_html)
    assert data.tooltip_aliases[0].startswith("Cluster")


def test_a_layer_drawn_from_its_kept_data_is_the_layer_drawn_from_the_frame():
    data = pickle.loads(pickle.dumps(hotspot_layer_data(_clusters(), classes=CLASSES, method="dbscan")))
    assert isinstance(data, FilledLayer)
    assert _render(data) == _render(_clusters())


def test_an_empty_selection_draws_no_features_and_says_none_significant():
    frame = _clusters().assign(**{"class": "not drawn"})
    data = hotspot_layer_data(frame, classes=CLASSES, method="dbscan")
    assert json.loads(data.geojson)["features"] == []
    assert [lab for _, lab in data.legend_items] == ["None significant"]
    assert "None significant" in _render(frame)


def test_the_outline_folium_reads_matches_the_layer_text():
    data = hotspot_layer_data(_clusters(), classes=CLASSES, method="dbscan")
    full = json.loads(data.geojson)
    assert data.n_features == len(full["features"]) == 4
    assert list(data.bbox) == full["bbox"] and data.outline()["bbox"] == full["bbox"]
    assert set(data.outline()["features"][0]["properties"]) == set(full["features"][0]["properties"])


def test_display_projections_share_one_thread_and_give_what_to_crs_gives():
    import threading

    from geo.render.maps import project
    frame = _clusters()
    seen = []

    def run():
        seen.append(project(frame, 4326))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = frame.to_crs(4326)
    for got in seen:
        assert got.crs == expected.crs
        assert shapely.equals_exact(got.geometry.to_numpy(), expected.geometry.to_numpy(), 1e-9).all()
    names = {t.name for t in threading.enumerate()}
    assert sum(n.startswith("geo-project") for n in names) == 1
