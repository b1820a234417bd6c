"""Monthly harm panels per force, BCU and LSOA, reduced from the per-file aggregates.

Each archive file leaves a small aggregate (count, harm, drug-market basket count and harm
per force, BCU, LSOA and month); the panels are their sums, so they need only those small
tables in memory, never the points. A force-month that no file covers is **not covered**
(:mod:`geo.coverage`): its rows are in the panels with ``covered`` False and the measures
missing (NaN), never zero. Inside a covered force-month, a BCU or LSOA of that force with
no crime is a true zero.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

MEASURES = ["count", "harm", "basket_count", "basket_harm"]
LEVELS = {"force": ["force"], "bcu": ["force", "bcu"], "lsoa": ["force", "lsoa_code"]}


def read_aggregates(out) -> pd.DataFrame:
    """All per-file aggregates of a national output folder, concatenated."""
    files = sorted((Path(out) / "_agg").glob("*.parquet"))
    if not files:
        return pd.DataFrame(columns=["force", "bcu", "lsoa_code", "month", *MEASURES])
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def coverage_frame(records) -> pd.DataFrame:
    """Rows per covered force-month from the completion records: ``force``, ``month``, ``rows``."""
    rows = [c for r in records for c in r["coverage"]]
    df = pd.DataFrame(rows, columns=["force", "month", "rows"])
    return df.groupby(["force", "month"], as_index=False)["rows"].sum()


def month_span(months) -> list[str]:
    """Every month from the first to the last (``YYYY-MM``), gaps included."""
    months = sorted(set(months))
    if not months:
        return []
    return [str(p) for p in pd.period_range(months[0], months[-1], freq="M").strftime("%Y-%m")]


def panel(agg: pd.DataFrame, covered: pd.DataFrame, level: str) -> pd.DataFrame:
    """One monthly panel: every unit of each force x every month of the archive.

    Parameters
    ----------
    agg : pandas.DataFrame
        From :func:`read_aggregates`.
    covered : pandas.DataFrame
        From :func:`coverage_frame`.
    level : {"force", "bcu", "lsoa"}

    Returns
    -------
    pandas.DataFrame
        The unit columns (``force``; ``bcu`` or ``lsoa_code``), ``month``, ``count``,
        ``harm`` (CCHI days), ``basket_count``, ``basket_harm`` and ``covered``. Measures are
        NaN where ``covered`` is False (unknown, not zero).
    """
    keys = LEVELS[level]
    months = month_span(covered["month"])
    g = agg.groupby(keys + ["month"], dropna=False)[MEASURES].sum().reset_index()
    units = agg[keys].drop_duplicates()
    grid = units.merge(pd.DataFrame({"month": months}), how="cross")
    out = grid.merge(g, on=keys + ["month"], how="left")
    cov = covered[["force", "month"]].assign(covered=True)
    out = out.merge(cov, on=["force", "month"], how="left")
    out["covered"] = out["covered"].astype("boolean").fillna(False).astype(bool)
    for m in MEASURES:
        out[m] = out[m].astype(float)
        out.loc[out["covered"] & out[m].isna(), m] = 0.0
        out.loc[~out["covered"], m] = np.nan
    return out.sort_values(keys + ["month"], ignore_index=True)


def write_panels(out, records) -> dict[str, Path]:
    """Write ``panels/{force,bcu,lsoa}.parquet`` and ``panels/coverage.parquet``; return their paths."""
    out = Path(out)
    agg = read_aggregates(out)
    covered = coverage_frame(records)
    folder = out / "panels"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for level in LEVELS:
        p = folder / f"{level}.parquet"
        panel(agg, covered, level).to_parquet(p, index=False)
        paths[level] = p
    forces = sorted(agg["force"].dropna().unique())
    full = pd.DataFrame({"force": forces}).merge(pd.DataFrame({"month": month_span(covered["month"])}),
                                                 how="cross")
    full = full.merge(covered, on=["force", "month"], how="left")
    full["covered"] = full["rows"].notna()
    full["rows"] = full["rows"].astype("Int64")
    paths["coverage"] = folder / "coverage.parquet"
    full.to_parquet(paths["coverage"], index=False)
    return paths
