"""Monthly panels: count and harm per area and month, with control limits and change.

A panel is a tidy frame with one row per area and month::

    month  code  name  count  harm  covered

for any set of areas: boundary units (force, BCU, ward, neighbourhood, LSOA) or arbitrary
polygons (an operation's target, its distance rings, its control area). It feeds the
pre-trend chart of the results page and the trend charts of the area pages.

Coverage comes first. An area-month is ``covered`` when every police force holding a
real part of the area (at least :data:`MIN_FORCE_SHARE` of its area) has data that month
(:mod:`geo.coverage`); otherwise its ``count`` and ``harm`` are missing (``<NA>``), never
zero. An area that lies partly in Derbyshire is therefore not covered in 2024-05 … 12 of
the South Yorkshire demo.

Then, per area, :func:`add_control_limits` adds the long-run mean and control limits from
a pre-period (over-dispersed c-chart for counts, mean ± k·sd for harm), and
:func:`add_changes` adds year-on-year and rolling three-month change.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import coverage as cov
from .errors import GeoInputError
from .periods import month_range

#: A force must hold at least this share of an area for its coverage to matter (smaller
#: overlaps are slivers of generalised boundaries).
MIN_FORCE_SHARE = 0.01
#: Panel columns, in order.
PANEL_COLUMNS = ["month", "code", "name", "count", "harm", "covered"]
MEASURES = ("count", "harm")


def _areas_frame(areas, *, code_col: str, name_col: str, crs=None) -> gpd.GeoDataFrame:
    """Areas as a GeoDataFrame with ``code``, ``name`` and ``geometry``."""
    if isinstance(areas, Mapping):
        if not areas:
            raise GeoInputError("No areas were given", where="areas", fix="give at least one polygon")
        names = [str(k) for k in areas]
        geoms = list(areas.values())
        return gpd.GeoDataFrame({"code": names, "name": names}, geometry=geoms, crs=crs)
    if isinstance(areas, gpd.GeoSeries):
        names = [str(i) for i in areas.index]
        return gpd.GeoDataFrame({"code": names, "name": names}, geometry=areas.to_numpy(), crs=areas.crs)
    if not isinstance(areas, gpd.GeoDataFrame):
        raise GeoInputError(f"Cannot make a panel for a {type(areas).__name__}", where="areas",
                            fix="give a GeoDataFrame of units (code, name, geometry) or a dict of name -> polygon")
    missing = [c for c in (code_col, name_col) if c not in areas.columns]
    if missing:
        raise GeoInputError(f"The areas have no {' or '.join(repr(c) for c in missing)} column", where="areas",
                            fix=f"name the columns with code_col= and name_col= (have: {', '.join(map(str, areas.columns))})")
    if areas.empty:
        raise GeoInputError("No areas were given", where="areas", fix="give at least one polygon")
    out = gpd.GeoDataFrame({"code": areas[code_col].astype(str).to_numpy(), "name": areas[name_col].astype(str).to_numpy()},
                           geometry=areas.geometry.to_numpy(), crs=areas.crs)
    if out["code"].duplicated().any():
        dup = out.loc[out["code"].duplicated(), "code"].iloc[0]
        raise GeoInputError(f"Area code '{dup}' is used twice", where="areas", fix="give each area its own code")
    return out


def _unique_points(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``(x, y)`` points, sorted by x then y, and each point's index among them.

    What ``np.unique(np.column_stack([x, y]), axis=0, return_inverse=True)`` returns (inverse
    flattened), from one ``lexsort`` instead of a sort of row records: several times faster on
    the 100,000 points of a monthly panel.

    Examples
    --------
    >>> xy, inv = _unique_points(np.array([2.0, 1.0, 2.0]), np.array([5.0, 9.0, 5.0]))
    >>> xy.tolist(), inv.tolist()
    ([[1.0, 9.0], [2.0, 5.0]], [1, 0, 1])
    """
    order = np.lexsort((y, x))
    xs, ys = x[order], y[order]
    new = np.ones(len(xs), bool)
    new[1:] = (xs[1:] != xs[:-1]) | (ys[1:] != ys[:-1])
    inverse = np.empty(len(xs), np.intp)
    inverse[order] = np.cumsum(new) - 1
    return np.column_stack([xs[new], ys[new]]), inverse


