"""Tests for geo.hotspots (grid counts, KDE, Gi*, FDR, clusters, change)."""
from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.stats import false_discovery_control

from geo.errors import GeoInputError
from geo.hotspots import (HOTSPOT_LABELS, auto_cell_size, cells_to_array, change_surface,
                          fdr_bh, gistar, grid_counts, kde, point_clusters)

CRS = "EPSG:27700"


def _pts(xs, ys, **cols):
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(xs, ys), crs=CRS)


@pytest.fixture
def six_points():
    """esda's published G_Local example (esda/tests/test_getisord.py)."""
    return _pts([10, 20, 40, 15, 30, 30], [10, 10, 10, 20, 20, 30], y=[2, 3, 3.2, 5, 8, 7])


@pytest.fixture
def edge_points():
    """Points on cell corners and edges of a 100 m grid, plus interior points."""
    x = [0, 100, 100, 200, 50, 100, 199.999, 300, 0, 250]
    y = [0, 0, 100, 100, 100, 50, 199.999, 300, 300, 0]
    return _pts(x, y, w=[1.5, 2, 0, 3, 1, 1, 4, 0.5, 2, 1])


@pytest.fixture(scope="module")
def city():
    """4,000 points: a hot blob plus uniform background, with harm weights."""
    rng = np.random.default_rng(42)
    x = np.r_[rng.normal(1500, 120, 1500), rng.uniform(0, 4000, 2500)]
    y = np.r_[rng.normal(2500, 160, 1500), rng.uniform(0, 3000, 2500)]
    return _pts(x, y, w=rng.gamma(2.0, 1.0, x.size))


# ---------------------------------------------------------------------- grid counts
@pytest.mark.parametrize("shape", ["square", "hex"])
def test_every_point_counted_once_including_edges(edge_points, shape):
    cells = grid_counts(edge_points, cell_size=100, shape=shape, weight="w")
    assert cells["n"].sum() == len(edge_points)
    assert cells["harm"].sum() == pytest.approx(edge_points["w"].sum())
    assert list(cells.columns) == ["cell_id", "row", "col", "n", "harm", "geometry"]
    assert cells["cell_id"].is_unique


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_each_point_lies_in_its_cell(city, shape):
    cells = grid_counts(city, cell_size=150, shape=shape, keep_empty=False)
    joined = gpd.sjoin(city, cells, predicate="intersects")
    assert joined.index.nunique() == len(city)  # sjoin agrees on interior points
    counts = joined.groupby("cell_id").size()
    # points on shared edges hit two cells in sjoin; binning puts each in one of them
    assert (counts.reindex(cells["cell_id"]).to_numpy() >= cells["n"].to_numpy()).all()
    assert cells["n"].sum() == len(city)


def test_edge_points_go_north_east():
    cells = grid_counts(_pts([100.0], [100.0]), cell_size=100)
    assert cells["cell_id"].tolist() == ["100_100"]


def test_harm_equals_n_without_weight(city):
    cells = grid_counts(city, cell_size=200)
    assert (cells["harm"] == cells["n"]).all()
    assert cells["n"].sum() == len(city)


def test_auto_cell_size_rule(city, caplog):
    with caplog.at_level("INFO"):
        size = auto_cell_size(city)
    # short side ~3,000 m / 50 = ~60 m, rounded down to a multiple of 50
    assert size == 50.0
    assert "cell_size set automatically to 50 m" in caplog.text


def test_area_clip_keeps_intersecting_cells(city):
    area = shapely.box(500, 500, 2500, 2000)
    cells = grid_counts(city, cell_size=200, area=area)
    assert shapely.intersects(area, np.asarray(cells.geometry.values)).all()
    # columns 400..2600 (11) x rows 400..2000 (8); the row 2000..2200 only touches it
    assert len(cells) == 11 * 8
    inside = city[city.intersects(area)]
    assert cells["n"].sum() + cells.attrs["n_outside"] == len(city)
    assert cells["n"].sum() >= len(inside)


def test_shared_grid_for_periods(city):
    first = grid_counts(city.iloc[:2000], cell_size=250)
    second = grid_counts(city.iloc[2000:], grid=first.attrs["grid"])
    assert first["cell_id"].tolist() == second["cell_id"].tolist()
    assert first["n"].sum() + second["n"].sum() + second.attrs["n_outside"] == len(city)


def test_lonlat_points_get_a_fix_it_message(edge_points):
    with pytest.raises(GeoInputError, match=r"projected CRS.*to_crs"):
        grid_counts(edge_points.to_crs(4326))


def test_empty_points_message(edge_points):
    with pytest.raises(GeoInputError, match=r"empty.*Fix"):
        grid_counts(edge_points.iloc[:0])


