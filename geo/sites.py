"""Exposure of sensitive sites (schools, treatment services, hostels...) to drug-market harm.

* :func:`site_exposure`: per site, incidents and harm within each buffer, whether the
  site lies in or next to a significant hot spot, and the trend of monthly harm nearby;
* :func:`most_exposed`: the most exposed sites of each BCU, ranked;
* :func:`nearest_sites`: for each hot spot, the nearest site of each kind and its
  distance;
* the taxonomy (kinds and display names in :data:`geo.settings.SITE_KINDS`) is in
  :mod:`geo.site_kinds` (re-exported here): :func:`site_kind`, :func:`site_label`,
  :func:`school_phase`, :func:`classify_health_sites`, :func:`duplicate_sites` and
  :func:`sensitive_sites` (the sites an exposure ranking uses: no "other", each site once).

Distances are straight-line metres in the analysis CRS; "within r m" means a distance
of at most r (a point exactly on the ring counts).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import GeoInputError
from .grid import check_crs_metres, point_weights
from .periods import month_range
from .settings import SENSITIVE_SITE_KINDS, settings
from .site_kinds import (classify_health_sites, duplicate_sites, school_phase, sensitive_sites, site_kind,
                         site_label)
from .stats import mann_kendall_rows

logger = logging.getLogger(__name__)

__all__ = ["buffer_columns", "classify_health_sites", "duplicate_sites", "exposure_near_hotspots", "hot_polygons",
           "most_exposed", "nearest_sites", "school_phase", "sensitive_sites", "site_exposure", "site_kind", "site_label"]

NO_BCU = "(outside the BCUs)"


def _label(r: float) -> str:
    return f"{int(r)}" if float(r).is_integer() else f"{r:g}"


def buffer_columns(buffers_m: Sequence[float]) -> list[tuple[float, str, str]]:
    """``(radius, count column, harm column)`` per buffer, e.g. ``(200, "n_200m", "harm_200m")``."""
    return [(float(r), f"n_{_label(r)}m", f"harm_{_label(r)}m") for r in buffers_m]


def _check_frame(gdf, name: str, columns: Sequence[str] = ()) -> None:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise GeoInputError(f"`{name}` must be a GeoDataFrame, got {type(gdf).__name__}",
                            fix="read it with geo.read_sites / Workspace.sites() or build one "
                                "with geopandas.GeoDataFrame(..., crs='EPSG:27700')")
    check_crs_metres(gdf, name)
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise GeoInputError(f"`{name}` has no column {missing[0]!r}",
                            where=f"{name} columns {list(gdf.columns)}",
                            fix=f"add it or pass the name of the column to use")
    bad = gdf.geometry.isna() | gdf.geometry.is_empty
    if bad.any():
        raise GeoInputError(f"`{name}` has {int(bad.sum())} row(s) without a geometry",
                            where=f"{name} row {gdf.index[np.flatnonzero(bad.to_numpy())[0]]!r}",
                            fix=f"drop them first, e.g. {name}[{name}.geometry.notna()]")


def _check_buffers(buffers_m) -> tuple[float, ...]:
    try:
        out = tuple(sorted({float(b) for b in buffers_m}))
    except (TypeError, ValueError):
        out = ()
    if not out or not all(np.isfinite(b) and b > 0 for b in out):
        raise GeoInputError(f"buffers_m must be positive distances in metres, got {buffers_m!r}",
                            fix="pass e.g. buffers_m=(200, 400)")
    return out


def hot_polygons(hotspots) -> gpd.GeoDataFrame:
    """Keep the significant hot spots of a hot-spot layer.

    Understands the outputs of this package: a ``class`` column (hot classes start with
    "Hot", "Top" or "Cluster", or contain "Hot Spot"), :func:`geo.hotspots.gistar`'s
    ``hotspot`` ("Hot spot 9x%"), :func:`geo.emerging.hotspot_emerging`'s ``pattern``
    (any "... Hot Spot"). A frame with none of these columns (e.g. DBSCAN clusters) is
    taken as it is: every row a hot spot.
    """
    if hotspots is None:
        return None
    if not isinstance(hotspots, gpd.GeoDataFrame):
        raise GeoInputError(f"`hotspots` must be a GeoDataFrame, got {type(hotspots).__name__}",
                            fix="pass the output of gistar, hotspot_emerging or point_clusters")
    if "pattern" in hotspots.columns:
        keep = hotspots["pattern"].astype(str).str.contains("Hot Spot")
    elif "hotspot" in hotspots.columns:
        keep = hotspots["hotspot"].astype(str).str.startswith("Hot")
    elif "class" in hotspots.columns:
        c = hotspots["class"].astype(str)
        keep = c.str.startswith(("Hot", "Top", "Cluster")) | c.str.contains("Hot Spot")
    else:
        return hotspots
    return hotspots[keep.to_numpy()]


def _pairs_within(sites_geom: np.ndarray, pts_geom: np.ndarray, radius: float):
    """Pairs (site index, point index, distance m) closer than ``radius`` (inclusive)."""
    if (shapely.get_type_id(sites_geom) == 0).all():  # point sites: a k-d tree is much faster
        from scipy.spatial import cKDTree
        sxy = shapely.get_coordinates(sites_geom)
        pxy = shapely.get_coordinates(pts_geom)
        hits = cKDTree(pxy).query_ball_point(sxy, radius * (1 + 1e-9))
        si = np.repeat(np.arange(len(sxy)), [len(h) for h in hits])
        pi = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=len(si))
        d = np.hypot(pxy[pi, 0] - sxy[si, 0], pxy[pi, 1] - sxy[si, 1])
        keep = d <= radius
        return si[keep], pi[keep], d[keep]
    tree = shapely.STRtree(pts_geom)
    si, pi = tree.query(sites_geom, predicate="dwithin", distance=radius)
    d = shapely.distance(sites_geom[si], pts_geom[pi])
    keep = d <= radius
    return si[keep], pi[keep], d[keep]


def site_exposure(
    sites,
    incidents,
    *,
    buffers_m: Sequence[float] = settings.site_buffers_m,
    hotspots=None,
    bcus=None,
    weight: str | None = "harm",
    near_m: float | None = None,
    trend_buffer_m: float | None = None,
    alpha: float | None = None,
    kind_col: str = "kind",
    name_col: str = "name",
    month_col: str = "month",
) -> gpd.GeoDataFrame:
    """Incidents and harm near each sensitive site, hot-spot proximity and trend.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Sites (points, or polygons such as school grounds) in a projected CRS in metres,
        with ``kind_col`` and ``name_col``.
    incidents : geopandas.GeoDataFrame
        Incident points in the same CRS, with ``weight`` and ``month_col``.
    buffers_m : sequence of float, default ``settings.site_buffers_m`` (200, 400)
        Radii in metres; distances are measured from the site's geometry.
    hotspots : geopandas.GeoDataFrame, optional
        Hot-spot polygons, filtered to the significant hot ones by :func:`hot_polygons`
        (Gi* cells, emerging cells, clusters). ``None``: the hot-spot columns are left
        empty.
    bcus : geopandas.GeoDataFrame, optional
        BCU polygons with ``code`` and ``name``; each site gets the BCU containing it.
    weight : str or None, default "harm"
        Harm-weight column summed into ``harm_*``; ``None`` counts every incident as 1.
    near_m : float, optional
        A site is "next to" a hot spot when one lies within this distance; ``None``:
        the smallest buffer.
    trend_buffer_m : float, optional
        Buffer whose monthly harm is tested for trend; ``None``: the largest.
    alpha : float, optional
        Level of the trend test; ``None``: ``settings.alpha``.
    kind_col, name_col, month_col : str
        Column names.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per site, in the order given: ``site_id`` (``uid`` if present, else the
        index), ``name``, ``kind``, ``bcu_code``, ``bcu_name``, then per buffer
        ``n_<r>m`` (incidents within r m) and ``harm_<r>m`` (sum of their weights);
        ``hotspot`` ("in", "next to", "no", or "" without ``hotspots``),
        ``in_or_next_to_hotspot`` (bool), ``hotspot_distance_m`` (0 inside; NaN
        without hot spots), ``hotspot_class`` (class of the nearest hot spot);
        ``trend`` ("increasing", "decreasing", "no trend", or "too few months"),
        ``trend_tau``, ``trend_pvalue`` (Mann-Kendall on the monthly harm within
        ``trend_buffer_m``, empty months 0), ``harm_last_month``; and ``geometry``.
        ``attrs``: ``buffers_m``, ``near_m``, ``trend_buffer_m``, ``months``.

    Raises
    ------
    GeoInputError
        Bad frames, CRS mismatch, missing columns, bad weights or buffers.

    Examples
    --------
    >>> import geopandas as gpd
    >>> site = gpd.GeoDataFrame({"name": ["St Anne's"], "kind": ["school"]},
    ...                         geometry=gpd.points_from_xy([0], [0]), crs=27700)
    >>> pts = gpd.GeoDataFrame({"harm": [2.0, 3.0, 5.0], "month": ["2024-01"] * 3},
    ...                        geometry=gpd.points_from_xy([150, 0, 350], [0, 200, 0]), crs=27700)
    >>> out = site_exposure(site, pts)
    >>> out[["n_200m", "n_400m"]].iloc[0].tolist(), out[["harm_200m", "harm_400m"]].iloc[0].tolist()
    ([2, 3], [5.0, 10.0])
    """
    _check_frame(sites, "sites", [kind_col, name_col])
    _check_frame(incidents, "incidents")
    if sites.crs != incidents.crs:
        raise GeoInputError(f"sites ({sites.crs}) and incidents ({incidents.crs}) use "
                            "different CRSs", fix="reproject the sites: sites.to_crs(incidents.crs)")
    radii = _check_buffers(buffers_m)
    near = radii[0] if near_m is None else float(near_m)
    trend_r = radii[-1] if trend_buffer_m is None else float(trend_buffer_m)
    a = settings.alpha if alpha is None else float(alpha)
    w = point_weights(incidents, weight, "incidents")
    n_sites = len(sites)
    s_geom = np.asarray(sites.geometry.values)
    p_geom = np.asarray(incidents.geometry.values)
    reach = max(radii[-1], trend_r)
    if len(incidents) and n_sites:
        si, pi, d = _pairs_within(s_geom, p_geom, reach)
    else:
        si = pi = np.array([], dtype=np.int64)
        d = np.array([], dtype=float)
    ww = np.ones(len(incidents)) if w is None else w

    site_id = (sites["uid"].to_numpy() if "uid" in sites.columns
               else sites.index.to_numpy())
    out = pd.DataFrame({"site_id": site_id, "name": sites[name_col].to_numpy(),
                        "kind": sites[kind_col].to_numpy()})
    out["bcu_code"], out["bcu_name"] = _site_bcus(sites, bcus)
    for r, ncol, hcol in buffer_columns(radii):
        m = d <= r
        out[ncol] = np.bincount(si[m], minlength=n_sites).astype(np.int64)
        out[hcol] = np.bincount(si[m], weights=ww[pi[m]], minlength=n_sites).astype(float)

    for col, values in _hot_columns(s_geom, sites.crs, hotspots, near).items():
        out[col] = values

    # monthly harm near each site, and its trend
    months: list[str] = []
    if month_col in incidents.columns and len(incidents):
        mon = incidents[month_col].astype("string").str.slice(0, 7)
        per = pd.PeriodIndex(pd.to_datetime(mon, errors="coerce", format="%Y-%m"), freq="M")
        ok = ~per.isna()
        if ok.any():
            months = month_range(str(per[ok].min()), str(per[ok].max()))
            code = pd.Categorical(mon, categories=months).codes
            m = (d <= trend_r) & (code[pi] >= 0)
            table = np.zeros((n_sites, len(months)))
            np.add.at(table, (si[m], code[pi[m]]), ww[pi[m]])
    if len(months) >= 3:
        s, _, tz, tp, tau = mann_kendall_rows(table)
        out["trend"] = np.where(tp < a, np.where(s > 0, "increasing", "decreasing"), "no trend")
        out["trend_tau"] = tau
        out["trend_pvalue"] = tp
    else:
        out["trend"] = "too few months"
        out["trend_tau"] = np.nan
        out["trend_pvalue"] = np.nan
    out["harm_last_month"] = table[:, -1] if months else 0.0
    res = gpd.GeoDataFrame(out, geometry=sites.geometry.values, crs=sites.crs)
    res.attrs.update({"buffers_m": list(radii), "near_m": near, "trend_buffer_m": trend_r,
                      "months": months, "alpha": a})
    return res


def _hot_columns(s_geom: np.ndarray, crs, hotspots, near: float) -> dict:
    """The hot-spot columns of :func:`site_exposure` for sites ``s_geom`` (in ``crs``)."""
    n = len(s_geom)
    hot = hot_polygons(hotspots)
    if hot is None:
        return {"hotspot": np.full(n, "", dtype=object), "in_or_next_to_hotspot": np.zeros(n, bool),
                "hotspot_distance_m": np.full(n, np.nan), "hotspot_class": np.full(n, "", dtype=object)}
    if hot.crs != crs:
        hot = hot.to_crs(crs)
    dist, cls = _nearest_hot(s_geom, hot)
    return {"hotspot": np.where(dist <= 0, "in", np.where(dist <= near, "next to", "no")),
            "in_or_next_to_hotspot": dist <= near,
            "hotspot_distance_m": np.where(np.isfinite(dist), dist, np.nan),
            "hotspot_class": cls}


def exposure_near_hotspots(exposure: gpd.GeoDataFrame, hotspots) -> gpd.GeoDataFrame:
    """``exposure`` (:func:`site_exposure` without ``hotspots``) with its hot-spot columns filled.

    The incidents and harm within each buffer and the trends do not depend on the hot spots,
    only these four columns do; a page that shows several hot-spot methods on one selection
    computes the rest once (:func:`site_exposure` with ``hotspots=None``) and this per method.
    The result is the frame ``site_exposure(..., hotspots=hotspots)`` returns (same columns, same
    order, same ``attrs``; a test checks).

    Parameters
    ----------
    exposure : geopandas.GeoDataFrame
        Output of :func:`site_exposure`; left unchanged (shared frames stay shared).
    hotspots : geopandas.GeoDataFrame or None
        As in :func:`site_exposure`; "next to" means within ``exposure.attrs["near_m"]``.

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame.
    """
    if "hotspot" not in exposure.columns or "near_m" not in exposure.attrs:
        raise GeoInputError("exposure is not a site_exposure() result",
                            where=f"columns: {', '.join(map(str, exposure.columns))}",
                            fix="call geo.sites.site_exposure(sites, incidents, ...) first")
    out = exposure.copy()
    cols = _hot_columns(np.asarray(exposure.geometry.values), exposure.crs, hotspots,
                        float(exposure.attrs["near_m"]))
    for col, values in cols.items():
        out[col] = values
    out.attrs.update(exposure.attrs)
    return out


def _site_bcus(sites: gpd.GeoDataFrame, bcus) -> tuple[np.ndarray, np.ndarray]:
    n = len(sites)
    if bcus is None or len(bcus) == 0 or n == 0:
        return np.full(n, "", dtype=object), np.full(n, NO_BCU if bcus is not None else "",
                                                    dtype=object)
    _check_frame(bcus, "bcus", ["code", "name"])
    b = bcus.to_crs(sites.crs) if bcus.crs != sites.crs else bcus
    pts = shapely.point_on_surface(np.asarray(sites.geometry.values))
    tree = shapely.STRtree(np.asarray(b.geometry.values))
    si, bi = tree.query(pts, predicate="intersects")
    first = pd.Series(bi, index=si).groupby(level=0).first()
    code = np.full(n, "", dtype=object)
    name = np.full(n, NO_BCU, dtype=object)
    code[first.index.to_numpy()] = b["code"].to_numpy()[first.to_numpy()]
    name[first.index.to_numpy()] = b["name"].to_numpy()[first.to_numpy()]
    return code, name


def _class_of(hot: gpd.GeoDataFrame) -> np.ndarray:
    for col in ("class", "pattern", "hotspot"):
        if col in hot.columns:
            return hot[col].astype(str).to_numpy()
    if "cluster_id" in hot.columns:
        return ("Cluster " + hot["cluster_id"].astype(str)).to_numpy()
    return np.full(len(hot), "Hot spot", dtype=object)


def _nearest_hot(s_geom: np.ndarray, hot: gpd.GeoDataFrame):
    n = len(s_geom)
    if len(hot) == 0:
        return np.full(n, np.inf), np.full(n, "", dtype=object)
    h_geom = np.asarray(hot.geometry.values)
    tree = shapely.STRtree(h_geom)
    si, hi = tree.query_nearest(s_geom, all_matches=False)
    dist = np.full(n, np.inf)
    cls = np.full(n, "", dtype=object)
    dist[si] = shapely.distance(s_geom[si], h_geom[hi])
    cls[si] = _class_of(hot)[hi]
    return dist, cls


def most_exposed(exposure, per_bcu: int = 10, *, by: str | None = None,
                 kinds: Sequence[str] | None = None) -> pd.DataFrame:
    """The most exposed sites of each BCU, ranked.

    Sites are ranked within their BCU by ``by`` (default the harm within the smallest
    buffer), then by the count within it, then those in or next to a hot spot first.

    Parameters
    ----------
    exposure : pandas.DataFrame
        Output of :func:`site_exposure`.
    per_bcu : int, default 10
        Sites kept per BCU.
    by : str, optional
        Column to rank by; ``None``: ``harm_<smallest buffer>m``.
    kinds : sequence of str, optional
        Site kinds ranked; ``None``: the sensitive kinds
        (:data:`geo.settings.SENSITIVE_SITE_KINDS`, so never "other" unless asked for).

    Returns
    -------
    pandas.DataFrame
        The kept rows, BCUs in name order, with a ``rank`` column (1 = most exposed)
        inserted first. Sites with nothing nearby (0 in ``by``) are left out.

    Raises
    ------
    GeoInputError
        If ``exposure`` lacks the columns or ``per_bcu`` is not a positive integer.
    """
    if not isinstance(exposure, pd.DataFrame) or "bcu_name" not in exposure.columns:
        raise GeoInputError("`exposure` must be the output of site_exposure",
                            fix="call geo.sites.site_exposure(sites, incidents, ...) first")
    if not (isinstance(per_bcu, (int, np.integer)) and per_bcu >= 1):
        raise GeoInputError(f"per_bcu must be a positive integer, got {per_bcu!r}",
                            fix="pass e.g. per_bcu=10")
    if by is None:
        radii = exposure.attrs.get("buffers_m") or sorted(
            float(c[5:-1]) for c in exposure.columns if c.startswith("harm_") and c.endswith("m")
            and c[5:-1].replace(".", "", 1).isdigit())
        if not radii:
            raise GeoInputError("`exposure` has no harm_<r>m columns",
                                fix="call geo.sites.site_exposure(sites, incidents, ...) first")
        by = buffer_columns([min(radii)])[0][2]
    if by not in exposure.columns:
        raise GeoInputError(f"`exposure` has no column {by!r}",
                            where=f"columns {list(exposure.columns)}",
                            fix="pass by='harm_200m' or another exposure column")
    ncol = by.replace("harm_", "n_", 1) if by.startswith("harm_") else by
    wanted = set(SENSITIVE_SITE_KINDS if kinds is None else (site_kind(k) for k in kinds))
    df = exposure[(exposure[by] > 0).to_numpy() & exposure["kind"].map(site_kind).isin(wanted).to_numpy()].copy()
    df["_bcu"] = df["bcu_name"].replace("", NO_BCU).fillna(NO_BCU)
    df["_hot"] = df["in_or_next_to_hotspot"].astype(bool) if "in_or_next_to_hotspot" in df else False
    sort = [by] + ([ncol] if ncol in df.columns and ncol != by else []) + ["_hot"]
    df = df.sort_values(["_bcu", *sort], ascending=[True] + [False] * len(sort), kind="stable")
    df["rank"] = df.groupby("_bcu", sort=False).cumcount() + 1
    df = df[df["rank"] <= per_bcu].drop(columns=["_bcu", "_hot"])
    cols = ["rank", *[c for c in df.columns if c != "rank"]]
    return df[cols].reset_index(drop=True)


def nearest_sites(
    hotspots,
    sites,
    *,
    kind_col: str = "kind",
    name_col: str = "name",
    kinds: Sequence[str] | None = None,
    id_col: str | None = None,
    wide: bool = False,
) -> pd.DataFrame:
    """For each hot spot, the nearest site of each kind and its distance in metres.

    Parameters
    ----------
    hotspots : geopandas.GeoDataFrame
        Hot-spot polygons (cells or cluster hulls); filtered with :func:`hot_polygons`.
    sites : geopandas.GeoDataFrame
        Sites with ``kind_col`` and ``name_col``, in a projected CRS.
    kinds : sequence of str, optional
        Kinds to report; ``None``: every kind present, in order of frequency.
    id_col : str, optional
        Hot-spot identifier; ``None``: ``cell_id`` or ``cluster_id`` if present, else
        the index.
    wide : bool, default False
        One row per hot spot with ``nearest_<kind>`` and ``<kind>_m`` columns instead of
        one row per hot spot and kind.

    Returns
    -------
    pandas.DataFrame
        Long: ``hotspot_id``, ``kind``, ``site_id``, ``site_name``, ``distance_m``
        (0 when the site is inside the hot spot), sorted by hot spot then distance.
        Wide: ``hotspot_id`` then the pairs of columns per kind.

    Raises
    ------
    GeoInputError
        Bad frames, CRS mismatch or missing columns.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> hot = gpd.GeoDataFrame({"cell_id": ["a"]}, geometry=[box(0, 0, 100, 100)], crs=27700)
    >>> sites = gpd.GeoDataFrame({"name": ["A", "B", "C"], "kind": ["school", "school", "hostel"]},
    ...     geometry=gpd.points_from_xy([400, 130, 50], [50, 50, 50]), crs=27700)
    >>> nearest_sites(hot, sites)[["kind", "site_name", "distance_m"]].values.tolist()
    [['hostel', 'C', 0.0], ['school', 'B', 30.0]]
    """
    hot = hot_polygons(hotspots)
    if hot is None:
        raise GeoInputError("`hotspots` is None", fix="pass hot-spot polygons")
    _check_frame(hot, "hotspots")
    _check_frame(sites, "sites", [kind_col, name_col])
    if hot.crs != sites.crs:
        sites = sites.to_crs(hot.crs)
    if id_col is None:
        id_col = next((c for c in ("cell_id", "cluster_id") if c in hot.columns), None)
    hid = hot[id_col].to_numpy() if id_col else hot.index.to_numpy()
    kinds_all = sites[kind_col].astype(str)
    kinds = list(kinds_all.value_counts().index) if kinds is None else list(kinds)
    site_id = sites["uid"].to_numpy() if "uid" in sites.columns else sites.index.to_numpy()
    h_geom = np.asarray(hot.geometry.values)
    frames = []
    for kind in kinds:
        sel = np.flatnonzero(kinds_all.to_numpy() == kind)
        if not len(sel) or not len(h_geom):
            continue
        s_geom = np.asarray(sites.geometry.values)[sel]
        hi, sj = shapely.STRtree(s_geom).query_nearest(h_geom, all_matches=False)
        frames.append(pd.DataFrame({
            "hotspot_id": hid[hi], "kind": kind, "site_id": site_id[sel][sj],
            "site_name": sites[name_col].to_numpy()[sel][sj],
            "distance_m": shapely.distance(h_geom[hi], s_geom[sj]),
            "_order": hi,
        }))
    if not frames:
        long = pd.DataFrame(columns=["hotspot_id", "kind", "site_id", "site_name", "distance_m"])
    else:
        long = (pd.concat(frames, ignore_index=True)
                .sort_values(["_order", "distance_m", "kind"], kind="stable")
                .drop(columns="_order").reset_index(drop=True))
    if not wide:
        return long
    out = pd.DataFrame({"hotspot_id": hid})
    for kind in kinds:
        k = long[long["kind"] == kind].set_index("hotspot_id")
        out[f"nearest_{kind}"] = out["hotspot_id"].map(k["site_name"])
        out[f"{kind}_m"] = out["hotspot_id"].map(k["distance_m"])
    return out

