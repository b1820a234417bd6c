"""run_hotspots (every method), calls against crime, the hot-spot map layer and `python -m geo hotspots`."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from geo import maps
from geo.cli import main as geo_main
from geo.errors import GeoInputError
from geo.hotspot_runs import (METHODS, add_hotspot_layer, auto_parameters, export_layers, run_hotspots,
                              select_incidents)
from geo.hotspots import CALLS_CRIME_CLASSES, calls_vs_crime

CRS = "EPSG:27700"
X0, Y0 = 430_000.0, 387_000.0


@pytest.fixture(scope="module")
def points():
    """1,200 incidents over 2 km: background plus two dense spots, four months, harm weights."""
    rng = np.random.default_rng(7)
    bg = rng.uniform(0, 2000, (600, 2))
    a = rng.normal([500, 500], 40, (300, 2))
    b = rng.normal([1500, 1400], 40, (300, 2))
    xy = np.vstack([bg, a, b])
    n = len(xy)
    return gpd.GeoDataFrame(
        {"month": rng.choice(["2024-01", "2024-02", "2024-03", "2024-04"], n),
         "date": None, "category": rng.choice(["Robbery", "Burglary", "Drugs"], n),
         "harm": rng.gamma(2.0, 3.0, n), "in_basket": rng.random(n) < 0.5},
        geometry=gpd.points_from_xy(X0 + xy[:, 0], Y0 + xy[:, 1]), crs=CRS)


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_counts_every_point_once(points, method):
    run = run_hotspots(points, method, weight="harm", category_col="category",
                       **({"cell_size": 100} if method in ("gistar", "emerging", "kde") else {}))
    layer, s = run.layer, run.summary
    assert "class" in layer.columns and layer.crs == points.crs
    if method in ("gistar", "emerging"):
        assert layer["n"].sum() == len(points)
        assert layer["harm"].sum() == pytest.approx(points["harm"].sum())    # harm = sum of weights
    if method == "gistar":
        assert layer["pvalue"].between(0, 1).all() and layer["p_adj"].between(0, 1).all()
    if method in ("dbscan", "hdbscan"):
        assert layer["n"].sum() + s["n_noise"] == len(points)
        assert layer["harm"].sum() <= points["harm"].sum() + 1e-9
    assert s["n_hot"] == len(run.hot) > 0
    assert set(run.significant["class"]) <= set(run.classes)
    assert run.describe().startswith(METHODS[method])


def test_the_two_planted_spots_are_hot_by_gistar(points):
    run = run_hotspots(points, "gistar", cell_size=100)
    hot_ids = set(run.hot["cell_id"])
    assert {f"{int(X0 + 500)}_{int(Y0 + 500)}", f"{int(X0 + 1500)}_{int(Y0 + 1400)}"} <= hot_ids
    assert run.params["auto"] == () and run.params["distance"] == 150


def test_automatic_parameters_are_the_ones_used(points):
    for method, names in (("gistar", ["cell_size"]), ("kde", ["bandwidth", "cell_size"]),
                          ("dbscan", ["eps_m", "min_samples"]), ("emerging", ["cell_size", "period"])):
        auto = auto_parameters(points, method, weight="harm")
        run = run_hotspots(points, method, weight="harm")
        for name in names:
            assert run.params[name] == pytest.approx(auto[name]), (method, name)
            assert name in run.params["auto"]


def test_select_incidents_filters_and_explains(points):
    sel = select_incidents(points, months=("2024-02", "2024-03"), categories=["Robbery"])
    assert set(sel["month"]) == {"2024-02", "2024-03"} and set(sel["category"]) == {"Robbery"}
    assert len(select_incidents(points, basket_only=True)) == int(points["in_basket"].sum())
    with pytest.raises(GeoInputError, match=r"unknown crime type 'Robery'.*Burglary, Drugs, Robbery"):
        select_incidents(points, categories=["Robery"])
    with pytest.raises(GeoInputError, match=r"no incidents match.*widen the month range \(data: 2024-01 to 2024-04\)"):
        select_incidents(points, months=("2025-01", "2025-02"))


def test_calls_hot_where_crime_is_not_are_hidden_demand():
    rng = np.random.default_rng(11)

    def pts(*centres, n_bg=300):
        xy = [rng.uniform(0, 3000, (n_bg, 2))] + [rng.normal(c, 30, (150, 2)) for c in centres]
        xy = np.vstack(xy)
        return gpd.GeoDataFrame({"harm": np.ones(len(xy))},
                                geometry=gpd.points_from_xy(X0 + xy[:, 0], Y0 + xy[:, 1]), crs=CRS)

    a, b, c = (550, 550), (1550, 1550), (2450, 2450)
    calls, crime = pts(a, b), pts(b, c)
    out = calls_vs_crime(calls, crime, cell_size=100)
    by_id = out.set_index("cell_id")
    cell = lambda p: f"{int(X0 + p[0] // 100 * 100)}_{int(Y0 + p[1] // 100 * 100)}"  # noqa: E731
    assert by_id.loc[cell(a), "class"] == CALLS_CRIME_CLASSES[0] and by_id.loc[cell(a), "hidden_demand"]
    assert by_id.loc[cell(b), "class"] == "Hot in both" and not by_id.loc[cell(b), "hidden_demand"]
    assert by_id.loc[cell(c), "class"] == "Hot in crime only"
    assert out["n_calls"].sum() == len(calls) and out["n_crime"].sum() == len(crime)
    assert (out["hidden_demand"] == (out["hot_calls"] & ~out["hot_crime"])).all()
    assert out[["p_calls", "p_crime"]].stack().between(0, 1).all()
    with pytest.raises(GeoInputError, match=r"different CRSs.*to_crs"):
        calls_vs_crime(calls.to_crs(3857), crime)


def test_the_map_layer_draws_only_significant_classes_offline(points):
    run = run_hotspots(points, "gistar", cell_size=100)
    m = maps.base_map(maps.wgs84_bounds(run.layer))
    add_hotspot_layer(m, run.layer, classes=run.classes, method="gistar", name="Hot spots", title="Gi* test")
    html = maps.finish(m).get_root().render()
    assert "Gi* test" in html and "Hot spot 99%" in html
    assert "Not significant" not in html
    assert "https://" not in html and "http://" not in html
    assert html.count('"type": "Feature"') == len(run.significant)
    # above max_polygons, cells are merged by class
    m2 = maps.base_map(maps.wgs84_bounds(run.layer))
    add_hotspot_layer(m2, run.layer, classes=run.classes, method="gistar", name="Hot spots", title="t",
                      max_polygons=1)
    assert "Cells" in m2.get_root().render()


def test_kde_cells_of_a_class_are_drawn_as_merged_patches_and_the_legend_counts_cells(points):
    from shapely.geometry import box

    from geo.render.hotspot_layers import _merged_cells
    run = run_hotspots(points, "kde", cell_size=50, bandwidth=150)
    shown = run.layer[run.layer["class"].isin(run.classes)]
    m = maps.base_map(maps.wgs84_bounds(run.layer))
    add_hotspot_layer(m, run.layer, classes=run.classes, method="kde", name="Hot spots", title="KDE test")
    html = maps.finish(m).get_root().render()
    merged = _merged_cells(shown, "class", value="intensity_km2")
    assert 0 < len(merged) < len(shown)  # the two dense spots: a few patches, not one polygon per cell
    assert html.count('"type": "Feature"') == len(merged)
    for cls, n in shown["class"].value_counts().items():  # the legend still counts cells
        assert f"{cls} ({n:,})" in html
        assert merged.loc[merged["class"] == cls, "cells"].sum() == n
    assert merged.area.sum() == pytest.approx(shown.area.sum())
    assert "Per km" in html and "intensity_range" not in html  # the range is a tooltip field (_t2)
    # two touching cells and one apart: two patches, the range of the pair's values
    cells = gpd.GeoDataFrame({"class": ["a", "a", "a"], "v": [1.0, 3.0, 2.0]},
                             geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(50, 0, 60, 10)], crs=CRS)
    two = _merged_cells(cells, "class", value="v")
    assert two["cells"].tolist() == [2, 1]
    assert two["intensity_range"].tolist() == ["1 – 3", "2"]


def test_export_layers_are_writable(points, tmp_path):
    run = run_hotspots(points, "emerging", cell_size=200)
    path = tmp_path / "out.gpkg"
    for name, frame in export_layers(run).items():
        frame.to_file(path, layer=name, driver="GPKG")
    back = gpd.read_file(path, layer="hotspots")
    assert len(back) == len(run.layer)
    assert back["pattern"].tolist() == run.layer["pattern"].astype(str).tolist()


# ---------------------------------------------------------------------------------- CLI
def test_cli_writes_cells_and_exposed_sites(demo_workspaces, tmp_path, capsys):
    out = tmp_path / "sy-gistar.gpkg"
    rc = geo_main(["hotspots", "--workspace", str(demo_workspaces["south-yorkshire"]), "--method", "gistar",
                   "--harm", "--crime-types", "Robbery", "Possession of weapons", "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0
    assert printed.startswith("Gi* grid on ") and "weighted by harm" in printed and "(automatic)" in printed
    layers = dict(pyogrio.list_layers(out))
    assert set(layers) == {"hotspots", "exposed_sites"}
    cells = gpd.read_file(out, layer="hotspots")
    n_hot = int(cells["class"].str.startswith("Hot").sum())
    assert f"{n_hot:,} hot" in printed
    sites = gpd.read_file(out, layer="exposed_sites")
    assert {"n_200m", "harm_400m", "in_or_next_to_hotspot", "trend", "bcu_name"} <= set(sites.columns)


def test_cli_emerging_on_portland_calls_uses_days(demo_workspaces, tmp_path, capsys):
    out = tmp_path / "pdx.gpkg"
    rc = geo_main(["hotspots", "--workspace", str(demo_workspaces["portland"]), "--method", "emerging",
                   "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0 and "31 days (automatic)" in printed
    assert list(dict(pyogrio.list_layers(out))) == ["hotspots"]   # Portland has no sites


def test_cli_bad_input_exits_2_with_the_message(demo_workspaces, tmp_path, capsys):
    ws = str(demo_workspaces["south-yorkshire"])
    rc = geo_main(["hotspots", "--workspace", ws, "--method", "kde", "--crime-types", "Robery",
                   "--out", str(tmp_path / "x.gpkg")])
    err = capsys.readouterr().err
    assert rc == 2 and "unknown crime type 'Robery'" in err and "Fix: use one of" in err
    assert not (tmp_path / "x.gpkg").exists()
    rc = geo_main(["hotspots", "--workspace", str(tmp_path / "nope.gpkg"), "--method", "kde",
                   "--out", str(tmp_path / "x.gpkg")])
    assert rc == 2 and "does not exist" in capsys.readouterr().err
    rc = geo_main(["hotspots", "--workspace", ws, "--method", "gistar", "--out", str(tmp_path / "x.csv")])
    assert rc == 2 and "ending in .gpkg" in capsys.readouterr().err
