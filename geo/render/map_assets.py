"""Offline assets of the folium maps: vendored Leaflet and plugins, escaping, standalone export.

folium loads Leaflet, jQuery, Bootstrap and its plugins from public CDNs, which police
networks often block, leaving a blank map. Every map built by :mod:`geo.render.maps`
loads them from local copies instead: ``dashboard/static/vendor/`` (see its
``LICENSES.md``), which Streamlit serves at ``/app/static/vendor`` when
``server.enableStaticServing`` is on. For an exported file, :func:`render_standalone`
inlines the same assets so the HTML opens offline on its own.
"""
from __future__ import annotations

import base64
import logging
import mimetypes
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import branca.colormap
import branca.element
import folium
import folium.features
import folium.map
import folium.utilities

from geo import safe
from geo.errors import GeoInputError

logger = logging.getLogger(__name__)

__all__ = ["LOCAL_ASSETS", "VENDOR_DIR", "FastGeoJson", "OfflineMap", "escape_raw_text", "inline_assets",
           "localize", "render_standalone"]

#: Folder holding the vendored assets; Streamlit serves it at ``/app/static/vendor``.
VENDOR_DIR = Path(__file__).resolve().parents[2] / "dashboard" / "static" / "vendor"

#: folium's asset names (the first item of each ``default_js``/``default_css`` pair)
#: and the local file under :data:`VENDOR_DIR` that replaces the CDN copy. ``None``
#: drops the asset (Bootstrap 3 glyphicons: use ``prefix="fa"`` icons instead).
LOCAL_ASSETS: dict[str, str | None] = {
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


# --------------------------------------------------------------------------- assets
class OfflineMap(folium.Map):
    """A :class:`folium.Map` whose every asset, plugins included, is served locally.

    Just before rendering, every element in the map is passed through
    :func:`localize`, so layers added with plain folium (``HeatMap``, ``Draw``...)
    are covered too, and through :func:`escape_raw_text`, so a plain-string
    ``tooltip=`` or ``popup=`` given to any folium layer is shown as text.
    """

    asset_base: str = "/app/static/vendor"
    #: Render only once (:func:`geo.render.maps.swappable`): a base map kept between runs, whose
    #: layers never change, is rendered again by every ``st_folium`` call.
    render_once: bool = False

    def render(self, **kwargs):
        if self.render_once and self.__dict__.get("_geo_rendered"):
            return
        localize(self, asset_base=self.asset_base)
        escape_raw_text(self)
        super().render(**kwargs)
        self._geo_rendered = True


class _Text(branca.element.Element):
    """Text already rendered: branca would compile it as a Jinja template again."""

    def __init__(self, text: str):
        super().__init__()
        self._text = text

    def render(self, **kwargs) -> str:
        return self._text


class FastGeoJson(folium.GeoJson):
    """:class:`folium.GeoJson` that does not compile its own rendered script as a template.

    branca's ``MacroElement.render`` wraps each rendered macro in ``Element(text)``,
    which compiles the text, the whole GeoJSON included, as a Jinja template: for a
    map of the force's LSOAs that tokenising was about a third of the page's run time.
    This class renders the same output (folium 0.20: ``GeoJson.render`` ->
    ``Layer.render`` -> ``MacroElement.render``) and adds it as plain text.
    """

    #: The template whose macros are rendered (a subclass may bring its own with the same macros).
    _source = folium.GeoJson._template

    def _get_self_bounds(self):
        """The data's ``bbox`` member if :func:`geo.render.maps.geojson_data` set it (no loop over coordinates)."""
        box = self.data.get("bbox") if isinstance(self.data, dict) else None
        if box is not None and len(box) == 4:
            return [[box[1], box[0]], [box[3], box[2]]]
        return super()._get_self_bounds()

    def render(self, **kwargs):
        if self.includes:  # not used by GeoJson; keep folium's own path if it ever is
            return super().render(**kwargs)
        self.parent_map = folium.utilities.get_obj_in_upper_tree(self, folium.Map)
        if (self.style or self.highlight) and self.data["features"] and not self.__dict__.get("_geo_styled"):
            mapper = folium.features.GeoJsonStyleMapper(self.data, self.feature_identifier, self)
            if self.style:
                self.style_map = mapper.get_style_map(self.style_function)
            if self.highlight:
                self.highlight_map = mapper.get_highlight_map(self.highlight_function)
            self._geo_styled = True  # the data never change: rendering again reuses the style maps
        if self.show:
            name = self.get_name() + "_add"
            if name not in self._children:
                self.add_child(folium.map.ElementAddToElement(element_name=self.get_name(),
                                                              element_parent_name=self._parent.get_name()),
                               name=name)
        figure = self.get_root()
        for part in ("header", "html", "script"):
            text = self._macro_text(part, kwargs)
            if text is not None:
                getattr(figure, part).add_child(_Text(text), name=self.get_name())
        for element in list(self._children.values()):
            element.render(**kwargs)

    def _macro_text(self, part: str, kwargs=None) -> str | None:
        """The template's `part` macro for this layer, kept while its names are unchanged.

        A base map that stays in the browser is rendered again on every run of the page
        (``st_folium`` renders it and then reads each element's ``script`` macro): the
        GeoJSON is encoded once per name instead of twice per run.
        """
        macro = type(self)._source.module.__dict__.get(part)
        if macro is None:
            return None
        key = (part, self.get_name(), self._parent.get_name() if self._parent is not None else None)
        cache = self.__dict__.setdefault("_geo_text", {})
        if key not in cache:
            cache.clear() if len(cache) > 8 else None
            cache[key] = macro(self, kwargs or {})
        return cache[key]

    @property
    def _template(self):
        return _CachedMacros(self)

    @_template.setter
    def _template(self, value):  # folium's __init__ assigns the class template; the class keeps it
        pass


class _CachedMacros:
    """``layer._template`` as ``st_folium`` reads it (``.module.script(layer)``): :meth:`FastGeoJson._macro_text`."""

    def __init__(self, layer: FastGeoJson):
        self.module = self
        self._layer = layer

    def script(self, this, kwargs=None):
        return this._macro_text("script", kwargs)

    def header(self, this, kwargs=None):
        return this._macro_text("header", kwargs) or ""

    def html(self, this, kwargs=None):
        return this._macro_text("html", kwargs) or ""

    def render(self, **kwargs):
        return folium.GeoJson._template.render(**kwargs)


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
        if name in LOCAL_ASSETS:
            local = LOCAL_ASSETS[name]
            if local is not None:
                out.append((name, f"{asset_base.rstrip('/')}/{local}"))
        elif re.match(r"(https?:)?//", url):
            logger.warning(
                "Dropped %s asset %r (%s): it is not vendored, so it would be fetched "
                "from the internet. Add it to dashboard/static/vendor and to "
                "geo.render.map_assets.LOCAL_ASSETS.", owner, name, url)
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
