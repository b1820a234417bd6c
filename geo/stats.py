"""Tests for place-based interventions and trends: WDD, WDQ, the Poisson E-test, Mann-Kendall.

Every test takes counts of crime (or calls, or harm-weighted counts) and returns a frozen
dataclass. Count pairs are always ``(before, after)``. Area names follow the papers:

``control``
    an area like the treated one that received no intervention;
``treated``
    the area that received the intervention (the "target" or "response" area);
``disp_treated``
    the buffer around the treated area, where crime may be displaced to (or where a
    diffusion of benefits may show);
``disp_control``
    a comparison area for the buffer (Wheeler & Ratcliffe 2018). The weighted
    displacement quotient of Bowers & Johnson (2003) uses ``control`` for the buffer
    too; pass ``disp_control=None`` to :func:`wdq` for that.

Negative WDD estimates are reductions in crime. Nothing here reads files or draws.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as _st

from .errors import GeoInputError
from .settings import settings

logger = logging.getLogger(__name__)

Counts = Sequence[float]
"""A ``(before, after)`` pair of non-negative counts."""

Alternative = Literal["two-sided", "greater", "less"]

__all__ = [
    "WDDResult", "WDDHarmResult", "WDQResult", "ETestResult", "MKResult",
    "wdd", "wdd_harm", "wdq", "e_test", "mann_kendall", "mann_kendall_rows",
    "gross_effect", "net_effect", "check_alpha", "holm",
]


# --------------------------------------------------------------------------- checks
def _pair(value, name: str, *, allow_zero_weight: bool = True) -> tuple[float, float]:
    """Return ``value`` as a ``(before, after)`` tuple of non-negative finite floats."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise GeoInputError(
            f"`{name}` must be two numbers (before, after), got {value!r}",
            fix=f"pass `{name}` as a pair such as (120, 95)",
        ) from err
    if arr.shape != (2,):
        raise GeoInputError(
            f"`{name}` must be two numbers (before, after), got shape {arr.shape}",
            fix=f"pass `{name}` as a pair such as (120, 95)",
        )
    if not np.all(np.isfinite(arr)):
        raise GeoInputError(
            f"`{name}` has a missing or infinite count: {tuple(arr.tolist())}",
            fix="fill the missing period with its count (0 if there were no crimes)",
        )
    if np.any(arr < 0):
        raise GeoInputError(
            f"`{name}` has a negative count: {tuple(arr.tolist())}",
            fix="counts of crime cannot be negative; check the before/after totals",
        )
    return float(arr[0]), float(arr[1])


def _weights(value, name: str, length: int) -> tuple[float, ...]:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise GeoInputError(f"`{name}` must be {length} positive numbers, got {value!r}",
                            fix=f"pass `{name}` as a tuple of {length} numbers") from err
    if arr.shape != (length,):
        raise GeoInputError(
            f"`{name}` must be {length} positive numbers, got shape {arr.shape}",
            fix=f"pass `{name}` as a tuple of {length} numbers",
        )
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise GeoInputError(
            f"`{name}` must be positive, got {tuple(arr.tolist())}",
            fix="weights are lengths of time or sizes of area; use e.g. months or km²",
        )
    return tuple(float(v) for v in arr)


def check_alpha(alpha: float | None) -> float:
    """`alpha`, or ``settings.alpha`` if ``None``; raises unless 0 < alpha < 1."""
    a = settings.alpha if alpha is None else alpha
    if not 0 < a < 1:
        raise GeoInputError(f"`alpha` must be between 0 and 1, got {a}",
                            fix="use a significance level such as 0.05 or 0.10")
    return float(a)


# --------------------------------------------------------------------------- multiple testing
def holm(p) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values (family-wise error rate).

    The false-discovery-rate correction (Benjamini & Hochberg) is
    :func:`geo.hotspots.fdr_bh`.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    Scandinavian Journal of Statistics 6(2), 65-70.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    adj = np.maximum.accumulate(np.minimum((m - np.arange(m)) * p[order], 1.0))
    out = np.empty(m)
    out[order] = adj
    return out


