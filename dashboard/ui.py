"""Small display helpers shared by pages: readable tables, numbers, dates and empty states.

The labels themselves (column names, area names, rounding) are decided in
:mod:`geo.labels`; :func:`table` shows any frame through it with ``st.column_config``.
"""
from __future__ import annotations

from geo.labels import date_label, when_label  # noqa: F401  (used by pages as ui.date_label, ui.when_label)
from geo.periods import month_label  # noqa: F401  ('2024-01' -> 'Jan 2024'), used by pages as ui.month_label

_FORMATS = {"int": "localized", "float2": "%.2f", "pvalue": "%.3f", "share": "%.0f%%"}


def column_config(spec: dict) -> dict:
    """``st.column_config`` for the ``(label, kind)`` pairs of :func:`geo.labels.readable`."""
    import streamlit as st
    out = {}
    for col, (label, kind) in spec.items():
        if kind == "text":
            out[col] = st.column_config.TextColumn(label)
        else:
            out[col] = st.column_config.NumberColumn(label, format=_FORMATS[kind])
    return out


def table(df, *, names: dict | None = None, measure: str = "Harm (days)", config: dict | None = None, **kwargs):
    """Show ``df`` readably: names not codes, human column labels, separators, whole days, "Mar 2024".

    ``names`` maps area codes to names (:func:`area_names`); ``measure`` is the label of
    ``harm`` (``"Calls"`` on a layer without harm weights); ``config`` overrides single
    columns; the rest goes to ``st.dataframe`` (``hide_index`` defaults to True).
    """
    import streamlit as st

    from geo.labels import readable
    shown, spec = readable(df, names=names, measure=measure)
    cfg = column_config(spec)
    cfg.update(config or {})
    kwargs.setdefault("hide_index", True)
    return st.dataframe(shown, column_config=cfg, **kwargs)


def area_names(path: str, version: float) -> dict:
    """Code -> name of every boundary in the workspace (BCUs, wards, LSOAs), cached with the boundaries."""
    from dashboard import data
    from geo.labels import area_names as names
    return names(data.boundaries(path, version))


def num(x, digits: int = 0) -> str:
    """Thousands separators; '–' for missing."""
    if x is None or x != x:
        return "–"
    return f"{x:,.{digits}f}"


def pct(x) -> str:
    if x is None or x != x:
        return "–"
    return f"{x:+.0f}%"


def count_columns(*names: str, labels: dict | None = None) -> dict:
    """Column configs that show whole numbers with thousands separators."""
    import streamlit as st
    labels = labels or {}
    return {n: st.column_config.NumberColumn(labels.get(n, n), format="localized") for n in names}


def incident_filters(info: dict, layer: str, prefix: str, *, measure_label: str = "Show"):
    """Sidebar filters shared by the map pages: months, types and count-or-harm.

    Call inside ``with st.sidebar``. Widget keys are ``<prefix>_months``, ``<prefix>_types``
    and ``<prefix>_measure``. Returns ``(first month, last month, types, measure)``; an
    empty ``types`` list means all types.
    """
    import streamlit as st

    from geo.safe import md
    months = info["crime_months"] if layer == "crime" else info["calls_months"]
    if len(months) > 1:
        m0, m1 = st.select_slider("Months", options=months, value=(months[0], months[-1]),
                                  format_func=month_label, key=f"{prefix}_months")
    else:
        m0 = m1 = months[0]
        st.caption(f"Month: {md(month_label(m0))}")
    cats_all = info["crime_categories"] if layer == "crime" else info["calls_categories"]
    cats = st.multiselect("Crime types" if layer == "crime" else "Call groups", cats_all,
                          placeholder="All types", key=f"{prefix}_types")
    if not layer_weighted(info, layer):
        st.caption(f"{'Calls' if layer == 'calls' else 'Incidents'} here have no harm weights, so they are "
                   "counted, not weighed as harm.")
        return m0, m1, cats, "Count"
    measure = st.radio(measure_label, ["Harm", "Count"], horizontal=True, key=f"{prefix}_measure",
                       help="Harm weighs each incident by its harm (days, Cambridge Crime Harm Index); "
                            "count treats every incident the same.")
    return m0, m1, cats, measure


