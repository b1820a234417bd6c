"""Filled polygon layers whose style is data: each feature carries its fill colour, one script styles them all.

folium's :class:`folium.GeoJson` with a Python ``style_function`` calls it for every feature at render
time and writes a JavaScript ``switch`` with one ``case`` per feature (twice, with a highlight): for the
3,897 DBSCAN cluster hulls of the South Yorkshire demo that was about half of the layer's 0.5-1 s. Here
the colour is a property of each feature (``_fill``) and one short script reads it
(:class:`FilledGeoJson`): the same colours, outlines and highlight, drawn from data.

A layer of categories (:func:`category_layer`) is computed once into a :class:`FilledLayer`: the GeoJSON
text (WGS84, simplified for display, tooltip texts already escaped by :mod:`geo.safe`), the tooltip's
labels and the legend's rows. It holds no folium object and no function, so it can be pickled (the
Hotspots page's kept default runs hold one, :mod:`geo.stored_hotspots`); :func:`draw_filled` puts it on
a map.

References
----------
Leaflet ``L.GeoJSON`` ``style`` option (a function of the feature), https://leafletjs.com/reference.html#geojson
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import folium
import folium.template
from jinja2.utils import htmlsafe_json_dumps

from geo.render import palette as _palette
from geo.render.map_assets import FastGeoJson
from geo.render.maps import add_legend, geojson_data, layer_name, pane_of, to_wgs84, tooltip_columns

__all__ = ["FilledGeoJson", "FilledLayer", "category_layer", "draw_filled"]

_SCRIPT = folium.template.Template("""
{% macro script(this, kwargs) %}
function {{ this.get_name() }}_styler(feature) {
    return Object.assign({fillColor: feature.properties[{{ this.fill_key|tojson }}]}, {{ this.base_style|tojson }});
}
function {{ this.get_name() }}_onEachFeature(feature, layer) {
    layer.on({
        mouseout: function(e) {
            if (typeof e.target.setStyle === "function") { {{ this.get_name() }}.resetStyle(e.target); }
        },
        mouseover: function(e) {
            if (typeof e.target.setStyle === "function") { e.target.setStyle({{ this.highlight_style|tojson }}); }
        },
    });
};
var {{ this.get_name() }} = L.geoJson(null, {
        onEachFeature: {{ this.get_name() }}_onEachFeature,
        style: {{ this.get_name() }}_styler,
        ...{{ this.options|tojavascript }}
});
function {{ this.get_name() }}_add (data) {
    {{ this.get_name() }}.addData(data);
}
{{ this.get_name() }}_add({{ this.data_text }});
{% endmacro %}
""")


class FilledGeoJson(FastGeoJson):
    """Polygons filled with the colour in each feature's ``fill_key`` property, outlined alike, thicker
    under the pointer: a :class:`folium.GeoJson` whose style is read from the data in the browser.

    Parameters
    ----------
    data : dict
        A GeoJSON FeatureCollection in WGS84 (e.g. from :func:`geo.render.maps.geojson_data`); with
        ``text``, what folium reads of it is enough (:meth:`FilledLayer.outline`).
    text : str, optional
        The FeatureCollection drawn, already encoded for a script (:func:`jinja2.utils.htmlsafe_json_dumps`,
        as folium's ``tojson``); ``data`` encoded here when not given.
    fill_key : str
        The property holding each feature's fill colour.
    style, highlight : dict
        The rest of the style (fill opacity, outline colour and weight), and the style under the pointer.
    **kwargs
        :class:`folium.GeoJson` options (``tooltip``, ``pane``, ...), without style functions.
    """

    _source = _SCRIPT

    def __init__(self, data: dict, *, text: str | None = None, fill_key: str = "_fill", style: dict,
                 highlight: dict, **kwargs):
        super().__init__(data, **kwargs)
        self.data_text = str(text if text is not None else htmlsafe_json_dumps(data))
        self.fill_key = fill_key
        self.base_style = dict(style)
        self.highlight_style = dict(highlight)


@dataclass(frozen=True)
class FilledLayer:
    """A layer of filled polygons ready to draw (:func:`draw_filled`); picklable, compared by value.

    Attributes
    ----------
    geojson : str
        The FeatureCollection (WGS84) as script-safe JSON text: per feature its fill colour ``_fill``
        and the tooltip's texts ``_t0, _t1, ...`` (escaped with :func:`geo.safe.js_html`).
    tooltip_keys, tooltip_aliases : tuple of str
        The tooltip's properties and their labels (escaped).
    legend_items : tuple of (colour, label)
        The legend's rows.
    n_features : int
        How many features ``geojson`` holds.
    properties : tuple of str
        The properties every feature carries.
    bbox : tuple of float, optional
        The features' bounds (west, south, east, north), ``None`` without features.
    """

    geojson: str
    tooltip_keys: tuple[str, ...]
    tooltip_aliases: tuple[str, ...]
    legend_items: tuple[tuple[str, str], ...]
    n_features: int = 0
    properties: tuple[str, ...] = ()
    bbox: tuple[float, ...] | None = None

    def outline(self) -> dict:
        """What folium reads of a layer's data without its features' geometry (no parse of :attr:`geojson`):
        a FeatureCollection with the bounds and, when there are features, one feature with the properties'
        names (the tooltip checks its fields against them) and no geometry."""
        features = ([{"type": "Feature", "properties": dict.fromkeys(self.properties), "geometry": None}]
                    if self.n_features else [])
        return {"type": "FeatureCollection", "features": features,
                **({"bbox": list(self.bbox)} if self.bbox is not None else {})}


def category_layer(gdf, column: str, colors: dict[str, str], *,
                   tooltip_fields: Sequence[tuple[str, str]] = (), formats: dict[str, str] | None = None,
                   legend_items=None) -> FilledLayer:
    """The polygons of ``gdf`` coloured by the category in ``column`` (``colors[value]``, grey if absent).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Polygons in any CRS (simplified by :data:`geo.render.maps.DISPLAY_SIMPLIFY_M` when projected).
    column : str
        Category of each polygon.
    colors : dict
        Category -> CSS colour, in legend order.
    tooltip_fields : sequence of (column, label)
        Shown on hover; columns missing from ``gdf`` are skipped.
    formats : dict, optional
        Column -> format string for the tooltip, e.g. ``{"harm": "{:,.0f}"}``.
    legend_items : list of (colour, label), optional
        The legend's rows; by default one per category present, in ``colors`` order.

    Returns
    -------
    FilledLayer
    """
    fields = [(f, lab) for f, lab in tooltip_fields if f in gdf.columns]
    data = to_wgs84(gdf, [column, *[f for f, _ in fields if f != column]], "gdf")
    data = data.assign(_fill=data[column].astype(str).map(colors).fillna(_palette.FALLBACK))
    data, tooltip = tooltip_columns(data, [f for f, _ in fields], [lab for _, lab in fields], formats)
    if legend_items is None:
        present = set(data[column].astype(str))
        legend_items = [(c, k) for k, c in colors.items() if k in present]
    keys = tuple(tooltip.fields) if tooltip is not None else ()
    aliases = tuple(tooltip.aliases) if tooltip is not None else ()
    props = [c for c in data.columns if c.startswith("_")]
    collection = geojson_data(data, props)
    return FilledLayer(geojson=str(htmlsafe_json_dumps(collection)), tooltip_keys=keys, tooltip_aliases=aliases,
                       legend_items=tuple((str(c), str(lab)) for c, lab in legend_items),
                       n_features=len(collection["features"]), properties=tuple(props),
                       bbox=tuple(collection["bbox"]) if "bbox" in collection else None)


def draw_filled(m: folium.Map, layer: FilledLayer, *, name: str, title: str, opacity: float = 0.7,
                outline: str = _palette.BOUNDARY_COLORS["category_edge"], pane: str = "geo_hotspots",
                show: bool = True) -> folium.FeatureGroup:
    """Add ``layer`` to ``m`` as one named group, with its tooltip and legend.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`geo.render.maps.base_map`.
    layer : FilledLayer
    name, title : str
        Layer name in the layer control (escaped here), and legend title.
    opacity : float
        Fill opacity.
    outline : str
        Outline colour (:mod:`geo.render.palette`).
    pane : str
        Drawing pane (:data:`geo.render.maps.PANES`).
    show : bool
        Switched on in the layer control at first.

    Returns
    -------
    folium.FeatureGroup
        The layer, already added to ``m`` (its legend follows it in the layer control).
    """
    group = folium.FeatureGroup(name=layer_name(name), show=show)
    if layer.n_features:
        tooltip = (folium.GeoJsonTooltip(fields=list(layer.tooltip_keys), aliases=list(layer.tooltip_aliases),
                                         sticky=True) if layer.tooltip_keys else None)
        # the features are pasted from the text as they are: parsing 1.5 MB of cluster hulls to hand folium
        # a dict it only reads the bounds and the properties' names of took 0.05-0.25 s of a first switch
        FilledGeoJson(layer.outline(), text=layer.geojson, **pane_of(m, pane), tooltip=tooltip,
                      style={"fillOpacity": opacity, "color": outline, "weight": 0.4},
                      highlight={"weight": 2, "color": _palette.BOUNDARY_COLORS["highlight"]}).add_to(group)
    group.add_to(m)
    add_legend(m, title, list(layer.legend_items), layer=group)
    return group
