"""Getis-Ord Gi* hot spots on a grid or on points (:func:`gistar`), with the multiple-testing
correction of the p-values (:func:`geo.stats.fdr_bh` or Bonferroni) and the class labels
(:data:`HOTSPOT_LABELS`).
"""
from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage
from scipy.signal import fftconvolve
from scipy.spatial import cKDTree
from scipy.special import ndtr

from ..errors import GeoInputError
from ..settings import settings
from ..stats import fdr_bh
from .grid import GridSpec, setting, check_grid_size, check_crs_metres, grid_of

logger = logging.getLogger(__name__)

#: Ordered class labels of :func:`gistar` (cold to hot).
HOTSPOT_LABELS: tuple[str, ...] = (
    "Cold spot 99%", "Cold spot 95%", "Cold spot 90%", "Not significant",
    "Hot spot 90%", "Hot spot 95%", "Hot spot 99%",
)
CORRECTIONS = ("fdr_bh", "bonferroni", None)


def _adjust(p: np.ndarray, correction: str | None) -> np.ndarray:
    if correction == "fdr_bh":
        return fdr_bh(p)
    if correction == "bonferroni":
        return np.minimum(p * p.size, 1.0)
    return p.copy()


def _labels(z: np.ndarray, p_adj: np.ndarray, alpha: float) -> pd.Categorical:
    level = np.select([p_adj <= 0.01, p_adj <= 0.05, p_adj <= 0.10], [3, 2, 1], 0)
    level[p_adj > alpha] = 0
    codes = 3 + np.sign(z).astype(int) * level
    return pd.Categorical.from_codes(codes, categories=list(HOTSPOT_LABELS), ordered=True)


