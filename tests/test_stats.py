"""Tests for geo.stats: published numbers, invariants, error messages, a size simulation."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats as st

from geo.errors import GeoInputError
from geo.stats import (
    MKResult, WDDResult, e_test, gross_effect, mann_kendall, net_effect, wdd, wdd_harm, wdq,
)

PAPER = dict(control=(308, 318), treated=(207, 110), disp_control=(150, 140),
             disp_treated=(178, 157))


# --------------------------------------------------------------------------- WDD
def test_wdd_matches_wheeler_ratcliffe_2018():
    # Wheeler & Ratcliffe (2018), Crime Science 7:11, worked example; ptools test-wdd.R
    res = wdd(**PAPER, alpha=0.05)
    assert res.estimate == -118
    assert res.se == pytest.approx(math.sqrt(1568))
    assert round(res.z, 2) == -2.98
    assert (round(res.ci_low), round(res.ci_high)) == (-196, -40)
    assert res.pvalue == pytest.approx(2 * st.norm.sf(118 / math.sqrt(1568)))


def test_wdd_local_and_displacement_parts_of_the_paper_example():
    res = wdd(**PAPER, alpha=0.05)
    # local: (110 - 207) - (318 - 308) = -107, variance 110 + 207 + 318 + 308 = 943
    assert res.local_estimate == -107
    assert res.local_se == pytest.approx(math.sqrt(943))
    # displacement: (157 - 178) - (140 - 150) = -11, variance 625
    assert res.displacement_estimate == -11
    assert res.displacement_se == pytest.approx(25.0)
    local_only = wdd(PAPER["control"], PAPER["treated"], alpha=0.05)
    assert local_only.estimate == -107
    assert local_only.se == pytest.approx(math.sqrt(943))
    assert local_only.displacement_estimate == 0 and local_only.displacement_se == 0


@pytest.mark.parametrize(
    "args, field, expected",
    [  # ptools tests/testthat/test-wdd.R
        (((20, 20), (20, 10)), "local_estimate", -10),
        (((20, 20), (20, 20), (20, 20), (20, 10)), "displacement_estimate", -10),
        (((20, 20), (20, 10), (20, 20), (20, 10)), "estimate", -20),
    ],
)
def test_wdd_ptools_unit_cases(args, field, expected):
    assert getattr(wdd(*args), field) == expected


def test_wdd_time_weights_match_wheeler_blog():
    # andrewpwheeler.com 2021-01-09: two years before, one year after
    res = wdd((100, 50), (80, 20), time_weights=(2, 1), alpha=0.05)
    assert res.estimate == pytest.approx(-20)
    assert res.se == pytest.approx(math.sqrt(115))


def test_wdd_area_weights_match_ptools():
    # andrewpwheeler.com 2021-02-23; ptools test "Area Weights"
    res = wdd(**PAPER, area_weights=(0.9, 1.2, 1.6, 1.5), alpha=0.05)
    got = (res.estimate, res.se, res.z, res.ci_low, res.ci_high)
    want = (-99.69444444, 35.4280755, -2.813995483, -169.1321965, -30.25669241)
    assert got == pytest.approx(want, rel=1e-8)


def test_wdd_with_no_pre_period_is_close_to_the_e_test():
    # ptools ?wdd example: two-tailed p ~0.068, e_test(20, 10) ~0.069
    assert round(wdd((0, 20), (0, 10)).pvalue, 3) == 0.068
    assert round(e_test(20, 10).pvalue, 3) == 0.069


def test_wdd_swapping_treated_and_control_flips_the_sign():
    a = wdd(**PAPER)
    b = wdd(PAPER["treated"], PAPER["control"], PAPER["disp_treated"], PAPER["disp_control"])
    assert b.estimate == -a.estimate
    assert b.se == pytest.approx(a.se)
    assert b.pvalue == pytest.approx(a.pvalue)
    assert (b.ci_low, b.ci_high) == pytest.approx((-a.ci_high, -a.ci_low))


def test_wdd_scaling_weights_scales_the_estimate():
    # doubling every time weight halves the per-unit-time estimate and its SE
    a = wdd(**PAPER)
    b = wdd(**PAPER, time_weights=(2, 2))
    assert b.estimate == pytest.approx(a.estimate / 2)
    assert b.se == pytest.approx(a.se / 2)
    assert b.z == pytest.approx(a.z)


def test_wdd_result_is_frozen_and_p_in_unit_interval():
    res = wdd((5, 0), (0, 5))
    assert isinstance(res, WDDResult)
    assert 0 <= res.pvalue <= 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.estimate = 0  # type: ignore[misc]


def test_wdd_default_alpha_comes_from_settings():
    from geo.settings import settings
    assert wdd(**PAPER).alpha == settings.alpha


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(control=(-1, 5), treated=(3, 4)), r"`control` has a negative count.*cannot be negative"),
        (dict(control=(1, 5, 3), treated=(3, 4)), r"`control` must be two numbers.*shape \(3,\)"),
        (dict(control=(1, 5), treated=(3, float("nan"))), r"`treated` has a missing"),
        (dict(control=(1, 5), treated="ab"), r"`treated` must be two numbers"),
        (dict(control=(1, 5), treated=(3, 4), time_weights=(0, 1)), r"`time_weights` must be positive"),
        (dict(control=(1, 5), treated=(3, 4), area_weights=(1, 1)), r"`area_weights` must be 4"),
        (dict(control=(1, 5), treated=(3, 4), alpha=5), r"`alpha` must be between 0 and 1"),
        (dict(control=(0, 0), treated=(0, 0)), r"no variance.*Fix: use a longer period"),
    ],
)
def test_wdd_errors_say_what_and_how_to_fix(kwargs, match):
    with pytest.raises(GeoInputError, match=match):
        wdd(**kwargs)


def test_wdd_false_alarm_rate_is_nominal_under_no_effect():
    """2000 replicates with no intervention effect: about 5% of tests reject at 0.05."""
    rng = np.random.default_rng(20180611)
    means = dict(control=(200, 200), treated=(120, 120), disp_control=(80, 80),
                 disp_treated=(150, 150))
    n_rep = 2000
    draws = {k: rng.poisson(v, size=(n_rep, 2)) for k, v in means.items()}
    rejections = sum(
        wdd(*(draws[k][i] for k in means), alpha=0.05).pvalue < 0.05 for i in range(n_rep)
    )
    assert abs(rejections / n_rep - 0.05) <= 0.02


# --------------------------------------------------------------------------- harm
WHEELER_HARM_CONTROL = [(133, 91), (388, 305), (148, 97), (86, 64), (94, 67)]
WHEELER_HARM_TREATED = [(130, 74), (327, 202), (398, 190), (144, 92), (183, 96)]


def test_wdd_harm_matches_ptools_cumulative_harm_example():
    # andrewpwheeler.com 2020-11-19; ptools test "Cumulative Harm"
    res = wdd_harm(WHEELER_HARM_CONTROL, WHEELER_HARM_TREATED, weights=[3, 2, 5, 7, 10],
                   alpha=0.05)
    got = (res.estimate, res.se, res.z, res.ci_low, res.ci_high)
    want = (-1721.0, 304.10360077, -5.65925558, -2317.03210507, -1124.96789493)
    assert got == pytest.approx(want, rel=1e-7)
    assert [r.estimate for r in res.per_type] == [-14, -42, -157, -30, -60]


def test_wdd_harm_with_unit_weights_equals_the_sum_of_counts():
    res = wdd_harm(WHEELER_HARM_CONTROL, WHEELER_HARM_TREATED, weights=[1] * 5)
    pooled = wdd(np.sum(WHEELER_HARM_CONTROL, axis=0), np.sum(WHEELER_HARM_TREATED, axis=0))
    assert res.estimate == pytest.approx(pooled.estimate)
    assert res.se == pytest.approx(pooled.se)


def test_wdd_harm_accepts_a_dataframe_and_displacement_tables():
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame(WHEELER_HARM_CONTROL, columns=["before", "after"])
    res = wdd_harm(table, WHEELER_HARM_TREATED, table, WHEELER_HARM_TREATED,
                   weights=[3, 2, 5, 7, 10])
    assert res.estimate == pytest.approx(2 * -1721.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(weights=[1, 2]), r"`weights` must have one value per crime type \(5\)"),
        (dict(weights=[1, 2, 3, 4, -1]), r"`weights` must be non-negative"),
        (dict(weights=[1] * 5, disp_treated=[(1, 2)]), r"`disp_treated` must have shape \(5, 2\)"),
    ],
)
def test_wdd_harm_errors(kwargs, match):
    with pytest.raises(GeoInputError, match=match):
        wdd_harm(WHEELER_HARM_CONTROL, WHEELER_HARM_TREATED, **kwargs)


def test_wdd_harm_names_the_row_with_a_bad_count():
    bad = [list(r) for r in WHEELER_HARM_TREATED]
    bad[3][0] = -4
    with pytest.raises(GeoInputError, match=r"negative count.*Where: crime type in row 3"):
        wdd_harm(WHEELER_HARM_CONTROL, bad, weights=[1] * 5)


# --------------------------------------------------------------------------- E-test
def test_e_test_reproduces_krishnamoorthy_thomson_examples():
    # the style guide's numbers: ptools test-etest.R "Paper rep 1" and "Paper rep 2"
    assert e_test(0, 3).pvalue == pytest.approx(0.0884, abs=5e-4)
    assert e_test(3, 0).pvalue == pytest.approx(0.0884, abs=5e-4)
    assert round(e_test(6, 2).pvalue, 4) == 0.1749


def test_e_test_order_of_counts_does_not_matter_when_d_is_zero():
    assert e_test(6, 2).pvalue == pytest.approx(e_test(2, 6).pvalue)
    assert e_test(6, 2).statistic == pytest.approx(-e_test(2, 6).statistic)
    assert e_test(6, 2, alternative="greater").pvalue == pytest.approx(
        e_test(2, 6, alternative="less").pvalue)


def test_e_test_one_sided_is_half_the_two_sided_when_symmetric():
    two = e_test(3, 0).pvalue
    assert e_test(3, 0, alternative="greater").pvalue == pytest.approx(two / 2)


def test_e_test_rates_not_counts():
    # ptools ?e_test: for small N the same rates give the same p-value
    assert e_test(3, 0).pvalue == pytest.approx(e_test(3, 0, 2, 2).pvalue)
    assert e_test(20, 10, 4, 2).pvalue == pytest.approx(1.0)


def test_e_test_matches_scipy_poisson_means_test():
    for k1, k2, n1, n2, d in [(7, 3, 2, 5, 0), (12, 3, 3, 2, 0.5), (40, 25, 1, 1, 0)]:
        for alt in ("two-sided", "greater", "less"):
            ref = st.poisson_means_test(k1, n1, k2, n2, diff=d, alternative=alt).pvalue
            assert e_test(k1, k2, n1, n2, d, alternative=alt).pvalue == pytest.approx(ref)


@pytest.mark.parametrize("k", [(20, 20), (0, 1), (1, 0), (50, 3), (400, 380)])
@pytest.mark.parametrize("alt", ["two-sided", "greater", "less"])
def test_e_test_p_in_unit_interval(k, alt):
    assert 0 <= e_test(*k, alternative=alt).pvalue <= 1


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((0, 0), {}, r"undefined when both counts are 0"),
        ((3, -2), {}, r"Counts must be non-negative"),
        ((3, 3, 1, -1), {}, r"Exposures must be positive"),
        ((3, 3), {"alternative": "bigger"}, r"`alternative` must be"),
        ((3, "x"), {}, r"`k2` must be a number"),
    ],
)
def test_e_test_errors(args, kwargs, match):
    with pytest.raises(GeoInputError, match=match):
        e_test(*args, **kwargs)


# --------------------------------------------------------------------------- WDQ
def test_wdq_hand_computed_full_displacement():
    # Target 100 -> 50, buffer 100 -> 150, control flat 100 -> 100.
    # SM = 50/100 - 100/100 = -0.5; BDM = 150/100 - 100/100 = 0.5; WDQ = -1
    # TNE = (100 * 1 - 50) + (100 * 1 - 150) = 0: the fall was all displaced.
    r = wdq((100, 100), (100, 50), disp_treated=(100, 150))
    assert (r.success_measure, r.buffer_displacement_measure, r.wdq) == (-0.5, 0.5, -1.0)
    assert r.total_net_effect == 0
    assert r.gross_effect == 50 and r.net_effect == 0.5
    assert r.interpretable and "displacement" in r.interpretation


def test_wdq_on_the_wheeler_ratcliffe_counts():
    # Hand computation with Bowers & Johnson's single control (C = 308 -> 318):
    # SM  = 110/318 - 207/308 = -0.3261716...
    # BDM = 157/318 - 178/308 = -0.0842125...
    # WDQ = 0.258185..., diffusion of benefits
    # TNE = (207*318/308 - 110) + (178*318/308 - 157) = 103.72... + 26.78... = 130.50...
    r = wdq(PAPER["control"], PAPER["treated"], disp_treated=PAPER["disp_treated"])
    sm = 110 / 318 - 207 / 308
    bdm = 157 / 318 - 178 / 308
    assert r.success_measure == pytest.approx(sm)
    assert r.buffer_displacement_measure == pytest.approx(bdm)
    assert r.wdq == pytest.approx(bdm / sm)
    assert r.wdq == pytest.approx(0.2582, abs=1e-4)
    assert r.total_net_effect == pytest.approx((207 + 178) * 318 / 308 - 110 - 157)
    assert r.interpretation.startswith("diffusion of benefits:")
    # with the buffer's own control (150 -> 140), as in wdd()
    r2 = wdq(**PAPER)
    assert r2.buffer_displacement_measure == pytest.approx(157 / 140 - 178 / 150)
    assert r2.wdq == pytest.approx(0.2000, abs=1e-4)


@pytest.mark.parametrize(
    "buffer, start",
    [
        ((100, 40), "diffusion of benefits greater"),    # WDQ = 1.2
        ((100, 80), "diffusion of benefits:"),           # WDQ = 0.4
        ((100, 100), "no displacement"),                  # WDQ = 0
        ((100, 120), "some displacement"),                # WDQ = -0.4
        ((100, 200), "displacement greater"),             # WDQ = -2
    ],
)
def test_wdq_readings_follow_bowers_johnson_thresholds(buffer, start):
    r = wdq((100, 100), (100, 50), disp_treated=buffer)
    assert r.interpretable
    assert r.interpretation.startswith(start)


@pytest.mark.parametrize("treated", [(100, 100), (100, 150)])
def test_wdq_without_success_is_not_interpretable(treated):
    r = wdq((100, 100), treated, disp_treated=(100, 80))
    assert not r.interpretable
    assert r.interpretation.startswith("not interpretable")


def test_wdq_errors():
    with pytest.raises(GeoInputError, match=r"needs counts for the buffer.*disp_treated"):
        wdq((100, 100), (100, 50))
    with pytest.raises(GeoInputError, match=r"divides by the `control` counts.*larger control"):
        wdq((0, 100), (100, 50), disp_treated=(10, 10))
    with pytest.raises(GeoInputError, match=r"negative count"):
        wdq((10, 100), (100, -50), disp_treated=(10, 10))


def test_gross_and_net_effect():
    assert gross_effect((207, 110)) == 97
    assert net_effect((308, 318), (207, 110)) == pytest.approx(207 / 308 - 110 / 318)
    with pytest.raises(GeoInputError, match=r"control counts.*0"):
        net_effect((0, 3), (2, 1))


# --------------------------------------------------------------------------- Mann-Kendall
def test_mann_kendall_hand_computed_case():
    # x = 1, 2, 4, 3, 5: 9 rising pairs, 1 falling -> S = 8
    # var(S) = 5*4*15/18 = 16.667; z = (8 - 1)/sqrt(16.667) = 1.7146; p = 0.0864
    r = mann_kendall([1, 2, 4, 3, 5], alpha=0.10)
    assert isinstance(r, MKResult)
    assert r.s == 8
    assert r.var_s == pytest.approx(300 / 18)
    assert r.z == pytest.approx(7 / math.sqrt(300 / 18))
    assert r.pvalue == pytest.approx(0.0864, abs=1e-4)
    assert r.tau == pytest.approx(0.8)
    assert r.trend == "increasing"
    assert mann_kendall([1, 2, 4, 3, 5], alpha=0.05).trend == "no trend"


def test_mann_kendall_tie_correction_by_hand():
    # x = 1, 1, 2, 2, 2, 3: ties of size 2 and 3.
    # S: pairs (i<j) with x_j > x_i = 2*3 + 2*1 + 3*1 = 11, none falling.
    # var = [6*5*17 - (2*1*9 + 3*2*11)] / 18 = (510 - 84)/18 = 23.667
    r = mann_kendall([1, 1, 2, 2, 2, 3])
    assert r.s == 11
    assert r.var_s == pytest.approx((510 - 84) / 18)


@pytest.mark.parametrize("seed", range(6))
def test_mann_kendall_agrees_with_scipy_kendalltau(seed):
    rng = np.random.default_rng(seed)
    n = 24
    x = rng.poisson(5, n) + (np.arange(n) * 0.3 * (seed % 3 - 1)).round()   # with ties
    r = mann_kendall(x)
    ref = st.kendalltau(np.arange(n), x)
    assert r.tau == pytest.approx(ref.statistic)
    # scipy has no continuity correction; the p-values agree closely for n > 10
    assert r.pvalue == pytest.approx(ref.pvalue, abs=0.03)


def test_mann_kendall_reversing_the_series_flips_the_trend():
    x = [3, 5, 4, 8, 9, 7, 12, 15, 14, 18, 21]
    up, down = mann_kendall(x), mann_kendall(x[::-1])
    assert (up.trend, down.trend) == ("increasing", "decreasing")
    assert down.s == -up.s and down.pvalue == pytest.approx(up.pvalue)
    assert 0 <= up.pvalue <= 1


def test_mann_kendall_flat_series_has_no_trend():
    r = mann_kendall([4, 4, 4, 4, 4])
    assert (r.s, r.z, r.pvalue, r.trend) == (0, 0, 1, "no trend")
    assert math.isnan(r.tau)


@pytest.mark.parametrize(
    "series, match",
    [
        ([1, 2], r"at least 3 values.*Fix: use more"),
        ([[1, 2, 3], [4, 5, 6]], r"one-dimensional"),
        ([1, np.nan, 3, 4], r"missing value at position 1.*Fix: fill periods"),
    ],
)
def test_mann_kendall_errors(series, match):
    with pytest.raises(GeoInputError, match=match):
        mann_kendall(series)


# --------------------------------------------------------------------------- multiple testing
def _fdr_bh_step_up(p):
    """The hand-written Benjamini-Hochberg step-up that ``fdr_bh`` used before scipy's."""
    flat = np.asarray(p, dtype=float).ravel()
    m = flat.size
    order = np.argsort(flat, kind="stable")
    ranked = np.minimum.accumulate((flat[order] * m / np.arange(1, m + 1))[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    return out.reshape(np.shape(p))


def test_fdr_bh_agrees_with_the_old_step_up_and_keeps_the_shape():
    from geo.stats import fdr_bh
    rng = np.random.default_rng(7)
    for p in (rng.uniform(size=300), np.r_[rng.uniform(0, 0.01, 40), [0.0, 1.0, 0.5, 0.5, 0.5]],
              rng.uniform(size=(12, 9)) ** 3, np.array([0.03])):
        got = fdr_bh(p)
        assert got.shape == p.shape
        np.testing.assert_allclose(got, _fdr_bh_step_up(p), rtol=1e-12)
    # a 2-D grid is one family, not one family per column
    grid = np.array([[0.01, 0.5], [0.02, 0.03]])
    np.testing.assert_allclose(fdr_bh(grid), [[0.04, 0.5], [0.04, 0.04]])
    assert fdr_bh([]).size == 0
    with pytest.raises(GeoInputError, match=r"\[0, 1\]"):
        fdr_bh([0.2, float("nan")])


def test_every_multiple_testing_correction_lives_in_stats():
    import geo.hotspots
    from geo.stats import fdr_bh, holm
    assert geo.hotspots.fdr_bh is fdr_bh
    assert holm([0.01, 0.04, 0.03]).round(2).tolist() == [0.03, 0.06, 0.06]
