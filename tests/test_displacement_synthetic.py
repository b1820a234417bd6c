"""The synthetic comparison: weights, a planted drop it finds, and a null it does not over-flag."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.displacement.synthetic import synthetic_comparison, synthetic_weights
from geo.displacement.windows import op_windows

MONTHS = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 5)]
FORCE = shapely.box(0, 0, 12_000, 12_000)
TARGET = shapely.Point(6_000, 6_000).buffer(400, quad_segs=16)


def _incidents(rng, *, drop: float = 0.0) -> pd.DataFrame:
    rows = []
    for m in MONTHS:
        season = 1 + 0.3 * np.sin(int(m[-2:]) / 12 * 2 * np.pi)          # a shared seasonal swing
        n = rng.poisson(30_000 * season)
        x, y = rng.uniform(0, 12_000, n), rng.uniform(0, 12_000, n)
        if drop and m >= "2025-02":
            inside = shapely.contains_xy(TARGET, x, y)
            keep = ~inside | (rng.random(n) >= drop)
            x, y = x[keep], y[keep]
        rows.append(pd.DataFrame({"x": x, "y": y, "month": m, "harm": rng.exponential(10, x.size),
                                  "in_basket": True}))
    return pd.concat(rows, ignore_index=True)


def test_weights_are_non_negative_sum_to_one_and_reproduce_a_mix():
    rng = np.random.default_rng(0)
    x = rng.uniform(5, 15, (14, 6))
    y = 0.7 * x[:, 1] + 0.3 * x[:, 4]
    w = synthetic_weights(y, x)
    assert (w >= 0).all() and w.sum() == pytest.approx(1.0)
    assert w[1] == pytest.approx(0.7, abs=0.02) and w[4] == pytest.approx(0.3, abs=0.02)


def test_a_planted_drop_is_found_and_the_pre_period_fit_is_shown():
    w = op_windows("2025-01-01", "2025-01-31", before="2024-10:2024-12", after="2025-02:2025-04")
    sc, series = synthetic_comparison(_incidents(np.random.default_rng(1), drop=0.5), TARGET, windows=w,
                                      force_geom=FORCE, reach_m=1_400)
    assert sc["status"] == "evidence" and sc["effect_per_month"] < 0 and sc["p"] < 0.05
    assert sc["pre_months"] == 12 and sc["donors"] >= 20 and np.isfinite(sc["pre_rmspe"])
    assert list(series["month"]) == MONTHS and set(series["period"]) == {"before", "operation", "after"}
    assert "RMSPE" in sc["reading"] and "in-space placebos" in sc["reading"]


def test_no_change_is_rarely_evidence_and_short_histories_are_not_available():
    w = op_windows("2025-03-01", "2025-03-31", before="2025-02:2025-02", after="2025-04:2025-04")
    w = op_windows("2025-01-01", "2025-01-31", before="2024-10:2024-12", after="2025-02:2025-04")
    found = [synthetic_comparison(_incidents(np.random.default_rng(s)), TARGET, windows=w, force_geom=FORCE,
                                  reach_m=1_400)[0]["status"] == "evidence" for s in range(10, 16)]
    assert sum(found) <= 2, found
    inc = _incidents(np.random.default_rng(2))
    w2 = op_windows("2024-08-01", "2024-08-31", before="2024-07:2024-07", after="2024-09:2024-09")
    sc, _ = synthetic_comparison(inc, TARGET, windows=w2, force_geom=FORCE, reach_m=1_400)
    assert sc["status"] == "not available" and "fewer than 12" in sc["reading"]


def _plain_centres(inner, px, py, *, centre, beyond_m, exclude=None, clear_m=0.0):
    """The donor-centre mask as first written: every centre tested against the unprepared shapes."""
    keep = shapely.contains_xy(inner, px, py) & (np.hypot(px - centre[0], py - centre[1]) > beyond_m)
    if exclude is not None and not exclude.is_empty:
        keep &= shapely.distance(exclude, shapely.points(px, py)) > clear_m
    return keep


def test_donor_centres_are_the_plain_masks_centres_on_an_irregular_force():
    from geo.displacement.synthetic import donor_centres
    rng = np.random.default_rng(3)
    ring = [(6_000 + r * np.cos(a), 6_000 + r * np.sin(a))
            for a, r in zip(np.linspace(0, 2 * np.pi, 60, endpoint=False), rng.uniform(3_000, 6_000, 60))]
    inner = shapely.Polygon(ring).difference(shapely.box(5_000, 5_000, 6_000, 9_000))   # a notch
    rows, cols = np.mgrid[0:120, 0:120]
    px, py = (cols.ravel() + 0.5) * 100.0, (rows.ravel() + 0.5) * 100.0
    others = shapely.MultiPolygon([shapely.box(2_000, 2_000, 2_600, 2_500), shapely.box(9_000, 8_000, 9_400, 8_800)])
    for exclude in (None, shapely.Polygon(), others):
        args = dict(centre=(6_000.0, 6_000.0), beyond_m=1_800.0, exclude=exclude, clear_m=450.0)
        want = _plain_centres(inner, px, py, **args)
        got = donor_centres(inner, px, py, **args)
        assert got.dtype == bool and np.array_equal(got, want)
        assert 0 < want.sum() < want.size   # the test can tell them apart


def test_both_demo_operations_synthetic_comparisons_equal_the_plain_masks(demo_workspaces, tmp_path, monkeypatch):
    """The synthetic comparison of each demo operation, as the results analysis calls it, is the same to
    the bit with the force and donor-centre masks worked out the plain way (unprepared, every point)."""
    import shutil

    import geo.displacement.analysis as analysis
    import geo.displacement.synthetic as synthetic
    from geo import Workspace, services
    from tests.test_stored_results import _same

    monkeypatch.setenv("GEO_SESSION_KEY_FILE", str(tmp_path / "session.key"))
    path = tmp_path / "south-yorkshire.gpkg"
    shutil.copy(demo_workspaces["south-yorkshire"], path)
    calls = []

    def capture(*args, **kwargs):
        calls.append((args, kwargs))
        return synthetic.synthetic_comparison(*args, **kwargs)

    monkeypatch.setattr(analysis, "synthetic_comparison", capture)
    ws = Workspace.open(path)
    ops = [o.op_id for o in ws.operations()]
    ws.close()
    user = services.cli_user()
    inc = services.analysis_incidents(path, user=user)
    for op in ops:
        services.analyse_operation(path, op, user=user, incidents=inc, stored=False, n_placebos=40)
    assert len(calls) == len(ops) == 2
    fast = [synthetic.synthetic_comparison(*a, **k) for a, k in calls]
    monkeypatch.setattr(synthetic, "points_inside", lambda g, x, y: shapely.contains_xy(g, x, y))
    monkeypatch.setattr(synthetic, "donor_centres", _plain_centres)
    plain = [synthetic.synthetic_comparison(*a, **k) for a, k in calls]
    assert any(f[0]["status"] != "not available" for f in fast)
    for op, f, p in zip(ops, fast, plain):
        _same(f, p, op)
