"""Small display helpers shared by pages: readable numbers, dates and empty states."""
from __future__ import annotations

import datetime as dt

from geo.periods import month_label  # noqa: F401  ('2024-01' -> 'Jan 2024'), used by pages as ui.month_label


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


def count_columns(*names: str, labels: dict | None = None) -> dict:
    """Column configs that show whole numbers with thousands separators."""
    import streamlit as st
    labels = labels or {}
    return {n: st.column_config.NumberColumn(labels.get(n, n), format="localized") for n in names}


def when_label(ts) -> str:
    """An ISO timestamp as '22 Nov 2026, 19:39'."""
    try:
        d = dt.datetime.fromisoformat(str(ts))
        return f"{d.day} {d.strftime('%b %Y, %H:%M')}"
    except ValueError:
        return str(ts)


def incident_filters(info: dict, layer: str, prefix: str, *, measure_label: str = "Show"):
    """Sidebar filters shared by the map pages: months, types and count-or-harm.

    Call inside ``with st.sidebar``. Widget keys are ``<prefix>_months``, ``<prefix>_types``
    and ``<prefix>_measure``. Returns ``(first month, last month, types, measure)``; an
    empty ``types`` list means all types.
    """
    import streamlit as st

    from geo.safe import md
    months = info["crime_months"] if layer == "crime" else info["calls_months"]
    if len(months) > 1:
        m0, m1 = st.select_slider("Months", options=months, value=(months[0], months[-1]),
                                  format_func=month_label, key=f"{prefix}_months")
    else:
        m0 = m1 = months[0]
        st.caption(f"Month: {md(month_label(m0))}")
    cats_all = info["crime_categories"] if layer == "crime" else info["calls_categories"]
    cats = st.multiselect("Crime types" if layer == "crime" else "Call groups", cats_all,
                          placeholder="All types", key=f"{prefix}_types")
    measure = st.radio(measure_label, ["Harm", "Count"], horizontal=True, key=f"{prefix}_measure",
                       help="Harm weighs each incident by its harm (days, Cambridge Crime Harm Index); "
                            "count treats every incident the same.")
    return m0, m1, cats, measure
