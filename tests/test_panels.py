"""Monthly panels: counts conserved, coverage respected, control limits and change, on the real demo."""
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import GeoInputError, Workspace
from geo import coverage as cv
from geo import panels

MONTHS = ["2024-01", "2024-02", "2024-03"]


@pytest.fixture
def grid_incidents():
    rng = np.random.default_rng(7)
    n = 4000
    return pd.DataFrame({"x": rng.integers(0, 20, n) * 50.0 + 25, "y": rng.integers(0, 20, n) * 50.0 + 25,
                         "month": rng.choice(MONTHS, n), "harm": rng.random(n) * 10,
                         "category": rng.choice(["Robbery", "Drugs"], n)})


def test_counts_and_harm_match_a_point_in_polygon_count(grid_incidents):
    areas = {"west": shapely.box(0, 0, 500, 1000), "middle": shapely.box(250, 250, 990, 990),  # overlapping
             "circle": shapely.Point(500, 500).buffer(300)}
    p = panels.monthly_panel(grid_incidents, areas)
    assert list(p.columns) == panels.PANEL_COLUMNS and len(p) == 9 and p["covered"].all()
    inc = grid_incidents
    for name, g in areas.items():
        for m in MONTHS:
            sel = inc[(inc["month"] == m) & shapely.contains_xy(g, inc["x"], inc["y"])]
            row = p[(p["code"] == name) & (p["month"] == m)].iloc[0]
            assert row["count"] == len(sel) and row["harm"] == pytest.approx(sel["harm"].sum())
    only = panels.monthly_panel(inc, areas, categories=["Drugs"])
    assert only["count"].sum() < p["count"].sum()
    assert only.loc[only["code"] == "west", "count"].sum() == (
        (inc["category"] == "Drugs") & (inc["x"] < 500)).sum()


def test_a_month_with_no_rows_is_not_covered_by_default(grid_incidents):
    p = panels.monthly_panel(grid_incidents, {"all": shapely.box(0, 0, 1000, 1000)},
                             months=["2023-12", *MONTHS])
    first = p.iloc[0]
    assert first["month"] == "2023-12" and not first["covered"] and pd.isna(first["count"])


def test_an_area_across_a_force_line_is_not_covered_when_that_force_is_missing(grid_incidents):
    forces = pd.DataFrame({"force": ["Alpha Police", "Beta Constabulary"]})
    import geopandas as gpd
    forces = gpd.GeoDataFrame(forces, geometry=[shapely.box(0, 0, 600, 1000), shapely.box(600, 0, 2000, 1000)])
    coverage = {("Alpha", m) for m in MONTHS} | {("Beta", "2024-01"), ("Beta", "2024-03")}
    areas = {"alpha only": shapely.box(0, 0, 500, 500),
             "across": shapely.box(400, 0, 800, 500),
             "sliver": shapely.box(0, 0, 603, 1000)}  # 0.5 % in Beta: a sliver, ignored
    p = panels.monthly_panel(grid_incidents, areas, coverage=coverage, forces=forces).set_index(["code", "month"])
    assert p.loc["alpha only", "covered"].all() and p.loc["sliver", "covered"].all()
    assert list(p.loc["across", "covered"]) == [True, False, True]
    assert pd.isna(p.loc[("across", "2024-02"), "count"]) and pd.isna(p.loc[("across", "2024-02"), "harm"])
    assert p.loc[("across", "2024-01"), "count"] > 0
    assert p.attrs["notes"] == ["across: no data for Feb 2024 (a force it lies in is not covered); those months are "
                                "left out, not counted as zero."]


def _one_area(counts, harm=None, covered=None):
    n = len(counts)
    months = cv.month_range("2024-01", "2026-12")[:n]
    return pd.DataFrame({"month": months, "code": "A", "name": "Area A",
                         "count": pd.array(counts, dtype="Int64"),
                         "harm": pd.array(harm if harm is not None else [float(c) * 2 for c in counts], dtype="Float64"),
                         "covered": covered if covered is not None else [True] * n})


