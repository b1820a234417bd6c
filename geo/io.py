"""Readers: police.uk street crime, incidents/calls, sensitive sites and boundaries.

Every reader returns a :class:`ReadResult`: a GeoDataFrame in the analysis CRS holding
the rows that were kept (with a ``status`` column: ``mapped``, ``no_location`` or
``outside_area``) and an :class:`~geo.report.ImportReport` that accounts for every row
read. A file that cannot be read as a whole (wrong columns, delimiter or encoding, an
empty file, a stop-and-search file given as street crime, swapped coordinates or a wrong
CRS) raises :class:`~geo.errors.GeoInputError` naming the file, the row or column, and
the fix; nothing is returned, so nothing reaches the workspace.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import threading
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from .errors import GeoInputError
from .report import REJECTED_COLUMNS, ImportReport

logger = logging.getLogger(__name__)

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
_SCIENTIFIC_RE = r"[+-]?\d+(?:\.\d+)?[eE][+-]\d+"
_STOP_SEARCH_COLUMNS = {"Type", "Date", "Object of search", "Legislation"}

#: Plausible lon/lat box for police.uk data (Great Britain, Northern Ireland and islands).
UK_LONLAT_BOX = (-8.7, 49.8, 2.0, 60.9)

#: Columns of the incidents table, shared by crime and calls.
INCIDENT_COLUMNS = [
    "uid", "layer", "source", "crime_id", "month", "date", "category", "subcategory",
    "force", "location", "lsoa_code", "lsoa_name", "outcome", "x", "y", "status",
]

SITE_KINDS = ("school", "treatment", "hostel", "bail hostel", "pharmacy", "other")
BOUNDARY_LEVELS = ("force", "bcu", "ward", "neighbourhood", "lsoa")


@dataclass
class ReadResult:
    """Rows kept from a read (GeoDataFrame in the analysis CRS) and the import report."""

    frame: gpd.GeoDataFrame
    report: ImportReport


# --------------------------------------------------------------------------- helpers


def _sniff_text(path_name: str, raw: bytes) -> str:
    """Decode bytes as UTF-8 (with or without BOM) or raise a fix-it error."""
    if not raw or raw.isspace():
        raise GeoInputError(
            "The file is empty", where=path_name,
            fix="export the data again; a police.uk download has a header line and one line per crime",
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise GeoInputError(
            f"The file is not UTF-8 text (byte 0x{raw[err.start]:02x} cannot be decoded)",
            where=f"{path_name}, line {line}",
            fix="save the file as 'CSV UTF-8' (in Excel: Save As > CSV UTF-8) and import it again",
        ) from None


def _first_line(path_name: str, raw: bytes) -> str:
    """Check the whole file is UTF-8 text; return its header line (without BOM)."""
    text = _sniff_text(path_name, raw)  # validates every byte; the text itself is dropped
    if "\n" not in text and "\r" in text.rstrip("\r"):
        raise GeoInputError(
            "The file's lines end with a carriage return only (old Mac line endings), so it reads as one line",
            where=f"{path_name}, line 1",
            fix="save it again as 'CSV UTF-8' (in Excel: Save As > CSV UTF-8), or convert its line endings "
                "to LF or CRLF (e.g. in Notepad++: Edit > EOL Conversion)",
        )
    first = text[: text.find("\n")] if "\n" in text else text
    return first.strip("\r")


def _physical_lines(text: str, n_rows: int) -> np.ndarray | None:
    """The line (1-based, header = 1) on which each data row starts, counting the extra
    lines of quoted newlines and blank lines; ``None`` if the file could not be followed."""
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, prev = [], 0
    try:
        for rec in reader:
            if rec:
                starts.append(prev + 1)
            prev = reader.line_num
    except csv.Error:
        return None
    starts = starts[1:]
    return np.array(starts, dtype=np.int64) if len(starts) == n_rows else None


def _attach_lines(df: pd.DataFrame, raw: bytes) -> pd.DataFrame:
    """Put each row's physical line in ``df.attrs["line"]`` when rows and lines differ."""
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    lines = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    if lines != len(df) + 1:  # quoted newlines or blank lines: follow the file
        found = _physical_lines(body.decode("utf-8", errors="replace"), len(df))
        if found is not None:
            df.attrs["line"] = found
    return df


def _read_csv_bytes(path_name: str, raw: bytes, *, checked: bool = False) -> pd.DataFrame:
    """Parse UTF-8 CSV bytes as strings (fast path: Arrow's multi-threaded reader).

    ``checked`` says the caller has already validated the encoding and delimiter.
    """
    if not checked:
        _check_delimiter(path_name, _first_line(path_name, raw))
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    try:
        df = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False, engine="pyarrow")
    except Exception:  # let the C parser find the line and word the message
        return _attach_lines(_read_csv_text(path_name, raw.decode("utf-8-sig")), raw)
    return _attach_lines(df, raw)


