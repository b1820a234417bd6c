"""CSV plumbing shared by the readers: sniffing the encoding and delimiter, reading text into
strings, physical line numbers, content ids, rejected-row records (:class:`RowOutcomes`), the
:class:`ReadResult` every reader returns, and the zip-bomb check :func:`check_archive`.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import GeoInputError
from ..settings import SITE_KINDS as settings_site_kinds
from ..report import REJECTED_COLUMNS, ImportReport

logger = logging.getLogger(__name__)

#: Plausible lon/lat box for police.uk data (Great Britain, Northern Ireland and islands).
UK_LONLAT_BOX = (-8.7, 49.8, 2.0, 60.9)

#: Columns of the incidents table, shared by crime and calls.
INCIDENT_COLUMNS = [
    "uid", "layer", "source", "crime_id", "month", "date", "category", "subcategory",
    "force", "location", "lsoa_code", "lsoa_name", "outcome", "x", "y", "status",
]

SITE_KINDS = tuple(settings_site_kinds)  # the taxonomy, one list: geo.settings.SITE_KINDS
BOUNDARY_LEVELS = ("force", "bcu", "ward", "neighbourhood", "lsoa")


@dataclass
class ReadResult:
    """Rows kept from a read (GeoDataFrame in the analysis CRS) and the import report."""

    frame: gpd.GeoDataFrame
    report: ImportReport


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


def _valid_utf8(raw: bytes) -> bool:
    """Whether ``raw`` is valid UTF-8, checked by Arrow's validator without building a str
    (a 200 MB file: a tenth of the time of decoding it). Arrow follows the Unicode standard
    (no overlong forms, no surrogates), as Python's decoder does; an invalid file is decoded
    by :func:`_sniff_text`, which finds and words the bad byte."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a runtime dependency
        return False
    try:
        pa.array([raw], type=pa.binary()).cast(pa.string())
    except (pa.ArrowInvalid, OverflowError):
        return False
    return True


def check_utf8(path_name: str, raw: bytes) -> None:
    """Refuse a file that is empty or not UTF-8 text, naming the first bad byte's line."""
    if not (raw and not raw.isspace() and _valid_utf8(raw)):
        _sniff_text(path_name, raw)  # validates every byte (and raises)


def first_csv_line(path_name: str, raw: bytes, *, whole: bool = True) -> str:
    """Check the file is UTF-8 text; return its header line (without BOM).

    ``whole=False`` checks the header line's bytes only, for a caller that reads the rest
    with :func:`read_csv_bytes` (Arrow's reader refuses invalid UTF-8 in any cell, and the
    whole-file check then words the error) and calls :func:`check_utf8` itself before
    refusing or skipping the file for another reason, so every file gets the message it got
    with the whole check here. Any other check (an old-Mac file) runs the whole check first.
    """
    if whole:
        check_utf8(path_name, raw)
    elif not raw or raw.isspace():
        _sniff_text(path_name, raw)  # the empty-file message
    text = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw  # ASCII checks on the bytes: same answers
    nl, cr = b"\n", b"\r"
    if not whole:
        try:
            (text[: text.find(nl)] if nl in text else text).decode("utf-8")
        except UnicodeDecodeError:
            _sniff_text(path_name, raw)  # the header's bad byte is the file's first: the same message
    if nl not in text and cr in text.rstrip(cr):
        if not whole:
            check_utf8(path_name, raw)  # a file both not UTF-8 and old-Mac is refused as not UTF-8
        raise GeoInputError(
            "The file's lines end with a carriage return only (old Mac line endings), so it reads as one line",
            where=f"{path_name}, line 1",
            fix="save it again as 'CSV UTF-8' (in Excel: Save As > CSV UTF-8), or convert its line endings "
                "to LF or CRLF (e.g. in Notepad++: Edit > EOL Conversion)",
        )
    first = text[: text.find(nl)] if nl in text else text
    return first.decode("utf-8").strip("\r")


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


def read_csv_bytes(path_name: str, raw: bytes, *, checked: bool = False) -> pd.DataFrame:
    """Parse UTF-8 CSV bytes as strings (fast path: Arrow's multi-threaded reader).

    ``checked`` says the caller has already checked the delimiter and the header line
    (:func:`first_csv_line`). Arrow's reader refuses invalid UTF-8 in any cell (every column
    is read as text), so when it fails the whole file's encoding is checked first (the
    message names the bad byte's line), then the C parser finds the line and words the message.
    """
    if not checked:
        check_delimiter(path_name, first_csv_line(path_name, raw))
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    try:
        df = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False, engine="pyarrow")
    except Exception:  # not UTF-8 (raises here), or let the C parser find the line and word the message
        return _attach_lines(_read_csv_text(path_name, _sniff_text(path_name, raw)), raw)
    return _attach_lines(df, raw)


