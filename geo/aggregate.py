"""Aggregate incidents to areas: counts and harm per boundary unit, and month-on-month change."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import GeoInputError


def unit_of(incidents: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> pd.Series:
    """The ``code`` of the unit each incident lies in (the first matched on a shared edge).

    Parameters
    ----------
    incidents : GeoDataFrame
        Points.
    units : GeoDataFrame
        Polygons with a ``code`` column, in the same CRS.

    Returns
    -------
    pandas.Series
        Indexed like `incidents`; ``None`` where a point lies in no unit. Compute it once
        per layer and pass it to :func:`by_unit` (``codes=``) for every filter.
    """
    if incidents.crs != units.crs:
        raise GeoInputError(f"Incidents ({incidents.crs}) and units ({units.crs}) are in different CRSs",
                            fix="reproject one to the other's CRS first")
    from .io.checks import point_bit_groups
    pts = incidents[incidents.geometry.notna()]
    xy = shapely.get_coordinates(pts.geometry.to_numpy())
    if len(pts) != len(xy) or len(pts) <= 10_000:  # (an empty point has no coordinates) or few: join them all
        joined = gpd.sjoin(pts[["geometry"]], units[["code", "geometry"]], how="inner", predicate="intersects")
        joined = joined[~joined.index.duplicated(keep="first")]
        return joined["code"].reindex(incidents.index).astype(object).where(lambda c: c.notna(), None)
    # police.uk snaps incidents to a few thousand map points: join each distinct point once (bit for bit
    # the same point, so the same matches in the same order) and give every incident its point's unit
    group, first = point_bit_groups(xy[:, 0], xy[:, 1])
    distinct = gpd.GeoDataFrame(geometry=pts.geometry.to_numpy()[first], crs=pts.crs)
    joined = gpd.sjoin(distinct, units[["code", "geometry"]], how="inner", predicate="intersects")
    joined = joined[~joined.index.duplicated(keep="first")]
    code = joined["code"].reindex(np.arange(len(first))).to_numpy(dtype=object)[group]
    out = pd.Series(code, index=pts.index, dtype=object, name="code").reindex(incidents.index)
    return out.where(out.notna(), None)


def by_unit(incidents: gpd.GeoDataFrame, units: gpd.GeoDataFrame, *, keep_empty: bool = True,
            codes: pd.Series | None = None) -> gpd.GeoDataFrame:
    """Count incidents and sum their harm per polygon unit.

    Parameters
    ----------
    incidents : GeoDataFrame
        Points with a ``harm`` column (see :func:`geo.harm.add_harm`).
    units : GeoDataFrame
        Polygons with ``code`` and ``name`` in the same CRS.
    keep_empty : bool
        Keep units with no incident (count 0).
    codes : pandas.Series, optional
        :func:`unit_of` computed earlier for these incidents or a superset of them
        (looked up by index); skips the spatial join.

    Returns
    -------
    GeoDataFrame
        ``units`` columns plus ``count`` and ``harm``. A point on a shared edge counts in
        one unit only (the first matched), so counts add up to the points inside the units.
    """
    if incidents.crs != units.crs:
        raise GeoInputError(f"Incidents ({incidents.crs}) and units ({units.crs}) are in different CRSs",
                            fix="reproject one to the other's CRS first")
    if codes is None:
        pts = incidents[incidents.geometry.notna()]
        joined = gpd.sjoin(pts[["harm", "geometry"]], units[["code", "geometry"]], how="inner", predicate="intersects")
        joined = joined[~joined.index.duplicated(keep="first")]
    else:
        joined = pd.DataFrame({"harm": incidents["harm"].to_numpy(),
                               "code": codes.reindex(incidents.index).to_numpy()}).dropna(subset=["code"])
    agg = joined.groupby("code").agg(count=("harm", "size"), harm=("harm", "sum"))
    out = units.merge(agg, left_on="code", right_index=True, how="left" if keep_empty else "inner")
    out["count"] = out["count"].fillna(0).astype(int)
    out["harm"] = out["harm"].fillna(0.0)
    return out


def monthly(incidents: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """Count and harm per month (and per ``by`` column), months in order."""
    keys = ["month"] + ([by] if by else [])
    g = incidents.groupby(keys, observed=True).agg(count=("harm", "size"), harm=("harm", "sum")).reset_index()
    return g.sort_values(keys, ignore_index=True)


def latest_change(incidents: pd.DataFrame) -> dict:
    """Last month against the month before: counts, harm and their changes.

    Returns an empty dict when fewer than two months are present.
    """
    m = monthly(incidents)
    if len(m) < 2:
        return {}
    prev, last = m.iloc[-2], m.iloc[-1]
    pct = lambda a, b: (a - b) / b * 100 if b else np.nan  # noqa: E731
    return {
        "month": last["month"], "previous": prev["month"],
        "count": int(last["count"]), "count_change": int(last["count"] - prev["count"]),
        "count_pct": pct(last["count"], prev["count"]),
        "harm": float(last["harm"]), "harm_change": float(last["harm"] - prev["harm"]),
        "harm_pct": pct(last["harm"], prev["harm"]),
    }
