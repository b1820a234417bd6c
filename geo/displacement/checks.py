"""Checks on the operation itself: monthly harm of target, catchment and control, and placebo dates.

``pre_trend`` gives the monthly drug-market harm of the target, the catchment (the rings)
and the control over every month of data (:func:`geo.panels.monthly_panel`, uncovered
months left blank), so the analyst can see whether target and control moved in parallel
before the operation. ``placebo_dates`` repeats the calibrated target test with the same
design moved back in time, where nothing happened: evidence there says the target's
ordinary ups and downs are as large as the "effect". ``same_months_a_year_earlier`` repeats
it on the same calendar windows one year before (with 12+ months of data before the
operation): a placebo in time that also shows whether the before→after change is seasonal.
``pre_period_fit`` reads the monthly panel's months before the operation: the correlation
and RMSE of the target's and the control's harm, each divided by its pre-period mean.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..labels import signed as _signed
from . import engine
from .areas import Catchment, union_geoms
from .windows import Windows, month_add, month_span, periods, window_months

__all__ = ["pre_trend", "placebo_dates", "placebo_type", "same_months_a_year_earlier", "pre_period_fit",
           "PARALLEL_R", "MIN_PRE_MONTHS"]

#: Pre-period correlation of normalised monthly harm at or above which target and control "moved in parallel".
PARALLEL_R = 0.5
#: Fewer months before the operation and the pre-period fit is "too few months to tell".
MIN_PRE_MONTHS = 6


def pre_trend(incidents, catch: Catchment, *, coverage=None) -> pd.DataFrame:
    """Monthly basket harm (and count) of the target, the catchment and the control.

    Returns
    -------
    DataFrame
        :data:`geo.panels.PANEL_COLUMNS` with ``name`` in ("Target", "Catchment (rings)",
        "Control"); months without data are ``<NA>``.
    """
    from ..panels import monthly_panel
    areas = {"Target": catch.target, "Catchment (rings)": union_geoms([r.geometry for r in catch.rings]),
             "Control": catch.control}
    basket = incidents[incidents["in_basket"].to_numpy(bool)]
    return monthly_panel(basket, areas, coverage=coverage, categories=None)


def placebo_dates(incidents, target, *, windows: Windows, bcus, own_bcu: str, own_force: str, alpha: float,
                  most: int = 3, other_targets=(), shifted_from=None, covered=False) -> pd.DataFrame:
    """The calibrated target test on the same design moved back in time (month windows only).

    The before window, operation and after window are shifted back by whole design lengths
    while the data cover them (at most `most` times). ``shifted_from`` and ``covered``: see
    :func:`shifted_test` (the same numbers, less work).

    Returns
    -------
    DataFrame
        ``before``, ``after`` (labels), ``harm_before``, ``harm_after``, ``estimate``,
        ``ci_low``, ``ci_high``, ``p``, ``status``; empty if the data hold no earlier design.
    """
    cols = ["before", "after", "harm_before", "harm_after", "estimate", "ci_low", "ci_high", "p", "status"]
    if windows.resolution != "month":
        return pd.DataFrame(columns=cols)
    have = set(incidents["month"].dropna().astype(str).unique())  # unique first: not 290k strings in Python
    span = month_span(windows.before[0], windows.after[1])
    rows = []
    for k in range(1, most + 1):
        w = shift_windows(windows, -k * span)
        if not all(m in have for m in window_months(w)):
            break
        rows.append(shifted_test(incidents, target, w, bcus=bcus, own_bcu=own_bcu, own_force=own_force,
                                 alpha=alpha, other_targets=other_targets, shifted_from=shifted_from, covered=covered))
    return pd.DataFrame(rows, columns=cols)


def shift_windows(windows: Windows, months: int) -> Windows:
    """The same design moved by a whole number of months (negative: earlier)."""
    w = windows
    return Windows("month", (month_add(w.before[0], months), month_add(w.before[1], months)),
                   (month_add(w.after[0], months), month_add(w.after[1], months)), w.before_len, w.after_len,
                   (month_add(w.operation[0], months), month_add(w.operation[1], months)))


def shifted_test(incidents, target, w: Windows, *, bcus, own_bcu: str, own_force: str, alpha: float,
                 other_targets=(), shifted_from=None, covered=False) -> dict:
    """The calibrated target test (:func:`geo.displacement.engine.run`) on windows `w`, as a table row.

    ``shifted_from``: ``(Prepared, catchments)``: the operation's own design for the same `bcus` and
    `own_force` (its placebo cells are reused) and a dict of catchments of `target` (same `own_bcu` and
    `other_targets`, default reach) by the frozenset of forces left uncovered, which this test reads
    and adds to (designs shifted back in turn mostly lack the same forces: one catchment each).
    ``covered``: :func:`geo.displacement.engine.covered_pairs` of `incidents`. Neither changes a number.
    """
    like, catchments = shifted_from if shifted_from is not None else (None, {})
    prep = engine.prepare(incidents, periods(incidents, w), tau=w.time_weights[0], bcus=bcus,
                          own_force=own_force, months=window_months(w), covered=covered, like=like)
    key = frozenset(prep.uncovered)
    catch, res = engine.run(prep, target, own_bcu=own_bcu, other_targets=other_targets, alpha=alpha,
                            n_placebos=200, catch=catchments.get(key))
    catchments.setdefault(key, catch)
    t = res.target
    return {"before": w.label("before"), "after": w.label("after"), "harm_before": float(t.harm_before),
            "harm_after": float(t.harm_after), "estimate": float(t.estimate), "ci_low": float(t.ci_low),
            "ci_high": float(t.ci_high), "p": float(t.p), "status": t.status}


def same_months_a_year_earlier(incidents, target, *, windows: Windows, bcus, own_bcu: str, own_force: str,
                               alpha: float, other_targets=(), effect: dict | None = None, shifted_from=None,
                               covered=False) -> dict:
    """The target-vs-control test re-run on the same calendar windows one year earlier.

    A placebo in time (nothing happened then) that also shows whether the before→after
    change is seasonal: evidence a year earlier, in the same direction as this year's
    change, says the change may be the season rather than the operation.

    Parameters
    ----------
    incidents, target, bcus, own_bcu, own_force, alpha, other_targets
        As for :func:`placebo_dates`.
    windows : Windows
        The operation's month windows.
    effect : dict, optional
        This year's target result (``estimate``, ``status``), to compare directions.
    shifted_from, covered : optional
        See :func:`shifted_test` (the same numbers, less work).

    Returns
    -------
    dict
        ``before``, ``after`` (labels a year earlier), ``harm_before``, ``harm_after``,
        ``estimate``, ``ci_low``, ``ci_high``, ``p``, ``status`` ("evidence", "no evidence",
        "too few to tell" or "not available": fewer than 12 months of data before the
        windows, or day windows) and ``reading``, a plain sentence.
    """
    base = {"before": None, "after": None, "harm_before": None, "harm_after": None, "estimate": None,
            "ci_low": None, "ci_high": None, "p": None}
    if windows.resolution != "month":
        return {**base, "status": "not available", "reading": "Same months a year earlier: month windows only."}
    w = shift_windows(windows, -12)
    have = set(incidents["month"].dropna().astype(str).unique())  # unique first: not 290k strings in Python
    missing = [m for m in window_months(w) if m not in have]
    if missing:
        return {**base, "before": w.label("before"), "after": w.label("after"), "status": "not available",
                "reading": f"Same months a year earlier ({w.label('before')} vs {w.label('after')}): not available, "
                           "the data hold fewer than 12 months before the windows."}
    row = shifted_test(incidents, target, w, bcus=bcus, own_bcu=own_bcu, own_force=own_force, alpha=alpha,
                       other_targets=other_targets, shifted_from=shifted_from, covered=covered)
    lead = f"Same months a year earlier ({row['before']} vs {row['after']})"
    if row["status"] == "too few to tell":
        reading = f"{lead}: too few incidents to tell whether the change is seasonal."
    elif row["status"] == "evidence":
        same_way = effect is not None and effect.get("estimate") is not None and np.isfinite(effect["estimate"]) \
            and np.sign(effect["estimate"]) == np.sign(row["estimate"])
        reading = (f"{lead}: the target also changed against the control (p = {row['p']:.3f}) when nothing "
                   "happened; " + ("in the same direction, so this year's change may be seasonal."
                                   if same_way else "the target's ordinary ups and downs are large."))
    else:
        now = effect.get("estimate") if effect is not None else None
        similar = now is not None and np.isfinite(now) and now != 0 and np.isfinite(row["estimate"]) \
            and np.sign(now) == np.sign(row["estimate"]) and 0.5 <= abs(row["estimate"]) / abs(now) <= 2
        if similar:
            reading = (f"{lead}: no significant change against the control ({_signed(row['estimate'])}, "
                       f"p = {row['p']:.3f}), but in the same direction and of a similar size as this year's "
                       f"({_signed(now)}), so a seasonal pattern cannot be ruled out.")
        else:
            reading = (f"{lead}: no evidence of a change against the control ({_signed(row['estimate'])}, "
                       f"p = {row['p']:.3f}): nothing suggests the before→after change is a regular seasonal "
                       "pattern of the target.")
    return {**row, "reading": reading}


def pre_period_fit(panel: pd.DataFrame, windows: Windows, *, target: str = "Target",
                   control: str = "Control") -> dict:
    """How closely the target's and the control's monthly harm moved together before the operation.

    Each series (months before the operation's first month, covered months only) is divided
    by its own mean; the fit is the Pearson correlation of the two normalised series and the
    root-mean-square of their difference (0: identical shape; 0.2: typically 20% of the mean
    apart). ``r >= PARALLEL_R`` reads "moved in parallel before the operation".

    Parameters
    ----------
    panel : DataFrame
        :func:`pre_trend` output.
    windows : Windows
    target, control : str
        Names in ``panel["name"]``.

    Returns
    -------
    dict
        ``months`` (used), ``r``, ``rmse``, ``status`` ("parallel", "not parallel" or
        "too few months") and ``reading``.

    Examples
    --------
    >>> import pandas as pd
    >>> from geo.displacement.windows import op_windows
    >>> ms = [f"2024-{m:02d}" for m in range(1, 9)]
    >>> p = pd.DataFrame({"month": ms * 2, "name": ["Target"] * 8 + ["Control"] * 8,
    ...                   "harm": [10, 12, 9, 11, 10, 13, 9, 10] + [100, 120, 90, 110, 100, 130, 90, 100]})
    >>> f = pre_period_fit(p, op_windows("2024-08-01", "2024-08-31"))
    >>> f["r"], f["rmse"], f["status"]
    (1.0, 0.0, 'parallel')
    """
    first = windows.operation[0][:7]
    pre = panel[panel["month"].astype(str) < first]
    wide = pre.pivot(index="month", columns="name", values="harm")
    out = {"months": 0, "r": None, "rmse": None}
    if target not in wide or control not in wide:
        return {**out, "status": "too few months", "reading": "Pre-period fit: no monthly data before the operation."}
    pair = wide[[target, control]].astype(float).dropna()
    n = len(pair)
    if n < MIN_PRE_MONTHS or (pair.mean() <= 0).any():
        return {**out, "months": n, "status": "too few months",
                "reading": f"Pre-period fit: {n} month(s) with data before the operation, fewer than "
                           f"{MIN_PRE_MONTHS}: too few to tell whether target and control moved in parallel."}
    a, b = (pair[c] / pair[c].mean() for c in (target, control))
    r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
    rmse = float(np.sqrt(((a - b) ** 2).mean()))
    r, rmse = round(r, 2) if np.isfinite(r) else r, round(rmse, 2)
    ok = np.isfinite(r) and r >= PARALLEL_R
    reading = (f"Pre-period fit over {n} months: correlation {r:.2f}, RMSE {rmse:.2f} of normalised monthly harm; "
               + ("target and control moved in parallel before the operation." if ok else
                  "target and control did not move in parallel before the operation, so read the comparison "
                  "with care."))
    return {"months": n, "r": r, "rmse": rmse, "status": "parallel" if ok else "not parallel", "reading": reading}


#: police.uk crime types a drug-market operation should not move (not street-level, not public-space
#: disorder): the placebo crime type is the one of these with the most incidents in the target before.
PLACEBO_TYPES = ("Vehicle crime", "Burglary", "Bicycle theft", "Other theft")


def placebo_type(table: pd.DataFrame, *, phi: float, alpha: float, crime_type: str | None = None,
                 exclude=()) -> dict:
    """The target test on a crime type the operation should not touch, as a check.

    ``crime_type=None`` (default) picks, before looking at any result, among :data:`PLACEBO_TYPES`
    outside the drug-market basket and ``exclude`` (the operation's targeted harms), the one with the
    most incidents in the target before the operation (any other type outside them if none is
    recorded): the most informative type the operation should not move. Its test is :func:`geo.displacement.flags.type_tests`' (over-dispersion ``phi``).
    """
    from .flags import type_tests
    t = type_tests(table, phi=phi, alpha=alpha)
    if crime_type is None:
        basket = set(table.loc[table["basket"].astype(bool), "measure"]) if "basket" in table else set()
        cand = t[~t["crime_type"].isin(basket | set(exclude or ()))]
        # types a drug-market operation should not move, with enough incidents to test
        unlikely = cand[cand["crime_type"].isin(PLACEBO_TYPES) & (cand["status"] != "too few to tell")]
        cand = unlikely if len(unlikely) else cand
        if cand.empty:
            return {"crime_type": "–", "status": "not recorded"}
        crime_type = str(cand.sort_values(["before", "crime_type"], ascending=[False, True]).iloc[0]["crime_type"])
    hit = t[t["crime_type"] == crime_type]
    if hit.empty:
        return {"crime_type": crime_type, "status": "not recorded"}
    r = hit.iloc[0]
    p = float(r["p"]) if np.isfinite(r["p"]) else None
    status = "too few to tell" if p is None else ("evidence" if p < alpha else "no evidence")
    return {"crime_type": crime_type, "before": float(r["before"]), "after": float(r["after"]),
            "estimate": float(r["estimate"]), "p": p, "status": status}
