"""Folium layers of the product's maps: choropleths, categories, points, sites, boundaries, areas.

Each builder takes a GeoDataFrame in any CRS, adds one named layer (and its legend) to
a map from :func:`geo.render.maps.base_map` and returns the layer.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import branca.colormap
import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from geo import safe
from geo.errors import GeoInputError
from geo.render import palette as _palette
from geo.render.filled_layers import FilledGeoJson, category_layer, draw_filled
from geo.render.map_assets import FastGeoJson, localize
from geo.render.maps import (add_legend, display_value, geojson_data, is_point_layer, layer_name, pane_of,
                             project, to_wgs84, tooltip_columns)

logger = logging.getLogger(__name__)

__all__ = ["SITE_COLORS", "add_areas", "add_boundaries", "add_categories", "add_choropleth", "add_draw",
           "add_labels", "add_points", "add_sites",
           "site_kind"]

#: Colours of sensitive-site kinds (keys are lower case, spaces not underscores): the shared palette.
SITE_COLORS = _palette.SITE_COLORS

# Colour-blind-safe categorical palette (Okabe-Ito without black), then grey.
_CATEGORY_COLORS = _palette.CATEGORY_COLORS
_OTHER_COLOR = _palette.FALLBACK


def _cmap(name: str) -> branca.colormap.LinearColormap:
    variants = sorted(k for k in dir(branca.colormap.linear) if k.startswith(f"{name}_"))
    if not variants:
        raise GeoInputError(f"Unknown colour map {name!r}",
                            fix="use a ColorBrewer name such as 'YlOrRd', 'Blues' or 'PuRd'")
    return getattr(branca.colormap.linear, variants[-1]).scale(0, 1)



# -------------------------------------------------------------------------- layers
def _class_breaks(values: np.ndarray, k: int) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.array([0.0, 0.0])
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, k + 1)))
    return edges if edges.size > 1 else np.repeat(edges, 2)


def add_choropleth(m: folium.Map, gdf: gpd.GeoDataFrame, column: str, *, name: str,
                   label: str, cmap: str = "YlOrRd",
                   tooltip_fields: Sequence[str] | None = None,
                   fmt: str = "{:,.0f}", classes: int = 5,
                   opacity: float = 0.7, decimals: int = 5) -> folium.FeatureGroup:
    """Add polygons (grid cells, LSOAs) coloured by `column`, with a legend.

    Values are grouped into up to `classes` quantile classes, so a few extreme cells
    do not wash out the rest; missing values are drawn grey.

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        Polygons in any CRS.
    column : str
        Numeric column to colour by.
    name : str
        Layer name in the layer control.
    label : str
        Legend title and tooltip label naming the value and its units,
        e.g. "Harm (CCHI days)".
    cmap : str, default "YlOrRd"
        ColorBrewer sequential colour map name.
    tooltip_fields : list of str, optional
        Extra columns shown on hover after the value.
    fmt : str, default "{:,.0f}"
        Format of the value in the legend and tooltip.
    classes : int, default 5
        Number of quantile classes.
    opacity : float, default 0.7
        Fill opacity.
    decimals : int, default 5
        Decimal places of the coordinates sent to the browser (5: about 1 m; 4: about
        10 m, used for partners' area maps).

    Returns
    -------
    folium.FeatureGroup
        The layer, already added to `m`.

    Raises
    ------
    GeoInputError
        If `gdf` has no CRS or lacks a requested column.
    """
    extra = [f for f in (tooltip_fields or []) if f != column]
    data = to_wgs84(gdf, [column, *extra], "gdf", decimals)
    values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
    edges = _class_breaks(values, classes)
    n_classes = len(edges) - 1
    colormap = _cmap(cmap)
    palette = [colormap.rgb_hex_str(0.15 + 0.85 * (i + 0.5) / n_classes)
               for i in range(n_classes)]
    idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, n_classes - 1)
    data = data.assign(_fill=[palette[i] if np.isfinite(v) else _palette.LINE_COLORS["no_data"]
                              for i, v in zip(idx, values)])
    data, tooltip = tooltip_columns(data, [column, *extra], [label, *extra], {column: fmt})
    group = _filled_group(m, data, tooltip, name=name, opacity=opacity)

    if edges[0] == edges[-1]:
        items = [(palette[0], fmt.format(edges[0]))]
    else:
        items = [(palette[i], f"{fmt.format(edges[i])} – {fmt.format(edges[i + 1])}")
                 for i in range(n_classes)]
    if not np.isfinite(values).all():
        items.append((_palette.LINE_COLORS["no_data"], "No data"))
    add_legend(m, label, items[::-1], layer=group)
    return group


def _filled_group(m: folium.Map, data: gpd.GeoDataFrame, tooltip, *, name: str, opacity: float,
                  outline: str = _palette.BOUNDARY_COLORS["edge"], pane: str = "geo_fill",
                  show: bool = True) -> folium.FeatureGroup:
    """A layer of polygons filled with their ``_fill`` colour (data already in WGS84)."""
    group = folium.FeatureGroup(name=layer_name(name), show=show)
    if len(data):
        FilledGeoJson(geojson_data(data, [c for c in data.columns if c.startswith("_")]), **pane_of(m, pane),
                      style={"fillOpacity": opacity, "color": outline, "weight": 0.4},
                      highlight={"weight": 2, "color": _palette.BOUNDARY_COLORS["highlight"]},
                      tooltip=tooltip).add_to(group)
    group.add_to(m)
    return group


def add_categories(m: folium.Map, gdf: gpd.GeoDataFrame, column: str, colors: dict[str, str], *,
                   name: str, title: str, tooltip_fields: Sequence[tuple[str, str]] = (),
                   formats: dict[str, str] | None = None, legend_items=None,
                   opacity: float = 0.7, pane: str = "geo_hotspots", show: bool = True) -> folium.FeatureGroup:
    """Add polygons coloured by a categorical `column` (e.g. hot-spot classes), with a legend.

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        Polygons in any CRS.
    column : str
        Category of each polygon; its colour is ``colors[value]`` (grey if absent).
    colors : dict
        Category -> CSS colour, in legend order.
    name, title : str
        Layer name in the layer control, and legend title.
    tooltip_fields : sequence of (column, label)
        Shown on hover; columns missing from `gdf` are skipped.
    formats : dict, optional
        Column -> format string for the tooltip, e.g. ``{"harm": "{:,.0f}"}``.
    legend_items : list of (color, label), optional
        The legend's rows; by default one per category present, in ``colors`` order.
    opacity : float, default 0.7
        Fill opacity.
    pane : str, default "geo_hotspots"
        Drawing pane (:data:`geo.render.maps.PANES`): above a harm choropleth, under outlines.
    show : bool, default True
        Switched on in the layer control at first.

    Returns
    -------
    folium.FeatureGroup
        The layer, already added to `m` (its legend follows it in the layer control).
    """
    layer = category_layer(gdf, column, colors, tooltip_fields=tooltip_fields, formats=formats,
                           legend_items=legend_items)  # the data, then drawn: geo.render.filled_layers
    return draw_filled(m, layer, name=name, title=title, opacity=opacity, pane=pane, show=show)


def _category_colors(values: pd.Series) -> dict[str, str]:
    counts = values.astype(str).value_counts()
    colors = dict(zip(counts.index[:len(_CATEGORY_COLORS)], _CATEGORY_COLORS))
    return {cat: colors.get(cat, _OTHER_COLOR) for cat in counts.index}


_CLUSTER_CALLBACK = """
function callback(row) {
    var options = {radius: 4, color: row[2], fillColor: row[2], fillOpacity: 0.8, weight: 1};
    /*PANE*/
    var marker = L.circleMarker(new L.LatLng(row[0], row[1]), options);
    if (row[3]) { marker.bindTooltip(row[3]); }
    return marker;
}
"""
# Blue clusters: folium's default orange ones vanish on a YlOrRd harm layer.
_CLUSTER_ICON = """
function(cluster) {
    return L.divIcon({html: "<div><span>" + cluster.getChildCount() + "</span></div>",
                      className: "marker-cluster geo-cluster", iconSize: L.point(40, 40)});
}
"""


def add_points(m: folium.Map, gdf: gpd.GeoDataFrame, *, name: str,
               color_by: str | None = None, tooltip_fields: Sequence[str] | None = None,
               max_points: int = 5000, color: str = _palette.LINE_COLORS["points"],
               radius: float = 4) -> folium.Layer:
    """Add point events (crimes, calls) as small circles, clustered when many.

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        Points in any CRS.
    name : str
        Layer name in the layer control.
    color_by : str, optional
        Categorical column; each of the 7 commonest values gets a colour-blind-safe
        colour (the rest grey) and a legend entry.
    tooltip_fields : list of str, optional
        Columns shown on hover.
    max_points : int, default 5000
        Above this many points, draw a marker-cluster layer instead of individual
        circles (the browser stays responsive up to about 100k points).
    color : str, default ``palette.LINE_COLORS["points"]``
        Colour when `color_by` is not given.
    radius : float, default 4
        Circle radius in pixels.

    Returns
    -------
    folium.Layer
        A FeatureGroup, or a FastMarkerCluster above `max_points`; added to `m`.

    Raises
    ------
    GeoInputError
        If `gdf` has no CRS, lacks a requested column or holds non-point geometries.
    """
    fields = list(tooltip_fields or [])
    data = to_wgs84(gdf, [*([color_by] if color_by else []), *fields], "gdf")
    if len(data) and not is_point_layer(data):
        raise GeoInputError(
            f"add_points needs points, found {data.geom_type.iloc[0]}",
            fix="use add_choropleth or add_areas for polygons, or pass gdf.centroid")
    data = data.explode(index_parts=False)
    if color_by:
        colors = _category_colors(data[color_by])
        fill = data[color_by].astype(str).map(colors).to_numpy()
    else:
        colors, fill = {}, np.full(len(data), color, dtype=object)

    if len(data) > max_points:
        logger.info("%s: %s points > max_points=%s, drawing clusters",
                    name, f"{len(data):,}", f"{max_points:,}")
        labels = ([" | ".join(display_value(row[f]) for f in fields)
                   for _, row in data[fields].iterrows()] if fields else [""] * len(data))
        rows = [[round(y, 6), round(x, 6), c, t]
                for x, y, c, t in zip(data.geometry.x, data.geometry.y, fill, labels)]
        pane = pane_of(m, "geo_crime")
        callback = _CLUSTER_CALLBACK.replace(
            "/*PANE*/", f'options.pane = "{pane["pane"]}";' if pane else "")
        layer = folium.plugins.FastMarkerCluster(rows, callback=callback,
                                                 icon_create_function=_CLUSTER_ICON,
                                                 name=layer_name(name))
    else:
        data = data.assign(_fill=fill)
        data, tooltip = tooltip_columns(data, fields, fields)
        layer = folium.FeatureGroup(name=layer_name(name))
        FastGeoJson(
            geojson_data(data, [c for c in data.columns if c.startswith("_")]),
            marker=_in_pane(folium.CircleMarker(radius=radius, weight=1, fill=True, fill_opacity=0.8),
                            m, "geo_crime"),
            style_function=lambda f: {"color": f["properties"]["_fill"],
                                      "fillColor": f["properties"]["_fill"]},
            tooltip=tooltip,
        ).add_to(layer)
    layer.add_to(m)
    localize(m, asset_base=getattr(m, "asset_base", "/app/static/vendor"))
    if color_by:
        shown = [(c, cat) for cat, c in colors.items() if c != _OTHER_COLOR]
        if len(shown) < len(colors):
            shown.append((_OTHER_COLOR, "Other"))
        add_legend(m, name, shown, layer=layer)
    return layer


def _in_pane(marker, m: folium.Map, pane: str):
    """`marker` drawn in `pane` (folium's vector markers drop a ``pane=`` argument)."""
    marker.options.update(pane_of(m, pane))
    return marker


def site_kind(value) -> str:
    """The palette key of a site kind: lower case, spaces for underscores, "other" if unknown."""
    kind = re.sub(r"[_\s]+", " ", str(value)).strip().lower()
    return kind if kind in SITE_COLORS else "other"


def add_sites(m: folium.Map, gdf: gpd.GeoDataFrame, *, kind_col: str = "kind",
              name_col: str = "name", buffers_m: Sequence[float] = (200,),
              name: str = "Sensitive sites", radius: float = 7, show: bool = True,
              buffers_layer: bool = False, show_buffers: bool = False) -> folium.FeatureGroup:
    """Add sensitive sites coloured by kind, with buffer rings and a legend.

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        Sites (points or polygons) in any CRS.
    kind_col : str, default "kind"
        Kind of site (``geo.settings.SITE_KINDS``, e.g. school, treatment); anything
        else is drawn as "other". Case, spaces and underscores are ignored.
    name_col : str, default "name"
        Site name shown on hover.
    buffers_m : sequence of float, default (200,)
        Radii of the rings drawn around each site, in metres. Buffers are computed
        in the frame's own CRS if projected, else in its UTM zone.
    name : str, default "Sensitive sites"
        Layer name in the layer control.
    radius : float, default 7
        Marker radius in pixels (the Map page draws sites small, 4, under the crime).
    show : bool, default True
        Sites switched on in the layer control at first.
    buffers_layer : bool, default False
        Draw the rings as their own layer, "<name>: <radii> m buffers", so they can be
        switched on on request; by default they belong to the sites' layer.
    show_buffers : bool, default False
        With `buffers_layer`, the rings are switched on at first.

    Returns
    -------
    folium.FeatureGroup
        The sites' layer, already added to `m`.

    Raises
    ------
    GeoInputError
        If `gdf` has no CRS or lacks `kind_col` or `name_col`.
    """
    data = to_wgs84(gdf, [kind_col, name_col], "sites")
    if gdf.crs.is_projected:
        metric = gdf.crs
    else:  # UTM zone of the sites; an empty frame has none, and needs no buffers
        metric = data.estimate_utm_crs() if len(data) else "EPSG:3857"
    kinds = data[kind_col].map(site_kind)
    data = data.assign(_fill=kinds.map(SITE_COLORS))
    group = folium.FeatureGroup(name=layer_name(name), show=show)
    rings_text = ", ".join(f"{r:,.0f}" for r in sorted(buffers_m))
    ring_group = group
    if buffers_layer and buffers_m:
        ring_group = folium.FeatureGroup(name=layer_name(f"{name}: {rings_text} m buffers"), show=show_buffers)

    points = bool(len(data)) and (data.geom_type == "Point").all()
    in_metres = project(data, metric)
    for ring in sorted(buffers_m, reverse=True):
        if points:  # a Leaflet circle of `ring` metres: the page carries one point per ring
            rings = data.copy()
        else:
            rings = in_metres.assign(_fill=data["_fill"].to_numpy(),
                                     geometry=in_metres.buffer(ring))
            rings = project(rings, 4326)
        rings = rings.assign(_t0=[f"{ring:,.0f} m of {safe.js_html(n)}"
                                  for n in rings[name_col]])
        FastGeoJson(
            geojson_data(rings, ["_fill", "_t0"]),
            marker=_in_pane(folium.Circle(radius=float(ring)), m, "geo_sites") if points else None,
            style_function=lambda f: {"color": f["properties"]["_fill"], "weight": 1.5,
                                      "dashArray": "5 4",
                                      "fillColor": f["properties"]["_fill"],
                                      "fillOpacity": 0.06},
            tooltip=(folium.GeoJsonTooltip(fields=["_t0"], labels=False)
                     if len(rings) else None),
            **({} if points else pane_of(m, "geo_sites")),
        ).add_to(ring_group)

    data = data.assign(_kind=kinds.str.capitalize())
    data, tooltip = tooltip_columns(data, [name_col, "_kind"], ["Site", "Kind"])
    weight = 2 if radius >= 6 else 1
    FastGeoJson(
        geojson_data(data, ["_fill", "_t0", "_t1"]),
        marker=_in_pane(folium.CircleMarker(radius=radius, weight=weight, fill=True, fill_opacity=0.95),
                        m, "geo_sites"),
        style_function=lambda f: {"color": _palette.BOUNDARY_COLORS["site_edge"], "fillColor": f["properties"]["_fill"],
                                  "weight": weight, "fillOpacity": 0.95},
        tooltip=tooltip,
    ).add_to(group)
    if ring_group is not group:
        ring_group.add_to(m)
    group.add_to(m)

    present = [k for k in SITE_COLORS if k in set(kinds)]
    title = f"{name} (rings: {rings_text} m)" if buffers_m and ring_group is group else name
    add_legend(m, title, [(SITE_COLORS[k], k.capitalize()) for k in present], layer=group)
    return group


def add_labels(m: folium.Map, gdf: gpd.GeoDataFrame, *, name: str, name_col: str = "name",
               min_zoom: int = 0, max_zoom: int = 19, show: bool = True,
               css_class: str = "geo-label") -> folium.FeatureGroup:
    """Add area names (BCUs, wards) as text labels shown only between two zoom levels.

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        Polygons in any CRS; each label sits on a point inside its polygon.
    name : str
        Layer name in the layer control.
    name_col : str, default "name"
        Column with each area's name (escaped: names come from files).
    min_zoom, max_zoom : int
        Labels show only at these Leaflet zoom levels (e.g. BCUs 9-12, wards 12 and in).
    show : bool, default True
        Switched on in the layer control at first.
    css_class : str, default "geo-label"
        CSS class of the labels (``geo-label`` and ``geo-label-small`` are styled).

    Returns
    -------
    folium.FeatureGroup
        The layer, already added to `m`.
    """
    data = to_wgs84(gdf, [name_col], "labels")
    group = folium.FeatureGroup(name=layer_name(name), show=show)
    if len(data):
        where = data.geometry.representative_point()
        rows = [[round(point.y, 5), round(point.x, 5), f"<span>{safe.js_html(label)}</span>"]
                for point, label in zip(where, data[name_col])]
        group.add_child(_Labels(rows, css_class=css_class, pane=pane_of(m, "geo_labels").get("pane")))
    group.add_to(m)
    m.add_child(_ZoomRange(group, int(min_zoom), int(max_zoom)))
    return group


class _Labels(MacroElement):
    """Text labels as one script (a ``folium.Marker`` each compiled a template per label, every run)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var group = {{ this._parent.get_name() }};
            {{ this.rows|tojson }}.forEach(function(r) {
                L.marker([r[0], r[1]], {interactive: false, keyboard: false,
                    {% if this.pane %}pane: {{ this.pane|tojson }},{% endif %}
                    icon: L.divIcon({html: r[2], className: {{ this.css_class|tojson }}, iconSize: [0, 0]})
                }).addTo(group);
            });
        })();
        {% endmacro %}
    """)

    def __init__(self, rows: list, *, css_class: str, pane: str | None = None):
        super().__init__()
        self._name = "Labels"
        self.rows, self.css_class, self.pane = rows, css_class, pane


class _ZoomRange(MacroElement):
    """Hide a layer's markers outside a zoom range (the layer stays in the layer control)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }}, layer = {{ this.layer.get_name() }};
            function update() {
                var z = map.getZoom(), on = z >= {{ this.lo }} && z <= {{ this.hi }};
                layer.eachLayer(function(l) {
                    var el = l.getElement && l.getElement();
                    if (el) { el.style.display = on ? "" : "none"; }
                });
            }
            map.on("zoomend overlayadd", update);
            map.whenReady(update);
        })();
        {% endmacro %}
    """)

    def __init__(self, layer, lo: int, hi: int):
        super().__init__()
        self._name = "ZoomRange"
        self.layer, self.lo, self.hi = layer, lo, hi


