"""Folium base maps that work with no internet: the map, its helpers and legends.

There is no basemap unless a reachable tile server is given: the boundaries are the
basemap offline. Layer builders (:mod:`geo.render.map_layers`) accept GeoDataFrames in
any CRS and reproject to EPSG:4326 with :func:`to_wgs84`; each adds one named layer for
the layer control, and :func:`finish` adds that control. Assets are served locally
(:mod:`geo.render.map_assets`).
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from contextlib import contextmanager

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from geo import safe
from geo.errors import GeoInputError
from geo.render.map_assets import OfflineMap, localize

#: Polygons drawn on maps are simplified by this many metres (display only).
DISPLAY_SIMPLIFY_M = 5.0

#: Leaflet panes of every :func:`base_map` and their z-index, bottom to top: filled
#: polygons (harm, hot spots), outlines and areas, sensitive sites, crime and calls
#: points, then labels. Layers name their pane, so crime stays on top whatever the
#: user switches on later (Leaflet's own overlay pane is 400, markers 600).
PANES: dict[str, int] = {"geo_fill": 410, "geo_hotspots": 415, "geo_lines": 420, "geo_sites": 430,
                         "geo_crime": 450, "geo_labels": 460}

__all__ = ["DISPLAY_SIMPLIFY_M", "PANES", "pane_of", "add_legend", "base_map", "display_value", "dynamic_layers",
           "finish", "geojson_data", "layer_control", "swappable", "swapping",
           "is_point_layer", "layer_name", "project", "to_wgs84", "tooltip_columns", "wgs84_bounds"]


# Compact controls so the layer list and several legends fit a 500 px map (Bootstrap's
# CSS, which folium loads, otherwise enlarges Leaflet's 12 px control text).
_MAP_CSS = """<style>
div.leaflet-container { font-size: 12px; }
.leaflet-control-layers-expanded { padding: 4px 8px 4px 6px; line-height: 1.35; }
.leaflet-control-layers label { margin-bottom: 0; }
.marker-cluster.geo-cluster { background: rgba(37, 52, 148, 0.3); }
.marker-cluster.geo-cluster div { background: rgba(37, 52, 148, 0.85); color: #fff; }
.geo-label span { position: absolute; transform: translate(-50%, -50%); white-space: nowrap;
  font: bold 13px/1.1 sans-serif; color: #222; text-shadow: 0 0 3px #fff, 0 0 3px #fff; }
.geo-label-small span { position: absolute; transform: translate(-50%, -50%); white-space: nowrap;
  font: 11px/1.1 sans-serif; color: #333; text-shadow: 0 0 3px #fff, 0 0 3px #fff; }
</style>"""



# ------------------------------------------------------------------------ base map
def wgs84_bounds(*frames: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """Bounds of one or more GeoDataFrames as (minlon, minlat, maxlon, maxlat).

    Parameters
    ----------
    *frames : GeoDataFrame
        Frames in any CRS; empty frames are skipped.

    Returns
    -------
    tuple of float
        Combined bounds in EPSG:4326 degrees, ready for :func:`base_map`.

    Raises
    ------
    GeoInputError
        If every frame is empty or a frame has no CRS.
    """
    boxes = [to_wgs84(f, [], "frame").total_bounds for f in frames if len(f)]
    if not boxes:
        raise GeoInputError("Cannot compute map bounds: every layer is empty",
                            fix="pass at least one GeoDataFrame with geometries")
    arr = np.array(boxes)
    return (float(arr[:, 0].min()), float(arr[:, 1].min()),
            float(arr[:, 2].max()), float(arr[:, 3].max()))


def base_map(bounds: Sequence[float], *, tile_url: str | None = None,
             attribution: str = "", asset_base: str = "/app/static/vendor",
             height: int | str | None = None) -> folium.Map:
    """Create an empty map fitted to `bounds` that loads nothing from the internet.

    Parameters
    ----------
    bounds : sequence of float
        (minlon, minlat, maxlon, maxlat) in EPSG:4326 degrees, e.g. from
        :func:`wgs84_bounds` or ``gdf.to_crs(4326).total_bounds``.
    tile_url : str, optional
        Tile URL template (``{z}/{x}/{y}``): a basemap installed with :mod:`geo.tiles`
        (served by the dashboard itself) or a tile server reachable from the force's network.
        ``None`` draws no basemap; the boundary layers then serve as the basemap.
    attribution : str, default ""
        Attribution for the tiles (plain text, escaped); required by most tile licences.
    asset_base : str, default "/app/static/vendor"
        URL prefix where the browser finds the vendored assets.
    height : int or str, optional
        Map height (pixels or a CSS length). ``None`` fills the container, which is
        what ``st_folium(m, height=...)`` expects.

    Returns
    -------
    folium.Map
        An :class:`OfflineMap` using a canvas renderer, with a scale bar; the mouse wheel
        zooms it only after a click on it, so it does not take over a long page's scrolling.

    Raises
    ------
    GeoInputError
        If `bounds` are not four finite longitude/latitude values.
    """
    try:
        minx, miny, maxx, maxy = (float(v) for v in bounds)
    except (TypeError, ValueError) as err:
        raise GeoInputError(f"bounds must be four numbers, got {bounds!r}",
                            fix="pass (minlon, minlat, maxlon, maxlat)") from err
    if not (all(map(math.isfinite, (minx, miny, maxx, maxy)))
            and -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise GeoInputError(
            f"bounds are not longitude/latitude degrees: {bounds!r}",
            fix="pass gdf.to_crs(4326).total_bounds or geo.maps.wgs84_bounds(gdf)")
    kwargs = {"height": height} if height is not None else {}
    if tile_url:
        # Leaflet inserts the attribution as HTML: a file- or user-supplied string is escaped
        kwargs.update(tiles=tile_url, attr=safe.html_text(attribution) if attribution else " ")
    else:
        # Without a tile layer Leaflet has no maxZoom and marker clustering fails.
        kwargs.update(tiles=None, maxZoom=19)
    m = OfflineMap(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=13,
                   prefer_canvas=True, control_scale=True, **kwargs)
    m.asset_base = asset_base
    m.get_root().header.add_child(Element(_MAP_CSS), name="geo_maps_css")
    m.add_child(_Panes(PANES))  # drawing order that the layer control cannot change
    m.add_child(_WheelAfterClick())
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return localize(m, asset_base=asset_base)


def pane_of(m: folium.Map, pane: str) -> dict:
    """``{"pane": pane}`` if `m` has the :data:`PANES` of :func:`base_map`, else ``{}``."""
    return {"pane": pane} if pane in PANES and isinstance(m, OfflineMap) else {}


def finish(m: folium.Map) -> folium.Map:
    """Add an expanded layer control and localize all assets; call last.

    Parameters
    ----------
    m : folium.Map

    Returns
    -------
    folium.Map
        The same map.
    """
    folium.LayerControl(collapsed=False).add_to(m)
    return localize(m, asset_base=getattr(m, "asset_base", "/app/static/vendor"))

def dynamic_layers(m: folium.Map) -> list[folium.FeatureGroup]:
    """The layers drawn on `m`, each as a feature group carrying its own legend.

    For ``st_folium(base, feature_group_to_add=dynamic_layers(scratch), layer_control=...)``:
    draw what changes with the filters (the harm choropleth, the hot spots, calls) on a
    scratch :func:`base_map`, and pass its layers here; the base map (boundaries, sites,
    labels) stays mounted in the browser and only these groups are replaced. Each layer that
    is not a feature group (a marker cluster) is wrapped in one of the same name, and each
    legend bound to a layer (:func:`add_legend` with ``layer=``) moves into that layer's group,
    shown while the group is on the map, so a legend leaves with its layer when the
    groups are swapped.

    Parameters
    ----------
    m : folium.Map
        A scratch map whose layers are taken; do not render `m` afterwards.

    Returns
    -------
    list of folium.FeatureGroup
        The groups, in the order they were added to `m`.
    """
    legends = [c for c in m._children.values() if isinstance(c, _Legend) and c.layer is not None]
    groups = []
    for child in list(m._children.values()):
        if not isinstance(child, folium.map.Layer) or not child.control:
            continue
        if isinstance(child, folium.FeatureGroup):
            group = child
        else:
            group = folium.FeatureGroup(name=child.layer_name, show=child.show)
            child.control = False
            group.add_child(child)
        for legend in legends:
            if legend.layer is child:
                group.add_child(_GroupLegend(legend.html, position=legend.position))
        groups.append(group)
    return groups


def swappable(m: folium.Map) -> folium.Map:
    """Ready `m` to be the base map of :func:`dynamic_layers`: the plugins those layers use are loaded.

    ``st_folium`` loads a map's scripts only when it first mounts it; a marker-cluster
    layer swapped in later needs the plugin already there, so an empty, unlisted cluster
    is added. The map is rendered once (:attr:`OfflineMap.render_once`): add no layer to it
    after its first render.
    """
    import folium.plugins
    folium.plugins.MarkerCluster(control=False).add_to(m)
    m.render_once = True  # its layers never change: st_folium's render on every run is a no-op
    return localize(m, asset_base=getattr(m, "asset_base", "/app/static/vendor"))


@contextmanager
def swapping(base: folium.Map, layers: Sequence = ()):
    """Take off `base` again whatever is added to it inside the block.

    ``st_folium(base, feature_group_to_add=..., layer_control=...)`` adds the groups and
    the control to the map it is given; a base map kept between runs must lose them
    again, or its script (the key that keeps it mounted in the browser) would change.
    `layers`: the groups passed as ``feature_group_to_add``, in order, some of them drawn in
    an earlier run and passed again (kept, so that their GeoJSON is not built and encoded
    again). Each is named now as ``st_folium`` will name it (``feature_group_<i>``, its
    children ``feature_group_<i>_<j>``, ...), so that what is rendered before the renaming
    already carries the final names, and its "add to the parent" lines, written under the
    names of an earlier run, are dropped (rendering writes them again).
    """
    _point_add_to_at_current_names(base)
    for i, layer in enumerate(layers):
        _drop_add_to_lines(layer)
        _name_as_st_folium(layer, f"feature_group_{i}")
    held = set(base._children)
    try:
        yield base
    finally:
        for name in [n for n in base._children if n not in held]:
            base._children.pop(name, None)


def _point_add_to_at_current_names(element) -> None:
    """Re-aim each layer's "add to its parent" line at the current names of both.

    folium writes that line (``ElementAddToElement``) with the names the layer and its
    parent had when first rendered; ``st_folium`` renames every element of the map it is
    given (only its first call maps the old names to the new). Without this, a base map
    kept between runs carries lines naming variables that no longer exist, and the next
    time the browser mounts it (back on the page) the script stops there.
    """
    for child in list(getattr(element, "_children", {}).values()):
        if isinstance(child, folium.map.ElementAddToElement) and element._parent is not None:
            child.element_name = element.get_name()
            child.element_parent_name = element._parent.get_name()
        _point_add_to_at_current_names(child)


def _drop_add_to_lines(element) -> None:
    """Remove every ``ElementAddToElement`` below `element` (folium's layers add them again at render)."""
    children = getattr(element, "_children", {})
    for name in [n for n, c in children.items() if isinstance(c, folium.map.ElementAddToElement)]:
        children.pop(name)
    for child in list(children.values()):
        _drop_add_to_lines(child)


def _name_as_st_folium(element, name: str) -> None:
    """Give `element` and its children the ids ``st_folium`` gives a feature group at `name`."""
    element._id = name
    for j, child in enumerate(getattr(element, "_children", {}).values()):
        _name_as_st_folium(child, f"{name}_{j}")


def layer_control(*, first: Sequence = ()) -> folium.LayerControl:
    """An expanded layer control that lists the layers in `first` at the top.

    :func:`finish` adds one to a map drawn whole; for ``st_folium(...,
    feature_group_to_add=groups, layer_control=layer_control(first=groups))`` the
    groups (the crime, which changes with the filters) are added after the base map's
    layers, and would otherwise be listed last.
    """
    return _LayerControl(first=first)


class _LayerControl(folium.LayerControl):
    def __init__(self, *, first: Sequence = ()):
        super().__init__(collapsed=False)
        self._first = list(first)

    def render(self, **kwargs):
        self.reset()
        layers = [c for c in self._parent._children.values()
                  if isinstance(c, folium.map.Layer) and c.control]
        top = [c for c in self._first if any(c is x for x in layers)]
        for item in top + [c for c in layers if not any(c is x for x in top)]:
            (self.overlays if item.overlay else self.base_layers)[item.layer_name] = item.get_name()
        MacroElement.render(self, **kwargs)


# ------------------------------------------------------------------------- helpers
def to_wgs84(gdf: gpd.GeoDataFrame, columns: Sequence[str], name: str, decimals: int = 5) -> gpd.GeoDataFrame:
    """`columns` and the non-empty geometries of `gdf` in EPSG:4326, ready to draw.

    Polygons in a projected CRS are simplified by :data:`DISPLAY_SIMPLIFY_M` metres and
    coordinates rounded to `decimals` places (5: about 1 m), for display only.

    Raises
    ------
    GeoInputError
        If `gdf` is not a GeoDataFrame, has no CRS or lacks one of `columns`.
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise GeoInputError(f"`{name}` must be a GeoDataFrame, got {type(gdf).__name__}",
                            fix="build one with geopandas.GeoDataFrame(df, geometry=...)")
    if gdf.crs is None:
        raise GeoInputError(f"`{name}` has no CRS",
                            fix=f"set it, e.g. {name}.set_crs('EPSG:27700')")
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise GeoInputError(f"`{name}` has no column {missing[0]!r}",
                            where=f"columns: {', '.join(map(str, gdf.columns))}",
                            fix="pass one of the listed columns")
    out = gdf[[*dict.fromkeys(columns), gdf.geometry.name]]
    out = out[~(out.geometry.isna() | out.geometry.is_empty)]
    polygons = out.geom_type.isin(["Polygon", "MultiPolygon"]).all() and len(out) > 0
    if polygons and out.crs.is_projected and DISPLAY_SIMPLIFY_M:
        # Display only: drop vertices closer than a few metres (pages shrink several-fold).
        out = out.set_geometry(out.geometry.simplify(DISPLAY_SIMPLIFY_M, preserve_topology=True))
    if not (out.crs.to_epsg() == 4326):  # already drawn-ready (e.g. map_view.display_units): not again
        out = project(out, 4326)
    # ~1 m is plenty on screen and halves the GeoJSON sent to the browser.
    return out.set_geometry(shapely.transform(out.geometry.to_numpy(), lambda c: np.round(c, decimals)),
                            crs=4326)


_PROJECTOR: list = []


def project(gdf: gpd.GeoDataFrame, crs) -> gpd.GeoDataFrame:
    """``gdf.to_crs(crs)``, computed on one long-lived thread of this process.

    pyproj keeps its transformers per thread, and making one (PROJ's database searched for the
    operation) took 0.15-0.25 s on a loaded 2-core machine; every Streamlit run is a new thread,
    so each run that drew a layer paid that again. The same transformation, made once. A thread
    running at a lower priority than the process (the dashboard's warm-up, at nice 10) projects on
    its own: the shared thread inherits the priority of the thread that starts it, and must not
    start at nice 10.

    References
    ----------
    pyproj FAQ, "Multithreading": https://pyproj4.github.io/pyproj/stable/advanced_examples.html#multithreading
    """
    import os
    import threading
    try:
        lower = (os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
                 > os.getpriority(os.PRIO_PROCESS, os.getpid()))
    except (AttributeError, OSError):  # no per-thread priorities here
        lower = False
    if lower:
        return gdf.to_crs(crs)
    if not _PROJECTOR:
        from concurrent.futures import ThreadPoolExecutor
        _PROJECTOR.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="geo-project"))
    return _PROJECTOR[0].submit(gdf.to_crs, crs).result()


def tooltip_columns(gdf: gpd.GeoDataFrame, fields: Sequence[str], aliases: Sequence[str],
                    formats: dict[str, str] | None = None
                    ) -> tuple[gpd.GeoDataFrame, folium.GeoJsonTooltip | None]:
    """Add escaped, formatted display columns ``_t0, _t1, ...`` and their tooltip.

    folium's ``GeoJsonTooltip`` sets each value and alias as ``innerHTML``: both are
    HTML-escaped here (:func:`geo.safe.js_html`: also backticks and ``$``), so names
    from files stay text.
    """
    if not fields:
        return gdf, None
    gdf = gdf.copy()
    keys = []
    for i, field in enumerate(fields):
        fmt = (formats or {}).get(field)
        gdf[f"_t{i}"] = [display_value(v, fmt) for v in gdf[field]]
        keys.append(f"_t{i}")
    if gdf.empty:  # folium refuses a tooltip on a layer without features
        return gdf, None
    return gdf, folium.GeoJsonTooltip(fields=keys, aliases=[safe.js_html(f"{a}:") for a in aliases],
                                      sticky=True)


def display_value(value, fmt: str | None = None) -> str:
    """`value` as escaped text for a tooltip ("–" when missing; `fmt` for numbers)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if fmt and isinstance(value, (int, float, np.number)):
        return fmt.format(value)
    if isinstance(value, (float, np.floating)):
        return f"{value:,.2f}"
    return safe.js_html(value)


def layer_name(name: str) -> str:
    """Leaflet's layer control shows a layer's name as ``innerHTML``: escape it."""
    return safe.js_html(name)


def geojson_data(gdf: gpd.GeoDataFrame, keep: Sequence[str]) -> dict:
    """GeoJSON of `gdf` with only the `keep` properties (all JSON-serialisable).

    The same dict as ``gdf[[*keep, geometry]].__geo_interface__`` without ids (with a
    ``bbox`` member, RFC 7946 section 5, when any geometry is present), built
    with :func:`shapely.to_geojson` in one call (geopandas' feature loop was half the
    time of building a force's LSOA map).
    """
    geoms = gdf.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    shapes = np.full(len(geoms), "null", dtype=object)
    if present.any():
        shapes[present] = shapely.to_geojson(geoms[present])
    geometries = json.loads("[" + ",".join(shapes) + "]")
    props = gdf[list(keep)].astype(object).where(gdf[list(keep)].notna(), None).to_dict("records")
    out = {"type": "FeatureCollection",
           "features": [{"type": "Feature", "properties": p, "geometry": g}
                        for p, g in zip(props, geometries)]}
    if present.any():  # GeoJSON's own bounding box: the map's bounds without a loop over coordinates
        out["bbox"] = [float(v) for v in shapely.total_bounds(geoms[present])]
    return out


def is_point_layer(gdf: gpd.GeoDataFrame) -> bool:
    """True if `gdf` holds points (or multipoints) only."""
    return bool(len(gdf)) and set(gdf.geom_type.unique()) <= {"Point", "MultiPoint"}


class _WheelAfterClick(MacroElement):
    """The mouse wheel scrolls the page until the map is pressed (or focused), then zooms the map
    until the pointer leaves it: a map on a long page does not take the page's scrolling over."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }}, wheel = map.scrollWheelZoom;
            wheel.disable();
            map.on("mousedown focus", function() { wheel.enable(); });  // a click on a feature counts too
            map.on("mouseout blur", function() { wheel.disable(); });
        })();
        {% endmacro %}
    """)

    def __init__(self):
        super().__init__()
        self._name = "WheelAfterClick"


class _Panes(MacroElement):
    """Leaflet panes for the layers, inside the overlay pane (so below markers and tooltips)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }}, overlay = map.getPane("overlayPane");
            {% for name, z in this.panes.items() %}
            var pane = map.createPane({{ name|tojson }}, overlay);
            pane.style.zIndex = {{ z|int }};
            {% if name == "geo_labels" %}pane.style.pointerEvents = "none";{% endif %}
            {% endfor %}
        })();
        {% endmacro %}
    """)

    def __init__(self, panes: dict[str, int]):
        super().__init__()
        self._name = "Panes"
        self.panes = dict(panes)


#: The Leaflet control of a legend (``this.html`` at ``this.position``), shared by both legend templates.
_LEGEND_CONTROL_JS = """
            var legend = L.control({position: {{ this.position|tojson }}});
            legend.onAdd = function() {
                var div = L.DomUtil.create("div", "geo-legend");
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
"""


class _Legend(MacroElement):
    """A Leaflet control holding an HTML legend; hidden while its layer is off."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
""" + _LEGEND_CONTROL_JS + """            legend.addTo(map);
            {% if this.layer %}
            var layer = {{ this.layer.get_name() }};
            map.on("overlayadd", function(e) { if (e.layer === layer) legend.addTo(map); });
            map.on("overlayremove", function(e) { if (e.layer === layer) legend.remove(); });
            {% endif %}
        })();
        {% endmacro %}
    """)

    def __init__(self, html: str, layer=None, position: str = "bottomright"):
        super().__init__()
        self._name = "Legend"
        self.html = html
        self.layer = layer
        self.position = position


class _GroupLegend(MacroElement):
    """A legend inside a feature group: on the map while its group is (see :func:`dynamic_layers`)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var group = {{ this._parent.get_name() }};
""" + _LEGEND_CONTROL_JS + """            group.on("add", function() { legend.addTo(group._map); });
            group.on("remove", function() { legend.remove(); });
            if (group._map) { legend.addTo(group._map); }
        })();
        {% endmacro %}
    """)

    def __init__(self, html: str, position: str = "bottomright"):
        super().__init__()
        self._name = "GroupLegend"
        self.html = html
        self.position = position


_LEGEND_STYLE = ("background:rgba(255,255,255,0.92);padding:4px 8px;border-radius:4px;"
                 "box-shadow:0 1px 4px rgba(0,0,0,0.35);font:12px/1.35 sans-serif;"
                 "color:#222;max-width:240px")
_SWATCH = ("display:inline-block;width:12px;height:12px;margin-right:6px;"
           "vertical-align:-1px;border:1px solid rgba(0,0,0,0.35);background:{}")


_CSS_COLOR = re.compile(r"#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|rgba?\([0-9.,%\s]+\)")


def _css_color(color) -> str:
    """`color` if it is a plain CSS colour (``#rgb``, a name, ``rgb()``), else an error.

    The colour goes into a ``style`` attribute, where HTML escaping does not stop CSS
    such as ``red;background:url(...)`` from loading a URL.
    """
    if isinstance(color, str) and _CSS_COLOR.fullmatch(color.strip()):
        return color.strip()
    raise GeoInputError(f"Legend colour {color!r} is not a CSS colour",
                        fix="use '#rrggbb', a colour name such as 'grey', or 'rgb(r, g, b)'")


def add_legend(m: folium.Map, title: str, items: Sequence[tuple[str, str]], *,
               layer=None, position: str = "bottomright") -> folium.Map:
    """Add an HTML legend box (colour swatch + label per item) to the map.

    Parameters
    ----------
    m : folium.Map
    title : str
        Bold heading naming what is shown, with units, e.g. "Harm (CCHI days)".
    items : list of (color, label)
        CSS colours and their labels, top to bottom.
    layer : folium layer, optional
        Show the legend only while this layer is switched on in the layer control.
    position : str, default "bottomright"
        Leaflet control corner.

    Returns
    -------
    folium.Map
        The same map.

    Raises
    ------
    GeoInputError
        If a colour is not a plain CSS colour.
    """
    rows = "".join(
        f'<div><span style="{_SWATCH.format(_css_color(color))}"></span>'
        f"{safe.js_html(label)}</div>" for color, label in items)
    html = (f'<div style="{_LEGEND_STYLE}"><div style="font-weight:bold;'
            f'margin-bottom:3px">{safe.js_html(title)}</div>{rows}</div>')
    m.add_child(_Legend(html, layer=layer, position=position))
    return m
