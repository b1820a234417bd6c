"""What the dashboard's national view reads: the panels and hot-spot classes of a national run.

Read-only: everything comes from the Parquet files ``python -m geo national`` wrote.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import GeoInputError


@dataclass(frozen=True)
class NationalView:
    """The national panels of one output folder.

    Attributes
    ----------
    force, bcu : pandas.DataFrame
        The monthly panels (see :func:`geo.national.panels.panel`); NaN where not covered.
    coverage : pandas.DataFrame
        ``force``, ``month``, ``rows``, ``covered``.
    patterns : pandas.DataFrame
        Emerging hot-spot cells per force and pattern (``force``, ``pattern``, ``cells``).
    summary : dict
        The run's ``summary.json``.
    """

    force: pd.DataFrame
    bcu: pd.DataFrame
    coverage: pd.DataFrame
    patterns: pd.DataFrame
    summary: dict


def version(out) -> int:
    """Changes whenever a national run rewrites its summary (a cache key)."""
    p = Path(out) / "summary.json"
    return p.stat().st_mtime_ns if p.exists() else 0


def national_view(out) -> NationalView:
    """Read a national output folder for display.

    Raises
    ------
    GeoInputError
        When the folder holds no finished national run.
    """
    out = Path(out)
    if not (out / "summary.json").exists():
        raise GeoInputError("No national run was found", where=str(out),
                            fix="run `python -m geo national --archive PATH --out FOLDER` and set GEO_NATIONAL "
                                "to that folder")
    summary = json.loads((out / "summary.json").read_text())
    panels = out / "panels"
    rows = []
    for f in sorted((out / "emerging").glob("*.parquet")):
        em = pd.read_parquet(f, columns=["force", "pattern"])
        rows.append(em.groupby(["force", "pattern"]).size().rename("cells").reset_index())
    patterns = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["force", "pattern", "cells"])
    return NationalView(force=pd.read_parquet(panels / "force.parquet"), bcu=pd.read_parquet(panels / "bcu.parquet"),
                        coverage=pd.read_parquet(panels / "coverage.parquet"), patterns=patterns, summary=summary)
