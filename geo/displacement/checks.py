"""Checks on the operation itself: monthly harm of target, catchment and control, and placebo dates.

``pre_trend`` gives the monthly drug-market harm of the target, the catchment (the rings)
and the control over every month of data (:func:`geo.panels.monthly_panel`, uncovered
months left blank), so the analyst can see whether target and control moved in parallel
before the operation. ``placebo_dates`` repeats the calibrated target test with the same
design moved back in time, where nothing happened: evidence there says the target's
ordinary ups and downs are as large as the "effect".
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import engine
from .areas import Catchment, union_geoms
from .windows import Windows, month_add, month_span, periods, window_months

__all__ = ["pre_trend", "placebo_dates", "placebo_type"]


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
                  most: int = 3, other_targets=()) -> pd.DataFrame:
    """The calibrated target test on the same design moved back in time (month windows only).

    The before window, operation and after window are shifted back by whole design lengths
    while the data cover them (at most `most` times).

    Returns
    -------
    DataFrame
        ``before``, ``after`` (labels), ``harm_before``, ``harm_after``, ``estimate``,
        ``ci_low``, ``ci_high``, ``p``, ``status``; empty if the data hold no earlier design.
    """
    cols = ["before", "after", "harm_before", "harm_after", "estimate", "ci_low", "ci_high", "p", "status"]
    if windows.resolution != "month":
        return pd.DataFrame(columns=cols)
    have = set(incidents["month"].dropna().astype(str))
    span = month_span(windows.before[0], windows.after[1])
    rows = []
    for k in range(1, most + 1):
        sh = -k * span
        w = Windows("month", (month_add(windows.before[0], sh), month_add(windows.before[1], sh)),
                    (month_add(windows.after[0], sh), month_add(windows.after[1], sh)), windows.before_len,
                    windows.after_len, (month_add(windows.operation[0], sh), month_add(windows.operation[1], sh)))
        months = window_months(w)
        if not all(m in have for m in months):
            break
        prep = engine.prepare(incidents, periods(incidents, w), tau=w.time_weights[0], bcus=bcus,
                              own_force=own_force, months=months)
        _, res = engine.run(prep, target, own_bcu=own_bcu, other_targets=other_targets, alpha=alpha, n_placebos=200)
        t = res.target
        rows.append({"before": w.label("before"), "after": w.label("after"), "harm_before": t.harm_before,
                     "harm_after": t.harm_after, "estimate": t.estimate, "ci_low": t.ci_low, "ci_high": t.ci_high,
                     "p": t.p, "status": t.status})
    return pd.DataFrame(rows, columns=cols)


def placebo_type(table: pd.DataFrame, *, phi: float, alpha: float, crime_type: str = "Bicycle theft") -> dict:
    """The target test on a crime type the operation should not touch (default bicycle theft), as a check."""
    from .flags import type_tests
    t = type_tests(table, phi=phi, alpha=alpha)
    hit = t[t["crime_type"] == crime_type]
    if hit.empty:
        return {"crime_type": crime_type, "status": "not recorded"}
    r = hit.iloc[0]
    p = float(r["p"]) if np.isfinite(r["p"]) else None
    status = "too few to tell" if p is None else ("evidence" if p < alpha else "no evidence")
    return {"crime_type": crime_type, "before": float(r["before"]), "after": float(r["after"]),
            "estimate": float(r["estimate"]), "p": p, "status": status}

