"""Reading the national GeoParquet back: lazily as a whole (dask-geopandas) or one BCU-year.

The points are partitioned by force and month (``points/<force>/<YYYY-MM>/*.parquet``), so
a force's BCU-year reads twelve folders of one force as one ``pyarrow.dataset``, filtering
on ``bcu`` (and optionally a box, on the bbox covering columns) inside the Parquet reader;
nothing else of the country is read.
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


def bcu_year(out, force_slug: str, bcu: str, year: int | str, *, bbox=None, columns=None):
    """One BCU's points of one year from the national store (a GeoDataFrame).

    Only the force's twelve month folders are listed, and they are read as one
    ``pyarrow.dataset`` with the filter pushed into the Parquet reader (row groups whose
    statistics exclude the BCU, or the box, are skipped); the rows become one GeoDataFrame
    in a single conversion.

    Parameters
    ----------
    out : str or Path
        The national output folder.
    force_slug : str
        The force's folder name, e.g. ``south-yorkshire``.
    bcu : str
        The BCU (district) name as in the panels, e.g. ``Sheffield``.
    year : int or str
    bbox : tuple of float, optional
        ``(xmin, ymin, xmax, ymax)`` in British National Grid metres: only points inside,
        tested on the GeoParquet bbox covering columns (no geometry is decoded to test).
    columns : list of str, optional
        Columns to read (``geometry`` is always read).

    Returns
    -------
    geopandas.GeoDataFrame
        The points (every status) with the columns written by the pipeline.
    """
    import geopandas as gpd
    import pyarrow.dataset as ds

    months = {f"{year}-{m:02d}" for m in range(1, 13)}
    files = [str(f) for f in point_files(out, force=force_slug, months=months)]
    if not files:
        return gpd.GeoDataFrame({"bcu": pd.Series([], dtype="str")}, geometry=gpd.GeoSeries([], crs="EPSG:27700"))
    dataset = ds.dataset(files, format="parquet")
    cond = ds.field("bcu") == bcu
    if bbox is not None:
        x0, y0, x1, y1 = (float(v) for v in bbox)
        cond = cond & (ds.field("bbox", "xmax") >= x0) & (ds.field("bbox", "xmin") <= x1) \
            & (ds.field("bbox", "ymax") >= y0) & (ds.field("bbox", "ymin") <= y1)
    cols = None
    if columns is not None:
        cols = list(dict.fromkeys([*columns, "geometry"]))
    table = dataset.to_table(columns=cols, filter=cond)
    if "bbox" in table.column_names:
        table = table.drop(["bbox"])
    return _from_geoparquet_table(table, dataset.schema.metadata or {})


def _from_geoparquet_table(table, metadata):
    """A GeoParquet Arrow table (WKB ``geometry``; CRS from the ``geo`` metadata) as a GeoDataFrame."""
    import json

    import geopandas as gpd
    import shapely
    from pyproj import CRS

    crs = "EPSG:27700"
    geo = json.loads(metadata.get(b"geo", b"{}") or b"{}")
    projjson = geo.get("columns", {}).get("geometry", {}).get("crs")
    if projjson:
        crs = CRS.from_json_dict(projjson)
        crs = f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else crs
    df = table.drop(["geometry"]).to_pandas()
    geom = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geom, crs=crs, index=df.index))