def _xy(incidents) -> tuple[np.ndarray, np.ndarray]:
    if "x" in incidents.columns and "y" in incidents.columns:
        return incidents["x"].to_numpy(dtype=float), incidents["y"].to_numpy(dtype=float)
    g = incidents.geometry.to_numpy()
    return shapely.get_x(g).astype(float), shapely.get_y(g).astype(float)


def _area_forces(areas: gpd.GeoDataFrame, forces) -> list[list[str]]:
    """For each area, the forces (force keys) holding at least MIN_FORCE_SHARE of it."""
    if forces is None:
        return [[] for _ in range(len(areas))]
    col = "force" if "force" in forces.columns else ("name" if "name" in forces.columns else None)
    if col is None:
        raise GeoInputError("The force areas have no 'force' or 'name' column", where="forces",
                            fix="pass Workspace.boundaries('force') or the BCUs with their 'force'")
    f = forces[[col, "geometry"]].copy()
    f[col] = [cov.force_key(v) for v in f[col]]
    f = f.dissolve(by=col, as_index=False)
    out = []
    for geom in areas.geometry.to_numpy():
        a = geom.area
        keys = [k for k, g in zip(f[col], f.geometry.to_numpy())
                if a > 0 and g.intersects(geom) and g.intersection(geom).area / a >= MIN_FORCE_SHARE]
        out.append(keys)
    return out


def _incident_forces(force: np.ndarray, a_idx: np.ndarray, n_areas: int) -> list[list[str]]:
    """For each area, the forces (force keys) of at least MIN_FORCE_SHARE of the incidents located in it."""
    if not len(force):
        return [[] for _ in range(n_areas)]
    codes, uniq = pd.factorize(pd.Series(force, dtype=object).fillna(""))
    keys = np.array([cov.force_key(u) for u in uniq], dtype=object)
    table = np.zeros((n_areas, len(uniq)))
    np.add.at(table, (a_idx, codes), 1)
    totals = table.sum(axis=1, keepdims=True)
    share = np.divide(table, totals, out=np.zeros_like(table), where=totals > 0)
    return [sorted({keys[j] for j in np.flatnonzero(row >= MIN_FORCE_SHARE) if keys[j]}) for row in share]


