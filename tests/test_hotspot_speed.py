"""The faster hot-spot paths give the results of the plain ones, on a real police.uk month.

DBSCAN runs on the distinct police.uk map points weighted by their counts
(:func:`geo.hotspots.clusters.dbscan_labels`); these tests compare it with scikit-learn's
DBSCAN on every incident, and the whole :func:`point_clusters` table with one built from
those labels the plain way (hull of every incident, ``Counter.most_common``). The k-distance knee (DBSCAN's automatic
radius) is computed once per map point; it is compared with the curve of every incident.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import shapely

from geo.errors import GeoInputError
from geo.harm import add_harm, read_harm_weights
from geo.hotspots import point_clusters
from geo.hotspots.clusters import dbscan_labels, distinct_points, knee_eps
from geo.io import read_police_uk
from tests.conftest import DATA, sy_street_csv


@pytest.fixture(scope="module")
def march():
    """South Yorkshire, March 2024 (police.uk street file): 14,039 located crimes with CCHI harm."""
    frame = read_police_uk(sy_street_csv("2024-03"), crs="EPSG:27700").frame
    frame = frame[frame["status"] == "mapped"].reset_index(drop=True)
    table = read_harm_weights(DATA / "england" / "harm-weights-cchi-police-uk-categories.csv")
    return add_harm(frame, table)


def _xy(frame):
    return np.column_stack([frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()])


def test_distinct_points_rebuild_every_row_in_order_of_first_appearance(march):
    xy = _xy(march)
    loc, counts, inverse = distinct_points(xy)
    assert (loc[inverse] == xy).all()
    assert counts.sum() == len(xy) and len(loc) < len(xy) / 1.5  # police.uk map points repeat
    first = [int(np.flatnonzero(inverse == i)[0]) for i in range(5)]
    assert first == sorted(first) and first[0] == 0


@pytest.mark.parametrize("eps, min_samples", [(100.0, 10), (30.0, 5), (250.0, 40)])
def test_weighted_dbscan_on_map_points_equals_dbscan_on_every_incident(march, eps, min_samples):
    from sklearn.cluster import DBSCAN
    xy = _xy(march)
    plain = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(xy)
    fast = dbscan_labels(xy, eps, min_samples)
    assert plain.max() > 0 and (plain < 0).any()  # clusters and noise: a comparison that can fail
    np.testing.assert_array_equal(fast, plain)


def _plain_knee(xy, k, max_sample=50_000, seed=0):
    """The k-distance knee the plain way: every (or a sample of) incident queried against every incident."""
    import math

    from scipy.spatial import cKDTree
    asked = xy[np.random.default_rng(seed).choice(len(xy), max_sample, replace=False)] if len(xy) > max_sample else xy
    kk = min(k, len(xy) - 1)
    kd = np.sort(cKDTree(xy).query(asked, k=kk + 1)[0][:, -1])
    kd = kd[: max(2, int(math.ceil(len(kd) * 0.99)))]
    if kd[-1] - kd[0] <= 0:
        return max(float(kd[-1]), 1.0)
    t = np.linspace(0, 1, len(kd))
    return max(float(kd[int(np.argmax(t - (kd - kd[0]) / (kd[-1] - kd[0])))]), 1.0)


@pytest.mark.parametrize("k", [4, 11, 39])
def test_knee_on_map_points_equals_the_knee_of_every_incident(march, k):
    xy = _xy(march)
    plain = _plain_knee(xy, k)
    assert plain > 100.0  # a knee well above the 1 m floor: a comparison that can fail
    assert knee_eps(xy[:, 0], xy[:, 1], k) == plain
    # a sample of incidents when the distinct locations outnumber max_sample (here: every one)
    jitter = xy + np.random.default_rng(0).uniform(0, 0.5, xy.shape)
    assert knee_eps(jitter[:, 0], jitter[:, 1], k, max_sample=5_000) == _plain_knee(jitter, k, max_sample=5_000)


def test_point_clusters_table_equals_the_plain_construction(march):
    from sklearn.cluster import DBSCAN
    eps, ms = 60.0, 8
    out = point_clusters(march, eps_m=eps, min_samples=ms, weight="harm", category_col="category", min_harm=0)
    xy = _xy(march)
    labels = DBSCAN(eps=eps, min_samples=ms).fit_predict(xy)
    rows = []
    for lbl in range(labels.max() + 1):
        at = labels == lbl
        hull = shapely.MultiPoint(xy[at]).convex_hull
        if hull.geom_type != "Polygon":
            hull = shapely.buffer(hull, 10.0)  # as before: shapely.buffer, 8 segments a quarter
        cats = Counter(march.loc[at, "category"].astype(str))
        rows.append((int(at.sum()), float(march.loc[at, "harm"].sum()), hull,
                     "; ".join(f"{c} {k}" for c, k in cats.most_common(3))))
    rows.sort(key=lambda r: (-r[1], -r[0]))  # most harm first, ties in label order (stable)
    assert len(out) == len(rows) > 20
    assert out["n"].tolist() == [r[0] for r in rows]
    np.testing.assert_allclose(out["harm"].to_numpy(), [r[1] for r in rows], rtol=1e-12)
    assert out["top_categories"].tolist() == [r[3] for r in rows]
    assert all(shapely.equals(a, r[2]) for a, r in zip(out.geometry, rows))
    assert out.attrs["n_noise"] == int((labels < 0).sum())


def test_hdbscan_below_the_limit_is_plain_hdbscan_and_above_it_clusters_map_points(march, monkeypatch):
    from sklearn.cluster import HDBSCAN

    from geo.hotspots.clusters import hdbscan_labels
    from geo.settings import settings
    part = march.iloc[:3000]
    xy = _xy(part)
    plain = HDBSCAN(min_cluster_size=10, min_samples=10, copy=True).fit_predict(xy)
    labels, on = hdbscan_labels(xy, 10)
    assert on == "incidents" and plain.max() > 0
    np.testing.assert_array_equal(labels, plain)

    loc, _, inverse = distinct_points(xy)
    monkeypatch.setattr("geo.hotspots.clusters.setting", lambda name, fallback: len(loc)
                        if name == "hdbscan_max_points" else getattr(settings, name, fallback))
    labels, on = hdbscan_labels(xy, 10)
    on_map_points = HDBSCAN(min_cluster_size=10, min_samples=10, copy=True).fit_predict(loc)
    assert on == "map points"
    np.testing.assert_array_equal(labels, on_map_points[inverse])  # every incident takes its map point's label
    out = point_clusters(part, method="hdbscan", min_samples=10, min_harm=0)
    assert out.attrs["clustered"] == "map points" and out["n"].sum() == int((labels >= 0).sum())

    monkeypatch.setattr("geo.hotspots.clusters.setting", lambda name, fallback: len(loc) - 1
                        if name == "hdbscan_max_points" else getattr(settings, name, fallback))
    with pytest.raises(GeoInputError, match=r"HDBSCAN on 3,000 incidents at .* distinct locations.*use DBSCAN"):
        point_clusters(part, method="hdbscan", min_samples=10)


# ------------------------------------------------------------------ Area summary: the unit table
def test_unit_table_rows_are_the_figures_of_their_base_units():
    """``Published.unit_table`` (arrays per unit instead of a frame per unit) against ``Published.figure``
    of each row's base units, on Sheffield's LSOAs and wards and a real quarter (2024-Q1)."""
    import geopandas as gpd

    from geo import disclosure
    bdir = DATA / "boundaries" / "south-yorkshire"
    lsoa = gpd.read_file(bdir / "lsoa_E08000019.geojson").rename(columns={"LSOA11CD": "code", "LSOA11NM": "name"})
    wards = gpd.read_file(bdir / "wards_E08000019.geojson").rename(columns={"WD13CD": "code", "WD13NM": "name"})
    lsoa, wards = (f[["code", "name", "geometry"]].to_crs(27700) for f in (lsoa, wards))
    table = read_harm_weights(DATA / "england" / "harm-weights-cchi-police-uk-categories.csv")
    months = [read_police_uk(sy_street_csv(m), crs="EPSG:27700").frame for m in ("2024-01", "2024-02", "2024-03")]
    import pandas as pd
    inc = add_harm(pd.concat(months, ignore_index=True).query("status == 'mapped'"), table)
    inc = gpd.GeoDataFrame(inc, geometry="geometry", crs=27700).assign(in_basket=lambda d: d["category"] != "Bicycle theft")
    _, units = disclosure.base_units(lsoa.assign(level="lsoa"), crs="EPSG:27700")
    pub = disclosure.publish(inc, units, quarters=["2024-Q1"], threshold=5)
    assert pub.cells["count"].isna().any() and pub.cells["count"].notna().any()  # hidden and shown cells
    for parents in (None, wards):
        t = pub.unit_table(parents=parents, quarters=("2024-Q1",), basket=True, keep_empty=True)
        groups = ({c: [c] for c in t["code"]} if parents is None
                  else {c: pub.units_in(g) for c, g in zip(parents["code"], parents.geometry)})
        assert len(t) > 20
        for row in t.itertuples():
            n = pub.figure(units=groups[row.code], quarters=("2024-Q1",), basket=True)
            h = pub.figure(units=groups[row.code], quarters=("2024-Q1",), basket=True, harm=True)
            assert row.count_label == n.label
            assert row.harm_label == (n.label if n.suppressed else h.label)
            assert (np.isnan(row.count) and n.suppressed) or row.count == n.mid
            if not n.suppressed:
                assert row.harm == pytest.approx(float(disclosure.round_harm(h.mid)), rel=1e-12)
