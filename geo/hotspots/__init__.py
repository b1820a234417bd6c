"""Hot spots of drug-market harm: grid counts, kernel density, Getis-Ord Gi*, clusters.

Pure functions over point GeoDataFrames in a projected CRS in metres (e.g. EPSG:27700).
A package: ``grid.py`` (square and hexagonal grids, :func:`grid_counts`,
:func:`auto_cell_size`) with its input checks in ``inputs.py``, ``kde.py`` (:func:`kde`),
``gistar.py`` (:func:`gistar`, :data:`HOTSPOT_LABELS`), ``clusters.py``
(:func:`point_clusters`, :func:`knee_eps`), ``change.py`` (:func:`change_surface`) and
``calls.py`` (:func:`calls_vs_crime`). The multiple-testing correction :func:`fdr_bh` lives
in :mod:`geo.stats` and is re-exported here. ``geo.grid`` and ``geo.kde`` are the same
modules as ``geo.hotspots.grid`` and ``geo.hotspots.kde``.
"""
from __future__ import annotations

from ..stats import fdr_bh
from .calls import CALLS_CRIME_CLASSES, calls_vs_crime
from .change import change_surface
from .clusters import CLUSTER_COLUMNS, auto_eps, check_pair_memory, knee_eps, point_clusters
from .gistar import CORRECTIONS, HOTSPOT_LABELS, gistar
from .grid import GRID_COLUMNS, GridSpec, auto_cell_size, cells_to_array, grid_counts
from .kde import KDEResult, auto_bandwidth, kde

__all__ = [
    "CALLS_CRIME_CLASSES", "CLUSTER_COLUMNS", "CORRECTIONS", "GRID_COLUMNS", "GridSpec", "HOTSPOT_LABELS",
    "KDEResult", "auto_bandwidth", "auto_cell_size", "calls_vs_crime", "cells_to_array", "change_surface",
    "auto_eps", "check_pair_memory", "fdr_bh", "gistar", "grid_counts", "kde", "knee_eps", "point_clusters",
]
