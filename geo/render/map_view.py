"""What a map shows: its frame, the sensitive sites drawn at first, and the table behind it.

Pure functions over frames (no folium, no workspace), used by the Map page and its
exports, so the page stays "read widgets -> call -> render".
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import safe
from geo.errors import GeoInputError
from geo.render import palette
from geo.render.static_maps import StaticMap
from geo.settings import settings

__all__ = ["classes_png", "display_units", "published_png", "shown_table", "sites_in_view", "static_map_png",
           "view_area"]


def view_area(bcus: gpd.GeoDataFrame, *, force: str | None = None, scope=None) -> gpd.GeoDataFrame:
    """The polygons a map is framed on: the user's own area, else the force's BCUs.

    Parameters
    ----------
    bcus : GeoDataFrame
        BCU polygons (all forces) with ``force``.
    force : str, optional
        The workspace's force; its BCUs are the frame of a user who may see all of it.
    scope : shapely geometry, optional
        The area the user is limited to (:func:`geo.access.scope_area`), e.g. an
        inspector's BCU: the map is framed on it, not on the force.

    Returns
    -------
    GeoDataFrame
        One or more polygons in the CRS of `bcus` (empty if `bcus` is empty and there is
        no scope: frame on the data instead).
    """
    if scope is not None and not scope.is_empty:
        return gpd.GeoDataFrame(geometry=[scope], crs=bcus.crs)
    if force and "force" in bcus.columns and (bcus["force"] == force).any():
        return bcus[bcus["force"] == force]
    return bcus


def sites_in_view(sites: gpd.GeoDataFrame, area: gpd.GeoDataFrame, *, kinds: Iterable[str] | None = None,
                  kind_col: str = "kind") -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Sensitive sites inside `area`, split into the kinds drawn at first and the rest.

    Parameters
    ----------
    sites : GeoDataFrame
        Sites with a `kind_col`.
    area : GeoDataFrame
        The map's frame (:func:`view_area`), same CRS.
    kinds : iterable of str, optional
        Kinds drawn at first; default ``settings.map_site_kinds`` (schools and drug
        treatment services). A kind matches if it contains one of these words, case and
        underscores ignored ("Primary school" is a school).
    kind_col : str, default "kind"

    Returns
    -------
    (GeoDataFrame, GeoDataFrame)
        Sites of `kinds` inside `area`, and every other site inside it.

    Raises
    ------
    GeoInputError
        If `sites` lacks `kind_col` or the two frames' CRSs differ.
    """
    if kind_col not in sites.columns:
        raise GeoInputError(f"The sites have no column {kind_col!r}", where=", ".join(map(str, sites.columns)),
                            fix="import sites with a kind column (school, treatment, ...)")
    if len(sites) and len(area) and sites.crs != area.crs:
        raise GeoInputError(f"Sites ({sites.crs}) and the map area ({area.crs}) are in different CRSs",
                            fix="reproject one to the other's CRS first")
    inside = sites
    if len(area) and len(sites):
        inside = sites[sites.intersects(area.union_all())]
    words = [k.lower().replace("_", " ") for k in (settings.map_site_kinds if kinds is None else kinds)]
    kind = inside[kind_col].astype(str).str.lower().str.replace("_", " ")
    first = np.array([any(w in k for w in words) for k in kind], dtype=bool)
    return inside[first], inside[~first]


