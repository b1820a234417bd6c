"""The weighted displacement difference: :func:`wdd` on counts (Wheeler & Ratcliffe 2018) and
:func:`wdd_harm` on harm-weighted counts.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from ..errors import GeoInputError
from .checks import Counts, check_alpha, check_weights, count_pair


@dataclass(frozen=True)
class WDDResult:
    """Result of the weighted displacement difference test (:func:`wdd`).

    Attributes
    ----------
    estimate : float
        Total WDD (local + displacement), in crimes (per unit time/area if weighted).
        Negative means crime fell in the treated areas relative to the controls.
    se : float
        Standard error of ``estimate``.
    z : float
        ``estimate / se``.
    pvalue : float
        Two-sided p-value from the normal approximation.
    ci_low, ci_high : float
        ``1 - alpha`` confidence interval for ``estimate``.
    local_estimate, local_se : float
        The treated-versus-control part alone.
    displacement_estimate, displacement_se : float
        The buffer-versus-buffer-control part alone (0 when no buffer was given).
        Positive means crime rose in the buffer: displacement.
    alpha : float
        Level used for the confidence interval.
    """

    estimate: float
    se: float
    z: float
    pvalue: float
    ci_low: float
    ci_high: float
    local_estimate: float
    local_se: float
    displacement_estimate: float
    displacement_se: float
    alpha: float


def _wdd_parts(control, treated, disp_control, disp_treated, time_weights, area_weights):
    c0, c1 = count_pair(control, "control")
    t0, t1 = count_pair(treated, "treated")
    dc0, dc1 = count_pair(disp_control, "disp_control")
    dt0, dt1 = count_pair(disp_treated, "disp_treated")
    w_pre, w_post = check_weights(time_weights, "time_weights", 2)
    a_c, a_t, a_dc, a_dt = check_weights(area_weights, "area_weights", 4)
    # Each count is divided by (length of its period x size of its area), as ptools::wdd.
    local = (t1 / (w_post * a_t) - t0 / (w_pre * a_t)) - (c1 / (w_post * a_c) - c0 / (w_pre * a_c))
    var_local = (t1 / (w_post * a_t) ** 2 + t0 / (w_pre * a_t) ** 2
                 + c1 / (w_post * a_c) ** 2 + c0 / (w_pre * a_c) ** 2)
    disp = ((dt1 / (w_post * a_dt) - dt0 / (w_pre * a_dt))
            - (dc1 / (w_post * a_dc) - dc0 / (w_pre * a_dc)))
    var_disp = (dt1 / (w_post * a_dt) ** 2 + dt0 / (w_pre * a_dt) ** 2
                + dc1 / (w_post * a_dc) ** 2 + dc0 / (w_pre * a_dc) ** 2)
    return local, var_local, disp, var_disp


def _normal_summary(est: float, var: float, alpha: float):
    if var <= 0:
        raise GeoInputError(
            "The WDD has no variance: every count is zero",
            fix="use a longer period or a larger area so that some crimes are counted",
        )
    se = math.sqrt(var)
    z = est / se
    # scipy's norm.sf(x) is ndtr(-x) and norm.ppf(q) is ndtri(q), called without the distribution
    # object's checks (the same numbers, tests/test_same_numbers.py; a verdict makes hundreds of WDDs)
    p = float(2 * ndtr(-abs(z)))
    q = float(ndtri(1 - alpha / 2))
    return se, z, p, est - q * se, est + q * se


def wdd(
    control: Counts,
    treated: Counts,
    disp_control: Counts = (0, 0),
    disp_treated: Counts = (0, 0),
    *,
    time_weights: Sequence[float] = (1, 1),
    area_weights: Sequence[float] = (1, 1, 1, 1),
    alpha: float | None = None,
) -> WDDResult:
    """Estimate the weighted displacement difference (WDD) and its standard error.

    The WDD is a difference-in-differences of counts:

    ``local = (T1 - T0) - (C1 - C0)`` and
    ``displacement = (D1 - D0) - (DC1 - DC0)``,

    ``WDD = local + displacement``, where ``T``, ``C``, ``D`` and ``DC`` are the
    treated, control, buffer (``disp_treated``) and buffer-control (``disp_control``)
    counts, ``0`` before and ``1`` after. Counts are treated as Poisson, so the variance
    is the sum of the counts, ``T1 + T0 + C1 + C0 + D1 + D0 + DC1 + DC0``, and the test
    uses the normal approximation (Wheeler & Ratcliffe 2018). With small counts (under
    about 20 per cell) prefer :func:`e_test`; with over-dispersed counts the standard
    error is too small.

    Weights follow ``ptools::wdd`` exactly: every count is divided by the weight of its
    period and of its area before differencing, so with ``time_weights=(2, 1)`` (two
    years before, one after) the WDD is a change in crimes *per year*, and with
    ``area_weights`` in km² it is a change in crimes per km². The variance of a count
    ``k`` divided by ``w`` is ``k / w**2``.

    Parameters
    ----------
    control, treated : (float, float)
        Counts ``(before, after)`` in the control and treated areas.
    disp_control, disp_treated : (float, float), default (0, 0)
        Counts ``(before, after)`` in the buffer-control and buffer (displacement)
        areas. Leave at ``(0, 0)`` to ignore displacement.
    time_weights : (float, float), default (1, 1)
        Lengths of the ``(before, after)`` periods, in any one unit (e.g. months).
    area_weights : (float, float, float, float), default (1, 1, 1, 1)
        Sizes of the ``(control, treated, disp_control, disp_treated)`` areas.
    alpha : float, optional
        Level for the confidence interval; ``None`` uses ``settings.alpha`` (0.05).

    Returns
    -------
    WDDResult
        ``estimate`` (crimes; negative is a reduction), ``se``, ``z``, two-sided
        ``pvalue``, ``ci_low``/``ci_high``, and the local and displacement parts.

    Raises
    ------
    GeoInputError
        If a count pair is not two non-negative numbers, a weight is not positive,
        ``alpha`` is outside (0, 1) or every count is zero.

    References
    ----------
    Wheeler, A. P., & Ratcliffe, J. H. (2018). A simple weighted displacement difference
    test to evaluate place based crime interventions. *Crime Science*, 7(11).
    https://doi.org/10.1186/s40163-018-0085-5

    Wheeler, A. P. ``ptools`` R package, function ``wdd`` (the weights); blog posts
    "The WDD test with different pre/post time periods" (2021-01-09) and "... with
    different area sizes" (2021-02-23), andrewpwheeler.com.

    Examples
    --------
    The worked example of Wheeler & Ratcliffe (2018): WDD -118, SE sqrt(1568),
    Z -2.98, 95% CI (-196, -40).

    >>> res = wdd((308, 318), (207, 110), (150, 140), (178, 157), alpha=0.05)
    >>> res.estimate, res.se ** 2, round(res.z, 2)
    (-118.0, 1568.0, -2.98)
    >>> round(res.ci_low), round(res.ci_high)
    (-196, -40)
    >>> res.local_estimate, res.displacement_estimate
    (-107.0, -11.0)

    Two years before and one year after (Wheeler's blog example): -20 per year,
    SE sqrt(115).

    >>> r = wdd((100, 50), (80, 20), time_weights=(2, 1))
    >>> r.estimate, round(r.se ** 2, 9)
    (-20.0, 115.0)
    """
    a = check_alpha(alpha)
    local, var_local, disp, var_disp = _wdd_parts(
        control, treated, disp_control, disp_treated, time_weights, area_weights)
    est = local + disp
    se, z, p, lo, hi = _normal_summary(est, var_local + var_disp, a)
    return WDDResult(
        estimate=float(est), se=se, z=z, pvalue=p, ci_low=lo, ci_high=hi,
        local_estimate=float(local), local_se=math.sqrt(var_local),
        displacement_estimate=float(disp), displacement_se=math.sqrt(var_disp), alpha=a,
    )


@dataclass(frozen=True)
class WDDHarmResult:
    """Result of the harm-weighted combination of WDD tests (:func:`wdd_harm`).

    Attributes
    ----------
    estimate : float
        Sum over crime types of ``weight * WDD`` (harm units; negative is less harm).
    se : float
        ``sqrt(sum(weight**2 * se**2))``.
    z, pvalue, ci_low, ci_high : float
        As in :class:`WDDResult`.
    weights : tuple of float
        The harm weight of each crime type, in input order.
    per_type : tuple of WDDResult
        The unweighted WDD of each crime type, in input order.
    alpha : float
    """

    estimate: float
    se: float
    z: float
    pvalue: float
    ci_low: float
    ci_high: float
    weights: tuple[float, ...]
    per_type: tuple[WDDResult, ...]
    alpha: float


def _table(value, name: str, n: int | None) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise GeoInputError(f"`{name}` must be a table of numbers (one row per crime type)",
                            fix=f"pass `{name}` as rows of (before, after)") from err
    if arr.ndim != 2 or arr.shape[1] != 2 or (n is not None and arr.shape[0] != n):
        want = f"({n}, 2)" if n is not None else "(n_types, 2)"
        raise GeoInputError(
            f"`{name}` must have shape {want}: one (before, after) row per crime type, "
            f"got shape {arr.shape}",
            fix="give every table the same crime types in the same order, "
                "with two columns (before, after)",
        )
    return arr


def wdd_harm(
    control,
    treated,
    disp_control=None,
    disp_treated=None,
    *,
    weights: Sequence[float],
    time_weights: Sequence[float] = (1, 1),
    area_weights: Sequence[float] = (1, 1, 1, 1),
    alpha: float | None = None,
) -> WDDHarmResult:
    """Combine WDD tests for several crime types into one harm-weighted estimate.

    For each crime type ``j`` the WDD (:func:`wdd`, local plus displacement) is
    computed; the harm estimate is ``sum(w_j * WDD_j)`` with variance
    ``sum(w_j**2 * SE_j**2)`` (the crime types are independent Poisson counts). This is
    ``ptools::wdd_harm(est, se, weight)`` applied to the per-type ``wdd`` results.

    Parameters
    ----------
    control, treated : array-like, shape (n_types, 2)
        ``(before, after)`` counts per crime type; a DataFrame with two columns works.
    disp_control, disp_treated : array-like, shape (n_types, 2), optional
        Buffer-control and buffer counts; ``None`` means no displacement areas.
    weights : sequence of float, length n_types
        Harm weight of each crime type (e.g. Cambridge Crime Harm Index days).
        Weights may be any non-negative numbers.
    time_weights, area_weights
        As in :func:`wdd`, shared by all crime types.
    alpha : float, optional
        ``None`` uses ``settings.alpha``.

    Returns
    -------
    WDDHarmResult
        ``estimate`` in harm units (negative is less harm), ``se``, ``z``,
        ``pvalue``, confidence interval, and the per-type :class:`WDDResult`.

    Raises
    ------
    GeoInputError
        If the tables do not all have shape ``(n_types, 2)``, a count is negative, or
        ``weights`` is not ``n_types`` non-negative numbers.

    References
    ----------
    Wheeler, A. P. (2020-11-19). Amending the WDD test to incorporate harm weights.
    andrewpwheeler.com; ``ptools`` R package, function ``wdd_harm``.

    Examples
    --------
    Wheeler's example (motor vehicle theft, theft, burglary, robbery, assault with
    weights 3, 2, 5, 7, 10): harm estimate -1721, SE 304.1, 95% CI (-2317, -1125).

    >>> ctrl = [(133, 91), (388, 305), (148, 97), (86, 64), (94, 67)]
    >>> trt = [(130, 74), (327, 202), (398, 190), (144, 92), (183, 96)]
    >>> h = wdd_harm(ctrl, trt, weights=[3, 2, 5, 7, 10], alpha=0.05)
    >>> h.estimate, round(h.se, 4), round(h.ci_low), round(h.ci_high)
    (-1721.0, 304.1036, -2317, -1125)
    """
    a = check_alpha(alpha)
    c = _table(control, "control", None)
    n = c.shape[0]
    t = _table(treated, "treated", n)
    dc = np.zeros((n, 2)) if disp_control is None else _table(disp_control, "disp_control", n)
    dt = np.zeros((n, 2)) if disp_treated is None else _table(disp_treated, "disp_treated", n)
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError) as err:
        raise GeoInputError("`weights` must be numbers, one per crime type",
                            fix="pass one harm weight per row of the tables") from err
    if w.shape != (n,):
        raise GeoInputError(
            f"`weights` must have one value per crime type ({n}), got shape {w.shape}",
            fix="pass one harm weight per row of the tables, in the same order",
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise GeoInputError(f"`weights` must be non-negative numbers, got {w.tolist()}",
                            fix="use harm weights such as sentencing days (0 drops a type)")
    per_type = []
    est = 0.0
    var = 0.0
    for j in range(n):
        try:
            r = wdd(c[j], t[j], dc[j], dt[j], time_weights=time_weights,
                    area_weights=area_weights, alpha=a)
        except GeoInputError as err:
            raise GeoInputError(err.what, where=f"crime type in row {j}", fix=err.fix) from err
        per_type.append(r)
        est += w[j] * r.estimate
        var += w[j] ** 2 * r.se ** 2
    se, z, p, lo, hi = _normal_summary(est, var, a)
    return WDDHarmResult(estimate=float(est), se=se, z=z, pvalue=p, ci_low=lo, ci_high=hi,
                         weights=tuple(float(v) for v in w), per_type=tuple(per_type),
                         alpha=a)
