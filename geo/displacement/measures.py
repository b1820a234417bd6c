"""Counting incidents in the study areas and the WDD/WDQ/E-test measures (Poisson, per window)."""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import stats
from ..errors import GeoInputError
from ..settings import settings
from .areas import StudyAreas, cross_units, points_inside, xy_of
from .windows import Windows, periods

__all__ = ["BASKET", "ALL", "SMALL_COUNT", "SCALES", "count_areas", "scaled_wdd", "measures", "wdd_arrays",
           "cross_boundary"]

BASKET = "Drug-market harm basket"
ALL = "All incidents"
SMALL_COUNT = 20
SCALES = ("counts", "area", "none")


def count_areas(incidents: pd.DataFrame, areas: dict, windows: Windows):
    """Count incidents and harm per area, period and category.

    Parameters
    ----------
    incidents : DataFrame
        With ``x``, ``y`` (metres), ``category``, ``harm`` (weight per row),
        ``in_basket`` and ``month`` or ``date``.
    areas : dict of name -> shapely geometry
    windows : Windows

    Returns
    -------
    dict
        ``categories`` (list), ``weights`` (harm weight per category), ``n`` and
        ``basket`` (arrays ``[area, period, category]`` of all rows and of basket rows),
        ``areas`` (names, in order).
    """
    per = periods(incidents, windows)
    keep = per >= 0
    per = per[keep]
    x, y = xy_of(incidents)   # the columns of the windows' rows (not the whole frame's rows: slower)
    x, y = x[keep], y[keep]
    cats = sorted(incidents["category"].dropna().astype(str).unique())
    cat_index = {c: i for i, c in enumerate(cats)}
    ci = incidents["category"][keep].astype(str).map(cat_index).fillna(-1).to_numpy(int)
    weights = (incidents.groupby("category")["harm"].first().reindex(cats).fillna(1.0).to_numpy(float)
               if len(incidents) else np.ones(len(cats)))
    basket = incidents["in_basket"].to_numpy(bool)[keep]
    names = list(areas)
    n = np.zeros((len(names), 2, len(cats)))
    nb = np.zeros((len(names), 2, len(cats)))
    for i, name in enumerate(names):
        inside = points_inside(areas[name], x, y) & (ci >= 0)
        flat = per[inside] * len(cats) + ci[inside]
        n[i] = np.bincount(flat, minlength=2 * len(cats)).reshape(2, len(cats))
        flat_b = per[inside & basket] * len(cats) + ci[inside & basket]
        nb[i] = np.bincount(flat_b, minlength=2 * len(cats)).reshape(2, len(cats))
    return {"categories": cats, "weights": weights, "n": n, "basket": nb, "areas": names}


# =========================================================================== tests
def _scale_weight(c0: float, t0: float, a_c: float, a_t: float, scale: str) -> float:
    """The control's 'size' relative to the area it controls for (ptools area weight)."""
    if scale == "none":
        return 1.0
    if scale == "counts" and c0 > 0 and t0 > 0:
        return c0 / t0
    if a_c > 0 and a_t > 0:
        return a_c / a_t
    return 1.0


def scaled_wdd(control, treated, *, time_weights=(1.0, 1.0), sizes=(1.0, 1.0), scale: str = "counts",
               alpha: float | None = None) -> stats.WDDResult | None:
    """The local WDD of `treated` against a (possibly much larger) `control`.

    Calls :func:`geo.stats.wdd` with ``area_weights=(k, 1, 1, 1)`` where ``k`` is the
    control's size relative to the treated area: its before-period count over the
    treated area's (``scale="counts"``, falling back to km² when either is 0), the ratio
    of km² (``"area"``) or 1 (``"none"``). The estimate is then in crimes of the treated
    area over the after window. Returns ``None`` when every count is 0.

    Examples
    --------
    A flat control ten times the size: the local effect is the target's own change.

    >>> r = scaled_wdd((1000, 1000), (100, 80))
    >>> r.estimate, round(r.se ** 2, 2)
    (-20.0, 200.0)
    """
    if scale not in SCALES:
        raise GeoInputError(f"scale must be one of {SCALES}, got {scale!r}",
                            fix="use scale='counts' (default), 'area' or 'none'")
    k = _scale_weight(control[0], treated[0], sizes[0], sizes[1], scale)
    try:
        return stats.wdd(control, treated, time_weights=time_weights, area_weights=(k, 1, 1, 1),
                         alpha=alpha)
    except GeoInputError:
        return None