def monthly_panel(incidents: pd.DataFrame, areas, *, months: Iterable[str] | None = None,
                  coverage: set | None = None, forces: gpd.GeoDataFrame | None = None,
                  categories: Iterable[str] | None = None, code_col: str = "code",
                  name_col: str = "name") -> pd.DataFrame:
    """Count and harm per area and month.

    Parameters
    ----------
    incidents : DataFrame
        Located incidents with ``month`` (``YYYY-MM``), ``x``/``y`` in metres (or point
        geometry) in the areas' CRS, and ``harm`` (e.g. from ``Workspace.incidents``).
        For areas that reach beyond the force, include the ``outside_area`` rows too.
    areas : GeoDataFrame or dict
        Units with ``code_col``, ``name_col`` and polygon geometry, or ``{name: polygon}``
        (arbitrary polygons: the code is the name). Areas may overlap: each is counted on
        its own.
    months : iterable of str, optional
        Months of the panel; by default every month from the first to the last in
        ``incidents``, gaps included.
    coverage : set of (force, month), optional
        Covered force-months (:func:`geo.coverage.covered_force_months`). By default a
        month is covered when ``incidents`` hold any row that month.
    forces : GeoDataFrame, optional
        Force areas (``force`` or ``name`` column), to tell which forces each area lies
        in (those holding at least :data:`MIN_FORCE_SHARE` of it). Without it, an area's
        forces are those reporting at least that share of the incidents located in it, over
        all months (from the incidents' ``force`` column), so an area reaching into a
        neighbouring force is not covered in that force's missing months. Without either,
        an area-month is covered when any force is covered that month.
    categories : iterable of str, optional
        Only these crime types (``category``); all by default.

    Returns
    -------
    DataFrame
        Columns :data:`PANEL_COLUMNS`: ``month`` (str), ``code``, ``name``, ``count``
        (Int64, incidents), ``harm`` (Float64, harm days), ``covered`` (bool); one row per
        area and month, ordered by area then month. ``count`` and ``harm`` are ``<NA>``
        where not covered. ``attrs["notes"]`` says which area-months were left out.

    Raises
    ------
    GeoInputError
        For areas or incidents that lack the needed columns, or an empty month range.
    """
    if "month" not in incidents.columns:
        raise GeoInputError("The incidents have no 'month' column", where="incidents",
                            fix="read them with Workspace.incidents()")
    a = _areas_frame(areas, code_col=code_col, name_col=name_col, crs=getattr(incidents, "crs", None))
    inc = incidents
    if categories is not None:
        cats = list(categories)
        inc = inc[inc["category"].isin(cats)]
    has_harm = "harm" in inc.columns
    month = inc["month"].astype("string")
    if months is None:
        ok = month.dropna()
        ok = ok[ok.str.fullmatch(r"\d{4}-\d\d")]
        if ok.empty:
            raise GeoInputError("The incidents hold no months", where="incidents",
                                fix="give months= explicitly, or import crime first")
        months = month_range(ok.min(), ok.max())
    months = [str(m) for m in months]
    if not months:
        raise GeoInputError("The month list is empty", where="months", fix="give at least one YYYY-MM month")
    x, y = _xy(inc)
    mi = pd.Index(months).get_indexer(month.fillna("").to_numpy())
    x0, y0, x1, y1 = a.total_bounds
    ok = np.isfinite(x) & np.isfinite(y) & (mi >= 0) & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    # police.uk points are snapped to anonymous map points: locate each distinct point once
    xy, inverse = _unique_points(x[ok], y[ok])
    tree = shapely.STRtree(a.geometry.to_numpy())
    u_idx, u_area = tree.query(shapely.points(xy[:, 0], xy[:, 1]), predicate="within")
    order = np.argsort(u_idx, kind="stable")
    u_idx, u_area = u_idx[order], u_area[order]
    starts = np.searchsorted(u_idx, np.arange(len(xy)))
    n_hits = np.bincount(u_idx, minlength=len(xy))
    inverse = inverse.ravel()
    reps = n_hits[inverse]                        # areas each incident lies in (0, 1, or more if areas overlap)
    p_idx = np.repeat(np.arange(len(inverse)), reps)
    first = np.repeat(starts[inverse], reps)
    offset = np.arange(len(p_idx)) - np.repeat(np.cumsum(reps) - reps, reps)
    a_idx = u_area[first + offset]
    m_idx = mi[ok][p_idx]
    n_a, n_m = len(a), len(months)
    counts = np.bincount(a_idx * n_m + m_idx, minlength=n_a * n_m).reshape(n_a, n_m)
    harm_w = inc["harm"].to_numpy(dtype=float)[ok][p_idx] if has_harm else np.zeros(len(p_idx))
    harms = np.bincount(a_idx * n_m + m_idx, weights=harm_w, minlength=n_a * n_m).reshape(n_a, n_m)

    if coverage is None:
        have = set(month.dropna().unique())
        covered = np.array([[m in have for m in months]] * n_a, dtype=bool)
    else:
        if forces is not None or "force" not in inc.columns:
            area_forces = _area_forces(a, forces)
        else:
            area_forces = _incident_forces(inc["force"].to_numpy()[ok][p_idx], a_idx, n_a)
        covered_months = {}
        for f, m in coverage:
            covered_months.setdefault(f, set()).add(m)
        any_force = set().union(*covered_months.values()) if covered_months else set()
        covered = np.array([[all(m in covered_months.get(f, ()) for f in fs) if fs else m in any_force
                             for m in months] for fs in area_forces], dtype=bool)
    panel = pd.DataFrame({
        "month": np.tile(months, n_a),
        "code": np.repeat(a["code"].to_numpy(), n_m),
        "name": np.repeat(a["name"].to_numpy(), n_m),
        "count": pd.array(counts.ravel(), dtype="Int64"),
        "harm": pd.array(harms.ravel(), dtype="Float64"),
        "covered": covered.ravel(),
    })
    panel.loc[~panel["covered"], ["count", "harm"]] = pd.NA
    if not has_harm:
        panel["harm"] = pd.array([pd.NA] * len(panel), dtype="Float64")
    gaps = panel.loc[~panel["covered"]]
    notes = []
    for (code, name), g in gaps.groupby(["code", "name"], sort=False):
        runs = ", ".join(cov.month_runs(list(g["month"])))
        notes.append(f"{name}: no data for {runs} (a force it lies in is not covered); those months are left out, "
                     "not counted as zero.")
    panel.attrs["notes"] = notes
    panel.attrs["months"] = months
    return panel