def test_control_limits_never_narrower_than_poisson_and_wider_when_over_dispersed():
    steady = _one_area([100, 101, 99, 100, 100, 101, 99, 100, 100, 100, 101, 99])   # variance < mean
    out = panels.add_control_limits(steady, k=2)
    assert out["count_mean"].iloc[0] == pytest.approx(100)
    assert out["count_upper"].iloc[0] == pytest.approx(100 + 2 * 10)              # Poisson: sqrt(100) = 10
    wild = _one_area([60, 140, 80, 120, 70, 130, 90, 110, 65, 135, 100, 100])
    v = np.array([60, 140, 80, 120, 70, 130, 90, 110, 65, 135, 100, 100], float)
    out = panels.add_control_limits(wild, k=3)
    assert out["dispersion"].iloc[0] == pytest.approx(v.var(ddof=1) / v.mean())
    assert out["count_upper"].iloc[0] == pytest.approx(v.mean() + 3 * v.std(ddof=1))
    assert out["count_lower"].iloc[0] == pytest.approx(max(0, v.mean() - 3 * v.std(ddof=1)))
    h = v * 2
    assert out["harm_upper"].iloc[0] == pytest.approx(h.mean() + 3 * h.std(ddof=1))


def test_signals_and_the_pre_period():
    counts = [10, 12, 8, 10, 11, 9, 10, 30, 0]
    out = panels.add_control_limits(_one_area(counts), pre=("2024-01", "2024-07"))
    assert list(out["count_signal"]) == ["", "", "", "", "", "", "", "above", "below"]
    assert out.attrs["pre"] == ("2024-01", "2024-07") and (out["pre_months"] == 7).all()
    short = panels.add_control_limits(_one_area(counts), pre=("2024-01", "2024-03"))
    assert short["count_mean"].isna().all() and (short["count_signal"] == "").all()  # fewer than 6 months
    with pytest.raises(GeoInputError, match=r"pre-period ends \(2024-01\) before it starts"):
        panels.add_control_limits(_one_area(counts), pre=("2024-05", "2024-01"))


def test_uncovered_months_are_left_out_of_limits_and_changes():
    counts = list(range(10, 25))                      # 2024-01 ... 2025-03
    covered = [True] * 15
    covered[1] = False                                # Feb 2024 not covered
    p = _one_area(counts, covered=covered)
    p.loc[1, ["count", "harm"]] = pd.NA
    out = panels.add_changes(panels.add_control_limits(p)).set_index("month")
    vals = np.array([c for i, c in enumerate(counts) if covered[i]], float)
    assert out["count_mean"].iloc[0] == pytest.approx(vals.mean())
    assert pd.isna(out.loc["2025-02", "count_yoy"])          # a year earlier is not covered: unknown, not +23
    assert int(out.loc["2025-03", "count_yoy"]) == 24 - 12
    assert out.loc["2025-03", "count_yoy_pct"] == pytest.approx(100)
    assert pd.isna(out.loc["2024-03", "count_3m"]) and pd.isna(out.loc["2024-06", "count_3m_prev"])
    assert int(out.loc["2024-07", "count_3m"]) == 14 + 15 + 16
    assert pd.isna(out.loc["2024-07", "count_3m_prev"])      # Feb-Apr 2024 includes the uncovered Feb
    assert int(out.loc["2024-08", "count_3m"]) == 15 + 16 + 17
    assert int(out.loc["2024-08", "count_3m_prev"]) == 12 + 13 + 14
    assert out.loc["2024-08", "count_3m_pct"] == pytest.approx((48 - 39) / 39 * 100)
    assert out.loc["2024-08", "harm_3m"] == pytest.approx(2 * (15 + 16 + 17))


def test_bad_areas_say_how_to_fix(grid_incidents):
    import geopandas as gpd
    with pytest.raises(GeoInputError, match=r"no 'code' column.*code_col="):
        panels.monthly_panel(grid_incidents, gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)]))
    with pytest.raises(GeoInputError, match=r"No areas were given"):
        panels.monthly_panel(grid_incidents, {})
    with pytest.raises(GeoInputError, match=r"Cannot make a panel for a list"):
        panels.monthly_panel(grid_incidents, [shapely.box(0, 0, 1, 1)])
    with pytest.raises(GeoInputError, match=r"no 'month' column"):
        panels.monthly_panel(grid_incidents.drop(columns="month"), {"a": shapely.box(0, 0, 1, 1)})


# ---------------------------------------------------------------- the real demo


@pytest.fixture(scope="module")
def sy(demo_workspaces):
    ws = Workspace.open(demo_workspaces["south-yorkshire"])
    yield ws
    ws.close()