# --------------------------------------------------------------------------- WDD
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
    c0, c1 = _pair(control, "control")
    t0, t1 = _pair(treated, "treated")
    dc0, dc1 = _pair(disp_control, "disp_control")
    dt0, dt1 = _pair(disp_treated, "disp_treated")
    w_pre, w_post = _weights(time_weights, "time_weights", 2)
    a_c, a_t, a_dc, a_dt = _weights(area_weights, "area_weights", 4)
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
    p = float(2 * _st.norm.sf(abs(z)))
    q = float(_st.norm.ppf(1 - alpha / 2))
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


# --------------------------------------------------------------------------- WDQ
@dataclass(frozen=True)
class WDQResult:
    """Result of the weighted displacement quotient (:func:`wdq`).

    Attributes
    ----------
    success_measure : float
        ``A1/C1 - A0/C0``: the change in the treated area relative to the control.
        Negative means the intervention "worked" in the treated area.
    buffer_displacement_measure : float
        ``B1/C1 - B0/C0`` (``C`` is the buffer's control). Positive suggests
        displacement into the buffer, negative a diffusion of benefits.
    wdq : float
        ``buffer_displacement_measure / success_measure``; ``nan`` when the success
        measure is 0.
    total_net_effect : float
        ``[A0 * C1/C0 - A1] + [B0 * C1/C0 - B1]``: crimes prevented in the treated
        area plus those prevented (or, if negative, displaced) in the buffer, compared
        with what the control trend predicts. Positive is good.
    gross_effect : float
        ``A0 - A1`` (Guerette 2009): the raw fall in the treated area.
    net_effect : float
        ``A0/C0 - A1/C1`` (Guerette 2009): the fall relative to the control.
    interpretation : str
        Plain-language reading of ``wdq`` using Bowers & Johnson's thresholds.
    interpretable : bool
        ``False`` when there was no success in the treated area
        (``success_measure >= 0``), in which case ``wdq`` should not be read.
    """

    success_measure: float
    buffer_displacement_measure: float
    wdq: float
    total_net_effect: float
    gross_effect: float
    net_effect: float
    interpretation: str
    interpretable: bool


def _wdq_reading(sm: float, q: float) -> tuple[str, bool]:
    if not sm < 0 or not math.isfinite(q):
        return ("not interpretable: crime did not fall in the treated area relative to "
                "the control, so there is no effect to displace", False)
    if q > 1:
        return ("diffusion of benefits greater than the direct effect: crime fell in the "
                "buffer by more than in the treated area", True)
    if q > 0:
        return ("diffusion of benefits: crime also fell in the buffer, by less than the "
                "direct effect", True)
    if q == 0:
        return "no displacement and no diffusion of benefits in the buffer", True
    if q >= -1:
        return ("some displacement, but less than the direct effect: the intervention "
                "still prevented crime overall", True)
    return ("displacement greater than the direct effect: the scheme was "
            "counter-productive (backfire)", True)


