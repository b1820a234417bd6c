"""Disclosure control: small counts hidden, and no hidden count recoverable from what is published."""
import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo import disclosure
from geo.disclosure import TOTAL, recoverable, suppress
from geo.errors import GeoInputError


def random_tables(n=40, seed=1):
    rng = np.random.default_rng(seed)
    for k in range(n):
        r, c = rng.integers(1, 7), rng.integers(1, 7)
        # mostly small counts: many cells below the threshold
        vals = rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 12, 30], size=(r, c))
        yield pd.DataFrame(vals, index=[f"area{i}" for i in range(r)], columns=[f"type{j}" for j in range(c)])


def differencing_attack(public: pd.DataFrame) -> list[tuple]:
    """For every published total: total minus its visible siblings, when one sibling is hidden."""
    found = []
    body_rows, body_cols = list(public.index[:-1]), list(public.columns[:-1])
    lines = [(public.loc[i, body_cols], public.loc[i, TOTAL], [(i, c) for c in body_cols]) for i in public.index]
    lines += [(public.loc[body_rows, c], public.loc[TOTAL, c], [(r, c) for r in body_rows]) for c in public.columns]
    for cells, total, keys in lines:
        if total != total:  # the total itself is hidden
            continue
        hidden = [k for k, v in zip(keys, cells) if v != v]
        if len(hidden) == 1:
            found.append((hidden[0], total - np.nansum(cells.to_numpy(dtype=float))))
    return found


def test_primary_suppression_shows_small_counts_as_less_than_five():
    t = pd.DataFrame({"Robbery": [3, 12, 20], "Burglary": [30, 9, 40]}, index=["A", "B", "C"])
    s = suppress(t)
    assert s.labels.loc["A", "Robbery"] == "<5"
    assert s.status.loc["A", "Robbery"] == "primary"
    assert np.isnan(s.public.loc["A", "Robbery"])
    assert s.labels.loc[TOTAL, TOTAL] == "114"  # the grand total is published
    assert s.labels.loc["C", "Burglary"] == "40"


def test_zero_is_shown_and_threshold_is_configurable():
    t = pd.DataFrame({"a": [0, 7, 9], "b": [8, 6, 10]}, index=list("xyz"))
    assert suppress(t).labels.loc["x", "a"] == "0"
    s10 = suppress(t, threshold=10)
    assert s10.labels.loc["y", "a"] == "<10"
    assert s10.labels.loc["x", "b"] == "<10"
    assert s10.labels.loc[TOTAL, TOTAL] == "40"


def test_differencing_attack_a_cell_from_its_total_minus_visible_siblings():
    # One small cell: without secondary suppression, row total - visible = the cell.
    t = pd.DataFrame({"Robbery": [3, 12, 20], "Burglary": [30, 9, 40]}, index=["A", "B", "C"])
    naive = t.astype(float).copy()
    naive[TOTAL] = t.sum(axis=1)
    naive.loc[TOTAL] = naive.sum(axis=0)
    naive.loc["A", "Robbery"] = np.nan
    assert differencing_attack(naive) == [(("A", "Robbery"), 3.0), (("A", "Robbery"), 3.0)]
    # With secondary suppression no published total gives a cell away.
    assert differencing_attack(suppress(t).public) == []


@pytest.mark.parametrize("threshold", [3, 5, 10])
def test_no_hidden_cell_recoverable_in_random_tables(threshold):
    for t in random_tables(seed=threshold):
        s = suppress(t, threshold=threshold)
        pub = s.public
        assert differencing_attack(pub) == [], t
        assert recoverable(pub) == [], t
        # every primary cell is hidden; every shown number is the true one
        full = t.copy()
        full[TOTAL] = t.sum(axis=1)
        full.loc[TOTAL] = full.sum(axis=0)
        small = (full > 0) & (full < threshold)
        assert pub[small].isna().all().all()
        shown = pub.notna()
        assert (pub.where(shown, -1) == full.where(shown, -1)).all().all()


def test_two_small_cells_whose_sum_pins_them_are_protected():
    # 1 + 1 hidden beside a published total of 2 more: both must be 1 (range attack).
    t = pd.DataFrame({"n": [1, 1, 40, 50]}, index=list("abcd"))
    s = suppress(t)
    hidden = s.public["n"].drop(TOTAL).isna()
    assert hidden.sum() >= 3  # a third cell joins them
    assert s.labels.loc["c", "n"] == "*"