def _check_delimiter(path_name: str, first_line: str) -> None:
    """Refuse a file whose header is separated by something other than commas."""
    if "," in first_line:
        return
    for delim, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
        if delim in first_line:
            raise GeoInputError(
                f"The file uses {label} to separate columns, not commas",
                where=f"{path_name}, line 1 (header)",
                fix="save it as comma-separated CSV, or convert it, e.g. in Excel Save As > CSV UTF-8",
            )


def _read_csv_text(path_name: str, text: str) -> pd.DataFrame:
    """Parse CSV text as strings, refusing other delimiters with a clear message."""
    _check_delimiter(path_name, text.split("\n", 1)[0])
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, csv.Error) as err:
        m = re.search(r"line (\d+)", str(err))
        where = f"{path_name}, line {m.group(1)}" if m else path_name
        raise GeoInputError(
            f"The CSV cannot be parsed: {err}", where=where,
            fix="check that line for an unquoted comma or a missing quote, then save the file again",
        ) from None


def _content_uids(df: pd.DataFrame, prefix: str) -> np.ndarray:
    """Stable row identities from content, for rows that carry no id.

    Identical rows are legitimately repeated in police.uk data (several anti-social
    behaviour reports at one anonymous map point in one month), so the k-th repeat of the
    same content gets ``k`` in its hash: re-reading the same file gives the same ids,
    while genuine repeats stay distinct.
    """
    if df.empty:
        return np.array([], dtype=object)
    cols = [df[c].astype(str) for c in df.columns]
    key = cols[0].str.cat(cols[1:], sep="\x1f") if len(cols) > 1 else cols[0]
    occurrence = key.groupby(key, sort=False).cumcount().to_numpy()
    sha1 = hashlib.sha1
    return np.array([prefix + sha1(f"{k}\x1e{i}".encode()).hexdigest()
                     for k, i in zip(key.tolist(), occurrence.tolist())], dtype=object)


