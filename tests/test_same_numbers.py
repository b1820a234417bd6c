"""The faster code of the results analysis and the partner figures gives the same numbers as before.

Each optimised function is compared with the direct code it replaced (kept here as the
reference, computed on the same inputs, never hard-coded), to the last bit: the placebo and
donor gathers of ``geo.displacement`` (``gather_sums`` behind ``shape_sums`` and the
synthetic comparison) and the partner unit table (``Published.unit_table``). Fast: small
synthetic inputs only.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.disclosure import publish
from geo.disclosure.published import _figure, _harm_label
from geo.disclosure import round_harm
from geo.displacement.null import Raster, gather_sums, shape_kernel, shape_sums
from geo.displacement.synthetic import _gather


def direct_gather(grid, kernel, rows, cols):
    """The code before: clipped indices and an inside mask per placement and kernel cell."""
    mask, ry, rx = kernel
    dy, dx = np.nonzero(mask)
    ii = rows[:, None] + (dy - ry)[None, :]
    jj = cols[:, None] + (dx - rx)[None, :]
    h, w = grid.shape[-2:]
    ok = (ii >= 0) & (ii < h) & (jj >= 0) & (jj < w)
    return (grid[..., np.clip(ii, 0, h - 1), np.clip(jj, 0, w - 1)] * ok).sum(axis=-1)


@pytest.mark.parametrize("shape", [(40, 60), (7, 40, 60), (2, 3, 40, 60)])
@pytest.mark.parametrize("shape_of", ["circle", "ring", "l-shape"])
def test_gather_sums_equal_the_direct_gather_to_the_bit(shape, shape_of):
    rng = np.random.default_rng(len(shape) * 7 + len(shape_of))
    # harm-like values (non-integer weights, many empty cells), placements everywhere including the edges
    grid = np.round(rng.gamma(0.4, 150.0, size=shape), 2) * (rng.random(shape) < 0.35)
    geom = {"circle": shapely.Point(0, 0).buffer(900),
            "ring": shapely.Point(0, 0).buffer(1100).difference(shapely.Point(0, 0).buffer(500)),
            "l-shape": shapely.box(0, 0, 1500, 300).union(shapely.box(0, 0, 300, 1200))}[shape_of]
    kernel = shape_kernel(geom, (0.0, 0.0), 200.0)
    h, w = shape[-2:]
    rows = np.r_[rng.integers(0, h, 300), 0, h - 1, 0, h - 1]
    cols = np.r_[rng.integers(0, w, 300), 0, w - 1, w - 1, 0]
    want = direct_gather(grid, kernel, rows, cols)
    got = gather_sums(grid, kernel, rows, cols)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert np.array_equal(got, want)
    for block in (1, 500, 40_000):   # placements gathered a few at a time: the same sums
        assert np.array_equal(gather_sums(grid, kernel, rows, cols, block=block), want), block
    assert np.array_equal(_gather(grid, kernel, rows, cols), want)  # the synthetic comparison's gather
    if len(shape) == 4:  # the placebo null's shape sums over a raster (windows x quantities)
        r = Raster(0.0, 0.0, 200.0, grid)
        assert np.array_equal(shape_sums(r, kernel, rows, cols), want)
        assert np.array_equal(shape_sums(r, kernel, rows, cols, layer=(1, 2)),
                              direct_gather(grid[1, 2], kernel, rows, cols))
    assert want.any()  # the comparison is not of zeros


def direct_unit_table(pub, parents, **mask):
    """The unit table's figures as before: one pandas :func:`_figure` per area over its concatenated cells."""
    frame = parents[["code", "name", "geometry"]].reset_index(drop=True)
    groups = {c: pub.units_in(g) for c, g in zip(frame["code"], frame.geometry)}
    c = pub.cells[pub._mask(**mask)]
    by_unit = dict(tuple(c.groupby("unit")))
    out = []
    for code in frame["code"]:
        parts = [by_unit[u] for u in groups[code] if u in by_unit]
        g = pd.concat(parts) if parts else c.iloc[:0]
        out.append((_figure(g, pub.threshold, False), _figure(g, pub.threshold, True)))
    return out


