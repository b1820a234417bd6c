"""The max-statistic (single-step maxT) family-wise adjustment of the rings and sectors, on simulations with a known answer."""
from __future__ import annotations

import numpy as np
from scipy.stats import norm

import pytest

from geo.displacement.flags import SHARES, AreaTest, _directional, _family
from geo.displacement.null import MAXT_FAMILY, maxt_adjust

ALPHA = 0.05


def _threshold(null_max, alpha=ALPHA) -> float:
    """Smallest |z| that maxT flags at `alpha`."""
    grid = np.linspace(0.0, 6.0, 6001)
    return float(grid[np.argmax(maxt_adjust(grid, null_max) <= alpha)])


def test_independent_members_give_sidaks_threshold():
    rng = np.random.default_rng(0)
    m, b = 10, 40_000
    null_max = np.abs(rng.normal(size=(b, m))).max(axis=1)
    sidak = norm.isf((1 - (1 - ALPHA) ** (1 / m)) / 2)           # 2.80 for 10 members
    assert abs(_threshold(null_max) - sidak) < 0.05
    assert _threshold(null_max) < norm.isf(ALPHA / m / 2) + 0.05   # never above Bonferroni's (2.81)


def test_correlated_members_give_a_lower_threshold_than_bonferroni():
    rng = np.random.default_rng(1)
    m, b = 10, 40_000
    common = rng.normal(size=(b, 1))
    z = 0.95 * common + np.sqrt(1 - 0.95 ** 2) * rng.normal(size=(b, m))   # corr 0.9
    thr = _threshold(np.abs(z).max(axis=1))
    assert 1.96 < thr < norm.isf(ALPHA / m / 2) - 0.3
    identical = np.abs(common[:, 0])                                     # one test repeated m times
    assert abs(_threshold(identical) - norm.isf(ALPHA / 2)) < 0.05


def test_family_wise_error_of_fresh_families_is_alpha():
    rng = np.random.default_rng(2)
    m = 27
    null_max = np.abs(rng.normal(size=(400, m))).max(axis=1)        # 400 placebo copies, as the null draws
    real = rng.normal(size=(20_000, m))
    p = maxt_adjust(real.ravel(), null_max).reshape(real.shape)
    fwer = float((p <= ALPHA).any(axis=1).mean())
    assert 0.03 < fwer < 0.07                                          # alpha up to the 400 copies' noise
    assert np.isnan(maxt_adjust([np.nan], null_max)[0])                # not tested: no p


def _test(est, se):
    return AreaTest("x", "ring", 20, 30, 1, 1, 1, est, se, 0, 0, 2 * norm.sf(abs(est / se)), 0, 0.02, 1.0,
                    "two-sided", "no evidence", unit="count")


def test_family_uses_the_placebo_maxima_and_falls_back_to_holm():
    rng = np.random.default_rng(3)
    null_max = np.abs(rng.normal(size=(1000, 27))).max(axis=1)
    tests = [_test(2.9, 1.0), _test(-2.9, 1.0), _test(0.5, 1.0)]
    # |z| = 2.9: Holm over three at 0.02 needs p < 0.0067 (|z| > 2.71) and flags; maxT over 27 members does not
    holm = _family(tests, 0.02)
    assert [t.status for t in holm] == ["evidence", "evidence", "no evidence"]
    mt = _family(tests, 0.02, null_max)
    assert [t.status for t in mt] == ["no evidence"] * 3
    assert np.isclose(mt[0].p_adj, maxt_adjust([2.9], null_max)[0])
    big = _family([_test(5.0, 1.0), _test(-5.0, 1.0)], 0.02, null_max)
    assert [t.reading for t in big] == ["displacement", "diffusion"]
    few = _family(tests, 0.02, null_max[:10])                           # too few placebos: Holm
    assert [t.status for t in few] == [t.status for t in holm]


def test_the_analysis_adjusts_rings_by_its_own_placebo_maxima():
    from tests.test_displacement import _analyse, _incidents
    res = _analyse(_incidents(np.random.default_rng(5)))
    a = res.assessment
    null_max = a.null.maxz[MAXT_FAMILY]
    assert null_max.size >= 30 and np.all(null_max >= 0)
    rise, fall = a.null.maxz[MAXT_FAMILY + "+"], a.null.maxz[MAXT_FAMILY + "-"]
    assert rise.size == fall.size == null_max.size
    assert np.allclose(np.maximum(rise, fall), null_max)               # |z| max is the larger of the two sides
    tested = [t for t in a.rings if t.status != "too few to tell"]
    assert tested
    for t in tested:
        z = t.estimate / t.se
        side, m = ("rise", rise) if z >= 0 else ("fall", fall)
        assert t.sides == side
        assert np.isclose(t.p_adj, maxt_adjust([abs(z)], m, two_sided=False)[0])
        assert np.isclose(t.alpha, 0.05 * SHARES["rises" if z >= 0 else "falls"])


