"""Hot spots before and after an operation, matched into moves (descriptive; not a test)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..settings import settings
from .areas import points_inside, xy_of

__all__ = ["HOTSPOT_COLUMNS", "Migration", "a_site", "hotspots_of", "match_hotspots", "hotspot_migration"]


HOTSPOT_COLUMNS = ("hotspot_id", "n", "cells", "x", "y", "bcu", "force", "geometry")


def hotspots_of(points, *, grid=None, cell_size: float = 200.0, area=None, alpha: float | None = None,
                bcus: gpd.GeoDataFrame | None = None, min_n: int = 5):
    """Hot spots of `points` as groups of adjacent significant Gi* cells.

    Cells are counted with :func:`geo.grid.grid_counts`, tested with
    :func:`geo.hotspots.gistar` (FDR-adjusted), and touching hot cells (8 neighbours)
    are joined into one hot spot.

    A group with fewer than `min_n` points is not a hot spot.

    Returns
    -------
    (GeoDataFrame, GridSpec)
        Hot spots with :data:`HOTSPOT_COLUMNS`: ``n`` points, ``cells``, count-weighted
        centre ``x``, ``y``, the ``bcu`` code and ``force`` of the centre, and the union
        of the cells; and the grid used (pass it to the next period).
    """
    from scipy import ndimage

    from ..hotspots.grid import grid_counts
    from ..hotspots import gistar
    crs = points.crs
    empty = gpd.GeoDataFrame(columns=list(HOTSPOT_COLUMNS[:-1]), geometry=[], crs=crs)
    if len(points) == 0 and grid is None:
        return empty, None
    if area is not None and len(points):
        x, y = xy_of(points)
        points = points[points_inside(area, x, y)]
    cells = grid_counts(points, cell_size=cell_size, area=area, keep_empty=True, grid=grid) \
        if len(points) else None
    if cells is None or len(cells) < 3 or cells["n"].sum() == 0:
        return empty, grid if cells is None else cells.attrs.get("grid")
    spec = cells.attrs["grid"]
    g = gistar(cells, column="n", alpha=0.10 if alpha is None else min(alpha, 0.10))
    hot = g["hotspot"].astype(str).str.startswith("Hot").to_numpy() & (g["n"].to_numpy() > 0)
    if not hot.any():
        return empty, spec
    rows, cols = g["row"].to_numpy(), g["col"].to_numpy()
    r0, c0 = rows.min(), cols.min()
    mask = np.zeros((rows.max() - r0 + 1, cols.max() - c0 + 1), dtype=bool)
    mask[rows[hot] - r0, cols[hot] - c0] = True
    lab, k = ndimage.label(mask, structure=np.ones((3, 3)))
    labels = lab[rows - r0, cols - c0]
    cx = shapely.get_x(shapely.centroid(g.geometry.values))
    cy = shapely.get_y(shapely.centroid(g.geometry.values))
    n = g["n"].to_numpy(float)
    out = []
    for h in range(1, k + 1):
        sel = labels == h
        wn = n[sel]
        tot = wn.sum()
        if tot < min_n:
            continue
        x = float((cx[sel] * wn).sum() / tot) if tot else float(cx[sel].mean())
        y = float((cy[sel] * wn).sum() / tot) if tot else float(cy[sel].mean())
        out.append({"n": tot, "cells": int(sel.sum()), "x": x, "y": y,
                    "geometry": shapely.union_all(g.geometry.values[sel])})
    if not out:
        return empty, spec
    hs = gpd.GeoDataFrame(out, geometry="geometry", crs=crs).sort_values("n", ascending=False)
    hs.insert(0, "hotspot_id", np.arange(1, len(hs) + 1))
    hs["bcu"], hs["force"] = _locate(hs["x"].to_numpy(), hs["y"].to_numpy(), bcus)
    return hs[list(HOTSPOT_COLUMNS)].reset_index(drop=True), spec


def _locate(x, y, bcus):
    code = np.full(len(x), "", dtype=object)
    force = np.full(len(x), "", dtype=object)
    if bcus is None or len(bcus) == 0:
        return code, force
    for geom, c, f in zip(bcus.geometry.values, bcus["code"], bcus["force"]):
        inside = points_inside(geom, np.asarray(x, float), np.asarray(y, float))
        code[inside], force[inside] = c, f
    return code, force


def match_hotspots(before: pd.DataFrame, after: pd.DataFrame, *, max_distance_m: float) -> pd.DataFrame:
    """Match hot spots before and after into moves (one-to-one, shortest total distance).

    Pairs are found with the Hungarian algorithm on centre distances
    (``scipy.optimize.linear_sum_assignment``); pairs further apart than
    `max_distance_m` are not matched. Unmatched hot spots are "gone" (before only) or
    "new" (after only).

    Parameters
    ----------
    before, after : DataFrame
        Hot spots with ``hotspot_id``, ``n``, ``x``, ``y``, ``bcu``, ``force``.
    max_distance_m : float

    Returns
    -------
    pandas.DataFrame
        ``kind`` ("moved"/"stayed"/"new"/"gone"), ``from_id``, ``to_id``, ``x0``, ``y0``,
        ``x1``, ``y1``, ``distance_m``, ``n_before``, ``n_after``, ``growth`` (after /
        before), ``from_bcu``, ``to_bcu``, ``from_force``, ``to_force``, ``crosses_bcu``,
        ``crosses_force``. A match closer than a quarter of `max_distance_m` "stayed".

    Examples
    --------
    >>> b = pd.DataFrame({"hotspot_id": [1], "n": [10], "x": [0.0], "y": [0.0], "bcu": ["A"], "force": ["F"]})
    >>> a = pd.DataFrame({"hotspot_id": [1], "n": [12], "x": [800.0], "y": [600.0], "bcu": ["B"], "force": ["F"]})
    >>> m = match_hotspots(b, a, max_distance_m=2000)
    >>> r = m.iloc[0]
    >>> r["kind"], float(r["distance_m"]), bool(r["crosses_bcu"]), bool(r["crosses_force"])
    ('moved', 1000.0, True, False)
    """
    from scipy.optimize import linear_sum_assignment
    rows = []
    pairs = []
    if len(before) and len(after):
        d = np.hypot(before["x"].to_numpy()[:, None] - after["x"].to_numpy()[None, :],
                     before["y"].to_numpy()[:, None] - after["y"].to_numpy()[None, :])
        big = d.max() * 10 + 1e9
        ri, cj = linear_sum_assignment(np.where(d <= max_distance_m, d, big))
        pairs = [(i, j) for i, j in zip(ri, cj) if d[i, j] <= max_distance_m]
    used_b = {i for i, _ in pairs}
    used_a = {j for _, j in pairs}

    def rec(kind, b, a):
        x0 = b["x"] if b is not None else np.nan
        y0 = b["y"] if b is not None else np.nan
        x1 = a["x"] if a is not None else np.nan
        y1 = a["y"] if a is not None else np.nan
        nb = float(b["n"]) if b is not None else 0.0
        na = float(a["n"]) if a is not None else 0.0
        fb, fa = (b["bcu"] if b is not None else ""), (a["bcu"] if a is not None else "")
        gb, ga = (b["force"] if b is not None else ""), (a["force"] if a is not None else "")
        both = b is not None and a is not None
        return {"kind": kind, "from_id": b["hotspot_id"] if b is not None else None,
                "to_id": a["hotspot_id"] if a is not None else None, "x0": x0, "y0": y0, "x1": x1, "y1": y1,
                "distance_m": float(math.hypot(x1 - x0, y1 - y0)) if both else np.nan,
                "n_before": nb, "n_after": na, "growth": na / nb if nb else np.inf,
                "from_bcu": fb, "to_bcu": fa, "from_force": gb, "to_force": ga,
                "crosses_bcu": bool(both and fb != fa), "crosses_force": bool(both and gb != ga)}

    for i, j in pairs:
        b, a = before.iloc[i], after.iloc[j]
        dist = math.hypot(a["x"] - b["x"], a["y"] - b["y"])
        rows.append(rec("stayed" if dist < max_distance_m / 4 else "moved", b, a))
    for i in range(len(before)):
        if i not in used_b:
            rows.append(rec("gone", before.iloc[i], None))
    for j in range(len(after)):
        if j not in used_a:
            rows.append(rec("new", None, after.iloc[j]))
    cols = ["kind", "from_id", "to_id", "x0", "y0", "x1", "y1", "distance_m", "n_before", "n_after", "growth",
            "from_bcu", "to_bcu", "from_force", "to_force", "crosses_bcu", "crosses_force"]
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class Migration:
    """Hot spots before and after and how they moved (:func:`hotspot_migration`).

    Attributes
    ----------
    before, after : GeoDataFrame
        Hot spots (:data:`HOTSPOT_COLUMNS`).
    moves : GeoDataFrame
        :func:`match_hotspots` columns plus ``near_site`` (e.g. "school: King Ecgbert
        School"), ``flag`` (text, "" if none) and ``geometry`` (a line from the old to
        the new centre, or the hot spot's centre for new/gone).
    cell_size : float
    """

    before: gpd.GeoDataFrame
    after: gpd.GeoDataFrame
    moves: gpd.GeoDataFrame
    cell_size: float
    sites_near: gpd.GeoDataFrame | None = None


def a_site(kind: str) -> str:
    """A site kind with its article, for a sentence (display names of :data:`geo.settings.SITE_KINDS`).

    Examples
    --------
    >>> a_site("school"), a_site("treatment"), a_site("other"), a_site("unknown kind")
    ('a school', 'a drug and alcohol treatment service', 'a non-sensitive site', 'an unknown kind')
    """
    from ..settings import SITE_KINDS
    k = " ".join(str(kind).replace("_", " ").lower().split())
    if k in ("other", "", "none", "nan"):
        return "a non-sensitive site"
    label = SITE_KINDS.get(k, k)
    label = label[:1].lower() + label[1:]
    return ("an " if label[0] in "aeiou" else "a ") + label


def hotspot_migration(before_points, after_points, *, extent, cell_size: float = 200.0,
                      bcus: gpd.GeoDataFrame | None = None, sites: gpd.GeoDataFrame | None = None,
                      site_buffer_m: float | None = None, max_distance_m: float | None = None,
                      growth: float = 1.25, alpha: float | None = None, bcu_names: dict | None = None,
                      target=None) -> Migration:
    """Hot spots before and after an operation, matched into moves, with flags.

    Parameters
    ----------
    before_points, after_points : GeoDataFrame
        Points of each window (e.g. basket crime), metres.
    extent : shapely geometry
        The area searched (e.g. target + buffer + ring); both periods share one grid.
    cell_size : float
        Grid cell, metres.
    bcus : GeoDataFrame, optional
        All BCUs, to mark moves that cross a BCU or force boundary.
    sites : GeoDataFrame, optional
        Sensitive sites with ``kind`` and ``name``: a new or moved hot spot, or one that
        stayed and grew by `growth` or more, within `site_buffer_m` of a site is flagged
        ("displacement towards a school").
    site_buffer_m : float, optional
        ``None``: the largest of ``settings.site_buffers_m``.
    max_distance_m : float, optional
        Largest distance a hot spot may move; ``None``: the extent's "radius"
        (``sqrt(area / pi)``).
    target : shapely geometry, optional
        The target: a hot spot near a site whose centre lies inside it is reported as
        "in the target", not as displacement.

    Returns
    -------
    Migration
    """
    crs = before_points.crs
    site_buffer_m = max(settings.site_buffers_m) if site_buffer_m is None else site_buffer_m
    if max_distance_m is None:
        max_distance_m = math.sqrt(extent.area / math.pi)
    pts_all = pd.concat([before_points.geometry, after_points.geometry])
    px, py = shapely.get_x(pts_all.values), shapely.get_y(pts_all.values)
    pts_all = pts_all[points_inside(extent, px, py)]
    grid = None
    if len(pts_all):
        from ..hotspots.grid import grid_counts
        both = gpd.GeoDataFrame(geometry=pts_all.values, crs=crs)
        grid = grid_counts(both, cell_size=cell_size, area=extent, keep_empty=True).attrs["grid"]
    hb, _ = hotspots_of(before_points, grid=grid, cell_size=cell_size, area=extent, alpha=alpha, bcus=bcus)
    ha, _ = hotspots_of(after_points, grid=grid, cell_size=cell_size, area=extent, alpha=alpha, bcus=bcus)
    mv = match_hotspots(hb, ha, max_distance_m=max_distance_m)
    near, flags, geoms = [], [], []
    names = bcu_names or {}
    site_geoms = sites.geometry.values if sites is not None and len(sites) else np.array([])
    for _, r in mv.iterrows():
        flag, where = "", ""
        if r["kind"] in ("moved", "stayed"):
            geoms.append(shapely.LineString([(r["x0"], r["y0"]), (r["x1"], r["y1"])]))
        elif r["kind"] == "new":
            geoms.append(shapely.Point(r["x1"], r["y1"]))
        else:
            geoms.append(shapely.Point(r["x0"], r["y0"]))
        growing = r["kind"] in ("new", "moved") or (r["kind"] == "stayed" and r["n_after"] >= growth * r["n_before"])
        if growing and len(site_geoms):
            hs = ha[ha["hotspot_id"] == r["to_id"]].geometry.iloc[0]
            d = shapely.distance(site_geoms, hs)
            close = np.flatnonzero(d <= site_buffer_m)
            if close.size:
                k = close[np.argmin(d[close])]
                kind = str(sites["kind"].iloc[k]).replace("_", " ")
                where = f"{kind}: {sites['name'].iloc[k]}"
                if target is not None and target.contains(shapely.Point(r["x1"], r["y1"])):
                    flag = (f"{'new' if r['kind'] == 'new' else 'growing'} hot spot inside the target near "
                            f"{a_site(kind)} ({sites['name'].iloc[k]}, {d[k]:,.0f} m)")
                else:
                    flag = f"displacement towards {a_site(kind)} ({sites['name'].iloc[k]}, {d[k]:,.0f} m)"
        if r["kind"] == "moved" and (r["crosses_bcu"] or r["crosses_force"]):
            what = "force" if r["crosses_force"] else "BCU"
            move = (f"hot spot moved {r['distance_m']:,.0f} m across a {what} boundary into "
                    f"{names.get(r['to_bcu'], r['to_bcu'])}")
            flag = move + ("; " + flag if flag else "")
        near.append(where)
        flags.append(flag)
    moves = gpd.GeoDataFrame(mv.assign(near_site=near, flag=flags), geometry=geoms, crs=crs)
    near_sites = None
    if sites is not None and len(sites):
        sx, sy = xy_of(sites) if "x" in sites else (shapely.get_x(sites.geometry.values), shapely.get_y(sites.geometry.values))
        near_sites = sites[points_inside(extent, sx, sy)]
    return Migration(hb, ha, moves, float(cell_size), near_sites)


