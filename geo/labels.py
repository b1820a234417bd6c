"""Names, not codes: human labels for columns, areas, units and numbers shown to users. Pure: no Streamlit.

One place decides how every table reads: column names (``n_200m`` -> "Incidents within
200 m"), area codes (``E08000019`` -> "Sheffield"), boundary units (``ward:E05001045`` ->
"Darnall (ward)"), grid cells ("hexagon near Darnall"), numbers (thousands separators,
harm in whole days), months ("Mar 2024") and timestamps ("5 Mar 2024, 09:12"), and the
honest name of the measure: a layer with no harm weights (the Portland calls) counts
"calls", never "harm". The dashboard's ``ui.table`` turns the result of :func:`readable`
into ``st.column_config``.
"""
from __future__ import annotations

import datetime as dt
import re

from .periods import month_label

__all__ = ["has_harm_weights", "column_label", "option_labels", "area_names", "unit_label", "near_labels", "number", "harm_days", "month_label",
           "date_label", "when_label", "measure_label", "readable"]

#: Column name -> what a reader calls it (with its unit).
COLUMN_LABELS = {
    "n": "Incidents", "count": "Incidents", "incidents": "Incidents", "harm": "Harm (days)",
    "harm_share": "Share of harm", "count_share": "Share of incidents",
    "category": "Crime type", "crime_type": "Crime type", "call_group": "Call group", "layer": "Layer",
    "month": "Month", "quarter": "Quarter", "name": "Name", "kind": "Kind", "bcu": "BCU", "bcu_name": "BCU",
    "bcu_code": "BCU", "from_bcu": "From BCU", "to_bcu": "To BCU", "ward": "Ward", "lsoa": "LSOA",
    "unit": "Area", "unit_id": "Area", "code": "Area", "level": "Level", "cell_id": "Cell", "cluster_id": "Cluster",
    "in_or_next_to_hotspot": "In or next to a hot spot", "hotspot": "Hot spot",
    "trend_tau": "Trend (Kendall's τ)", "trend_pvalue": "Trend p-value", "trend": "Trend",
    "gistar": "Gi* z-score", "pvalue": "p-value", "p_adj": "p-value (FDR-adjusted)",
    "area_m2": "Area (m²)", "area_km2": "Area (km²)", "intensity_km2": "Incidents per km²",
    "mapped": "Mapped", "no_location": "No location", "outside_area": "Outside the area", "rejected": "Rejected",
    "total": "Rows read", "rows": "Rows", "imported_at": "Imported", "at": "When", "user": "User",
    "action": "Action", "detail": "Detail", "source": "Source", "file": "File", "created_at": "Created",
    "updated_at": "Changed", "last_sign_in": "Last sign-in", "role": "Role", "bcus": "BCUs", "disabled": "Disabled",
    "hidden_demand": "Possible hidden demand", "hot_calls": "Hot in calls", "hot_crime": "Hot in crime",
    "n_before": "Incidents before", "n_after": "Incidents after", "before": "Before", "after": "After",
    "crosses_bcu": "Crosses a BCU boundary", "crosses_force": "Crosses a force boundary", "near_site": "Near a site",
    "flag": "Flag", "estimate": "Change (incidents)", "harm_estimate": "Change in harm (days)", "p": "p-value",
    "p_holm": "p-value (Holm-adjusted)", "reading": "Reading", "status": "Status", "force": "Force",
    "measure": "Measure", "rows_read": "Rows read", "new": "Stored new", "duplicates": "Already held",
    "row": "Row", "reason": "Reason", "id": "Import", "target": "Target", "tactic": "Tactic", "notes": "Notes",
    "start": "Start", "end": "End", "days": "Days", "demo": "Demo account", "version": "Version",
    "weight": "Weight (days)", "basis": "Basis", "distance_m": "Distance (m)", "hotspot_distance_m": "Distance to hot spot (m)",
}
#: Columns that hold area codes and are shown as names when names are known.
CODE_COLUMNS = ("bcu", "bcu_code", "from_bcu", "to_bcu", "ward", "lsoa", "code", "unit", "unit_id", "target_unit")
_TIME_COLUMNS = ("imported_at", "at", "created_at", "updated_at", "last_sign_in", "time", "timestamp")
_PVALUE_COLUMNS = ("pvalue", "p_adj", "trend_pvalue", "p", "p_holm", "local_p", "displacement_p", "total_p", "etest_p")


