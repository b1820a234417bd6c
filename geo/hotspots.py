"""Hot spots of drug-market harm: grid counts, kernel density, Getis-Ord Gi*, clusters.

Pure functions over point GeoDataFrames in a projected CRS in metres (e.g. EPSG:27700).
Grids and kernel density live in :mod:`geo.grid` and :mod:`geo.kde` and are re-exported
here.
"""
from __future__ import annotations

import logging
import math
from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage
from scipy.signal import fftconvolve
from scipy.spatial import cKDTree
from scipy.special import ndtr

from .errors import GeoInputError
from .grid import (GRID_COLUMNS, GridSpec, setting, auto_cell_size, cells_to_array, check_grid_size,
                   check_crs_metres, grid_counts, grid_of, point_weights, point_xy)
from .kde import KDEResult, auto_bandwidth, kde
from .settings import settings

logger = logging.getLogger(__name__)

__all__ = [
    "CALLS_CRIME_CLASSES", "GRID_COLUMNS", "GridSpec", "HOTSPOT_LABELS", "KDEResult",
    "auto_bandwidth", "auto_cell_size", "calls_vs_crime", "cells_to_array", "change_surface",
    "fdr_bh", "gistar", "grid_counts", "kde", "point_clusters",
]

#: Ordered class labels of :func:`gistar` (cold to hot).
HOTSPOT_LABELS: tuple[str, ...] = (
    "Cold spot 99%", "Cold spot 95%", "Cold spot 90%", "Not significant",
    "Hot spot 90%", "Hot spot 95%", "Hot spot 99%",
)
CORRECTIONS = ("fdr_bh", "bonferroni", None)


