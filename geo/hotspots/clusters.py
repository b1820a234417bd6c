"""Point clusters (DBSCAN) with a data-driven neighbourhood radius: :func:`point_clusters`,
:func:`knee_eps`.
"""
from __future__ import annotations

import hashlib
import logging
import math
import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from ..errors import GeoInputError
from .grid import setting, point_weights, point_xy
from .gistar import check_distance as _check_distance  # the body of point_clusters is unchanged

logger = logging.getLogger(__name__)


CLUSTER_COLUMNS: tuple[str, ...] = ("cluster_id", "n", "harm", "area_m2", "top_categories",
                                    "geometry")


def knee_eps(x: np.ndarray, y: np.ndarray, k: int, max_sample: int = 50_000,
             seed: int = 0) -> float:
    """DBSCAN ``eps`` from the knee of the sorted k-distance curve (Ester et al. 1996).

    Distances to the ``k``-th nearest neighbour (self excluded) are sorted, the top 1%
    is trimmed (isolated outliers), and the knee is the point furthest below the chord
    joining the ends of the curve. Copies of a location share their k-distance, so it is
    computed once per distinct location (:func:`distinct_points`; police.uk: about 17,000 map
    points under 250,000 incidents), counting each neighbouring location as many times as it
    holds incidents, and repeated by the location's count: the curve of every incident, as
    a query of every incident would give it. Above ``max_sample`` distinct locations a
    random sample of ``max_sample`` incidents is used, as before.
    """
    xy = np.column_stack([x, y])
    memo = (hashlib.blake2b(np.ascontiguousarray(xy, dtype=np.float64).tobytes(), digest_size=16).digest(),
            int(k), int(max_sample), int(seed))
    with _KNEE_LOCK:  # the page asks for the automatic radius, then the run would compute it again
        if memo in _KNEE_MEMO:
            return _KNEE_MEMO[memo]
    loc, counts, inverse = distinct_points(xy)
    kk = min(k, len(xy) - 1)
    if len(loc) <= max_sample:  # the whole curve, once per location
        kd = np.repeat(_kth_distance(loc, counts, loc, kk + 1), counts)
    else:
        idx = np.random.default_rng(seed).choice(len(xy), max_sample, replace=False)
        asked, back = np.unique(inverse[idx], return_inverse=True)
        kd = _kth_distance(loc, counts, loc[asked], kk + 1)[back]
    kd = np.sort(kd)
    kd = kd[: max(2, int(math.ceil(len(kd) * 0.99)))]
    span = kd[-1] - kd[0]
    if span <= 0:
        value = max(float(kd[-1]), 1.0)
    else:
        t = np.linspace(0, 1, len(kd))
        value = max(float(kd[int(np.argmax(t - (kd - kd[0]) / span))]), 1.0)
    with _KNEE_LOCK:
        _KNEE_MEMO[memo] = value
        while len(_KNEE_MEMO) > 16:
            _KNEE_MEMO.pop(next(iter(_KNEE_MEMO)))
    return value


_KNEE_MEMO: dict = {}  # (digest of the points, k, max_sample, seed) -> knee, the last 16
_KNEE_LOCK = threading.Lock()


def _kth_distance(loc: np.ndarray, counts: np.ndarray, query: np.ndarray, j: int) -> np.ndarray:
    """Distance from each of ``query`` (rows of ``loc``) to its ``j``-th nearest incident, itself
    included, where location ``i`` of ``loc`` holds ``counts[i]`` incidents.

    Each location holds at least one incident, so the ``j`` nearest locations hold the ``j``-th
    nearest incident: the first of them at which the running count reaches ``j``.
    """
    kq = min(j, len(loc))
    dist, idx = cKDTree(loc).query(query, k=kq)
    dist, idx = dist.reshape(len(query), kq), idx.reshape(len(query), kq)
    reached = np.cumsum(counts[idx], axis=1) >= j
    return dist[np.arange(len(query)), np.argmax(reached, axis=1)]


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


