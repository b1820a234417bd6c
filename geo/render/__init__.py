"""Presentation shared by the dashboard, the HTML report and the PDFs.

:mod:`geo.render.palette` holds every class colour the product draws (one dict per
family); :mod:`geo.render.static_maps` is the one matplotlib map renderer (no tiles:
the boundaries are the basemap). Nothing here reads a workspace or imports streamlit,
and neither module imports matplotlib or folium at import time.
"""
