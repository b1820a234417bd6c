"""The Poisson E-test for a change in rate between two periods (Krishnamoorthy & Thomson 2004):
:func:`e_test`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from scipy import stats as _st

from ..errors import GeoInputError
from .checks import Alternative


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
