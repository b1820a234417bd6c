"""Coordinates and plausibility checks shared by the readers: projecting and classifying rows
(:func:`locate`: mapped / no_location / outside_area), building the incidents frame, id and
longitude/latitude checks, CRS plausibility and the far-from-the-area checks.
"""
from __future__ import annotations

import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ..errors import GeoInputError
from ..geometry import points_inside
from .csvread import INCIDENT_COLUMNS, UK_LONLAT_BOX


SCIENTIFIC_RE = r"[+-]?\d+(?:\.\d+)?[eE][+-]\d+"


_TRANSFORMERS = threading.local()


def transformer(src_crs, dst_crs) -> Transformer:
    """A cached lon/lat-order transformer per thread (building one costs ~0.1 s: per file,
    that dominated reading the many small files of a national archive)."""
    cache = _TRANSFORMERS.__dict__.setdefault("cache", {})
    key = (str(src_crs), str(dst_crs))
    if key not in cache:
        cache[key] = Transformer.from_crs(src_crs, dst_crs, always_xy=True)
    return cache[key]


def point_bit_groups(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group coordinate pairs that are the same bit for bit: ``(group of each pair, first
    pair of each group)``, with hash tables (pandas' ``factorize`` on the float bits), not a
    sort. Grouping by the bits, every pair of a group is the very same input, so projecting
    each group's first pair gives what projecting every pair does."""
    cx, _ = pd.factorize(np.ascontiguousarray(x, dtype=float).view(np.int64))
    cy, uy = pd.factorize(np.ascontiguousarray(y, dtype=float).view(np.int64))
    group, uniq = pd.factorize(cx.astype(np.int64) * len(uy) + cy)
    first = np.empty(len(uniq), dtype=np.int64)
    first[group[::-1]] = np.arange(len(group) - 1, -1, -1)  # the lowest pair of each group
    return group, first


def locate(x: np.ndarray, y: np.ndarray, src_crs, dst_crs, area) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project coordinates and classify each row mapped / no_location / outside_area."""
    have = np.isfinite(x) & np.isfinite(y)
    X = np.full(len(x), np.nan)
    Y = np.full(len(x), np.nan)
    status = np.where(have, "mapped", "no_location").astype(object)
    if not have.any():
        return X, Y, status
    xh, yh = x[have], y[have]
    # police.uk publishes a few thousand anonymous map points per force: project and test each
    # distinct point once (the same numbers, element by element) and give every row its point's result
    inverse = None
    if len(xh) > 10_000:
        inverse, first = point_bit_groups(xh, yh)
        if len(first) > len(xh) // 4:  # mostly distinct (e.g. exact call locations): project all
            inverse = None
        else:
            xh, yh = xh[first], yh[first]
    PX, PY = transformer(src_crs, dst_crs).transform(xh, yh)
    PX, PY = np.asarray(PX, dtype=float), np.asarray(PY, dtype=float)
    outside = None
    if area is not None:
        geom = area.union_all() if hasattr(area, "union_all") else area
        outside = ~points_inside(geom, PX, PY)
    if inverse is not None:
        PX, PY = PX[inverse], PY[inverse]
        outside = outside[inverse] if outside is not None else None
    X[have], Y[have] = PX, PY
    if outside is not None:
        status[np.flatnonzero(have)[outside]] = "outside_area"
    return X, Y, status


def incident_frame(cols: dict, X, Y, crs, points: bool = True) -> gpd.GeoDataFrame:
    """The incidents frame (:data:`INCIDENT_COLUMNS` present in ``cols``) with ``x``, ``y`` and point geometry."""
    df = pd.DataFrame(cols)
    df["x"], df["y"] = X, Y
    if points:
        geom = shapely.points(X, Y)  # NaN coordinates give empty points
        geom[~(np.isfinite(X) & np.isfinite(Y))] = None
    else:  # bulk import: the store writes points from x/y, so skip a million shapely objects
        geom = np.full(len(df), None, dtype=object)
    return gpd.GeoDataFrame(df[[c for c in INCIDENT_COLUMNS if c in df]], geometry=geom, crs=crs)


def data_line(lines, i: int) -> int:
    """The physical line of data row ``i`` (0-based): from the file's line map if it has one."""
    return int(lines[i]) if lines is not None else int(i) + 2


def this_month() -> str:
    """``YYYY-MM`` of tomorrow (a day's grace for time zones)."""
    return (pd.Timestamp.now() + pd.Timedelta(days=1)).strftime("%Y-%m")


def check_ids(df: pd.DataFrame, column: str, name: str) -> None:
    """Refuse ids a spreadsheet turned into numbers in scientific notation (``1.70E+63``):
    different ids collapse into one, so later rows would be dropped as already held."""
    import pyarrow as pa
    import pyarrow.compute as pc
    try:
        arr = pa.array(df[column].array, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array(df[column].astype(str).tolist(), type=pa.string())
    length = pc.binary_length(arr)  # police.uk ids are 64 characters: only short values can be
    short = pc.and_(pc.less(length, 40), pc.greater(length, 0)).fill_null(False)  # mangled (blank: no id)
    if not pc.any(short).as_py():
        return
    idx = np.flatnonzero(short.to_numpy(zero_copy_only=False))
    hit = pc.match_substring_regex(arr.take(pa.array(idx)), rf"^\s*{SCIENTIFIC_RE}\s*$")
    bad = np.zeros(len(arr), dtype=bool)
    bad[idx] = hit.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    if not bad.any():
        return
    ids = df[column].astype(str).str.strip()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        lines = df.attrs.get("line")
        line = int(lines[i]) if lines is not None else i + 2
        raise GeoInputError(
            f"{int(bad.sum()):,} value(s) in column '{column}' are numbers in scientific notation "
            f"(line {line}: '{ids.iloc[i]}'): a spreadsheet has rounded the ids, so different records "
            "now share one", where=f"{name}, line {line}, column {column}",
            fix="use the file as downloaded (do not open and save it in Excel), or import the column as text")


def check_lonlat_file(lon, lat, name, xcol, ycol, lines=None) -> None:
    """Refuse a file whose coordinates are swapped or not in degrees."""
    ok = np.isfinite(lon) & np.isfinite(lat)
    if ok.sum() == 0:
        return
    first = int(np.flatnonzero(ok)[0])
    where = f"{name}, columns {xcol}/{ycol} (first located row, line {data_line(lines, first)}: {xcol}={lon[first]:g}, {ycol}={lat[first]:g})"
    if np.mean((np.abs(lon[ok]) > 180) | (np.abs(lat[ok]) > 90)) > 0.5:
        raise GeoInputError(
            f"{xcol}/{ycol} hold projected coordinates (e.g. British National Grid eastings and "
            "northings in metres), not degrees",
            where=where,
            fix="use a police.uk file as downloaded, or import this file as 'calls' with a column "
                "mapping that sets its CRS (e.g. EPSG:27700)",
        )
    x0, y0, x1, y1 = UK_LONLAT_BOX
    in_box = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    swapped = (lat >= x0) & (lat <= x1) & (lon >= y0) & (lon <= y1)
    if np.mean(swapped[ok]) > 0.5 and np.mean(in_box[ok]) < 0.5:
        raise GeoInputError(
            f"{xcol} and {ycol} look swapped: {xcol} holds values like latitudes and {ycol} like longitudes",
            where=where,
            fix=f"swap the {xcol} and {ycol} column headers (or the columns) and import again",
        )


def check_crs_plausible(x, y, src: CRS, name, xcol, ycol, mapping_name, lines=None) -> None:
    """Refuse coordinates that cannot be in ``src`` (swapped, wrong CRS, outside its area of use)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() == 0:
        return
    first = int(np.flatnonzero(ok)[0])
    where = f"{name}, columns {xcol}/{ycol} (line {data_line(lines, first)}: {x[first]:g}, {y[first]:g})"
    degrees = (np.abs(x[ok]) <= 180) & (np.abs(y[ok]) <= 90)
    if src.is_geographic:
        if np.mean(~degrees) > 0.5:
            raise GeoInputError(
                f"Mapping '{mapping_name}' says the coordinates are degrees ({src.to_string()}), "
                "but they look like projected eastings/northings",
                where=where, fix="set the mapping's crs to the file's projected CRS, e.g. EPSG:27700",
            )
        if np.mean(np.abs(y[ok]) > 90) == 0 and np.mean((np.abs(x[ok]) <= 90)) == 1:
            # both plausible as degrees: check for swapped lon/lat with the area of use
            inside = ~outside_area_of_use(x, y, src)
            swapped = ~outside_area_of_use(y, x, src)
            if src.area_of_use and np.mean(swapped[ok]) > 0.5 and np.mean(inside[ok]) < 0.5:
                raise GeoInputError(
                    f"'{xcol}' and '{ycol}' look swapped (the values fit as latitude, longitude)",
                    where=where, fix=f"swap x and y in mapping '{mapping_name}'",
                )
    else:
        if np.mean(degrees) > 0.9:
            raise GeoInputError(
                f"Mapping '{mapping_name}' says the coordinates are in {src.to_string()}, "
                "but they look like longitude/latitude degrees",
                where=where, fix="set the mapping's crs to EPSG:4326 (x = longitude, y = latitude)",
            )
        outside = outside_area_of_use(x, y, src)
        if np.mean(outside[ok]) > 0.5:
            raise GeoInputError(
                f"Most coordinates fall outside the area where {src.to_string()} applies, so the CRS "
                "is probably wrong (or x and y are swapped)",
                where=where, fix=f"check the CRS in mapping '{mapping_name}' (and that x is the easting)",
            )


def outside_area_of_use(x, y, src: CRS, margin_deg: float = 1.0) -> np.ndarray:
    """True where a located coordinate falls outside the CRS's area of use (with margin)."""
    out = np.zeros(len(x), dtype=bool)
    ok = np.isfinite(x) & np.isfinite(y)
    aou = src.area_of_use
    if aou is None or not ok.any():
        return out
    if src.is_geographic:
        lon, lat = x[ok], y[ok]
    else:
        lon, lat = Transformer.from_crs(src, "EPSG:4326", always_xy=True).transform(x[ok], y[ok])
    w, s, e, n = aou.bounds
    bad = ~((lon >= w - margin_deg) & (lon <= e + margin_deg) & (lat >= s - margin_deg) & (lat <= n + margin_deg))
    bad |= ~(np.isfinite(lon) & np.isfinite(lat))
    out[np.flatnonzero(ok)] = bad
    return out


def check_near_area(geoms: np.ndarray, area, name: str, *, what: str, fix: str,
                     margin_m: float | None = None) -> None:
    """Refuse features of which none lies in or near the workspace area."""
    from ..settings import settings
    margin = settings.area_margin_m if margin_m is None else margin_m
    ax0, ay0, ax1, ay1 = shapely.bounds(area)
    ok = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    if not ok.any():
        return
    b = shapely.bounds(geoms[ok])
    near = (b[:, 2] >= ax0 - margin) & (b[:, 0] <= ax1 + margin) & (b[:, 3] >= ay0 - margin) & (b[:, 1] <= ay1 + margin)
    if near.any():
        return
    gx0, gy0, gx1, gy1 = np.nanmin(b[:, 0]), np.nanmin(b[:, 1]), np.nanmax(b[:, 2]), np.nanmax(b[:, 3])
    dist = shapely.distance(shapely.box(gx0, gy0, gx1, gy1), shapely.box(ax0, ay0, ax1, ay1))
    raise GeoInputError(
        f"None of the {what} lies in or within {margin / 1000:,.0f} km of the workspace area "
        f"(they are {dist / 1000:,.0f} km away)", where=name, fix=fix)


def check_points_near_area(x, y, src, dst, X, Y, area, name: str, xcol: str, ycol: str,
                            mapping_name: str | None = None, lines=None) -> None:
    """Refuse a file whose located rows mostly lie far from the workspace area, naming the
    likely cause (x and y swapped, a wrong CRS, or a file for another area)."""
    if area is None:
        return
    from ..settings import settings
    located = np.isfinite(X) & np.isfinite(Y)
    if located.sum() == 0:
        return
    geom = area.union_all() if hasattr(area, "union_all") else area
    m = settings.area_margin_m
    ax0, ay0, ax1, ay1 = shapely.bounds(geom)

    def near(XX, YY):
        ok = np.isfinite(XX) & np.isfinite(YY)
        return ok & (XX >= ax0 - m) & (XX <= ax1 + m) & (YY >= ay0 - m) & (YY <= ay1 + m)

    if near(X, Y)[located].mean() >= 0.5:
        return
    first = int(np.flatnonzero(located)[0])
    where = f"{name}, columns {xcol}/{ycol} (line {data_line(lines, first)}: {x[first]:g}, {y[first]:g})"
    with np.errstate(all="ignore"):
        try:
            SX, SY = Transformer.from_crs(src, dst, always_xy=True).transform(y[located], x[located])
            swapped = near(np.asarray(SX, float), np.asarray(SY, float)).mean() >= 0.5
        except Exception:
            swapped = False
    n_far = int((~near(X, Y) & located).sum())
    what = f"{n_far:,} of {int(located.sum()):,} located rows lie more than {m / 1000:,.0f} km outside the workspace area"
    if swapped:
        fix = (f"swap x and y in mapping '{mapping_name}'" if mapping_name
               else f"swap the {xcol} and {ycol} columns")
        raise GeoInputError(f"{what}; with x and y swapped they would fall inside it, so the columns look swapped",
                            where=where, fix=fix)
    src_name = CRS.from_user_input(src).to_string()
    fix = (f"check the CRS of mapping '{mapping_name}' (now {src_name}) and that the file is for this force's area"
           if mapping_name else "check that the file is for this workspace's force (and its CRS)")
    raise GeoInputError(f"{what}: the CRS ({src_name}) is probably wrong, or the file is for another area",
                        where=where, fix=fix)