def test_bad_params_messages(edge_points):
    with pytest.raises(GeoInputError, match=r"cell_size.*>= 1"):
        grid_counts(edge_points, cell_size=0)
    with pytest.raises(GeoInputError, match=r"shape must be one of"):
        grid_counts(edge_points, cell_size=100, shape="triangle")
    with pytest.raises(GeoInputError, match=r"weight column 'nope' not found"):
        grid_counts(edge_points, cell_size=100, weight="nope")
    bad = edge_points.assign(w=-1.0)
    with pytest.raises(GeoInputError, match=r"negative.*row 0"):
        grid_counts(bad, cell_size=100, weight="w")
    with pytest.raises(GeoInputError, match=r"without a point location"):
        grid_counts(edge_points.set_geometry(edge_points.buffer(1)), cell_size=100)


# ---------------------------------------------------------------------- KDE
def test_kde_gaussian_matches_sklearn(city):
    from sklearn.neighbors import KernelDensity

    w = city["w"].to_numpy()
    xy = np.column_stack([city.geometry.x, city.geometry.y])
    ref = KernelDensity(kernel="gaussian", bandwidth=150.0).fit(xy, sample_weight=w)

    def sklearn_at(res, step):
        cx, cy = res.centres()
        cx, cy = cx[::step, ::step], cy[::step, ::step]
        dens = np.exp(ref.score_samples(np.column_stack([cx.ravel(), cy.ravel()])))
        return dens.reshape(cx.shape)

    exact = kde(city, bandwidth=150, kernel="gaussian", weight="w", cell_size=200, exact=True)
    sk = sklearn_at(exact, 2)
    np.testing.assert_allclose(exact.density[::2, ::2], sk, rtol=1e-9, atol=1e-12 * sk.max())
    binned = kde(city, bandwidth=150, kernel="gaussian", weight="w")  # cell = h/4
    sk = sklearn_at(binned, 3)
    # documented binning error: < 1% of the surface maximum at cell_size = bandwidth / 4
    assert np.abs(binned.density[::3, ::3] - sk).max() / sk.max() < 0.01


def test_kde_quartic_matches_direct_sum(city):
    h = 200.0
    binned = kde(city, bandwidth=h, kernel="quartic", weight="w")
    assert binned.grid.cell_size == 50
    cx, cy = binned.centres()
    x, y, w = city.geometry.x.to_numpy(), city.geometry.y.to_numpy(), city["w"].to_numpy()
    sel = (slice(None, None, 3), slice(None, None, 3))  # every 9th cell keeps it quick
    d2 = (cx[sel].ravel()[:, None] - x) ** 2 + (cy[sel].ravel()[:, None] - y) ** 2
    direct = (3 / (np.pi * h**2) * np.clip(1 - d2 / h**2, 0, None) ** 2) @ w / w.sum()
    direct = direct.reshape(cx[sel].shape)
    assert np.abs(binned.density[sel] - direct).max() / direct.max() < 0.02
    exact = kde(city, bandwidth=h, kernel="quartic", weight="w", cell_size=150, exact=True)
    ex_cx, ex_cy = exact.centres()
    d2 = (ex_cx.ravel()[:, None] - x) ** 2 + (ex_cy.ravel()[:, None] - y) ** 2
    direct = (3 / (np.pi * h**2) * np.clip(1 - d2 / h**2, 0, None) ** 2) @ w / w.sum()
    np.testing.assert_allclose(exact.density.ravel(), direct, rtol=1e-10, atol=1e-18)


def test_kde_integrates_to_one_and_cells(city):
    res = kde(city, bandwidth=150, kernel="quartic")
    assert res.density.sum() * res.grid.cell_area == pytest.approx(1.0, rel=1e-3)
    cells = res.to_cells()
    assert list(cells.columns) == ["cell_id", "row", "col", "density", "intensity_km2",
                                   "geometry"]
    assert cells["intensity_km2"].sum() * res.grid.cell_area / 1e6 == pytest.approx(
        len(city), rel=1e-3)


def test_kde_auto_bandwidth_logged(city, caplog):
    with caplog.at_level("INFO"):
        res = kde(city)
    assert "bandwidth set automatically" in caplog.text
    assert 50 < res.bandwidth < 1000
    assert res.grid.cell_size <= res.bandwidth / 4


def test_kde_area_masks_outside(city):
    area = shapely.Point(2000, 1500).buffer(800)
    res = kde(city, bandwidth=200, area=area)
    assert np.isnan(res.density).any() and np.isfinite(res.density).any()
    assert shapely.intersects(area, np.asarray(res.to_cells().geometry.values)).all()


def test_kde_bad_params(city):
    with pytest.raises(GeoInputError, match=r"kernel must be one of"):
        kde(city, kernel="epanechnikov")
    with pytest.raises(GeoInputError, match=r"bandwidth.*>= 1"):
        kde(city, bandwidth=-5)
    with pytest.raises(GeoInputError, match=r"projected CRS"):
        kde(city.to_crs(4326))


