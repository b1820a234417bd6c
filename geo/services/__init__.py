"""Services: the only functions that take a workspace, each with the user asking.

Every read and write that a dashboard page (through ``dashboard/data.py``) or the command
line makes goes through here, with the signed-in user (a :class:`geo.auth.User`; reads
also accept a scope key ``(role, bcus)``, which is what a scoped cache is keyed by).
:mod:`geo.access` trims or refuses here, and every write records its audit entry here,
with the user, in the same call::

    pages -> dashboard.data (caches) -> geo.services -> geo.access, geo.workspace / store
    geo.cli                          -> geo.services -> ...

``where`` is a workspace path or an open :class:`~geo.workspace.Workspace` (left open).

Modules
-------
``core``        opening a workspace, identities (``cli_user``), the audit log, settings, harm table, imports
``reads``       incidents, boundaries, sites, the partner published figures, briefing areas
``operations``  the operations register and results analysis
``products``    hot spots, site exposure, the Hotspots page's default runs kept in the workspace, briefings
``views``       the Area summary's trends, the Map page's frame/units/sites, the national panels, store version
"""
from __future__ import annotations

from .core import (LOCAL_OPERATOR_ROLE, audit_log, change_settings, cli_user, create_workspace, import_files,
                   import_history, import_report, import_upload, opened, record, rejected_rows,
                   restore_harm_defaults, save_harm_table, workspace_info)
from .operations import (analyse_operation, analysis_default_steps, analysis_incidents, check_analysis,
                         delete_operation, get_operation, list_operations, operation_areas, operation_bcus,
                         operation_report, save_operation)
from .products import (briefing_area, build_briefing, calls_vs_crime, find_hotspots, hotspot_bundle,
                       hotspot_default_steps, hotspot_default_steps_all, hotspot_defaults, hotspot_inputs, hotspot_site_exposure,
                       keep_hotspot_defaults, run_calibration, stored_hotspots, write_briefing)
from .reads import (bcus, boundaries, briefing_units, force_area, harm_table, incidents, incidents_frame_steps,
                    partner_categories, partner_published, partner_units, sites)
from .views import (area_trend, map_boundaries, map_frame, map_sites, map_units, may_see_monthly,
                    national_view, published_trend, store_version, trend_units)

__all__ = [
    "LOCAL_OPERATOR_ROLE", "opened", "cli_user", "record", "audit_log", "workspace_info", "create_workspace",
    "change_settings", "save_harm_table", "restore_harm_defaults", "import_files", "import_upload",
    "import_history", "import_report", "rejected_rows",
    "incidents", "incidents_frame_steps", "boundaries", "bcus", "force_area", "sites", "harm_table",
    "partner_published", "partner_units", "partner_categories", "briefing_units",
    "operation_areas", "operation_bcus", "list_operations", "get_operation", "save_operation", "delete_operation",
    "check_analysis", "analyse_operation", "analysis_incidents", "operation_report",
    "hotspot_inputs", "hotspot_defaults", "find_hotspots", "hotspot_site_exposure", "calls_vs_crime",
    "stored_hotspots", "hotspot_bundle", "hotspot_default_steps", "hotspot_default_steps_all",
    "keep_hotspot_defaults", "analysis_default_steps",
    "briefing_area", "build_briefing", "write_briefing", "run_calibration",
    "store_version", "may_see_monthly", "trend_units", "area_trend", "published_trend", "map_frame", "map_units",
    "map_boundaries", "map_sites", "national_view",
]