def wdq(
    control: Counts,
    treated: Counts,
    disp_control: Counts | None = None,
    disp_treated: Counts | None = None,
) -> WDQResult:
    """Compute the weighted displacement quotient (WDQ) and total net effect.

    With ``A`` the treated ("target") area, ``B`` the buffer (``disp_treated``) and
    ``C`` the control area, ``0`` before and ``1`` after (Bowers & Johnson 2003,
    notation of Guerette 2009):

    * success measure ``SM = A1/C1 - A0/C0`` (negative: the scheme worked);
    * buffer displacement measure ``BDM = B1/C1 - B0/C0``;
    * ``WDQ = BDM / SM``;
    * total net effect ``TNE = [A0*(C1/C0) - A1] + [B0*(C1/C0) - B1]``.

    Reading of the WDQ (Bowers & Johnson 2003, Table 1), only when ``SM < 0``:
    ``WDQ > 1`` diffusion of benefits greater than the direct effect;
    ``0 < WDQ <= 1`` diffusion of benefits; ``WDQ = 0`` no effect in the buffer;
    ``-1 <= WDQ < 0`` some displacement, but less than the direct effect;
    ``WDQ < -1`` displacement greater than the direct effect (backfire).
    When ``SM >= 0`` there was no success to displace and the result is marked
    ``interpretable=False``. The WDQ has no standard error; use :func:`wdd` for a test.

    Parameters
    ----------
    control, treated : (float, float)
        ``(before, after)`` counts in the control and treated areas.
    disp_control : (float, float), optional
        A separate control for the buffer (as in :func:`wdd`). ``None`` (Bowers &
        Johnson's design) uses ``control`` for the buffer too.
    disp_treated : (float, float)
        ``(before, after)`` counts in the buffer. Required.

    Returns
    -------
    WDQResult
        Ratios are unitless; ``total_net_effect`` and ``gross_effect`` are crimes.

    Raises
    ------
    GeoInputError
        If ``disp_treated`` is missing, a count is negative, or a control count is 0
        (the ratios are then undefined).

    References
    ----------
    Bowers, K. J., & Johnson, S. D. (2003). Measuring the geographical displacement and
    diffusion of benefit effects of crime prevention activity. *Journal of Quantitative
    Criminology*, 19(3), 275-301.

    Guerette, R. T. (2009). *Analyzing crime displacement and diffusion*. Problem-Oriented
    Guides for Police, Problem-Solving Tools Series No. 10, Appendix B. Center for
    Problem-Oriented Policing.

    Examples
    --------
    Crime halves in the target (100 to 50) and the same 50 crimes appear in the
    buffer (100 to 150) while the control is flat: WDQ = -1, all of the effect was
    displaced and the total net effect is zero.

    >>> r = wdq((100, 100), (100, 50), disp_treated=(100, 150))
    >>> r.success_measure, r.buffer_displacement_measure, r.wdq, r.total_net_effect
    (-0.5, 0.5, -1.0, 0.0)
    """
    if disp_treated is None:
        raise GeoInputError(
            "The WDQ needs counts for the buffer around the treated area",
            fix="pass disp_treated=(before, after) for the buffer area",
        )
    c0, c1 = _pair(control, "control")
    a0, a1 = _pair(treated, "treated")
    b0, b1 = _pair(disp_treated, "disp_treated")
    if disp_control is None:
        bc0, bc1 = c0, c1
    else:
        bc0, bc1 = _pair(disp_control, "disp_control")
    for name, (x0, x1) in (("control", (c0, c1)), ("disp_control", (bc0, bc1))):
        if x0 == 0 or x1 == 0:
            raise GeoInputError(
                f"The WDQ divides by the `{name}` counts, and one of them is 0: "
                f"({x0:g}, {x1:g})",
                fix="choose a larger control area or longer periods so that it has "
                    "crimes both before and after, or use wdd() instead",
            )
    sm = a1 / c1 - a0 / c0
    bdm = b1 / bc1 - b0 / bc0
    q = bdm / sm if sm != 0 else float("nan")
    tne = (a0 * c1 / c0 - a1) + (b0 * bc1 / bc0 - b1)
    text, ok = _wdq_reading(sm, q)
    return WDQResult(
        success_measure=float(sm), buffer_displacement_measure=float(bdm), wdq=float(q),
        total_net_effect=float(tne), gross_effect=gross_effect(treated),
        net_effect=net_effect(control, treated), interpretation=text, interpretable=ok,
    )


def gross_effect(treated: Counts) -> float:
    """Gross effect ``GE = A0 - A1``: the raw fall in crime in the treated area.

    Parameters
    ----------
    treated : (float, float)
        ``(before, after)`` counts in the treated area.

    Returns
    -------
    float
        Crimes; positive means crime fell.

    References
    ----------
    Guerette, R. T. (2009). *Analyzing crime displacement and diffusion*, Appendix B, eq. 1.

    Examples
    --------
    >>> gross_effect((207, 110))
    97.0
    """
    a0, a1 = _pair(treated, "treated")
    return a0 - a1


def net_effect(control: Counts, treated: Counts) -> float:
    """Net effect ``NE = A0/C0 - A1/C1``: the fall in the treated area relative to control.

    Parameters
    ----------
    control, treated : (float, float)
        ``(before, after)`` counts.

    Returns
    -------
    float
        Unitless; positive means the treated area improved relative to the control.
        Equal to ``-success_measure`` of :func:`wdq`.

    Raises
    ------
    GeoInputError
        If a control count is 0.

    References
    ----------
    Guerette, R. T. (2009). *Analyzing crime displacement and diffusion*, Appendix B, eq. 2.

    Examples
    --------
    >>> net_effect((100, 100), (100, 50))
    0.5
    """
    c0, c1 = _pair(control, "control")
    a0, a1 = _pair(treated, "treated")
    if c0 == 0 or c1 == 0:
        raise GeoInputError(
            f"The net effect divides by the control counts, and one is 0: ({c0:g}, {c1:g})",
            fix="choose a larger control area or longer periods",
        )
    return a0 / c0 - a1 / c1


