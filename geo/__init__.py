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
from .store import GpkgStore, Store
from .workspace import Workspace

__all__ = [
    "GeoInputError", "ImportReport", "ReadResult", "ColumnMapping",
    "read_police_uk", "read_incidents", "read_sites", "read_boundaries",
    "Workspace", "Store", "GpkgStore", "Operation", "TACTICS",
    "add_harm", "in_basket", "read_harm_weights", "summarise", "ENFORCEMENT_LABEL",
    "Settings", "settings",
]
