"""Which force-months the workspace's data cover.

police.uk publishes one street-crime file per force and month. A month with no file for
a force is **not covered**: nothing is known about that force's crime that month, which
is different from zero crime. Analyses that count crime across force lines (displacement
into a neighbouring force, monthly panels of an area that crosses a force boundary) must
leave an uncovered force-month out and say so, never count it as zero.

The rule
--------
A force-month ``(force, month)`` is covered when crime rows of that force ("Reported by")
for that month were imported, whatever their outcome: mapped, no location or outside the
workspace area (a neighbouring force's rows are mostly outside it). Rows refused at import
do not count. The store records each import's files but not which forces and months each
file held, so the imported rows are the record: a force's police.uk file for a month
always holds rows (no force has a month without crime), so "a file was imported" and
"rows are held" agree on police.uk data. Rows that carry no force (calls for service read
through a column mapping) belong to the workspace's own force.

Force names are compared through :func:`force_key`, so "Derbyshire Constabulary" (police.uk)
matches "Derbyshire" (the ``force`` attribute of the boundaries) and "South Yorkshire
Police" matches the workspace force "South Yorkshire".

In the South Yorkshire demo the neighbouring forces are covered for 2024-01 … 04
(Nottinghamshire 2024-01 … 03 only) and 2025-01 … 06; 2024-05 … 2024-12 are not covered,
and West Yorkshire is never covered.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from .errors import GeoInputError
from .periods import month_add, month_label, month_range, period_label

#: Words police.uk adds to a force's name ("Derbyshire Constabulary", "Humberside Police").
_SUFFIX = re.compile(r"\s+(police\s+service|police|constabulary)\s*$", re.IGNORECASE)
_PREFIX = re.compile(r"^\s*police\s+service\s+of\s+", re.IGNORECASE)

ForceMonth = tuple[str, str]


def force_key(name) -> str:
    """A force's name without "Police", "Constabulary" or "Police Service".

    Parameters
    ----------
    name : str
        A force name as police.uk ("Reported by") or a boundary file writes it.

    Returns
    -------
    str
        The name used as the force in coverage sets.

    Examples
    --------
    >>> force_key("Derbyshire Constabulary"), force_key("South Yorkshire Police")
    ('Derbyshire', 'South Yorkshire')
    >>> force_key("Police Service of Northern Ireland"), force_key("Derbyshire")
    ('Northern Ireland', 'Derbyshire')
    """
    s = "" if name is None or (isinstance(name, float) and name != name) else str(name)
    s = " ".join(s.split())
    return _PREFIX.sub("", _SUFFIX.sub("", s)).strip()


def _counts(incidents, *, layer: str | None, default_force: str | None) -> pd.DataFrame:
    """Rows per (force key, month): columns ``force``, ``month``, ``rows``."""
    if hasattr(incidents, "store"):  # a Workspace
        default_force = default_force if default_force is not None else incidents.force
        incidents = incidents.store
    if hasattr(incidents, "read_incidents"):  # a Store
        conn = getattr(incidents, "_conn", None)
        if conn is not None:  # GeoPackage fast path: one GROUP BY, no geometry built
            sql = "SELECT force, month, count(*) AS rows FROM incidents"
            args: tuple = ()
            if layer:
                sql, args = sql + " WHERE layer = ?", (layer,)
            df = pd.read_sql_query(sql + " GROUP BY force, month", conn, params=args)
        else:
            df = incidents.read_incidents(layer=layer, statuses=None)
            df = df.groupby(["force", "month"], dropna=False).size().rename("rows").reset_index()
    else:
        if not isinstance(incidents, pd.DataFrame):
            raise GeoInputError(f"Cannot read coverage from a {type(incidents).__name__}",
                                fix="pass the incidents frame (with 'force' and 'month'), a Workspace or its store")
        missing = [c for c in ("force", "month") if c not in incidents.columns]
        if missing:
            raise GeoInputError(f"The incidents have no {' or '.join(repr(c) for c in missing)} column",
                                where="coverage", fix="read them with Workspace.incidents(), which carries both")
        df = incidents
        if layer and "layer" in df.columns:
            df = df[df["layer"] == layer]
        df = df.groupby(["force", "month"], dropna=False).size().rename("rows").reset_index()
    own = force_key(default_force) if default_force else ""
    df = df.assign(force=[force_key(f) or own for f in df["force"]], month=df["month"].astype("string"))
    df = df[df["month"].notna() & df["month"].str.fullmatch(r"\d{4}-\d\d").fillna(False) & df["force"].ne("")]
    return df.groupby(["force", "month"], as_index=False)["rows"].sum()


def covered_force_months(incidents, *, layer: str | None = "crime",
                         default_force: str | None = None) -> set[ForceMonth]:
    """The ``(force, 'YYYY-MM')`` pairs the imported data cover.

    Parameters
    ----------
    incidents : DataFrame, Workspace or Store
        Incidents with ``force`` and ``month`` columns, of every status (a frame of mapped
        rows only would miss a force whose rows all lie outside the area), or a
        workspace / store, whose imported rows of every status are read.
    layer : str or None
        Incident layer (``crime`` by default; ``None`` for all layers).
    default_force : str, optional
        The force of rows that carry none (calls); a Workspace gives its own force.

    Returns
    -------
    set of (str, str)
        ``(force_key(force), month)`` for every force-month with imported rows (see the
        module's rule). A pair not in the set is not covered: unknown, never zero.

    Raises
    ------
    GeoInputError
        When a frame lacks the ``force`` or ``month`` column.

    Examples
    --------
    >>> rows = pd.DataFrame({"force": ["Derbyshire Constabulary", "South Yorkshire Police"],
    ...                      "month": ["2024-04", "2024-05"]})
    >>> sorted(covered_force_months(rows))
    [('Derbyshire', '2024-04'), ('South Yorkshire', '2024-05')]
    """
    c = _counts(incidents, layer=layer, default_force=default_force)
    return set(zip(c["force"], c["month"]))


def is_covered(covered: set[ForceMonth], force: str, month: str) -> bool:
    """Whether ``force`` (any spelling :func:`force_key` understands) is covered in ``month``."""
    return (force_key(force), str(month)) in covered


def uncovered(covered: set[ForceMonth], forces: Iterable[str], months: Iterable[str]) -> list[ForceMonth]:
    """The ``(force, month)`` pairs among ``forces`` × ``months`` that are not covered, in order."""
    keys = list(dict.fromkeys(force_key(f) for f in forces if force_key(f)))
    return [(f, m) for f in keys for m in months if (f, m) not in covered]


def month_runs(months: list[str]) -> list[str]:
    """Consecutive months as readable runs: ['May 2024 – Dec 2024', 'Apr 2025'].

    Examples
    --------
    >>> month_runs(["2024-05", "2024-06", "2025-04"])
    ['May 2024 – Jun 2024', 'Apr 2025']
    """
    out, start, prev = [], None, None
    for m in sorted(months):
        if prev is not None and m == month_add(prev, 1):
            prev = m
            continue
        if start is not None:
            out.append(period_label(start, prev))
        start = prev = m
    if start is not None:
        out.append(period_label(start, prev))
    return out


def coverage_notes(missing: Iterable[ForceMonth]) -> list[str]:
    """One sentence per force saying which months are not covered and how they are treated.

    Examples
    --------
    >>> coverage_notes([("Derbyshire", "2024-05"), ("Derbyshire", "2024-06"), ("Derbyshire", "2024-09")])
    ['No Derbyshire data for May 2024 – Jun 2024, Sep 2024: not covered, left out rather than counted as zero.']
    """
    by: dict[str, list[str]] = {}
    for f, m in missing:
        by.setdefault(f, []).append(m)
    return [f"No {f} data for {', '.join(month_runs(ms))}: not covered, left out rather than counted as zero."
            for f, ms in by.items()]


def coverage_counts(incidents, *, forces: Iterable[str] | None = None, months: Iterable[str] | None = None,
                    layer: str | None = "crime", default_force: str | None = None) -> pd.DataFrame:
    """Rows held per force and month, with a ``covered`` flag: the tidy coverage frame.

    Parameters
    ----------
    incidents : DataFrame, Workspace or Store
        As for :func:`covered_force_months`.
    forces : iterable of str, optional
        Forces to list (e.g. those of the workspace's boundaries, so a force with no data at
        all shows as not covered); by default the forces in the data.
    months : iterable of str, optional
        Months to list; by default every month from the first to the last in the data,
        gaps included.
    layer, default_force
        As for :func:`covered_force_months`.

    Returns
    -------
    DataFrame
        One row per force and month: ``force`` (:func:`force_key`), ``month``
        (``YYYY-MM``), ``rows`` (imported rows, ``<NA>`` when not covered) and ``covered``
        (bool).
    """
    c = _counts(incidents, layer=layer, default_force=default_force)
    if months is None:
        months = month_range(c["month"].min(), c["month"].max()) if len(c) else []
    months = [str(m) for m in months]
    keys = list(dict.fromkeys([force_key(f) for f in forces] if forces is not None else []))
    keys += [f for f in sorted(c["force"].unique()) if f not in keys and forces is None]
    grid = pd.MultiIndex.from_product([keys, months], names=["force", "month"]).to_frame(index=False)
    out = grid.merge(c, on=["force", "month"], how="left")
    out["rows"] = out["rows"].astype("Int64")
    out["covered"] = out["rows"].notna().to_numpy()
    return out


def coverage_table(incidents, *, forces: Iterable[str] | None = None, months: Iterable[str] | None = None,
                   layer: str | None = "crime", default_force: str | None = None) -> pd.DataFrame:
    """Coverage for display: one row per force, one column per month.

    Cells hold the imported rows of that force-month, or "not covered" (never 0) when
    the force has no data that month. Parameters as for :func:`coverage_counts`.

    Returns
    -------
    DataFrame
        Index ``Force``; columns the months as "Jan 2024"; text cells ("1,234" or
        "not covered"); ``attrs["notes"]`` holds :func:`coverage_notes` for the gaps.
    """
    tidy = coverage_counts(incidents, forces=forces, months=months, layer=layer, default_force=default_force)
    if tidy.empty:
        return pd.DataFrame(index=pd.Index([], name="Force"))
    tidy = tidy.assign(cell=[f"{int(r):,}" if c else "not covered" for r, c in zip(tidy["rows"], tidy["covered"])])
    wide = tidy.pivot(index="force", columns="month", values="cell")
    order = list(dict.fromkeys(tidy["force"]))
    wide = wide.loc[order, sorted(wide.columns)]
    wide.columns = [month_label(m) for m in wide.columns]
    wide.index.name = "Force"
    wide.columns.name = None
    wide.attrs["notes"] = coverage_notes(zip(tidy.loc[~tidy["covered"], "force"], tidy.loc[~tidy["covered"], "month"]))
    return wide