def display_units(units: gpd.GeoDataFrame, shapes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``units`` (polygons with ``code``) drawn with the display shapes of the same codes, e.g. the Map's
    choropleth with the boundaries already simplified and in WGS84 (``services.map_boundaries``, made once
    per data version), so a filter change does not simplify and project the same polygons again.

    The shapes are what :func:`geo.render.maps.to_wgs84` would make of ``units`` (the same function made
    them); where any code of ``units`` has no shape, ``units`` is returned unchanged (drawn as before).

    Examples
    --------
    >>> import shapely
    >>> u = gpd.GeoDataFrame({"code": ["a", "b"], "harm": [1.0, 2.0]},
    ...                      geometry=[shapely.box(0, 0, 1, 1)] * 2, crs=27700)
    >>> s = gpd.GeoDataFrame({"code": ["b", "a"]}, geometry=[shapely.Point(1, 1), shapely.Point(0, 0)], crs=4326)
    >>> out = display_units(u, s)
    >>> out.crs.to_epsg(), list(out.geometry.x), list(out["harm"])
    (4326, [0.0, 1.0], [1.0, 2.0])
    >>> display_units(u, s.iloc[:1]) is u
    True
    """
    if shapes is None or not len(units) or "code" not in units or "code" not in shapes:
        return units
    by_code = shapes.drop_duplicates("code").set_index("code").geometry
    geoms = by_code.reindex(units["code"].to_numpy())
    if geoms.isna().any():
        return units
    return units.set_geometry(gpd.GeoSeries(geoms.to_numpy(), index=units.index, crs=shapes.crs))


def shown_table(layers: Mapping[str, gpd.GeoDataFrame], *, decimals: int = 5) -> pd.DataFrame:
    """One table of every layer a map shows, for its CSV download.

    Parameters
    ----------
    layers : mapping of layer name -> GeoDataFrame
        E.g. ``{"Harm by LSOA": units, "Calls for service": calls, "Sensitive sites": sites}``;
        empty frames are skipped.
    decimals : int, default 5
        Decimal places of the longitude/latitude columns (5: about 1 m).

    Returns
    -------
    pandas.DataFrame
        ``map layer`` first, then every column of every layer (blank where a layer lacks it),
        with ``longitude``/``latitude`` (WGS84) for points and no geometry.
    """
    parts = []
    for name, gdf in layers.items():
        if gdf is None or not len(gdf):
            continue
        part = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        if gdf.crs is not None and (gdf.geom_type == "Point").all():
            lonlat = gdf.geometry.to_crs(4326)
            part["longitude"] = lonlat.x.round(decimals).to_numpy()
            part["latitude"] = lonlat.y.round(decimals).to_numpy()
        part.insert(0, "map layer", name)
        parts.append(part)
    if not parts:
        return pd.DataFrame({"map layer": []})
    return pd.concat(parts, ignore_index=True, sort=False)


def static_map_png(layers: Mapping[str, gpd.GeoDataFrame], *, frame: gpd.GeoDataFrame,
                   outlines: gpd.GeoDataFrame | None = None, value_col: str = "harm", title: str = "") -> bytes:
    """The map as a PNG (no tiles; the outlines are the basemap), for a document or an e-mail.

    Layers are drawn by what they hold, in the interactive map's order: polygons with a
    ``class`` column as hot-spot classes, other polygons as a choropleth of `value_col`,
    then `outlines`, then points with a ``kind`` column as sensitive sites, then every
    other point layer (crime, calls) on top.

    Parameters
    ----------
    layers : mapping of layer name -> GeoDataFrame
        What the map shows (as the Map page's CSV), any CRS.
    frame : GeoDataFrame
        The map's frame (:func:`view_area`), in a projected CRS in metres.
    outlines : GeoDataFrame, optional
        Boundaries drawn as lines (BCUs).
    value_col : str, default "harm"
        Column of the choropleth.
    title : str, default ""
        Shown above the map (escaped for matplotlib).

    Returns
    -------
    bytes
        PNG.

    Raises
    ------
    GeoInputError
        If `frame` is empty or not in a projected CRS.
    """
    if not len(frame) or frame.crs is None or not frame.crs.is_projected:
        raise GeoInputError("A static map needs a frame in a projected CRS (metres)",
                            fix="pass the map's frame in the workspace's CRS")
    crs = frame.crs
    sm = StaticMap(bounds=frame.total_bounds, pad=0.03)
    polys, sites, points = [], [], []
    for name, gdf in layers.items():
        if gdf is None or not len(gdf):
            continue
        g = gdf.to_crs(crs)
        if g.geom_type.isin(["Polygon", "MultiPolygon"]).all():
            polys.append((name, g))
        elif "kind" in g.columns:
            sites.append(g)
        else:
            points.append((name, g))
    for name, g in polys:
        if "class" in g.columns:
            sm.classes(g, "class", palette.HOTSPOT_COLORS)
        elif value_col in g.columns:
            sm.choropleth(g, value_col, label=safe.mpl_text(name))
    sm.fill(frame, "none", edgecolor=palette.BOUNDARY_COLORS["area"], linewidth=1.2)
    if outlines is not None and len(outlines):
        sm.outline(outlines.to_crs(crs), palette.BOUNDARY_COLORS["bcu"], linewidth=0.6)
    for g in sites:
        sm.sites(g, size=8)
    colors = iter(palette.CATEGORY_COLORS)
    for name, g in points:
        color = next(colors, palette.FALLBACK)
        sm.ax.scatter(g.geometry.x, g.geometry.y, s=3, c=color, linewidths=0, zorder=6)
        sm.marker("o", color, safe.mpl_text(name))
    return sm.png(title=safe.mpl_text(title), scale_bar=True, north=True)


def _projected(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """`gdf` in a CRS in metres: its own if projected, else its UTM zone."""
    if gdf.crs is None:
        raise GeoInputError("A static map needs layers with a CRS", fix="set the layer's CRS first")
    return gdf if gdf.crs.is_projected else gdf.to_crs(gdf.estimate_utm_crs())


def classes_png(layer: gpd.GeoDataFrame, *, classes, column: str = "class", title: str = "",
                frame: gpd.GeoDataFrame | None = None, outlines: gpd.GeoDataFrame | None = None,
                sites: gpd.GeoDataFrame | None = None) -> bytes:
    """A hot-spot map as a PNG: the classes drawn on the Hotspots page, no tiles.

    Only rows whose `column` is in `classes` are drawn (as on the interactive map), each
    class in its colour from :data:`geo.render.palette.CLASS_COLORS`, with a legend that
    counts its cells or clusters; then `outlines` (BCUs) and `sites`.

    Parameters
    ----------
    layer : GeoDataFrame
        Hot-spot polygons (a :class:`geo.hotspot_runs.HotspotRun` layer), any CRS.
    classes : sequence of str
        The classes drawn, in legend order.
    column : str, default "class"
        The class column.
    title : str, default ""
        Shown above the map (escaped for matplotlib).
    frame : GeoDataFrame, optional
        What the map is framed on (the user's area); default the drawn cells.
    outlines : GeoDataFrame, optional
        Boundaries drawn as lines.
    sites : GeoDataFrame, optional
        Sensitive sites (with ``kind``) drawn as markers.

    Returns
    -------
    bytes
        PNG.

    Raises
    ------
    GeoInputError
        If `column` is not a column of `layer`, or a frame has no CRS.
    """
    if column not in layer.columns:
        raise GeoInputError(f"The hot-spot layer has no column {column!r}", where=", ".join(map(str, layer.columns)),
                            fix="pass the column the classes are in")
    layer = _projected(layer)
    crs = layer.crs
    drawn = layer[layer[column].astype(str).isin([str(c) for c in classes])]
    area = frame.to_crs(crs) if frame is not None and len(frame) else (drawn if len(drawn) else layer)
    sm = StaticMap(bounds=area.total_bounds, pad=0.03)
    values = drawn[column].astype(str)
    for label in classes:
        sel = drawn[values == str(label)]
        if len(sel):
            colour = palette.class_color(str(label))
            sel.plot(ax=sm.ax, color=colour, linewidth=0)
            sm.patch(colour, f"{safe.mpl_text(label)} ({len(sel):,})")
    if frame is not None and len(frame):
        sm.fill(area, "none", edgecolor=palette.BOUNDARY_COLORS["area"], linewidth=1.2)
    if outlines is not None and len(outlines):
        sm.outline(outlines.to_crs(crs), palette.BOUNDARY_COLORS["bcu"], linewidth=0.6)
    if sites is not None and len(sites):
        sm.sites(sites.to_crs(crs), size=10)
    if not len(drawn):
        sm.ax.text(0.5, 0.5, "No hot spot with these settings", transform=sm.ax.transAxes, ha="center")
    return sm.png(title=safe.mpl_text(title), scale_bar=True, north=True)


def published_png(table: gpd.GeoDataFrame, *, value_col: str, label: str, title: str = "",
                  suppressed_label: str = "a count below the threshold") -> bytes:
    """A partner's area map as a PNG: published figures only, suppressed areas hatched.

    Draws exactly what the Area summary's interactive map shows: areas with a published
    `value_col` as a choropleth, areas whose value is suppressed (missing) hatched grey. No
    incident, point or unpublished figure is an input.

    Parameters
    ----------
    table : GeoDataFrame
        Published figures per area (:func:`geo.services.partner_units`), any CRS.
    value_col : str
        The published column coloured (``"harm"`` or ``"count"``; missing = suppressed).
    label : str
        Colour-bar label.
    title : str, default ""
        Shown above the map (escaped for matplotlib).
    suppressed_label : str
        Legend entry of the hatched areas.

    Returns
    -------
    bytes
        PNG.

    Raises
    ------
    GeoInputError
        If `value_col` is not a column of `table`, or `table` is empty.
    """
    if value_col not in table.columns:
        raise GeoInputError(f"The area table has no column {value_col!r}", where=", ".join(map(str, table.columns)),
                            fix="pass 'harm' or 'count'")
    if not len(table):
        raise GeoInputError("There are no areas to draw", fix="choose a period with incidents")
    t = _projected(table)
    sm = StaticMap(bounds=t.total_bounds, pad=0.03)
    shown = t[t[value_col].notna()]
    sm.choropleth(shown, value_col, label=safe.mpl_text(label))
    hidden = t[t[value_col].isna()]
    sm.fill(hidden, palette.LINE_COLORS["suppressed"], edgecolor=palette.BOUNDARY_COLORS["unit"], linewidth=0.3,
            hatch="///", label=None if not len(hidden) else safe.mpl_text(suppressed_label))
    sm.outline(t, palette.BOUNDARY_COLORS["unit"], linewidth=0.3)
    return sm.png(title=safe.mpl_text(title), scale_bar=True, north=True)