def test_rises_and_falls_are_one_sided_families_with_their_own_maxima():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(400, 27))
    rise, fall = z.max(axis=1), (-z).max(axis=1)
    tests = [_test(3.2, 1.0), _test(-3.2, 1.0), _test(0.5, 1.0), _test(-0.5, 1.0)]
    out = _directional(tests, 0.03, 0.01, rise, fall)
    assert [t.sides for t in out] == ["rise", "fall", "rise", "fall"]
    assert [t.alpha for t in out] == [0.03, 0.01, 0.03, 0.01]
    assert np.isclose(out[0].p_adj, maxt_adjust([3.2], rise, two_sided=False)[0])
    assert np.isclose(out[1].p_adj, maxt_adjust([3.2], fall, two_sided=False)[0])
    assert out[0].p == pytest.approx(norm.sf(3.2))
    # a rise of 3.2 sd passes the rises' 3% (threshold ~3.1 for 27 independent members) but a fall of the same
    # size does not pass the falls' 1% (~3.5)
    assert [t.reading for t in out] == ["displacement", "", "", ""]
    # the one-sided families' error: fresh null families flag a rise on ~3% and a fall on ~1%
    real = rng.normal(size=(20_000, 27))
    up = (maxt_adjust(real.ravel(), rise, two_sided=False).reshape(real.shape) <= 0.03).any(axis=1).mean()
    down = (maxt_adjust(-real.ravel(), fall, two_sided=False).reshape(real.shape) <= 0.01).any(axis=1).mean()
    assert 0.015 < up < 0.05 and down < 0.025
    few = _directional(tests, 0.03, 0.01, rise[:10], fall[:10])          # too few placebos: Holm per direction
    assert few[0].status == "evidence" and few[2].status == "no evidence"


def test_copies_of_a_large_target_amount_to_few_and_its_rings_use_holm():
    """Copies of a 6 x 8 km target in a 10 x 20 km BCU overlap: they amount to a few independent ones, so the
    max-statistic's tail cannot be read from them (Holm instead), every phi is widened, and the verdict says so."""
    import shapely

    from geo import displacement as dsp
    from geo.displacement.null import MAXT_MIN_ROOM, t_widening
    from tests.test_displacement import _bcus, _incidents, _windows

    inc = _incidents(np.random.default_rng(11))
    small = dsp.analyse(inc, shapely.Point(-5_000, -5_000).buffer(300), bcu_code="A", bcus=_bcus(),
                        windows=_windows(), own_force="Home")
    large = dsp.analyse(inc, shapely.box(-8_000, -6_000, -2_000, 2_000), bcu_code="A", bcus=_bcus(),
                        windows=_windows(), own_force="Home")
    s, g = small.assessment.null, large.assessment.null
    assert s.room > MAXT_MIN_ROOM > g.room > 1 and s.room_target > s.room and g.room_target > g.room
    assert set(s.maxz) == {MAXT_FAMILY, MAXT_FAMILY + "+", MAXT_FAMILY + "-"} and not g.maxz
    assert not any("large operation" in n for n in small.summary.notes)
    assert any("large operation" in n and "Holm" in n for n in large.summary.notes)
    # the rings of the large one are adjusted by Holm: p_adj is Holm's over the members tested in a direction
    rises = [t for t in large.assessment.rings if t.sides == "rise"]
    assert rises and all(t.p_adj >= t.p for t in rises)
    assert t_widening(g.room) > t_widening(s.room) > 1.0 == t_widening(float("inf"))
    # the spread the placebos measured and the one the tests use are both said
    assert g.widening["target|harm"] == t_widening(g.room_target)
    measured = large.summary.spread / np.sqrt(g.widening["target|harm"])
    spread_note = [n for n in large.summary.notes if n.startswith("Spread of placebo z-scores")][0]
    assert f"{measured:.2f} (1.00 under Poisson)" in spread_note
    assert f"{large.summary.spread:.2f} once widened for the {g.room_target:,.0f} independent copies" in spread_note


def test_the_widening_is_students_t_and_shrinks_with_the_room():
    from scipy.stats import t as student_t

    from geo.displacement.null import t_widening
    for room in (2, 5, 11, 30, 120):
        assert t_widening(room) == pytest.approx((student_t.ppf(0.975, room - 1) / norm.ppf(0.975)) ** 2)
    assert t_widening(0.3) == t_widening(2)          # at least one degree of freedom
    assert [round(t_widening(r), 2) for r in (3, 11, 21, 61)] == [4.82, 1.29, 1.13, 1.04]
