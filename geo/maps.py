"""Folium map builders that work with no internet.

folium loads Leaflet, jQuery, Bootstrap and its plugins from public CDNs, which police
networks often block, leaving a blank map. Every map built here loads them from local
copies instead: ``dashboard/static/vendor/`` (see its ``LICENSES.md``), which Streamlit
serves at ``/app/static/vendor`` when ``server.enableStaticServing`` is on. For an
exported file, :func:`render_standalone` inlines the same assets so the HTML opens
offline on its own.

There is no basemap unless a reachable tile server is given: the boundaries are the
basemap offline. Layer builders accept GeoDataFrames in any CRS and reproject to
EPSG:4326 themselves; each adds one named layer for the layer control, and
:func:`finish` adds that control.

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

import base64
import logging
import math
import mimetypes
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import branca.colormap
import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import shapely
import pandas as pd
from branca.element import Element, MacroElement
from jinja2 import Template

from geo import safe
from geo.render import palette as _palette
from geo.errors import GeoInputError

logger = logging.getLogger(__name__)

#: Polygons drawn on maps are simplified by this many metres (display only).
DISPLAY_SIMPLIFY_M = 5.0

__all__ = [
    "SITE_COLORS",
    "VENDOR_DIR",
    "add_areas",
    "add_boundaries",
    "add_categories",
    "add_choropleth",
    "add_draw",
    "add_legend",
    "add_points",
    "add_sites",
    "base_map",
    "escape_raw_text",
    "finish",
    "inline_assets",
    "localize",
    "render_standalone",
    "wgs84_bounds",
]

#: Folder holding the vendored assets; Streamlit serves it at ``/app/static/vendor``.
VENDOR_DIR = Path(__file__).resolve().parents[1] / "dashboard" / "static" / "vendor"

#: folium's asset names (the first item of each ``default_js``/``default_css`` pair)
#: and the local file under :data:`VENDOR_DIR` that replaces the CDN copy. ``None``
#: drops the asset (Bootstrap 3 glyphicons: use ``prefix="fa"`` icons instead).
_LOCAL_ASSETS: dict[str, str | None] = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "jquery": "jquery/jquery.min.js",
    "bootstrap": "bootstrap/bootstrap.bundle.min.js",
    "bootstrap_css": "bootstrap/bootstrap.min.css",
    "glyphicons_css": None,
    "awesome_markers": "awesome-markers/leaflet.awesome-markers.min.js",
    "awesome_markers_css": "awesome-markers/leaflet.awesome-markers.css",
    "awesome_markers_font_css": "fontawesome/css/all.min.css",
    "awesome_rotate_css": "folium/leaflet.awesome.rotate.min.css",
    "markerclusterjs": "markercluster/leaflet.markercluster.js",
    "markerclustercss": "markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "markercluster/MarkerCluster.Default.css",
    "leaflet_draw_js": "leaflet-draw/leaflet.draw.js",
    "leaflet_draw_css": "leaflet-draw/leaflet.draw.css",
    "leaflet-heat.js": "folium/leaflet_heat.min.js",
}

#: Colours of sensitive-site kinds (keys are lower case, spaces not underscores): the shared palette.
SITE_COLORS = _palette.SITE_COLORS

# Colour-blind-safe categorical palette (Okabe-Ito without black), then grey.
_CATEGORY_COLORS = _palette.CATEGORY_COLORS
_OTHER_COLOR = _palette.FALLBACK


# Compact controls so the layer list and several legends fit a 500 px map (Bootstrap's
# CSS, which folium loads, otherwise enlarges Leaflet's 12 px control text).
_MAP_CSS = """<style>
div.leaflet-container { font-size: 12px; }
.leaflet-control-layers-expanded { padding: 4px 8px 4px 6px; line-height: 1.35; }
.leaflet-control-layers label { margin-bottom: 0; }
.marker-cluster.geo-cluster { background: rgba(37, 52, 148, 0.3); }
.marker-cluster.geo-cluster div { background: rgba(37, 52, 148, 0.85); color: #fff; }
</style>"""


# --------------------------------------------------------------------------- assets
class OfflineMap(folium.Map):
    """A :class:`folium.Map` whose every asset, plugins included, is served locally.

    Just before rendering, every element in the map is passed through
    :func:`localize`, so layers added with plain folium (``HeatMap``, ``Draw``...)
    are covered too, and through :func:`escape_raw_text`, so a plain-string
    ``tooltip=`` or ``popup=`` given to any folium layer is shown as text.
    """

    asset_base: str = "/app/static/vendor"

    def render(self, **kwargs):
        localize(self, asset_base=self.asset_base)
        escape_raw_text(self)
        super().render(**kwargs)


def escape_raw_text(m: folium.Map) -> folium.Map:
    """Escape every plain-string :class:`folium.Tooltip` and :class:`folium.Popup` in `m`.

    folium pastes a string tooltip or popup into a JavaScript template literal as raw
    HTML (see :mod:`geo.safe`), so a name such as ``${fetch(...)}`` or
    ``<img onerror=...>`` would run. Tooltips and popups built with
    :func:`geo.safe.tooltip` / :func:`geo.safe.popup` are already escaped and left alone;
    every other one is escaped here with :func:`geo.safe.js_html`. Nothing in this
    product puts intended HTML in a folium tooltip or popup.

    Parameters
    ----------
    m : folium.Map

    Returns
    -------
    folium.Map
        The same map.
    """
    for element in _walk(m):
        if getattr(element, "_geo_safe", False):
            continue
        if isinstance(element, folium.Tooltip):
            element.text = safe.js_html(element.text)
        elif isinstance(element, folium.Popup):
            for child in element.html._children.values():
                if isinstance(child, branca.element.Html) and child.script:
                    # folium has already turned ` into \`; show the original text.
                    child.data = safe.js_html(child.data.replace("\\`", "`"))
        else:
            continue
        element._geo_safe = True
    return m


def _walk(element) -> Iterable:
    yield element
    for child in list(getattr(element, "_children", {}).values()):
        yield from _walk(child)


def _local_links(links: Sequence[tuple[str, str]], asset_base: str, owner: str) -> list:
    out = []
    for name, url in links:
        if name in _LOCAL_ASSETS:
            local = _LOCAL_ASSETS[name]
            if local is not None:
                out.append((name, f"{asset_base.rstrip('/')}/{local}"))
        elif re.match(r"(https?:)?//", url):
            logger.warning(
                "Dropped %s asset %r (%s): it is not vendored, so it would be fetched "
                "from the internet. Add it to dashboard/static/vendor and to "
                "geo.maps._LOCAL_ASSETS.", owner, name, url)
        else:
            out.append((name, url))
    return out


def localize(m: folium.Map, *, asset_base: str = "/app/static/vendor") -> folium.Map:
    """Point every element's JS and CSS at the vendored copies under `asset_base`.

    Parameters
    ----------
    m : folium.Map
        Map to rewrite in place, including all its layers and plugins.
    asset_base : str, default "/app/static/vendor"
        URL prefix of :data:`VENDOR_DIR` as the browser sees it.

    Returns
    -------
    folium.Map
        The same map. Assets that are not vendored are dropped with a warning
        rather than fetched from a CDN.
    """
    for element in _walk(m):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if links:
                # A new list on the instance: folium's lists are shared class attributes.
                setattr(element, attr, _local_links(links, asset_base,
                                                    type(element).__name__))
        if isinstance(element, branca.colormap.ColorMap):
            logger.warning("A branca colormap on the map loads d3 from a CDN; "
                           "use geo.maps.add_legend instead.")
    return m


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".woff2":
        mime = "font/woff2"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _inline_css(css: str, css_path: Path, fonts: bool) -> str:
    def repl(match: re.Match) -> str:
        ref = match.group(2)
        if ref.startswith(("data:", "#", "http:", "https:", "//")):
            return match.group(0)
        if not fonts and ref.endswith((".woff2", ".woff", ".ttf")):
            return match.group(0)
        target = (css_path.parent / ref.split("?")[0].split("#")[0]).resolve()
        if not target.is_file():  # e.g. the .ttf fallbacks, which are not vendored
            return match.group(0)
        return f'url("{_data_uri(target)}")'

    return re.sub(r"""url\((['"]?)([^'")]+)\1\)""", repl, css)


def inline_assets(html: str, static_dir: str | Path = VENDOR_DIR, *,
                  asset_base: str = "/app/static/vendor", fonts: bool = False) -> str:
    """Replace links to vendored assets by their content, for a single-file map.

    Parameters
    ----------
    html : str
        A rendered page, e.g. ``m.get_root().render()`` of a :func:`base_map` map.
    static_dir : str or Path, default VENDOR_DIR
        Folder that `asset_base` points at.
    asset_base : str, default "/app/static/vendor"
        URL prefix used in `html` for the vendored assets.
    fonts : bool, default False
        Also inline the Font Awesome fonts (+0.4 MB); only needed for
        ``folium.Icon`` markers, which the layers in this module do not use.

    Returns
    -------
    str
        The page with ``<script src>`` and ``<link rel="stylesheet">`` tags under
        `asset_base` replaced by inline ``<script>`` and ``<style>`` blocks; images and
        fonts referenced by the CSS become ``data:`` URIs.

    Raises
    ------
    GeoInputError
        If a linked asset is missing from `static_dir`.
    """
    static_dir = Path(static_dir)
    base = re.escape(asset_base.rstrip("/"))

    def local_file(rel: str) -> Path:
        path = (static_dir / rel).resolve()
        if not path.is_file():
            raise GeoInputError(f"Vendored asset {rel!r} is missing", where=str(static_dir),
                                fix="re-create the assets with scripts/vendor_assets.sh")
        return path

    def script(match: re.Match) -> str:
        js = local_file(match.group(1)).read_text(encoding="utf-8")
        return "<script>" + js.replace("</script", "<\\/script") + "</script>"

    def style(match: re.Match) -> str:
        path = local_file(match.group(1))
        css = _inline_css(path.read_text(encoding="utf-8"), path, fonts)
        return "<style>" + css.replace("</style", "<\\/style") + "</style>"

    html = re.sub(rf'<script[^>]*\bsrc="{base}/([^"]+)"[^>]*>\s*</script>',
                  script, html)
    return re.sub(rf'<link[^>]*\bhref="{base}/([^"]+)"[^>]*/?>', style, html)


def render_standalone(m: folium.Map, static_dir: str | Path = VENDOR_DIR, *,
                      fonts: bool = False) -> str:
    """Render `m` as one self-contained HTML page that works offline.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`base_map`.
    static_dir : str or Path, default VENDOR_DIR
        Folder holding the vendored assets.
    fonts : bool, default False
        Also inline the Font Awesome fonts (see :func:`inline_assets`).

    Returns
    -------
    str
        HTML with Leaflet, plugins, CSS and images inlined (about 0.9 MB).
    """
    asset_base = getattr(m, "asset_base", "/app/static/vendor")
    localize(m, asset_base=asset_base)
    return inline_assets(m.get_root().render(), static_dir, asset_base=asset_base,
                         fonts=fonts)


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
    boxes = [_to_wgs84(f, [], "frame").total_bounds for f in frames if len(f)]
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
        Tile URL template of a reachable tile server (``{z}/{x}/{y}``). ``None`` draws
        no basemap; the boundary layers then serve as the basemap.
    attribution : str, default ""
        Attribution for the tiles; required by most tile licences.
    asset_base : str, default "/app/static/vendor"
        URL prefix where the browser finds the vendored assets.
    height : int or str, optional
        Map height (pixels or a CSS length). ``None`` fills the container, which is
        what ``st_folium(m, height=...)`` expects.

    Returns
    -------
    folium.Map
        An :class:`OfflineMap` using a canvas renderer, with a scale bar.

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
        kwargs.update(tiles=tile_url, attr=attribution or " ")
    else:
        # Without a tile layer Leaflet has no maxZoom and marker clustering fails.
        kwargs.update(tiles=None, maxZoom=19)
    m = OfflineMap(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=13,
                   prefer_canvas=True, control_scale=True, **kwargs)
    m.asset_base = asset_base
    m.get_root().header.add_child(Element(_MAP_CSS), name="geo_maps_css")
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return localize(m, asset_base=asset_base)


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


# ------------------------------------------------------------------------- helpers
def _to_wgs84(gdf: gpd.GeoDataFrame, columns: Sequence[str], name: str, decimals: int = 5) -> gpd.GeoDataFrame:
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
    out = out.to_crs(4326)
    # ~1 m is plenty on screen and halves the GeoJSON sent to the browser.
    return out.set_geometry(shapely.transform(out.geometry.to_numpy(), lambda c: np.round(c, decimals)),
                            crs=4326)


def _tooltip(gdf: gpd.GeoDataFrame, fields: Sequence[str], aliases: Sequence[str],
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
        gdf[f"_t{i}"] = [_display(v, fmt) for v in gdf[field]]
        keys.append(f"_t{i}")
    if gdf.empty:  # folium refuses a tooltip on a layer without features
        return gdf, None
    return gdf, folium.GeoJsonTooltip(fields=keys, aliases=[safe.js_html(f"{a}:") for a in aliases],
                                      sticky=True)


def _display(value, fmt: str | None = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if fmt and isinstance(value, (int, float, np.number)):
        return fmt.format(value)
    if isinstance(value, (float, np.floating)):
        return f"{value:,.2f}"
    return safe.js_html(value)


def _layer_name(name: str) -> str:
    """Leaflet's layer control shows a layer's name as ``innerHTML``: escape it."""
    return safe.js_html(name)


def _geojson_data(gdf: gpd.GeoDataFrame, keep: Sequence[str]) -> dict:
    """GeoJSON of `gdf` with only the `keep` properties (all JSON-serialisable)."""
    return gdf[[*keep, gdf.geometry.name]].__geo_interface__


def _is_point_layer(gdf: gpd.GeoDataFrame) -> bool:
    return bool(len(gdf)) and set(gdf.geom_type.unique()) <= {"Point", "MultiPoint"}


def _cmap(name: str) -> branca.colormap.LinearColormap:
    variants = sorted(k for k in dir(branca.colormap.linear) if k.startswith(f"{name}_"))
    if not variants:
        raise GeoInputError(f"Unknown colour map {name!r}",
                            fix="use a ColorBrewer name such as 'YlOrRd', 'Blues' or 'PuRd'")
    return getattr(branca.colormap.linear, variants[-1]).scale(0, 1)


class _Legend(MacroElement):
    """A Leaflet control holding an HTML legend; hidden while its layer is off."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var legend = L.control({position: {{ this.position|tojson }}});
            legend.onAdd = function() {
                var div = L.DomUtil.create("div", "geo-legend");
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            legend.addTo(map);
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
    data = _to_wgs84(gdf, [column, *extra], "gdf", decimals)
    values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
    edges = _class_breaks(values, classes)
    n_classes = len(edges) - 1
    colormap = _cmap(cmap)
    palette = [colormap.rgb_hex_str(0.15 + 0.85 * (i + 0.5) / n_classes)
               for i in range(n_classes)]
    idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, n_classes - 1)
    data = data.assign(_fill=[palette[i] if np.isfinite(v) else _palette.LINE_COLORS["no_data"]
                              for i, v in zip(idx, values)])
    data, tooltip = _tooltip(data, [column, *extra], [label, *extra], {column: fmt})
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
                  outline: str = _palette.BOUNDARY_COLORS["edge"]) -> folium.FeatureGroup:
    """A layer of polygons filled with their ``_fill`` colour (data already in WGS84)."""
    group = folium.FeatureGroup(name=_layer_name(name))
    if len(data):
        folium.GeoJson(
            _geojson_data(data, [c for c in data.columns if c.startswith("_")]),
            style_function=lambda f: {"fillColor": f["properties"]["_fill"],
                                      "fillOpacity": opacity, "color": outline, "weight": 0.4},
            highlight_function=lambda f: {"weight": 2, "color": _palette.BOUNDARY_COLORS["highlight"]},
            tooltip=tooltip,
        ).add_to(group)
    group.add_to(m)
    return group


def add_categories(m: folium.Map, gdf: gpd.GeoDataFrame, column: str, colors: dict[str, str], *,
                   name: str, title: str, tooltip_fields: Sequence[tuple[str, str]] = (),
                   formats: dict[str, str] | None = None, legend_items=None,
                   opacity: float = 0.7) -> folium.FeatureGroup:
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

    Returns
    -------
    folium.FeatureGroup
        The layer, already added to `m` (its legend follows it in the layer control).
    """
    fields = [(f, lab) for f, lab in tooltip_fields if f in gdf.columns]
    data = _to_wgs84(gdf, [column, *[f for f, _ in fields if f != column]], "gdf")
    data = data.assign(_fill=data[column].astype(str).map(colors).fillna(_palette.FALLBACK))
    data, tooltip = _tooltip(data, [f for f, _ in fields], [lab for _, lab in fields], formats)
    group = _filled_group(m, data, tooltip, name=name, opacity=opacity, outline=_palette.BOUNDARY_COLORS["category_edge"])
    if legend_items is None:
        present = set(data[column].astype(str))
        legend_items = [(c, k) for k, c in colors.items() if k in present]
    add_legend(m, title, legend_items, layer=group)
    return group


def _category_colors(values: pd.Series) -> dict[str, str]:
    counts = values.astype(str).value_counts()
    colors = dict(zip(counts.index[:len(_CATEGORY_COLORS)], _CATEGORY_COLORS))
    return {cat: colors.get(cat, _OTHER_COLOR) for cat in counts.index}


_CLUSTER_CALLBACK = """
function callback(row) {
    var marker = L.circleMarker(new L.LatLng(row[0], row[1]),
        {radius: 4, color: row[2], fillColor: row[2], fillOpacity: 0.8, weight: 1});
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
    data = _to_wgs84(gdf, [*([color_by] if color_by else []), *fields], "gdf")
    if len(data) and not _is_point_layer(data):
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
        labels = ([" | ".join(_display(row[f]) for f in fields)
                   for _, row in data[fields].iterrows()] if fields else [""] * len(data))
        rows = [[round(y, 6), round(x, 6), c, t]
                for x, y, c, t in zip(data.geometry.x, data.geometry.y, fill, labels)]
        layer = folium.plugins.FastMarkerCluster(rows, callback=_CLUSTER_CALLBACK,
                                                 icon_create_function=_CLUSTER_ICON,
                                                 name=_layer_name(name))
    else:
        data = data.assign(_fill=fill)
        data, tooltip = _tooltip(data, fields, fields)
        layer = folium.FeatureGroup(name=_layer_name(name))
        folium.GeoJson(
            _geojson_data(data, [c for c in data.columns if c.startswith("_")]),
            marker=folium.CircleMarker(radius=radius, weight=1, fill=True,
                                       fill_opacity=0.8),
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


def _site_kind(value) -> str:
    kind = re.sub(r"[_\s]+", " ", str(value)).strip().lower()
    return kind if kind in SITE_COLORS else "other"


def add_sites(m: folium.Map, gdf: gpd.GeoDataFrame, *, kind_col: str = "kind",
              name_col: str = "name", buffers_m: Sequence[float] = (200,),
              name: str = "Sensitive sites") -> folium.FeatureGroup:
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

    Returns
    -------
    folium.FeatureGroup
        The layer, already added to `m`.

    Raises
    ------
    GeoInputError
        If `gdf` has no CRS or lacks `kind_col` or `name_col`.
    """
    data = _to_wgs84(gdf, [kind_col, name_col], "sites")
    if gdf.crs.is_projected:
        metric = gdf.crs
    else:  # UTM zone of the sites; an empty frame has none, and needs no buffers
        metric = data.estimate_utm_crs() if len(data) else "EPSG:3857"
    kinds = data[kind_col].map(_site_kind)
    data = data.assign(_fill=kinds.map(SITE_COLORS))
    group = folium.FeatureGroup(name=_layer_name(name))

    points = bool(len(data)) and (data.geom_type == "Point").all()
    in_metres = data.to_crs(metric)
    for radius in sorted(buffers_m, reverse=True):
        if points:  # a Leaflet circle of `radius` metres: the page carries one point per ring
            rings = data.copy()
        else:
            rings = in_metres.assign(_fill=data["_fill"].to_numpy(),
                                     geometry=in_metres.buffer(radius)).to_crs(4326)
        rings = rings.assign(_t0=[f"{radius:,.0f} m of {safe.js_html(n)}"
                                  for n in rings[name_col]])
        folium.GeoJson(
            _geojson_data(rings, ["_fill", "_t0"]),
            marker=folium.Circle(radius=float(radius)) if points else None,
            style_function=lambda f: {"color": f["properties"]["_fill"], "weight": 1.5,
                                      "dashArray": "5 4",
                                      "fillColor": f["properties"]["_fill"],
                                      "fillOpacity": 0.06},
            tooltip=(folium.GeoJsonTooltip(fields=["_t0"], labels=False)
                     if len(rings) else None),
        ).add_to(group)

    data = data.assign(_kind=kinds.str.capitalize())
    data, tooltip = _tooltip(data, [name_col, "_kind"], ["Site", "Kind"])
    folium.GeoJson(
        _geojson_data(data, ["_fill", "_t0", "_t1"]),
        marker=folium.CircleMarker(radius=7, weight=2, fill=True, fill_opacity=0.95),
        style_function=lambda f: {"color": _palette.BOUNDARY_COLORS["site_edge"], "fillColor": f["properties"]["_fill"],
                                  "weight": 2, "fillOpacity": 0.95},
        tooltip=tooltip,
    ).add_to(group)
    group.add_to(m)

    present = [k for k in SITE_COLORS if k in set(kinds)]
    rings = ", ".join(f"{r:,.0f}" for r in sorted(buffers_m))
    title = f"{name} (rings: {rings} m)" if buffers_m else name
    add_legend(m, title, [(SITE_COLORS[k], k.capitalize()) for k in present], layer=group)
    return group


def add_boundaries(m: folium.Map, gdf: gpd.GeoDataFrame, *, name: str, name_col: str,
                   color: str = _palette.BOUNDARY_COLORS["outline"], weight: float = 2) -> folium.FeatureGroup:
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

    Returns
    -------
    folium.FeatureGroup
        The layer, already added to `m`.
    """
    return _named_polygons(m, gdf, name=name, name_col=name_col, what="boundaries",
                           style={"color": color, "weight": weight, "fill": False},
                           highlight={"weight": weight + 2})


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
                    style: dict, highlight: dict | None = None) -> folium.FeatureGroup:
    """A layer of polygons drawn in one fixed style, each named on hover."""
    data = _to_wgs84(gdf, [name_col], what)
    data, tooltip = _tooltip(data, [name_col], [name])
    group = folium.FeatureGroup(name=_layer_name(name))
    folium.GeoJson(
        _geojson_data(data, ["_t0"]),
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