def distinct_points(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct locations of ``xy`` in order of first appearance, their counts, and each row's location.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        ``(locations (m, 2), counts (m,), inverse (n,))`` with ``locations[inverse] == xy``.
    """
    xy = np.ascontiguousarray(xy, dtype=np.float64) + 0.0  # + 0.0: -0.0 and 0.0 are one location
    # one complex number per row: pandas hashes it, and factorize numbers locations by first appearance
    inverse, _ = pd.factorize(xy.view(np.complex128).ravel())
    counts = np.bincount(inverse)
    first = np.full(counts.size, len(xy), dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(len(xy)))
    return xy[first], counts, inverse.astype(np.intp)


def dbscan_labels(xy: np.ndarray, eps_m: float, min_samples: int, *, distinct=None) -> np.ndarray:
    """scikit-learn's DBSCAN labels of ``xy``, computed on its distinct locations weighted by their counts.

    police.uk publishes every crime at one of a fixed set of map points, so 250,000 incidents
    sit on about 30,000 locations. DBSCAN with ``sample_weight`` (a location of ``c``
    incidents counts ``c`` times towards ``min_samples``) gives every copy of a location the
    label the unweighted run gives it: copies share their neighbours, so they are core, border
    or noise together, and with the locations in order of first appearance clusters are found,
    and border points claimed, in the same order. The pair-memory check
    (:func:`check_pair_memory`) is made on the locations, which is what is allocated.

    Parameters
    ----------
    xy : numpy.ndarray
        ``(n, 2)`` coordinates in metres.
    eps_m : float
        Neighbourhood radius.
    min_samples : int
        Incidents (the point itself included) that make a core point.
    distinct : tuple, optional
        :func:`distinct_points` of ``xy`` if already computed.

    Returns
    -------
    numpy.ndarray
        One label per row of ``xy`` (-1: noise), as ``DBSCAN(eps, min_samples).fit_predict(xy)``.

    References
    ----------
    Ester, Kriegel, Sander & Xu (1996), KDD-96, 226-231 (weights: scikit-learn's
    ``DBSCAN.fit(sample_weight=)``).
    """
    from sklearn.cluster import DBSCAN

    loc, counts, inverse = distinct if distinct is not None else distinct_points(xy)
    check_pair_memory(loc[:, 0], loc[:, 1], eps_m, what="DBSCAN")
    lab = DBSCAN(eps=eps_m, min_samples=min_samples).fit_predict(loc, sample_weight=counts)
    return lab[inverse]


def hdbscan_labels(xy: np.ndarray, min_samples: int, epsilon: float = 0.0, *,
                   distinct=None) -> tuple[np.ndarray, str]:
    """scikit-learn's HDBSCAN labels of ``xy``: on every incident, or on the distinct map points when there are many.

    HDBSCAN's time grows faster than the number of points (about 10 s for 40,000 police.uk
    incidents on one core; 250,000 did not finish in minutes). Up to
    ``settings.hdbscan_max_points`` incidents it runs on every incident, as before. Above
    that it runs on the distinct locations (police.uk's anonymised map points: about 17,000
    under South Yorkshire's 250,000 crimes of 18 months) and every incident takes its map
    point's label. **That is not the same clustering**: scikit-learn's HDBSCAN takes no
    weights, so a map point holding 40 incidents counts once towards the density and
    ``min_cluster_size`` counts map points, not incidents. The result says which was
    clustered (``point_clusters(...).attrs["clustered"]``) and the page and the command line
    say it too. Above the limit in map points as well, the run is refused with how to narrow it.

    Parameters
    ----------
    xy : numpy.ndarray
        ``(n, 2)`` coordinates in metres.
    min_samples : int
        HDBSCAN's ``min_samples`` and ``min_cluster_size``.
    epsilon : float
        ``cluster_selection_epsilon`` (metres).
    distinct : tuple, optional
        :func:`distinct_points` of ``xy`` if already computed.

    Returns
    -------
    (numpy.ndarray, str)
        One label per row (-1: noise), and ``"incidents"`` or ``"map points"``.

    Raises
    ------
    GeoInputError
        If even the distinct map points exceed ``settings.hdbscan_max_points``.

    References
    ----------
    Campello, Moulavi & Sander (2013), PAKDD, LNCS 7819; McInnes, Healy & Astels (2017),
    "hdbscan: Hierarchical density based clustering", JOSS 2(11), 205.
    """
    from sklearn.cluster import HDBSCAN

    limit = int(setting("hdbscan_max_points", 25_000))
    run = lambda pts: HDBSCAN(min_cluster_size=min_samples, min_samples=min_samples,  # noqa: E731
                              cluster_selection_epsilon=epsilon, copy=True).fit_predict(pts)
    if len(xy) <= limit:
        return run(xy), "incidents"
    loc, _, inverse = distinct if distinct is not None else distinct_points(xy)
    if len(loc) > limit:
        raise GeoInputError(
            f"HDBSCAN on {len(xy):,} incidents at {len(loc):,} distinct locations would take many minutes "
            f"(the limit is {limit:,} incidents, or {limit:,} distinct map points)",
            fix="narrow the months, crime types or area, or use DBSCAN (fast on any number of incidents)")
    logger.info("HDBSCAN: %s incidents > %s: clustering their %s distinct map points", len(xy), limit, len(loc))
    return run(loc)[inverse], "map points"


def _top_categories(cats: pd.Series, lab: np.ndarray, k: int) -> list[str]:
    """``"Robbery 12; Drugs 3"`` per cluster: its three most frequent categories, ties in order of
    first appearance (as ``Counter.most_common``), one vectorised pass instead of a loop per cluster."""
    codes, names = pd.factorize(cats.astype(str).to_numpy())
    frame = pd.DataFrame({"l": lab, "c": codes, "i": np.arange(len(lab))})
    g = frame.groupby(["l", "c"], sort=False)["i"].agg(["size", "min"]).reset_index()
    g = g.sort_values(["l", "size", "min"], ascending=[True, False, True], kind="stable")
    g = g[g.groupby("l", sort=False).cumcount() < 3]
    text = np.asarray(names, dtype=object)[g["c"].to_numpy()] + " " + g["size"].astype(str).to_numpy(dtype=object)
    rank = g.groupby("l", sort=False).cumcount().to_numpy()
    lbl = g["l"].to_numpy().astype(np.intp)
    top = np.full(k, "", dtype=object)
    for r in range(3):  # "A 3" + "; B 2" + "; C 1", one vectorised pass per rank instead of a join per cluster
        at = rank == r
        top[lbl[at]] = top[lbl[at]] + ("" if r == 0 else "; ") + text[at]
    return top.tolist()


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
        DBSCAN runs on the distinct locations weighted by their counts (exact:
        :func:`dbscan_labels`); HDBSCAN above ``settings.hdbscan_max_points`` incidents runs on
        the distinct map points (not the same clustering: :func:`hdbscan_labels`).
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
        point or line). ``attrs``: ``n_noise``, ``method``, ``eps_m``, ``min_samples``, ``min_harm``,
        ``clustered`` (``"incidents"``, or ``"map points"`` for HDBSCAN above
        ``settings.hdbscan_max_points``: see :func:`hdbscan_labels`), ``n_locations`` (distinct
        locations).

    Raises
    ------
    GeoInputError
        For a geographic CRS, empty input, missing columns, bad weights or parameters.

    References
    ----------
    Ester, Kriegel, Sander & Xu (1996), KDD-96, 226-231; Campello, Moulavi & Sander
    (2013), PAKDD, LNCS 7819.
    """
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
    distinct = distinct_points(xy)  # police.uk: ~30,000 map points under 250,000 incidents
    if eps_m is not None:
        eps_m = _check_distance(eps_m)
    if method == "dbscan":
        if eps_m is None:
            eps_m = auto_eps(x, y, min_samples - 1)
            logger.info("DBSCAN eps set automatically to %s m", f"{eps_m:,.0f}")
        labels = dbscan_labels(xy, eps_m, min_samples, distinct=distinct)
    else:
        labels, on = hdbscan_labels(xy, min_samples, float(eps_m or 0.0), distinct=distinct)
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
        loc, _, inverse = distinct
        pairs = np.unique(lab.astype(np.int64) * len(loc) + inverse[keep])  # each map point once per cluster
        pair_lab, pair_loc = np.divmod(pairs, len(loc))
        hulls = shapely.convex_hull(shapely.multipoints(loc[pair_loc], indices=pair_lab))
        pad = setting("cluster_hull_pad_m", 10.0)
        thin = shapely.get_type_id(hulls) != 3
        hulls[thin] = shapely.buffer(hulls[thin], pad)
    else:
        hulls = np.array([], dtype=object)
    if category_col is not None and k:
        top = _top_categories(points[category_col][keep], lab, k)
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
                      "min_samples": int(min_samples), "min_harm": min_harm,
                      "clustered": "incidents" if method == "dbscan" else on,
                      "n_locations": int(len(distinct[0]))})
    return out
