"""The Hotspots page's default runs kept in the workspace store, so that the first switch to a method
in a new server or session loads its result instead of computing it.

For the selection the page opens with (:func:`page_defaults`: the first layer, all its months, all
types, harm when the layer has harm weights, the automatic parameters of
:func:`geo.hotspot_runs.default_params` on squares, the workspace's site buffers, names from the finest
boundaries) and for each scope a user can have (:func:`geo.access.stored_scopes`: the whole force, and
each single BCU an inspector may be limited to), one :class:`dict` per method holds what the page shows:
the automatic parameters, the run, the site exposure and nearest sites, the table, and the map layer's
data (:func:`geo.hotspot_runs.hotspot_layer_data`: the GeoJSON text with its colours and escaped tooltips,
so a first switch draws the layer without building it) (:data:`PARTS`). It is built by the same service functions the page calls
(:func:`geo.services.hotspot_default_steps`) and only kept here.

Its key (:func:`bundle_key`) names the scope (:func:`geo.access.read_bcus`: an inspector's BCUs, or
none), the layer, months, types, measure and method, the data version
(:func:`geo.stored_results.data_version` without the operations register: the imports, harm weights,
workspace and global settings) and the code (:func:`code_version`: every module of ``geo``). Any change gives a new
key, so a stale result is never asked for. The blob is signed like every stored result
(:func:`geo.stored_results.pack_result`): one that does not verify is never unpickled. It is read only
by :func:`geo.services.stored_hotspots`, after its access check.

References
----------
Python documentation, ``pickle`` ("Consider signing data with hmac"),
https://docs.python.org/3/library/pickle.html
"""
from __future__ import annotations


from .stored_results import data_version, digest

__all__ = ["KEEP", "PARTS", "bundle_key", "code_version", "page_defaults", "bundle_op_id", "is_bundle"]

#: What a stored bundle holds: the page's own arguments (``params``, ``buffers``, ``word``, ``level``,
#: compared before any part is used) and its results.
PARTS = ("params", "buffers", "word", "level", "auto", "run", "exposure", "nearest", "table", "layer")
#: Bundles kept per method and scope (the newest): this data version's and the one before (a run of the
#: whole force is about 2 MB; eight versions of 25 bundles would add some 150 MB to a workspace).
KEEP = 2


def code_version() -> str:
    """A digest of the code a bundle is computed by: :func:`geo.stored_results.code_version`
    (every module of ``geo``), kept apart from the other kinds of kept result."""
    from .stored_results import code_version as digest
    return digest("hotspots")


def page_defaults(ws, *, layer: str | None = None) -> dict | None:
    """What the Hotspots page opens with on ``ws`` (``None`` without incidents): ``layer``, ``months``
    (first, last), ``categories`` (``()``: all), ``weighted``, ``shape``, ``buffers`` (metres, sorted)
    and ``level`` (of the table's names).

    The same rules as the page's sidebar (``dashboard.ui.incident_filters``): harm when any type of
    the layer has a harm weight, else counts.
    """
    from .labels import has_harm_weights
    s = ws.store
    layers = s.layers()
    if not layers:
        return None
    layer = layer or layers[0]
    months = s.months(layer)
    if not months:
        return None
    buffers = tuple(ws.setting("site_buffers_m"))
    levels = s.boundary_levels()
    return {"layer": layer, "months": (months[0], months[-1]), "categories": (),
            "weighted": bool(has_harm_weights(s.categories(layer), ws.harm_table())), "shape": "square",
            "buffers": tuple(sorted({float(int(buffers[0])), float(int(buffers[-1]))})),
            "level": next((lv for lv in ("ward", "neighbourhood", "lsoa") if lv in levels), None)}


def bundle_key(store, *, scope, layer: str, months, categories, weighted: bool, method: str) -> str:
    """The key of ``method``'s bundle for ``scope`` (:func:`geo.access.read_bcus` of the user: ``None``
    or BCU codes) and the selection, in ``store`` as it is now (see the module docstring)."""
    return digest({"hotspots": {"scope": None if scope is None else sorted(str(c) for c in scope),
                                    "layer": str(layer), "months": [str(m) for m in months],
                                    "categories": sorted(str(c) for c in categories or ()),
                                    "weighted": bool(weighted), "method": str(method)},
                       "data": data_version(store, register=False), "code": code_version()})


def bundle_op_id(method: str, scope) -> str:
    """The "operation" a bundle is kept under (the store keeps the newest few of each): one per
    method and scope, so one scope's new data version never pushes out another's."""
    return f"hotspots {method} {'force' if scope is None else '+'.join(scope)}"


def is_bundle(found) -> bool:
    """Whether ``found`` (a loaded stored result) is a bundle of this form."""
    return isinstance(found, dict) and set(PARTS) <= set(found)