# --------------------------------------------------------------------------- E-test
@dataclass(frozen=True)
class ETestResult:
    """Result of the Poisson E-test (:func:`e_test`).

    Attributes
    ----------
    pvalue : float
        E-test p-value.
    statistic : float
        Observed standardised difference ``T(k1, k2)``.
    rate1, rate2 : float
        ``k1/n1`` and ``k2/n2``.
    d : float
        Difference under the null, ``rate1 = rate2 + d``.
    alternative : str
    """

    pvalue: float
    statistic: float
    rate1: float
    rate2: float
    d: float
    alternative: str


def e_test(
    k1: float,
    k2: float,
    n1: float = 1,
    n2: float = 1,
    d: float = 0,
    *,
    alternative: Alternative = "two-sided",
) -> ETestResult:
    """Test whether two Poisson rates differ with the E-test, exact for small counts.

    The null hypothesis is ``k1/n1 = k2/n2 + d``. Under it the second rate is
    estimated as ``lambda_hat = (k1 + k2)/(n1 + n2) - d*n1/(n1 + n2)``, and the
    p-value is the probability, with ``X1 ~ Poisson(n1*(lambda_hat + d))`` and
    ``X2 ~ Poisson(n2*lambda_hat)``, that the standardised difference
    ``T(X1, X2) = (X1/n1 - X2/n2 - d) / sqrt(X1/n1**2 + X2/n2**2)`` is at least as
    extreme as the observed ``T(k1, k2)`` (Krishnamoorthy & Thomson 2004, eqs. 3.2-3.5).
    The double sum is computed by :func:`scipy.stats.poisson_means_test`; when
    ``d = 0`` the pair ``(0, 0)``, where ``T`` is 0/0, is left out of the sum (as in
    ptools), so a two-sided p-value for equal rates is just under 1. When ``lambda_hat <= 0`` the null cannot be rejected and the p-value is 1
    (paper, p. 26).

    For ``n1 = n2`` and ``d = 0`` the p-values equal those of ``ptools::e_test``;
    with unequal exposures ptools uses a pooled variance and can differ.

    Parameters
    ----------
    k1, k2 : float
        Observed counts (e.g. crimes after and before, or in two areas).
    n1, n2 : float, default 1
        Exposure of each count (length of period, size of area, ...).
    d : float, default 0
        Difference in rates under the null.
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        ``"greater"``: rate 1 exceeds rate 2 + d; ``"less"``: it is below.

    Returns
    -------
    ETestResult
        ``pvalue`` in [0, 1], the observed ``statistic`` and the two rates.

    Raises
    ------
    GeoInputError
        If both counts are 0 (the test is undefined), a count is negative, an exposure
        is not positive, or ``alternative`` is unknown.

    References
    ----------
    Krishnamoorthy, K., & Thomson, J. (2004). A more powerful test for comparing two
    Poisson means. *Journal of Statistical Planning and Inference*, 119(1), 23-35.

    Wheeler, A. P. ``ptools`` R package, ``e_test``; ``crimepy.wdd.etest``.

    Examples
    --------
    The two examples of Krishnamoorthy & Thomson (2004), as reproduced by ptools
    (two-sided):

    >>> round(e_test(3, 0).pvalue, 4)
    0.0884
    >>> round(e_test(6, 2).pvalue, 4)
    0.1749
    """
    if alternative not in ("two-sided", "greater", "less"):
        raise GeoInputError(f"`alternative` must be 'two-sided', 'greater' or 'less', "
                            f"got {alternative!r}", fix="use alternative='two-sided'")
    vals = {}
    for name, v in (("k1", k1), ("k2", k2), ("n1", n1), ("n2", n2), ("d", d)):
        try:
            vals[name] = float(v)
        except (TypeError, ValueError) as err:
            raise GeoInputError(f"`{name}` must be a number, got {v!r}",
                                fix=f"pass `{name}` as a single number") from err
        if not math.isfinite(vals[name]):
            raise GeoInputError(f"`{name}` must be finite, got {v!r}",
                                fix=f"pass `{name}` as a finite number")
    k1, k2, n1, n2, d = (vals[k] for k in ("k1", "k2", "n1", "n2", "d"))
    if k1 < 0 or k2 < 0:
        raise GeoInputError(f"Counts must be non-negative, got k1={k1:g}, k2={k2:g}",
                            fix="pass the number of crimes in each period or area")
    if n1 <= 0 or n2 <= 0:
        raise GeoInputError(f"Exposures must be positive, got n1={n1:g}, n2={n2:g}",
                            fix="pass the length of each period (or size of each area)")
    if k1 == 0 and k2 == 0:
        raise GeoInputError("The E-test is undefined when both counts are 0",
                            fix="there is nothing to compare; use longer periods or "
                                "a larger area")
    t_obs = (k1 / n1 - k2 / n2 - d) / math.sqrt(k1 / n1 ** 2 + k2 / n2 ** 2)
    lam = (k1 + k2) / (n1 + n2) - d * n1 / (n1 + n2)
    if lam <= 0 or lam + d <= 0:
        p = 1.0
    else:
        p = float(_st.poisson_means_test(k1, n1, k2, n2, diff=d,
                                         alternative=alternative).pvalue)
    return ETestResult(pvalue=min(max(p, 0.0), 1.0), statistic=float(t_obs),
                       rate1=k1 / n1, rate2=k2 / n2, d=d, alternative=alternative)


