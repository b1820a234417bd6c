"""A fast subset of the real-data calibration (the full one: ``python -m geo calibrate``, docs/CALIBRATION.md).

Placebo operations where nothing happened, on the real South Yorkshire demo data, go through
exactly the tests the verdict uses. The assertions are binomial tolerances around the
nominal rates (3 standard errors), so a method that ignores over-dispersion fails them: the
issue measured 31-44% "any flag" for circles with Poisson tests.
"""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo import calibration
from geo.displacement import engine
from geo.displacement.windows import op_windows, periods, window_months


@pytest.fixture(scope="module")
def real(demo_workspaces):
    from geo import Workspace
    ws = Workspace.open(demo_workspaces["south-yorkshire"])
    try:
        inc = ws.incidents(layer="crime", statuses=("mapped", "outside_area"))
        return inc, ws.boundaries(), ws.sites(), ws.force
    finally:
        ws.close()


def _tolerance(p: float, n: int) -> float:
    return 3 * math.sqrt(p * (1 - p) / n)


def test_placebo_false_alarms_are_within_binomial_tolerance(real, monkeypatch):
    inc, boundaries, sites, force = real
    monkeypatch.setattr(calibration, "DESIGNS", (calibration.DESIGNS[0], calibration.DESIGNS[4]))
    null = calibration.run_null(inc, boundaries, sites, own_force=force, n=80, seed=3)
    n = len(null)
    assert n >= 80 and set(null["kind"]) == {"circle", "ward"}
    r = calibration.rates(null).set_index("key")
    assert r.loc["target", "rate"] <= 0.05 + _tolerance(0.05, n), r.loc["target"]
    assert r.loc["any", "rate"] <= 0.05 + _tolerance(0.05, n), r.loc["any"]
    for key in ("rises", "falls", "rings", "pieces", "sites", "targeted"):
        assert r.loc[key, "rate"] <= r.loc[key, "nominal"] + _tolerance(r.loc[key, "nominal"], n), r.loc[key]
    assert (null["phi_target"] >= 1).all() and null["phi_target"].median() > 1   # real counts are over-dispersed


def test_wilson_interval_matches_the_published_formula():
    lo, hi = calibration.wilson(0, 50)
    assert lo == 0 and hi == pytest.approx(0.0713, abs=1e-4)
    lo, hi = calibration.wilson(25, 500)
    assert (round(lo, 4), round(hi, 4)) == (0.0341, 0.0728)


def test_a_strong_planted_move_into_the_buffer_is_found(real):
    # 80% of the target's after-window basket crime moved 375 m beyond its edge (docs/CALIBRATION.md has the
    # power for the 30% and 50% moves the issue asks about, which is much lower at these volumes)
    inc, boundaries, sites, force = real
    bcus = boundaries[boundaries["level"] == "bcu"]
    w = op_windows("2025-02-01", "2025-02-28", before="2024-11:2025-01", after="2025-03:2025-05")
    prep = engine.prepare(inc, periods(inc, w), tau=1.0, bcus=bcus, own_force=force, months=window_months(w))
    circles = calibration.hot_circles(inc, bcus[bcus["force"] == force], own_force=force, per_bcu=2, seed=0)
    rng = np.random.default_rng(0)
    found = []
    for pl in circles:
        c = pl.geometry.centroid
        edge = pl.geometry.exterior.distance(c)
        pts, k = calibration.plant(prep, pl.geometry, (c.x + edge + 375, c.y), frac_removed=0.8, frac_moved=1.0,
                                    rng=rng)
        assert k > 0
        _, res = engine.run(prep, pl.geometry, own_bcu=pl.bcu, sites=sites, points=pts, n_placebos=200)
        found.append(any(t.reading == "displacement" for t in res.family()))
    assert np.mean(found) >= 0.75, found
