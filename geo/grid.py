"""Regular square and hexagonal grids: the module :mod:`geo.hotspots.grid`, under its old name.

``geo.grid`` *is* ``geo.hotspots.grid`` (the same module object, so a setting patched on
one is seen by the other); new code imports from :mod:`geo.hotspots.grid`.
"""
from __future__ import annotations

import importlib
import sys

sys.modules[__name__] = importlib.import_module("geo.hotspots.grid")