def has_harm_weights(categories, weights) -> bool:
    """True if any of ``categories`` has a weight in the harm table ``weights`` (columns ``category``, ``weight``).

    A layer none of whose categories is weighted (the Portland calls) would get the
    default weight 1 for every row: its "harm" is just its count.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"category": ["Burglary"], "weight": [438.0]})
    >>> has_harm_weights(["Burglary", "Drugs"], table), has_harm_weights(["DISTURBANCE"], table)
    (True, False)
    """
    if weights is None or len(weights) == 0:
        return False
    return bool(set(categories) & set(weights["category"]))


def measure_label(has_harm_weights: bool, *, layer: str = "crime") -> str:
    """The name of the measure: ``"Harm (days)"`` with harm weights, else what is counted.

    A layer without harm weights (calls for service in the Portland demo) must never
    call its counts harm.

    Examples
    --------
    >>> measure_label(True)
    'Harm (days)'
    >>> measure_label(False, layer="calls")
    'Calls'
    """
    if has_harm_weights:
        return "Harm (days)"
    return "Calls" if layer == "calls" else "Incidents"


def column_label(name: str, *, measure: str = "Harm (days)") -> str:
    """A human label for a column name; ``measure`` replaces "Harm (days)" on an unweighted layer.

    Examples
    --------
    >>> column_label("n_200m")
    'Incidents within 200 m'
    >>> column_label("harm_400m")
    'Harm within 400 m (days)'
    >>> column_label("harm", measure="Calls")
    'Calls'
    >>> column_label("from_bcu")
    'From BCU'
    """
    name = str(name)
    harm_word = "Harm" if measure.startswith("Harm") else measure
    harm_unit = " (days)" if measure.startswith("Harm") else ""
    if name == "harm":
        return measure
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    m = re.fullmatch(r"(n|harm|count)_(\d+)m", name)
    if m:
        what = "Incidents" if m.group(1) in ("n", "count") else harm_word
        return f"{what} within {int(m.group(2)):,} m" + (harm_unit if m.group(1) == "harm" else "")
    m = re.fullmatch(r"(.+)_m", name)
    if m:
        return f"{column_label(m.group(1)).capitalize()} (m)"
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def area_names(boundaries) -> dict:
    """Code -> name for every area in a boundaries table (columns ``code`` and ``name``, optional ``level``).

    Keys are plain codes (``E08000019``) and ``level:code`` (``ward:E05001045``).
    """
    out: dict = {}
    if boundaries is None or len(boundaries) == 0 or "code" not in boundaries or "name" not in boundaries:
        return out
    levels = boundaries["level"] if "level" in boundaries else [None] * len(boundaries)
    for level, code, name in zip(levels, boundaries["code"], boundaries["name"]):
        if code is None or name is None or name != name:
            continue
        out.setdefault(str(code), str(name))
        if level:
            out[f"{level}:{code}"] = str(name)
    return out


_LEVEL_WORDS = {"bcu": "BCU", "ward": "ward", "lsoa": "LSOA", "msoa": "MSOA", "neighbourhood": "neighbourhood"}


def unit_label(unit: str | None, names: dict) -> str:
    """``"ward:E05001045"`` -> ``"Darnall (ward)"``; a code with no known name stays as it is.

    Examples
    --------
    >>> unit_label("ward:E05001045", {"ward:E05001045": "Darnall"})
    'Darnall (ward)'
    >>> unit_label("E08000019", {"E08000019": "Sheffield"})
    'Sheffield'
    """
    if unit is None or unit != unit or unit == "":
        return ""
    unit = str(unit)
    level, sep, code = unit.partition(":")
    if sep:
        name = names.get(unit) or names.get(code)
        word = _LEVEL_WORDS.get(level, level)
        return f"{name} ({word})" if name else f"{word} {code}"
    return names.get(unit, unit)


