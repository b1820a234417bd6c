"""Strict date and date-time parsing for incident files: :func:`parse_timestamps` reads one
column with one format (ISO, day-first, month-first, Excel serial or named months) and
rejects, row by row, what does not fit.
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np
import pandas as pd

from ..errors import GeoInputError
from .checks import data_line


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
                        f"The dates mix day-first values (line {data_line(lines, i)}: '{raw.iloc[i]}') with month-first "
                        f"values (line {data_line(lines, j)}: '{raw.iloc[j]}')",
                        where=where, fix=how + "; or correct the rows in the other order")
                if only_dayfirst.any():
                    dayfirst = True
                    i = line(only_dayfirst)
                    detected = f"day-first (DD/MM/YYYY), settled by line {data_line(lines, i)} '{raw.iloc[i]}'"
                elif only_monthfirst.any():
                    dayfirst = False
                    i = line(only_monthfirst)
                    detected = f"month-first (MM/DD/YYYY), settled by line {data_line(lines, i)} '{raw.iloc[i]}'"
                elif (use & (a != b) & (a <= 12) & (b <= 12)).any():
                    i = line(use & (a != b))
                    raise GeoInputError(
                        f"The dates are ambiguous: every value reads both as day/month and as month/day "
                        f"(line {data_line(lines, i)}: '{raw.iloc[i]}')", where=where, fix=how)
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
