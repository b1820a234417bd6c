"""Before and after windows of an operation (month arithmetic: :mod:`geo.periods`).

Months are ``YYYY-MM`` strings, days ``YYYY-MM-DD``; windows are inclusive.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import GeoInputError
from ..periods import month_add, month_label, month_span

__all__ = ["Windows", "op_windows", "check_coverage", "periods", "month_add", "month_span", "month_label",
           "window_months"]


@dataclass(frozen=True)
class Windows:
    """Before and after windows of an operation.

    Attributes
    ----------
    resolution : {"month", "day"}
    before, after : (str, str)
        First and last period of each window, inclusive: ``YYYY-MM`` for months,
        ``YYYY-MM-DD`` for days.
    before_len, after_len : int
        Lengths in months or days.
    operation : (str, str)
        The operation's own span at the same resolution.
    """

    resolution: str
    before: tuple[str, str]
    after: tuple[str, str]
    before_len: int
    after_len: int
    operation: tuple[str, str]

    @property
    def time_weights(self) -> tuple[float, float]:
        """``(before_len / after_len, 1)``: results are per after window (:func:`stats.wdd`)."""
        return (self.before_len / self.after_len, 1.0)

    @property
    def unit(self) -> str:
        return self.resolution + ("s" if self.after_len != 1 else "")

    def label(self, which: str) -> str:
        a, b = getattr(self, which)
        if self.resolution == "month":
            return month_label(a) if a == b else f"{month_label(a)} – {month_label(b)}"
        fa, fb = (dt.date.fromisoformat(v).strftime("%-d %b %Y") for v in (a, b))
        return fa if a == b else f"{fa} – {fb}"


def _parse_window(value, resolution: str, name: str) -> tuple[str, str]:
    if isinstance(value, str):
        parts = value.replace("..", ":").split(":") if ":" in value or ".." in value else [value, value]
    else:
        parts = list(value)
    if len(parts) != 2:
        raise GeoInputError(f"`{name}` must be a (first, last) pair, got {value!r}",
                            fix=f"give e.g. {name}=('2024-01', '2024-02') or '2024-01:2024-02'")
    a, b = (str(p).strip() for p in parts)
    try:
        if resolution == "month":
            a, b = a[:7], b[:7]
            dt.date.fromisoformat(a + "-01"), dt.date.fromisoformat(b + "-01")
        else:
            if len(a) == 7:
                a = a + "-01"
            if len(b) == 7:
                y, m = int(b[:4]), int(b[5:7])
                b = f"{b}-{calendar.monthrange(y, m)[1]:02d}"
            dt.date.fromisoformat(a), dt.date.fromisoformat(b)
    except ValueError:
        raise GeoInputError(f"`{name}` window {value!r} is not a pair of dates",
                            fix="use YYYY-MM for months or YYYY-MM-DD for days") from None
    if b < a:
        raise GeoInputError(f"`{name}` window ends ({b}) before it starts ({a})",
                            fix="give the first period, then the last")
    return a, b


def op_windows(start, end, *, resolution: str = "month", before=None, after=None,
               available=None) -> Windows:
    """Before and after windows for an operation running from `start` to `end`.

    Parameters
    ----------
    start, end : str or datetime.date
        The operation's first and last day (ISO dates).
    resolution : {"month", "day"}
        ``"month"`` for police.uk crime (months are the smallest period), ``"day"`` for
        timestamped calls.
    before, after : (str, str) or "first:last", optional
        Windows set by the user; ``None`` gives a window of the operation's length
        immediately before its start (after its end).
    available : sequence of str or (str, str), optional
        Months present in the data (``"month"``) or the first and last day (``"day"``).
        A window outside it raises.

    Returns
    -------
    Windows

    Raises
    ------
    GeoInputError
        If a window is malformed, overlaps the operation, or is not covered by the data.

    Examples
    --------
    A one-month operation in March 2024 is compared with February and April:

    >>> w = op_windows("2024-03-01", "2024-03-31")
    >>> w.before, w.after, w.time_weights
    (('2024-02', '2024-02'), ('2024-04', '2024-04'), (1.0, 1.0))
    >>> op_windows("2024-03-04", "2024-03-10", resolution="day").after
    ('2024-03-11', '2024-03-17')
    """
    if resolution not in ("month", "day"):
        raise GeoInputError(f"resolution must be 'month' or 'day', got {resolution!r}",
                            fix="use 'month' for police.uk crime and 'day' for calls with dates")
    s, e = (dt.date.fromisoformat(str(v)[:10]) for v in (start, end))
    if e < s:
        raise GeoInputError(f"The operation ends ({e}) before it starts ({s})",
                            fix="correct the operation's dates in the register")
    if resolution == "month":
        o0, o1 = s.isoformat()[:7], e.isoformat()[:7]
        n = month_span(o0, o1)
        b = _parse_window(before, "month", "before") if before is not None else (
            month_add(o0, -n), month_add(o0, -1))
        a = _parse_window(after, "month", "after") if after is not None else (
            month_add(o1, 1), month_add(o1, n))
        bl, al = month_span(*b), month_span(*a)
    else:
        o0, o1 = s.isoformat(), e.isoformat()
        n = (e - s).days + 1
        b = _parse_window(before, "day", "before") if before is not None else (
            (s - dt.timedelta(days=n)).isoformat(), (s - dt.timedelta(days=1)).isoformat())
        a = _parse_window(after, "day", "after") if after is not None else (
            (e + dt.timedelta(days=1)).isoformat(), (e + dt.timedelta(days=n)).isoformat())
        bl = (dt.date.fromisoformat(b[1]) - dt.date.fromisoformat(b[0])).days + 1
        al = (dt.date.fromisoformat(a[1]) - dt.date.fromisoformat(a[0])).days + 1
    if b[1] >= o0 or a[0] <= o1:
        raise GeoInputError(
            f"The windows overlap the operation ({o0} to {o1}): before {b[0]}–{b[1]}, "
            f"after {a[0]}–{a[1]}",
            fix="end the before window before the operation starts and start the after "
                "window after it ends")
    w = Windows(resolution, b, a, bl, al, (o0, o1))
    if available is not None:
        check_coverage(w, available)
    return w


def check_coverage(w: Windows, available) -> None:
    if w.resolution == "month":
        have = sorted(set(available))
        if not have:
            raise GeoInputError("The layer has no incidents", fix="import data first")
        for which in ("before", "after"):
            a, b = getattr(w, which)
            want = [month_add(a, i) for i in range(month_span(a, b))]
            missing = [m for m in want if m not in have]
            if missing:
                raise GeoInputError(
                    f"The {which} window ({w.label(which)}) is not covered by the data: "
                    f"{', '.join(month_label(m) for m in missing)} missing; the data runs "
                    f"{month_label(have[0])} – {month_label(have[-1])}",
                    fix=f"set the {which} window inside the data (e.g. --{which} "
                        f"{have[0] if which == 'before' else have[-1]}), or import the "
                        "missing months")
    else:
        lo, hi = (str(v)[:10] for v in available)
        for which in ("before", "after"):
            a, b = getattr(w, which)
            if a < lo or b > hi:
                raise GeoInputError(
                    f"The {which} window ({w.label(which)}) is not covered by the data, "
                    f"which runs {lo} to {hi}",
                    fix=f"set the {which} window inside the data, or import the missing days")


def periods(incidents: pd.DataFrame, w: Windows) -> np.ndarray:
    """0 for rows in the before window, 1 in the after window, -1 otherwise."""
    if w.resolution == "month":
        key = incidents["month"].astype(str)
    else:
        key = incidents["date"].fillna("").astype(str).str[:10]
    # each distinct month (or day) compared once, not every row's string: the same result
    codes, uniq = pd.factorize(key)
    uniq = np.asarray(uniq, dtype=object)
    out = np.full(len(incidents), -1, dtype=np.int8)
    for p, (lo, hi) in ((0, w.before), (1, w.after)):
        hit = np.r_[(uniq >= lo) & (uniq <= hi), False].astype(bool)  # code -1 (missing) is never in a window
        out[hit[codes]] = p
    return out


def window_months(w: Windows) -> list[str]:
    """Every month of the before and after windows, in order (month windows only)."""
    return ([month_add(w.before[0], i) for i in range(w.before_len)]
            + [month_add(w.after[0], i) for i in range(w.after_len)])