def test_range_attack_with_linear_programming_finds_nothing():
    from geo.disclosure.suppression import _bounds
    for t in random_tables(n=15, seed=7):
        s = suppress(t)
        full = t.copy()
        full[TOTAL] = t.sum(axis=1)
        full.loc[TOTAL] = full.sum(axis=0)
        x = full.to_numpy()
        st = s.status.to_numpy()
        hidden = st != ""
        if not hidden.any():
            continue
        lb = np.where(st == "primary", 1.0, np.where(x >= 5, 5.0, 0.0))
        ub = np.where(st == "primary", 4.0, np.inf)
        b = _bounds(x, hidden, st == "primary", 5, lb, ub)
        for (i, j), (lo, hi) in zip(np.argwhere(hidden), b):
            if st[i, j] == "primary":
                assert hi - lo >= 1, (t, i, j, lo, hi)


def test_neighbouring_periods_in_one_table_do_not_reveal_a_month():
    # areas by month with period totals: one small month must not follow from the total
    t = pd.DataFrame({"2024-02": [12, 30, 8], "2024-03": [2, 25, 9], "2024-04": [15, 28, 11]},
                     index=["ward A", "ward B", "ward C"])
    s = suppress(t)
    assert s.labels.loc["ward A", "2024-03"] == "<5"
    assert differencing_attack(s.public) == []
    assert recoverable(s.public) == []
    # the month's force-wide total and ward A's period total are still published
    assert s.labels.loc[TOTAL, "2024-03"] == "36" or s.status.loc[TOTAL, "2024-03"] != ""


def test_rejects_harm_or_negative_values():
    with pytest.raises(GeoInputError, match="non-negative whole counts"):
        suppress(pd.DataFrame({"h": [1.5, 2.0]}))
    with pytest.raises(GeoInputError, match="below 2"):
        suppress(pd.DataFrame({"n": [1, 2]}), threshold=1)


# ------------------------------------------------------------------ partner aggregates
@pytest.fixture
def toy():
    units = gpd.GeoDataFrame({"code": ["U1", "U2", "U3", "U4"], "name": ["One", "Two", "Three", "Four"]},
                             geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(0, 100, 100, 200),
                                       box(100, 100, 200, 200)], crs="EPSG:27700")
    rng = np.random.default_rng(3)
    per_unit = {"U1": 2, "U2": 20, "U3": 9, "U4": 30}
    pts, cats = [], []
    for (code, n), (x0, y0) in zip(per_unit.items(), [(0, 0), (100, 0), (0, 100), (100, 100)]):
        for _ in range(n):
            pts.append(Point(x0 + rng.uniform(5, 95), y0 + rng.uniform(5, 95)))
            cats.append(rng.choice(["Robbery", "Burglary", "Anti-social behaviour"]))
    inc = gpd.GeoDataFrame({"crime_id": [f"id{i}" for i in range(len(pts))], "location": "On or near X",
                            "category": cats, "month": "2024-02", "harm": [10.0] * len(pts)},
                           geometry=pts, crs="EPSG:27700")
    return inc, units


def toy_units(units):
    level, base = disclosure.base_units(units.assign(level="lsoa"), crs="EPSG:27700")
    return base


def test_published_table_hides_small_cells_and_carries_no_incident_detail(toy):
    inc, units = toy
    inc = inc.assign(layer="crime", in_basket=True, month="2024-02")
    pub = disclosure.publish(inc, toy_units(units), quarters=["2024-Q1"])
    assert set(pub.cells.columns) == {"unit", "quarter", "layer", "category", "basket", "count", "harm", "w_lo", "w_hi"}
    true = inc.sjoin(units[["code", "geometry"]]).groupby(["code", "category"]).size()
    for r in pub.cells.itertuples():
        n = true[(r.unit, r.category)]
        assert (r.count != r.count) == (0 < n < 5)  # hidden exactly when small
        assert r.count != r.count or r.count == n
        assert (r.harm != r.harm) == (r.count != r.count)  # harm hidden with its count
    t = pub.unit_table()
    assert set(t.columns) == {"code", "name", "count", "count_label", "harm", "harm_label", "units", "geometry"}
    lab = dict(zip(t["code"], t["count_label"]))
    k = int((pub.cells["unit"] == "U1").sum())  # U1's 2 incidents: one hidden cell per crime type
    assert lab["U1"] == ("<5" if k == 1 else f"{k}–{4 * k}")
    assert (k > 1) or np.isnan(t.loc[t["code"] == "U1", "harm"]).all()
    assert set(t.geometry.geom_type) == {"Polygon"}
    assert "–" in t.attrs["total_label"] or t.attrs["total_label"] == "61"