# ---------------------------------------------------------------------- Gi*
def test_gistar_reproduces_esda_published_number(six_points):
    out = gistar(six_points, column="y", distance=15)
    assert out["gistar"].iloc[0] == pytest.approx(-1.39727626, abs=1e-8)
    np.testing.assert_allclose(
        out["gistar"], [-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088,
                        2.02424331], atol=1e-8)


def _esda_z(cells, column, distance):
    from esda import G_Local
    from libpysal.weights import DistanceBand

    cent = np.column_stack([cells.geometry.centroid.x, cells.geometry.centroid.y])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = DistanceBand(cent, threshold=distance, binary=True, silence_warnings=True)
        g = G_Local(cells[column].to_numpy(float), w, transform="B", star=True,
                    permutations=0)
    return g.Zs, g.p_norm


@pytest.mark.parametrize("shape,keep_empty,distance", [
    ("square", True, None), ("square", False, 250.0), ("hex", True, None),
    ("hex", False, 260.0)])
def test_gistar_matches_esda_on_grid(city, shape, keep_empty, distance):
    cells = grid_counts(city, cell_size=100, shape=shape, weight="w", keep_empty=keep_empty)
    out = gistar(cells, column="harm", distance=distance)
    z, p_one = _esda_z(cells, "harm", out.attrs["distance"])
    np.testing.assert_allclose(out["gistar"], z, atol=1e-6)
    np.testing.assert_allclose(out["pvalue"], 2 * p_one, atol=1e-9)
    # the non-grid (k-d tree) path gives the same numbers
    plain = cells.copy()
    plain.attrs = {}
    np.testing.assert_allclose(gistar(plain, column="harm", distance=out.attrs["distance"])
                               ["gistar"], z, atol=1e-6)


def test_gistar_random_array_matches_esda():
    rng = np.random.default_rng(0)
    arr = rng.poisson(3.0, size=(30, 40)).astype(float)
    arr[:5, :7] = np.nan  # outside the study area
    out = gistar(arr, cell_size=100.0, column="v")
    rows, cols = out["row"].to_numpy(), out["col"].to_numpy()
    cells = gpd.GeoDataFrame({"v": arr[rows, cols]}, geometry=gpd.points_from_xy(
        cols * 100.0 + 50, rows * 100.0 + 50), crs=CRS)
    z, _ = _esda_z(cells, "v", 150.0)
    np.testing.assert_allclose(out["gistar"], z, atol=1e-6)


def test_gistar_outputs(city):
    out = gistar(grid_counts(city, cell_size=100))
    assert out["pvalue"].between(0, 1).all() and out["p_adj"].between(0, 1).all()
    assert (out["p_adj"] >= out["pvalue"] - 1e-15).all()
    assert list(out["hotspot"].cat.categories) == list(HOTSPOT_LABELS)
    hot = out[out["hotspot"].astype(str).str.startswith("Hot")]
    assert len(hot) and (hot["gistar"] > 0).all() and (hot["p_adj"] <= 0.05).all()
    assert "Hot spot 90%" not in set(out["hotspot"])  # alpha 0.05 by default
    bonf = gistar(grid_counts(city, cell_size=100), correction="bonferroni")
    assert (bonf["p_adj"] >= out["p_adj"] - 1e-12).all()


def test_gistar_constant_values_are_not_significant(city):
    cells = grid_counts(city, cell_size=500).assign(n=3)
    out = gistar(cells)
    assert (out["gistar"] == 0).all() and (out["hotspot"] == "Not significant").all()


def test_gistar_bad_params(city, six_points):
    cells = grid_counts(city, cell_size=100)
    with pytest.raises(GeoInputError, match=r"column 'nope' not found"):
        gistar(cells, column="nope")
    with pytest.raises(GeoInputError, match=r"correction must be one of"):
        gistar(cells, correction="holm")
    with pytest.raises(GeoInputError, match=r"alpha must be in"):
        gistar(cells, alpha=0.5)
    with pytest.raises(GeoInputError, match=r"shorter than the cell spacing"):
        gistar(cells, distance=50)
    with pytest.raises(GeoInputError, match=r"projected CRS"):
        gistar(six_points.to_crs(4326), column="y")
    with pytest.raises(GeoInputError, match=r"at least 3 cells"):
        gistar(six_points.iloc[:2], column="y", distance=15)


def test_fdr_bh_matches_scipy():
    rng = np.random.default_rng(1)
    p = np.r_[rng.uniform(size=500), rng.uniform(0, 0.001, 20), [0.0, 1.0, 0.5, 0.5]]
    np.testing.assert_allclose(fdr_bh(p), false_discovery_control(p, method="bh"),
                               rtol=1e-12)
    with pytest.raises(GeoInputError, match=r"\[0, 1\]"):
        fdr_bh([0.1, 1.5])