def option_labels(codes, names, *, level: str = "") -> dict:
    """Code -> what a picker shows: the name; ``"District 711"`` when the name is only the code; the code in
    brackets only when two units share a name.

    Examples
    --------
    >>> option_labels(["711", "E05001045"], ["711", "Darnall"], level="neighbourhood")
    {'711': 'Neighbourhood 711', 'E05001045': 'Darnall'}
    >>> option_labels(["a", "b"], ["Park", "Park"])
    {'a': 'Park (a)', 'b': 'Park (b)'}
    """
    codes, names = [str(c) for c in codes], [str(n) for n in names]
    seen: dict = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    word = _LEVEL_WORDS.get(level, level or "unit")
    out = {}
    for c, n in zip(codes, names):
        if n == c or not n:
            out[c] = f"{word[:1].upper()}{word[1:]} {c}"
        else:
            out[c] = f"{n} ({c})" if seen[n] > 1 else n
    return out


def near_labels(cells, wards, *, shape: str = "cell") -> list[str]:
    """``"hexagon near <ward>"`` for each cell or cluster geometry (the ward under its centre, else the nearest).

    Parameters
    ----------
    cells : GeoDataFrame
        Geometries in any CRS.
    wards : GeoDataFrame
        Ward boundaries with a ``name`` column.
    shape : str
        The word for one cell: ``hexagon``, ``square``, ``cluster``.
    """
    import geopandas as gpd
    if cells is None or len(cells) == 0:
        return []
    if wards is None or len(wards) == 0 or "name" not in wards:
        return [shape] * len(cells)
    import numpy as np
    import shapely
    pts = gpd.GeoDataFrame(geometry=cells.geometry.representative_point(), crs=cells.crs).reset_index(drop=True)
    w = wards[["name", "geometry"]].to_crs(pts.crs) if wards.crs != pts.crs else wards[["name", "geometry"]]
    w = w.reset_index(drop=True)
    # a point inside exactly one ward is named by it (its nearest, at distance 0): one prepared
    # point-in-polygon query; the others (outside every ward, or on a border) by the nearest, as before
    pi, wi = w.sindex.query(np.asarray(pts.geometry.values), predicate="intersects")
    hits = np.bincount(pi, minlength=len(pts))
    names = np.full(len(pts), None, dtype=object)
    one = hits[pi] == 1
    names[pi[one]] = w["name"].to_numpy()[wi[one]]
    rest = np.flatnonzero(hits != 1)
    if rest.size:
        near = gpd.sjoin_nearest(pts.iloc[rest], w, how="left")
        near = near[~near.index.duplicated()]
        names[rest] = near["name"].reindex(pts.index[rest]).to_numpy()
    return [f"{shape} near {n}" if isinstance(n, str) and n else shape for n in names]


def number(x, digits: int = 0) -> str:
    """Thousands separators and fixed rounding; '–' for missing.

    Examples
    --------
    >>> number(2602220)
    '2,602,220'
    >>> number(-2873.4403, 1)
    '-2,873.4'
    """
    if x is None or x != x:
        return "–"
    return f"{x:,.{digits}f}"


def signed(x) -> str:
    """A whole number with its sign, as a difference is read aloud; ``'0'`` when it rounds to nought and
    '–' for missing or infinite.

    Examples
    --------
    >>> signed(3946.6), signed(-16947.2), signed(0.4), signed(None), signed(float("nan"))
    ('+3,947', '-16,947', '0', '–', '–')
    """
    if x is None or x != x or x in (float("inf"), float("-inf")):
        return "–"
    return "0" if round(x) == 0 else f"{x:+,.0f}"