# --------------------------------------------------------------------------- Mann-Kendall
@dataclass(frozen=True)
class MKResult:
    """Result of the Mann-Kendall trend test (:func:`mann_kendall`).

    Attributes
    ----------
    s : float
        Kendall's S: number of increasing pairs minus decreasing pairs.
    var_s : float
        Variance of S under no trend, corrected for ties.
    z : float
        Normal score with continuity correction, ``(S - sign(S)) / sqrt(var_s)``.
    pvalue : float
        Two-sided p-value.
    tau : float
        Kendall's tau-b between the series and time (``nan`` if the series is flat).
    trend : str
        ``"increasing"``, ``"decreasing"`` or ``"no trend"`` at ``alpha``.
    n : int
        Length of the series.
    alpha : float
    """

    s: float
    var_s: float
    z: float
    pvalue: float
    tau: float
    trend: str
    n: int
    alpha: float


def _mk_arrays(x: np.ndarray):
    """Mann-Kendall S, var(S), z, p and tau-b for each row of ``x`` (rows x time)."""
    x = np.asarray(x, dtype=float)
    m, n = x.shape
    s = np.zeros(m)
    for k in range(1, n):
        s += np.sign(x[:, k:] - x[:, :-k]).sum(axis=1)
    # tie groups in each row: sum of t(t-1)(2t+5) and of t(t-1)/2
    xs = np.sort(x, axis=1)
    tie_var = np.zeros(m)
    tie_pairs = np.zeros(m)
    run = np.ones(m)
    for k in range(1, n + 1):
        same = (xs[:, k] == xs[:, k - 1]) if k < n else np.zeros(m, dtype=bool)
        ended = ~same
        t = np.where(ended, run, 0.0)
        tie_var += t * (t - 1) * (2 * t + 5)
        tie_pairs += t * (t - 1) / 2
        run = np.where(same, run + 1, 1.0)
    var = (n * (n - 1) * (2 * n + 5) - tie_var) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(var)
        z = np.where(var > 0, (s - np.sign(s)) / np.where(var > 0, sd, 1.0), 0.0)
        n0 = n * (n - 1) / 2
        denom = np.sqrt((n0 - tie_pairs) * n0)
        tau = np.where(denom > 0, s / np.where(denom > 0, denom, 1.0), np.nan)
    p = 2 * _st.norm.sf(np.abs(z))
    return s, var, z, p, tau