def _to_float(s: pd.Series) -> np.ndarray:
    """Numbers from text; blank or unparseable text gives NaN."""
    import pyarrow as pa
    import pyarrow.compute as pc
    try:  # fast path: Arrow casts a clean column in one go
        arr = pc.utf8_trim_whitespace(pa.array(s.array))
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
        return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False).astype(float, copy=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pd.to_numeric(s.str.strip(), errors="coerce").to_numpy(dtype=float, copy=True)


def _reject(df: pd.DataFrame, mask: np.ndarray, file: str, column: str, reason: str,
            lines: np.ndarray | None = None) -> pd.DataFrame:
    """Rows of ``df`` under ``mask`` as rejected-row records (``row``: the physical line)."""
    sub = df.loc[mask]
    raw = sub.astype(str).agg(lambda r: json.dumps(dict(r), ensure_ascii=False), axis=1) if len(sub) else []
    row = lines[np.asarray(mask, dtype=bool)] if lines is not None else sub.index.to_numpy() + 2
    return pd.DataFrame({
        "file": file, "row": row, "column": column,
        "reason": reason, "raw": list(raw),
    }, columns=REJECTED_COLUMNS)


class _Outcomes:
    """Assigns each row one outcome; a row keeps the first reason it is rejected for."""

    def __init__(self, df: pd.DataFrame, file: str):
        self.df = df
        self.file = file
        self.rejected = np.zeros(len(df), dtype=bool)
        self.parts: list[pd.DataFrame] = []
        self.reasons: dict[str, int] = {}
        self.lines = df.attrs.get("line")

    def reject(self, mask: np.ndarray, column: str, reason: str) -> None:
        mask = np.asarray(mask, dtype=bool) & ~self.rejected
        if mask.any():
            self.parts.append(_reject(self.df, mask, self.file, column, reason, self.lines))
            self.reasons[reason] = self.reasons.get(reason, 0) + int(mask.sum())
            self.rejected |= mask

    def report(self, source: str, kind: str, status: np.ndarray) -> ImportReport:
        kept = status[~self.rejected]
        rep = ImportReport(source=source, kind=kind, rows_read=len(self.df), files=[self.file])
        rep.outcomes = {
            "mapped": int((kept == "mapped").sum()),
            "no_location": int((kept == "no_location").sum()),
            "outside_area": int((kept == "outside_area").sum()),
            "rejected": int(self.rejected.sum()),
        }
        rep.reasons = dict(self.reasons)
        if self.parts:
            rep.rejected = pd.concat(self.parts, ignore_index=True).sort_values("row", ignore_index=True)
        return rep


_TRANSFORMERS = threading.local()


def _transformer(src_crs, dst_crs) -> Transformer:
    """A cached lon/lat-order transformer per thread (building one costs ~0.1 s: per file,
    that dominated reading the many small files of a national archive)."""
    cache = _TRANSFORMERS.__dict__.setdefault("cache", {})
    key = (str(src_crs), str(dst_crs))
    if key not in cache:
        cache[key] = Transformer.from_crs(src_crs, dst_crs, always_xy=True)
    return cache[key]


def _locate(x: np.ndarray, y: np.ndarray, src_crs, dst_crs, area) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project coordinates and classify each row mapped / no_location / outside_area."""
    have = np.isfinite(x) & np.isfinite(y)
    X = np.full(len(x), np.nan)
    Y = np.full(len(x), np.nan)
    if have.any():
        X[have], Y[have] = _transformer(src_crs, dst_crs).transform(x[have], y[have])
    status = np.where(have, "mapped", "no_location").astype(object)
    if area is not None and have.any():
        geom = area.union_all() if hasattr(area, "union_all") else area
        shapely.prepare(geom)
        inside = shapely.contains_xy(geom, X[have], Y[have])
        idx = np.flatnonzero(have)
        status[idx[~inside]] = "outside_area"
    return X, Y, status


def _frame(cols: dict, X, Y, crs, points: bool = True) -> gpd.GeoDataFrame:
    df = pd.DataFrame(cols)
    df["x"], df["y"] = X, Y
    if points:
        geom = shapely.points(X, Y)  # NaN coordinates give empty points
        geom[~(np.isfinite(X) & np.isfinite(Y))] = None
    else:  # bulk import: the store writes points from x/y, so skip a million shapely objects
        geom = np.full(len(df), None, dtype=object)
    return gpd.GeoDataFrame(df[[c for c in INCIDENT_COLUMNS if c in df]], geometry=geom, crs=crs)


# --------------------------------------------------------------------- police.uk


def _police_uk_kind(columns: list[str]) -> str:
    cols = set(columns)
    if set(POLICE_UK_STREET_COLUMNS) <= cols:
        return "street"
    if _OUTCOMES_COLUMNS <= cols:
        return "outcomes"
    if _STOP_SEARCH_COLUMNS <= cols:
        return "stop-and-search"
    return "unknown"


def check_archive(path, *, max_bytes: int | None = None, max_ratio: float | None = None,
                  max_members: int | None = None) -> None:
    """Refuse a zip archive that would expand too far, before anything is extracted.

    Reads only the archive's directory: the total uncompressed size, its ratio to the
    compressed size, and the number of members are checked against
    ``settings.max_unzipped_bytes`` (2 GB), ``settings.max_zip_ratio`` (100) and
    ``settings.max_zip_members`` (10,000). Python's reader never inflates a member past
    the size its directory entry declares, so the check also bounds what is read.

    Raises
    ------
    GeoInputError
        For an archive above a limit (a "zip bomb" or simply too big), naming the figure.
    """
    from .settings import settings
    max_bytes = settings.max_unzipped_bytes if max_bytes is None else max_bytes
    max_ratio = settings.max_zip_ratio if max_ratio is None else max_ratio
    max_members = settings.max_zip_members if max_members is None else max_members
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as err:
        raise GeoInputError(f"The zip archive cannot be read: {err}", where=str(path),
                            fix="download or export the archive again") from None
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    size_on_disk = path.stat().st_size
    fix = "unpack it yourself and import the CSV files (or the folder), or split the archive by month"
    if len(infos) > max_members:
        raise GeoInputError(f"The zip archive holds {len(infos):,} files, more than the limit of {max_members:,}",
                            where=str(path), fix=fix)
    if total > max_bytes:
        raise GeoInputError(
            f"The zip archive would expand to {total / 1024**2:,.0f} MB, above the limit of "
            f"{max_bytes / 1024**2:,.0f} MB", where=str(path), fix=fix)
    ratio = total / max(packed, size_on_disk // 2, 1)
    if ratio > max_ratio:
        raise GeoInputError(
            f"The zip archive expands {ratio:,.0f} times ({size_on_disk / 1024:,.0f} KB to "
            f"{total / 1024**2:,.0f} MB), above the limit of {max_ratio:,.0f}: it may be a zip bomb",
            where=str(path), fix=fix)


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
        first_line = _first_line(name, raw)
        _check_delimiter(name, first_line)
        header = next(csv.reader([first_line]), [])
        kind = _police_uk_kind(header)
        if kind != "street":
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
        df = _read_csv_bytes(name, raw, checked=True)
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


def _police_uk_frame(df: pd.DataFrame, name: str, *, crs, area, points: bool = True) -> ReadResult:
    _check_ids(df, "Crime ID", name)
    lon = _to_float(df["Longitude"])
    lat = _to_float(df["Latitude"])
    _check_lonlat_file(lon, lat, name, "Longitude", "Latitude", df.attrs.get("line"))
    out = _Outcomes(df, name)
    month = df["Month"].str.strip()
    ok_month = month.str.fullmatch(r"(19|20)\d\d-(0[1-9]|1[0-2])").to_numpy()
    out.reject(~ok_month, "Month", "bad date (Month is not YYYY-MM)")
    out.reject((month > _this_month()).to_numpy(), "Month", "impossible date (a month in the future)")
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
    X, Y, status = _locate(lon, lat, "EPSG:4326", crs, area)
    _check_points_near_area(lon, lat, "EPSG:4326", crs, X, Y, area, name, "Longitude", "Latitude",
                            lines=df.attrs.get("line"))
    report = out.report(name, "crime", status)
    keep = ~out.rejected
    if keep.all():  # the usual case: no gather needed
        keep = slice(None)
    k = df.loc[keep]
    crime_id = k["Crime ID"].str.strip()
    uid = crime_id.to_numpy(dtype=object).copy()
    no_id = (crime_id == "").to_numpy()
    # rows without a Crime ID (anti-social behaviour) are identified by what identifies the
    # event, not by fields police.uk revises (outcome, LSOA codes of a new census)
    uid[no_id] = _content_uids(k.loc[no_id, ASB_IDENTITY_COLUMNS], "h:")
    # police.uk repeats a Crime ID on a few rows of one file (one crime record, several
    # offences); the k-th repeat keeps its own identity so re-imports still match.
    repeated = crime_id.duplicated().to_numpy() & ~no_id
    repeat = crime_id.groupby(crime_id, sort=False).cumcount().to_numpy() if repeated.any() else np.zeros(len(k), int)
    again = (repeat > 0) & ~no_id
    if again.any():
        uid[again] = [f"{u}#{r}" for u, r in zip(uid[again], repeat[again])]
        report.warnings.append(
            f"{name}: {int(again.sum())} row(s) repeat a Crime ID already used in the file; "
            "kept as separate crimes, as police.uk publishes them")
    col = lambda s: s.reset_index(drop=True)  # noqa: E731  (keeps pandas' compact string storage)
    frame = _frame({
        "uid": pd.array(uid, dtype="str"), "layer": "crime", "source": Path(name.split(":")[0]).name,
        "crime_id": col(crime_id), "month": col(month[keep]), "date": None,
        "category": col(category[keep]), "subcategory": "",
        "force": col(k["Reported by"]), "location": col(k["Location"]),
        "lsoa_code": col(k["LSOA code"]), "lsoa_name": col(k["LSOA name"]),
        "outcome": col(k["Last outcome category"]), "status": pd.array(status[keep], dtype="str"),
    }, X[keep], Y[keep], crs, points=points)
    return ReadResult(frame, report)


def _lineno(lines, i: int) -> int:
    """The physical line of data row ``i`` (0-based): from the file's line map if it has one."""
    return int(lines[i]) if lines is not None else int(i) + 2


def _this_month() -> str:
    """``YYYY-MM`` of tomorrow (a day's grace for time zones)."""
    return (pd.Timestamp.now() + pd.Timedelta(days=1)).strftime("%Y-%m")


def _check_ids(df: pd.DataFrame, column: str, name: str) -> None:
    """Refuse ids a spreadsheet turned into numbers in scientific notation (``1.70E+63``):
    different ids collapse into one, so later rows would be dropped as already held."""
    import pyarrow as pa
    import pyarrow.compute as pc
    try:
        arr = pa.array(df[column].array, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array(df[column].astype(str).tolist(), type=pa.string())
    short = pc.less(pc.binary_length(arr), 40).fill_null(False)  # police.uk ids are 64 characters:
    if not pc.any(short).as_py():                                # only short values can be mangled
        return
    idx = np.flatnonzero(short.to_numpy(zero_copy_only=False))
    hit = pc.match_substring_regex(arr.take(pa.array(idx)), rf"^\s*{_SCIENTIFIC_RE}\s*$")
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


def _check_lonlat_file(lon, lat, name, xcol, ycol, lines=None) -> None:
    """Refuse a file whose coordinates are swapped or not in degrees."""
    ok = np.isfinite(lon) & np.isfinite(lat)
    if ok.sum() == 0:
        return
    first = int(np.flatnonzero(ok)[0])
    where = f"{name}, columns {xcol}/{ycol} (first located row, line {_lineno(lines, first)}: {xcol}={lon[first]:g}, {ycol}={lat[first]:g})"
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


# ------------------------------------------------------------- incidents / calls


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


def _read_table(path: Path) -> tuple[pd.DataFrame, object]:
    """Read CSV or a vector file into strings; return (frame, geometry series or None)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _read_csv_bytes(str(path), path.read_bytes()), None
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
    df, geom = _read_table(path)
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
        _check_ids(df, mapping.id, name)

    out = _Outcomes(df, name)
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
        out.reject((month > _this_month()).to_numpy(), mapping.month, "impossible date (a month in the future)")
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
        x, y = _to_float(df[mapping.x]), _to_float(df[mapping.y])
        xcol, ycol = mapping.x, mapping.y
        blank = ((df[mapping.x].str.strip() == "") & (df[mapping.y].str.strip() == "")).to_numpy()
        out.reject(~blank & ~(np.isfinite(x) & np.isfinite(y)), f"{xcol}/{ycol}", "unparseable coordinate")
    src = CRS.from_user_input(src_crs)
    _check_crs_plausible(x, y, src, name, xcol, ycol, mapping.name, df.attrs.get("line"))
    implausible = _outside_area_of_use(x, y, src)
    out.reject(implausible, f"{xcol}/{ycol}", f"implausible coordinate (outside the area of use of {src.to_string()})")
    # what
    category = df[mapping.category].str.strip()
    out.reject((category == "").to_numpy(), mapping.category, "missing category")
    if categories is not None:
        out.reject(~category.isin(categories).to_numpy(), mapping.category, "unknown category")
    x = np.where(out.rejected, np.nan, x)
    y = np.where(out.rejected, np.nan, y)
    X, Y, status = _locate(x, y, src, crs, area)
    _check_points_near_area(x, y, src, crs, X, Y, area, name, xcol, ycol, mapping.name, df.attrs.get("line"))
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
    uid[no_id] = _content_uids(k.loc[no_id], f"{mapping.layer}:h:")
    frame = _frame({
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


_ISO_RE = r"\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
_YMD_RE = r"\d{4}/\d{1,2}/\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DMY_RE = r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?:,?[T ]+(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?:\s*([AaPp][Mm]))?)?"
_SERIAL_RE = r"\d{5}(?:\.\d+)?"
_NAMED_RE = r".*\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b.*\d{4}.*"

#: Earliest date accepted in a timestamp column.
MIN_DATE = pd.Timestamp("1900-01-01")


@dataclass
class ParsedDates:
    """Timestamps read from one column (see :func:`parse_timestamps`).

    Attributes
    ----------
    values : pandas.Series
        ``datetime64`` (naive, local time as written); NaT where the row is rejected.
    rejected : dict
        Reason -> boolean mask of the rows rejected for it.
    detected : str
        The format the column was read with, in words (logged and put in the report).
    """

    values: pd.Series
    rejected: dict[str, np.ndarray]
    detected: str


def parse_timestamps(raw: pd.Series, *, date_format: str | None = None, dayfirst: bool | None = None,
                     where: str = "the timestamp column", mapping_name: str = "",
                     lines: np.ndarray | None = None) -> ParsedDates:
    """Read one column of dates or date-times with ONE format, strictly.

    Rules: ISO 8601 (``2024-04-10``, ``2019-01-02T09:38``) is year-month-day, never
    day-first. Numeric day/month forms (``03/04/2024 10:00``) are read day-first or
    month-first for the whole column: stated by ``date_format`` or ``dayfirst``, or
    settled by values valid only one way (``13/04/2024``); a column where every value
    reads both ways is refused. Whole numbers 20000-80000 are spreadsheet serial dates.
    Impossible dates (month 13, day 32, hour 25), dates before 1900 or more than a day
    in the future, and values in another format than the column's are rejected row by
    row with their reason.

    Parameters
    ----------
    raw : pandas.Series of str
        The column as text.
    date_format : str, optional
        ``strftime`` format every value must match (e.g. ``%d/%m/%Y %H:%M``).
    dayfirst : bool, optional
        For numeric day/month forms: ``True`` for UK ``DD/MM/YYYY``, ``False`` for US
        ``MM/DD/YYYY``. ``None``: detect from the values.
    where, mapping_name : str
        For messages.
    lines : numpy.ndarray, optional
        Physical line of each value (a file with quoted newlines); ``None``: row + 2.

    Returns
    -------
    ParsedDates

    Raises
    ------
    GeoInputError
        When the order of day and month cannot be decided, or the column mixes values
        that are only valid day-first with values only valid month-first.

    Examples
    --------
    >>> r = parse_timestamps(pd.Series(["2019-01-02T09:38", "2024-04-10"]))
    >>> [str(v) for v in r.values]
    ['2019-01-02 09:38:00', '2024-04-10 00:00:00']
    """
    raw = raw.astype(str).str.strip()
    n = len(raw)
    rejected: dict[str, np.ndarray] = {}

    def reject(mask, reason):
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            rejected[reason] = rejected.get(reason, np.zeros(n, dtype=bool)) | mask

    blank = (raw == "").to_numpy()
    reject(blank, "missing date")
    now_limit = pd.Timestamp.now() + pd.Timedelta(days=1)
    how = "set the mapping's date_format (e.g. %d/%m/%Y %H:%M) or dayfirst (true for UK DD/MM, false for US MM/DD)"
    if mapping_name:
        how = f"in mapping '{mapping_name}', " + how
    if date_format:
        t = pd.to_datetime(raw.where(~blank, None), format=date_format, errors="coerce")
        reject(t.isna().to_numpy() & ~blank, f"bad date (not in the format {date_format})")
        detected = f"the stated format {date_format}"
    else:
        fam = pd.Series("other", index=raw.index, dtype=object)
        fam[raw.str.fullmatch(_NAMED_RE, case=False)] = "named"
        fam[raw.str.fullmatch(_DMY_RE)] = "dmy"
        fam[raw.str.fullmatch(_YMD_RE)] = "ymd"
        fam[raw.str.fullmatch(_ISO_RE)] = "iso"
        fam[raw.str.fullmatch(_SERIAL_RE)] = "serial"
        fam[blank] = "blank"
        counts = fam[(fam != "blank") & (fam != "other")].value_counts()
        if counts.empty:
            t = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
            reject(~blank, "bad date (unrecognised format)")
            return ParsedDates(t, rejected, "no recognisable dates")
        family = counts.index[0]
        reject((fam == "other").to_numpy(), "bad date (unrecognised format)")
        others = ((fam != family) & (fam != "other") & (fam != "blank")).to_numpy()
        names = {"iso": "ISO 8601 (YYYY-MM-DD)", "ymd": "YYYY/MM/DD", "dmy": "DD/MM/YYYY or MM/DD/YYYY",
                 "serial": "spreadsheet serial numbers", "named": "dates with month names"}
        reject(others, f"bad date (not in the column's format, {names[family]})")
        use = (fam == family).to_numpy()
        vals = raw.where(use, None)
        if family == "iso":
            t = pd.to_datetime(vals.str.replace(r"(Z|[+-]\d{2}:?\d{2})$", "", regex=True),
                               format="ISO8601", errors="coerce")
            detected = "ISO 8601 (year-month-day)"
        elif family == "ymd":
            t = pd.to_datetime(vals, format="mixed", yearfirst=True, dayfirst=False, errors="coerce")
            detected = "YYYY/MM/DD"
        elif family == "serial":
            days = pd.to_numeric(vals, errors="coerce")
            okd = days.between(20000, 80000)
            reject(use & ~okd.to_numpy(), "bad date (serial number outside 1954-2119)")
            t = pd.Timestamp("1899-12-30") + pd.to_timedelta(days.where(okd), unit="D")
            detected = "spreadsheet serial dates (days since 1899-12-30)"
        elif family == "named":
            t = pd.to_datetime(vals, format="mixed", dayfirst=True, errors="coerce")
            detected = "dates with month names"
        else:  # dmy
            parts = vals.str.extract(_DMY_RE)
            a = pd.to_numeric(parts[0], errors="coerce").to_numpy()
            b = pd.to_numeric(parts[1], errors="coerce").to_numpy()
            only_dayfirst = use & (a > 12) & (a <= 31) & (b >= 1) & (b <= 12)
            only_monthfirst = use & (b > 12) & (b <= 31) & (a >= 1) & (a <= 12)
            line = lambda m: int(np.flatnonzero(m)[0])  # noqa: E731
            if dayfirst is None:
                if only_dayfirst.any() and only_monthfirst.any():
                    i, j = line(only_dayfirst), line(only_monthfirst)
                    raise GeoInputError(
                        f"The dates mix day-first values (line {_lineno(lines, i)}: '{raw.iloc[i]}') with month-first "
                        f"values (line {_lineno(lines, j)}: '{raw.iloc[j]}')",
                        where=where, fix=how + "; or correct the rows in the other order")
                if only_dayfirst.any():
                    dayfirst = True
                    i = line(only_dayfirst)
                    detected = f"day-first (DD/MM/YYYY), settled by line {_lineno(lines, i)} '{raw.iloc[i]}'"
                elif only_monthfirst.any():
                    dayfirst = False
                    i = line(only_monthfirst)
                    detected = f"month-first (MM/DD/YYYY), settled by line {_lineno(lines, i)} '{raw.iloc[i]}'"
                elif (use & (a != b) & (a <= 12) & (b <= 12)).any():
                    i = line(use & (a != b))
                    raise GeoInputError(
                        f"The dates are ambiguous: every value reads both as day/month and as month/day "
                        f"(line {_lineno(lines, i)}: '{raw.iloc[i]}')", where=where, fix=how)
                else:  # every value has day == month: both readings agree
                    dayfirst = True
                    detected = "DD/MM/YYYY (day equals month in every value: both readings agree)"
            else:
                detected = "day-first (DD/MM/YYYY), as stated" if dayfirst else "month-first (MM/DD/YYYY), as stated"
            day, month = (a, b) if dayfirst else (b, a)
            year = parts[2].str.zfill(2)
            year = year.where(year.str.len() == 4, "20" + year)
            time_ = parts[3].fillna("00:00")
            ampm = parts[4].fillna("")
            iso = (year + "-" + pd.Series(month, index=raw.index).map(lambda v: f"{int(v):02d}" if v == v else "")
                   + "-" + pd.Series(day, index=raw.index).map(lambda v: f"{int(v):02d}" if v == v else "")
                   + " " + time_ + ampm.map(lambda s: f" {s.upper()}" if s else ""))
            fmt_h = pd.to_datetime(iso.where(use & (ampm == "").to_numpy(), None), format="%Y-%m-%d %H:%M:%S",
                                   errors="coerce")
            fmt_hm = pd.to_datetime(iso.where(use & (ampm == "").to_numpy(), None), format="%Y-%m-%d %H:%M",
                                    errors="coerce")
            fmt_ampm = pd.to_datetime(iso.where(use & (ampm != "").to_numpy(), None), format="mixed",
                                      errors="coerce")
            t = fmt_h.fillna(fmt_hm).fillna(fmt_ampm)
        bad = t.isna().to_numpy() & use
        already = np.zeros(n, dtype=bool)
        for m in rejected.values():
            already |= m
        reject(bad & ~already, "impossible date (no such day, month or time)")
    t = pd.Series(t, index=raw.index)
    range_bad = t.notna().to_numpy() & ((t < MIN_DATE) | (t > now_limit)).to_numpy()
    reject(range_bad, "impossible date (before 1900 or in the future)")
    t = t.where(~range_bad)
    return ParsedDates(t, rejected, detected)


def _check_crs_plausible(x, y, src: CRS, name, xcol, ycol, mapping_name, lines=None) -> None:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() == 0:
        return
    first = int(np.flatnonzero(ok)[0])
    where = f"{name}, columns {xcol}/{ycol} (line {_lineno(lines, first)}: {x[first]:g}, {y[first]:g})"
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
            inside = ~_outside_area_of_use(x, y, src)
            swapped = ~_outside_area_of_use(y, x, src)
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
        outside = _outside_area_of_use(x, y, src)
        if np.mean(outside[ok]) > 0.5:
            raise GeoInputError(
                f"Most coordinates fall outside the area where {src.to_string()} applies, so the CRS "
                "is probably wrong (or x and y are swapped)",
                where=where, fix=f"check the CRS in mapping '{mapping_name}' (and that x is the easting)",
            )


def _outside_area_of_use(x, y, src: CRS, margin_deg: float = 1.0) -> np.ndarray:
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


# -------------------------------------------------------------------------- sites


def read_sites(path, *, kind: str | None = None, crs: str = "EPSG:27700", area=None) -> ReadResult:
    """Read sensitive sites: DfE school lists, the NHS health-site file, or a generic file.

    Parameters
    ----------
    path : str or Path
        CSV (or vector file for the generic form).

        * DfE school lists (``URN``, ``SCHNAME``, ``LATITUDE``, ``LONGITUDE``): kind
          ``school``, detail from ``PHASE``.
        * Health sites (``needle_syringe_exchange``, ``supervised_consumption``,
          ``substance_keyword_in_name``): kind ``treatment`` when any of those flags is
          set, else ``pharmacy`` for pharmacies and ``other`` otherwise.
        * Generic: a ``kind`` column (school, treatment, hostel, bail hostel, pharmacy,
          other) or the ``kind`` argument, a ``name`` column, and ``longitude``/
          ``latitude`` (or ``lon``/``lat``) columns.
    kind : str, optional
        Kind for every row of a generic file without a ``kind`` column.

    Returns
    -------
    ReadResult
        ``frame`` columns: ``uid``, ``kind``, ``name``, ``detail``, ``source``,
        ``status``, ``geometry``.
    """
    path = Path(path)
    name = str(path)
    df, geom = _read_table(path)
    cols = set(df.columns)
    out = _Outcomes(df, name)
    if {"URN", "SCHNAME", "LATITUDE", "LONGITUDE"} <= cols:
        kinds = pd.Series("school", index=df.index)
        names, detail = df["SCHNAME"], df.get("PHASE", pd.Series("", index=df.index))
        ids = "school:" + df["URN"].str.strip()
        lon, lat, xcol, ycol = _to_float(df["LONGITUDE"]), _to_float(df["LATITUDE"]), "LONGITUDE", "LATITUDE"
    elif {"needle_syringe_exchange", "supervised_consumption", "substance_keyword_in_name"} <= cols:
        flag = lambda c: pd.to_numeric(df[c], errors="coerce").fillna(0).astype(int) > 0  # noqa: E731
        treat = flag("needle_syringe_exchange") | flag("supervised_consumption") | flag("substance_keyword_in_name")
        pharm = df.get("source", pd.Series("", index=df.index)).str.lower().eq("pharmacy")
        kinds = pd.Series(np.where(treat, "treatment", np.where(pharm, "pharmacy", "other")), index=df.index)
        services = [c.replace("_", " ") for c in ("needle_syringe_exchange", "supervised_consumption", "alcohol_intervention")]
        detail = df.apply(lambda r: ", ".join(s for s, c in zip(services, ("needle_syringe_exchange", "supervised_consumption", "alcohol_intervention")) if str(r.get(c, "0")).strip() not in ("", "0")), axis=1) if len(df) else pd.Series(dtype=str)
        names = df["name"]
        ids = "health:" + df.get("org_id", df.index.astype(str).to_series(index=df.index)).astype(str)
        lon, lat, xcol, ycol = _to_float(df["longitude"]), _to_float(df["latitude"]), "longitude", "latitude"
    else:
        lower = {c.lower(): c for c in df.columns}
        if "kind" in lower:
            kinds = df[lower["kind"]].str.strip().str.lower()
        elif kind:
            kinds = pd.Series(kind.lower(), index=df.index)
        else:
            raise GeoInputError(
                "The sites file has no 'kind' column and no kind was given", where=f"{name}, line 1 (header)",
                fix="add a 'kind' column (school, treatment, hostel, bail hostel, pharmacy, other) "
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
            lon, lat, xcol, ycol = _to_float(df[xk]), _to_float(df[yk]), xk, yk
        out.reject(~kinds.isin(SITE_KINDS).to_numpy(), "kind",
                   "unknown kind (use school, treatment, hostel, bail hostel, pharmacy or other)")
    _check_lonlat_file(lon, lat, name, xcol, ycol)
    out.reject(~(np.isfinite(lon) & np.isfinite(lat)), f"{xcol}/{ycol}", "missing or unparseable coordinate")
    x0, y0, x1, y1 = UK_LONLAT_BOX
    out.reject(~((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)), f"{xcol}/{ycol}",
               "implausible coordinate (outside the UK)")
    lon = np.where(out.rejected, np.nan, lon)
    lat = np.where(out.rejected, np.nan, lat)
    X, Y, status = _locate(lon, lat, "EPSG:4326", crs, area)
    _check_points_near_area(lon, lat, "EPSG:4326", crs, X, Y, area, name, xcol, ycol)
    report = out.report(name, "sites", status)
    keep = ~out.rejected
    uid = ids[keep].to_numpy(dtype=object).copy()
    blank = np.array([not str(u).split(":", 1)[-1] for u in uid], dtype=bool)
    # a site without an id is identified by what it is and where (not by notes or details a
    # republished list may revise), so a re-import does not add it again
    ident = pd.DataFrame({"kind": kinds[keep].astype(str).str.strip().str.lower().to_numpy(),
                          "name": names[keep].astype(str).str.strip().to_numpy(),
                          "lon": np.round(lon[keep], 5).astype(str), "lat": np.round(lat[keep], 5).astype(str)})
    uid[blank] = _content_uids(ident.loc[blank], "site:h:")
    frame = gpd.GeoDataFrame({
        "uid": uid, "kind": kinds[keep].to_numpy(), "name": names[keep].str.strip().to_numpy(),
        "detail": np.asarray(detail[keep], dtype=object), "source": path.name, "status": status[keep],
    }, geometry=shapely.points(X[keep], Y[keep]), crs=crs)
    return ReadResult(frame, report)


# --------------------------------------------------------------------- boundaries


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
    out = _Outcomes(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(str), name)
    bad_geom = (gdf.geometry.isna() | gdf.geometry.is_empty | ~gdf.geom_type.isin(["Polygon", "MultiPolygon"])).to_numpy()
    out.reject(bad_geom, "geometry", "missing or non-polygon geometry")
    codes = gdf[code_field].astype(str).str.strip()
    out.reject((codes == "").to_numpy() | codes.isin(["None", "nan"]).to_numpy(), code_field, "missing code")
    keep = ~out.rejected
    g = gdf.loc[keep].to_crs(crs)
    geom = g.geometry.make_valid().map(_polygonal)
    if area is not None and len(g):
        _check_near_area(geom.to_numpy(), area, name, what="boundaries",
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
    out = _outside_area_of_use(np.array([minx, maxx, minx, maxx]), np.array([miny, miny, maxy, maxy]),
                               gdf.crs, margin_deg=2.0)
    if gdf.crs.area_of_use is not None and out.all():
        raise GeoInputError(
            f"The boundary file's coordinates lie outside the area where its CRS {gdf.crs.to_string()} applies, "
            "so the declared CRS is probably wrong", where=name,
            fix="set the right CRS in QGIS (Layer Properties > Source) and export again as GeoPackage")
    return gdf


def _check_near_area(geoms: np.ndarray, area, name: str, *, what: str, fix: str,
                     margin_m: float | None = None) -> None:
    """Refuse features of which none lies in or near the workspace area."""
    from .settings import settings
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


def _check_points_near_area(x, y, src, dst, X, Y, area, name: str, xcol: str, ycol: str,
                            mapping_name: str | None = None, lines=None) -> None:
    """Refuse a file whose located rows mostly lie far from the workspace area, naming the
    likely cause (x and y swapped, a wrong CRS, or a file for another area)."""
    if area is None:
        return
    from .settings import settings
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
    where = f"{name}, columns {xcol}/{ycol} (line {_lineno(lines, first)}: {x[first]:g}, {y[first]:g})"
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
