"""Input checks shared by the grid, KDE and hot-spot functions: a metric CRS, point
coordinates and weights, the cell size and the study area.
"""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely

from ..errors import GeoInputError
from ..settings import settings


def check_crs_metres(gdf, name: str = "points") -> None:
    """Raise :class:`GeoInputError` unless ``gdf`` uses a projected CRS in metres."""
    crs = getattr(gdf, "crs", None)
    if crs is None or not crs.is_projected:
        raise GeoInputError(
            f"`{name}` must use a projected CRS in metres, got {crs}",
            where=f"{name}.crs",
            fix=f"reproject first, e.g. {name}.to_crs('{settings.analysis_crs}') "
            f"or {name}.to_crs({name}.estimate_utm_crs())",
        )
    unit = (crs.axis_info[0].unit_name if crs.axis_info else "metre").lower()
    if unit not in ("metre", "meter", "m"):
        raise GeoInputError(
            f"`{name}` CRS {crs.to_string()} is in {unit}, not metres",
            where=f"{name}.crs",
            fix=f"reproject to a metric CRS, e.g. {name}.to_crs('{settings.analysis_crs}')",
        )


def point_xy(points, name: str = "points") -> tuple[np.ndarray, np.ndarray]:
    """Return the x and y coordinates (metres) of a point GeoDataFrame or GeoSeries.

    Raises
    ------
    GeoInputError
        If the input is not a GeoDataFrame/GeoSeries, has a geographic CRS, is empty
        or holds missing, empty or non-point geometries.
    """
    if not isinstance(points, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise GeoInputError(
            f"`{name}` must be a GeoDataFrame of points, got {type(points).__name__}",
            fix="build one with geopandas.GeoDataFrame(df, geometry=geopandas."
            "points_from_xy(df.x, df.y), crs='EPSG:27700')",
        )
    check_crs_metres(points, name)
    if len(points) == 0:
        raise GeoInputError(
            f"`{name}` is empty: there is nothing to map",
            fix="check the date range and area filters that produced it",
        )
    geom = points.geometry.values if isinstance(points, gpd.GeoDataFrame) else points.values
    arr = np.asarray(geom)
    bad = shapely.is_missing(arr) | shapely.is_empty(arr)
    bad |= shapely.get_type_id(arr) != 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        kind = "missing" if shapely.is_missing(arr[i]) else shapely.get_type_id(arr[i])
        raise GeoInputError(
            f"`{name}` has {int(bad.sum())} row(s) without a point location "
            f"(first: geometry {arr[i] if kind != 'missing' else 'None'})",
            where=f"{name} row {points.index[i]!r}",
            fix=f"drop them first, e.g. {name}[{name}.geometry.notna() & "
            f"~{name}.geometry.is_empty & ({name}.geom_type == 'Point')]",
        )
    x = shapely.get_x(arr)
    y = shapely.get_y(arr)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        i = int(np.flatnonzero(~(np.isfinite(x) & np.isfinite(y)))[0])
        raise GeoInputError(
            f"`{name}` has non-finite coordinates", where=f"{name} row {points.index[i]!r}",
            fix="drop rows with NaN or infinite coordinates",
        )
    return x, y


def point_weights(points, weight: str | None, name: str = "points") -> np.ndarray | None:
    """Return the per-point harm weights from column ``weight`` (``None`` -> ``None``).

    Raises
    ------
    GeoInputError
        If the column is missing, not numeric, or holds negative or non-finite values.
    """
    if weight is None:
        return None
    if not isinstance(points, gpd.GeoDataFrame) or weight not in points.columns:
        cols = list(getattr(points, "columns", []))
        raise GeoInputError(
            f"weight column {weight!r} not found in `{name}`",
            where=f"{name} columns {cols}",
            fix="pass the name of a numeric harm-weight column, or weight=None to count points",
        )
    try:
        w = points[weight].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise GeoInputError(
            f"weight column {weight!r} is not numeric",
            where=f"{name}[{weight!r}] dtype {points[weight].dtype}",
            fix="convert it with pandas.to_numeric(...) or choose another column",
        ) from None
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise GeoInputError(
            f"weight column {weight!r} has {int(bad.sum())} missing, infinite or negative "
            f"value(s) (first: {w[i]})",
            where=f"{name} row {points.index[i]!r}",
            fix="fill or drop them; harm weights must be finite and >= 0",
        )
    return w


def check_cell_size(cell_size: float, name: str = "cell_size") -> float:
    """Return ``cell_size`` as float or raise :class:`GeoInputError`."""
    try:
        size = float(cell_size)
    except (TypeError, ValueError):
        size = float("nan")
    if not math.isfinite(size) or size < 1.0:
        raise GeoInputError(
            f"`{name}` must be a number of metres >= 1, got {cell_size!r}",
            fix=f"pass e.g. {name}=200, or {name}=None to derive it from the data",
        )
    return size


def area_geometry(area, crs=None, name: str = "area"):
    """Return ``area`` (polygon, GeoSeries or GeoDataFrame) as one shapely geometry.

    A GeoSeries/GeoDataFrame is reprojected to ``crs`` when both CRSs are known.
    """
    if area is None:
        return None
    if isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if len(area) == 0:
            raise GeoInputError(f"`{name}` is empty", fix="pass a polygon or area=None")
        if crs is not None and area.crs is not None and area.crs != crs:
            area = area.to_crs(crs)
        elif area.crs is not None:
            check_crs_metres(area, name)
        geom = shapely.union_all(np.asarray(area.geometry.values if isinstance(
            area, gpd.GeoDataFrame) else area.values))
    elif isinstance(area, shapely.Geometry):
        geom = area
    else:
        raise GeoInputError(
            f"`{name}` must be a shapely polygon, GeoSeries or GeoDataFrame, "
            f"got {type(area).__name__}",
            fix="pass e.g. a boundary GeoDataFrame read with geo.read_boundaries",
        )
    if geom.is_empty or geom.area <= 0:
        raise GeoInputError(
            f"`{name}` has no area", where=f"{name} geometry type {geom.geom_type}",
            fix="pass a polygon covering the study area, in the points' CRS",
        )
    return geom
