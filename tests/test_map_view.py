"""The Map page's logic in geo: frame, sites drawn at first, panes, labels, exports, unit lookups, clusters."""
from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo import aggregate, maps
from geo.errors import GeoInputError
from geo.hotspots import auto_eps, check_pair_memory, knee_eps, point_clusters
from geo.render.map_view import shown_table, sites_in_view, static_map_png, view_area
from geo.settings import settings

X0, Y0 = 429_000, 433_000
CRS = "EPSG:27700"


@pytest.fixture
def bcus():
    return gpd.GeoDataFrame({"code": ["A", "B", "N"], "name": ["North", "South", "Next door"],
                             "force": ["F", "F", "Other"]},
                            geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0, Y0 - 1000, X0 + 1000, Y0),
                                      box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)], crs=CRS)


@pytest.fixture
def sites():
    return gpd.GeoDataFrame({"kind": ["school", "Treatment", "pharmacy", "school", "other"],
                             "name": ["In school", "Clinic", "Chemist", "Far school", "Shop"]},
                            geometry=[Point(X0 + 100, Y0 + 100), Point(X0 + 200, Y0 + 500), Point(X0 + 300, Y0 + 300),
                                      Point(X0 + 100, Y0 - 500), Point(X0 + 900, Y0 + 900)], crs=CRS)


def test_an_inspector_map_is_framed_on_their_own_area(bcus):
    own = view_area(bcus, force="F", scope=bcus.geometry.iloc[1])
    assert own.total_bounds.tolist() == bcus.iloc[[1]].total_bounds.tolist()
    force = view_area(bcus, force="F")
    assert sorted(force["code"]) == ["A", "B"]  # the neighbouring force is not in the frame
    assert len(view_area(bcus, force=None)) == 3


def test_only_schools_and_treatment_inside_the_view_are_drawn_at_first(bcus, sites):
    first, rest = sites_in_view(sites, view_area(bcus, force="F", scope=bcus.geometry.iloc[0]))
    assert list(first["name"]) == ["In school", "Clinic"]
    assert list(rest["name"]) == ["Chemist", "Shop"]  # "Far school" lies outside the inspector's BCU
    first, _ = sites_in_view(sites, bcus.iloc[:0], kinds=("pharmacy",))
    assert list(first["name"]) == ["Chemist"]
    with pytest.raises(GeoInputError, match="no column 'kind'"):
        sites_in_view(sites.drop(columns="kind"), bcus)


def test_crime_is_drawn_in_the_top_pane_and_sites_small_with_buffers_on_request(bcus, sites):
    m = maps.base_map(maps.wgs84_bounds(bcus))
    crimes = gpd.GeoDataFrame({"category": ["Robbery"] * 3}, geometry=[Point(X0 + 10 * i, Y0 + 10) for i in range(3)],
                              crs=CRS)
    maps.add_points(m, crimes, name="Incidents", color_by="category")
    maps.add_sites(m, sites, buffers_m=(200,), name="Schools", radius=4, buffers_layer=True)
    maps.add_sites(m, sites, name="Other sites", show=False, buffers_layer=True)
    html = maps.finish(m).get_root().render()
    assert maps.PANES["geo_crime"] > max(v for k, v in maps.PANES.items() if k not in ("geo_crime", "geo_labels"))
    for pane, z in maps.PANES.items():
        assert f'"{pane}"' in html and str(z) in html
    assert len(re.findall(r'"?pane"?\s*:\s*"geo_crime"', html)) == 1  # the crime points' markers
    assert len(re.findall(r'"?pane"?\s*:\s*"geo_sites"', html)) == 4  # sites and rings, two layers each
    assert re.search(r'"?radius"?\s*:\s*4\b', html)
    # the buffers and the other sites are in the layer control but switched off at first
    for name, on in (("Schools", True), ("Schools: 200 m buffers", False), ("Other sites", False),
                     ("Other sites: 200 m buffers", False), ("Incidents", True)):
        var = re.search(rf'"{re.escape(name)}"\s*:\s*(feature_group_\w+)', html).group(1)
        assert (f"{var}.addTo(" in html) is on, name


