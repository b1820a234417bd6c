"""Reading the national GeoParquet back: lazily as a whole (dask-geopandas) or one BCU-year.

The points are partitioned by force and month (``points/<force>/<YYYY-MM>/*.parquet``), so
a force's BCU-year reads twelve folders of one force and filters on ``bcu`` inside the
Parquet reader; nothing else of the country is read.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def point_files(out, *, force: str | None = None, months=None) -> list[Path]:
    """The GeoParquet files of the national points (optionally one force, some months)."""
    root = Path(out) / "points"
    forces = [root / force] if force else sorted(p for p in root.glob("*") if p.is_dir())
    return [f for fdir in forces for mdir in sorted(fdir.glob("*")) if months is None or mdir.name in months
            for f in sorted(mdir.glob("*.parquet"))]


def national_points(out, *, columns=None):
    """Every national point as a lazy ``dask_geopandas.GeoDataFrame`` (one partition per file).

    Nothing is read until computed: ``national_points(out).groupby("force").harm.sum().compute()``
    runs file by file on the current dask client (or the local threads).
    """
    import dask_geopandas
    files = [str(f) for f in point_files(out)]
    return dask_geopandas.read_parquet(files, columns=columns)


def bcu_year(out, force_slug: str, bcu: str, year: int | str):
    """One BCU's points of one year from the national store (a GeoDataFrame).

    Parameters
    ----------
    out : str or Path
        The national output folder.
    force_slug : str
        The force's folder name, e.g. ``south-yorkshire``.
    bcu : str
        The BCU (district) name as in the panels, e.g. ``Sheffield``.
    year : int or str

    Returns
    -------
    geopandas.GeoDataFrame
        The points (every status) with the columns written by the pipeline.
    """
    import geopandas as gpd
    months = {f"{year}-{m:02d}" for m in range(1, 13)}
    parts = [gpd.read_parquet(f, filters=[("bcu", "==", bcu)]) for f in point_files(out, force=force_slug,
                                                                                      months=months)]
    parts = [p for p in parts if len(p)]
    if not parts:
        return gpd.GeoDataFrame({"bcu": pd.Series([], dtype="str")}, geometry=gpd.GeoSeries([], crs="EPSG:27700"))
    return pd.concat(parts, ignore_index=True)