def test_every_total_is_the_range_its_hidden_cells_allow():
    cells = pd.DataFrame({"unit": ["A", "A", "B", "B"], "quarter": "2024-Q1", "layer": "crime",
                          "category": ["Robbery", "Burglary", "Robbery", "Burglary"], "basket": True,
                          "count": [np.nan, 12.0, 7.0, np.nan], "harm": [np.nan, 120.0, 70.0, np.nan],
                          "w_lo": 10.0, "w_hi": 10.0})
    pub = disclosure.Published(cells=cells, units=gpd.GeoDataFrame(), level="lsoa", quarters=("2024-Q1",),
                               threshold=5)
    f = pub.figure()
    assert (f.lo, f.hi, f.label) == (21, 27, "21–27")
    assert f.about == "about 23"  # 19 shown + 2 per hidden cell
    assert pub.figure(units=["A"], category="Robbery").label == "<5"
    assert pub.figure(units=["A"], category="Burglary").label == "12"
    h = pub.figure(harm=True)
    assert (h.lo, h.hi) == (210, 270)
    assert pub.figure(units=["B"], category="Robbery", harm=True).label == "70"
    # a harm that belongs to a hidden count is hidden with it
    t = pub.table("category", units=["A"])
    assert t.set_index("category").loc["Robbery", "harm_label"] == "<5"


def test_calendar_quarters_are_fixed_and_complete_only():
    assert disclosure.quarter_of("2024-04") == "2024-Q2"
    assert disclosure.quarter_months("2024-Q4") == ["2024-10", "2024-11", "2024-12"]
    months = [f"2024-{m:02d}" for m in range(1, 5)]
    assert disclosure.complete_quarters(months) == ["2024-Q1"]  # April alone is not offered
    months += ["2024-05", "2024-06", "2024-07"]
    assert disclosure.complete_quarters(months) == ["2024-Q1", "2024-Q2"]
    assert disclosure.quarter_run("2024-Q3", "2025-Q2") == ["2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2"]
    assert disclosure.quarters_for_months("2024-01", "2024-06") == ["2024-Q1", "2024-Q2"]
    with pytest.raises(GeoInputError, match="whole calendar quarters.*2024-02 to 2024-04"):
        disclosure.quarters_for_months("2024-02", "2024-04")
    with pytest.raises(GeoInputError, match="2024-Q2 is not a complete quarter"):
        disclosure.quarters_for_months("2024-01", "2024-06", ["2024-Q1"])
    with pytest.raises(GeoInputError, match="not a month"):
        disclosure.quarter_of("2024-13")


def test_drawn_area_is_snapped_to_whole_units_with_a_minimum(toy):
    _, units = toy
    inc = toy[0].assign(layer="crime", in_basket=True)
    pub = disclosure.publish(inc, toy_units(units), quarters=["2024-Q1"])
    assert sorted(pub.snap(box(0, 0, 160, 160), min_units=1)) == ["U1", "U2", "U3", "U4"]
    with pytest.raises(GeoInputError, match="covers 1 whole LSOAs; partner figures need at least 3"):
        pub.snap(box(10, 10, 60, 60), min_units=3)
    # a polygon that misses a unit's centre does not include any of its incidents
    assert pub.snap(box(0, 0, 49, 49), min_units=0) == []


def test_check_aggregate_refuses_incident_columns_and_points(toy):
    inc, _ = toy
    with pytest.raises(GeoInputError, match="crime_id"):
        disclosure.check_aggregate(inc)
    with pytest.raises(GeoInputError, match="point geometries"):
        disclosure.check_aggregate(inc[["harm", "geometry"]])


def test_hex_units_are_the_same_cells_for_any_area():
    a = disclosure.hex_units(box(0, 0, 3000, 3000), cell_size=500, crs="EPSG:27700")
    b = disclosure.hex_units(box(1000, 1000, 4000, 4000), cell_size=500, crs="EPSG:27700")
    common = set(a["code"]) & set(b["code"])
    assert common
    ga = a.set_index("code").geometry
    gb = b.set_index("code").geometry
    assert all(ga[c].equals(gb[c]) for c in itertools.islice(common, 10))