def test_labels_show_only_in_their_zoom_range(bcus):
    m = maps.base_map(maps.wgs84_bounds(bcus))
    maps.add_labels(m, bcus.assign(name=["<b>North</b>", "South", "Next door"]), name="BCU names",
                    min_zoom=8, max_zoom=11)
    html = maps.finish(m).get_root().render()
    assert "z >= 8 && z <= 11" in html
    # the name is escaped as text (then JSON-encoded: \u0026lt; is "&lt;")
    assert "\\u0026lt;b\\u0026gt;North" in html and "<b>North" not in html


def test_unit_lookup_gives_the_same_counts_as_the_spatial_join(bcus):
    rng = np.random.default_rng(3)
    xy = rng.uniform([X0 - 200, Y0 - 1200], [X0 + 2200, Y0 + 1200], size=(400, 2))
    pts = gpd.GeoDataFrame({"harm": rng.uniform(0, 10, 400), "month": "2024-01"},
                           geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=CRS)
    codes = aggregate.unit_of(pts, bcus)
    assert codes.isna().any()  # some points lie outside every unit
    sub = pts.iloc[::3]
    fast = aggregate.by_unit(sub, bcus, codes=codes)
    slow = aggregate.by_unit(sub, bcus)
    pd.testing.assert_frame_equal(pd.DataFrame(fast.drop(columns="geometry")),
                                  pd.DataFrame(slow.drop(columns="geometry")))


def test_the_map_table_holds_every_layer_with_coordinates(bcus, sites):
    agg = bcus.assign(count=[3, 0, 1], harm=[1.0, 0.0, 2.0])
    t = shown_table({"Harm by LSOA": agg, "Sites": sites, "Calls": sites.iloc[:0]})
    assert list(t["map layer"].unique()) == ["Harm by LSOA", "Sites"]
    assert t.loc[t["map layer"] == "Sites", "latitude"].between(53, 54).all()
    assert t.loc[t["map layer"] == "Harm by LSOA", "latitude"].isna().all()
    assert "geometry" not in t.columns


def test_static_png_of_the_map(bcus, sites):
    crimes = gpd.GeoDataFrame({"category": ["Robbery"] * 3}, geometry=[Point(X0 + 10 * i, Y0 + 10) for i in range(3)],
                              crs=CRS)
    png = static_map_png({"Harm": bcus.assign(harm=[1.0, 2.0, 3.0]), "Sites": sites, "Incidents": crimes},
                         frame=view_area(bcus, force="F"), outlines=bcus, title="Test $x$")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    with pytest.raises(GeoInputError, match="projected"):
        static_map_png({}, frame=bcus.to_crs(4326))


