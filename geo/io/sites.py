"""Sensitive sites (schools, treatment centres, hostels, pharmacies): :func:`read_sites`.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import GeoInputError
from .csvread import ReadResult, RowOutcomes, SITE_KINDS, UK_LONLAT_BOX, content_uids, to_float
from .checks import check_lonlat_file, check_points_near_area, locate
from .incidents import read_table


def read_sites(path, *, kind: str | None = None, crs: str = "EPSG:27700", area=None) -> ReadResult:
    """Read sensitive sites: DfE school lists, the NHS health-site file, or a generic file.

    Parameters
    ----------
    path : str or Path
        CSV (or vector file for the generic form).

        * DfE school lists (``URN``, ``SCHNAME``, ``LATITUDE``, ``LONGITUDE``): kind
          ``school``, detail the phase (:func:`geo.site_kinds.school_phase`).
        * Health sites (``needle_syringe_exchange``, ``supervised_consumption``,
          ``substance_keyword_in_name``): :func:`geo.site_kinds.classify_health_sites`
          (treatment services, needle-exchange pharmacies, and ``other``).
        * Generic: a ``kind`` column (a kind of :data:`geo.settings.SITE_KINDS` or an
          alias such as "bail hostel") or the ``kind`` argument, a ``name`` column, and
          ``longitude``/``latitude`` (or ``lon``/``lat``) columns.

        A site listed twice (the same name within ``settings.site_duplicate_m``) is
        rejected the second time.
    kind : str, optional
        Kind for every row of a generic file without a ``kind`` column.

    Returns
    -------
    ReadResult
        ``frame`` columns: ``uid``, ``kind``, ``name``, ``detail``, ``source``,
        ``status``, ``geometry``.
    """
    from ..settings import settings
    from ..site_kinds import classify_health_sites, duplicate_sites, school_phase, site_kind
    path = Path(path)
    name = str(path)
    df, geom = read_table(path)
    cols = set(df.columns)
    out = RowOutcomes(df, name)
    if {"URN", "SCHNAME", "LATITUDE", "LONGITUDE"} <= cols:
        kinds = pd.Series("school", index=df.index)
        names = df["SCHNAME"]
        detail = pd.Series([school_phase(p, t) for p, t in zip(df.get("PHASE", pd.Series("", index=df.index)),
                                                               df.get("SCHTYPE", pd.Series("", index=df.index)))],
                           index=df.index, dtype=object)
        ids = "school:" + df["URN"].str.strip()
        lon, lat, xcol, ycol = to_float(df["LONGITUDE"]), to_float(df["LATITUDE"]), "LONGITUDE", "LATITUDE"
    elif {"needle_syringe_exchange", "supervised_consumption", "substance_keyword_in_name"} <= cols:
        kinds, detail = classify_health_sites(df)
        names = df["name"]
        ids = "health:" + df.get("org_id", df.index.astype(str).to_series(index=df.index)).astype(str)
        lon, lat, xcol, ycol = to_float(df["longitude"]), to_float(df["latitude"]), "longitude", "latitude"
    else:
        lower = {c.lower(): c for c in df.columns}
        if "kind" in lower:
            kinds = df[lower["kind"]].map(lambda k: site_kind(k) or str(k).strip().lower())
        elif kind:
            kinds = pd.Series(site_kind(kind) or kind.lower(), index=df.index)
        else:
            raise GeoInputError(
                "The sites file has no 'kind' column and no kind was given", where=f"{name}, line 1 (header)",
                fix=f"add a 'kind' column ({', '.join(SITE_KINDS)}) "
                    "or import with --kind KIND",
            )
        names = df[lower["name"]] if "name" in lower else pd.Series("", index=df.index)
        detail = df[lower["detail"]] if "detail" in lower else pd.Series("", index=df.index)
        ids = pd.Series("", index=df.index)
        if geom is not None:
            g = geom.to_crs("EPSG:4326") if geom.crs else geom
            lon, lat, xcol, ycol = g.x.to_numpy(), g.y.to_numpy(), "geometry", "geometry"
        else:
            xk = next((lower[c] for c in ("longitude", "lon", "lng", "x") if c in lower), None)
            yk = next((lower[c] for c in ("latitude", "lat", "y") if c in lower), None)
            if not (xk and yk):
                raise GeoInputError(
                    "The sites file has no longitude/latitude columns", where=f"{name}, line 1 (header)",
                    fix="add 'longitude' and 'latitude' columns in WGS84 degrees",
                )
            lon, lat, xcol, ycol = to_float(df[xk]), to_float(df[yk]), xk, yk
        out.reject(~kinds.isin(SITE_KINDS).to_numpy(), "kind", f"unknown kind (use {', '.join(SITE_KINDS)})")
    check_lonlat_file(lon, lat, name, xcol, ycol)
    out.reject(~(np.isfinite(lon) & np.isfinite(lat)), f"{xcol}/{ycol}", "missing or unparseable coordinate")
    x0, y0, x1, y1 = UK_LONLAT_BOX
    out.reject(~((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)), f"{xcol}/{ycol}",
               "implausible coordinate (outside the UK)")
    lon = np.where(out.rejected, np.nan, lon)
    lat = np.where(out.rejected, np.nan, lat)
    X, Y, status = locate(lon, lat, "EPSG:4326", crs, area)
    check_points_near_area(lon, lat, "EPSG:4326", crs, X, Y, area, name, xcol, ycol)
    out.reject(duplicate_sites(np.where(out.rejected, "", names.fillna("").astype(str)), X, Y), "name",
               f"the same site listed twice (same name within {settings.site_duplicate_m:.0f} m)")
    report = out.report(name, "sites", status)
    keep = ~out.rejected
    uid = ids[keep].to_numpy(dtype=object).copy()
    blank = np.array([not str(u).split(":", 1)[-1] for u in uid], dtype=bool)
    # a site without an id is identified by what it is and where (not by notes or details a
    # republished list may revise), so a re-import does not add it again
    ident = pd.DataFrame({"kind": kinds[keep].astype(str).str.strip().str.lower().to_numpy(),
                          "name": names[keep].astype(str).str.strip().to_numpy(),
                          "lon": np.round(lon[keep], 5).astype(str), "lat": np.round(lat[keep], 5).astype(str)})
    uid[blank] = content_uids(ident.loc[blank], "site:h:")
    frame = gpd.GeoDataFrame({
        "uid": uid, "kind": kinds[keep].to_numpy(), "name": names[keep].str.strip().to_numpy(),
        "detail": np.asarray(detail[keep], dtype=object), "source": path.name, "status": status[keep],
    }, geometry=shapely.points(X[keep], Y[keep]), crs=crs)
    return ReadResult(frame, report)