def _nan_part():
    return {"est": np.nan, "se": np.nan}


def _wdd_three(c, t, b, dc, tw, sizes, scale, alpha):
    """Local, displacement and total WDD parts: dicts of est and se (count units)."""
    a_c, a_t, a_b, a_dc = sizes
    if dc is None:   # one control for target and buffer: test target, buffer, both
        loc = scaled_wdd(c, t, time_weights=tw, sizes=(a_c, a_t), scale=scale, alpha=alpha)
        dis = scaled_wdd(c, b, time_weights=tw, sizes=(a_c, a_b), scale=scale, alpha=alpha)
        tot = scaled_wdd(c, (t[0] + b[0], t[1] + b[1]), time_weights=tw, sizes=(a_c, a_t + a_b),
                         scale=scale, alpha=alpha)
        parts = []
        for r in (loc, dis, tot):
            parts.append(_nan_part() if r is None else {"est": r.local_estimate, "se": r.local_se})
        return parts
    k_c = _scale_weight(c[0], t[0], a_c, a_t, scale)
    k_d = _scale_weight(dc[0], b[0], a_dc, a_b, scale)
    try:
        r = stats.wdd(c, t, dc, b, time_weights=tw, area_weights=(k_c, 1, k_d, 1), alpha=alpha)
    except GeoInputError:
        return [_nan_part(), _nan_part(), _nan_part()]
    return [{"est": r.local_estimate, "se": r.local_se},
            {"est": r.displacement_estimate, "se": r.displacement_se},
            {"est": r.estimate, "se": r.se}]


