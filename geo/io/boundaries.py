"""Boundary layers (force, BCU, ward, neighbourhood, LSOA): :func:`read_boundaries`, with
geometry repair and CRS checks.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import GeoInputError
from .csvread import BOUNDARY_LEVELS, ReadResult, RowOutcomes, check_archive
from .checks import check_near_area, outside_area_of_use


def _polygonal(g):
    """The polygon part of a geometry repaired by make_valid (drops stray lines and points)."""
    if g is None or g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    polys = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else None


def read_boundaries(path, *, level: str, name_field: str, code_field: str,
                    parent_field: str | None = None, force_field: str | None = None,
                    force: str | None = None, crs: str = "EPSG:27700", layer: str | None = None,
                    area=None, repair: bool = False) -> ReadResult:
    """Read one level of the boundary hierarchy (force → BCU → ward/neighbourhood → LSOA).

    A feature whose geometry cannot be read (an unclosed ring, too few points) refuses
    the file with the feature's number, name and code, unless ``repair`` is set: then
    such features are repaired (``make_valid``) and listed in the report's warnings.
    A file without a CRS is taken as WGS84 only when its coordinates are degrees inside
    the analysis CRS's area of use (with a warning); a file whose declared projected CRS
    does not fit its coordinates (degrees, or outside the CRS's area of use) is refused,
    and so is one that lies nowhere near the workspace ``area``.

    Parameters
    ----------
    path : str, Path or GeoDataFrame
        GeoJSON, TopoJSON, Shapefile or GeoPackage (or a GeoDataFrame already in memory,
        labelled by ``layer`` in the report). A file without a CRS is taken as WGS84 when
        its coordinates are degrees.
    level : {'force', 'bcu', 'ward', 'neighbourhood', 'lsoa'}
    name_field, code_field : str
        Attribute columns holding each unit's name and code.
    parent_field : str, optional
        Column with the code of the unit one level up (e.g. a ward's district).
    force_field : str, optional
        Column naming each unit's police force; ``force`` sets one for all rows.
    area : shapely geometry, optional
        The workspace area (analysis CRS); boundaries nowhere near it are refused.
    repair : bool
        Repair unreadable polygons with ``make_valid`` instead of refusing the file.

    Returns
    -------
    ReadResult
        ``frame`` columns: ``level``, ``code``, ``name``, ``parent_code``, ``force``,
        ``geometry`` (polygons in the analysis CRS).
    """
    if isinstance(path, gpd.GeoDataFrame):  # already in memory (derived units)
        gdf, name = path, layer or "boundaries derived in memory"
    else:
        path = Path(path)
        name = str(path)
        if not path.exists():
            raise GeoInputError("The file does not exist", where=name, fix="check the path and try again")
        if path.is_file() and zipfile.is_zipfile(path):
            check_archive(path)
        if path.suffix.lower() in (".csv", ".txt", ".xlsx", ".xls"):
            raise GeoInputError(
                f"A {path.suffix} table is not a boundary file: boundaries need polygon geometry", where=name,
                fix="give the GeoJSON, GeoPackage or Shapefile of the areas (e.g. from the ONS Open Geography "
                    "portal); to import incidents from a CSV use --crime or --calls")
        gdf = _read_boundary_file(path, layer=layer, name_field=name_field, code_field=code_field, repair=repair)
    if gdf.geometry.name not in gdf.columns or gdf.geometry.isna().all():
        raise GeoInputError(
            "The file has no geometry: it is a table, not a boundary file", where=name,
            fix="give the GeoJSON, GeoPackage or Shapefile of the areas; to import incidents use --crime or --calls")
    if level not in BOUNDARY_LEVELS:
        raise GeoInputError(f"Unknown boundary level '{level}'", where=name,
                            fix=f"use one of {', '.join(BOUNDARY_LEVELS)}")
    if len(gdf) == 0:
        raise GeoInputError("The boundary file has no features", where=name, fix="export the layer again with its features")
    for role, col in {"name_field": name_field, "code_field": code_field,
                      "parent_field": parent_field, "force_field": force_field}.items():
        if col and col not in gdf.columns:
            raise GeoInputError(
                f"Column '{col}' ({role}) is not in the boundary file", where=f"{name}, attributes",
                fix=f"choose one of: {', '.join(c for c in gdf.columns if c != gdf.geometry.name)}",
            )
    warnings = list(gdf.attrs.get("repaired", []))
    gdf = _check_boundary_crs(gdf, name, crs, warnings)
    out = RowOutcomes(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(str), name)
    bad_geom = (gdf.geometry.isna() | gdf.geometry.is_empty | ~gdf.geom_type.isin(["Polygon", "MultiPolygon"])).to_numpy()
    out.reject(bad_geom, "geometry", "missing or non-polygon geometry")
    codes = gdf[code_field].astype(str).str.strip()
    out.reject((codes == "").to_numpy() | codes.isin(["None", "nan"]).to_numpy(), code_field, "missing code")
    keep = ~out.rejected
    g = gdf.loc[keep].to_crs(crs)
    geom = g.geometry.make_valid().map(_polygonal)
    if area is not None and len(g):
        check_near_area(geom.to_numpy(), area, name, what="boundaries",
                         fix="check the file's CRS (a GeoJSON 'crs' member or a Shapefile's .prj) and that it "
                             "covers this workspace's force")
    status = np.full(len(gdf), "mapped", dtype=object)
    report = out.report(name, "boundaries", status)
    report.warnings += warnings
    frame = gpd.GeoDataFrame({
        "level": level, "code": codes[keep].to_numpy(), "name": g[name_field].astype(str).to_numpy(),
        "parent_code": g[parent_field].astype(str).to_numpy() if parent_field else "",
        "force": g[force_field].astype(str).to_numpy() if force_field else (force or ""),
    }, geometry=geom.to_numpy(), crs=crs)
    return ReadResult(frame, report)


def _read_boundary_file(path: Path, *, layer, name_field, code_field, repair: bool) -> gpd.GeoDataFrame:
    """Read a vector file; name the features whose geometry cannot be read (or repair them)."""
    import warnings as _w
    try:
        with _w.catch_warnings():
            _w.simplefilter("ignore", RuntimeWarning)  # GDAL's note on unclosed rings
            return gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except Exception as err:
        first_err = err
    # some geometry could not be built: read the raw WKB and find which features
    import pyogrio.raw
    try:
        with _w.catch_warnings():
            _w.simplefilter("ignore", RuntimeWarning)
            meta, _, wkb, fields = pyogrio.raw.read(path, layer=layer)
    except Exception:
        raise GeoInputError(f"The boundary file cannot be read: {first_err}", where=str(path),
                            fix="open it in QGIS to check it, or export it again as GeoPackage or GeoJSON") from None
    wkb = np.asarray(wkb, dtype=object)
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    broken = np.flatnonzero(pd.isna(geoms) & pd.notna(wkb))
    cols = list(meta["fields"])
    attrs = pd.DataFrame({c: f for c, f in zip(cols, fields)})

    def label(i):
        bits = [f"feature {i + 1}"]
        for col in (name_field, code_field):
            if col in attrs:
                bits.append(f"{col} '{attrs[col].iloc[i]}'")
        return " ".join(bits)

    if not len(broken):
        raise GeoInputError(f"The boundary file cannot be read: {first_err}", where=str(path),
                            fix="open it in QGIS to check it, or export it again as GeoPackage or GeoJSON")
    if not repair:
        listed = "; ".join(label(i) for i in broken[:5]) + (f"; and {len(broken) - 5} more" if len(broken) > 5 else "")
        raise GeoInputError(
            f"{len(broken)} feature(s) have a geometry that cannot be read ({first_err}): {listed}",
            where=str(path),
            fix="repair them in QGIS (Vector > Geometry Tools > Fix Geometries) and export again, or import "
                "with repair (--repair on the command line), which applies make_valid and lists the repaired "
                "features in the import report")
    fixed = shapely.from_wkb(wkb, on_invalid="fix")
    fixed = shapely.make_valid(fixed)
    gdf = gpd.GeoDataFrame(attrs, geometry=list(fixed), crs=meta.get("crs"))
    gdf.attrs["repaired"] = [f"repaired {label(i)} (its geometry could not be read: {first_err})"
                             for i in broken]
    return gdf


def _check_boundary_crs(gdf: gpd.GeoDataFrame, name: str, crs, warnings: list) -> gpd.GeoDataFrame:
    """Refuse a CRS that does not fit the coordinates; take a CRS-less file of degrees as WGS84
    only inside the analysis CRS's area of use."""
    minx, miny, maxx, maxy = gdf.total_bounds
    degrees = -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90
    target = CRS.from_user_input(crs)
    if gdf.crs is None:
        if not degrees:
            raise GeoInputError(
                "The boundary file has no CRS (for a Shapefile: no .prj file) and its coordinates are not degrees",
                where=name, fix="save it with its CRS (the .prj file beside the .shp) or as GeoPackage")
        aou = target.area_of_use
        w, so, e, n = aou.bounds if aou is not None else (-180, -90, 180, 90)
        if not (w - 2 <= minx and maxx <= e + 2 and so - 2 <= miny and maxy <= n + 2):
            raise GeoInputError(
                f"The boundary file has no CRS (for a Shapefile: no .prj file); read as longitude/latitude its "
                f"features would lie at {minx:.2f}..{maxx:.2f} E, {miny:.2f}..{maxy:.2f} N, outside the area "
                f"of {target.name}", where=name,
                fix="put the .prj file beside the .shp (or export the layer again as GeoPackage), so its CRS is known")
        warnings.append(f"{name} has no CRS; its coordinates are degrees inside the area of {target.name}, "
                        "so it was read as WGS84 longitude/latitude")
        return gdf.set_crs("EPSG:4326")
    if gdf.crs.is_projected and degrees and max(maxx - minx, maxy - miny) < 360:
        raise GeoInputError(
            f"The boundary file says its CRS is {gdf.crs.to_string()} (metres) but its coordinates are "
            f"longitude/latitude degrees ({minx:.3f}, {miny:.3f} to {maxx:.3f}, {maxy:.3f})", where=name,
            fix="remove the wrong 'crs' member from the GeoJSON (GeoJSON is WGS84 by default) or set the "
                "right CRS in QGIS (Layer Properties > Source) and export again")
    out = outside_area_of_use(np.array([minx, maxx, minx, maxx]), np.array([miny, miny, maxy, maxy]),
                               gdf.crs, margin_deg=2.0)
    if gdf.crs.area_of_use is not None and out.all():
        raise GeoInputError(
            f"The boundary file's coordinates lie outside the area where its CRS {gdf.crs.to_string()} applies, "
            "so the declared CRS is probably wrong", where=name,
            fix="set the right CRS in QGIS (Layer Properties > Source) and export again as GeoPackage")
    return gdf
