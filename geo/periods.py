"""Month and quarter arithmetic, written once.

Months are ``"YYYY-MM"`` strings and quarters ``"YYYY-Qn"`` strings (calendar quarters),
so they sort as text and match the ``month`` column of every incident frame. Windows,
briefings, disclosure quarters, coverage and the dashboard all use these functions.

Examples
--------
>>> month_add("2024-11", 3)
'2025-02'
>>> month_range("2024-11", "2025-02")
['2024-11', '2024-12', '2025-01', '2025-02']
>>> quarter_label(quarter_of("2024-05"))
'Apr–Jun 2024'
"""
from __future__ import annotations

import datetime as dt

from .errors import GeoInputError

__all__ = ["month_add", "month_label", "month_range", "month_span", "period_label", "quarter_add",
           "quarter_label", "quarter_months", "quarter_of", "quarter_run", "quarters_label"]


def _month_index(month: str) -> int:
    """Months since year 0 (``"2024-01"`` -> 24288); raises on anything but ``YYYY-MM``."""
    try:
        y, m = (int(p) for p in str(month).split("-"))
        if not 1 <= m <= 12:
            raise ValueError
    except ValueError:
        raise GeoInputError(f"'{month}' is not a month", where="months",
                            fix="give months as YYYY-MM, e.g. 2024-04") from None
    return y * 12 + m - 1


def _month_of(i: int) -> str:
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def month_add(month: str, k: int) -> str:
    """The month ``k`` months after ``month`` (``k`` may be negative).

    Examples
    --------
    >>> month_add("2024-03", -3)
    '2023-12'
    >>> month_add("2024-12", 1)
    '2025-01'
    """
    return _month_of(_month_index(month) + int(k))


def month_span(m0: str, m1: str) -> int:
    """Number of months from ``m0`` to ``m1``, both included (0 or less if ``m1`` is before ``m0``).

    Examples
    --------
    >>> month_span("2024-11", "2025-02")
    4
    """
    return _month_index(m1) - _month_index(m0) + 1


def month_range(m0: str, m1: str) -> list[str]:
    """Every month from ``m0`` to ``m1`` inclusive.

    Raises
    ------
    GeoInputError
        If either is not a ``YYYY-MM`` month or ``m1`` is before ``m0``.

    Examples
    --------
    >>> month_range("2024-12", "2025-01")
    ['2024-12', '2025-01']
    >>> month_range("2024-03", "2024-01")
    Traceback (most recent call last):
    ...
    geo.errors.GeoInputError: The period ends (2024-01) before it starts (2024-03). Where: months. Fix: give the earlier month first.
    """
    a, b = _month_index(m0), _month_index(m1)
    if b < a:
        raise GeoInputError(f"The period ends ({m1}) before it starts ({m0})", where="months",
                            fix="give the earlier month first")
    return [_month_of(i) for i in range(a, b + 1)]


def month_label(month: str) -> str:
    """``"2024-03"`` -> ``"Mar 2024"``; anything that is not a month is returned as text.

    Examples
    --------
    >>> month_label("2024-03")
    'Mar 2024'
    >>> month_label("all months")
    'all months'
    """
    try:
        return dt.datetime.strptime(str(month), "%Y-%m").strftime("%b %Y")
    except (TypeError, ValueError):
        return str(month)


def period_label(m0: str, m1: str) -> str:
    """A run of months as text.

    Examples
    --------
    >>> period_label("2024-02", "2024-04")
    'Feb 2024 – Apr 2024'
    >>> period_label("2024-02", "2024-02")
    'Feb 2024'
    """
    return month_label(m0) if m0 == m1 else f"{month_label(m0)} – {month_label(m1)}"


# ------------------------------------------------------------------ calendar quarters
def quarter_of(month: str) -> str:
    """The calendar quarter (``"2024-Q1"``) holding ``month``.

    Examples
    --------
    >>> quarter_of("2024-05")
    '2024-Q2'
    """
    i = _month_index(month)
    return f"{i // 12:04d}-Q{i % 12 // 3 + 1}"


def _quarter_index(quarter: str) -> int:
    try:
        y, q = str(quarter).split("-Q")
        y, q = int(y), int(q)
        if not 1 <= q <= 4:
            raise ValueError
    except ValueError:
        raise GeoInputError(f"'{quarter}' is not a calendar quarter", fix="write quarters as YYYY-Qn, e.g. 2024-Q1") \
            from None
    return y * 4 + q - 1


def quarter_months(quarter: str) -> list[str]:
    """The three months of a quarter.

    Examples
    --------
    >>> quarter_months("2024-Q4")
    ['2024-10', '2024-11', '2024-12']
    """
    i = _quarter_index(quarter)
    return [_month_of((i // 4) * 12 + (i % 4) * 3 + k) for k in range(3)]


def quarter_add(quarter: str, k: int) -> str:
    """The quarter ``k`` quarters after ``quarter`` (``k`` may be negative).

    Examples
    --------
    >>> quarter_add("2024-Q4", 1), quarter_add("2024-Q1", -1)
    ('2025-Q1', '2023-Q4')
    """
    i = _quarter_index(quarter) + int(k)
    return f"{i // 4:04d}-Q{i % 4 + 1}"


def quarter_run(first: str, last: str) -> list[str]:
    """The quarters from ``first`` to ``last`` inclusive.

    Examples
    --------
    >>> quarter_run("2024-Q3", "2025-Q1")
    ['2024-Q3', '2024-Q4', '2025-Q1']
    """
    a, b = _quarter_index(first), _quarter_index(last)
    if b < a:
        raise GeoInputError(f"The period ends ({last}) before it starts ({first})", fix="swap the two quarters")
    return [quarter_add(first, k) for k in range(b - a + 1)]


def quarter_label(quarter: str) -> str:
    """``"2024-Q1"`` -> ``"Jan–Mar 2024"``.

    Examples
    --------
    >>> quarter_label("2024-Q1")
    'Jan–Mar 2024'
    """
    ms = quarter_months(quarter)
    a, b = (dt.datetime.strptime(m, "%Y-%m") for m in (ms[0], ms[-1]))
    return f"{a:%b}–{b:%b %Y}"


def quarters_label(quarters) -> str:
    """A run of quarters as text: ``"Jan–Mar 2024"`` or ``"Jan–Mar 2024 to Apr–Jun 2024"``."""
    qs = list(quarters)
    return quarter_label(qs[0]) if len(qs) == 1 else f"{quarter_label(qs[0])} to {quarter_label(qs[-1])}"