def add_control_limits(panel: pd.DataFrame, *, pre: tuple[str, str] | None = None, k: float = 2.0,
                       measures: Iterable[str] = MEASURES, min_months: int = 6) -> pd.DataFrame:
    """Long-run mean and control limits per area, from a pre-period.

    Counts: an over-dispersed c-chart. The centre is the mean monthly count over the
    covered pre-period months, and sigma is ``sqrt(phi * mean)`` with the dispersion
    ``phi = max(1, variance / mean)`` estimated from the same months (quasi-Poisson:
    never narrower than Poisson; real counts are over-dispersed). Harm (a weighted sum, not
    a count): mean ± ``k`` times the sample standard deviation of the pre-period months.

    Parameters
    ----------
    panel : DataFrame
        From :func:`monthly_panel`.
    pre : (str, str), optional
        First and last month of the pre-period; by default every month of the panel.
    k : float
        Width of the limits in sigmas (2: warning limits, 3: Shewhart action limits).
    measures : iterable of str
        ``count`` and/or ``harm``.
    min_months : int
        Fewer covered pre-period months than this give no limits (``<NA>``).

    Returns
    -------
    DataFrame
        ``panel`` with, per measure ``m``: ``m_mean``, ``m_lower`` (not below 0),
        ``m_upper``, ``m_signal`` ("above", "below" or ""; "" where not covered or no
        limits), and ``dispersion`` (count variance / mean over the pre-period).
        ``attrs["pre"]`` holds the pre-period.

    Examples
    --------
    >>> p = pd.DataFrame({"month": [f"2024-{m:02d}" for m in range(1, 9)], "code": "A", "name": "A",
    ...                   "count": pd.array([10, 12, 8, 10, 11, 9, 10, 30], dtype="Int64"),
    ...                   "harm": pd.array([1.0] * 8, dtype="Float64"), "covered": True})
    >>> out = add_control_limits(p, pre=("2024-01", "2024-07"))
    >>> float(out["count_mean"].iloc[0]), list(out["count_signal"])[-2:]
    (10.0, ['', 'above'])
    """
    out = panel.copy()
    months = sorted(out["month"].unique())
    p0, p1 = pre if pre is not None else (months[0], months[-1])
    if p1 < p0:
        raise GeoInputError(f"The pre-period ends ({p1}) before it starts ({p0})", where="pre",
                            fix="give (first month, last month)")
    in_pre = out["month"].between(p0, p1) & out["covered"]
    measures = list(measures)
    for m in measures:
        if m not in MEASURES:
            raise GeoInputError(f"Unknown measure '{m}'", where="measures", fix="use 'count' and/or 'harm'")
    pre_rows = out[in_pre]
    n_pre = pre_rows.groupby("code", sort=False).size()
    for m in measures:
        v = pre_rows[m].astype(float)
        g = v.groupby(pre_rows["code"], sort=False).agg(["count", "mean", "var"])
        mean, var = g["mean"], g["var"]
        if m == "count":
            dispersion = (var / mean).where(mean > 0)
            phi = dispersion.clip(lower=1.0).fillna(1.0)
            sigma = np.sqrt(phi * mean)
            out["dispersion"] = pd.array(out["code"].map(dispersion.where(g["count"] >= min_months)), dtype="Float64")
        else:
            sigma = np.sqrt(var)
        enough = g["count"] >= min_months
        centre = mean.where(enough)
        lower = (mean - k * sigma).clip(lower=0.0).where(enough)
        upper = (mean + k * sigma).where(enough)
        out[f"{m}_mean"] = pd.array(out["code"].map(centre), dtype="Float64")
        out[f"{m}_lower"] = pd.array(out["code"].map(lower), dtype="Float64")
        out[f"{m}_upper"] = pd.array(out["code"].map(upper), dtype="Float64")
        val = out[m].astype("Float64")
        above = (val > out[f"{m}_upper"]).fillna(False).to_numpy(dtype=bool)
        below = (val < out[f"{m}_lower"]).fillna(False).to_numpy(dtype=bool)
        out[f"{m}_signal"] = np.where(above, "above", np.where(below, "below", ""))
    out["pre_months"] = pd.array(out["code"].map(n_pre).fillna(0), dtype="Int64")
    out.attrs = dict(panel.attrs, pre=(p0, p1), k=k)
    return out


