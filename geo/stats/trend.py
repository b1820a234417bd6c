"""Mann-Kendall trend test: :func:`mann_kendall` for one series and :func:`mann_kendall_rows`,
its vectorised core for many series.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

from ..errors import GeoInputError
from .checks import check_alpha


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
