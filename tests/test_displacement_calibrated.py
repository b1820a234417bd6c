"""The calibrated verdict on a small synthetic force: too few to tell, uncovered force-months, WDQ/WDD agreement."""
from __future__ import annotations

import numpy as np
import shapely

from geo.displacement.flags import MIN_BEFORE, area_test
from tests.test_displacement import TARGET, _analyse, _bcus, _incidents, _windows


def test_a_zero_baseline_piece_is_too_few_to_tell_never_flagged():
    # the case: 0 before and 0 after was flagged with p_holm 1.6e-135
    before_after = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    control = np.array([[5000.0, 50000.0, 500000.0], [5200.0, 52000.0, 520000.0]])
    t = area_test("Bassetlaw, 500–1,000 m east", "piece", before_after, control, tau=1.0, phi=1.3, alpha=0.015,
                  sides="rise", unit="count")
    assert t.status == "too few to tell" and np.isnan(t.p) and t.reading == ""
    few = np.array([[MIN_BEFORE - 1, 20.0, 200.0], [30.0, 300.0, 3000.0]])   # 2 before, 30 after
    assert area_test("x", "piece", few, control, tau=1.0, phi=1.3, alpha=0.015, unit="count").status == \
        "too few to tell"


def test_pieces_with_no_incidents_are_too_few_to_tell_in_the_analysis():
    inc = _incidents(np.random.default_rng(5))
    inc = inc[~((inc["x"] >= 0) & (inc["y"] < 10_000))]          # BCU Bravo has no incidents at all
    res = _analyse(inc)
    bravo = [t for t in res.assessment.pieces if t.code == "B"]
    assert bravo and all(t.status == "too few to tell" and np.isnan(t.p_adj) for t in bravo)
    assert not any("Bravo" in f for f in res.flags)


def test_an_uncovered_force_month_leaves_the_force_out_and_says_so():
    inc = _incidents(np.random.default_rng(2))
    inc["force"] = np.where(inc["y"] > 10_000, "Next Police", "Home Police")
    inc = inc[~((inc["y"] > 10_000) & (inc["month"] == "2024-04"))]   # force 'Next' lacks April
    target = shapely.box(-1_000, 8_500, 1_000, 9_500)                  # catchment reaches into 'Next'
    from geo import displacement as dsp
    res = dsp.analyse(inc, target, bcu_code="A", bcus=_bcus(), windows=_windows(), own_force="Home")
    assert not any(p.force == "Next" for p in res.catchment.pieces)
    nxt = _bcus().geometry.iloc[2]
    assert all(r.geometry.intersection(nxt).area < 1 for r in res.catchment.rings)
    assert any("No data for Next" in c for c in res.caveats)


def test_wdq_is_read_only_with_an_effect_in_the_target_and_never_contradicts_the_wdd():
    rng = np.random.default_rng(8)
    inc = _incidents(rng, per_km2=25.0)
    inside = shapely.contains_xy(TARGET, inc["x"].to_numpy(), inc["y"].to_numpy())
    drop = inside & (inc["month"] == "2024-04").to_numpy() & (rng.random(len(inc)) < 0.8)
    res = _analyse(inc[~drop])                                          # 80% fewer incidents in the target after
    harm = res.summary.clause("harm")
    assert harm.status == "evidence" and harm.estimate < 0 and harm.ci_high < 0
    wdq = [n for n in res.summary.notes if n.startswith("WDQ")][0]
    assert "not interpretable" not in wdq
    ring0 = res.assessment.rings[0]
    if ring0.status != "evidence" and "displacement" in wdq and "no displacement" not in wdq:
        assert "(not significant)" in wdq
    null = _analyse(_incidents(np.random.default_rng(11)))
    assert null.summary.clause("harm").status == "no evidence"
    assert "WDQ: not interpretable: no effect in the target." in null.summary.notes


