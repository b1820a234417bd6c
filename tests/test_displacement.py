"""Results analysis of operations: windows, areas, measures, cross-boundary flags, hot spot moves, report, CLI."""
from __future__ import annotations

import io

import math
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import displacement as dsp
from geo import stats
from geo.errors import GeoInputError
from geo.report_html import render_html, to_csv

CRS = "EPSG:27700"


# ------------------------------------------------------------------ a small synthetic force
def _bcus():
    """Two BCUs of one force side by side (A: x < 0, B: x >= 0) and a neighbouring force C to the north."""
    return gpd.GeoDataFrame(
        {"code": ["A", "B", "C"], "name": ["Alpha", "Bravo", "Charlie"],
         "force": ["Home", "Home", "Next"]},
        geometry=[shapely.box(-10_000, -10_000, 0, 10_000), shapely.box(0, -10_000, 10_000, 10_000),
                  shapely.box(-10_000, 10_000, 10_000, 20_000)], crs=CRS)


def _incidents(rng, *, plant=None, per_km2=12.0, months=("2024-02", "2024-04"), basket_share=0.7):
    """Uniform Poisson incidents over the three BCUs in two months; `plant` adds (x, y, n) after-month points."""
    rows = []
    for m in months:
        n = rng.poisson(per_km2 * 600)
        x = rng.uniform(-10_000, 10_000, n)
        y = rng.uniform(-10_000, 20_000, n)
        basket = rng.random(n) < basket_share
        rows.append(pd.DataFrame({"x": x, "y": y, "month": m, "in_basket": basket}))
    if plant is not None:
        px, py, k = plant
        rows.append(pd.DataFrame({"x": rng.normal(px, 80, k), "y": rng.normal(py, 80, k), "month": months[1],
                                  "in_basket": True}))
    df = pd.concat(rows, ignore_index=True)
    df["category"] = np.where(df["in_basket"], "Violence and sexual offences", "Shoplifting")
    df["harm"] = np.where(df["in_basket"], 10.0, 1.0)
    df["date"] = ""
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["x"], df["y"]), crs=CRS)


TARGET = shapely.box(-2_000, -1_000, -500, 1_000)   # in BCU A, 500 m from BCU B


def _windows():
    return dsp.op_windows("2024-03-01", "2024-03-31", available=["2024-02", "2024-03", "2024-04"])


# ------------------------------------------------------------------ windows
def test_month_windows_default_to_the_months_either_side():
    w = dsp.op_windows("2024-03-01", "2024-03-31")
    assert (w.before, w.after, w.time_weights) == (("2024-02", "2024-02"), ("2024-04", "2024-04"), (1.0, 1.0))


def test_unequal_windows_become_time_weights():
    w = dsp.op_windows("2024-03-01", "2024-03-31", before="2024-01:2024-02", after=("2024-04", "2024-04"))
    assert (w.before_len, w.after_len, w.time_weights) == (2, 1, (2.0, 1.0))


def test_day_windows_for_calls():
    w = dsp.op_windows("2016-08-15", "2016-08-21", resolution="day", available=("2016-08-01", "2016-08-31"))
    assert w.before == ("2016-08-08", "2016-08-14") and w.after == ("2016-08-22", "2016-08-28")
    w2 = dsp.op_windows("2016-08-15", "2016-08-21", resolution="day", before="2016-08-01:2016-08-14")
    assert w2.time_weights == (2.0, 1.0)


def test_window_outside_the_data_is_refused_with_a_fix():
    with pytest.raises(GeoInputError, match=r"after window .* not covered.*May 2024 missing.*Fix"):
        dsp.op_windows("2024-03-01", "2024-03-31", after="2024-04:2024-05",
                       available=["2024-01", "2024-02", "2024-03", "2024-04"])
    with pytest.raises(GeoInputError, match="not covered by the data, which runs 2016-08-01"):
        dsp.op_windows("2016-08-01", "2016-08-07", resolution="day", available=("2016-08-01", "2016-08-31"))
    with pytest.raises(GeoInputError, match="overlap the operation"):
        dsp.op_windows("2024-03-01", "2024-03-31", before="2024-02:2024-03")