def add_boundaries(m: folium.Map, gdf: gpd.GeoDataFrame, *, name: str, name_col: str,
                   color: str = _palette.BOUNDARY_COLORS["outline"], weight: float = 2,
                   show: bool = True) -> folium.FeatureGroup:
    """Add boundary outlines (beats, wards, LSOAs) with their name on hover.

    The polygons are not filled, so layers underneath keep their tooltips.

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        Polygons in any CRS.
    name : str
        Layer name in the layer control.
    name_col : str
        Column with each boundary's name.
    color : str, default ``palette.BOUNDARY_COLORS["outline"]``
        Line colour.
    weight : float, default 2
        Line width in pixels.
    show : bool, default True
        Switched on in the layer control at first.

    Returns
    -------
    folium.FeatureGroup
        The layer, already added to `m`.
    """
    return _named_polygons(m, gdf, name=name, name_col=name_col, what="boundaries",
                           style={"color": color, "weight": weight, "fill": False},
                           highlight={"weight": weight + 2}, show=show)


def add_areas(m: folium.Map, gdf: gpd.GeoDataFrame, *, name: str,
              color: str = _palette.AREA_COLORS["target"], name_col: str = "name",
              opacity: float = 0.2) -> folium.FeatureGroup:
    """Add filled, translucent areas such as operations' target areas.

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        Polygons in any CRS.
    name : str
        Layer name in the layer control.
    color : str, default ``palette.AREA_COLORS["target"]``
        Outline and fill colour (dark blue stands out on a YlOrRd harm layer).
    name_col : str, default "name"
        Column with each area's name, shown on hover.
    opacity : float, default 0.2
        Fill opacity.

    Returns
    -------
    folium.FeatureGroup
        The layer, already added to `m`.
    """
    return _named_polygons(m, gdf, name=name, name_col=name_col, what="areas",
                           style={"color": color, "weight": 2.5, "fillColor": color, "fillOpacity": opacity})


