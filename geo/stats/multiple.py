"""Multiple-testing corrections, all in one place: :func:`holm` (family-wise error rate) and
:func:`fdr_bh` (Benjamini-Hochberg false discovery rate, scipy's
``false_discovery_control``).
"""
from __future__ import annotations

import numpy as np

from ..errors import GeoInputError


def holm(p) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values (family-wise error rate).

    The false-discovery-rate correction (Benjamini & Hochberg) is :func:`fdr_bh`.
    (scipy has no Holm correction, so this is written here.)

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


def fdr_bh(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate).

    ``p_adj[(i)] = min_{j >= i} min(1, m p_(j) / j)`` over the ascending order ``(i)``,
    computed by ``scipy.stats.false_discovery_control(p, method="bh")`` over all the
    p-values together (whatever the shape). Reject where ``p_adj <= alpha`` to control
    the FDR at ``alpha``.

    Parameters
    ----------
    p : array_like
        P-values in [0, 1], any shape.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same shape as ``p``.

    Raises
    ------
    GeoInputError
        If any p-value is missing or outside [0, 1].

    References
    ----------
    Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate: a
    practical and powerful approach to multiple testing. JRSS B 57(1), 289-300.

    Examples
    --------
    >>> fdr_bh([0.01, 0.04, 0.03, 0.20]).round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.2]
    """
    from scipy.stats import false_discovery_control

    p = np.asarray(p, dtype=float)
    flat = p.ravel()
    bad = ~((flat >= 0) & (flat <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise GeoInputError(f"p-values must lie in [0, 1], found {flat[i]}",
                            where=f"position {i}", fix="pass p-values, not z-scores")
    if flat.size == 0:
        return p.copy()
    return np.asarray(false_discovery_control(flat, method="bh"), dtype=float).reshape(p.shape)