def test_unequal_windows_give_the_time_weighted_wdd():
    rng = np.random.default_rng(3)
    inc = _incidents(rng, months=("2024-01", "2024-02", "2024-04"))
    w = dsp.op_windows("2024-03-01", "2024-03-31", before="2024-01:2024-02")
    areas = dsp.study_areas(TARGET, bcu=_bcus().geometry.iloc[0])
    cnt = dsp.count_areas(inc, {"target": areas.target, "buffer": areas.buffer, "control": areas.control}, w)
    t = (cnt["n"][0, 0].sum(), cnt["n"][0, 1].sum())
    c = (cnt["n"][2, 0].sum(), cnt["n"][2, 1].sum())
    r = dsp.scaled_wdd(c, t, time_weights=w.time_weights)
    ref = stats.wdd(c, t, time_weights=(2, 1), area_weights=(c[0] / t[0], 1, 1, 1))
    assert r.estimate == pytest.approx(ref.estimate) and r.se == pytest.approx(ref.se)
    assert r.local_estimate == pytest.approx((t[1] - t[0] / 2) - (c[1] - c[0] / 2) * t[0] / c[0])


# ------------------------------------------------------------------ areas
def test_equal_area_buffer_has_the_targets_area():
    for target in (TARGET, shapely.Point(0, 0).buffer(700), shapely.box(0, 0, 3_000, 200)):
        areas = dsp.study_areas(target, bcu=shapely.box(-20_000, -20_000, 20_000, 20_000))
        assert areas.buffer.area == pytest.approx(target.area, rel=0.01)
        assert "equal area" in areas.buffer_rule
    disc = shapely.Point(0, 0).buffer(1000, quad_segs=64)
    assert dsp.equal_area_width(disc) == pytest.approx(1000 * (math.sqrt(2) - 1), rel=0.01)


def test_buffer_leaves_out_other_operations_targets():
    other = shapely.box(-600, -200, 0, 200)                # overlaps TARGET's buffer
    areas = dsp.study_areas(TARGET, bcu=_bcus().geometry.iloc[0], other_targets=[other])
    assert areas.buffer.intersection(other).area == pytest.approx(0, abs=1e-6)
    assert areas.control.intersection(other).area == pytest.approx(0, abs=1e-6)
    assert any("Other operations' targets" in n for n in areas.notes)


def test_control_excludes_target_and_buffer_and_stays_in_the_bcu():
    bcu = _bcus().geometry.iloc[0]
    areas = dsp.study_areas(TARGET, bcu=bcu, buffer_m=300)
    assert areas.buffer_m == 300 and "300 m" in areas.buffer_rule
    assert areas.control.intersection(areas.target).area == pytest.approx(0, abs=1e-6)
    assert areas.control.intersection(areas.buffer).area == pytest.approx(0, abs=1e-6)
    assert areas.control.difference(bcu).area == pytest.approx(0, abs=1e-6)
    with pytest.raises(GeoInputError, match="control area is empty"):
        dsp.study_areas(TARGET, bcu=TARGET.buffer(100))


def test_matched_control_prefers_a_similar_area():
    rng = np.random.default_rng(5)
    inc = _incidents(rng, months=("2024-01", "2024-02", "2024-04"))
    w = dsp.op_windows("2024-03-01", "2024-03-31", before="2024-01:2024-02")
    same = shapely.box(4_000, 4_000, 5_500, 6_000)          # same size as TARGET
    tiny = shapely.box(6_000, -6_000, 6_200, -5_800)
    huge = shapely.box(2_000, -9_000, 9_000, -7_000)
    cand = gpd.GeoDataFrame({"code": ["s", "t", "h"], "name": ["Same", "Tiny", "Huge"]},
                            geometry=[same, tiny, huge], crs=CRS)
    geom, why = dsp.matched_control(inc, TARGET, candidates=cand, exclude=TARGET.buffer(500), windows=w)
    assert geom.equals(same) and "Same" in why