def check_delimiter(path_name: str, first_line: str) -> None:
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
    check_delimiter(path_name, text.split("\n", 1)[0])
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, csv.Error) as err:
        m = re.search(r"line (\d+)", str(err))
        where = f"{path_name}, line {m.group(1)}" if m else path_name
        raise GeoInputError(
            f"The CSV cannot be parsed: {err}", where=where,
            fix="check that line for an unquoted comma or a missing quote, then save the file again",
        ) from None


def _arrow_content_uids(df: pd.DataFrame, prefix: str) -> np.ndarray | None:
    """:func:`content_uids` of text columns with no missing value, built in Arrow: the key is
    the columns joined by ``\x1f`` (what ``str.cat`` gives for such columns), the repeat
    number counted over the key's factorised codes (the same groups as grouping by the text);
    ``None`` for any other column, which takes the general route."""
    import pyarrow as pa
    import pyarrow.compute as pc
    arrays = []
    for c in df.columns:
        if not isinstance(df[c].dtype, pd.StringDtype):
            return None
        try:
            a = pa.array(df[c].array)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            return None
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        if not (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)) or a.null_count:
            return None
        arrays.append(a.cast(pa.large_string()))
    sep = lambda t: pa.scalar(t, pa.large_string())  # noqa: E731
    key = pc.binary_join_element_wise(*arrays, sep("\x1f")) if len(arrays) > 1 else arrays[0]
    codes, _ = pd.factorize(pd.array(key, dtype="str"))
    occurrence = pd.Series(codes).groupby(codes, sort=False).cumcount().to_numpy()
    data = pc.binary_join_element_wise(key, pa.array(occurrence).cast(pa.large_string()), sep("\x1e"))
    sha1 = hashlib.sha1
    return np.array([prefix + h.hexdigest() for h in map(sha1, data.cast(pa.large_binary()).to_pylist())],
                    dtype=object)


def content_uids(df: pd.DataFrame, prefix: str) -> np.ndarray:
    """Stable row identities from content, for rows that carry no id.

    Identical rows are legitimately repeated in police.uk data (several anti-social
    behaviour reports at one anonymous map point in one month), so the k-th repeat of the
    same content gets ``k`` in its hash: re-reading the same file gives the same ids,
    while genuine repeats stay distinct.
    """
    if df.empty:
        return np.array([], dtype=object)
    fast = _arrow_content_uids(df, prefix)
    if fast is not None:
        return fast
    cols = [df[c].astype(str) for c in df.columns]
    key = cols[0].str.cat(cols[1:], sep="\x1f") if len(cols) > 1 else cols[0]
    occurrence = key.groupby(key, sort=False).cumcount().to_numpy()
    sha1 = hashlib.sha1
    import pyarrow as pa
    import pyarrow.compute as pc
    try:  # the hashed text "key\x1eoccurrence" as UTF-8 bytes, built in Arrow (no str per row)
        text = pa.array(key.array, type=pa.string())
        if text.null_count:
            raise ValueError("missing key")
        data = pc.binary_join_element_wise(text, pa.array(occurrence).cast(pa.string()), "\x1e")
        return np.array([prefix + sha1(b).hexdigest() for b in data.cast(pa.binary()).to_pylist()], dtype=object)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        return np.array([prefix + sha1(f"{k}\x1e{i}".encode()).hexdigest()
                         for k, i in zip(key.tolist(), occurrence.tolist())], dtype=object)


def to_float(s: pd.Series) -> np.ndarray:
    """Numbers from text; blank or unparseable text gives NaN."""
    import pyarrow as pa
    import pyarrow.compute as pc
    try:  # fast path: Arrow casts a clean column in one go
        arr = pc.utf8_trim_whitespace(pa.array(s.array))
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
        return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False).astype(float, copy=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pd.to_numeric(s.str.strip(), errors="coerce").to_numpy(dtype=float, copy=True)


def reject_records(df: pd.DataFrame, mask: np.ndarray, file: str, column: str, reason: str,
            lines: np.ndarray | None = None) -> pd.DataFrame:
    """Rows of ``df`` under ``mask`` as rejected-row records (``row``: the physical line)."""
    sub = df.loc[mask]
    raw = sub.astype(str).agg(lambda r: json.dumps(dict(r), ensure_ascii=False), axis=1) if len(sub) else []
    row = lines[np.asarray(mask, dtype=bool)] if lines is not None else sub.index.to_numpy() + 2
    return pd.DataFrame({
        "file": file, "row": row, "column": column,
        "reason": reason, "raw": list(raw),
    }, columns=REJECTED_COLUMNS)


class RowOutcomes:
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
            self.parts.append(reject_records(self.df, mask, self.file, column, reason, self.lines))
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
    from ..settings import settings
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