def add_changes(panel: pd.DataFrame, *, measures: Iterable[str] = MEASURES) -> pd.DataFrame:
    """Year-on-year and rolling three-month change per area.

    Per measure ``m``: ``m_last_year`` (the same month a year earlier), ``m_yoy`` (change
    from it), ``m_yoy_pct``; ``m_3m`` (sum of this and the two previous months),
    ``m_3m_prev`` (the three months before those) and ``m_3m_pct`` (their change). Each
    is ``<NA>`` when any month it needs is not covered or not in the panel, never a change
    against zero.

    Examples
    --------
    >>> months = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)][:14]
    >>> p = pd.DataFrame({"month": months, "code": "A", "name": "A",
    ...                   "count": pd.array(range(10, 24), dtype="Int64"),
    ...                   "harm": pd.array([2.0] * 14, dtype="Float64"), "covered": True})
    >>> out = add_changes(p).set_index("month")
    >>> int(out.loc["2025-02", "count_last_year"]), int(out.loc["2025-02", "count_yoy"])
    (11, 12)
    >>> int(out.loc["2024-06", "count_3m"]), int(out.loc["2024-06", "count_3m_prev"])
    (42, 33)
    """
    out = panel.copy()
    measures = list(measures)
    periods = pd.PeriodIndex(out["month"], freq="M")
    out["_p"] = periods.asi8 if hasattr(periods, "asi8") else periods.astype("int64")
    for m in measures:
        val = out[m].astype("Float64").where(out["covered"])
        key = dict(zip(zip(out["code"], out["_p"]), val))

        def at(offset, _key=key):
            return pd.Series([_key.get((c, p - offset), pd.NA) for c, p in zip(out["code"], out["_p"])],
                             index=out.index, dtype="Float64")

        last_year = at(12)
        out[f"{m}_last_year"] = last_year
        out[f"{m}_yoy"] = val - last_year
        out[f"{m}_yoy_pct"] = (val - last_year) / last_year.where(last_year != 0) * 100
        s3 = val + at(1) + at(2)
        prev3 = at(3) + at(4) + at(5)
        out[f"{m}_3m"] = s3
        out[f"{m}_3m_prev"] = prev3
        out[f"{m}_3m_pct"] = (s3 - prev3) / prev3.where(prev3 != 0) * 100
        if m == "count":
            for c in ("count_last_year", "count_yoy", "count_3m", "count_3m_prev"):
                out[c] = out[c].round().astype("Int64")
    return out.drop(columns="_p")


# ------------------------------------------------------------------------- workspace


def panel_incidents(ws, *, layer: str = "crime", categories=None) -> pd.DataFrame:
    """Located incidents (mapped and outside the area) with only what a panel needs.

    Read once and pass to :func:`workspace_panel` (``incidents=``) to build panels for
    several levels without reading the store again.

    Returns
    -------
    DataFrame
        ``x``, ``y`` (metres), ``month``, ``category``, ``force``, ``harm`` (days).
    """
    from .harm import weights_for
    conn = getattr(ws.store, "_conn", None)
    if conn is None:
        return ws.incidents(layer=layer, categories=categories, statuses=("mapped", "outside_area"))
    sql = ("SELECT x, y, month, category, force FROM incidents WHERE layer = ? "
           "AND status IN ('mapped', 'outside_area')")
    args: list = [layer]
    if categories is not None:
        sql += f" AND category IN ({','.join('?' * len(categories))})" if categories else " AND 0"
        args += list(categories)
    df = pd.read_sql_query(sql, conn, params=args)
    df["harm"] = weights_for(df["category"], ws.harm_table())
    return df