def _summ(est, se, alpha):
    if not (np.isfinite(est) and np.isfinite(se)) or se <= 0:
        return {"estimate": est, "se": se, "z": np.nan, "p": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    from scipy.special import ndtr, ndtri
    z = est / se
    q = ndtri(1 - alpha / 2)   # scipy's norm.ppf and norm.sf without the distribution's checks: the same numbers
    return {"estimate": est, "se": se, "z": z, "p": float(2 * ndtr(-abs(z))),
            "ci_low": est - q * se, "ci_high": est + q * se}


def _pair_of(arr, ai, cat_sel):
    return (float(arr[ai, 0, cat_sel].sum()), float(arr[ai, 1, cat_sel].sum()))


def measures(counts: dict, windows: Windows, *, sizes: dict, alpha: float | None = None,
             scale: str = "counts", disp_control: str | None = None,
             enforcement: str = settings.enforcement_category) -> pd.DataFrame:
    """Gross change, net effect, WDQ, WDD and E-tests, for counts and for harm.

    Parameters
    ----------
    counts : dict
        Output of :func:`count_areas` with areas ``target``, ``buffer``, ``control`` (and
        `disp_control` if given).
    windows : Windows
        Gives the time weights.
    sizes : dict of area name -> km²
    alpha : float, optional
        ``None``: ``settings.alpha``.
    scale : {"counts", "area", "none"}
        How the control is scaled to the target (module docstring).
    disp_control : str, optional
        Name of a separate control for the buffer; ``None`` uses the control for both
        (Bowers & Johnson's design).

    Returns
    -------
    pandas.DataFrame
        One row per ``measure`` and ``unit`` (``"count"`` or ``"harm"``): the drug-market
        harm basket (harm, then count), all incidents, the enforcement count (drug
        offences), then each category. Columns: ``measure``, ``unit``, ``basket``
        (bool), ``target_before``, ``target_after``, ``buffer_before``, ``buffer_after``,
        ``control_before``, ``control_after``, ``gross_change`` (after - before in the
        target, per after window), ``net_effect``, ``success_measure``,
        ``buffer_displacement_measure``, ``wdq``, ``total_net_effect``, ``wdq_reading``,
        ``wdq_interpretable``, then for ``local``, ``displacement`` and ``total``:
        ``<part>_estimate``, ``_se``, ``_z``, ``_p``, ``_ci_low``, ``_ci_high``; then
        ``etest_p`` (target after vs before, Poisson E-test with the window lengths as
        exposures) and ``etest_rel_p`` (target's share of target + control after vs
        before: E-test with the control counts as exposures), ``small_counts`` (bool).
    """
    a = stats.check_alpha(alpha)
    names = counts["areas"]
    ti, bi, ci = names.index("target"), names.index("buffer"), names.index("control")
    di = names.index(disp_control) if disp_control else None
    cats = counts["categories"]
    w = counts["weights"]
    tw = windows.time_weights
    sz = (sizes["control"], sizes["target"], sizes["buffer"], sizes.get(disp_control, 1.0))
    rows = []

    def one(arr, sel):
        c, t, b = _pair_of(arr, ci, sel), _pair_of(arr, ti, sel), _pair_of(arr, bi, sel)
        dc = _pair_of(arr, di, sel) if di is not None else None
        return c, t, b, dc

    def base_row(measure, unit, basket, c, t, b, dc, mult=1.0):
        tau = tw[0]
        row = {"measure": measure, "unit": unit, "basket": basket,
               "target_before": t[0] * mult, "target_after": t[1] * mult,
               "buffer_before": b[0] * mult, "buffer_after": b[1] * mult,
               "control_before": c[0] * mult, "control_after": c[1] * mult,
               "gross_change": (t[1] - t[0] / tau) * mult}
        try:
            q = stats.wdq((c[0] / tau, c[1]), (t[0] / tau, t[1]),
                          None if dc is None else (dc[0] / tau, dc[1]), (b[0] / tau, b[1]))
            row.update(net_effect=q.net_effect, success_measure=q.success_measure,
                       buffer_displacement_measure=q.buffer_displacement_measure, wdq=q.wdq,
                       total_net_effect=q.total_net_effect * mult, wdq_reading=q.interpretation,
                       wdq_interpretable=q.interpretable)
        except GeoInputError as err:
            row.update(net_effect=np.nan, success_measure=np.nan, buffer_displacement_measure=np.nan,
                       wdq=np.nan, total_net_effect=np.nan, wdq_reading=f"not computed: {err.what}",
                       wdq_interpretable=False)
        return row

    def add_tests(row, parts, c, t, counts_ok=True):
        for name, part in zip(("local", "displacement", "total"), parts):
            for k, v in _summ(part["est"], part["se"], a).items():
                row[f"{name}_{k}"] = v
        if counts_ok and (t[0] + t[1]) > 0:
            row["etest_p"] = stats.e_test(t[1], t[0], windows.after_len, windows.before_len).pvalue
            row["etest_rel_p"] = (stats.e_test(t[1], t[0], c[1], c[0]).pvalue
                                  if c[0] > 0 and c[1] > 0 else np.nan)
        else:
            row["etest_p"] = row["etest_rel_p"] = np.nan
        row["small_counts"] = bool(min(t) < SMALL_COUNT)
        return row

    def combined(measure, arr, sel_idx, basket):
        """Harm-weighted combination of per-category WDDs (as ptools::wdd_harm)."""
        est = np.zeros(3)
        var = np.zeros(3)
        for j in sel_idx:
            c, t, b, dc = one(arr, [j])
            if sum(c) + sum(t) + sum(b) == 0:
                continue
            parts = _wdd_three(c, t, b, dc, tw, sz, scale, a)
            for k, part in enumerate(parts):
                if np.isfinite(part["est"]):
                    est[k] += w[j] * part["est"]
                    var[k] += (w[j] * part["se"]) ** 2
        hw = lambda s: (float((arr[s[0], s[1], sel_idx] * w[sel_idx]).sum()))  # noqa: E731
        c = (hw((ci, 0)), hw((ci, 1)))
        t = (hw((ti, 0)), hw((ti, 1)))
        b = (hw((bi, 0)), hw((bi, 1)))
        dc = (hw((di, 0)), hw((di, 1))) if di is not None else None
        row = base_row(measure, "harm", basket, c, t, b, dc)
        parts = [{"est": est[k], "se": math.sqrt(var[k]) if var[k] > 0 else np.nan} for k in range(3)]
        return add_tests(row, parts, c, t, counts_ok=False)

    def counted(measure, arr, sel_idx, basket, unit="count", mult=1.0):
        c, t, b, dc = one(arr, sel_idx)
        row = base_row(measure, unit, basket, c, t, b, dc, mult)
        parts = _wdd_three(c, t, b, dc, tw, sz, scale, a)
        if mult != 1.0:
            parts = [{"est": p["est"] * mult, "se": p["se"] * mult} for p in parts]
        return add_tests(row, parts, c, t)

    idx_all = np.arange(len(cats))
    non_enf = np.array([j for j, cname in enumerate(cats) if cname != enforcement], dtype=int)
    basket_cats = np.array([j for j in idx_all if counts["basket"][:, :, j].sum() > 0], dtype=int)
    rows.append(combined(BASKET, counts["basket"], basket_cats, True))
    rows.append(counted(BASKET, counts["basket"], idx_all, True))
    rows.append(combined(ALL + " (excluding drug offences)", counts["n"], non_enf, False))
    rows.append(counted(ALL, counts["n"], idx_all, False))
    if enforcement in cats:
        j = cats.index(enforcement)
        rows.append(counted(f"{enforcement} (enforcement activity, not harm)", counts["n"], [j], False))
    for j, cname in enumerate(cats):
        if cname == enforcement or counts["n"][:, :, j].sum() == 0:
            continue
        in_b = bool(counts["basket"][:, :, j].sum() > 0)
        rows.append(counted(cname, counts["n"], [j], in_b, unit="harm", mult=float(w[j])))
        rows.append(counted(cname, counts["n"], [j], in_b))
    return pd.DataFrame(rows)


def wdd_arrays(control_before, control_after, treated_before, treated_after, *, tau: float = 1.0,
               size_ratio=None):
    """Vectorised :func:`scaled_wdd` (``scale="counts"``) over arrays of counts.

    Returns ``(estimate, se)`` arrays; ``se`` is 0 where every count is 0. Used by the
    simulations in :mod:`geo.scenarios`; a test checks it equals :func:`scaled_wdd`.
    """
    c0, c1, t0, t1 = (np.asarray(v, dtype=float) for v in
                      (control_before, control_after, treated_before, treated_after))
    fallback = np.ones_like(c0) if size_ratio is None else np.broadcast_to(np.asarray(size_ratio, float), c0.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where((c0 > 0) & (t0 > 0), c0 / np.where(t0 > 0, t0, 1), fallback)
    est = (t1 - t0 / tau) - (c1 - c0 / tau) / k
    var = t1 + t0 / tau ** 2 + (c1 + c0 / tau ** 2) / k ** 2
    return est, np.sqrt(var)


def cross_boundary(incidents: pd.DataFrame, areas: StudyAreas, bcus: gpd.GeoDataFrame, windows: Windows, *,
                   own_force: str | None = None, own_bcu: str | None = None, alpha: float | None = None,
                   scale: str = "counts", covered_codes=None) -> gpd.GeoDataFrame:
    """Cut the buffer and the wider ring by BCU and by force and test each piece.

    Each piece (the part of the buffer plus wider ring inside one BCU, or inside one other
    force) is compared with the rest of its own BCU or force outside the whole study zone
    (target + buffer + ring): the local WDD (:func:`scaled_wdd`) of drug-market basket
    counts, plus the harm-weighted estimate. p-values are Holm-adjusted over all pieces;
    a piece where basket crime rose with adjusted p below alpha is flagged
    ``"possible displacement into <name>"``.

    Parameters
    ----------
    incidents : DataFrame
        Both sides of the boundary (``statuses=("mapped", "outside_area")``).
    areas : StudyAreas
    bcus : GeoDataFrame
        All BCUs (all forces) with ``code``, ``name``, ``force``.
    windows : Windows
    own_force : str, optional
        The workspace's force: its BCUs are pieces at ``bcu`` level; every other force is
        also a piece at ``force`` level.
    own_bcu : str, optional
        The operation's BCU (``own`` column; its piece is read as the surrounding area).
    covered_codes : set of str, optional
        BCUs with data in both windows; others are listed with ``status`` "no data".

    Returns
    -------
    geopandas.GeoDataFrame
        ``level`` ("bcu"/"force"), ``code``, ``name``, ``force``, ``own`` (the
        operation's BCU), ``status`` ("tested"/"no data"), ``km2``,
        ``before``, ``after`` (basket counts in the piece), ``control_before``,
        ``control_after``, ``estimate``, ``se``, ``z``, ``p``, ``p_holm``,
        ``harm_estimate``, ``flag`` (bool), ``reading`` (text), ``geometry`` (the piece).
    """
    a = stats.check_alpha(alpha)
    units = cross_units(areas, bcus, own_force=own_force, covered_codes=covered_codes)
    cols = ["level", "code", "name", "force", "own", "status", "km2", "before", "after", "control_before",
            "control_after", "estimate", "se", "z", "p", "p_holm", "harm_estimate", "flag", "reading"]
    if not units:
        return gpd.GeoDataFrame(columns=cols, geometry=[], crs=getattr(bcus, "crs", None))
    area_map = {}
    for i, u in enumerate(units):
        area_map[f"p{i}"] = u[4]
        area_map[f"c{i}"] = u[5]
    cnt = count_areas(incidents, area_map, windows)
    nb, w = cnt["basket"], cnt["weights"]
    names = cnt["areas"]
    tw = windows.time_weights
    rows, geoms = [], []
    for i, (level, code, name, force, piece, ctrl) in enumerate(units):
        pi, ci = names.index(f"p{i}"), names.index(f"c{i}")
        t = (float(nb[pi, 0].sum()), float(nb[pi, 1].sum()))
        c = (float(nb[ci, 0].sum()), float(nb[ci, 1].sum()))
        no_data = covered_codes is not None and level == "bcu" and code not in covered_codes
        r = None if no_data else scaled_wdd(c, t, time_weights=tw, sizes=(ctrl.area, piece.area),
                                            scale=scale, alpha=a)
        harm = 0.0
        if r is not None:
            for j in range(len(w)):
                tj = (float(nb[pi, 0, j]), float(nb[pi, 1, j]))
                cj = (float(nb[ci, 0, j]), float(nb[ci, 1, j]))
                rj = scaled_wdd(cj, tj, time_weights=tw, sizes=(ctrl.area, piece.area), scale=scale, alpha=a)
                if rj is not None:
                    harm += w[j] * rj.local_estimate
        rows.append({
            "level": level, "code": code, "name": name, "force": force,
            "own": level == "bcu" and code == own_bcu, "status": "no data" if no_data else ("tested" if r is not None else "no incidents"),
            "km2": piece.area / 1e6, "before": t[0], "after": t[1], "control_before": c[0],
            "control_after": c[1], "estimate": r.local_estimate if r else np.nan,
            "se": r.local_se if r else np.nan, "z": r.z if r else np.nan, "p": r.pvalue if r else np.nan,
            "harm_estimate": harm if r else np.nan,
        })
        geoms.append(piece)
    out = gpd.GeoDataFrame(rows, geometry=geoms, crs=getattr(bcus, "crs", None))
    tested = out["p"].notna().to_numpy()
    out["p_holm"] = np.nan
    if tested.any():
        out.loc[tested, "p_holm"] = stats.holm(out.loc[tested, "p"].to_numpy())
    out["flag"] = (out["p_holm"] < a) & (out["estimate"] > 0)
    out["reading"] = [
        (f"possible displacement into the surrounding part of {n} (the operation's own BCU)" if own else
         f"possible displacement into {n}" + (f" ({f})" if lv == "bcu" and f != own_force else ""))
        if fl else ("no data for these windows" if st == "no data" else
                    "rise, not significant" if e > 0 else "no rise" if np.isfinite(e) else "no incidents")
        for n, f, lv, fl, st, e, own in zip(out["name"], out["force"], out["level"], out["flag"], out["status"],
                                            out["estimate"], out["own"])]
    return out[cols + ["geometry"]]


