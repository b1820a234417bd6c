"""The Hotspots page's caches: thin wrappers over :mod:`geo.services`, like :mod:`dashboard.data`.

Split from :mod:`dashboard.data` (which re-exports every public name here, so pages call
``data.hotspots`` and so on); the same rules hold: keyed by ``(path, version, role_key, ...)``,
no access decision of its own.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from geo import services
from dashboard.data import _boundaries, _incidents_shared


# Keyed like the incidents they read: (path, version, role_key, filters, method, params).
@st.cache_data(show_spinner=False, max_entries=8)
def _hotspot_inputs(path: str, version: float, role_key: tuple, layer: str, months, categories):
    """The selected incidents and the study area (an inspector's BCUs, else the force)."""
    inc = _incidents_shared(path, version, layer, ("mapped",), role_key)  # read-only; select makes a new frame
    return services.hotspot_inputs(path, user=role_key, layer=layer, months=months, categories=categories,
                                   incidents=inc)


# Streamlit keys a cached value by the arguments *as passed* (positional and keyword pairs in call order),
# so ``f(a, b=1)`` and ``f(a, 1)`` are two entries computed twice. The page, the warm-up and the functions
# below call each other with different spellings: the public names pass everything on positionally.
def hotspot_defaults(path: str, version: float, role_key: tuple, layer: str, months: tuple,
                     categories: tuple, method: str, weighted: bool) -> dict:
    """The cell size / bandwidth / eps / min_samples / period the method would choose."""
    return _hotspot_defaults(path, version, role_key, layer, tuple(months), tuple(categories), method, weighted)


# The page's default runs kept in the workspace (geo.stored_hotspots): looked up once per selection and
# method (after the service's access check, under the user's own scope); a part is used only where the
# page's own arguments equal the bundle's, else it is computed as before.
@st.cache_resource(show_spinner=False, max_entries=32)
def _kept(path, version, role_key, layer, months, categories, method, weighted):
    return services.stored_hotspots(path, user=role_key, layer=layer, months=months, categories=categories,
                                    method=method, weighted=weighted)


def _kept_part(part: str, path, version, role_key, layer, months, categories, method, weighted, **asked):
    """``part`` of the kept bundle when its ``asked`` arguments (``params``, ``buffers``, ``word``,
    ``level``) equal the bundle's, else ``None``."""
    kept = _kept(path, version, role_key, layer, months, categories, method, weighted)
    if kept is None or any(_same(kept[name]) != _same(value) for name, value in asked.items()):
        return None
    return kept[part]


def kept_run(path: str, version: float, role_key: tuple, layer: str, months: tuple, categories: tuple, method: str,
             weighted: bool, params: tuple, buffers: tuple) -> bool:
    """Whether the kept bundle answers this selection's automatic parameters, run and site exposure (so the
    warm-up computes nothing for it: no scikit-learn import, no site exposure of the selection). ``False``
    when the lookup fails (the computation then says why)."""
    try:
        return _kept_part("run", path, version, role_key, layer, tuple(months), tuple(categories), method,
                          weighted, params=tuple(params), buffers=tuple(buffers)) is not None
    except Exception:  # noqa: BLE001 - e.g. no such workspace: computed, and its error shown by the page
        return False


def _same(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


@st.cache_data(show_spinner=False, max_entries=32)
def _hotspot_defaults(path, version, role_key, layer, months, categories, method, weighted) -> dict:
    kept = _kept_part("auto", path, version, role_key, layer, months, categories, method, weighted)
    if kept is not None:
        return kept
    return services.hotspot_defaults(path, user=role_key, layer=layer, method=method, weighted=weighted,
                                     inputs=_hotspot_inputs(path, version, role_key, layer, months, categories))


def hotspots(path: str, version: float, role_key: tuple, layer: str, months: tuple, categories: tuple,
             method: str, weighted: bool, params: tuple):
    """:func:`geo.services.find_hotspots` on the selection; ``params`` is a sorted tuple of pairs.

    Shared between runs and sessions of the same scope: never modify the result (filtering and
    ``assign`` make new frames and are fine).
    """
    return _hotspots(path, version, role_key, layer, tuple(months), tuple(categories), method, weighted,
                     tuple(params))


# The runs and the site exposure are shared read-only (cache_resource): a cache hit hands back
# the same object at once instead of unpickling thousands of polygons on every rerun.
@st.cache_resource(show_spinner=False, max_entries=16)
def _hotspots(path, version, role_key, layer, months, categories, method, weighted, params):
    kept = _kept_part("run", path, version, role_key, layer, months, categories, method, weighted, params=params)
    if kept is not None:
        return kept
    return services.find_hotspots(path, user=role_key, layer=layer, method=method, weighted=weighted,
                                  params=dict(params),
                                  inputs=_hotspot_inputs(path, version, role_key, layer, months, categories))


def hotspot_layer(path: str, version: float, role_key: tuple, layer: str, months: tuple, categories: tuple,
                  method: str, weighted: bool, params: tuple):
    """The map layer of :func:`hotspots` as the page draws it by default (its own classes, ``class`` column):
    :func:`geo.hotspot_runs.hotspot_layer_data`, from the kept bundle when it answers the selection, else made
    once here. Shared read-only."""
    return _hotspot_layer(path, version, role_key, layer, tuple(months), tuple(categories), method, weighted,
                          tuple(params))


@st.cache_resource(show_spinner=False, max_entries=16)
def _hotspot_layer(path, version, role_key, layer, months, categories, method, weighted, params):
    from geo.hotspot_runs import hotspot_layer_data
    kept = _kept_part("layer", path, version, role_key, layer, months, categories, method, weighted, params=params)
    if kept is not None:
        return kept
    run = hotspots(path, version, role_key, layer, months, categories, method, weighted, params)
    return hotspot_layer_data(run.layer, classes=run.classes, method=method)


def hotspot_sites(path: str, version: float, role_key: tuple, layer: str, months: tuple, categories: tuple,
                  method: str, weighted: bool, params: tuple, buffers: tuple):
    """Site exposure (the sites of the user's area) and, per hot spot, the nearest site of each kind
    (shared read-only, like :func:`hotspots`)."""
    return _hotspot_sites(path, version, role_key, layer, tuple(months), tuple(categories), method, weighted,
                          tuple(params), tuple(buffers))


@st.cache_resource(show_spinner=False, max_entries=16)
def _hotspot_sites(path, version, role_key, layer, months, categories, method, weighted, params, buffers):
    kept = _kept_part("run", path, version, role_key, layer, months, categories, method, weighted, params=params,
                      buffers=buffers)
    if kept is not None:
        held = _kept(path, version, role_key, layer, months, categories, method, weighted)
        return held["exposure"], held["nearest"]
    run = hotspots(path, version, role_key, layer, months, categories, method, weighted, params)
    base, _ = site_exposure_base(path, version, role_key, layer, months, categories, buffers)
    return services.hotspot_site_exposure(path, user=role_key, run=run, layer=layer, buffers=buffers, base=base,
                                          inputs=_hotspot_inputs(path, version, role_key, layer, months,
                                                                 categories))


def site_exposure_base(path: str, version: float, role_key: tuple, layer: str, months: tuple, categories: tuple,
                       buffers: tuple):
    """Site exposure of the selection without hot spots (incidents, harm and trend near each site):
    the same for every method, so :func:`hotspot_sites` computes it once per selection and adds only
    each method's hot-spot columns. Shared read-only."""
    return _site_exposure_base(path, version, role_key, layer, tuple(months), tuple(categories), tuple(buffers))


@st.cache_resource(show_spinner=False, max_entries=8)
def _site_exposure_base(path, version, role_key, layer, months, categories, buffers):
    return services.hotspot_site_exposure(path, user=role_key, run=None, layer=layer, buffers=buffers,
                                          inputs=_hotspot_inputs(path, version, role_key, layer, months,
                                                                 categories))


def hotspot_table(path: str, version: float, role_key: tuple, layer: str, months: tuple, categories: tuple,
                  method: str, weighted: bool, params: tuple, buffers: tuple, word: str, level: str | None):
    """The hot spots of :func:`hotspots` as a table: ``where`` ("hexagon near <ward>", from the
    boundaries of ``level``), most harm (else most intense, else most incidents) first, and the
    nearest site of each kind from :func:`hotspot_sites`. No geometry; cached by its inputs."""
    return _hotspot_table(path, version, role_key, layer, tuple(months), tuple(categories), method, weighted,
                          tuple(params), tuple(buffers), word, level)


@st.cache_data(show_spinner=False, max_entries=16)
def _hotspot_table(path, version, role_key, layer, months, categories, method, weighted, params, buffers, word,
                   level):
    from geo.hotspot_runs import hotspot_table as table
    kept = _kept_part("table", path, version, role_key, layer, months, categories, method, weighted, params=params,
                      buffers=buffers, word=word, level=level)
    if kept is not None:
        return kept
    run = hotspots(path, version, role_key, layer, months, categories, method, weighted, params)
    _, nearest = hotspot_sites(path, version, role_key, layer, months, categories, method, weighted, params,
                               buffers)
    return table(run, nearest, _boundaries(path, version, level, role_key) if level else None, word=word)


@st.cache_data(show_spinner=False, max_entries=8)
def calls_vs_crime(path: str, version: float, role_key: tuple, months: tuple, cell_size: float | None,
                   shape: str, weighted: bool):
    """:func:`geo.services.calls_vs_crime` on the workspace's calls and crime layers."""
    return services.calls_vs_crime(path, user=role_key, months=months, cell_size=cell_size, shape=shape,
                                   weighted=weighted,
                                   calls=_hotspot_inputs(path, version, role_key, "calls", months, ()),
                                   crime=_hotspot_inputs(path, version, role_key, "crime", months, ()))


def gpkg_bytes(layers: dict) -> bytes:
    """A GeoPackage of ``{layer name: GeoDataFrame}`` as bytes, for a download button."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "export.gpkg"
        for name, frame in layers.items():
            frame.to_file(out, layer=name, driver="GPKG")
        return out.read_bytes()


