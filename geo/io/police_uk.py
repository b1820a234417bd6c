"""police.uk street-crime files and archives: :func:`read_police_uk` (a CSV, a folder or a zip of
monthly files; outcomes and stop-and-search files are refused with a clear message).
"""
from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import GeoInputError
from ..report import ImportReport
from .csvread import (
    ReadResult,
    RowOutcomes,
    UK_LONLAT_BOX,
    check_archive,
    check_delimiter,
    check_utf8,
    content_uids,
    first_csv_line,
    read_csv_bytes,
    to_float,
)
from .checks import check_ids, check_lonlat_file, check_points_near_area, incident_frame, locate, this_month


#: The twelve columns of a police.uk street-level crime file.
POLICE_UK_STREET_COLUMNS = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
    "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
]
#: The fourteen police.uk crime types.
POLICE_UK_CATEGORIES = (
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson",
    "Drugs", "Other crime", "Other theft", "Possession of weapons", "Public order",
    "Robbery", "Shoplifting", "Theft from the person", "Vehicle crime",
    "Violence and sexual offences",
)
#: The fields that identify an event without a Crime ID (anti-social behaviour): a
#: republished month with a new outcome or LSOA code is the same event.
ASB_IDENTITY_COLUMNS = ["Month", "Reported by", "Longitude", "Latitude", "Crime type", "Location"]
_OUTCOMES_COLUMNS = {"Crime ID", "Month", "Outcome type"}
_STOP_SEARCH_COLUMNS = {"Type", "Date", "Object of search", "Legislation"}


def _police_uk_kind(columns: list[str]) -> str:
    cols = set(columns)
    if set(POLICE_UK_STREET_COLUMNS) <= cols:
        return "street"
    if _OUTCOMES_COLUMNS <= cols:
        return "outcomes"
    if _STOP_SEARCH_COLUMNS <= cols:
        return "stop-and-search"
    return "unknown"


