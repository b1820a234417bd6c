"""Tiny Streamlit app for the offline-map browser tests.

Builds one map with every ``geo.maps`` layer from hard-coded shapes near Leeds
(British National Grid). ``?points=N`` draws N crime points instead of 40, so a test
can push the layer past ``max_points`` and check marker clustering.
The vendored assets come through ``static/``, a symlink to ``dashboard/static``.
"""
from __future__ import annotations

import numpy as np
import geopandas as gpd
import streamlit as st
from shapely.geometry import Point, box
from streamlit_folium import st_folium

from geo import maps

st.set_page_config(page_title="Map demo", layout="wide")
n_points = int(st.query_params.get("points", 40))
MAX_POINTS = 500

X0, Y0, CELL = 429_000, 433_000, 250  # Leeds city centre, metres
rng = np.random.default_rng(7)

cells = gpd.GeoDataFrame(
    {"harm": rng.gamma(1.5, 40, 48).round(), "cell": [f"C{i:02d}" for i in range(48)]},
    geometry=[box(X0 + i * CELL, Y0 + j * CELL, X0 + (i + 1) * CELL, Y0 + (j + 1) * CELL)
              for j in range(6) for i in range(8)],
    crs="EPSG:27700",
)
beats = gpd.GeoDataFrame(
    {"beat": ["Beat North", "Beat South"]},
    geometry=[box(X0, Y0 + 3 * CELL, X0 + 8 * CELL, Y0 + 6 * CELL),
              box(X0, Y0, X0 + 8 * CELL, Y0 + 3 * CELL)],
    crs="EPSG:27700",
)
operations = gpd.GeoDataFrame(
    {"name": ["Op Example"]},
    geometry=[box(X0 + 2 * CELL, Y0 + 2 * CELL, X0 + 5 * CELL, Y0 + 4 * CELL)],
    crs="EPSG:27700",
)
sites = gpd.GeoDataFrame(
    {"kind": ["school", "treatment", "bail hostel", "pharmacy", "hostel"],
     "name": ["Park Primary", "Drug service", "Approved premises", "Chemist", "Shelter"]},
    geometry=[Point(X0 + 400, Y0 + 1200), Point(X0 + 1300, Y0 + 600),
              Point(X0 + 1700, Y0 + 1300), Point(X0 + 900, Y0 + 300),
              Point(X0 + 600, Y0 + 700)],
    crs="EPSG:27700",
).to_crs(4326)  # geographic on purpose: buffers must still be in metres
xy = rng.uniform([X0, Y0], [X0 + 8 * CELL, Y0 + 6 * CELL], size=(n_points, 2))
crimes = gpd.GeoDataFrame(
    {"type": rng.choice(["Violence", "Robbery", "Public order"], n_points)},
    geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
    crs="EPSG:27700",
)

m = maps.base_map(maps.wgs84_bounds(cells))
maps.add_choropleth(m, cells, "harm", name="Harm (grid)", label="Harm (CCHI days)",
                    tooltip_fields=["cell"])
maps.add_areas(m, operations, name="Operation areas", name_col="name")
maps.add_boundaries(m, beats, name="Beats", name_col="beat")
maps.add_points(m, crimes, name="Crimes", color_by="type", tooltip_fields=["type"],
                max_points=MAX_POINTS)
maps.add_sites(m, sites, buffers_m=(200, 400))
maps.add_draw(m)
maps.finish(m)

st.title("Map demo")
st_folium(m, returned_objects=[], height=500, use_container_width=True)