def test_checks_show_monthly_harm_and_repeat_the_test_on_placebo_dates():
    from geo import displacement as dsp
    months = tuple(f"2024-{m:02d}" for m in range(1, 8))
    inc = _incidents(np.random.default_rng(4), months=months)
    w = dsp.op_windows("2024-06-01", "2024-06-30", available=list(months))
    res = dsp.analyse(inc, TARGET, bcu_code="A", bcus=_bcus(), windows=w, own_force="Home")
    pt = res.checks["pre_trend"]
    assert set(pt["name"]) == {"Target", "Catchment (rings)", "Control"} and pt["month"].nunique() == 7
    dates = res.checks["placebo_dates"]
    assert list(dates["before"]) == ["Feb 2024"] and list(dates["after"]) == ["Apr 2024"]
    assert dates["status"].iloc[0] in ("evidence", "no evidence", "too few to tell")
    assert res.checks["placebo_type"]["status"] in ("not recorded", "evidence", "no evidence", "too few to tell")
    # seven months of data: no year before the windows, and 5 months before the operation (fewer than 6)
    assert res.checks["seasonal"]["status"] == "not available"
    assert "fewer than 12 months" in res.checks["seasonal"]["reading"]
    assert res.checks["pre_fit"]["status"] == "too few months" and res.checks["pre_fit"]["months"] == 5
    from geo.report_html import render_html
    html = render_html(res, bcus=_bcus())
    assert "Checks on the operation itself" in html and "Placebo dates" in html


def test_pre_period_fit_reads_parallel_and_not_parallel():
    import pandas as pd
    from geo import displacement as dsp
    from geo.displacement.checks import pre_period_fit
    ms = [f"2024-{m:02d}" for m in range(1, 11)]
    w = dsp.op_windows("2024-10-01", "2024-10-31")
    ctrl = [100, 120, 90, 110, 100, 130, 90, 100, 105, 95]
    same = [c / 10 + 0.3 * (i % 2) for i, c in enumerate(ctrl)]
    opposite = [26 - c / 10 for c in ctrl]
    for tgt, status in ((same, "parallel"), (opposite, "not parallel")):
        panel = pd.DataFrame({"month": ms * 2, "name": ["Target"] * 10 + ["Control"] * 10, "harm": tgt + ctrl})
        fit = pre_period_fit(panel, w)
        assert fit["status"] == status and fit["months"] == 9          # October is the operation, left out
        assert ("did not move in parallel" in fit["reading"]) == (status == "not parallel")
    short = pd.DataFrame({"month": ms[:4] * 2, "name": ["Target"] * 4 + ["Control"] * 4, "harm": ctrl[:4] * 2})
    assert pre_period_fit(short, w)["status"] == "too few months"


def test_shifted_designs_reuse_the_operations_cells_and_catchment_with_the_same_numbers(monkeypatch):
    """Placebo dates and a year earlier, given the operation's own design and catchment (``shifted_from``) and
    coverage, build no catchment and no placebo cells again and give the numbers computed from scratch."""
    import pandas as pd
    from geo import displacement as dsp
    from geo.displacement import engine
    from geo.displacement.checks import placebo_dates, same_months_a_year_earlier
    from geo.displacement.windows import periods, window_months
    from tests.test_stored_results import _same
    months = tuple(f"{y}-{m:02d}" for y in (2023, 2024) for m in range(1, 13))[:17]   # Jan 2023 - May 2024
    inc = _incidents(np.random.default_rng(4), months=months, per_km2=3.0).assign(force="Home")
    w = dsp.op_windows("2024-04-01", "2024-04-30", available=list(months))
    bcus = _bcus()
    prep = engine.prepare(inc, periods(inc, w), tau=w.time_weights[0], bcus=bcus, own_force="Home",
                          months=window_months(w))
    catch, _ = engine.run(prep, TARGET, own_bcu="A", n_placebos=50)
    kw = {"windows": w, "bcus": bcus, "own_bcu": "A", "own_force": "Home", "alpha": 0.05}
    slow = (placebo_dates(inc, TARGET, **kw), same_months_a_year_earlier(inc, TARGET, **kw))
    built, made, prepare, catchment = [], [], engine.prepare, engine.catchment
    monkeypatch.setattr(engine, "catchment", lambda *a, **k: built.append(catchment(*a, **k)) or built[-1])
    monkeypatch.setattr(engine, "prepare", lambda *a, **k: made.append(prepare(*a, **k)) or made[-1])
    fast = {"shifted_from": (prep, {frozenset(prep.uncovered): catch}), "covered": engine.covered_pairs(inc)}
    quick = (placebo_dates(inc, TARGET, **kw, **fast), same_months_a_year_earlier(inc, TARGET, **kw, **fast))
    assert len(slow[0]) == 3 and slow[1]["status"] != "not available"
    assert built == [] and len(made) == 4 and all(p.cell_bcu is prep.cell_bcu for p in made)
    pd.testing.assert_frame_equal(quick[0], slow[0], check_exact=True)
    _same(quick[1], slow[1], "a year earlier")
