"""Presentation shared by the dashboard, the HTML report and the PDFs.

:mod:`geo.render.palette` holds every class colour the product draws (one dict per
family); :mod:`geo.render.static_maps` is the one matplotlib map renderer (no tiles:
the boundaries are the basemap). The folium maps live in :mod:`geo.render.map_assets`
(vendored assets, escaping, standalone export), :mod:`geo.render.maps` (base map,
helpers, legends) and :mod:`geo.render.map_layers` (the layers), re-exported by
:mod:`geo.maps`. Nothing here reads a workspace or imports streamlit; ``palette`` and
``static_maps`` import neither matplotlib nor folium at import time (the folium modules
are loaded only where a map is built).
"""
