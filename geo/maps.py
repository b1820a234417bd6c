"""Folium map builders that work with no internet (a re-export of :mod:`geo.render`).

The code lives in three modules: :mod:`geo.render.map_assets` (vendored Leaflet and
plugins, escaping of raw folium text, standalone export), :mod:`geo.render.maps` (the
base map, its helpers and legends) and :mod:`geo.render.map_layers` (the layers). This
module keeps ``from geo import maps`` working for the pages, the CLI and the tests.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> cells = gpd.GeoDataFrame({"harm": [3.0, 12.0]},
...     geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs="EPSG:27700")
>>> m = base_map(wgs84_bounds(cells))
>>> _ = add_choropleth(m, cells, "harm", name="Harm", label="Harm (CCHI days)")
>>> html = finish(m).get_root().render()
>>> "http://" in html or "https://" in html
False
"""
from __future__ import annotations

from geo.render.map_assets import (LOCAL_ASSETS, VENDOR_DIR, OfflineMap, escape_raw_text, inline_assets,
                                   localize, render_standalone)
from geo.render.map_layers import (SITE_COLORS, add_areas, add_boundaries, add_categories, add_choropleth,
                                   add_draw, add_labels, add_points, add_sites, site_kind)
from geo.render.maps import (DISPLAY_SIMPLIFY_M, PANES, add_legend, base_map, dynamic_layers, finish,
                             layer_control, swappable, swapping, wgs84_bounds)

__all__ = [
    "DISPLAY_SIMPLIFY_M",
    "LOCAL_ASSETS",
    "OfflineMap",
    "PANES",
    "SITE_COLORS",
    "VENDOR_DIR",
    "add_areas",
    "add_boundaries",
    "add_categories",
    "add_choropleth",
    "add_draw",
    "add_labels",
    "add_legend",
    "add_points",
    "add_sites",
    "base_map",
    "dynamic_layers",
    "escape_raw_text",
    "finish",
    "inline_assets",
    "layer_control",
    "localize",
    "render_standalone",
    "site_kind",
    "swappable",
    "swapping",
    "wgs84_bounds",
]
