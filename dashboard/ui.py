"""Small display helpers shared by pages: readable numbers, dates and empty states."""
from __future__ import annotations

import datetime as dt


def month_label(m: str) -> str:
    """'2024-01' -> 'Jan 2024'."""
    try:
        return dt.datetime.strptime(m, "%Y-%m").strftime("%b %Y")
    except (TypeError, ValueError):
        return str(m)


def date_label(d) -> str:
    """An ISO date as '5 Jan 2024'."""
    try:
        d = dt.date.fromisoformat(str(d)[:10])
        return f"{d.day} {d.strftime('%b %Y')}"
    except ValueError:
        return str(d)


def num(x, digits: int = 0) -> str:
    """Thousands separators; '–' for missing."""
    if x is None or x != x:
        return "–"
    return f"{x:,.{digits}f}"


def pct(x) -> str:
    if x is None or x != x:
        return "–"
    return f"{x:+.0f}%"
