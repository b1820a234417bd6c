"""Incident and calls-for-service files: :class:`ColumnMapping` (which column holds what) and
:func:`read_incidents`.
"""
from __future__ import annotations

import logging
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import GeoInputError
from .csvread import ReadResult, RowOutcomes, check_archive, content_uids, read_csv_bytes, to_float
from .dates import parse_timestamps
from .checks import (
    check_crs_plausible,
    check_ids,
    check_points_near_area,
    incident_frame,
    locate,
    outside_area_of_use,
    this_month,
)

logger = logging.getLogger(__name__)


@dataclass
class ColumnMapping:
    """How the columns of an incidents or calls-for-service file map onto the product.

    Saved in the workspace by ``name`` and reused for the next file of the same shape.

    Attributes
    ----------
    name : str
        Name to save the mapping under (e.g. ``portland-cfs``).
    category : str
        Column with the incident category (used for harm weights and filters).
    timestamp : str, optional
        Column with a date or date-time; ``month`` is derived from it.
    month : str, optional
        Column with ``YYYY-MM`` where there is no timestamp.
    x, y : str, optional
        Coordinate columns (longitude/latitude when ``crs`` is geographic). Not needed
        for GeoPackage, GeoJSON or Shapefile input, whose geometry is used.
    crs : str
        CRS of ``x``/``y`` (e.g. ``EPSG:4326``, ``EPSG:27700``, ``EPSG:2913``).
    id : str, optional
        Column with the source's own incident id, used to de-duplicate re-imports; rows
        without one are identified by a content hash.
    subcategory : str, optional
        A finer description kept alongside the category.
    layer : str
        Layer name in the workspace, ``calls`` by default.
    date_format : str, optional
        ``strftime`` format of every ``timestamp`` value (e.g. ``%d/%m/%Y %H:%M``).
    dayfirst : bool, optional
        For numeric day/month dates: ``True`` reads ``03/04/2024`` as 3 April (UK),
        ``False`` as 4 March (US). ``None``: detected from values valid only one way
        (``13/04/2024``); a column where every value reads both ways is refused. ISO
        8601 dates are always year-month-day. See :func:`parse_timestamps`.
    """

    name: str
    category: str
    timestamp: str | None = None
    month: str | None = None
    x: str | None = None
    y: str | None = None
    crs: str = "EPSG:4326"
    id: str | None = None
    subcategory: str | None = None
    layer: str = "calls"
    date_format: str | None = None
    dayfirst: bool | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ColumnMapping":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def read_table(path: Path) -> tuple[pd.DataFrame, object]:
    """Read CSV or a vector file into strings; return (frame, geometry series or None)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return read_csv_bytes(str(path), path.read_bytes()), None
    if suffix in (".gpkg", ".geojson", ".json", ".shp", ".zip"):
        if zipfile.is_zipfile(path):
            check_archive(path)
        try:
            gdf = gpd.read_file(path)
        except Exception as err:  # pyogrio raises several types
            raise GeoInputError(
                f"The file cannot be read as a GIS layer: {err}", where=str(path),
                fix="open it in QGIS to check it, or export it again as GeoPackage",
            ) from None
        if len(gdf) == 0:
            raise GeoInputError("The layer has no rows", where=str(path), fix="export the layer again with its features")
        geom = gdf.geometry
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(str).replace({"None": "", "nan": "", "NaT": ""})
        return df, geom
    raise GeoInputError(
        f"Unsupported file type '{suffix}'", where=str(path),
        fix="use CSV, GeoPackage (.gpkg), GeoJSON (.geojson) or Shapefile (.shp)",
    )


def _require_columns(df: pd.DataFrame, needed: dict[str, str | None], name: str, mapping_name: str) -> None:
    for role, col in needed.items():
        if col and col not in df.columns:
            close = [c for c in df.columns if c.lower().replace(" ", "_") == col.lower().replace(" ", "_")]
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise GeoInputError(
                f"Column '{col}' (the {role} in mapping '{mapping_name}') is not in the file",
                where=f"{name}, line 1 (header: {', '.join(map(str, df.columns[:12]))})",
                fix=f"{hint}edit the mapping so that {role} names one of the file's columns",
            )


def read_incidents(path, mapping: ColumnMapping, *, crs: str = "EPSG:27700", area=None,
                   categories: set[str] | None = None) -> ReadResult:
    """Read incidents or calls for service through a column mapping.

    Parameters
    ----------
    path : str or Path
        CSV, GeoPackage, GeoJSON or Shapefile.
    mapping : ColumnMapping
        Which column is the id, timestamp or month, category and coordinates, and the
        coordinates' CRS.
    crs : str
        Analysis CRS of the workspace.
    area : geometry, optional
        The workspace area; located rows outside it get status ``outside_area``.
    categories : set of str, optional
        Allowed categories; rows with another category are rejected as
        "unknown category". By default any non-blank category is accepted.

    Returns
    -------
    ReadResult
        Same columns as :func:`read_police_uk`; ``date`` holds the ISO date-time where the
        source has one and ``month`` is ``YYYY-MM``.
    """
    path = Path(path)
    name = str(path)
    df, geom = read_table(path)
    if mapping.timestamp is None and mapping.month is None:
        raise GeoInputError(
            f"Mapping '{mapping.name}' names neither a timestamp nor a month column", where=name,
            fix="set 'timestamp' (a date or date-time column) or 'month' (YYYY-MM) in the mapping",
        )
    needed = {"category": mapping.category, "timestamp": mapping.timestamp, "month": mapping.month,
              "id": mapping.id, "subcategory": mapping.subcategory}
    if geom is None:
        if not (mapping.x and mapping.y):
            raise GeoInputError(
                f"Mapping '{mapping.name}' names no coordinate columns for a CSV file", where=name,
                fix="set 'x' and 'y' (longitude and latitude, or eastings and northings) and the CRS",
            )
        needed.update(x=mapping.x, y=mapping.y)
    _require_columns(df, needed, name, mapping.name)
    if mapping.id:
        check_ids(df, mapping.id, name)

    out = RowOutcomes(df, name)
    # when
    if mapping.timestamp:
        parsed = parse_timestamps(df[mapping.timestamp], date_format=mapping.date_format,
                                  dayfirst=mapping.dayfirst, where=f"{name}, column {mapping.timestamp}",
                                  mapping_name=mapping.name, lines=df.attrs.get("line"))
        t = parsed.values
        bad = t.isna().to_numpy()
        if bad.all() and len(df):
            raw_t = df[mapping.timestamp].str.strip()
            raise GeoInputError(
                f"No value in column '{mapping.timestamp}' could be read as a date "
                f"(line 2 has '{raw_t.iloc[0]}')", where=f"{name}, column {mapping.timestamp}",
                fix="set the mapping's date_format, e.g. %d/%m/%Y %H:%M, or pick the right column",
            )
        for reason, mask in parsed.rejected.items():
            out.reject(mask, mapping.timestamp, reason)
        date_note = f"{name}: column '{mapping.timestamp}' read as {parsed.detected}"
        logger.info(date_note)
        month = t.dt.strftime("%Y-%m").fillna("")
        date = t.dt.strftime("%Y-%m-%dT%H:%M:%S").fillna("")
    else:
        month = df[mapping.month].str.strip()
        out.reject(~month.str.fullmatch(r"(19|20)\d\d-(0[1-9]|1[0-2])").to_numpy(), mapping.month, "bad date (not YYYY-MM)")
        out.reject((month > this_month()).to_numpy(), mapping.month, "impossible date (a month in the future)")
        date = pd.Series("", index=df.index)
    # where
    if geom is not None:
        src_crs = geom.crs or mapping.crs
        empty = (geom.isna() | geom.is_empty).to_numpy()
        pts = geom.where(~empty, None)
        if not empty.all() and not (pts[~empty].geom_type == "Point").all():
            pts = pts.representative_point()
        x = np.where(empty, np.nan, shapely.get_x(pts.to_numpy()) if not empty.all() else np.nan)
        y = np.where(empty, np.nan, shapely.get_y(pts.to_numpy()) if not empty.all() else np.nan)
        xcol, ycol = "geometry", "geometry"
    else:
        src_crs = mapping.crs
        x, y = to_float(df[mapping.x]), to_float(df[mapping.y])
        xcol, ycol = mapping.x, mapping.y
        blank = ((df[mapping.x].str.strip() == "") & (df[mapping.y].str.strip() == "")).to_numpy()
        out.reject(~blank & ~(np.isfinite(x) & np.isfinite(y)), f"{xcol}/{ycol}", "unparseable coordinate")
    src = CRS.from_user_input(src_crs)
    check_crs_plausible(x, y, src, name, xcol, ycol, mapping.name, df.attrs.get("line"))
    implausible = outside_area_of_use(x, y, src)
    out.reject(implausible, f"{xcol}/{ycol}", f"implausible coordinate (outside the area of use of {src.to_string()})")
    # what
    category = df[mapping.category].str.strip()
    out.reject((category == "").to_numpy(), mapping.category, "missing category")
    if categories is not None:
        out.reject(~category.isin(categories).to_numpy(), mapping.category, "unknown category")
    x = np.where(out.rejected, np.nan, x)
    y = np.where(out.rejected, np.nan, y)
    X, Y, status = locate(x, y, src, crs, area)
    check_points_near_area(x, y, src, crs, X, Y, area, name, xcol, ycol, mapping.name, df.attrs.get("line"))
    report = out.report(name, mapping.layer, status)
    if mapping.timestamp and not parsed.detected.startswith("ISO"):
        report.warnings.append(date_note)
    keep = ~out.rejected
    k = df.loc[keep]
    if mapping.id:
        ids = k[mapping.id].str.strip().to_numpy(dtype=object)
        uid = np.array([f"{mapping.layer}:{i}" if i else "" for i in ids], dtype=object)
    else:
        uid = np.full(len(k), "", dtype=object)
    no_id = uid == ""
    uid[no_id] = content_uids(k.loc[no_id], f"{mapping.layer}:h:")
    frame = incident_frame({
        "uid": uid, "layer": mapping.layer, "source": path.name,
        "crime_id": k[mapping.id].to_numpy() if mapping.id else "",
        "month": month[keep].to_numpy(), "date": date[keep].to_numpy(),
        "category": category[keep].to_numpy(),
        "subcategory": k[mapping.subcategory].to_numpy() if mapping.subcategory else "",
        "force": "", "location": "", "lsoa_code": "", "lsoa_name": "", "outcome": "",
        "status": status[keep],
    }, X[keep], Y[keep], crs)
    report.source = name
    return ReadResult(frame, report)