def harm_days(x) -> str:
    """Harm in whole days: ``3457714.84`` -> ``'3,457,715 days'``."""
    return "–" if x is None or x != x else f"{x:,.0f} days"


def date_label(d) -> str:
    """An ISO date as '5 Jan 2024'; missing as ''."""
    if d is None or d != d or str(d) in ("", "None", "NaT"):
        return ""
    try:
        d = dt.date.fromisoformat(str(d)[:10])
        return f"{d.day} {d.strftime('%b %Y')}"
    except ValueError:
        return str(d)


def when_label(ts) -> str:
    """An ISO timestamp as '22 Nov 2026, 19:39'; missing as ''."""
    if ts is None or ts != ts or str(ts) in ("", "None", "NaT"):
        return ""
    try:
        d = dt.datetime.fromisoformat(str(ts))
        return f"{d.day} {d.strftime('%b %Y, %H:%M')}"
    except ValueError:
        return str(ts)


def _code_list(value, names: dict) -> str:
    """A list of codes (or its JSON text) as names joined by commas."""
    import json
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.startswith("[") else [value]
        except ValueError:
            value = [value]
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return ", ".join(names.get(str(c), str(c)) for c in value)


def _texty(s) -> bool:
    """Object or string dtype (pandas 2 and 3)."""
    import pandas as pd
    return pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)


def _is_month_series(s) -> bool:
    vals = s.dropna().astype(str)
    return len(vals) > 0 and bool(vals.str.fullmatch(r"\d{4}-\d{2}").all())


def readable(df, *, names: dict | None = None, measure: str = "Harm (days)"):
    """A copy of ``df`` ready to show, and how to show each column.

    Codes become names (``names`` from :func:`area_names`), harm is rounded to whole days,
    months read "Mar 2024", timestamps "5 Mar 2024, 09:12", and ``None`` becomes blank.
    The geometry column is dropped. Nothing is renamed in the data: the labels are returned.

    Returns
    -------
    (DataFrame, dict)
        The frame, and per column ``(label, kind)`` where kind is ``"int"``, ``"float2"``,
        ``"pvalue"``, ``"share"`` or ``"text"``.
    """
    import pandas as pd
    out = pd.DataFrame(df).drop(columns=[c for c in ("geometry",) if c in df.columns]).copy()
    names = names or {}
    spec: dict = {}
    for col in out.columns:
        s = out[col]
        label = column_label(col, measure=measure)
        kind = "text"
        if col == "bcus" and _texty(s):
            out[col] = s.map(lambda v: _code_list(v, names))
        elif col in CODE_COLUMNS and names and _texty(s):
            out[col] = s.map(lambda v: unit_label(v, names) if isinstance(v, str) else v)
        elif col in _TIME_COLUMNS and _texty(s):
            out[col] = s.map(when_label)
        elif col in ("month", "start_month", "end_month") or (_texty(s) and col.endswith("month")
                                                                and _is_month_series(s)):
            out[col] = s.map(lambda v: month_label(v) if isinstance(v, str) else "")
        elif pd.api.types.is_bool_dtype(s):
            out[col] = s.map({True: "yes", False: "no"})
        elif pd.api.types.is_numeric_dtype(s):
            if col in _PVALUE_COLUMNS:
                kind = "pvalue"
            elif col.endswith("_share"):
                kind = "share"
            elif col in ("gistar", "trend_tau") or (pd.api.types.is_float_dtype(s) and s.dropna().abs().lt(10).all()
                                                     and not col.startswith(("harm", "n_", "count"))):
                kind = "float2"
            else:
                kind = "int"
                out[col] = s.round(0).astype("Int64") if pd.api.types.is_float_dtype(s) else s
        if _texty(s) and kind == "text":
            out[col] = out[col].map(lambda v: "" if v is None or (isinstance(v, float) and v != v)
                                    or v in ("None", "nan") else v)
        spec[col] = (label, kind)
    return out, spec
