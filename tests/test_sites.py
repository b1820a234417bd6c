"""Exposure of sensitive sites: counts and harm in buffers, hot-spot proximity, trend, ranking, nearest sites."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo import io
from geo.errors import GeoInputError
from geo.hotspots import gistar, grid_counts
from geo.settings import SENSITIVE_SITE_KINDS, SITE_KINDS
from geo.site_kinds import duplicate_sites, school_phase, sensitive_sites, site_kind, site_label
from geo.sites import exposure_near_hotspots, hot_polygons, most_exposed, nearest_sites, site_exposure

CRS = "EPSG:27700"
X0, Y0 = 430_000.0, 387_000.0


def sites_frame(rows):
    """rows: (name, kind, x offset, y offset)."""
    return gpd.GeoDataFrame({"uid": [f"s{i}" for i in range(len(rows))], "name": [r[0] for r in rows],
                             "kind": [r[1] for r in rows]},
                            geometry=gpd.points_from_xy([X0 + r[2] for r in rows], [Y0 + r[3] for r in rows]),
                            crs=CRS)


def incidents(offsets, harm=None, months=None):
    n = len(offsets)
    return gpd.GeoDataFrame({"harm": harm if harm is not None else np.ones(n),
                             "month": months if months is not None else ["2024-01"] * n},
                            geometry=gpd.points_from_xy([X0 + dx for dx, _ in offsets],
                                                        [Y0 + dy for _, dy in offsets]), crs=CRS)


def test_counts_and_harm_within_each_buffer():
    site = sites_frame([("St Anne's", "school", 0, 0)])
    # distances 0, 50, 199.9, 200 (on the ring counts), 200.5, 399, 401
    pts = incidents([(0, 0), (50, 0), (0, 199.9), (-200, 0), (0, -200.5), (399, 0), (0, 401)],
                    harm=[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
    out = site_exposure(site, pts).iloc[0]
    assert (out["n_200m"], out["harm_200m"]) == (4, 15.0)
    assert (out["n_400m"], out["harm_400m"]) == (6, 63.0)


def test_buffers_are_configurable_and_unweighted_counts_are_harm():
    site = sites_frame([("A", "hostel", 0, 0)])
    pts = incidents([(10, 0), (90, 0), (140, 0)]).drop(columns="harm")
    out = site_exposure(site, pts, buffers_m=(100, 150, 50), weight=None)
    assert [c for c in out.columns if c.startswith(("n_", "harm_"))] == [
        "n_50m", "harm_50m", "n_100m", "harm_100m", "n_150m", "harm_150m", "harm_last_month"]
    assert out.iloc[0][["n_50m", "n_100m", "n_150m"]].tolist() == [1, 2, 3]
    assert out.iloc[0]["harm_150m"] == 3.0


def test_a_polygon_site_measures_from_its_edge():
    grounds = gpd.GeoDataFrame({"name": ["Park School"], "kind": ["school"]},
                               geometry=[box(X0, Y0, X0 + 100, Y0 + 100)], crs=CRS)
    pts = incidents([(50, 50), (250, 50), (350, 50)])     # inside, 150 m and 250 m from the edge
    out = site_exposure(grounds, pts).iloc[0]
    assert (out["n_200m"], out["n_400m"]) == (2, 3)


def test_every_incident_near_a_site_is_counted_once_per_site():
    rng = np.random.default_rng(1)
    sites = sites_frame([(f"S{i}", "school", x, y) for i, (x, y) in enumerate(rng.uniform(0, 2000, (30, 2)))])
    pts = incidents([tuple(v) for v in rng.uniform(-500, 2500, (3000, 2))], harm=rng.gamma(2, 1, 3000))
    out = site_exposure(sites, pts)
    xy = np.column_stack([pts.geometry.x, pts.geometry.y])
    for i, s in enumerate(sites.geometry):
        d = np.hypot(xy[:, 0] - s.x, xy[:, 1] - s.y)
        assert out.loc[i, "n_400m"] == int((d <= 400).sum())
        assert out.loc[i, "harm_200m"] == pytest.approx(pts["harm"].to_numpy()[d <= 200].sum())


def test_in_next_to_or_away_from_a_hot_spot():
    hot = gpd.GeoDataFrame({"cell_id": ["h1"], "hotspot": ["Hot spot 99%"]},
                           geometry=[box(X0, Y0, X0 + 100, Y0 + 100)], crs=CRS)
    sites = sites_frame([("inside", "school", 50, 50), ("150 m away", "school", 250, 50),
                         ("1 km away", "hostel", 1100, 50)])
    out = site_exposure(sites, incidents([(0, 0)]), hotspots=hot)
    assert out["hotspot"].tolist() == ["in", "next to", "no"]
    assert out["in_or_next_to_hotspot"].tolist() == [True, True, False]
    assert out["hotspot_distance_m"].tolist() == pytest.approx([0, 150, 1000])
    assert out["hotspot_class"].iloc[0] == "Hot spot 99%"
    wider = site_exposure(sites, incidents([(0, 0)]), hotspots=hot, near_m=1000)
    assert wider["in_or_next_to_hotspot"].all()


def test_only_significant_hot_cells_count_as_hot_spots():
    rng = np.random.default_rng(3)
    bg = rng.uniform(0, 2000, (400, 2))
    spot = rng.normal(1000, 40, (200, 2))
    pts = incidents([tuple(v) for v in np.vstack([bg, spot])])
    cells = gistar(grid_counts(pts, cell_size=100))
    hot = hot_polygons(cells)
    assert 0 < len(hot) < len(cells)
    assert hot["hotspot"].astype(str).str.startswith("Hot").all()
    sites = sites_frame([("centre", "treatment", 1000, 1000), ("corner", "treatment", 20, 20)])
    out = site_exposure(sites, pts, hotspots=cells)
    assert out["hotspot"].tolist() == ["in", "no"]


@pytest.mark.parametrize("near_m", [None, 1000.0])
def test_hot_spot_columns_added_later_equal_the_whole_exposure(near_m):
    # the Hotspots page computes the exposure once per selection and the hot-spot columns per method
    rng = np.random.default_rng(3)
    pts = incidents([tuple(v) for v in np.vstack([rng.uniform(0, 2000, (400, 2)), rng.normal(1000, 40, (200, 2))])],
                    months=[f"2024-0{1 + i % 6}" for i in range(600)])
    cells = gistar(grid_counts(pts, cell_size=100))
    sites = sites_frame([("centre", "treatment", 1000, 1000), ("edge", "school", 1180, 1000),
                         ("corner", "hostel", 20, 20)])
    whole = site_exposure(sites, pts, hotspots=cells, near_m=near_m)
    base = site_exposure(sites, pts, near_m=near_m)
    later = exposure_near_hotspots(base, cells)
    assert len(set(whole["hotspot"])) == 2 and "in" in set(whole["hotspot"])  # a comparison that can fail
    pd.testing.assert_frame_equal(pd.DataFrame(later), pd.DataFrame(whole))
    assert later.attrs == whole.attrs and later.crs == whole.crs
    assert (base["hotspot"] == "").all()  # the shared frame is left as it was
    with pytest.raises(GeoInputError, match="site_exposure"):
        exposure_near_hotspots(sites, cells)


def test_trend_of_monthly_harm_near_a_site():
    sites = sites_frame([("rising", "school", 0, 0), ("flat", "school", 5000, 0)])
    months = [f"2023-{m:02d}" for m in range(1, 9)]
    offs, mons = [], []
    for k, m in enumerate(months):
        offs += [(10, 0)] * (k + 1) + [(5010, 0)] * 3
        mons += [m] * (k + 1 + 3)
    out = site_exposure(sites, incidents(offs, months=mons))
    assert out["trend"].tolist() == ["increasing", "no trend"]
    assert out["trend_pvalue"].between(0, 1).all()
    assert out["harm_last_month"].tolist() == [8.0, 3.0]
    assert out.attrs["months"] == months
    short = site_exposure(sites, incidents(offs[:4], months=mons[:4]))
    assert (short["trend"] == "too few months").all()


def test_bcus_and_the_most_exposed_per_bcu():
    west = box(X0 - 3000, Y0 - 3000, X0 + 1000, Y0 + 3000)
    east = box(X0 + 1000, Y0 - 3000, X0 + 5000, Y0 + 3000)
    bcus = gpd.GeoDataFrame({"code": ["W", "E"], "name": ["West", "East"]}, geometry=[west, east], crs=CRS)
    sites = sites_frame([("w1", "school", 0, 0), ("w2", "school", -2000, 0), ("w3", "hostel", 0, 2000),
                         ("e1", "school", 3000, 0), ("e2", "treatment", 4000, 0), ("far", "school", 9000, 0)])
    pts = incidents([(0, 10)] * 5 + [(-2000, 10)] * 3 + [(3000, 10)] * 2 + [(4000, 10)] * 7 + [(9000, 0)])
    out = site_exposure(sites, pts, bcus=bcus)
    assert out["bcu_name"].tolist() == ["West", "West", "West", "East", "East", "(outside the BCUs)"]
    top = most_exposed(out, per_bcu=1)
    assert top[["bcu_name", "name", "rank"]].values.tolist() == [
        ["(outside the BCUs)", "far", 1], ["East", "e2", 1], ["West", "w1", 1]]
    top2 = most_exposed(out, per_bcu=2)
    assert top2.loc[top2["bcu_name"] == "West", "name"].tolist() == ["w1", "w2"]
    assert "w3" not in most_exposed(out, per_bcu=10)["name"].tolist()   # nothing within 200 m


def test_nearest_site_of_each_kind_for_each_hot_spot():
    hot = gpd.GeoDataFrame({"cell_id": ["a", "b"], "hotspot": ["Hot spot 99%", "Hot spot 95%"]},
                           geometry=[box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 1000, Y0, X0 + 1100, Y0 + 100)],
                           crs=CRS)
    sites = sites_frame([("School A", "school", 130, 50), ("School B", "school", 1050, 50),
                         ("Hostel", "hostel", 500, 50)])
    long = nearest_sites(hot, sites)
    assert long[["hotspot_id", "kind", "site_name", "distance_m"]].values.tolist() == [
        ["a", "school", "School A", 30.0], ["a", "hostel", "Hostel", 400.0],
        ["b", "school", "School B", 0.0], ["b", "hostel", "Hostel", 500.0]]
    wide = nearest_sites(hot, sites, wide=True)
    assert wide.columns.tolist() == ["hotspot_id", "nearest_school", "school_m", "nearest_hostel", "hostel_m"]
    assert wide["hostel_m"].tolist() == [400.0, 500.0]


def test_nearest_sites_of_clusters_use_cluster_ids():
    clusters = gpd.GeoDataFrame({"cluster_id": [1, 2], "n": [10, 5]},
                                geometry=[Point(X0, Y0).buffer(50), Point(X0 + 800, Y0).buffer(50)], crs=CRS)
    sites = sites_frame([("S", "school", 0, 300)])
    out = nearest_sites(clusters, sites)
    assert out["hotspot_id"].tolist() == [1, 2]
    assert out["distance_m"].iloc[0] == pytest.approx(250, abs=0.5)


def test_bad_inputs_say_how_to_fix():
    site = sites_frame([("A", "school", 0, 0)])
    pts = incidents([(0, 0)])
    with pytest.raises(GeoInputError, match=r"different CRSs.*to_crs"):
        site_exposure(site.to_crs(3857), pts)
    with pytest.raises(GeoInputError, match=r"projected CRS"):
        site_exposure(site.to_crs(4326), pts.to_crs(4326))
    with pytest.raises(GeoInputError, match=r"buffers_m must be positive.*\(200, 400\)"):
        site_exposure(site, pts, buffers_m=(0, 200))
    with pytest.raises(GeoInputError, match=r"no column 'kind'"):
        site_exposure(site.drop(columns="kind"), pts)
    with pytest.raises(GeoInputError, match=r"weight column 'harm' not found"):
        site_exposure(site, pts.drop(columns="harm"))
    with pytest.raises(GeoInputError, match=r"output of site_exposure"):
        most_exposed(pd.DataFrame({"x": [1]}))

# ------------------------------------------------------------------ the taxonomy
SITES_DIR = Path(__file__).resolve().parents[1] / "data" / "south-yorkshire" / "sites"


@pytest.fixture(scope="module")
def demo_health():
    return io.read_sites(SITES_DIR / "health-sites-2014.csv").frame


@pytest.fixture(scope="module")
def demo_schools():
    return io.read_sites(SITES_DIR / "schools-2019.csv").frame


def test_real_health_sites_are_classified_by_what_they_are(demo_health):
    kind = dict(zip(demo_health["name"], demo_health["kind"]))
    assert kind["Doncaster Substance Misuse Service - New Beginnings"] == "treatment"
    assert kind["North Notts Alcohol Team"] == "treatment"
    # ordinary pharmacies and clinics are not sensitive sites: the file's keyword flag catches "Superdrug"
    for shop in ("Superdrug", "Superdrug Pharmacy", "Boots", "Lloydspharmacy"):
        assert kind[shop] == "other", shop
    assert all(kind[n] == "other" for n in kind if n.lower().startswith("specsavers"))
    raw = pd.read_csv(SITES_DIR / "health-sites-2014.csv")
    flagged = raw[(raw["needle_syringe_exchange"] > 0) | (raw["supervised_consumption"] > 0)]
    by_uid = dict(zip(demo_health["uid"], demo_health["kind"]))
    assert {by_uid["health:" + str(o)] for o in flagged["org_id"]} == {"needle exchange"}
    assert kind["Wicker Pharmacy"] == "needle exchange"
    assert (demo_health["kind"] == "other").mean() > 0.9  # the file is mostly shops, clinics and hospitals
    assert set(demo_health["kind"]) <= set(SITE_KINDS)


def test_real_schools_carry_their_phase(demo_schools):
    phase = dict(zip(demo_schools["name"], demo_schools["detail"]))
    assert phase["St Helen's CE Primary School"] == "primary"
    assert phase["Westfield School"] == "secondary"
    assert {"primary", "secondary", "post-16", "special"} <= set(demo_schools["detail"])
    row = demo_schools[demo_schools["name"] == "St Helen's CE Primary School"].iloc[0]
    assert site_label(row["kind"], row["detail"]) == "School (primary)"


def test_a_school_listed_twice_is_read_once(demo_schools):
    # Westfield School, Sheffield: URNs 107135 and 145562 (academy conversion) at one postcode
    assert (demo_schools["name"] == "Westfield School").sum() == 1
    r = io.read_sites(SITES_DIR / "schools-2019.csv")
    assert r.report.balanced and r.report.outcomes["rejected"] == len(r.report.rejected) > 0
    assert set(r.report.rejected["reason"]) == {"the same site listed twice (same name within 150 m)"}
    # two schools of one name far apart are two schools
    assert (demo_schools["name"] == "St Joseph's Catholic Primary School").sum() == 2


def test_duplicates_need_the_same_name_and_a_short_distance():
    names = ["Westfield School", "WESTFIELD SCHOOL ", "Westfield School", "Eastfield School", "Westfield School"]
    x, y = [0, 30, 2000, 10, np.nan], [0, 0, 0, 0, 0]
    assert duplicate_sites(names, x, y).tolist() == [False, True, False, False, False]
    assert duplicate_sites(names, x, y, within_m=10).tolist() == [False] * 5


def test_kinds_from_files_and_earlier_versions():
    assert site_kind("Bail_Hostel") == site_kind("approved premises") == "approved premises"
    assert site_kind("pharmacy") == "other" and site_kind("Youth club") == "youth"
    assert site_kind("casino") is None and site_kind(None) is None
    assert "other" not in SENSITIVE_SITE_KINDS and set(SENSITIVE_SITE_KINDS) < set(SITE_KINDS)
    assert school_phase("Secondary|Post16", "Academy") == "secondary"
    assert school_phase("Primary", "Special school") == "special"
    assert school_phase("", None) == ""


def test_sensitive_sites_drop_other_and_duplicates():
    s = sites_frame([("Westfield School", "school", 0, 0), ("Westfield School", "school", 20, 0),
                     ("Boots", "pharmacy", 50, 0), ("Specsavers Hearcare", "other", 60, 0),
                     ("Cedar House", "bail hostel", 80, 0)])
    out = sensitive_sites(s)
    assert out["name"].tolist() == ["Westfield School", "Cedar House"]
    assert out["kind"].tolist() == ["school", "approved premises"]
    assert sorted(sensitive_sites(s, kinds=("other",))["name"]) == ["Boots", "Specsavers Hearcare"]


def test_other_sites_are_never_ranked_unless_chosen():
    s = sites_frame([("Specsavers Hearcare", "other", 0, 0), ("Boots", "pharmacy", 10, 0),
                     ("Hill Primary", "school", 300, 0)])
    pts = incidents([(0, 0)] * 20 + [(300, 0)] * 2)
    e = site_exposure(s, pts, buffers_m=(100,))
    ranked = most_exposed(e)
    assert ranked["name"].tolist() == ["Hill Primary"]  # the most exposed "sites" are a shop and a clinic
    chosen = most_exposed(e, kinds=(*SENSITIVE_SITE_KINDS, "other"))
    assert chosen["name"].tolist()[:2] == ["Specsavers Hearcare", "Boots"] and len(chosen) == 3
