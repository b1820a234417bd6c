"""Tiny Streamlit app for the escaping browser test: hostile names in Markdown and on a map.

Every text element and map layer the product uses gets the attack strings of issue 10
(``tests/hostile_data.py``): page title, caption, alerts, metric label; choropleth,
points (plain and clustered), sites, boundaries, areas, legend, layer names, and the
results map's hot-spot arrows exactly as ``dashboard/app_pages/operations.py`` builds them,
plus the raw f-string tooltips and popups it used to pass (escaped by ``geo.maps``).
"""
from __future__ import annotations

import folium
import geopandas as gpd
import streamlit as st
from shapely.geometry import Point, box
from streamlit_folium import st_folium

from geo import maps, safe
from tests.hostile_data import CATEGORY, OPERATION, SITE, WARD, WORKSPACE

st.set_page_config(page_title="Escaping", layout="wide")
st.title(f"Map · {safe.md(WORKSPACE)}")
st.caption(f"Workspace **{safe.md(WORKSPACE)}** · file {safe.md_code('x`y.gpkg')}")
st.warning(safe.md(f"2 categories in the data have no weight: {CATEGORY}, {OPERATION}."))
st.metric(safe.md(f"Harm near {SITE}"), "12")

X0, Y0, CELL = 429_000, 433_000, 250  # Leeds, metres
NAMES = [SITE, WARD, OPERATION, CATEGORY]
cells = gpd.GeoDataFrame(
    {"name": NAMES, "harm": [10.0, 20.0, 30.0, 40.0], "count": [1, 2, 3, 4]},
    geometry=[box(X0 + i * CELL, Y0, X0 + (i + 1) * CELL, Y0 + CELL) for i in range(4)], crs="EPSG:27700")
points = gpd.GeoDataFrame(
    {"category": NAMES * 3, "month": ["2024-01"] * 12, "location": [SITE] * 12},
    geometry=[Point(X0 + 80 * i, Y0 + 600) for i in range(12)], crs="EPSG:27700")
sites = gpd.GeoDataFrame(
    {"name": [SITE, WARD], "kind": ["pharmacy", "school"]},
    geometry=[Point(X0 + 300, Y0 + 400), Point(X0 + 700, Y0 + 400)], crs="EPSG:27700")

m = maps.base_map(maps.wgs84_bounds(cells, points))
maps.add_choropleth(m, cells, "harm", name=f"Harm by {WARD}", label="Harm (CCHI days)",
                    tooltip_fields=["name", "count"])
maps.add_points(m, points, name="Incidents", color_by="category", tooltip_fields=["category", "location"])
maps.add_points(m, points, name="Calls", tooltip_fields=["category", "location"], max_points=5)  # clustered
maps.add_sites(m, sites, buffers_m=(200,))
maps.add_boundaries(m, cells, name="Wards", name_col="name")
maps.add_areas(m, cells.iloc[[2]], name=f"Operation {OPERATION}", name_col="name")
maps.add_legend(m, f"Results {SITE}", [("#d62728", f"Possible displacement near {SITE}")])

# The results map's hot spot moves (dashboard/app_pages/operations.py), flag naming the site.
moves = folium.FeatureGroup(name="Hot spot moves")
a, b = [(p.y, p.x) for p in gpd.GeoSeries([Point(X0, Y0 + 900), Point(X0 + 900, Y0 + 900)],
                                          crs="EPSG:27700").to_crs(4326)]
flag = f"displacement towards a pharmacy ({SITE}, 224 m)"
folium.PolyLine([a, b], color="#d62728", weight=3, tooltip=safe.tooltip(f"224 m: {flag}")).add_to(moves)
folium.CircleMarker(b, radius=7, tooltip=safe.tooltip("new hot spot: " + flag)).add_to(moves)
# What the page passed before the fix: raw f-strings (now escaped by the offline map).
folium.PolyLine([a, b], color="#111", weight=3, tooltip=f"224 m: {flag}").add_to(moves)
folium.CircleMarker(a, radius=7, tooltip="new hot spot: " + flag, popup=f"Flag: {flag} `${{1}}` \\").add_to(moves)
moves.add_to(m)
maps.finish(m)
st_folium(m, returned_objects=[], height=500, use_container_width=True)
