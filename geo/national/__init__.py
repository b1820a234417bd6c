"""National scale: all forces' police.uk archive on a dask.distributed cluster.

``python -m geo national --archive PATH --out DIR`` (or :func:`run_national`) reads the
police.uk archive for every force (``YYYY-MM/YYYY-MM-<force>-street.csv`` in a folder or
zip) in batches of files (one month's files up to a size) per task, writes partitioned GeoParquet (by force and month, with bbox
covering columns), reduces per-force, per-BCU and per-LSOA monthly harm panels, finds Gi*
and emerging hot spots per force on the national grid and, given a workspace, monitors
harm in the rings around its registered operations across force lines.

Modules: :mod:`~geo.national.archive` (one file -> partitions), :mod:`~geo.national.panels`
(the panels and coverage), :mod:`~geo.national.forces` (per-force and per-operation tasks),
:mod:`~geo.national.pipeline` (the dask client and the run), :mod:`~geo.national.query`
(reading the points back: lazily with dask-geopandas, or one BCU-year).
"""
from __future__ import annotations

from .archive import Batch, Source, list_sources, make_batches, partition_batch, partition_source
from .panels import panel, read_aggregates
from .pipeline import NationalResult, connect, run_national
from .query import bcu_year, national_points, point_files

__all__ = ["Batch", "NationalResult", "Source", "bcu_year", "connect", "list_sources", "make_batches",
           "national_points", "panel", "partition_batch", "partition_source", "point_files", "read_aggregates", "run_national"]
