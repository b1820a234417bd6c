"""geo: the analysis core of the harm-focused drug-market mapping product.

Loading (``read_*``), the workspace store, harm weights, the operations register, hot
spots, displacement tests and briefings. Never imports Streamlit.

The public names below are re-exported lazily: ``import geo`` loads only the error type
and the settings, and ``geo.gistar`` (or ``from geo import gistar``) imports
``geo.hotspots`` the first time it is used. So ``python -m geo --help`` answers at once,
and nothing pays for pandas, scipy or geopandas before it needs them. Submodules are
reachable the same way (``geo.hotspots`` after ``import geo``).
"""
from __future__ import annotations

import importlib

from .errors import GeoInputError
from .settings import Settings, settings

# public name -> the module (under geo) that defines it
_LAZY = {
    "ImportReport": "report",
    "ColumnMapping": "io", "ReadResult": "io",
    "read_police_uk": "io", "read_incidents": "io", "read_sites": "io", "read_boundaries": "io",
    "Workspace": "workspace", "default_layer": "workspace",
    "result_key": "stored_results", "pack_result": "stored_results", "unpack_result": "stored_results",
    "published_key": "stored_results", "load_stored": "stored_results", "keep_stored": "stored_results",
    "has_stored": "stored_results",
    "incidents_key": "stored_frames", "pack_frame": "stored_frames", "unpack_frame": "stored_frames",
    "load_frame": "stored_frames", "keep_frame": "stored_frames",
    "Store": "store", "GpkgStore": "store", "StoreError": "store", "open_store": "store",
    "PostgisStore": "store.postgis",
    "Operation": "operations", "TACTICS": "operations",
    "add_harm": "harm", "in_basket": "harm", "read_harm_weights": "harm", "summarise": "harm",
    "ENFORCEMENT_LABEL": "harm",
    "wdd": "stats", "wdd_harm": "stats", "wdq": "stats", "e_test": "stats", "mann_kendall": "stats",
    "analyse_operation": "displacement", "ANALYSIS_COLUMNS": "displacement",
    "grid_counts": "hotspots", "kde": "hotspots", "gistar": "hotspots", "point_clusters": "hotspots",
    "calls_vs_crime": "hotspots",
    "hotspot_emerging": "emerging",
    "run_hotspots": "hotspot_runs", "hotspot_table": "hotspot_runs", "hotspot_layer_data": "hotspot_runs",
    "bundle_key": "stored_hotspots", "page_defaults": "stored_hotspots",
    "make_token": "sessions", "read_token": "sessions",
    "column_label": "labels", "readable": "labels",
    "site_exposure": "sites", "exposure_near_hotspots": "sites", "most_exposed": "sites", "nearest_sites": "sites",
    "points_inside": "geometry",
    "install_mbtiles": "tiles", "mbtiles_info": "tiles",
    "site_kind": "site_kinds", "site_label": "site_kinds", "sensitive_sites": "site_kinds",
    "area_trend": "trends", "published_trend": "trends", "trend_sentences": "panels",
    "run_national": "national",
}

__all__ = ["GeoInputError", "Settings", "settings", *_LAZY]


def __getattr__(name: str):
    """Import a re-exported name's module (or a submodule) on first use."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value  # later look-ups are plain attribute reads
        return value
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise  # the submodule exists but one of its imports is missing
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