def _iter_police_uk_sources(path: Path):
    """Yield (display name, bytes) for each CSV in a file, folder or police.uk zip."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.csv"))
        if not files:
            raise GeoInputError(
                "The folder holds no CSV files", where=str(path),
                fix="point at the folder of monthly police.uk CSVs (YYYY-MM/*-street.csv) or at the zip archive",
            )
        for p in files:
            yield str(p.relative_to(path.parent)), p.read_bytes()
    elif zipfile.is_zipfile(path):
        check_archive(path)
        with zipfile.ZipFile(path) as zf:
            names = sorted(n for n in zf.namelist() if n.lower().endswith(".csv"))
            if not names:
                raise GeoInputError(
                    "The zip archive holds no CSV files", where=str(path),
                    fix="download the archive again from police.uk (Data > Custom download)",
                )
            for n in names:
                yield f"{path.name}:{n}", zf.read(n)
    elif path.exists():
        yield str(path), path.read_bytes()
    else:
        raise GeoInputError("The file does not exist", where=str(path), fix="check the path and try again")


def _count_sources(path: Path) -> int:
    if path.is_dir():
        return len(list(path.rglob("*.csv")))
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            return sum(1 for n in zf.namelist() if n.lower().endswith(".csv"))
    return 1


def read_police_uk(path, *, crs: str = "EPSG:27700", area=None, points: bool = True) -> ReadResult:
    """Read police.uk street-level crime from a CSV, a folder of CSVs or a police.uk zip.

    Parameters
    ----------
    path : str or Path
        One ``*-street.csv``, a folder of them (searched recursively) or the zip archive
        as downloaded from police.uk (``YYYY-MM/*-street.csv`` inside). Outcomes and
        stop-and-search files inside a folder or archive are recognised by their headers
        and skipped with a note in the report; given alone they are refused.
    crs : str
        Analysis CRS of the workspace (projected, metres).
    area : shapely geometry or GeoSeries, optional
        The workspace area in ``crs``; located rows outside it are kept with status
        ``outside_area``.
    points : bool
        Build point geometries. ``False`` leaves ``geometry`` empty (``x``/``y`` still
        hold the coordinates): the bulk-import path, whose store writes points itself.

    Returns
    -------
    ReadResult
        ``frame`` columns: ``uid`` (police.uk Crime ID, or a content hash ``h:...`` where
        the id is blank, as for anti-social behaviour), ``layer`` (``crime``), ``source``,
        ``crime_id``, ``month`` (``YYYY-MM``), ``category`` (crime type), ``force``
        (Reported by), ``location``, ``lsoa_code``, ``lsoa_name``, ``outcome``, ``x``,
        ``y`` (metres, NaN where no location), ``status`` and ``geometry``.

    Raises
    ------
    GeoInputError
        For a file that is empty, not UTF-8, not comma-separated, not a street-level
        crime file, or whose coordinates look swapped or projected.
    """
    path = Path(path)
    total = ImportReport(source=str(path), kind="crime")
    frames = []
    single = _count_sources(path) == 1
    for name, raw in _iter_police_uk_sources(path):
        # the header's bytes are checked here, the rest by Arrow's reader (see read_csv_bytes);
        # a file refused or skipped before that is checked whole first, as it always was
        first_line = first_csv_line(name, raw, whole=False)
        if "," not in first_line:
            check_utf8(name, raw)
        check_delimiter(name, first_line)
        header = next(csv.reader([first_line]), [])
        kind = _police_uk_kind(header)
        if kind != "street":
            check_utf8(name, raw)
            what = {
                "outcomes": "a police.uk outcomes file (it has 'Outcome type' and no 'Crime type')",
                "stop-and-search": "a police.uk stop-and-search file, not street-level crime",
                "unknown": "not a police.uk street-level crime file",
            }[kind]
            if single:
                missing = [c for c in POLICE_UK_STREET_COLUMNS if c not in header]
                raise GeoInputError(
                    f"This is {what}; missing column(s): {', '.join(missing)}",
                    where=f"{name}, line 1 (header)",
                    fix="import the '*-street.csv' files from the police.uk download; "
                        "other incident files go through 'calls' with a column mapping",
                )
            total.skipped_files[name] = what
            continue
        df = read_csv_bytes(name, raw, checked=True)
        del raw
        result = _police_uk_frame(df, name, crs=crs, area=area, points=points)
        del df
        frames.append(result.frame)
        total.merge(result.report)
    if not frames:
        raise GeoInputError(
            "No police.uk street-level crime file was found", where=str(path),
            fix="import the '*-street.csv' files (skipped: " + ", ".join(total.skipped_files) + ")",
        )
    total.source = str(path)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return ReadResult(gpd.GeoDataFrame(frame, geometry="geometry", crs=crs), total)


def _arrow_uids(crime_id: pd.Series, no_id: np.ndarray, hashed: np.ndarray):
    """The row ids as a pandas ``str`` array built in Arrow: the Crime IDs, with the content
    hashes put in where the id is blank (the same strings as filling an object array, with
    no Python string per row); ``None`` if the column is not Arrow-backed."""
    import pyarrow as pa
    import pyarrow.compute as pc
    try:
        ids = pa.array(crime_id.array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    if not pa.types.is_string(ids.type) and not pa.types.is_large_string(ids.type) or ids.null_count:
        return None
    if no_id.any():
        ids = pc.replace_with_mask(ids, pa.array(no_id), pa.array(hashed.tolist(), type=ids.type))
    return pd.array(ids, dtype="str")


def _police_uk_frame(df: pd.DataFrame, name: str, *, crs, area, points: bool = True) -> ReadResult:
    check_ids(df, "Crime ID", name)
    lon = to_float(df["Longitude"])
    lat = to_float(df["Latitude"])
    check_lonlat_file(lon, lat, name, "Longitude", "Latitude", df.attrs.get("line"))
    out = RowOutcomes(df, name)
    month = df["Month"].str.strip()
    ok_month = month.str.fullmatch(r"(19|20)\d\d-(0[1-9]|1[0-2])").to_numpy()
    out.reject(~ok_month, "Month", "bad date (Month is not YYYY-MM)")
    out.reject((month > this_month()).to_numpy(), "Month", "impossible date (a month in the future)")
    lon_txt, lat_txt = df["Longitude"].str.strip() != "", df["Latitude"].str.strip() != ""
    blank = (~lon_txt & ~lat_txt).to_numpy()
    unparseable = ~blank & ~(np.isfinite(lon) & np.isfinite(lat))
    out.reject(unparseable, "Longitude/Latitude", "unparseable coordinate")
    x0, y0, x1, y1 = UK_LONLAT_BOX
    located = np.isfinite(lon) & np.isfinite(lat)
    implausible = located & ~((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))
    out.reject(implausible, "Longitude/Latitude", "implausible coordinate (outside the UK)")
    category = df["Crime type"].str.strip()
    out.reject(~category.isin(POLICE_UK_CATEGORIES).to_numpy(), "Crime type", "unknown category")
    lon[out.rejected | blank] = np.nan
    lat[out.rejected | blank] = np.nan
    X, Y, status = locate(lon, lat, "EPSG:4326", crs, area)
    check_points_near_area(lon, lat, "EPSG:4326", crs, X, Y, area, name, "Longitude", "Latitude",
                            lines=df.attrs.get("line"))
    report = out.report(name, "crime", status)
    keep = ~out.rejected
    if keep.all():  # the usual case: no gather needed
        keep = slice(None)
    k = df.loc[keep]
    crime_id = k["Crime ID"].str.strip()
    no_id = (crime_id == "").to_numpy()
    # rows without a Crime ID (anti-social behaviour) are identified by what identifies the
    # event, not by fields police.uk revises (outcome, LSOA codes of a new census)
    hashed = content_uids(k.loc[no_id, ASB_IDENTITY_COLUMNS], "h:")
    # police.uk repeats a Crime ID on a few rows of one file (one crime record, several
    # offences); the k-th repeat keeps its own identity so re-imports still match.
    repeated = crime_id.duplicated().to_numpy() & ~no_id
    repeat = crime_id.groupby(crime_id, sort=False).cumcount().to_numpy() if repeated.any() else np.zeros(len(k), int)
    again = (repeat > 0) & ~no_id
    uid = _arrow_uids(crime_id, no_id, hashed) if not again.any() else None
    if uid is None:  # repeated ids (or no Arrow strings): one Python string per row
        uid = crime_id.to_numpy(dtype=object).copy()
        uid[no_id] = hashed
    if again.any():
        uid[again] = [f"{u}#{r}" for u, r in zip(uid[again], repeat[again])]
        report.warnings.append(
            f"{name}: {int(again.sum())} row(s) repeat a Crime ID already used in the file; "
            "kept as separate crimes, as police.uk publishes them")
    col = lambda s: s.reset_index(drop=True)  # noqa: E731  (keeps pandas' compact string storage)
    frame = incident_frame({
        "uid": uid if isinstance(uid, pd.api.extensions.ExtensionArray) else pd.array(uid, dtype="str"), "layer": "crime", "source": Path(name.split(":")[0]).name,
        "crime_id": col(crime_id), "month": col(month[keep]), "date": None,
        "category": col(category[keep]), "subcategory": "",
        "force": col(k["Reported by"]), "location": col(k["Location"]),
        "lsoa_code": col(k["LSOA code"]), "lsoa_name": col(k["LSOA name"]),
        "outcome": col(k["Last outcome category"]), "status": pd.array(status[keep], dtype="str"),
    }, X[keep], Y[keep], crs, points=points)
    return ReadResult(frame, report)
