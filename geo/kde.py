"""Kernel density surfaces: the module :mod:`geo.hotspots.kde`, under its old name.

``geo.kde`` *is* ``geo.hotspots.kde`` (the same module object); new code imports from
:mod:`geo.hotspots.kde`.
"""
from __future__ import annotations

import importlib
import sys

# importlib, not "from .hotspots import kde": the package binds that name to a function
sys.modules[__name__] = importlib.import_module("geo.hotspots.kde")