def _gistar_z(y: np.ndarray, lag: np.ndarray, card: np.ndarray) -> np.ndarray:
    """Gi* z-scores with binary weights including self (Getis & Ord 1992; Ord & Getis 1995).

    ``z_i = (sum_j w_ij y_j - ybar W_i) / (S sqrt((n W_i - W_i^2) / (n - 1)))`` with
    ``W_i = sum_j w_ij`` (self included), ``S`` the population standard deviation of
    ``y``. This is exactly esda's ``G_Local(star=True, transform="B")`` ``Zs``.
    """
    n = y.size
    ybar = y.mean()
    s = math.sqrt(max(float(np.mean(y * y) - ybar * ybar), 0.0))
    if s == 0 or ybar == 0:
        logger.warning("Gi*: the variable is constant; every z-score set to 0")
        return np.zeros(n)
    num = lag - ybar * card
    den = s * np.sqrt(np.maximum(n * card - card * card, 0.0) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(den > 0, num / den, 0.0)
    return z


def _lattice_lag(spec: GridSpec, y2d: np.ndarray, mask: np.ndarray, distance: float):
    """Binary-weight spatial lag (self included) and neighbour count on a grid."""
    offsets = spec.neighbour_offsets(distance)
    if len(offsets[0]) <= 1 and len(offsets[1]) <= 1:
        raise GeoInputError(
            f"distance {distance:,.1f} m is shorter than the cell spacing "
            f"{spec.cell_size:,.1f} m: no cell would have a neighbour",
            fix=f"use distance >= {spec.cell_size:,.0f} (default 1.5 x cell size)",
        )
    lags, cards = [], []
    for parity in (0, 1):
        off = offsets[parity]
        k = int(np.abs(off).max())
        ker = np.zeros((2 * k + 1, 2 * k + 1))
        ker[off[:, 0] + k, off[:, 1] + k] = 1.0
        if len(off) <= 200:
            lag = ndimage.correlate(y2d, ker, mode="constant", cval=0.0)
            card = ndimage.correlate(mask, ker, mode="constant", cval=0.0)
        else:  # correlate == convolve with the flipped kernel
            lag = fftconvolve(y2d, ker[::-1, ::-1], mode="same")
            card = np.rint(fftconvolve(mask, ker[::-1, ::-1], mode="same"))
        lags.append(lag)
        cards.append(card)
        if spec.shape == "square":
            break
    if len(lags) == 1:
        return lags[0], cards[0]
    odd = ((np.arange(spec.nrows) + spec.row0) % 2 == 1)[:, None]
    return np.where(odd, lags[1], lags[0]), np.where(odd, cards[1], cards[0])


def _pairs_lag(xy: np.ndarray, y: np.ndarray, distance: float):
    """Binary-weight spatial lag (self included) and neighbour count from point pairs."""
    pairs = cKDTree(xy).query_pairs(distance * (1 + 1e-9), output_type="ndarray")
    n = len(y)
    if len(pairs) == 0:
        raise GeoInputError(
            f"no two cells are within distance {distance:,.1f} m of each other",
            fix="pass a larger distance, or distance=None to derive one",
        )
    i, j = pairs[:, 0], pairs[:, 1]
    lag = y + np.bincount(i, y[j], n) + np.bincount(j, y[i], n)
    card = 1.0 + np.bincount(i, minlength=n) + np.bincount(j, minlength=n)
    return lag, card


def check_distance(distance) -> float:
    """``distance`` (metres) as a positive finite float; :class:`GeoInputError` otherwise."""
    try:
        d = float(distance)
    except (TypeError, ValueError):
        d = float("nan")
    if not (math.isfinite(d) and d > 0):
        raise GeoInputError(f"distance must be a positive number of metres, got {distance!r}",
                            fix="pass e.g. distance=300, or distance=None to derive it")
    return d


def gistar(
    cells,
    *,
    column: str = "n",
    distance: float | None = None,
    correction: str | None = "fdr_bh",
    alpha: float | None = None,
    cell_size: float = 1.0,
):
    """Getis-Ord Gi* hot and cold spots with binary distance-band weights.

    Each cell's neighbourhood is every cell whose centre lies within ``distance``,
    the cell itself included (the "star"), all with weight 1. z-scores equal esda's
    ``G_Local(y, DistanceBand(centroids, threshold=distance, binary=True),
    transform="B", star=True).Zs``. On a regular grid (output of
    :func:`grid_counts`, or a 2-D array) the neighbourhood sums are a convolution;
    other polygons or points use a k-d tree of centroid pairs (a sparse adjacency).

    Parameters
    ----------
    cells : geopandas.GeoDataFrame or numpy.ndarray
        Grid cells from :func:`grid_counts` (empty cells must be kept: they are zeros),
        any polygons/points in a projected CRS, or a 2-D array (row 0 south; NaN marks
        cells outside the study area).
    column : str
        Column to test (ignored for an array).
    distance : float, optional
        Neighbourhood radius in metres (array: in the units of ``cell_size``).
        ``None``: 1.5 x cell size on a grid (square: the 8 queen neighbours; hex: the 6
        adjacent cells), otherwise the largest nearest-neighbour distance between
        centroids (every cell gets a neighbour); logged.
    correction : {"fdr_bh", "bonferroni", None}
        Multiple-testing adjustment giving ``p_adj``.
    alpha : float, optional
        Significance level for the labels, in (0, 0.10]. ``None``: ``settings.alpha``.
    cell_size : float
        Cell spacing for an array input only.

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        A copy of ``cells`` (for an array: ``row``, ``col`` and ``column`` of the
        non-NaN cells) with columns ``gistar`` (z-score), ``pvalue`` (two-sided, normal),
        ``p_adj`` (after ``correction``) and ``hotspot`` (ordered categorical of
        :data:`HOTSPOT_LABELS`: "Hot spot 99%" if ``p_adj <= 0.01``, 95% if <= 0.05,
        90% if <= 0.10, only where ``p_adj <= alpha``; sign from ``gistar``).
        ``attrs`` records ``distance``, ``correction`` and ``alpha``.

    Raises
    ------
    GeoInputError
        Missing column, non-finite values, fewer than 3 cells, geographic CRS, a
        distance giving no neighbours, unknown correction or alpha out of range.

    References
    ----------
    Getis & Ord (1992), Geographical Analysis 24(3); Ord & Getis (1995), Geographical
    Analysis 27(4); esda ``G_Local``.

    Examples
    --------
    esda's published example (``esda/tests/test_getisord.py``, ``test_star_binary``):

    >>> import geopandas as gpd
    >>> pts = gpd.GeoDataFrame(
    ...     {"y": [2, 3, 3.2, 5, 8, 7]},
    ...     geometry=gpd.points_from_xy([10, 20, 40, 15, 30, 30], [10, 10, 10, 20, 20, 30]),
    ...     crs="EPSG:27700")
    >>> out = gistar(pts, column="y", distance=15)
    >>> round(float(out["gistar"].iloc[0]), 8)
    -1.39727626
    """
    if correction not in CORRECTIONS:
        raise GeoInputError(f"correction must be one of {CORRECTIONS}, got {correction!r}",
                            fix="pass correction='fdr_bh', 'bonferroni' or None")
    alpha = settings.alpha if alpha is None else alpha
    if not (isinstance(alpha, (int, float)) and 0 < alpha <= 0.10):
        raise GeoInputError(f"alpha must be in (0, 0.10], got {alpha!r}",
                            fix="pass alpha=0.05 (or 0.01, 0.10)")

    if isinstance(cells, np.ndarray):
        if cells.ndim != 2:
            raise GeoInputError(f"an array input must be 2-D, got shape {cells.shape}",
                                fix="pass a (rows, cols) grid of values")
        size = float(cell_size)
        spec = GridSpec("square", size, 0, 0, cells.shape[0], cells.shape[1])
        mask = np.isfinite(cells)
        rows, cols = np.nonzero(mask)
        y = cells[rows, cols].astype(float)
        out = pd.DataFrame({"row": rows, "col": cols, column: y})
        use_grid = True
    else:
        if not isinstance(cells, (gpd.GeoDataFrame, pd.DataFrame)) or column not in cells:
            raise GeoInputError(
                f"column {column!r} not found",
                where=f"columns {list(getattr(cells, 'columns', []))}",
                fix="pass column='n' or 'harm' for grid_counts output",
            )
        y = pd.to_numeric(cells[column], errors="coerce").to_numpy(float)
        spec = grid_of(cells)
        use_grid = spec is not None
        if not use_grid:
            check_crs_metres(cells, "cells")
        out = cells.copy()
    if use_grid:  # the lattice arrays are the grid's full size
        check_grid_size(spec, what="Gi* grid")
    bad = ~np.isfinite(y)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise GeoInputError(f"column {column!r} has {int(bad.sum())} missing/non-numeric "
                            f"value(s)", where=f"row {i}",
                            fix="fill them (empty cells are 0) or drop those cells")
    if y.size < 3:
        raise GeoInputError(f"Gi* needs at least 3 cells, got {y.size}",
                            fix="use a smaller cell_size or a larger area")

    if use_grid:
        if distance is None:
            distance = setting("gistar_distance_cells", 1.5) * spec.cell_size
            logger.info("Gi* distance set automatically to %s m (1.5 x cell size)",
                        f"{distance:,.0f}")
        distance = check_distance(distance)
        if not isinstance(cells, np.ndarray):
            rows = cells["row"].to_numpy()
            cols = cells["col"].to_numpy()
        y2d = np.zeros((spec.nrows, spec.ncols))
        m2d = np.zeros((spec.nrows, spec.ncols))
        y2d[rows, cols] = y
        m2d[rows, cols] = 1.0
        lag2d, card2d = _lattice_lag(spec, y2d, m2d, distance)
        lag, card = lag2d[rows, cols], card2d[rows, cols]
    else:
        geom = np.asarray(cells.geometry.values)
        xy = np.column_stack([shapely.get_x(shapely.centroid(geom)),
                              shapely.get_y(shapely.centroid(geom))])
        if distance is None:
            dist, _ = cKDTree(xy).query(xy, k=2)
            distance = float(dist[:, 1].max())
            logger.info("Gi* distance set automatically to %s m (largest nearest-neighbour "
                        "distance)", f"{distance:,.0f}")
        distance = check_distance(distance)
        lag, card = _pairs_lag(xy, y, distance)

    z = _gistar_z(y, lag, card)
    p = 2.0 * ndtr(-np.abs(z))
    p_adj = _adjust(p, correction)
    out["gistar"] = z
    out["pvalue"] = p
    out["p_adj"] = p_adj
    out["hotspot"] = _labels(z, p_adj, alpha)
    out.attrs.update({"distance": distance, "correction": correction, "alpha": alpha,
                      "column": column})
    return out
