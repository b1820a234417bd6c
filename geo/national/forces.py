"""Per-force tasks over the national GeoParquet: Gi* hot spots, emerging hot spots, and the
cross-force displacement monitor.

Every grid is anchored at the origin of British National Grid (:class:`geo.grid.GridSpec`),
so one force's cells line up with its neighbours' at the same cell size: the national grid.
Each task reads only its force's partitions (or, for the monitor, the bbox of one
operation's rings through the GeoParquet covering columns).
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import GeoInputError

logger = logging.getLogger(__name__)

#: Ring edges of the displacement monitor in metres (target, then rings out to 1 km).
RINGS_M = (0.0, 250.0, 500.0, 1000.0)


def force_slugs(out) -> list[str]:
    """The forces written under ``points/`` (their folder names)."""
    return sorted(p.name for p in (Path(out) / "points").iterdir() if p.is_dir()) if (Path(out) / "points").is_dir() else []


def read_force_points(out, slug: str, *, months=None, bbox=None, columns=None):
    """One force's points from the national GeoParquet (optionally some months, a bbox).

    ``bbox`` (minx, miny, maxx, maxy in metres) filters through the covering columns, so
    row groups outside it are not read.
    """
    import geopandas as gpd
    folder = Path(out) / "points" / slug
    parts = []
    for mdir in sorted(p for p in folder.glob("*") if p.is_dir()):
        if months is not None and mdir.name not in months:
            continue
        for f in sorted(mdir.glob("*.parquet")):
            parts.append(gpd.read_parquet(f, columns=columns, bbox=bbox))
    if not parts:
        return None
    return pd.concat(parts, ignore_index=True)


def longest_run(months) -> list[str]:
    """The longest run of consecutive months (the latest when two are as long)."""
    ms = sorted(set(months))
    if not ms:
        return []
    per = pd.PeriodIndex(ms, freq="M")
    runs, start = [], 0
    for i in range(1, len(per) + 1):
        if i == len(per) or (per[i] - per[i - 1]).n != 1:
            runs.append(ms[start:i])
            start = i
    return max(reversed(runs), key=len)


def _core(points, *, trim: float = 0.005, pad_m: float = 2000.0):
    """Points inside the force's core box (0.5-99.5% quantiles, padded): police.uk snaps a
    few rows to points hundreds of km away, which would blow the grid up."""
    x, y = points["x"].to_numpy(), points["y"].to_numpy()
    x0, x1 = np.nanquantile(x, [trim, 1 - trim])
    y0, y1 = np.nanquantile(y, [trim, 1 - trim])
    keep = (x >= x0 - pad_m) & (x <= x1 + pad_m) & (y >= y0 - pad_m) & (y <= y1 + pad_m)
    return points[keep]


def force_hotspots(out, slug: str, covered_months, *, cell_size: float = 500.0,
                   alpha: float | None = None) -> dict:
    """Gi* and emerging hot spots of one force's harm on the national grid.

    Parameters
    ----------
    out : str or Path
        The national output folder.
    slug : str
        The force's folder name under ``points/``.
    covered_months : list of str
        The force's covered months; the longest consecutive run of them is analysed, so
        an uncovered month is never read as a month of zero crime.
    cell_size : float
        Square cell side in metres.
    alpha : float, optional
        Significance level; ``None``: the settings' default.

    Returns
    -------
    dict
        ``force``, ``months`` analysed, ``hotspots`` and ``emerging`` (written paths, or
        ``None``) and ``note`` (why a step was skipped). Writes
        ``hotspots/<slug>.parquet`` (Gi* on the harm summed over the months: columns of
        :func:`geo.hotspots.gistar`) and ``emerging/<slug>.parquet`` (classes of
        :func:`geo.emerging.hotspot_emerging`), both GeoParquet.

    References
    ----------
    Getis, A. & Ord, J. K. (1992). The analysis of spatial association by use of distance
    statistics. Geographical Analysis 24(3). esri, How Emerging Hot Spot Analysis works.
    """
    from ..emerging import hotspot_emerging
    from ..hotspots import gistar, grid_counts

    out = Path(out)
    months = longest_run(covered_months)
    pts = read_force_points(out, slug, months=set(months), columns=["x", "y", "month", "harm", "geometry"])
    rec = {"force": slug, "months": months, "hotspots": None, "emerging": None, "note": ""}
    if pts is None:
        rec["note"] = "no points"
        return rec
    pts = pts[pts.geometry.notna() & ~pts.geometry.is_empty]
    if len(pts) < 10:
        rec["note"] = f"only {len(pts)} located points"
        return rec
    pts = _core(pts)
    for name in ("hotspots", "emerging"):
        (out / name).mkdir(parents=True, exist_ok=True)
    cells = grid_counts(pts, cell_size=cell_size, weight="harm")
    hs = gistar(cells, column="harm", alpha=alpha)
    hs.attrs = {}
    target = out / "hotspots" / f"{slug}.parquet"
    hs.assign(force=slug).to_parquet(target.with_name(f".{target.name}.tmp"), write_covering_bbox=True)
    os.replace(target.with_name(f".{target.name}.tmp"), target)
    rec["hotspots"] = target.relative_to(out).as_posix()
    try:
        em = hotspot_emerging(pts, period="month", cell_size=cell_size, weight="harm", alpha=alpha)
    except GeoInputError as err:
        rec["note"] = f"emerging hot spots skipped: {err.what}"
        return rec
    em.attrs = {}
    target = out / "emerging" / f"{slug}.parquet"
    em.assign(force=slug, pattern=em["pattern"].astype(str)).to_parquet(
        target.with_name(f".{target.name}.tmp"), write_covering_bbox=True)
    os.replace(target.with_name(f".{target.name}.tmp"), target)
    rec["emerging"] = target.relative_to(out).as_posix()
    return rec


def operation_windows(start: str, end: str) -> tuple[list[str], list[str]]:
    """Months during the operation (start to end) and as many months just before it."""
    s, e = pd.Period(start[:7], freq="M"), pd.Period(end[:7], freq="M")
    during = pd.period_range(s, e, freq="M")
    before = pd.period_range(s - len(during), s - 1, freq="M")
    return list(before.strftime("%Y-%m")), list(during.strftime("%Y-%m"))


def monitor_operation(out, op: dict, target_wkb: bytes, covered: pd.DataFrame, *,
                      rings=RINGS_M) -> pd.DataFrame:
    """Harm before and during one operation in its target and rings, cut by force.

    Parameters
    ----------
    out : str or Path
        The national output folder.
    op : dict
        ``op_id``, ``name``, ``start``, ``end`` (ISO dates) of a registered operation.
    target_wkb : bytes
        The operation's target polygon (WKB, British National Grid metres).
    covered : pandas.DataFrame
        Covered force-months (``force``, ``month``) of the archive.
    rings : sequence of float
        Ring edges in metres; ``0`` is the target itself.

    Returns
    -------
    pandas.DataFrame
        One row per force and zone (``target``, ``0-250 m``, ...): ``before_harm``,
        ``during_harm``, ``change`` (during - before, CCHI days), ``before_count``,
        ``during_count`` and ``covered`` (every month of both windows covered for that
        force). Where not covered, the measures are NaN: unknown, not zero.
    """
    import shapely

    before, during = operation_windows(op["start"], op["end"])
    target = shapely.from_wkb(target_wkb)
    zones = [("target", target)]
    for lo, hi in zip(rings[:-1], rings[1:]):
        outer = target.buffer(hi)
        zones.append((f"{lo:,.0f}-{hi:,.0f} m", outer.difference(target.buffer(lo)) if lo else outer.difference(target)))
    bbox = tuple(target.buffer(rings[-1]).bounds)
    cov = set(zip(covered["force"], covered["month"]))
    rows = []
    for slug in force_slugs(out):
        pts = read_force_points(out, slug, months=set(before + during), bbox=bbox,
                                columns=["force", "month", "harm", "geometry"])
        force = None if pts is None or pts.empty else str(pts["force"].iloc[0])
        if force is None:
            continue
        ok = all((force, m) in cov for m in before + during)
        for zname, zgeom in zones:
            inside = pts[pts.geometry.notna() & shapely.contains_xy(zgeom, pts.geometry.x, pts.geometry.y)]
            b = inside[inside["month"].isin(before)]
            d = inside[inside["month"].isin(during)]
            rows.append({"op_id": op["op_id"], "operation": op["name"], "force": force, "zone": zname,
                         "before_months": ",".join(before), "during_months": ",".join(during),
                         "before_count": len(b) if ok else np.nan, "during_count": len(d) if ok else np.nan,
                         "before_harm": float(b["harm"].sum()) if ok else np.nan,
                         "during_harm": float(d["harm"].sum()) if ok else np.nan, "covered": ok})
    df = pd.DataFrame(rows)
    if not df.empty:
        df["change"] = df["during_harm"] - df["before_harm"]
    return df


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    os.replace(tmp, path)