# ------------------------------------------------------------------ measures
def test_vectorised_wdd_equals_geo_wdd():
    rng = np.random.default_rng(0)
    c0, c1, t0, t1 = (rng.poisson(lam, 50) for lam in (900, 950, 60, 40))
    est, se = dsp.wdd_arrays(c0, c1, t0, t1, tau=2.0)
    for i in range(50):
        r = dsp.scaled_wdd((c0[i], c1[i]), (t0[i], t1[i]), time_weights=(2.0, 1.0))
        assert est[i] == pytest.approx(r.estimate) and se[i] == pytest.approx(r.se)


def test_measures_use_geo_tests_and_the_wdq_reading():
    counts = {"areas": ["target", "buffer", "control"], "categories": ["Robbery"], "weights": np.array([3.0]),
              "n": np.array([[[100.0], [50.0]], [[100.0], [150.0]], [[1000.0], [1000.0]]])}
    counts["basket"] = counts["n"].copy()
    w = dsp.op_windows("2024-03-01", "2024-03-31")
    t = dsp.measures(counts, w, sizes={"target": 1, "buffer": 1, "control": 10}, scale="counts")
    row = t[(t["measure"] == dsp.BASKET) & (t["unit"] == "count")].iloc[0]
    q = stats.wdq((1000, 1000), (100, 50), disp_treated=(100, 150))
    assert row["wdq"] == pytest.approx(q.wdq) == -1.0 and row["wdq_reading"] == q.interpretation
    assert row["local_estimate"] == -50 and row["displacement_estimate"] == 50 and row["total_estimate"] == 0
    assert row["local_se"] == pytest.approx(math.sqrt(150 + 2000 / 100))
    harm = t[(t["measure"] == dsp.BASKET) & (t["unit"] == "harm")].iloc[0]
    assert harm["local_estimate"] == pytest.approx(3 * -50)
    assert harm["local_se"] == pytest.approx(3 * row["local_se"])
    assert row["etest_p"] == pytest.approx(stats.e_test(50, 100).pvalue)
    assert 0 <= row["local_p"] <= 1


def test_no_success_is_not_interpretable():
    counts = {"areas": ["target", "buffer", "control"], "categories": ["Robbery"], "weights": np.array([1.0]),
              "n": np.array([[[50.0], [80.0]], [[40.0], [40.0]], [[500.0], [500.0]]])}
    counts["basket"] = counts["n"].copy()
    t = dsp.measures(counts, dsp.op_windows("2024-03-01", "2024-03-31"),
                     sizes={"target": 1, "buffer": 1, "control": 10})
    assert t.iloc[1]["wdq_reading"].startswith("not interpretable")


# ------------------------------------------------------------------ across boundaries
def _analyse(inc, **kw):
    bcus = _bcus()
    return dsp.analyse(inc, TARGET, bcu_code="A", bcus=bcus, windows=_windows(), own_force="Home",
                       operation={"name": "Op Test", "bcu": "A", "tactic": "Test purchase"}, **kw)


def test_displacement_planted_into_the_neighbouring_bcu_is_flagged():
    # the buffer + ring reaches into BCU B (x >= 0); plant 120 extra basket crimes there after the operation
    res = _analyse(_incidents(np.random.default_rng(11), plant=(600, 0, 120)))
    cross = res.cross.set_index("code")
    assert bool(cross.loc["B", "flag"]) and cross.loc["B", "reading"] == "possible displacement into Bravo"
    assert not cross.loc["A", "flag"]
    # the calibrated catchment reaches 1 km: the plant (1.1 km from the target's edge) is outside it
    assert res.summary.clause("displacement").status in ("evidence", "no evidence")


def test_planted_displacement_across_a_bcu_line_1km_away_is_found_by_the_default_catchment():
    # target's edge at x = -500; BCU B starts at x = 0; plant 700 m from the edge, inside B
    res = _analyse(_incidents(np.random.default_rng(11), plant=(200, 0, 120)))
    d = res.summary.clause("displacement")
    assert d.status == "evidence" and "into Bravo BCU, 500–1,000 m east" in d.text
    assert any("Bravo BCU" in f for f in res.flags) and res.verdict[1] == d.text
    assert d.p < 0.05 * 0.3 and d.estimate > 0


