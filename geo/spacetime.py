"""Classify cells by how their hot-spot status changes over time.

Two classifications of a space-time cube of Gi* results (``n_cells`` rows by
``n_periods`` columns, oldest period first), both computed elsewhere (``geo.hotspots``):

* :func:`emerging_classes` / :func:`emerging_table`: the sixteen patterns of esri's
  Emerging Hot Spot Analysis (new, consecutive, intensifying, persistent, diminishing,
  sporadic, oscillating and historical hot and cold spots) plus "No Pattern Detected";
* :func:`simple_classes`: five plain categories for briefings (persistent, emerging,
  former, intermittent, never), after ``sfhotspot::hotspot_classify``.

Nothing here computes Gi*, reads files or draws.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .errors import GeoInputError
from .settings import settings
from .stats import mann_kendall_rows

logger = logging.getLogger(__name__)

__all__ = ["EHSA_PATTERNS", "SIMPLE_CLASSES", "emerging_classes", "emerging_table",
           "simple_classes"]

#: esri's pattern names, hot then cold, then the fall-back.
EHSA_PATTERNS: tuple[str, ...] = (
    "New Hot Spot", "Consecutive Hot Spot", "Intensifying Hot Spot", "Persistent Hot Spot",
    "Diminishing Hot Spot", "Sporadic Hot Spot", "Oscillating Hot Spot",
    "Historical Hot Spot",
    "New Cold Spot", "Consecutive Cold Spot", "Intensifying Cold Spot",
    "Persistent Cold Spot", "Diminishing Cold Spot", "Sporadic Cold Spot",
    "Oscillating Cold Spot", "Historical Cold Spot",
    "No Pattern Detected",
)

#: Categories of :func:`simple_classes`.
SIMPLE_CLASSES: tuple[str, ...] = ("persistent", "emerging", "former", "intermittent", "never")

#: Share of periods that makes a location "mostly" hot (esri's ninety percent).
_MOSTLY = 0.9
#: esri requires at least ten time steps for Emerging Hot Spot Analysis.
_MIN_PERIODS_ESRI = 10


def _cube(values, name: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise GeoInputError(f"`{name}` must be a numeric table of cells by periods",
                            fix=f"pass `{name}` as an array of shape (n_cells, n_periods)") from err
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise GeoInputError(
            f"`{name}` must have shape (n_cells, n_periods), got shape {arr.shape}",
            fix="put one row per cell and one column per period, oldest period first",
        )
    if shape is not None and arr.shape != shape:
        raise GeoInputError(
            f"`{name}` has shape {arr.shape} but `z` has shape {shape}",
            fix="compute every table over the same cells and periods, in the same order",
        )
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        i, j = bad[0]
        raise GeoInputError(
            f"`{name}` has a missing value", where=f"cell row {i}, period column {j}",
            fix="fill cells with no crime with 0 counts before computing Gi*",
        )
    return arr


def _wrap(values: np.ndarray, like, name: str):
    """Return a Series indexed like ``like`` when it is a DataFrame, else the array."""
    if isinstance(like, pd.DataFrame):
        return pd.Series(values, index=like.index, name=name)
    return values


def emerging_table(
    z,
    p,
    *,
    alpha: float | None = None,
    trend_values=None,
) -> pd.DataFrame:
    """Classify each cell into an Emerging Hot Spot Analysis pattern, with the evidence.

    A bin (cell x period) is a *hot spot* when its Gi* p-value is below ``alpha`` and
    its z-score is positive, a *cold spot* when the p-value is below ``alpha`` and the
    z-score negative. The *trend* of a cell is the Mann-Kendall test
    (:func:`geo.stats.mann_kendall`) on its series of ``trend_values`` (by default the
    Gi* z-scores, "the intensity of clustering"), significant when its p-value is below
    ``alpha``. "90%" means a share of periods ``>= 0.9``. The rules are esri's (quoted
    from the ArcGIS Pro "How Emerging Hot Spot Analysis works" page); where the text
    leaves overlaps the choice made here is stated in brackets.

    New Hot Spot
        "A location that is a statistically significant hot spot for the final time step
        and has never been a statistically significant hot spot before." [and never a
        cold spot before; otherwise Oscillating.]
    Consecutive Hot Spot
        "A location with a single uninterrupted run of at least two statistically
        significant hot spot bins in the final time-step intervals. The location has
        never been a statistically significant hot spot prior to the final hot spot run
        and less than 90 percent of all bins are statistically significant hot spots."
        [and never a cold spot; otherwise Oscillating.]
    Intensifying Hot Spot
        "A location that has been a statistically significant hot spot for 90 percent
        of the time-step intervals, including the final time step. In addition, the
        intensity of clustering of high counts in each time step is increasing overall
        and that increase is statistically significant." (significant upward trend)
    Persistent Hot Spot
        "A location that has been a statistically significant hot spot for 90 percent
        of the time-step intervals with no discernible trend indicating an increase or
        decrease in the intensity of clustering over time." [including the final time
        step; otherwise Historical.]
    Diminishing Hot Spot
        As Intensifying, but the intensity "is decreasing overall and that decrease is
        statistically significant" (significant downward trend).
    Sporadic Hot Spot
        "A statistically significant hot spot for the final time-step interval with a
        history of also being an on-again and off-again hot spot. Less than 90 percent
        of the time-step intervals have been statistically significant hot spots and
        none of the time-step intervals have been statistically significant cold
        spots." (current wording; ArcGIS Pro 2.x did not require the final step.) [Hot
        before the final run of hot bins, i.e. not New or Consecutive.]
    Oscillating Hot Spot
        "A statistically significant hot spot for the final time-step interval that has
        a history of also being a statistically significant cold spot during a prior
        time step. Less than 90 percent of the time-step intervals have been
        statistically significant hot spots."
    Historical Hot Spot
        "The most recent time period is not hot, but at least 90 percent of the
        time-step intervals have been statistically significant hot spots."

    The cold patterns mirror these with hot and cold swapped; an *intensifying* cold
    spot has a significant *downward* trend (clustering of low values grows stronger)
    and a *diminishing* cold spot a significant upward trend. Any other cell is
    "No Pattern Detected" (e.g. never significant, or hot only in the middle periods).

    Order of precedence [not given by esri]: the patterns that need a significant final
    period (all but Historical) are tested first, so a cell both cold in the final
    period and hot in 90% of periods is an Oscillating Cold Spot, not a Historical Hot
    Spot. Hot and cold final-period patterns cannot overlap.

    Parameters
    ----------
    z : array-like, shape (n_cells, n_periods)
        Gi* z-scores, oldest period first. A DataFrame keeps its index in the output.
    p : array-like, shape (n_cells, n_periods)
        Gi* p-values (two-sided; already corrected for multiple testing, e.g. FDR, if
        wanted).
    alpha : float, optional
        Significance level for bins and trends. ``None`` uses ``settings.ehsa_alpha`` if
        defined, else 0.10 (esri's 90% confidence default).
    trend_values : array-like, shape (n_cells, n_periods), optional
        Series to test for trend. ``None`` uses ``z``; pass the counts to test the
        trend in the cube values instead.

    Returns
    -------
    pandas.DataFrame
        One row per cell (index from ``z`` if it is a DataFrame) with columns
        ``pattern`` (one of :data:`EHSA_PATTERNS`), ``n_hot`` and ``n_cold`` (numbers of
        significant periods), ``final`` ("hot", "cold" or "not significant"),
        ``trend_tau``, ``trend_z`` and ``trend_pvalue`` (Mann-Kendall).

    Raises
    ------
    GeoInputError
        If the tables are not two-dimensional with the same shape, have a missing
        value, a p-value outside [0, 1], or fewer than 3 periods.

    References
    ----------
    esri. How Emerging Hot Spot Analysis works. ArcGIS Pro tool reference, Space Time
    Pattern Mining toolbox (learnmoreemerging.htm), versions 2.8 and 3.x.

    Parry, J. ``sfdep`` R package, ``emerging_hotspot_analysis`` (an open
    implementation of the same rules).

    Examples
    --------
    Ten periods; the first cell is hot only in the last period, the second in all ten
    with a rising z-score, the third never significant.

    >>> import numpy as np
    >>> z = np.array([[0.0] * 9 + [3.0], np.linspace(2, 5, 10), [0.0] * 10])
    >>> p = np.where(np.abs(z) > 1.645, 0.01, 0.5)
    >>> emerging_table(z, p)["pattern"].tolist()
    ['New Hot Spot', 'Intensifying Hot Spot', 'No Pattern Detected']
    """
    a = getattr(settings, "ehsa_alpha", 0.10) if alpha is None else float(alpha)
    if not 0 < a < 1:
        raise GeoInputError(f"`alpha` must be between 0 and 1, got {a}",
                            fix="use 0.10 (esri's default) or 0.05")
    zz = _cube(z, "z")
    pp = _cube(p, "p", zz.shape)
    if np.any((pp < 0) | (pp > 1)):
        i, j = np.argwhere((pp < 0) | (pp > 1))[0]
        raise GeoInputError(f"`p` has a value outside [0, 1]: {pp[i, j]:g}",
                            where=f"cell row {i}, period column {j}",
                            fix="pass p-values, not z-scores, as `p`")
    tv = zz if trend_values is None else _cube(trend_values, "trend_values", zz.shape)
    n_cells, n = zz.shape
    if n < 3:
        raise GeoInputError(f"Emerging hot spot analysis needs at least 3 periods, got {n}",
                            fix="use shorter periods (e.g. months rather than years)")
    if n < _MIN_PERIODS_ESRI:
        logger.warning("only %d periods: esri requires at least %d for emerging hot spot "
                       "analysis, and below 10 '90%% of periods' means every period",
                       n, _MIN_PERIODS_ESRI)

    sig = pp < a
    hot = sig & (zz > 0)
    cold = sig & (zz < 0)
    n_hot = hot.sum(axis=1)
    n_cold = cold.sum(axis=1)
    final_hot = hot[:, -1]
    final_cold = cold[:, -1]
    run_hot = np.cumprod(hot[:, ::-1], axis=1).sum(axis=1)    # length of final hot run
    run_cold = np.cumprod(cold[:, ::-1], axis=1).sum(axis=1)
    mostly_hot = n_hot >= _MOSTLY * n
    mostly_cold = n_cold >= _MOSTLY * n

    s, _, tz, tp, tau = mann_kendall_rows(tv)
    up = (tp < a) & (s > 0)
    down = (tp < a) & (s < 0)
    flat = ~up & ~down

    pattern = np.full(n_cells, "No Pattern Detected", dtype=object)
    rules = [
        # final period hot
        ("Intensifying Hot Spot", final_hot & mostly_hot & up),
        ("Diminishing Hot Spot", final_hot & mostly_hot & down),
        ("Persistent Hot Spot", final_hot & mostly_hot & flat),
        ("New Hot Spot", final_hot & ~mostly_hot & (n_hot == 1) & (n_cold == 0)),
        ("Consecutive Hot Spot", final_hot & ~mostly_hot & (run_hot >= 2)
         & (n_hot == run_hot) & (n_cold == 0)),
        ("Oscillating Hot Spot", final_hot & ~mostly_hot & (n_cold > 0)),
        ("Sporadic Hot Spot", final_hot & ~mostly_hot & (n_cold == 0) & (n_hot > run_hot)),
        # final period cold
        ("Intensifying Cold Spot", final_cold & mostly_cold & down),
        ("Diminishing Cold Spot", final_cold & mostly_cold & up),
        ("Persistent Cold Spot", final_cold & mostly_cold & flat),
        ("New Cold Spot", final_cold & ~mostly_cold & (n_cold == 1) & (n_hot == 0)),
        ("Consecutive Cold Spot", final_cold & ~mostly_cold & (run_cold >= 2)
         & (n_cold == run_cold) & (n_hot == 0)),
        ("Oscillating Cold Spot", final_cold & ~mostly_cold & (n_hot > 0)),
        ("Sporadic Cold Spot", final_cold & ~mostly_cold & (n_hot == 0) & (n_cold > run_cold)),
        # final period not the same kind
        ("Historical Hot Spot", ~final_hot & mostly_hot),
        ("Historical Cold Spot", ~final_cold & mostly_cold),
    ]
    done = np.zeros(n_cells, dtype=bool)
    for name, mask in rules:
        take = mask & ~done
        pattern[take] = name
        done |= take

    final = np.where(final_hot, "hot", np.where(final_cold, "cold", "not significant"))
    out = pd.DataFrame({
        "pattern": pattern.astype(str), "n_hot": n_hot.astype(int),
        "n_cold": n_cold.astype(int), "final": final,
        "trend_tau": tau, "trend_z": tz, "trend_pvalue": tp,
    })
    if isinstance(z, pd.DataFrame):
        out.index = z.index
    return out


def emerging_classes(z, p, *, alpha: float | None = None, trend_values=None):
    """Return the Emerging Hot Spot Analysis pattern of each cell.

    The rules are those of :func:`emerging_table` (esri's sixteen patterns and
    "No Pattern Detected"); this returns only the ``pattern`` column.

    Parameters
    ----------
    z, p : array-like, shape (n_cells, n_periods)
        Gi* z-scores and p-values, oldest period first.
    alpha : float, optional
        Significance for bins and trends; ``None`` uses 0.10 (esri's default).
    trend_values : array-like, optional
        Series tested for trend; ``None`` uses ``z``.

    Returns
    -------
    numpy.ndarray of str, shape (n_cells,)
        Or a ``pandas.Series`` with the index of ``z`` when ``z`` is a DataFrame.

    Raises
    ------
    GeoInputError
        As :func:`emerging_table`.

    References
    ----------
    esri. How Emerging Hot Spot Analysis works. ArcGIS Pro tool reference.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[-3.0] * 10, [0.0] * 7 + [2.5] * 3])
    >>> p = np.where(np.abs(z) > 1.645, 0.01, 0.5)
    >>> emerging_classes(z, p).tolist()
    ['Persistent Cold Spot', 'Consecutive Hot Spot']
    """
    table = emerging_table(z, p, alpha=alpha, trend_values=trend_values)
    return _wrap(table["pattern"].to_numpy(dtype=str), z, "pattern")


def simple_classes(
    hot,
    *,
    persistent_share: float = 0.8,
    recent_share: float = 0.2,
    tolerance: float = 0.1,
):
    """Sort cells into persistent, emerging, former, intermittent or never hot.

    The periods are split into *recent* ones (the last ``max(1, floor(recent_share *
    n_periods))``) and *earlier* ones (the rest). The first rule that holds wins:

    never
        hot in no period;
    persistent
        hot in at least ``persistent_share`` of all periods;
    emerging
        hot in less than ``tolerance`` of the earlier periods (so, with fewer than ten
        earlier periods, in none of them) and in at least ``tolerance`` of the recent
        periods (so at least one);
    former
        hot in at least ``tolerance`` of the earlier periods and in less than
        ``tolerance`` of the recent periods;
    intermittent
        any other cell that was hot at least once.

    These follow ``sfhotspot::hotspot_classify`` (its defaults 0.8, 0.2 and 0.1), with
    two simplifications: emerging needs ``tolerance`` rather than ``recent_share`` of the
    recent periods, and a cell hot too rarely to be anything else is "intermittent"
    rather than "no pattern". Cold spots are not classified here; pass
    ``p < alpha & z < 0`` as ``hot`` to classify them the same way.

    Parameters
    ----------
    hot : array-like of bool, shape (n_cells, n_periods)
        Whether each cell is a significant hot spot in each period, oldest first.
        A DataFrame keeps its index in the output.
    persistent_share : float, default 0.8
        Share of all periods hot that makes a cell persistent.
    recent_share : float, default 0.2
        Share of periods counted as recent.
    tolerance : float, default 0.1
        Share of periods below which a cell counts as "not hot" in that window.

    Returns
    -------
    numpy.ndarray of str, shape (n_cells,)
        One of :data:`SIMPLE_CLASSES` per cell (a Series if ``hot`` is a DataFrame).

    Raises
    ------
    GeoInputError
        If ``hot`` is not two-dimensional booleans, has fewer than 2 periods, or a
        share is outside (0, 1].

    References
    ----------
    Ashby, M. P. J. ``sfhotspot`` R package, ``hotspot_classify`` and
    ``hotspot_classify_params``.

    Examples
    --------
    >>> import numpy as np
    >>> hot = np.array([
    ...     [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],   # every period
    ...     [0, 0, 0, 0, 0, 0, 0, 0, 1, 1],   # only the last two
    ...     [1, 1, 1, 0, 0, 0, 0, 0, 0, 0],   # only the first three
    ...     [0, 1, 0, 0, 1, 0, 0, 0, 1, 0],   # now and then
    ...     [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ... ], dtype=bool)
    >>> simple_classes(hot).tolist()
    ['persistent', 'emerging', 'former', 'intermittent', 'never']
    """
    arr = np.asarray(hot)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise GeoInputError(f"`hot` must have shape (n_cells, n_periods), got {arr.shape}",
                            fix="put one row per cell and one column per period")
    if arr.dtype != bool:
        if not np.all(np.isin(arr, (0, 1))):
            raise GeoInputError("`hot` must be True/False for each cell and period",
                                fix="pass e.g. (p < 0.05) & (z > 0), not the z-scores")
        arr = arr.astype(bool)
    for name, v in (("persistent_share", persistent_share), ("recent_share", recent_share),
                    ("tolerance", tolerance)):
        if not 0 < v <= 1:
            raise GeoInputError(f"`{name}` must be in (0, 1], got {v}",
                                fix=f"use a share such as {0.2 if name == 'recent_share' else 0.8}")
    n = arr.shape[1]
    if n < 2:
        raise GeoInputError(f"Need at least 2 periods to compare earlier and recent, got {n}",
                            fix="use shorter periods")
    k = max(1, int(np.floor(recent_share * n)))
    if k >= n:
        k = n - 1
    earlier = arr[:, : n - k].mean(axis=1)
    recent = arr[:, n - k:].mean(axis=1)
    share = arr.mean(axis=1)

    out = np.full(arr.shape[0], "intermittent", dtype=object)
    rules = [
        ("never", share == 0),
        ("persistent", share >= persistent_share),
        ("emerging", (earlier < tolerance) & (recent >= tolerance)),
        ("former", (earlier >= tolerance) & (recent < tolerance)),
    ]
    done = np.zeros(arr.shape[0], dtype=bool)
    for name, mask in rules:
        take = mask & ~done
        out[take] = name
        done |= take
    return _wrap(out.astype(str), hot, "hotspot_class")