def snapped(n_points: int = 60, per_point: int = 20, spacing: float = 40.0, seed: int = 0):
    """police.uk-like data: many incidents on each of a few map points 40 m apart."""
    rng = np.random.default_rng(seed)
    grid = np.array([(X0 + spacing * (i % 10), Y0 + spacing * (i // 10)) for i in range(n_points)])
    xy = np.repeat(grid, rng.integers(1, per_point, n_points), axis=0)
    return gpd.GeoDataFrame({"harm": rng.uniform(1, 5, len(xy))},
                            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=CRS)


def test_the_automatic_radius_never_falls_below_the_snapping_scale():
    pts = snapped()
    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    assert knee_eps(x, y, 5) < settings.dbscan_min_eps_m  # the raw knee finds single map points
    assert auto_eps(x, y, 5) == settings.dbscan_min_eps_m
    out = point_clusters(pts, min_samples=6)
    assert out.attrs["eps_m"] == settings.dbscan_min_eps_m


def test_clusters_below_the_minimum_harm_are_dropped():
    pts = snapped()
    everything = point_clusters(pts, eps_m=30.0, min_samples=3, weight="harm", min_harm=0.0)
    floor = float(np.median(everything["harm"]))
    kept = point_clusters(pts, eps_m=30.0, min_samples=3, weight="harm", min_harm=floor)
    assert 0 < len(kept) < len(everything)
    assert (kept["harm"] >= floor).all() and kept.attrs["min_harm"] == floor
    assert list(kept["cluster_id"]) == list(range(1, len(kept) + 1))
    assert kept.attrs["n_noise"] == len(pts) - kept["n"].sum()
    auto = point_clusters(pts, eps_m=30.0, min_samples=3, weight="harm")
    assert auto.attrs["min_harm"] == pytest.approx(np.median(pts["harm"]) * 3)


def test_dbscan_refuses_work_that_would_not_fit_in_memory(monkeypatch):
    pts = snapped()
    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    from scipy.spatial import cKDTree
    xy = np.column_stack([x, y])
    pairs = cKDTree(xy).query_ball_point(xy, r=100.0, return_length=True).sum()
    assert check_pair_memory(x, y, 100.0) == pytest.approx(pairs * 16 / 1e6)  # every point sampled: exact
    monkeypatch.setattr("geo.hotspots.clusters.setting", lambda name, fallback: 1e-4 if name == "max_pair_memory_mb"
                        else getattr(settings, name, fallback))
    with pytest.raises(GeoInputError, match="would need about .* MB .* use a radius of about"):
        point_clusters(pts, eps_m=500.0, min_samples=3)


def test_an_audit_entry_keeps_the_cache_version(tmp_path):
    from dashboard import data
    p = tmp_path / "w.gpkg"
    p.write_bytes(b"x")
    v0 = data.version(p)
    import os
    os.utime(p, ns=(v0 + 10, v0 + 10))
    data.same_data(p, v0, v0 + 10)  # an audit entry moved the mtime
    assert data.version(p) == v0
    os.utime(p, ns=(v0 + 20, v0 + 20))  # a data write
    assert data.version(p) == v0 + 20


def _colours(png: bytes, *, at_least: int = 200) -> set[str]:
    """The colours that fill at least `at_least` pixels of a PNG (a drawn area, not anti-aliasing), '#rrggbb'."""
    import io

    import matplotlib.image as mpimg
    img = (mpimg.imread(io.BytesIO(png))[..., :3] * 255).round().astype(int).reshape(-1, 3)
    colours, n = np.unique(img, axis=0, return_counts=True)
    return {"#{:02x}{:02x}{:02x}".format(*c) for c, k in zip(colours, n) if k >= at_least}


def test_hotspot_png_draws_only_the_chosen_classes_with_their_colours(bcus, sites):
    from geo.render import palette
    from geo.render.map_view import classes_png
    cells = gpd.GeoDataFrame({"class": ["Hot spot 99%", "Cold spot 99%", "Not significant"]},
                             geometry=[box(X0, Y0, X0 + 300, Y0 + 300), box(X0 + 500, Y0 + 500, X0 + 800, Y0 + 800),
                                       box(X0 + 300, Y0, X0 + 600, Y0 + 300)], crs=CRS)
    png = classes_png(cells.to_crs(4326), classes=["Hot spot 99%"], title="<b>Gi*</b> $x$",
                      frame=view_area(bcus, force="F"), outlines=bcus, sites=sites)
    seen = _colours(png)
    assert palette.HOTSPOT_COLORS["Hot spot 99%"] in seen          # drawn
    assert palette.HOTSPOT_COLORS["Cold spot 99%"] not in seen     # not chosen: not drawn
    both = _colours(classes_png(cells, classes=["Hot spot 99%", "Cold spot 99%"]))
    assert palette.HOTSPOT_COLORS["Cold spot 99%"] in both
    with pytest.raises(GeoInputError, match="no column 'hotspot'"):
        classes_png(cells, classes=["Hot spot 99%"], column="hotspot")


def test_published_png_hatches_suppressed_areas_and_colours_the_rest(bcus):
    from geo.render import palette
    from geo.render.map_view import published_png
    table = bcus.assign(harm=[120.0, np.nan, 40.0])
    seen = _colours(published_png(table.to_crs(4326), value_col="harm", label="Harm (days)", title="Wards"))
    assert palette.LINE_COLORS["suppressed"] in seen               # the area with a count below the threshold
    none_hidden = _colours(published_png(bcus.assign(harm=[120.0, 80.0, 40.0]), value_col="harm", label="Harm"))
    assert palette.LINE_COLORS["suppressed"] not in none_hidden
    with pytest.raises(GeoInputError, match="no areas"):
        published_png(table.iloc[:0], value_col="harm", label="Harm")
    with pytest.raises(GeoInputError, match="no column 'count'"):
        published_png(table, value_col="count", label="Incidents")