def test_no_plant_gives_no_displacement_and_states_the_power():
    res = _analyse(_incidents(np.random.default_rng(11)))
    d = res.summary.clause("displacement")
    assert d.status == "no evidence" and "power to detect a 50% move" in d.text
    assert res.summary.clause("harm").status == "no evidence"
    assert "not interpretable: no effect in the target" in " ".join(res.summary.notes)
    assert 1.0 <= res.summary.spread < 1.5          # Poisson data: the placebo spread is near 1


def test_no_displacement_no_flag():
    res = _analyse(_incidents(np.random.default_rng(11)))
    assert not res.cross["flag"].any()
    assert set(res.cross["code"]) >= {"A", "B"}
    assert (res.cross["p_holm"].dropna() >= res.cross["p"].dropna()).all()


def test_force_without_data_is_left_out_and_said_so():
    inc = _incidents(np.random.default_rng(2))
    inc = inc[~((inc["y"] > 10_000) & (inc["month"] == "2024-04"))]   # force 'Next' lacks April
    target = shapely.box(-1_000, 8_000, 1_000, 9_500)                 # ring reaches into 'Next'
    res = dsp.analyse(inc, target, bcu_code="A", bcus=_bcus(), windows=_windows(), own_force="Home")
    assert any("No Next data for Apr 2024" in c for c in res.caveats)
    assert res.areas.ring.intersection(_bcus().geometry.iloc[2]).area == pytest.approx(0, abs=1e-3)


# ------------------------------------------------------------------ hot spot migration
def test_match_hotspots_pairs_and_marks_boundary_crossings():
    before = pd.DataFrame({"hotspot_id": [1, 2], "n": [30, 10], "x": [0.0, 5_000.0], "y": [0.0, 0.0],
                           "bcu": ["A", "A"], "force": ["Home", "Home"]})
    after = pd.DataFrame({"hotspot_id": [1, 2], "n": [25, 12], "x": [900.0, 9_000.0], "y": [0.0, 9_000.0],
                          "bcu": ["B", "C"], "force": ["Home", "Next"]})
    m = match_rows = dsp.match_hotspots(before, after, max_distance_m=2_000)
    moved = m[m["kind"] == "moved"].iloc[0]
    assert (moved["from_id"], moved["to_id"], moved["distance_m"]) == (1, 1, 900.0)
    assert moved["crosses_bcu"] and not moved["crosses_force"]
    assert sorted(match_rows["kind"]) == ["gone", "moved", "new"]


def test_hotspot_migration_flags_a_move_across_a_bcu_and_towards_a_school():
    rng = np.random.default_rng(4)

    def pts(cx, cy, k, noise):
        x = np.r_[rng.normal(cx, 60, k), rng.uniform(-3_000, 3_000, noise)]
        y = np.r_[rng.normal(cy, 60, k), rng.uniform(-3_000, 3_000, noise)]
        return gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=CRS)

    sites = gpd.GeoDataFrame({"kind": ["school"], "name": ["Hill Primary"]},
                             geometry=[shapely.Point(1_250, 0)], crs=CRS)
    mig = dsp.hotspot_migration(pts(-900, 0, 40, 150), pts(1_100, 0, 40, 150),
                                extent=shapely.box(-3_000, -3_000, 3_000, 3_000), cell_size=200, bcus=_bcus(),
                                sites=sites, max_distance_m=3_000, bcu_names={"B": "Bravo"})
    moved = mig.moves[mig.moves["kind"] == "moved"]
    assert len(moved) == 1
    r = moved.iloc[0]
    assert r["distance_m"] == pytest.approx(2_000, abs=250)
    assert r["crosses_bcu"] and r["from_bcu"] == "A" and r["to_bcu"] == "B"
    assert "across a BCU boundary into Bravo" in r["flag"]
    assert "displacement towards a school (Hill Primary" in r["flag"]
    assert r.geometry.geom_type == "LineString"
    # every kind reads with its article and display name ("towards a other" was printed before)
    for kind, words in (("other", "towards a non-sensitive site (Hill Primary"),
                        ("treatment", "towards a drug and alcohol treatment service (Hill Primary"),
                        ("approved premises", "towards an approved premises (bail hostel) (Hill Primary")):
        mig = dsp.hotspot_migration(pts(-900, 0, 40, 150), pts(1_100, 0, 40, 150),
                                    extent=shapely.box(-3_000, -3_000, 3_000, 3_000), cell_size=200, bcus=_bcus(),
                                    sites=sites.assign(kind=kind), max_distance_m=3_000, bcu_names={"B": "Bravo"})
        flags = " ".join(mig.moves["flag"])
        assert words in flags and "towards a other" not in flags, (kind, flags)


