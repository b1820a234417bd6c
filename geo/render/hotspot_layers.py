"""The folium layer of a hot-spot result: classes coloured from the shared palette, a legend, tooltips.

:func:`add_hotspot_layer` draws a :class:`geo.hotspot_runs.HotspotRun` layer (or a
:func:`geo.hotspots.calls_vs_crime` result) on a map from :func:`geo.maps.base_map`;
:data:`TOOLTIPS` names the fields each method's tooltip shows; :func:`hotspot_layer_data` is the
layer as data (:class:`geo.render.filled_layers.FilledLayer`: made once, kept with the page's default
runs, then only drawn). Colours come from :mod:`geo.render.palette`; folium is imported only when a
layer is made or drawn (through :mod:`geo.render.filled_layers`, inside the functions).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from . import palette

if TYPE_CHECKING:
    import geopandas as gpd

    from .filled_layers import FilledLayer

logger = logging.getLogger(__name__)

__all__ = ["TOOLTIPS", "add_hotspot_layer", "hotspot_layer_data"]

#: Tooltip fields (column, label) per method key.
TOOLTIPS: dict[str, list[tuple[str, str]]] = {
    "gistar": [("class", "Class"), ("n", "Incidents"), ("harm", "Harm"), ("gistar", "Gi* z"),
               ("p_adj", "p (FDR)")],
    "kde": [("class", "Class"), ("intensity_km2", "Per km² (smoothed)")],
    "dbscan": [("cluster_id", "Cluster"), ("n", "Incidents"), ("harm", "Harm"),
               ("top_categories", "Main types")],
    "emerging": [("class", "Pattern"), ("simple_class", "Simple class"),
                 ("n_series", "Incidents per period"), ("trend", "Trend of Gi*"),
                 ("harm", "Harm")],
    "calls_vs_crime": [("class", "Class"), ("n_calls", "Calls"), ("n_crime", "Crimes"),
                       ("hotspot_calls", "Calls Gi*"), ("hotspot_crime", "Crime Gi*")],
}
TOOLTIPS["hdbscan"] = TOOLTIPS["dbscan"]


def add_hotspot_layer(m, layer: gpd.GeoDataFrame | FilledLayer, *, classes, method: str, name: str,
                      title: str, column: str = "class", max_polygons: int = 4000,
                      opacity: float = 0.7, merge_cells: bool | None = None):
    """Draw the significant classes of a hot-spot layer with a legend.

    ``layer`` may be the layer's data already made by :func:`hotspot_layer_data` with the same
    ``classes``, ``method``, ``column``, ``max_polygons`` and ``merge_cells`` (e.g. kept with the
    Hotspots page's default runs, :mod:`geo.stored_hotspots`): it is then only drawn.

    Only rows whose ``column`` is in ``classes`` are drawn, hot reds and cold blues from
    :data:`geo.render.palette.CLASS_COLORS`; the legend lists the classes present with
    their number of cells. Above ``max_polygons`` polygons, cells of a class are merged into one
    polygon per class (the tooltips then give the class and its number of cells), so
    the page stays responsive however fine the grid.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`geo.maps.base_map`.
    layer : geopandas.GeoDataFrame or geo.render.filled_layers.FilledLayer
        E.g. ``geo.hotspot_runs.HotspotRun.layer`` or a
        :func:`geo.hotspots.calls_vs_crime` result; or :func:`hotspot_layer_data` of one.
    classes : sequence of str
        Classes to draw, in legend order.
    method : str
        Key of the tooltip fields (a :data:`geo.hotspot_runs.METHODS` key or
        ``"calls_vs_crime"``).
    name, title : str
        Layer name in the layer control, and legend title.
    column : str
        Class column.
    max_polygons : int
        Merge polygons above this many.
    opacity : float
        Fill opacity.
    merge_cells : bool, optional
        Draw each connected patch of cells of one class as one polygon (:func:`_merged_cells`;
        its tooltip: the class, its number of cells and their range of values). Default: for
        ``method="kde"`` (a smoothed surface classed by its top 1/5/10 %: the bands are what
        it shows, and a force's 2,500 top cells were 0.8 MB sent to the browser per switch).
        The legend still counts cells.

    Returns
    -------
    folium.FeatureGroup
        The layer, already added to ``m`` (with its legend).
    """
    from .filled_layers import FilledLayer, draw_filled
    if not isinstance(layer, FilledLayer):
        layer = hotspot_layer_data(layer, classes=classes, method=method, column=column,
                                   max_polygons=max_polygons, merge_cells=merge_cells)
    return draw_filled(m, layer, name=name, title=title, opacity=opacity)


def hotspot_layer_data(layer: gpd.GeoDataFrame, *, classes, method: str, column: str = "class",
                       max_polygons: int = 4000, merge_cells: bool | None = None) -> FilledLayer:
    """What :func:`add_hotspot_layer` draws, as data: the shown polygons (WGS84, simplified for display)
    with their colours and escaped tooltip texts, and the legend's rows.

    No folium object and no function: it can be pickled and kept (:mod:`geo.stored_hotspots`), and
    drawing it needs no geometry work. Parameters as :func:`add_hotspot_layer`.

    Returns
    -------
    geo.render.filled_layers.FilledLayer
    """
    from .filled_layers import category_layer

    shown = layer[layer[column].astype(str).isin(list(classes))].copy()
    shown["_cls"] = shown[column].astype(str)
    present = [c for c in classes if (shown["_cls"] == c).any()]
    counts = shown["_cls"].value_counts()
    fields = [(f, lab) for f, lab in TOOLTIPS.get(method, [("class", "Class")])
              if f in shown.columns or f == "class"]
    if column != "class":
        fields = [(column, "Class")] + [(f, lab) for f, lab in fields if f != "class"]
    if merge_cells is None:
        merge_cells = method == "kde"
    if merge_cells and len(shown) and len(shown) <= max_polygons:
        shown = _merged_cells(shown, "_cls", value="intensity_km2" if "intensity_km2" in shown else None)
        shown[column] = shown["_cls"]
        fields = [(column, "Class"), ("cells", "Cells")] + (
            [("intensity_range", "Per km² (smoothed)")] if "intensity_range" in shown else [])
    elif len(shown) > max_polygons:
        logger.info("%s polygons > %s: merged by class for the map", len(shown), max_polygons)
        shown = shown.dissolve(by="_cls", as_index=False)[["_cls", "geometry"]]
        shown["cells"] = shown["_cls"].map(counts).astype(int)
        shown[column] = shown["_cls"]
        fields = [(column, "Class"), ("cells", "Cells")]
    fmt = {f: "{:,.3g}" for f in ("gistar", "p_adj", "intensity_km2")}
    fmt.update({f: "{:,.0f}" for f in ("harm", "n", "n_calls", "n_crime", "cells")})
    items = palette.legend_items(palette.CLASS_COLORS, present, counts=counts)
    return category_layer(shown, "_cls", {c: palette.class_color(c) for c in classes}, tooltip_fields=fields,
                          formats=fmt, legend_items=items or [(palette.LINE_COLORS["none"], "None significant")])


def _merged_cells(cells: gpd.GeoDataFrame, column: str, *, value: str | None = None) -> gpd.GeoDataFrame:
    """The connected patches of grid cells of each class of ``column``, one polygon each.

    Cells of one class that share an edge or a corner are merged into one polygon (the
    union of their squares or hexagons: the same area, drawn with a few outlines instead
    of one per cell).

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        Grid cells (polygons in a projected CRS), one class each in ``column``.
    column : str
        Class column.
    value : str, optional
        A numeric column summarised per patch as ``intensity_range`` ("1,204 – 3,377", or one value).

    Returns
    -------
    geopandas.GeoDataFrame
        ``column``, ``cells`` (number of cells in the patch), ``intensity_range`` (with
        ``value``) and ``geometry``, largest patches first within each class, in the CRS of ``cells``.
    """
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    parts = []
    for cls, group in cells.groupby(column, sort=False, observed=True):
        geoms = group.geometry.to_numpy()
        union = shapely.get_parts(shapely.union_all(geoms))
        # each cell's patch: the patch holding an interior point of the cell
        tree = shapely.STRtree(union)
        cell_idx, patch_idx = tree.query(shapely.point_on_surface(geoms), predicate="intersects")
        first = np.full(len(geoms), -1)
        first[cell_idx[::-1]] = patch_idx[::-1]  # one patch per cell (the first that holds it)
        n = np.bincount(first, minlength=len(union))
        out = {column: cls, "cells": n, "geometry": union}
        if value is not None:
            vals = group[value].to_numpy(dtype=float)
            lo = np.full(len(union), np.inf)
            hi = np.full(len(union), -np.inf)
            np.minimum.at(lo, first, vals)
            np.maximum.at(hi, first, vals)
            out["intensity_range"] = [f"{a:,.3g}" if a == b else f"{a:,.3g} – {b:,.3g}" for a, b in zip(lo, hi)]
        parts.append(gpd.GeoDataFrame(out, geometry="geometry", crs=cells.crs).sort_values("cells", ascending=False))
    if not parts:
        return gpd.GeoDataFrame({column: [], "cells": [], "geometry": []}, geometry="geometry", crs=cells.crs)
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=cells.crs)