def layer_weighted(info: dict, layer: str) -> bool:
    """True if the current workspace's harm table weighs any category of ``layer``."""
    from dashboard import data
    from geo.labels import has_harm_weights
    path = data.current_path()
    if path is None:
        return True
    cats = info.get("crime_categories" if layer == "crime" else "calls_categories") or []
    return has_harm_weights(cats, data.harm_table(str(path), data.version(path)))


def measure_name(info: dict, layer: str) -> str:
    """What the ``harm`` column measures on ``layer``: "Harm (days)", or "Calls" / "Incidents" without weights."""
    from geo.labels import measure_label
    return measure_label(layer_weighted(info, layer), layer=layer)


# ------------------------------------------------------------------ maps with a kept base map
# A layer is ``(draw, frame, options)`` or ``(draw, frame, options, layer_key)``: with a hashable
# ``layer_key`` (everything the drawing depends on), its folium groups are kept in the session and
# passed again while the key is unchanged (no GeoJSON built, formatted and encoded again per run).
KEPT_LAYERS = 8  # kept groups per session and map: the last few states of each filter


def draw_layers(m, layers: list) -> None:
    """Draw each ``(draw, frame, options[, layer_key])`` of ``layers`` on the folium map `m`."""
    for draw, frame, options, *_ in layers:
        draw(m, frame, **options)


def full_map(base, layers: list) -> str:
    """The whole map, `base` (a fresh folium map) with ``layers`` drawn on it, as one offline HTML page
    (for a download: runs when clicked, from its arguments only)."""
    from geo import maps
    draw_layers(base, layers)
    return maps.render_standalone(maps.finish(base))


def layer_groups(memo_name: str, memo_key: tuple, layers: list) -> list:
    """The feature groups of ``layers`` (:func:`geo.maps.dynamic_layers`), in order.

    A layer with a ``layer_key`` is drawn once per session for that key and its groups are
    reused (the last :data:`KEPT_LAYERS` keys of the map ``memo_name`` are kept, and forgotten
    when its ``memo_key``, e.g. the data version, changes); one without is drawn every run.
    """
    import streamlit as st

    from geo import maps
    maps_kept = st.session_state.setdefault("kept_layers", {})
    if maps_kept.get(memo_name, (None,))[0] != memo_key:
        maps_kept[memo_name] = (memo_key, {})
    kept = maps_kept[memo_name][1]
    groups = []
    for layer in layers:
        layer_key = layer[3] if len(layer) > 3 else None
        held = kept.pop(layer_key, None) if layer_key is not None else None
        if held is None:
            scratch = maps.base_map((-1.0, 53.0, -1.0, 53.0))  # only its layers are used
            draw_layers(scratch, [layer])
            held = maps.dynamic_layers(scratch)
        if layer_key is not None:
            kept[layer_key] = held  # most recently used last
            while len(kept) > KEPT_LAYERS:
                kept.pop(next(iter(kept)))
        groups.extend(held)
    return groups


def kept_map(memo_name: str, memo_key: tuple, build_base, layers: list, *, key: str, height: int) -> None:
    """Show a map whose base stays mounted in the browser; only ``layers`` are swapped.

    The base map (``build_base()``) is built once per session for ``memo_key``
    (``data.session_memo``); ``st_folium`` keeps its component mounted while the base map's
    script is unchanged and swaps the groups of :func:`geo.maps.dynamic_layers` (each with its
    legend) in place. Layers with a key are kept between runs (:func:`layer_groups`).
    """
    from streamlit_folium import st_folium

    from dashboard import data
    from geo import maps
    base = data.session_memo(memo_name, memo_key, lambda: maps.swappable(build_base()))
    groups = layer_groups(memo_name, memo_key, layers)
    with maps.swapping(base, groups):  # st_folium adds the groups and the control to the base map: taken off again
        st_folium(base, feature_group_to_add=groups, layer_control=maps.layer_control(first=groups),
                  returned_objects=[], height=height, use_container_width=True, key=key, render=False)


def basemap(info: dict) -> dict:
    """``tile_url`` and ``attribution`` for :func:`geo.maps.base_map`: the workspace's basemap
    (an installed :mod:`geo.tiles` basemap or a tile server, set by an admin), else the default (none)."""
    from geo.settings import settings
    s = info.get("settings") or {}
    url = s.get("tile_url") or settings.tile_url
    return {"tile_url": url, "attribution": (s.get("tile_attribution") or settings.tile_attribution) if url else ""}