# ------------------------------------------------------------------ report and CLI
def test_report_html_holds_the_verdict_figures_and_map():
    res = _analyse(_incidents(np.random.default_rng(11), plant=(600, 0, 120)))
    html = render_html(res, bcus=_bcus())
    assert res.headline.replace("'", "&#39;") in html
    c = res.row(dsp.BASKET, "count")
    appendix = html[html.index('id="appendix"'):]     # the standard measures, rounded for reading
    assert f"<td class='n'>{c['local_estimate']:,.0f}</td>" in appendix
    assert "possible displacement into Bravo" in html
    assert "data:image/png;base64," in html and "http://" not in html and "https://" not in html
    for caveat in ("Short windows", "Regression to the mean"):
        assert caveat in html
    csv = to_csv(res)
    table = pd.read_csv(io.StringIO(csv), keep_default_na=False)
    assert list(table["table"].unique()[:2]) == ["verdict", "calibrated_tests"]   # what the report opens with
    verdict = table[table["table"] == "verdict"]
    assert list(verdict["topic"][:4]) == ["harm", "displacement", "diffusion", "activity"]
    assert verdict["text"].iloc[1] == res.summary.clause("displacement").text
    assert "Ring 0–250 m" in set(table["name"]) and "measures" in set(table["table"])
    assert "cross_boundary" in csv and "Bravo" in csv


@pytest.fixture(scope="module")
def sy_copy(demo_workspaces, tmp_path_factory):
    p = tmp_path_factory.mktemp("dsp") / "sy.gpkg"
    shutil.copy(demo_workspaces["south-yorkshire"], p)
    return p


def test_demo_operations_are_in_the_register_and_analyse(sy_copy, demo_workspaces):
    from geo import Workspace
    ws = Workspace.open(sy_copy)
    try:
        names = {o.name for o in ws.operations()}
        assert {"Op Central (demo)", "Op Beighton (demo)"} <= names
        res = dsp.analyse_operation(ws, "Op Beighton (demo)")
    finally:
        ws.close()
    assert res.windows.before == ("2025-02", "2025-02") and res.windows.after == ("2025-04", "2025-04")
    assert {"E08000018", "E07000038"} <= set(res.cross["code"])    # Rotherham, North East Derbyshire
    assert res.areas.buffer.area == pytest.approx(res.areas.target.area, rel=0.02)
    pdx = Workspace.open(demo_workspaces["portland"])
    try:
        r2 = dsp.analyse_operation(pdx, "Op Old Town (demo)")
    finally:
        pdx.close()
    assert r2.windows.resolution == "day" and r2.windows.before == ("2016-08-08", "2016-08-14")
    assert any(c.startswith("Small counts") for c in r2.caveats)