@pytest.fixture(scope="module")
def published():
    """A published table of random incidents on a 12 x 12 grid of base units, two quarters."""
    rng = np.random.default_rng(5)
    units = gpd.GeoDataFrame({"code": [f"U{i:03d}" for i in range(144)], "name": [f"Unit {i}" for i in range(144)]},
                             geometry=[shapely.box(x * 100, y * 100, x * 100 + 100, y * 100 + 100)
                                       for y in range(12) for x in range(12)], crs=27700)
    pts = units.geometry.representative_point()
    units = units.assign(px=pts.x, py=pts.y)
    n = 6000
    weights = {"Robbery": 365.0, "Violence and sexual offences": 194.21, "Drugs": 3.66, "Shoplifting": 1.0}
    cat = rng.choice(list(weights), n, p=[0.1, 0.4, 0.2, 0.3])
    x, y = rng.gamma(2.0, 250.0, n) % 1200, rng.gamma(2.0, 250.0, n) % 1200  # dense corner, sparse edges
    inc = gpd.GeoDataFrame({"month": rng.choice(["2024-01", "2024-02", "2024-04", "2024-06"], n),
                            "layer": "crime", "category": cat, "harm": [weights[c] for c in cat],
                            "in_basket": np.isin(cat, ["Robbery", "Violence and sexual offences"])},
                           geometry=gpd.points_from_xy(x, y), crs=27700)
    return publish(inc, units, quarters=["2024-Q1", "2024-Q2"], threshold=5)


@pytest.mark.parametrize("mask", [{}, {"quarters": ["2024-Q2"]}, {"basket": None, "layer": "crime"}])
def test_unit_table_equals_one_pandas_figure_per_area(published, mask):
    pub = published
    parents = gpd.GeoDataFrame({"code": ["whole", "west", "corner", "empty"], "name": ["A", "B", "C", "D"]},
                               geometry=[shapely.box(0, 0, 1200, 1200), shapely.box(0, 0, 600, 1200),
                                         shapely.box(0, 0, 300, 300), shapely.box(5000, 5000, 5100, 5100)],
                               crs=27700)
    for par in (None, parents):
        kw = {"basket": True, **mask}
        table = pub.unit_table(parents=par, keep_empty=True, **kw)
        ref = direct_unit_table(pub, pub.units if par is None else par, **kw)
        assert len(table) == len(ref) > 0
        n_hidden = 0
        for row, (n, h) in zip(table.itertuples(), ref):
            assert row.count_label == n.label and row.harm_label == _harm_label(h, n)
            assert (np.isnan(row.count) and n.suppressed) or row.count == n.mid
            assert (np.isnan(row.harm) and n.suppressed) or row.harm == float(round_harm(h.mid))
            n_hidden += n.suppressed
        assert 0 < n_hidden < len(ref) or par is not None  # base units: some suppressed, some not


def test_unit_table_figures_are_the_same_objects(published):
    """Lo, hi and the estimate of every area figure, not only their labels."""
    from geo.disclosure.published import _FigureColumns
    pub = published
    c = pub.cells[pub._mask(basket=True)]
    cols = _FigureColumns(c)
    idx = c.groupby("unit").indices
    for unit, rows in list(idx.items())[:60]:
        for harm in (False, True):
            want = _figure(c.iloc[rows], pub.threshold, harm)
            got = cols.figure(rows, pub.threshold, harm)
            assert (got.lo, got.hi, got.mid) == (want.lo, want.hi, want.mid)


def test_planted_power_with_memberships_worked_out_once_equals_working_them_out_per_plant(monkeypatch):
    """The planted power test on a synthetic operation (two BCUs, a neighbouring force, schools in the
    catchment): with each point's area memberships worked out once, and without (the code before:
    every plant tests every point against every area), the same plants are detected."""
    from geo.displacement import engine, flags
    from geo.displacement.power import planted_power
    from geo.displacement.windows import periods, window_months
    from tests.test_displacement import TARGET, _bcus, _incidents, _windows

    inc = _incidents(np.random.default_rng(3), plant=(200, 0, 40))
    w = _windows()
    bcus = _bcus()
    sites = gpd.GeoDataFrame({"kind": ["school", "school", "drug_treatment"], "name": ["S1", "S2", "T1"]},
                             geometry=[shapely.Point(-300, 200), shapely.Point(-2_600, -900), shapely.Point(0, 0)],
                             crs=27700)
    prep = engine.prepare(inc, periods(inc, w), tau=w.time_weights[0], bcus=bcus, own_force="Home",
                          months=window_months(w))
    catch, res = engine.run(prep, TARGET, own_bcu="A", sites=sites, n_placebos=100)
    kw = dict(null=res.null, alpha=0.05, sites=sites, n=12, seed=4)
    fast = planted_power(prep.points, catch, **kw)
    monkeypatch.setattr(flags.WindowPoints, "with_inside", lambda self, geoms: self)  # no memberships kept
    slow = planted_power(prep.points, catch, **kw)
    assert fast == slow and 0 < fast.detected <= fast.n  # plants found: the tests ran on planted points
    assert fast.n == 12 and fast.moved > 0 and not flags.sites_zone(sites, catch)[0].is_empty