# ---------------------------------------------------------------------- clusters
@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(5)
    centres = [(1000, 1000), (4000, 2500), (2500, 4200)]
    cats = ["Drugs", "Robbery", "Public order"]
    xs, ys, cat = [], [], []
    for (cx, cy), c in zip(centres, cats):
        xs.append(rng.normal(cx, 40, 150))
        ys.append(rng.normal(cy, 40, 150))
        cat += [c] * 150
    xs.append(rng.uniform(0, 5000, 600))
    ys.append(rng.uniform(0, 5000, 600))
    cat += ["Anti-social behaviour"] * 600
    pts = _pts(np.concatenate(xs), np.concatenate(ys), cat=cat)
    pts["w"] = np.where(pts["cat"] == "Drugs", 3.0, 1.0)
    return pts, centres


def test_dbscan_finds_planted_blobs(blobs):
    pts, centres = blobs
    out = point_clusters(pts, weight="w", category_col="cat")
    assert len(out) == 3
    assert out["top_categories"].iloc[0].startswith("Drugs")  # most harm first
    for cx, cy in centres:
        assert out.contains(shapely.Point(cx, cy)).sum() == 1
    assert out["n"].between(130, 160).all()
    assert out["n"].sum() + out.attrs["n_noise"] == len(pts)
    assert list(out.columns) == ["cluster_id", "n", "harm", "area_m2", "top_categories",
                                 "geometry"]


def test_hdbscan_largest_clusters_are_the_blobs(blobs):
    pts, centres = blobs
    out = point_clusters(pts, method="hdbscan", min_samples=20)
    top3 = out.nlargest(3, "n")
    for cx, cy in centres:
        assert top3.contains(shapely.Point(cx, cy)).sum() == 1


def test_tiny_cluster_gets_a_polygon():
    pts = _pts([0, 0, 0, 1000], [0, 0, 0, 1000])
    out = point_clusters(pts, eps_m=5, min_samples=3)
    assert len(out) == 1 and out.geometry.iloc[0].geom_type == "Polygon"
    assert out.attrs["n_noise"] == 1


def test_cluster_bad_params(blobs):
    pts, _ = blobs
    with pytest.raises(GeoInputError, match=r"method must be"):
        point_clusters(pts, method="kmeans")
    with pytest.raises(GeoInputError, match=r"min_samples must be"):
        point_clusters(pts, min_samples=1)
    with pytest.raises(GeoInputError, match=r"category column 'x' not found"):
        point_clusters(pts, category_col="x")


# ---------------------------------------------------------------------- change
def test_change_surface(city):
    before = grid_counts(city.iloc[:2000], cell_size=250)
    after = grid_counts(city.iloc[2000:], grid=before.attrs["grid"])
    ch = change_surface(before, after)
    assert (ch["change"] == ch["after"] - ch["before"]).all()
    assert ch["change"].sum() == after["n"].sum() - before["n"].sum()
    zero = ch["before"] == 0
    assert ch.loc[zero, "ratio"].isna().all()
    np.testing.assert_allclose(ch.loc[~zero, "ratio"],
                               ch.loc[~zero, "after"] / ch.loc[~zero, "before"])
    arr, _ = cells_to_array(ch, "change")
    assert np.nansum(arr) == ch["change"].sum()


def test_change_surface_needs_same_grid(city):
    with pytest.raises(GeoInputError, match=r"different grids.*grid="):
        change_surface(grid_counts(city, cell_size=250), grid_counts(city, cell_size=200))


def test_gistar_matches_esda_on_the_demo_data():
    """Real South Yorkshire crime (January 2024, harm-weighted) on the automatic grid."""
    from pathlib import Path

    from geo.harm import add_harm, read_harm_weights
    from geo.io import read_police_uk

    root = Path(__file__).resolve().parents[1] / "data"
    from tests.conftest import sy_street_csv
    jan = read_police_uk(sy_street_csv("2024-01")).frame
    jan = jan[jan["status"] == "mapped"]
    jan = add_harm(jan, read_harm_weights(root / "england" / "harm-weights-cchi-police-uk-categories.csv"))
    sheffield = jan[jan["lsoa_name"].str.startswith("Sheffield")]
    cells = grid_counts(sheffield, cell_size=500, weight="harm")
    assert len(cells) > 1000 and cells["harm"].sum() == pytest.approx(sheffield["harm"].sum())
    out = gistar(cells, column="harm")
    z, p_one = _esda_z(cells, "harm", out.attrs["distance"])
    np.testing.assert_allclose(out["gistar"], z, atol=1e-6)
    np.testing.assert_allclose(out["pvalue"], 2 * p_one, atol=1e-9)
    assert (out["hotspot"].astype(str).str.startswith("Hot")).sum() > 0
