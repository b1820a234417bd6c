"""geo: the analysis core of the harm-focused drug-market mapping product.

Loading (``read_*``), the workspace store, harm weights, the operations register, hot
spots, displacement tests and briefings. Never imports Streamlit.
"""
from .errors import GeoInputError
from .harm import ENFORCEMENT_LABEL, add_harm, in_basket, read_harm_weights, summarise
from .io import ColumnMapping, ReadResult, read_boundaries, read_incidents, read_police_uk, read_sites
from .operations import TACTICS, Operation
from .report import ImportReport
from .settings import Settings, settings
from .stats import e_test, mann_kendall, wdd, wdd_harm, wdq
from .displacement import analyse_operation
from .store import GpkgStore, Store
from .workspace import Workspace
from .emerging import hotspot_emerging
from .hotspots import calls_vs_crime, gistar, grid_counts, kde, point_clusters
from .hotspot_runs import run_hotspots
from .sites import most_exposed, nearest_sites, site_exposure

__all__ = [
    "GeoInputError", "ImportReport", "ReadResult", "ColumnMapping",
    "read_police_uk", "read_incidents", "read_sites", "read_boundaries",
    "Workspace", "Store", "GpkgStore", "Operation", "TACTICS",
    "add_harm", "in_basket", "read_harm_weights", "summarise", "ENFORCEMENT_LABEL",
    "Settings", "settings",
    "wdd", "wdd_harm", "wdq", "e_test", "mann_kendall", "analyse_operation",
    "grid_counts", "kde", "gistar", "point_clusters", "hotspot_emerging", "calls_vs_crime", "run_hotspots",
    "site_exposure", "most_exposed", "nearest_sites",
]