def workspace_panel(ws, areas, *, months: Iterable[str] | None = None, layer: str = "crime",
                    categories: Iterable[str] | None = None, pre: tuple[str, str] | None = None,
                    k: float = 2.0, all_forces: bool = False, incidents: pd.DataFrame | None = None,
                    coverage: set | None = None) -> pd.DataFrame:
    """A full panel for a workspace: counts, harm, coverage, control limits and change.

    Parameters
    ----------
    ws : Workspace
    areas : str or GeoDataFrame or dict
        A boundary level (``force``, ``bcu``, ``ward``, ``neighbourhood``, ``lsoa``) of the
        workspace, or areas as for :func:`monthly_panel`. For ``force`` and ``bcu`` only
        the workspace's own force's units are taken unless ``all_forces``: neighbouring
        forces' crime is usually cut to the surroundings, so their unit totals are partial.
    months, categories
        As for :func:`monthly_panel` (months default to the workspace's months).
    layer : str
        Incident layer.
    pre : (str, str), optional
        Pre-period for the control limits (default: every month).
    k : float
        Control-limit width in sigmas.
    all_forces : bool
        Keep other forces' units of a ``force`` or ``bcu`` level.
    incidents : DataFrame, optional
        From :func:`panel_incidents`, to reuse one read for several panels.
    coverage : set, optional
        From :func:`geo.coverage.covered_force_months`, likewise.

    Returns
    -------
    DataFrame
        :func:`monthly_panel` with :func:`add_control_limits` and :func:`add_changes`.
    """
    if isinstance(areas, str):
        levels = ws.store.boundary_levels()
        if areas not in levels:
            raise GeoInputError(f"The workspace has no '{areas}' boundaries", where="areas",
                                fix=f"use one of: {', '.join(levels) or '(none: import boundaries first)'}")
        level, areas = areas, ws.boundaries(areas)
        if level in ("force", "bcu") and ws.force and not all_forces:
            # neighbouring forces' data are cut to the surroundings: their unit totals are partial
            areas = areas[[cov.force_key(f) == cov.force_key(ws.force) for f in areas["force"]]]
    if incidents is None:
        incidents = panel_incidents(ws, layer=layer, categories=list(categories) if categories is not None else None)
    elif categories is not None:
        incidents = incidents[incidents["category"].isin(list(categories))]
    if months is None:
        held = ws.store.months(layer)
        if not held:
            raise GeoInputError(f"The workspace holds no {layer} data", where=layer, fix="import it first")
        months = month_range(held[0], held[-1])
    forces = ws.boundaries("force") if "force" in ws.store.boundary_levels() else ws.bcus(all_forces=True)
    if coverage is None:
        coverage = cov.covered_force_months(ws, layer=layer)
    panel = monthly_panel(incidents, areas, months=months, coverage=coverage, forces=forces)
    return add_changes(add_control_limits(panel, pre=pre, k=k))


# ------------------------------------------------------------------------- words


def months_label(m0: str, m1: str) -> str:
    """A run of months as a meeting reads it: "Apr–Jun 2025", "Nov 2024–Jan 2025", "Jun 2025".

    Examples
    --------
    >>> months_label("2025-04", "2025-06"), months_label("2024-11", "2025-01")
    ('Apr–Jun 2025', 'Nov 2024–Jan 2025')
    """
    from .periods import month_label
    if m0 == m1:
        return month_label(m0)
    a, b = month_label(m0), month_label(m1)
    return f"{a[:3]}–{b}" if m0[:4] == m1[:4] else f"{a}–{b}"


def _change_words(now: float, before: float) -> str:
    if before <= 0:
        return "no change can be given (nothing before)"
    pct = (now - before) / before * 100
    if round(pct) == 0:
        return "about the same as"
    return f"{abs(pct):.0f}% {'above' if pct > 0 else 'below'}"