def test_bcu_panel_on_the_demo_adds_up_to_the_located_crime(sy):
    p = panels.workspace_panel(sy, "bcu", pre=("2024-01", "2024-12"))
    assert set(p["name"]) == {"Barnsley", "Doncaster", "Rotherham", "Sheffield"}  # own force only
    assert sorted(p["month"].unique()) == cv.month_range("2024-01", "2025-06") and p["covered"].all()
    crime = sy.incidents(layer="crime")                  # mapped: inside the force area
    per_month = crime.groupby("month").size()
    got = p.groupby("month")["count"].sum()
    # a crime on a line between two BCUs is in neither; there are almost none
    assert ((per_month - got).abs() <= 3).all() and (got <= per_month).all()
    assert got.sum() == pytest.approx(len(crime), abs=20)
    assert p["harm"].sum() == pytest.approx(crime["harm"].sum(), rel=1e-4)
    assert p["count_mean"].notna().all() and (p["pre_months"] == 12).all()
    assert (p["dispersion"] > 1).any()                       # real counts are over-dispersed
    jun = p[(p["name"] == "Sheffield") & (p["month"] == "2025-06")].iloc[0]
    last = p[(p["name"] == "Sheffield") & (p["month"] == "2024-06")].iloc[0]
    assert jun["count_yoy"] == jun["count"] - last["count"]


def test_an_operations_rings_across_the_force_line_are_not_covered_in_the_gap(sy):
    op = next(o for o in sy.operations() if o.name == "Op Beighton (demo)")
    target = sy.operation_areas().set_index("op_id").geometry[op.op_id]
    ring = target.buffer(2000).difference(target)
    p = panels.workspace_panel(sy, {"target": target, "2 km ring": ring})
    t, r = p[p["code"] == "target"], p[p["code"] == "2 km ring"]
    assert t["covered"].all() and t["count"].notna().all()
    gap = cv.month_range("2024-05", "2024-12")
    assert list(r.loc[~r["covered"], "month"]) == gap           # Derbyshire holds part of the ring
    assert r.loc[r["month"].isin(gap), "count"].isna().all()
    assert (r.loc[~r["month"].isin(gap), "count"] > 0).all()
    assert any(n.startswith("2 km ring: no data for May 2024 – Dec 2024") for n in p.attrs["notes"])
    # the ring's covered months include the Derbyshire side: outside-area rows count there
    derby = sy.boundaries("bcu").set_index("name").geometry["North East Derbyshire"]
    jan = sy.store.read_incidents(layer="crime", months=("2024-01", "2024-01"), statuses=("outside_area",))
    inside = shapely.contains_xy(ring.intersection(derby), jan["x"].to_numpy(), jan["y"].to_numpy())
    assert inside.sum() > 0


def test_levels_and_errors_on_the_demo(sy):
    with pytest.raises(GeoInputError, match=r"no 'parish' boundaries.*ward"):
        panels.workspace_panel(sy, "parish")
    p = panels.workspace_panel(sy, "force", months=["2024-06", "2024-07"])
    assert list(p["name"].unique()) == ["South Yorkshire"] and p["covered"].all()
    once = panels.panel_incidents(sy)
    again = panels.workspace_panel(sy, "force", months=["2024-06", "2024-07"], incidents=once,
                                   coverage=cv.covered_force_months(sy))
    pd.testing.assert_frame_equal(again, p)
    drugs = panels.workspace_panel(sy, "force", months=["2024-06", "2024-07"], incidents=once, categories=["Drugs"])
    located = sy.incidents(layer="crime", months=("2024-06", "2024-07"), categories=["Drugs"])
    assert drugs["count"].sum() == len(located) and 0 < drugs["count"].sum() < p["count"].sum()
    every = panels.workspace_panel(sy, "force", months=["2024-06", "2025-06"], all_forces=True).set_index(
        ["name", "month"])
    assert not every.loc[("Derbyshire", "2024-06"), "covered"] and every.loc[("Derbyshire", "2025-06"), "covered"]
    assert not every.loc[("West Yorkshire", "2025-06"), "covered"]


def test_without_force_areas_the_incidents_say_which_forces_an_area_lies_in(grid_incidents):
    inc = grid_incidents.assign(force=np.where(grid_incidents["x"] < 600, "Alpha Police", "Beta Constabulary"))
    stray = inc.index[(inc["x"] < 300) & (inc["y"] < 300)][:1]
    inc.loc[stray, "force"] = "Beta Constabulary"          # one Beta crime snapped into Alpha: under 1 %
    coverage = {("Alpha", m) for m in MONTHS} | {("Beta", "2024-01"), ("Beta", "2024-03")}
    areas = {"alpha only": shapely.box(0, 0, 500, 1000), "across": shapely.box(400, 0, 800, 500)}
    p = panels.monthly_panel(inc, areas, coverage=coverage).set_index(["code", "month"])
    assert p.loc["alpha only", "covered"].all()
    assert list(p.loc["across", "covered"]) == [True, False, True]
    assert pd.isna(p.loc[("across", "2024-02"), "count"])


