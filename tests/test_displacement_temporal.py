"""Temporal displacement (day of week, time of day) for timestamped data: power, false alarms, dates only."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import stats as sps

from geo.displacement import op_windows
from geo.displacement.temporal import NO_TIMES, has_times, shift_test, temporal_shift

TARGET = shapely.box(0, 0, 1000, 1000)
RING = shapely.box(-1000, -1000, 2000, 2000).difference(TARGET)


def _calls(rng, n_before, n_after, *, before, after, hours_after=None, days_after=None, times=True):
    """Calls spread uniformly over the target, on uniform days of each window, with optional shifted profiles."""
    rows = []
    for (a, b), n, hours, days in ((before, n_before, None, None), (after, n_after, hours_after, days_after)):
        a, b = dt.date.fromisoformat(a), dt.date.fromisoformat(b)
        span = [a + dt.timedelta(days=k) for k in range((b - a).days + 1)]
        if days is not None:   # weights per weekday
            w = np.array([days[d.weekday()] for d in span], float)
            pick = rng.choice(len(span), n, p=w / w.sum())
        else:
            pick = rng.integers(0, len(span), n)
        hrs = rng.choice(24, n, p=np.asarray(hours, float) / np.sum(hours)) if hours is not None else \
            rng.integers(0, 24, n)
        mins = rng.integers(0, 60, n)
        for k, h, m in zip(pick, hrs, mins):
            stamp = f"{span[k].isoformat()}T{h:02d}:{m:02d}:00" if times else f"{span[k].isoformat()}T00:00:00"
            rows.append({"date": stamp, "x": rng.uniform(0, 1000), "y": rng.uniform(0, 1000)})
    df = pd.DataFrame(rows)
    df["month"] = df["date"].str[:7]
    return df


W = op_windows("2024-03-15", "2024-03-28", resolution="day")     # 14-day windows: two of each weekday


def test_shift_test_matches_scipy_with_equal_exposure():
    obs = [[12, 20, 31, 40, 25, 9], [30, 22, 18, 15, 20, 35]]
    chi2, df, p, st = shift_test(*obs)
    ref = sps.chi2_contingency(obs, correction=False)
    assert st == "tested" and df == 5
    assert chi2 == pytest.approx(ref[0]) and p == pytest.approx(ref[1])


def test_too_few_incidents_or_small_expected_counts_are_too_few_to_tell():
    assert shift_test([5, 5, 5, 5, 5, 4], [5, 5, 5, 5, 5, 5])[3] == "too few to tell"   # 29 before
    # enough incidents, but most categories nearly empty: Cochran's rule refuses
    assert shift_test([60, 1, 1, 1, 1, 1], [60, 1, 0, 1, 1, 1], min_per_window=30)[3] == "too few to tell"


def test_a_known_shift_to_late_evening_is_found_in_the_target():
    rng = np.random.default_rng(1)
    late = np.ones(24)
    late[20:24] = 3.0                     # after the operation, 20:00-24:00 three times as busy
    found = 0
    for _ in range(100):
        inc = _calls(rng, 150, 150, before=W.before, after=W.after, hours_after=late)
        res = temporal_shift(inc, {"Target": TARGET}, W, alpha=0.05)
        hour = [t for t in res.tests if t.kind == "time of day"][0]
        found += hour.status == "evidence"
        if hour.status == "evidence":
            assert "20-24" in hour.reading and "temporal displacement" in hour.reading
    assert found >= 80, f"power {found}%"


def test_a_known_shift_towards_weekends_is_found():
    rng = np.random.default_rng(2)
    weekend = [1, 1, 1, 1, 1, 2.5, 2.5]
    found = sum(temporal_shift(_calls(rng, 200, 200, before=W.before, after=W.after, days_after=weekend),
                               {"Target": TARGET}, W).tests[0].status == "evidence" for _ in range(60))
    assert found >= 48, f"power {found} of 60"


def test_false_alarm_rate_is_near_alpha_without_a_shift():
    # 400 simulations with no shift: each test's raw rate of p < 0.05 must lie within the binomial
    # 99.9% range around 5% (about 2%-8.5%); the Holm family over both tests at most about 5%
    rng = np.random.default_rng(3)
    p_day, p_hour, fam = [], [], 0
    for _ in range(400):
        inc = _calls(rng, 80, 120, before=W.before, after=W.after)
        res = temporal_shift(inc, {"Target": TARGET}, W, alpha=0.05)
        p_day.append(res.tests[0].p)
        p_hour.append(res.tests[1].p)
        fam += any(t.status == "evidence" for t in res.tests)
    lo, hi = sps.binom.ppf([0.0005, 0.9995], 400, 0.05) / 400
    for name, ps in (("day", p_day), ("hour", p_hour)):
        rate = np.mean(np.asarray(ps) < 0.05)
        assert lo <= rate <= hi, f"{name}: false-alarm rate {rate:.3f} outside {lo:.3f}-{hi:.3f}"
    assert fam / 400 <= hi


def test_day_of_week_allows_for_windows_that_are_not_whole_weeks():
    # 10-day windows: the before window (Mon 4 - Wed 13 Mar) has two Mondays-Wednesdays, the after window
    # (Thu 28 Mar - Sat 6 Apr) two Thursdays-Saturdays; a plain chi-square would read that as a shift
    w = op_windows("2024-03-14", "2024-03-27", resolution="day", before="2024-03-04:2024-03-13",
                   after="2024-03-28:2024-04-06")
    rng = np.random.default_rng(4)
    fired, naive = 0, 0
    for _ in range(200):
        inc = _calls(rng, 300, 300, before=w.before, after=w.after)
        t = temporal_shift(inc, {"Target": TARGET}, w).tests[0]
        fired += t.p < 0.05
        naive += shift_test(t.before, t.after)[2] < 0.05
    assert fired / 200 <= 0.10 and naive / 200 >= 0.3


def test_dates_only_say_no_times_in_the_data():
    rng = np.random.default_rng(5)
    inc = _calls(rng, 100, 100, before=W.before, after=W.after, times=False)
    assert not has_times(inc["date"]) and has_times(_calls(rng, 50, 50, before=W.before, after=W.after)["date"])
    res = temporal_shift(inc, {"Target": TARGET, "Catchment (rings)": RING}, W)
    hours = [t for t in res.tests if t.kind == "time of day"]
    assert len(hours) == 2 and all(t.status == NO_TIMES for t in hours)
    assert "no times in the data" in hours[0].reading
    assert res.tests[0].status in ("evidence", "no evidence")      # day of week still tested
    assert res.frame()["status"].tolist()[1] == NO_TIMES and not res.times


def test_portland_calls_demo_has_dates_only(demo_workspaces):
    from geo import Workspace
    from geo import displacement as dsp
    ws = Workspace.open(demo_workspaces["portland"])
    try:
        inc = ws.incidents(layer="calls", statuses=("mapped", "outside_area"))
        assert not has_times(inc["date"])            # the NIJ extract holds dates only
        res = dsp.analyse_operation(ws, "Op Old Town (demo)", incidents=inc)
    finally:
        ws.close()
    t = res.temporal
    assert t is not None and not t.times
    kinds = {(x.area, x.kind): x for x in t.tests}
    assert kinds[("Target", "time of day")].status == NO_TIMES
    assert kinds[("Target", "day of week")].status in ("evidence", "no evidence", "too few to tell")
    from geo.report_html import render_html
    html = render_html(res, bcus=None)
    assert "Day of week and time of day" in html and "no times in the data" in html