# --------------------------------------------------------------------------------------
# multiple testing
# --------------------------------------------------------------------------------------
def fdr_bh(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate).

    ``p_adj[(i)] = min_{j >= i} min(1, m p_(j) / j)`` over the ascending order ``(i)``;
    the same numbers as ``scipy.stats.false_discovery_control(p, method="bh")``. Reject
    where ``p_adj <= alpha`` to control the FDR at ``alpha``.

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
    Benjamini & Hochberg (1995), JRSS B 57(1), 289-300.

    Examples
    --------
    >>> fdr_bh([0.01, 0.04, 0.03, 0.20]).round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.2]
    """
    p = np.asarray(p, dtype=float)
    flat = p.ravel()
    bad = ~((flat >= 0) & (flat <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise GeoInputError(f"p-values must lie in [0, 1], found {flat[i]}",
                            where=f"position {i}", fix="pass p-values, not z-scores")
    m = flat.size
    if m == 0:
        return p.copy()
    order = np.argsort(flat, kind="stable")
    ranked = flat[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    return out.reshape(p.shape)


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


# --------------------------------------------------------------------------------------
# Getis-Ord Gi*
# --------------------------------------------------------------------------------------
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


def _check_distance(distance) -> float:
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
        distance = _check_distance(distance)
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
        distance = _check_distance(distance)
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


# --------------------------------------------------------------------------------------
# point clusters
# --------------------------------------------------------------------------------------
CLUSTER_COLUMNS: tuple[str, ...] = ("cluster_id", "n", "harm", "area_m2", "top_categories",
                                    "geometry")


def knee_eps(x: np.ndarray, y: np.ndarray, k: int, max_sample: int = 50_000,
             seed: int = 0) -> float:
    """DBSCAN ``eps`` from the knee of the sorted k-distance curve (Ester et al. 1996).

    Distances to the ``k``-th nearest neighbour (self excluded) are sorted, the top 1%
    is trimmed (isolated outliers), and the knee is the point furthest below the chord
    joining the ends of the curve. At most ``max_sample`` points are used.
    """
    xy = np.column_stack([x, y])
    if len(xy) > max_sample:
        xy_s = xy[np.random.default_rng(seed).choice(len(xy), max_sample, replace=False)]
    else:
        xy_s = xy
    kk = min(k, len(xy) - 1)
    dist, _ = cKDTree(xy).query(xy_s, k=kk + 1)
    kd = np.sort(dist[:, -1])
    kd = kd[: max(2, int(math.ceil(len(kd) * 0.99)))]
    span = kd[-1] - kd[0]
    if span <= 0:
        return max(float(kd[-1]), 1.0)
    t = np.linspace(0, 1, len(kd))
    knee = int(np.argmax(t - (kd - kd[0]) / span))
    return max(float(kd[knee]), 1.0)


def auto_eps(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """DBSCAN's automatic radius: the k-distance knee (:func:`knee_eps`), never below ``settings.dbscan_min_eps_m``.

    police.uk publishes every crime at one of a fixed set of anonymised map points, so
    many incidents share a location; the knee of such data is often the gap between
    map points (a few metres), and DBSCAN would then call each busy map point a
    "cluster". The floor (100 m by default) keeps clusters at the scale of places.

    References
    ----------
    Ester, Kriegel, Sander & Xu (1996), KDD-96, 226-231; Tompson, Johnson, Ashby, Perkins
    & Edwards (2015), "UK open source crime data: accuracy and possibilities for research",
    Cartography and Geographic Information Science 42(2), 97-111 (the snap points).
    """
    knee = knee_eps(x, y, k)
    floor = float(setting("dbscan_min_eps_m", 100.0))
    if knee < floor:
        logger.info("DBSCAN: the k-distance knee (%.0f m) is below the minimum radius; using %.0f m", knee, floor)
    return max(knee, floor)


def check_pair_memory(x: np.ndarray, y: np.ndarray, radius_m: float, *, what: str = "DBSCAN",
                      sample: int = 2_000, seed: int = 0) -> float:
    """Estimate the memory of all point pairs within `radius_m`; refuse it above ``settings.max_pair_memory_mb``.

    scikit-learn's DBSCAN keeps every point's neighbours within the radius (an index and
    a distance, 16 bytes a pair), so a large radius over a dense force can need tens of
    gigabytes. The number of pairs is estimated from a random sample of points before
    anything is allocated.

    Parameters
    ----------
    x, y : numpy.ndarray
        Point coordinates (metres).
    radius_m : float
        Neighbourhood radius.
    what : str
        Name of the method, for the message.
    sample : int, default 2000
        Points sampled for the estimate.
    seed : int, default 0

    Returns
    -------
    float
        The estimate in megabytes.

    Raises
    ------
    GeoInputError
        If the estimate exceeds ``settings.max_pair_memory_mb``; the message gives a
        radius that fits.
    """
    n = len(x)
    if n == 0:
        return 0.0
    xy = np.column_stack([x, y])
    idx = np.random.default_rng(seed).choice(n, min(sample, n), replace=False)
    tree = cKDTree(xy)
    per_point = float(np.mean(tree.query_ball_point(xy[idx], r=radius_m, return_length=True)))
    mb = n * per_point * 16 / 1e6
    limit = float(setting("max_pair_memory_mb", 1500.0))
    if mb > limit:
        fits = radius_m * math.sqrt(limit / mb)  # pairs grow about with the radius squared
        raise GeoInputError(
            f"{what} with a {radius_m:,.0f} m radius over {n:,} incidents would need about "
            f"{mb:,.0f} MB of memory (the limit is {limit:,.0f} MB)",
            fix=f"use a radius of about {fits:,.0f} m or less, or fewer months or crime types")
    return mb


def point_clusters(
    points,
    *,
    method: str = "dbscan",
    eps_m: float | None = None,
    min_samples: int | None = None,
    weight: str | None = None,
    category_col: str | None = None,
    min_harm: float | None = None,
) -> gpd.GeoDataFrame:
    """Dense clusters of points with scikit-learn's DBSCAN or HDBSCAN.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Points in a projected CRS in metres.
    method : {"dbscan", "hdbscan"}
        ``sklearn.cluster.DBSCAN`` (fixed radius ``eps_m``) or ``sklearn.cluster.
        HDBSCAN`` (variable density; ``eps_m`` becomes ``cluster_selection_epsilon``).
        HDBSCAN is slow above ~100k points.
    eps_m : float, optional
        DBSCAN neighbourhood radius in metres. ``None``: the knee of the sorted
        ``min_samples``-distance curve, never below ``settings.dbscan_min_eps_m``
        (:func:`auto_eps`), logged. For HDBSCAN ``None`` means 0.
    min_samples : int, optional
        Points (the point itself included) needed to make a core point; HDBSCAN's
        ``min_cluster_size`` too. ``None``: ``max(5, round(ln n))``, logged.
    weight : str, optional
        Column of harm weights summed into ``harm`` (clustering itself is unweighted).
    category_col : str, optional
        Column of categories (e.g. crime type) summarised in ``top_categories``.
    min_harm : float, optional
        Clusters whose summed harm is below this are dropped (their points count as
        noise). ``None``: ``settings.cluster_min_harm`` if set, else, with `weight`, the
        median incident's harm times ``min_samples`` (a cluster must hold at least the
        harm of ``min_samples`` typical incidents); without `weight` no floor.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cluster, most harm first: ``cluster_id`` (1 = most harm), ``n``,
        ``harm`` (sum of weights; ``n`` if unweighted), ``area_m2``, ``top_categories``
        (``"Robbery 12; Drugs 3"``, top three, ``""`` without ``category_col``) and
        ``geometry`` (convex hull, buffered by ``cluster_hull_pad_m`` = 10 m when it is a
        point or line). ``attrs``: ``n_noise``, ``method``, ``eps_m``, ``min_samples``, ``min_harm``.

    Raises
    ------
    GeoInputError
        For a geographic CRS, empty input, missing columns, bad weights or parameters.

    References
    ----------
    Ester, Kriegel, Sander & Xu (1996), KDD-96, 226-231; Campello, Moulavi & Sander
    (2013), PAKDD, LNCS 7819.
    """
    from sklearn.cluster import DBSCAN, HDBSCAN

    if method not in ("dbscan", "hdbscan"):
        raise GeoInputError(f"method must be 'dbscan' or 'hdbscan', got {method!r}",
                            fix="pass method='dbscan' or method='hdbscan'")
    x, y = point_xy(points)
    w = point_weights(points, weight)
    if category_col is not None and category_col not in points.columns:
        raise GeoInputError(f"category column {category_col!r} not found",
                            where=f"columns {list(points.columns)}",
                            fix="pass e.g. category_col='crime_type', or None")
    n = len(x)
    if min_samples is None:
        min_samples = max(5, int(round(math.log(n)))) if n > 1 else 2
        logger.info("min_samples set automatically to %s", min_samples)
    if not (isinstance(min_samples, (int, np.integer)) and min_samples >= 2):
        raise GeoInputError(f"min_samples must be an integer >= 2, got {min_samples!r}",
                            fix="pass e.g. min_samples=10")
    if n < min_samples:
        raise GeoInputError(f"only {n} point(s): fewer than min_samples={min_samples}",
                            fix="lower min_samples or widen the date range/area")
    xy = np.column_stack([x, y])
    if eps_m is not None:
        eps_m = _check_distance(eps_m)
    if method == "dbscan":
        if eps_m is None:
            eps_m = auto_eps(x, y, min_samples - 1)
            logger.info("DBSCAN eps set automatically to %s m", f"{eps_m:,.0f}")
        check_pair_memory(x, y, eps_m, what="DBSCAN")
        labels = DBSCAN(eps=eps_m, min_samples=min_samples).fit_predict(xy)
    else:
        labels = HDBSCAN(min_cluster_size=min_samples, min_samples=min_samples,
                         cluster_selection_epsilon=float(eps_m or 0.0),
                         copy=True).fit_predict(xy)
    if min_harm is None:
        min_harm = float(setting("cluster_min_harm", 0.0)) or (
            float(np.median(w)) * min_samples if w is not None and len(w) else 0.0)
    min_harm = float(min_harm)
    if min_harm > 0 and (labels >= 0).any():
        ww0 = np.ones(n) if w is None else w
        sums = np.bincount(labels[labels >= 0], ww0[labels >= 0])
        small = np.flatnonzero(sums < min_harm)
        if small.size:
            logger.info("%s: %s cluster(s) below the minimum harm %.0f dropped", method, small.size, min_harm)
            labels = np.where(np.isin(labels, small), -1, labels)
            kept = np.unique(labels[labels >= 0])
            labels = np.where(labels >= 0, np.searchsorted(kept, labels), -1)
    n_noise = int((labels < 0).sum())
    logger.info("%s: %s cluster(s), %s noise point(s)", method,
                int(labels.max()) + 1 if labels.size else 0, n_noise)
    keep = labels >= 0
    lab = labels[keep]
    ww = np.ones(n) if w is None else w
    k = int(lab.max()) + 1 if lab.size else 0
    counts = np.bincount(lab, minlength=k)
    harm = np.bincount(lab, ww[keep], minlength=k)
    if k:
        order = np.argsort(lab, kind="stable")
        hulls = shapely.convex_hull(shapely.multipoints(xy[keep][order], indices=lab[order]))
        pad = setting("cluster_hull_pad_m", 10.0)
        thin = shapely.get_type_id(hulls) != 3
        hulls[thin] = shapely.buffer(hulls[thin], pad)
    else:
        hulls = np.array([], dtype=object)
    if category_col is not None and k:
        cats = points[category_col].to_numpy()[keep]
        top = [""] * k
        frame = pd.DataFrame({"l": lab, "c": cats})
        for lbl, grp in frame.groupby("l", sort=False)["c"]:
            top[int(lbl)] = "; ".join(f"{c} {m}" for c, m in
                                      Counter(grp.astype(str)).most_common(3))
    else:
        top = [""] * k
    out = gpd.GeoDataFrame(
        {"n": counts.astype(np.int64), "harm": harm.astype(float),
         "area_m2": shapely.area(hulls) if k else np.array([], float),
         "top_categories": top},
        geometry=gpd.GeoSeries(hulls, crs=points.crs), crs=points.crs,
    )
    out = out.sort_values(["harm", "n"], ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "cluster_id", np.arange(1, k + 1, dtype=np.int64))
    out = out[list(CLUSTER_COLUMNS)]
    out.attrs.update({"n_noise": n_noise, "method": method, "eps_m": eps_m,
                      "min_samples": int(min_samples), "min_harm": min_harm})
    return out


# --------------------------------------------------------------------------------------
# change between periods
# --------------------------------------------------------------------------------------
def change_surface(before, after, column: str = "n") -> gpd.GeoDataFrame:
    """Difference and ratio of a grid column between two periods on the same grid.

    Parameters
    ----------
    before, after : geopandas.GeoDataFrame
        Outputs of :func:`grid_counts` with the same ``cell_size`` and ``shape`` (best:
        the second built with ``grid=before.attrs["grid"]``). Cells are matched on
        ``cell_id``; a cell missing from one period counts as 0 there.
    column : str
        Column to compare, e.g. ``"n"`` or ``"harm"``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``cell_id``, ``before``, ``after``, ``change`` (after - before) and
        ``ratio`` (after / before; NaN where before is 0), ``geometry``; plus ``row`` and
        ``col`` (and ``attrs["grid"]``) when both periods share one grid.

    Raises
    ------
    GeoInputError
        If a column is missing or the grids differ in cell shape or size.

    Examples
    --------
    >>> import geopandas as gpd
    >>> a = gpd.GeoDataFrame(geometry=gpd.points_from_xy([10, 20, 150], [10, 10, 10]),
    ...                      crs=27700)
    >>> b = gpd.GeoDataFrame(geometry=gpd.points_from_xy([10, 150, 160], [10, 10, 10]),
    ...                      crs=27700)
    >>> ca = grid_counts(a, cell_size=100)
    >>> ch = change_surface(ca, grid_counts(b, grid=ca.attrs["grid"]))
    >>> ch[["change", "ratio"]].to_dict("list")
    {'change': [-1, 1], 'ratio': [0.5, 2.0]}
    """
    for name, frame in (("before", before), ("after", after)):
        if not isinstance(frame, gpd.GeoDataFrame) or not {"cell_id", column} <= set(
                frame.columns):
            raise GeoInputError(
                f"`{name}` needs columns 'cell_id' and {column!r}",
                where=f"{name} columns {list(getattr(frame, 'columns', []))}",
                fix="pass two outputs of grid_counts and an existing column",
            )
    ga, gb = before.attrs.get("grid"), after.attrs.get("grid")
    if isinstance(ga, GridSpec) and isinstance(gb, GridSpec) and not ga.same_lattice(gb):
        raise GeoInputError(
            f"the periods use different grids ({ga.shape} {ga.cell_size:g} m vs "
            f"{gb.shape} {gb.cell_size:g} m)",
            fix="build the second with grid_counts(..., grid=before.attrs['grid'])",
        )
    a = pd.DataFrame({"cell_id": before["cell_id"].to_numpy(),
                      "before": before[column].to_numpy(), "geom_a": before.geometry.values})
    b = pd.DataFrame({"cell_id": after["cell_id"].to_numpy(),
                      "after": after[column].to_numpy(), "geom_b": after.geometry.values})
    m = a.merge(b, on="cell_id", how="outer", sort=False)
    same_grid = ga is not None and ga == gb
    geom = m["geom_a"].where(m["geom_a"].notna(), m["geom_b"])
    m["before"] = m["before"].fillna(0)
    m["after"] = m["after"].fillna(0)
    if pd.api.types.is_integer_dtype(before[column]) and pd.api.types.is_integer_dtype(
            after[column]):
        m["before"] = m["before"].astype(np.int64)
        m["after"] = m["after"].astype(np.int64)
    bef = m["before"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bef > 0, m["after"].to_numpy(float) / bef, np.nan)
    out = gpd.GeoDataFrame(
        {"cell_id": m["cell_id"].to_numpy(), "before": m["before"], "after": m["after"],
         "change": m["after"] - m["before"], "ratio": ratio},
        geometry=gpd.GeoSeries(geom.to_numpy(), crs=before.crs), crs=before.crs,
    )
    if same_grid:
        rc = before.set_index("cell_id")[["row", "col"]]
        rc2 = after.set_index("cell_id")[["row", "col"]]
        rc = pd.concat([rc, rc2[~rc2.index.isin(rc.index)]])
        out.insert(1, "row", rc.loc[out["cell_id"], "row"].to_numpy())
        out.insert(2, "col", rc.loc[out["cell_id"], "col"].to_numpy())
        out.attrs["grid"] = ga
    return out


# --------------------------------------------------------------------------------------
# calls for service against recorded crime
# --------------------------------------------------------------------------------------
#: Classes of :func:`calls_vs_crime`, in legend order.
CALLS_CRIME_CLASSES: tuple[str, ...] = (
    "Hot in calls only (possible hidden demand)", "Hot in both", "Hot in crime only",
    "Not hot",
)


def calls_vs_crime(
    calls,
    crime,
    *,
    cell_size: float | None = None,
    shape: str = "square",
    weight: str | None = None,
    area=None,
    alpha: float | None = None,
    distance: float | None = None,
    correction: str | None = "fdr_bh",
) -> gpd.GeoDataFrame:
    """Gi* hot spots of calls for service and of recorded crime on one grid, side by side.

    Both layers are counted on the same cells (one grid over both, or over ``area``) and
    tested separately with :func:`gistar`. A cell that is a significant hot spot of
    calls but not of recorded crime is flagged ``hidden_demand``: people ask for help
    there, yet little is recorded, which may mean under-recording, or demand the police
    do not see as crime (check before acting on it).

    Parameters
    ----------
    calls, crime : geopandas.GeoDataFrame
        Points in the same projected CRS in metres.
    cell_size : float, optional
        Metres; ``None``: :func:`auto_cell_size` over both layers together (logged).
    shape : {"square", "hex"}
    weight : str, optional
        Harm-weight column present in both layers; Gi* then tests summed harm.
    area : polygon, GeoSeries or GeoDataFrame, optional
        Study area; cells outside it are dropped.
    alpha : float, optional
        Significance level; ``None``: ``settings.alpha``.
    distance, correction
        As :func:`gistar`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cell: ``cell_id``, ``row``, ``col``, ``n_calls``, ``n_crime``,
        ``harm_calls``, ``harm_crime``, ``gistar_calls``, ``p_calls`` (adjusted),
        ``hotspot_calls``, ``gistar_crime``, ``p_crime``, ``hotspot_crime`` (labels of
        :data:`HOTSPOT_LABELS`), ``hot_calls``, ``hot_crime``, ``hidden_demand``
        (bools), ``class`` (one of :data:`CALLS_CRIME_CLASSES`) and ``geometry``.
        ``attrs``: ``grid``, ``cell_size``, ``distance``, ``alpha``, ``correction``.

    Raises
    ------
    GeoInputError
        If either layer is unusable, the CRSs differ or a parameter is out of range.

    Examples
    --------
    >>> import geopandas as gpd
    >>> calls = gpd.GeoDataFrame(geometry=gpd.points_from_xy(
    ...     [550.0] * 20 + [50.0, 950.0, 50.0, 950.0], [550.0] * 20 + [50.0, 50.0, 950.0, 950.0]),
    ...     crs="EPSG:27700")
    >>> crime = gpd.GeoDataFrame(geometry=gpd.points_from_xy(
    ...     [50.0, 950.0, 50.0, 950.0, 350.0], [50.0, 50.0, 950.0, 950.0, 750.0]), crs="EPSG:27700")
    >>> out = calls_vs_crime(calls, crime, cell_size=100)
    >>> out.set_index("cell_id").loc["500_500", ["hot_calls", "hot_crime", "hidden_demand"]].tolist()
    [True, False, True]
    """
    xc, yc = point_xy(calls, "calls")
    xr, yr = point_xy(crime, "crime")
    if calls.crs != crime.crs:
        raise GeoInputError(f"calls ({calls.crs}) and crime ({crime.crs}) use different CRSs",
                            fix="reproject one to the other, e.g. calls.to_crs(crime.crs)")
    point_weights(calls, weight, "calls")
    point_weights(crime, weight, "crime")
    keep = [weight] if weight else []
    both = gpd.GeoDataFrame(
        pd.concat([calls[keep], crime[keep]], ignore_index=True) if keep else None,
        geometry=gpd.GeoSeries(np.concatenate([np.asarray(calls.geometry.values),
                                               np.asarray(crime.geometry.values)]),
                               crs=calls.crs),
        crs=calls.crs)
    base = grid_counts(both, cell_size=cell_size, shape=shape, area=area)
    spec = base.attrs["grid"]
    a = settings.alpha if alpha is None else alpha
    cc = grid_counts(calls, grid=spec, weight=weight, area=area)
    cr = grid_counts(crime, grid=spec, weight=weight, area=area)
    column = "harm" if weight else "n"
    gc = gistar(cc, column=column, distance=distance, correction=correction, alpha=a)
    gr = gistar(cr, column=column, distance=gc.attrs["distance"], correction=correction,
                alpha=a)
    hot_c = gc["hotspot"].astype(str).str.startswith("Hot").to_numpy()
    hot_r = gr["hotspot"].astype(str).str.startswith("Hot").to_numpy()
    cls = np.select([hot_c & ~hot_r, hot_c & hot_r, hot_r], list(CALLS_CRIME_CLASSES[:3]),
                    CALLS_CRIME_CLASSES[3])
    out = gpd.GeoDataFrame(
        {
            "cell_id": cc["cell_id"].to_numpy(), "row": cc["row"].to_numpy(),
            "col": cc["col"].to_numpy(),
            "n_calls": cc["n"].to_numpy(), "n_crime": cr["n"].to_numpy(),
            "harm_calls": cc["harm"].to_numpy(), "harm_crime": cr["harm"].to_numpy(),
            "gistar_calls": gc["gistar"].to_numpy(), "p_calls": gc["p_adj"].to_numpy(),
            "hotspot_calls": gc["hotspot"].to_numpy(),
            "gistar_crime": gr["gistar"].to_numpy(), "p_crime": gr["p_adj"].to_numpy(),
            "hotspot_crime": gr["hotspot"].to_numpy(),
            "hot_calls": hot_c, "hot_crime": hot_r, "hidden_demand": hot_c & ~hot_r,
            "class": pd.Categorical(cls, categories=list(CALLS_CRIME_CLASSES)),
        },
        geometry=cc.geometry.values, crs=calls.crs,
    )
    out.attrs.update({"grid": spec, "cell_size": float(spec.cell_size),
                      "distance": gc.attrs["distance"], "alpha": a, "correction": correction})
    logger.info("calls vs crime: %s cell(s) hot in calls only, %s in both, %s in crime only",
                int((hot_c & ~hot_r).sum()), int((hot_c & hot_r).sum()),
                int((~hot_c & hot_r).sum()))
    return out