# ---------------------------------------------------------------- what changed, in words
def one_area(harm, *, covered=None, start="2024-01"):
    months = [panels.month_range(start, "2030-12")[i] for i in range(len(harm))]
    return pd.DataFrame({"month": months, "code": "S", "name": "Sheffield",
                         "count": pd.array([10] * len(harm), dtype="Int64"),
                         "harm": pd.array(harm, dtype="Float64"),
                         "covered": covered if covered is not None else [True] * len(harm)})


def test_year_on_year_and_three_month_change_in_words():
    harm = [100.0] * 12 + [90.0, 90.0, 90.0] + [110.0, 100.0, 120.0]  # Jan 2024 ... Jun 2025
    lines = panels.trend_sentences(one_area(harm))
    # Apr-Jun 2025 = 330 against Apr-Jun 2024 = 300 and Jan-Mar 2025 = 270
    assert lines == ["Harm in Sheffield, Apr–Jun 2025: 10% above the same months of 2024 (330 days against 300).",
                     "Harm in Sheffield, Apr–Jun 2025: 22% above Jan–Mar 2025 (330 days against 270)."]
    across = panels.trend_sentences(one_area([100.0] * 12 + [90.0, 100.0, 100.0], start="2023-11"),
                                    what="Drug-market harm", name="Ward X")
    assert across[0].startswith("Drug-market harm in Ward X, Nov 2024–Jan 2025: 3% below the same months of "
                                "Nov 2023–Jan 2024")  # 290 against 300


def test_no_change_is_stated_against_a_month_not_covered():
    harm = [100.0] * 18
    covered = [True] * 18
    covered[4] = False  # May 2024: no year-on-year for Apr-Jun 2025
    lines = panels.trend_sentences(one_area(harm, covered=covered))
    assert len(lines) == 1 and "Jan–Mar 2025" in lines[0] and "about the same as" in lines[0]
    short = panels.trend_sentences(one_area([5.0, 6.0]))
    assert short == []


def test_control_limit_signals_are_named_by_month():
    harm = [100.0, 104.0, 96.0, 102.0, 98.0, 100.0, 101.0, 99.0, 160.0]
    p = panels.add_control_limits(one_area(harm), pre=("2024-01", "2024-08"), measures=("harm",))
    last = panels.trend_sentences(p)[-1]
    assert last.startswith("Outside the control limits in the last six months: Sep 2024 above. Long-run mean 100 days")
    calm = panels.add_control_limits(one_area(harm[:8]), measures=("harm",))
    assert panels.trend_sentences(calm)[-1].startswith("Every month of the last six lay within the control limits")
    with pytest.raises(GeoInputError, match="areas"):
        panels.trend_sentences(pd.concat([one_area(harm), one_area(harm).assign(code="T")]))


def test_months_label():
    assert panels.months_label("2025-04", "2025-06") == "Apr–Jun 2025"
    assert panels.months_label("2024-12", "2025-02") == "Dec 2024–Feb 2025"
    assert panels.months_label("2025-06", "2025-06") == "Jun 2025"


def test_trend_chart_is_a_png_of_the_panel():
    from geo.render.charts import trend_png
    harm = [100.0, 104.0, 96.0, 102.0, 98.0, 100.0, 101.0, 99.0, 160.0]
    p = panels.add_control_limits(one_area(harm, covered=[True] * 8 + [False]), measures=("harm",))
    png = trend_png(p, unit="harm (days)", title="Sheffield $1")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_distinct_points_are_numpys_unique_rows():
    """``_unique_points`` (one lexsort) returns what ``np.unique(..., axis=0, return_inverse=True)`` does."""
    from geo.panels import _unique_points
    rng = np.random.default_rng(3)
    for n in (0, 1, 7, 5000):
        x = np.round(rng.uniform(430_000, 431_000, n), -2)   # snapped: many repeats
        y = np.round(rng.uniform(380_000, 380_500, n), -2)
        want, inv = np.unique(np.column_stack([x, y]), axis=0, return_inverse=True)
        got, got_inv = _unique_points(x, y)
        assert got.shape == want.shape and np.array_equal(got, want) and np.array_equal(got_inv, inv.ravel()), n
        assert n < 5000 or len(got) < n / 10   # the repeats were merged
