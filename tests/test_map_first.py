"""The Map page's first paint: the incidents frame kept in the workspace (``geo.stored_frames``,
``services.incidents(stored=True)``) and the unit lookup on distinct map points (``aggregate.unit_of``).

Both must give exactly what the old path gave on the demo data: the kept frame is the frame read from
the store (every column, dtype, index and point), for an analyst and, trimmed, for an inspector; the
unit of each incident is the one a spatial join of every incident finds.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import box

from geo import Workspace, aggregate, services
from geo import stored_frames as sf
from geo import stored_results as sr

ROOT = Path(__file__).resolve().parents[1]
ANALYST = ("analyst", ())
INSPECTOR = ("inspector", ("E08000019",))


pytestmark = pytest.mark.usefixtures("server_secret")


@pytest.fixture()
def sy(sy_copy):
    return sy_copy


def _old_unit_of(incidents, units):
    """``aggregate.unit_of`` before it joined distinct points: a spatial join of every incident."""
    pts = incidents[incidents.geometry.notna()]
    joined = gpd.sjoin(pts[["geometry"]], units[["code", "geometry"]], how="inner", predicate="intersects")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["code"].reindex(incidents.index).astype(object).where(lambda c: c.notna(), None)


def test_unit_of_on_distinct_points_is_the_join_of_every_incident(demo_workspaces):
    ws = Workspace.open(demo_workspaces["south-yorkshire"])
    try:
        inc = ws.incidents(layer="crime")
        levels = [lv for lv in ("lsoa", "ward", "neighbourhood", "bcu") if lv in ws.store.boundary_levels()]
        assert len(inc) > 10_000 and len(levels) >= 2  # the distinct-point path, on real police.uk points
        for level in levels:
            units = ws.boundaries(level)
            new, old = aggregate.unit_of(inc, units), _old_unit_of(inc, units)
            pd.testing.assert_series_equal(new, old)
            assert new.notna().sum() > 10_000  # (neighbourhoods cover Sheffield only)
    finally:
        ws.close()


def test_unit_of_a_point_on_a_shared_edge_and_outside_every_unit():
    units = gpd.GeoDataFrame({"code": ["W", "E"]}, geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
                             crs="EPSG:27700")
    rng = np.random.default_rng(1)
    xy = np.array([(100.0, 50.0), (50.0, 50.0), (150.0, 50.0), (500.0, 500.0)])[rng.integers(0, 4, 12_000)]
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:27700",
                           index=rng.permutation(12_000) + 7)
    pts.loc[pts.index[:3], "geometry"] = None
    new = aggregate.unit_of(pts, units)
    pd.testing.assert_series_equal(new, _old_unit_of(pts, units))
    assert new.isna().sum() == 3 + (xy[3:, 0] == 500).sum()  # no location, or outside: None
    assert set(new.dropna()) == {"W", "E"}


def test_the_kept_frame_is_the_frame_read(sy):
    read = services.incidents(sy, user=ANALYST, layer="crime")
    later = []
    first = services.incidents(sy, user=ANALYST, layer="crime", stored=True, keep=later.append)
    assert_geodataframe_equal(first, read)
    assert len(later) == 1  # nothing kept yet: a step to keep it, to run after the paint
    services.incidents(sy, user=ANALYST, layer="crime", stored=True, keep=later.append)  # a second session
    assert len(later) == 2
    saved = []
    assert later[0]() is True
    assert later[1]() is False  # the same frame is written once
    again = []
    kept = services.incidents(sy, user=ANALYST, layer="crime", stored=True, keep=again.append)
    assert again == []  # loaded, not read: nothing to keep
    assert_geodataframe_equal(kept, read)
    assert list(kept.columns) == list(read.columns) and kept.crs == read.crs
    assert (kept.dtypes == read.dtypes).all()
    # an inspector's frame: the kept whole-force frame trimmed, the rows of the pushed-down read
    insp = services.incidents(sy, user=INSPECTOR, layer="crime", stored=True, keep=saved.append)
    assert_geodataframe_equal(insp, services.incidents(sy, user=INSPECTOR, layer="crime"))
    assert 0 < len(insp) < len(read) and saved == []


def test_the_demo_and_first_start_step_keeps_the_maps_frame_once(sy):
    steps = services.incidents_frame_steps(sy)
    assert [label for label, _ in steps] == ["keep the crime incidents frame"]  # the layer the Map opens on
    assert steps[0][1]() is True
    assert services.incidents_frame_steps(sy) == []  # kept: nothing more to do
    later = []
    kept = services.incidents(sy, user=ANALYST, layer="crime", stored=True, keep=later.append)
    assert later == []  # loaded, not read
    assert_geodataframe_equal(kept, services.incidents(sy, user=ANALYST, layer="crime"))


def test_an_inspector_never_keeps_a_frame_and_a_change_of_harm_weights_is_a_new_key(sy):
    later = []
    services.incidents(sy, user=INSPECTOR, layer="crime", stored=True, keep=later.append)
    assert later == []  # an inspector reads their BCUs only: not the whole force's frame
    ws = Workspace.open(sy)
    try:
        key = sf.incidents_key(ws.store, layer="crime", statuses=("mapped",))
        table = ws.harm_table()
        table.loc[table.index[0], "weight"] = table["weight"].iloc[0] + 1
        ws.set_harm_table(table)
        assert sf.incidents_key(ws.store, layer="crime", statuses=("mapped",)) != key
        assert sf.incidents_key(ws.store, layer="crime", statuses=("no_location",)) != key
    finally:
        ws.close()


def test_a_frame_not_signed_by_this_server_is_never_used(sy):
    ws = Workspace.open(sy)
    try:
        key = sf.incidents_key(ws.store, layer="crime", statuses=("mapped",))
        forged = ws.incidents(layer="crime").iloc[:5]
        ws.store.save_result(key, sf.frame_id("crime", ("mapped",)),
                             sr.pack_result(sf.pack_frame(forged), secret=b"x" * 64))
        assert sf.load_frame(ws.store, key) is None
    finally:
        ws.close()
    later = []
    got = services.incidents(sy, user=ANALYST, layer="crime", stored=True, keep=later.append)
    assert len(got) > 5 and len(later) == 1


def test_a_later_write_waits_for_the_maps_gistar_warm_up_queued_after_it(monkeypatch):
    import threading

    from dashboard import data, warm
    monkeypatch.setattr(warm, "_MAP_WARMED", {})
    monkeypatch.setattr(warm, "LATER_SETTLE_S", 0.0)
    monkeypatch.setattr(warm, "MAP_SETTLE_S", 0.0)
    done = []
    monkeypatch.setattr(data, "hotspots", lambda *args: done.append(("gistar", args[6])))
    with warm.user_run:  # the first paint: the frame's write is queued first, the Gi* layer after it
        assert warm.later(lambda: done.append(("kept", threading.current_thread().name)))
        assert warm.map_gistar("ws.gpkg", 1.0, ("analyst", ()), "crime", ("2024-01", "2025-06"), (), True)
        time.sleep(0.3)
        assert done == []  # nothing beside the user's run
    assert warm.join(30)
    assert [d[0] for d in done] == ["gistar", "kept"]
    assert done[0][1] == "gistar" and done[1][1].startswith("geo-warm")
    assert "geo.hotspot_runs" in sys.modules  # imported first by the warm-up if the page had not


def test_the_maps_hot_classes_are_the_gistar_labels_hot_first():
    from geo.hotspots import HOTSPOT_LABELS
    ns: dict = {}
    src = (ROOT / "dashboard" / "app_pages" / "map.py").read_text()
    start = src.index("def hot_classes")
    exec(src[start:src.index("\n\n\n", start)], ns)  # the function alone (the page needs a session)
    assert ns["hot_classes"]() == tuple(c for c in HOTSPOT_LABELS[::-1] if c != "Not significant")
    assert ns["hot_classes"]()[0] == "Hot spot 99%" and "Not significant" not in ns["hot_classes"]()


@pytest.mark.parametrize("user", [ANALYST, INSPECTOR], ids=["analyst", "inspector"])
def test_the_choropleth_drawn_from_the_kept_shapes_is_the_one_drawn_from_its_units(demo_workspaces, user):
    """The Map's area layer drawn with ``map_view.display_units`` (the boundaries simplified and projected once,
    ``services.map_boundaries``) is, feature by feature and coordinate by coordinate, the layer drawn from the
    units themselves (simplified and projected on every filter change before)."""
    import folium
    from streamlit_folium import _get_feature_group_string

    from geo.render.map_layers import add_choropleth
    from geo.render.map_view import display_units
    sy = demo_workspaces["south-yorkshire"]
    inc = services.incidents(sy, user=user, layer="crime", statuses=("mapped",))
    ws = Workspace.open(sy)
    try:
        units = ws.boundaries("lsoa")
    finally:
        ws.close()
    codes = aggregate.unit_of(inc, units)
    agg = services.map_units(sy, user=user, incidents=inc, level="lsoa", months=("2024-07", "2025-06"),
                             codes=codes, units=units)
    shapes = services.map_boundaries(sy, user=user, level="lsoa")
    drawn = display_units(agg, shapes)
    assert drawn is not agg and drawn.crs.to_epsg() == 4326 and len(drawn) == len(agg) > 100

    def layer(frame) -> str:
        m = folium.Map()
        group = add_choropleth(m, frame, "harm", name="Harm by LSOA", label="Harm (CCHI days)",
                               tooltip_fields=["name", "count", "harm"])
        return _get_feature_group_string(group, m)
    assert layer(drawn) == layer(agg)
