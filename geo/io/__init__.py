"""Readers: police.uk street crime, incidents/calls, sensitive sites and boundaries.

Every reader returns a :class:`ReadResult`: a GeoDataFrame in the analysis CRS holding
the rows that were kept (with a ``status`` column: ``mapped``, ``no_location`` or
``outside_area``) and an :class:`~geo.report.ImportReport` that accounts for every row
read. A file that cannot be read as a whole (wrong columns, delimiter or encoding, an
empty file, a stop-and-search file given as street crime, swapped coordinates or a wrong
CRS) raises :class:`~geo.errors.GeoInputError` naming the file, the row or column, and
the fix; nothing is returned, so nothing reaches the workspace.

One module per reader (``police_uk``, ``incidents``, ``sites``, ``boundaries``), with the
CSV plumbing in ``csvread``, date parsing in ``dates`` and the coordinate and plausibility
checks in ``checks``. The public names are re-exported here: ``from geo.io import
read_police_uk``.
"""
from __future__ import annotations

from .boundaries import read_boundaries
from .csvread import BOUNDARY_LEVELS, INCIDENT_COLUMNS, SITE_KINDS, UK_LONLAT_BOX, ReadResult, check_archive
from .dates import MIN_DATE, ParsedDates, parse_timestamps
from .incidents import ColumnMapping, read_incidents
from .police_uk import ASB_IDENTITY_COLUMNS, POLICE_UK_CATEGORIES, POLICE_UK_STREET_COLUMNS, read_police_uk
from .sites import read_sites

__all__ = [
    "read_police_uk", "read_incidents", "read_sites", "read_boundaries", "ReadResult", "ColumnMapping",
    "check_archive", "parse_timestamps", "ParsedDates", "MIN_DATE",
    "POLICE_UK_STREET_COLUMNS", "POLICE_UK_CATEGORIES", "ASB_IDENTITY_COLUMNS",
    "UK_LONLAT_BOX", "INCIDENT_COLUMNS", "SITE_KINDS", "BOUNDARY_LEVELS",
]