def trend_sentences(panel: pd.DataFrame, *, code: str | None = None, measure: str = "harm",
                    name: str | None = None, what: str | None = None) -> list[str]:
    """What changed, in words a meeting can read, for one area of a panel.

    Three sentences at most, each only when every month it needs is covered:

    * the latest three months against the same months a year earlier ("Harm in
      Sheffield, Apr–Jun 2025: 12% below the same months of 2024 (6,900 days against
      7,840).");
    * the latest three months against the three before;
    * the months of the last six outside the control limits of
      :func:`add_control_limits` (if the panel has them), or that every one lay inside.

    Parameters
    ----------
    panel : DataFrame
        From :func:`monthly_panel` (with :func:`add_control_limits` for the last sentence).
    code : str, optional
        The area; ``None``: the panel must hold one area.
    measure : {"harm", "count"}
    name : str, optional
        The area's name in the text (default: the panel's ``name``).
    what : str, optional
        What is measured, first word of the text (default "Harm" or "Incidents").

    Returns
    -------
    list of str

    References
    ----------
    Montgomery, D. C. (2019). *Introduction to Statistical Quality Control*, 8th ed.,
    Wiley, ch. 6–7 (control limits; a point outside them is a signal, not proof of a change).

    Examples
    --------
    >>> months = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)][:18]
    >>> p = pd.DataFrame({"month": months, "code": "S", "name": "Sheffield",
    ...                   "count": pd.array([10] * 18, dtype="Int64"),
    ...                   "harm": pd.array([100.0] * 15 + [88.0] * 3, dtype="Float64"), "covered": True})
    >>> trend_sentences(p)[0]
    'Harm in Sheffield, Apr–Jun 2025: 12% below the same months of 2024 (264 days against 300).'
    """
    if measure not in MEASURES:
        raise GeoInputError(f"Unknown measure '{measure}'", where="measure", fix="use 'count' or 'harm'")
    p = panel if code is None else panel[panel["code"] == code]
    if p["code"].nunique() != 1:
        raise GeoInputError(f"The panel holds {p['code'].nunique()} areas", where="code",
                            fix="pass code= of one area")
    from .periods import month_add, month_label
    p = p.sort_values("month")
    name = name or str(p["name"].iloc[0])
    word, unit = ("Harm", "days") if measure == "harm" else ("Incidents", "incidents")
    word = what or word
    val = {m: (float(v) if c and pd.notna(v) else None) for m, v, c in zip(p["month"], p[measure], p["covered"])}
    covered = [m for m in p["month"] if val[m] is not None]
    if not covered:
        return [f"No month of {name} is covered by the data."]
    last = covered[-1]

    def total(m_end: str) -> float | None:
        vs = [val.get(month_add(m_end, -i)) for i in range(3)]
        return None if any(v is None for v in vs) else sum(vs)

    out = []
    m0 = month_add(last, -2)
    now = total(last)
    head = f"{word} in {name}, {months_label(m0, last)}:"
    if now is not None:
        ly = total(month_add(last, -12))
        if ly is not None:
            yr = str(int(last[:4]) - 1) if m0[:4] == last[:4] else months_label(month_add(m0, -12), month_add(last, -12))
            out.append(f"{head} {_change_words(now, ly)} the same months of {yr} "
                       f"({now:,.0f} {unit} against {ly:,.0f}).")
        prev = total(month_add(last, -3))
        if prev is not None:
            out.append(f"{head} {_change_words(now, prev)} {months_label(month_add(last, -5), month_add(last, -3))} "
                       f"({now:,.0f} {unit} against {prev:,.0f}).")
    if f"{measure}_signal" in p.columns and p[f"{measure}_mean"].notna().any():
        recent = p[p["month"] > month_add(last, -6)]
        sig = recent[recent[f"{measure}_signal"] != ""]
        r = p[p[f"{measure}_mean"].notna()].iloc[-1]
        limits = (f"Long-run mean {float(r[f'{measure}_mean']):,.0f} {unit} a month, control limits "
                  f"{float(r[f'{measure}_lower']):,.0f}–{float(r[f'{measure}_upper']):,.0f}.")
        if len(sig):
            months = ", ".join(f"{month_label(m)} {s}" for m, s in zip(sig["month"], sig[f"{measure}_signal"]))
            out.append(f"Outside the control limits in the last six months: {months}. {limits}")
        else:
            out.append(f"Every month of the last six lay within the control limits. {limits}")
    return out
