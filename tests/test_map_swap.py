"""The Map page's base map stays mounted: only the filters' layers are swapped (issue 12, speed).

``st_folium`` keeps its component mounted while the key made from the base map's script is
unchanged, and replaces only the groups passed as ``feature_group_to_add``. Here the
component call is captured (no browser) to check that the key stays the same when the
layers change, that each swapped layer carries its legend, and that the base map is left
as it was.
"""
from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geo import maps
from geo.render.maps import geojson_data

X0, Y0 = 429_000, 433_000
CRS = "EPSG:27700"


@pytest.fixture
def units():
    return gpd.GeoDataFrame({"name": ["North", "South <b>"], "harm": [3.0, 12.0], "count": [1, 4]},
                            geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0, Y0 - 1000, X0 + 1000, Y0)], crs=CRS)


@pytest.fixture
def points():
    return gpd.GeoDataFrame({"category": ["Robbery", "Burglary"] * 30, "month": "2024-03"},
                            geometry=[Point(X0 + 10 * i, Y0 + 7 * i) for i in range(60)], crs=CRS)


@pytest.fixture
def captured(monkeypatch):
    """Every ``st_folium`` component call's arguments (the component itself is not run)."""
    import streamlit_folium
    calls = []
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kw: calls.append(kw))
    return calls


def _base(units):
    m = maps.base_map(maps.wgs84_bounds(units))
    maps.add_boundaries(m, units, name="Wards", name_col="name")
    maps.add_labels(m, units, name="Ward names", min_zoom=13)
    return maps.swappable(m)


def _layers(units, points, column):
    scratch = maps.base_map((-1.0, 53.0, -1.0, 53.0))
    maps.add_choropleth(scratch, units, column, name=f"{column} by LSOA", label=f"{column} label")
    maps.add_points(scratch, points, name="Calls", max_points=10)  # a marker cluster above 10
    return maps.dynamic_layers(scratch)


def _show(base, groups):
    from streamlit_folium import st_folium
    with maps.swapping(base):
        st_folium(base, feature_group_to_add=groups, layer_control=maps.layer_control(first=groups),
                  returned_objects=[], key="main_map", render=False)


def test_the_base_map_keeps_its_key_while_the_layers_change(units, points, captured):
    base = _base(units)
    children = list(base._children)
    _show(base, _layers(units, points, "harm"))
    _show(base, _layers(units, points, "count"))
    first, second = captured
    assert first["key"] == second["key"]  # the browser keeps the map mounted
    assert first["script"] == second["script"]
    assert first["feature_group"] != second["feature_group"]
    assert "harm label" in first["feature_group"] and "count label" in second["feature_group"]
    assert "harm label" not in first["script"]  # the choropleth is not part of the base map
    assert list(base._children) == children  # the groups and the control were taken off again


def test_the_kept_base_map_names_only_variables_it_declares(units, points, captured):
    """Mounted again (back on the page), the map's script must run whole: no stale names."""
    import re
    base = _base(units)
    for column in ("harm", "count", "harm"):
        _show(base, _layers(units, points, column))
    script = captured[-1]["script"]
    declared = set(re.findall(r"\b(?:var|let|const)\s+(\w+)", script))
    used = {name for pair in re.findall(r"(\w+)\.addTo\((\w+)\)", script) for name in pair}
    assert used and used <= declared | {"map_div"}


def test_each_swapped_layer_carries_its_legend_and_a_cluster_is_wrapped(units, points, captured):
    groups = _layers(units, points, "harm")
    assert [g.layer_name for g in groups] == ["harm by LSOA", "Calls"]
    _show(_base(units), groups)
    fg = captured[0]["feature_group"]
    # the legend is shown while its group is on the map, and leaves with it
    assert fg.count('group.on("add"') == 1 and fg.count('group.on("remove"') == 1
    assert "L.markerClusterGroup" in fg
    control = captured[0]["layer_control"]
    assert control.index('"harm by LSOA"') < control.index('"Calls"') < control.index('"Wards"')


def test_the_base_map_loads_the_cluster_plugin_for_layers_swapped_in_later(units, points, captured):
    _show(_base(units), [])
    assert any("markercluster" in link for link in captured[0]["js_links"])
    assert all(link.startswith("/app/static/vendor/") for link in captured[0]["js_links"])


def test_labels_are_one_script_with_every_name_escaped(units):
    m = maps.base_map(maps.wgs84_bounds(units))
    maps.add_labels(m, units, name="Ward names")
    html = maps.finish(m).get_root().render()
    assert html.count("L.divIcon(") == 1
    assert "North" in html and "South \\u0026lt;b\\u0026gt;" in html and "South <b>" not in html


def test_geojson_bbox_gives_the_same_bounds_as_folium(units):
    import folium
    data = geojson_data(units.to_crs(4326), ["name"])
    minx, miny, maxx, maxy = units.to_crs(4326).total_bounds
    assert data["bbox"] == pytest.approx([minx, miny, maxx, maxy])
    fast = maps.base_map(maps.wgs84_bounds(units))
    maps.add_boundaries(fast, units, name="Wards", name_col="name")
    slow = folium.Map()
    folium.GeoJson({k: v for k, v in data.items() if k != "bbox"}).add_to(slow)
    flat = [v for corner in fast.get_bounds() for v in corner]
    assert flat == pytest.approx([v for corner in slow.get_bounds() for v in corner], abs=1e-5)


def test_kept_layer_groups_passed_again_give_the_same_script_with_no_stale_names(units, points, captured):
    """A page keeps its drawn groups between runs (``ui.layer_groups``) and passes them again: each run
    must send the same layer script, naming only variables it declares (no "add to" line left under
    the names of an earlier run), also when a group moves to another place in the list."""
    import re
    from streamlit_folium import st_folium
    base = _base(units)
    groups = _layers(units, points, "harm")
    other = _layers(units, points, "count")[:1]
    runs = [groups, groups, other + groups, groups]
    for run in runs:
        with maps.swapping(base, run):
            st_folium(base, feature_group_to_add=run, layer_control=maps.layer_control(first=run),
                      returned_objects=[], key="main_map", render=False)
    scripts = [c["feature_group"] for c in captured]
    assert scripts[0] == scripts[1] == scripts[3]
    for fg in scripts:
        declared = set(re.findall(r"\b(?:var|let|const|function)\s+(\w+)", fg))
        used = {name for pair in re.findall(r"(\w+)\.addTo\((\w+)\)", fg) for name in pair}
        assert used and used <= declared | {"map_div"}, used - declared
        assert fg.count("harm label") == scripts[0].count("harm label")  # drawn once, not twice