def _named_polygons(m: folium.Map, gdf: gpd.GeoDataFrame, *, name: str, name_col: str, what: str,
                    style: dict, highlight: dict | None = None, show: bool = True) -> folium.FeatureGroup:
    """A layer of polygons drawn in one fixed style, each named on hover."""
    data = to_wgs84(gdf, [name_col], what)
    data, tooltip = tooltip_columns(data, [name_col], [name])
    group = folium.FeatureGroup(name=layer_name(name), show=show)
    FastGeoJson(
        geojson_data(data, ["_t0"]),
        **pane_of(m, "geo_lines"),
        style_function=lambda f: style,
        highlight_function=(lambda f: highlight) if highlight else None,
        tooltip=tooltip,
    ).add_to(group)
    group.add_to(m)
    return group


def add_draw(m: folium.Map) -> folium.Map:
    """Add polygon and rectangle drawing tools (e.g. to outline an operation area).

    With ``st_folium(m, returned_objects=["last_active_drawing"])`` the drawn shape
    comes back as a GeoJSON dict in longitude/latitude.

    Parameters
    ----------
    m : folium.Map

    Returns
    -------
    folium.Map
        The same map.
    """
    folium.plugins.Draw(
        export=False,
        draw_options={"polyline": False, "circle": False, "marker": False,
                      "circlemarker": False, "polygon": True, "rectangle": True},
    ).add_to(m)
    return localize(m, asset_base=getattr(m, "asset_base", "/app/static/vendor"))