def test_cli_writes_the_report(sy_copy, tmp_path, capsys):
    from geo.cli import main
    out = tmp_path / "central.html"
    assert main(["displacement", "--workspace", str(sy_copy), "--operation", "Op Central (demo)",
                 "--before", "2025-01:2025-02", "--after", "2025-04", "--out", str(out)]) == 0
    html = out.read_text()
    assert "Results analysis: Op Central (demo)" in html and "Jan 2025 – Feb 2025" in html
    assert (tmp_path / "central.csv").exists()
    printed = capsys.readouterr().out
    assert printed.startswith(("[no evidence] Harm:", "[evidence] Harm:", "[too few to tell] Harm:"))
    assert "] Displacement:" in printed and "] Diffusion:" in printed and "] Activity:" in printed
    assert main(["displacement", "--workspace", str(sy_copy), "--operation", "Op Central (demo)",
                 "--after", "2025-04:2025-07", "--out", str(tmp_path / "x.html")]) == 2
    assert "not covered by the data" in capsys.readouterr().err
    assert main(["displacement", "--workspace", str(sy_copy), "--operation", "Op Nothing",
                 "--out", str(tmp_path / "y.html")]) == 2
    assert not (tmp_path / "x.html").exists()


def test_cli_json_carries_every_clause_with_estimate_interval_p_and_status(sy_copy, tmp_path, capsys):
    import json

    from geo.cli import main
    out = tmp_path / "beighton.json"
    assert main(["displacement", "--workspace", str(sy_copy), "--operation", "Op Beighton (demo)",
                 "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    clauses = doc["verdict"]["clauses"]
    assert [c["topic"] for c in clauses] == ["harm", "displacement", "diffusion", "activity"]
    for c in clauses:
        assert c["status"] in ("evidence", "no evidence", "too few to tell")
        assert {"estimate", "ci_low", "ci_high", "p", "alpha", "text"} <= set(c)
    harm = clauses[0]
    assert harm["estimate"] is not None and harm["ci_low"] < harm["estimate"] < harm["ci_high"]
    assert doc["tests"][0]["name"] == "Target" and doc["verdict"]["spread_of_placebo_z"] >= 1
    assert any(t["kind"] == "piece" for t in doc["tests"])
    assert not list(tmp_path.glob("*.html"))          # no --out, no report


def test_report_opens_with_the_verdict_then_the_calibrated_tests():
    from markupsafe import escape
    res = _analyse(_incidents(np.random.default_rng(11), plant=(200, 0, 120)))
    html = render_html(res, bcus=_bcus())
    first = str(escape(res.summary.clauses[0].text))
    assert html.index(first) < html.index("<h2>Calibrated tests</h2>") < html.index("<h2>Map</h2>")
    assert "Bravo BCU, 500–1,000 m east" in html and "Sensitivity to the buffer width" in html
    assert "exploratory" in html


def test_demo_operations_compare_the_same_months_a_year_earlier(sy_copy):
    # 18 months of data: Op Central and Op Beighton (Feb vs Apr 2025) are re-tested on Feb vs Apr 2024
    from geo import Workspace
    from geo.cli_results import verdict_json
    from geo.report_html import render_html
    ws = Workspace.open(sy_copy)
    try:
        results = {n: dsp.analyse_operation(ws, n) for n in ("Op Central (demo)", "Op Beighton (demo)")}
    finally:
        ws.close()
    for res in results.values():
        sz = res.checks["seasonal"]
        assert (sz["before"], sz["after"]) == ("Feb 2024", "Apr 2024")
        assert sz["status"] in ("evidence", "no evidence", "too few to tell") and 0 <= sz["p"] <= 1
        assert sz["reading"].startswith("Same months a year earlier (Feb 2024 vs Apr 2024)")
        assert sz["harm_before"] > 0
        fit = res.checks["pre_fit"]
        assert fit["months"] == 14 and fit["status"] in ("parallel", "not parallel")
        assert verdict_json(res)["same_months_a_year_earlier"]["status"] == sz["status"]
        assert res.temporal is None                     # police.uk crime has months, not dates
        html = render_html(res)
        assert "Seasonality: Same months a year earlier" in html and "Pre-period fit over 14 months" in html
    # the two operations differ: the earlier year of one is not the copy of the other's
    assert results["Op Central (demo)"].checks["seasonal"]["harm_before"] != \
        results["Op Beighton (demo)"].checks["seasonal"]["harm_before"]
