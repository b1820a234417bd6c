"""Emerging hot spots per grid cell: periods, a space-time cube of Gi*, and the classes.

The pipeline behind :func:`hotspot_emerging`:

1. each point gets a period (:func:`period_labels`): its police.uk ``month``, or the
   week or day of its ``date`` for timestamped calls; empty periods between the first
   and the last are kept (they are zeros, not gaps);
2. one grid is built over all the points (:func:`geo.grid.grid_counts`) and every
   period is counted on exactly those cells (:func:`space_time_cube`);
3. Gi* (:func:`geo.hotspots.gistar`, FDR-corrected by default) is computed for each
   period on its own;
4. the stacked z-scores and p-values are classified with the Emerging Hot Spot Analysis
   rules (:func:`geo.spacetime.emerging_table`, Mann-Kendall trend on each cell's
   z-scores) and the simpler persistent / emerging / former / intermittent classes
   (:func:`geo.spacetime.simple_classes`).

All lengths are metres.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import GeoInputError
from .grid import (GridSpec, area_geometry, bin_counts, check_grid_size, grid_counts, plan_grid, point_weights,
                   point_xy)
from .hotspots import gistar
from .periods import month_range
from .settings import settings
from .spacetime import EHSA_PATTERNS, emerging_table, simple_classes

logger = logging.getLogger(__name__)

__all__ = ["EMERGING_COLUMNS", "PERIODS", "SpaceTimeCube", "auto_period", "hotspot_emerging",
           "period_labels", "space_time_cube"]

#: Period lengths understood by :func:`period_labels`.
PERIODS: tuple[str, ...] = ("month", "week", "day")

#: Fixed output columns of :func:`hotspot_emerging`.
EMERGING_COLUMNS: tuple[str, ...] = (
    "cell_id", "row", "col", "n", "harm", "pattern", "simple_class", "n_hot", "n_cold",
    "final", "trend", "trend_tau", "trend_z", "trend_pvalue", "n_mean", "n_last", "z_last",
    "n_series", "geometry",
)

#: esri wants at least this many time steps; :func:`auto_period` aims for it.
_GOOD_PERIODS = 10


# --------------------------------------------------------------------------------------
# periods
# --------------------------------------------------------------------------------------
def _dates(points, date_col: str) -> pd.Series:
    if date_col not in points.columns:
        return pd.Series(pd.NaT, index=points.index)
    raw = points[date_col].astype("string").str.strip().replace("", pd.NA)
    return pd.to_datetime(raw, errors="coerce", format="ISO8601").dt.normalize()


def _check_period(period: str) -> str:
    if period not in PERIODS:
        raise GeoInputError(f"period must be one of {PERIODS}, got {period!r}",
                            fix="pass period='month' (police.uk) or 'week'/'day' for dated calls")
    return period


def period_labels(points, period: str = "month", *, month_col: str = "month",
                  date_col: str = "date", warn: bool = True) -> tuple[pd.Series, list[str]]:
    """Give each point the label of its period, and list every period in the range.

    Months come from ``month_col`` (``"YYYY-MM"``, as police.uk publishes them) or,
    without it, from ``date_col``. Weeks and days need ``date_col`` (ISO dates or
    date-times). Weeks are seven-day steps counted back from the last date in the data,
    as esri's space-time cube aligns its time steps to the end, so that the final
    period (which decides most patterns) is complete; each week is labelled by its
    first day. Empty periods between the first and the last are listed.

    Parameters
    ----------
    points : pandas.DataFrame or geopandas.GeoDataFrame
        Incidents with a ``month`` and/or ``date`` column.
    period : {"month", "week", "day"}
    month_col, date_col : str
        Column names.
    warn : bool
        Log a warning when the first week is only partly covered by the data.

    Returns
    -------
    labels : pandas.Series of str
        Period label per point (``"YYYY-MM"`` or ``"YYYY-MM-DD"``); missing (``<NA>``)
        where a point has no usable month or date.
    periods : list of str
        Every period from the first to the last, oldest first.

    Raises
    ------
    GeoInputError
        For an unknown period, or when no point has a usable month/date.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"date": ["2016-08-01", "2016-08-09", "2016-08-14T23:10:00"]})
    >>> labels, periods = period_labels(df, "week")
    >>> labels.tolist(), periods
    (['2016-08-01', '2016-08-08', '2016-08-08'], ['2016-08-01', '2016-08-08'])
    """
    _check_period(period)
    if period == "month" and month_col in points.columns:
        raw = points[month_col].astype("string").str.strip().str.slice(0, 7)
        per = pd.PeriodIndex(pd.to_datetime(raw, errors="coerce", format="%Y-%m"), freq="M")
        valid = ~per.isna()
        if not valid.any():
            raise GeoInputError(f"no point has a usable month in column {month_col!r}",
                                fix="months must look like '2024-01'")
        labels = pd.Series(per.strftime("%Y-%m"), index=points.index, dtype="string")
        labels[~valid] = pd.NA
        return labels, month_range(str(per[valid].min()), str(per[valid].max()))
    d = _dates(points, date_col)
    if d.notna().sum() == 0:
        have = "only months" if month_col in points.columns else "no dates"
        raise GeoInputError(
            f"cannot form {period}s: the points have {have} (column {date_col!r} is empty "
            f"or missing)", where=f"column {date_col!r}",
            fix="use period='month' for police.uk crime, which is published by month")
    if period == "month":
        per = d.dt.to_period("M")
        labels = per.dt.strftime("%Y-%m").astype("string")
        return labels, month_range(str(per.min()), str(per.max()))
    step = 7 if period == "week" else 1
    last = d.max()
    back = ((last - d).dt.days // step).astype("Int64")       # 0 = final period
    n_per = int(back.max()) + 1
    starts = [last - pd.Timedelta(days=step * k + step - 1) for k in range(n_per)][::-1]
    names = [s.strftime("%Y-%m-%d") for s in starts]
    labels = pd.Series(pd.NA, index=points.index, dtype="string")
    ok = back.notna().to_numpy()
    labels[ok] = np.asarray(names, dtype=object)[n_per - 1 - back[ok].to_numpy(dtype=np.int64)]
    if warn and period == "week" and (last - starts[0]).days + 1 > (last - d.min()).days + 1:
        logger.warning("the first week (from %s) is only partly covered by the data",
                       names[0])
    return labels, names


def auto_period(points, *, month_col: str = "month", date_col: str = "date") -> str:
    """Choose months, weeks or days so that there are enough periods, and log it.

    The longest period giving at least 10 periods (esri's minimum for Emerging Hot Spot
    Analysis) wins: months if the data spans 10 months or more, else weeks, else days
    when the points carry dates. Without dates (police.uk) it is always months.

    Examples
    --------
    >>> import pandas as pd
    >>> auto_period(pd.DataFrame({"month": ["2016-08"] * 3,
    ...                           "date": ["2016-08-01", "2016-08-15", "2016-08-31"]}))
    'day'
    """
    choice = "month"
    n_months = len(period_labels(points, "month", month_col=month_col, date_col=date_col)[1])
    if n_months < _GOOD_PERIODS and _dates(points, date_col).notna().any():
        n_weeks = len(period_labels(points, "week", date_col=date_col, warn=False)[1])
        choice = "week" if n_weeks >= _GOOD_PERIODS else "day"
    logger.info("period set automatically to %s", choice)
    return choice


# --------------------------------------------------------------------------------------
# the cube
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SpaceTimeCube:
    """Counts and Gi* of one grid over several periods (cells x periods, oldest first).

    Attributes
    ----------
    cells : geopandas.GeoDataFrame
        The shared grid: ``cell_id``, ``row``, ``col``, ``n``, ``harm`` (totals over all
        periods) and ``geometry``; ``attrs["grid"]`` holds the :class:`GridSpec`.
    periods : tuple of str
        Period labels, oldest first.
    n, harm : numpy.ndarray
        Shape ``(len(cells), len(periods))``: points and summed weights per cell and
        period.
    z, p : numpy.ndarray
        Gi* z-scores and (corrected) p-values per cell and period, on ``harm`` when a
        weight was given, else on ``n``.
    params : dict
        ``period``, ``cell_size``, ``shape``, ``distance``, ``correction``, ``alpha``,
        ``weight``, ``n_points``, ``n_undated`` and ``n_outside``.
    """

    cells: gpd.GeoDataFrame
    periods: tuple[str, ...]
    n: np.ndarray
    harm: np.ndarray
    z: np.ndarray
    p: np.ndarray
    params: dict = field(default_factory=dict)


def space_time_cube(
    points,
    *,
    period: str | None = "month",
    cell_size: float | None = None,
    shape: str = "square",
    weight: str | None = None,
    area=None,
    distance: float | None = None,
    correction: str | None = "fdr_bh",
    alpha: float | None = None,
    month_col: str = "month",
    date_col: str = "date",
) -> SpaceTimeCube:
    """Count points per grid cell and period on one shared grid, and Gi* each period.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Points in a projected CRS in metres, with ``month`` and/or ``date``.
    period : {"month", "week", "day"}, optional
        ``None``: :func:`auto_period`.
    cell_size, shape, area
        As :func:`geo.grid.grid_counts`; one grid is built over all the points (or the
        area) and reused for every period, so cells coincide.
    weight : str, optional
        Harm-weight column; Gi* is then computed on the summed harm per cell.
    distance, correction, alpha
        As :func:`geo.hotspots.gistar` (``alpha`` defaults to ``settings.ehsa_alpha``,
        0.10, esri's default).
    month_col, date_col : str
        Columns holding the month (``"YYYY-MM"``) and the date.

    Returns
    -------
    SpaceTimeCube

    Raises
    ------
    GeoInputError
        Bad points, weights or parameters; no usable period; fewer than 3 periods.
    """
    x, y = point_xy(points)
    w = point_weights(points, weight)
    if period is None:
        period = auto_period(points, month_col=month_col, date_col=date_col)
    labels, periods = period_labels(points, period, month_col=month_col, date_col=date_col)
    if len(periods) < 3:
        raise GeoInputError(
            f"emerging hot spots need at least 3 {period}s; these points cover "
            f"{len(periods)} ({', '.join(periods)})",
            fix="widen the date range, or use shorter periods (weeks or days) for dated calls")
    alpha = getattr(settings, "ehsa_alpha", 0.10) if alpha is None else alpha
    # one grid, checked with its periods before anything of its size is allocated
    plan = plan_grid(x, y, cell_size=cell_size, shape=shape, area_geom=area_geometry(area, points.crs))
    check_grid_size(plan, layers=len(periods), what="emerging hot-spot cube")
    base = grid_counts(points, weight=weight, area=area, grid=plan)
    spec: GridSpec = base.attrs["grid"]
    rows = base["row"].to_numpy()
    cols = base["col"].to_numpy()

    code = pd.Categorical(labels, categories=periods).codes        # -1: undated
    dated = code >= 0
    n_undated = int((~dated).sum())
    if n_undated:
        logger.warning("%s point(s) have no usable %s and were left out of the cube",
                       n_undated, "month" if period == "month" else "date")
    n_cube = np.zeros((len(base), len(periods)), dtype=np.int64)
    h_cube = np.zeros((len(base), len(periods)))
    z_cube = np.zeros_like(h_cube)
    p_cube = np.ones_like(h_cube)
    column = "harm" if weight is not None else "n"
    frame = pd.DataFrame({"row": rows, "col": cols})
    frame.attrs["grid"] = spec
    used_distance = distance
    order = np.argsort(code, kind="stable")
    bounds = np.searchsorted(code[order], np.arange(-1, len(periods) + 1))
    for k in range(len(periods)):
        idx = order[bounds[k + 1]:bounds[k + 2]]
        if idx.size:
            n2d, h2d, _ = bin_counts(spec, x[idx], y[idx], None if w is None else w[idx])
            n_cube[:, k] = n2d[rows, cols]
            h_cube[:, k] = h2d[rows, cols]
        frame[column] = n_cube[:, k] if column == "n" else h_cube[:, k]
        if frame[column].to_numpy().any():
            g = gistar(frame, column=column, distance=used_distance, correction=correction,
                       alpha=alpha)
            used_distance = g.attrs["distance"]
            z_cube[:, k] = g["gistar"].to_numpy()
            p_cube[:, k] = g["p_adj"].to_numpy()
        # a period with no points at all is "not significant" everywhere: z 0, p 1
    if used_distance is None:
        used_distance = getattr(settings, "gistar_distance_cells", 1.5) * spec.cell_size
    params = {
        "period": period, "cell_size": float(spec.cell_size), "shape": spec.shape,
        "distance": float(used_distance), "correction": correction, "alpha": float(alpha),
        "weight": weight, "n_points": int(n_cube.sum()), "n_undated": n_undated,
        "n_outside": int(dated.sum() - n_cube.sum()), "n_periods": len(periods),
    }
    return SpaceTimeCube(base, tuple(periods), n_cube, h_cube, z_cube, p_cube, params)


def hotspot_emerging(
    points,
    *,
    period: str | None = "month",
    cell_size: float | None = None,
    shape: str = "square",
    weight: str | None = None,
    area=None,
    alpha: float | None = None,
    distance: float | None = None,
    correction: str | None = "fdr_bh",
    month_col: str = "month",
    date_col: str = "date",
) -> gpd.GeoDataFrame:
    """Emerging hot spots: classify every grid cell by how its Gi* changes over periods.

    Builds one grid over all the points, counts each period on it, computes Gi* per
    period (:func:`space_time_cube`), then classifies each cell with esri's Emerging Hot
    Spot Analysis rules (:func:`geo.spacetime.emerging_table`; Mann-Kendall trend on the
    cell's Gi* z-scores) and the simpler classes of :func:`geo.spacetime.simple_classes`.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Incidents in a projected CRS in metres with a ``month`` (``"YYYY-MM"``) and/or a
        ``date`` column.
    period : {"month", "week", "day"}, optional
        Months for police.uk crime; weeks or days for timestamped calls. ``None``:
        :func:`auto_period` (logged).
    cell_size : float, optional
        Metres; ``None``: :func:`geo.grid.auto_cell_size` (logged).
    shape : {"square", "hex"}
    weight : str, optional
        Harm-weight column: Gi* on summed harm instead of counts.
    area : polygon, GeoSeries or GeoDataFrame, optional
        Study area; cells outside it are dropped.
    alpha : float, optional
        Significance of bins and trends; ``None``: ``settings.ehsa_alpha`` (0.10).
    distance : float, optional
        Gi* neighbourhood in metres; ``None``: 1.5 x cell size.
    correction : {"fdr_bh", "bonferroni", None}
        Multiple-testing correction of each period's Gi* p-values.
    month_col, date_col : str
        Column names.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cell, columns :data:`EMERGING_COLUMNS`: ``cell_id``, ``row``,
        ``col``, ``n`` and ``harm`` (totals over the periods), ``pattern`` (one of
        :data:`geo.spacetime.EHSA_PATTERNS`), ``simple_class`` (persistent, emerging,
        former, intermittent or never hot), ``n_hot`` / ``n_cold`` (significant
        periods), ``final`` ("hot", "cold", "not significant"), ``trend``
        ("increasing", "decreasing", "no trend"), ``trend_tau``, ``trend_z``,
        ``trend_pvalue`` (Mann-Kendall on the z-scores), ``n_mean`` (points per
        period), ``n_last`` (final period), ``z_last`` (final Gi*), ``n_series``
        (counts per period, oldest first, e.g. ``"3,0,5,7"``) and ``geometry``.
        ``attrs``: ``grid``, ``periods`` (list) and the parameters used (``period``,
        ``cell_size``, ``distance``, ``alpha``, ``correction``, ``n_points``, ...).

    Raises
    ------
    GeoInputError
        Bad points or parameters, no dates for weeks/days, or fewer than 3 periods.

    References
    ----------
    esri. How Emerging Hot Spot Analysis works (ArcGIS Pro, Space Time Pattern Mining).
    Ashby, M. P. J. ``sfhotspot::hotspot_classify``.

    Examples
    --------
    >>> import geopandas as gpd, numpy as np
    >>> rng = np.random.default_rng(0)
    >>> xs, ys, ms = [], [], []
    >>> for m in range(1, 11):                      # ten months of background
    ...     xs += list(rng.uniform(0, 2000, 40)); ys += list(rng.uniform(0, 2000, 40))
    ...     ms += [f"2024-{m:02d}"] * 40
    >>> xs += [1050.0] * 30; ys += [1050.0] * 30; ms += ["2024-10"] * 30   # new in month 10
    >>> pts = gpd.GeoDataFrame({"month": ms}, geometry=gpd.points_from_xy(xs, ys),
    ...                        crs="EPSG:27700")
    >>> out = hotspot_emerging(pts, cell_size=100)
    >>> out.loc[out["cell_id"] == "1000_1000", "pattern"].item()
    'New Hot Spot'
    """
    cube = space_time_cube(points, period=period, cell_size=cell_size, shape=shape,
                           weight=weight, area=area, distance=distance, correction=correction,
                           alpha=alpha, month_col=month_col, date_col=date_col)
    a = cube.params["alpha"]
    table = emerging_table(cube.z, cube.p, alpha=a)
    hot = (cube.p < a) & (cube.z > 0)
    simple = simple_classes(hot)
    base = cube.cells
    trend = np.where(table["trend_pvalue"].to_numpy() < a,
                     np.where(table["trend_z"].to_numpy() > 0, "increasing", "decreasing"),
                     "no trend")
    series = [",".join(map(str, r)) for r in cube.n.tolist()]
    out = gpd.GeoDataFrame(
        {
            "cell_id": base["cell_id"].to_numpy(),
            "row": base["row"].to_numpy(),
            "col": base["col"].to_numpy(),
            "n": cube.n.sum(axis=1).astype(np.int64),
            "harm": cube.harm.sum(axis=1).astype(float),
            "pattern": pd.Categorical(table["pattern"].to_numpy(),
                                      categories=list(EHSA_PATTERNS)),
            "simple_class": np.asarray(simple, dtype=str),
            "n_hot": table["n_hot"].to_numpy(),
            "n_cold": table["n_cold"].to_numpy(),
            "final": table["final"].to_numpy(),
            "trend": trend,
            "trend_tau": table["trend_tau"].to_numpy(),
            "trend_z": table["trend_z"].to_numpy(),
            "trend_pvalue": table["trend_pvalue"].to_numpy(),
            "n_mean": cube.n.mean(axis=1),
            "n_last": cube.n[:, -1].astype(np.int64),
            "z_last": cube.z[:, -1],
            "n_series": series,
        },
        geometry=base.geometry.values, crs=base.crs,
    )
    out.attrs.update(cube.params)
    out.attrs["grid"] = base.attrs["grid"]
    out.attrs["periods"] = list(cube.periods)
    counts = out["pattern"].value_counts()
    logger.info("emerging hot spots over %s %ss: %s", len(cube.periods), cube.params["period"],
                ", ".join(f"{k} {v}" for k, v in counts.items() if v and k != "No Pattern Detected")
                or "no pattern detected")
    return out