def mann_kendall_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mann-Kendall trend statistics for many series at once (one per row), without checks.

    The vectorised core of :func:`mann_kendall`, for callers that test thousands of
    cells or sites (emerging hot spots, site trends) and have already checked their input.

    Parameters
    ----------
    x : numpy.ndarray
        Rows are locations, columns periods in time order; finite values, at least 3 columns.

    Returns
    -------
    tuple of numpy.ndarray
        ``(s, var_s, z, pvalue, tau)`` per row: S, its variance with the tie correction,
        the continuity-corrected z, the two-sided p-value and Kendall's tau-b.

    References
    ----------
    Mann (1945), Econometrica 13(3); Kendall (1975), Rank Correlation Methods.

    Examples
    --------
    The series of :func:`mann_kendall`'s example (S = 8, var(S) = 16.67, z = 1.71,
    p = 0.086) and a flat one (no trend):

    >>> s, var_s, z, p, tau = mann_kendall_rows(np.array([[1, 2, 4, 3, 5], [3, 3, 3, 3, 3]]))
    >>> s.tolist(), var_s.round(2).tolist(), z.round(2).tolist(), p.round(3).tolist()
    ([8.0, 0.0], [16.67, 0.0], [1.71, 0.0], [0.086, 1.0])
    """
    return _mk_arrays(x)


def _check_series(values, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise GeoInputError(f"`{name}` must be numbers", fix="pass a list or array of counts "
                            "or scores in time order") from err
    return arr


def mann_kendall(series: Sequence[float], *, alpha: float | None = None) -> MKResult:
    """Test a series for a monotonic trend over time with the Mann-Kendall test.

    ``S = sum_{i<j} sign(x_j - x_i)``; under no trend ``E[S] = 0`` and
    ``var(S) = [n(n-1)(2n+5) - sum_t t(t-1)(2t+5)] / 18``, summing over groups of ``t``
    tied values. ``z = (S - 1)/sqrt(var S)`` if ``S > 0``, ``(S + 1)/sqrt(var S)`` if
    ``S < 0`` and 0 otherwise; the p-value is two-sided normal. ``tau`` is Kendall's
    tau-b between the series and its time index (as ``scipy.stats.kendalltau``).

    Parameters
    ----------
    series : sequence of float
        Values in time order, at least 3, no missing values.
    alpha : float, optional
        Level for ``trend``; ``None`` uses ``settings.alpha``.

    Returns
    -------
    MKResult
        ``s``, ``var_s``, ``z``, ``pvalue``, ``tau``, ``trend``.

    Raises
    ------
    GeoInputError
        If the series is not one-dimensional, has fewer than 3 values, or has a
        missing value.

    References
    ----------
    Mann, H. B. (1945). Nonparametric tests against trend. *Econometrica*, 13, 245-259.

    Kendall, M. G. (1975). *Rank Correlation Methods*, 4th ed. Griffin.

    Hipel, K. W., & McLeod, A. I. (1994). *Time Series Modelling of Water Resources
    and Environmental Systems*, section 23.3 (the tie correction).

    Examples
    --------
    Five values rising but for one pair: S = 9 - 1 = 8, var(S) = 5*4*15/18,
    z = 7/sqrt(16.67) = 1.71, p = 0.086.

    >>> r = mann_kendall([1, 2, 4, 3, 5], alpha=0.10)
    >>> r.s, round(r.var_s, 2), round(r.z, 2), round(r.pvalue, 3), r.trend
    (8.0, 16.67, 1.71, 0.086, 'increasing')
    """
    a = check_alpha(alpha)
    x = _check_series(series, "series")
    if x.ndim != 1:
        raise GeoInputError(f"`series` must be one-dimensional, got shape {x.shape}",
                            fix="pass one location's values in time order")
    if x.size < 3:
        raise GeoInputError(f"The Mann-Kendall test needs at least 3 values, got {x.size}",
                            fix="use more (shorter) time periods")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise GeoInputError(f"`series` has a missing value at position {bad[0]}",
                            where=f"period {bad[0]}",
                            fix="fill periods with no crime with 0 before testing")
    s, var, z, p, tau = (float(v[0]) for v in _mk_arrays(x[None, :]))
    trend = "no trend"
    if p < a:
        trend = "increasing" if s > 0 else "decreasing"
    return MKResult(s=s, var_s=var, z=z, pvalue=p, tau=tau, trend=trend, n=int(x.size),
                    alpha=a)