def test_the_normal_tail_and_quantile_called_directly_are_scipys_norm():
    """``flags.area_test`` calls scipy.special's ndtr / ndtri instead of scipy.stats.norm's sf / ppf
    (the same functions under the distribution object's checks): the same numbers."""
    from scipy.special import ndtr, ndtri
    from scipy.stats import norm
    z = np.r_[np.random.default_rng(0).normal(0, 4, 3000), 0.0, -0.0, 1e-300, 39.0, -39.0, np.inf, -np.inf]
    assert all(2 * norm.sf(abs(v)) == 2 * ndtr(-abs(v)) and norm.sf(v) == ndtr(-v) for v in z)
    for alpha in (0.05, 0.05 * 0.3, 0.05 * 0.5 / 7, 0.0125, 0.1):
        assert norm.ppf(1 - alpha / 2) == ndtri(1 - alpha / 2) and norm.ppf(1 - alpha) == ndtri(1 - alpha)


@pytest.mark.parametrize("resolution", ["month", "day"])
def test_window_periods_per_distinct_value_equal_the_row_by_row_comparison(resolution):
    from geo.displacement.windows import Windows, periods
    rng = np.random.default_rng(8)
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    days = [f"2024-03-{d:02d}" for d in range(1, 29)]
    n = 5000
    inc = pd.DataFrame({"month": pd.array(rng.choice(months, n), dtype="string[pyarrow]"),  # never missing
                        "date": pd.array([None if rng.random() < 0.05 else f"{d}T1{rng.integers(0, 10)}:00:00"
                                          for d in rng.choice(days, n)], dtype="string[pyarrow]")})
    w = (Windows("month", ("2024-01", "2024-02"), ("2024-04", "2024-05"), 2, 2, ("2024-03", "2024-03"))
         if resolution == "month" else
         Windows("day", ("2024-03-01", "2024-03-07"), ("2024-03-15", "2024-03-21"), 7, 7, ("2024-03-08", "2024-03-14")))
    key = (inc["month"].astype(str) if resolution == "month"
           else inc["date"].fillna("").astype(str).str[:10]).to_numpy()
    want = np.full(n, -1, dtype=np.int8)  # the row-by-row code it replaced
    want[(key >= w.before[0]) & (key <= w.before[1])] = 0
    want[(key >= w.after[0]) & (key <= w.after[1])] = 1
    got = periods(inc, w)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    assert set(np.unique(got)) == {-1, 0, 1}


@pytest.mark.parametrize("dtype", [object, "string", "str"])
def test_harm_weights_and_drug_calls_per_distinct_category_equal_the_row_by_row_lookup(dtype):
    """``harm.weights_for`` and ``harm.is_drug_related_call`` look each distinct category up once:
    the same values as mapping every row (missing categories included)."""
    from geo import harm
    from geo.settings import settings
    rng = np.random.default_rng(3)
    words = ["Drugs", "Robbery", "Possession of weapons", "drug dealing call", "Other theft", None, "", "DRUGS"]
    cat = pd.Series(rng.choice(np.array(words, dtype=object), 5000), dtype=dtype)
    sub = pd.Series(rng.choice(np.array(["", None, "crack house", "noise"], dtype=object), 5000), dtype=dtype)
    table = pd.DataFrame({"category": ["Drugs", "Robbery", "Other theft"], "weight": [10.0, 365.0, np.nan]})
    lookup = dict(zip(table["category"], table["weight"]))
    slow = cat.map(lookup).fillna(harm.DEFAULT_WEIGHT).to_numpy(dtype=float)
    fast = harm.weights_for(cat, table)
    assert fast.dtype == slow.dtype and np.array_equal(fast, slow)
    pattern = "|".join(settings.drug_call_keywords)
    slow = cat.fillna("").str.upper().str.contains(pattern, regex=True)
    slow = (slow | sub.fillna("").str.upper().str.contains(pattern, regex=True)).to_numpy()
    fast = harm.is_drug_related_call(cat, sub)
    assert np.array_equal(fast.astype(bool), slow.astype(bool)) and fast.any() and not fast.all()
