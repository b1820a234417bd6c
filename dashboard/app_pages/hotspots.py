"""Hotspots page: where harm concentrates, which hot spots hold up, and the sites exposed to them."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import streamlit as st

from streamlit_folium import st_folium

from dashboard import data, ui, warm
from geo import labels, maps, safe
from geo.errors import GeoInputError
from geo.hotspot_runs import (CALLS_CRIME_CLASSES, METHODS, SIMPLE_LABELS, add_hotspot_layer, default_params,
                              export_layers)
from geo.settings import SENSITIVE_SITE_KINDS, settings
from geo.sites import most_exposed

path, key, ver, info = data.current()
st.title(f"Hotspots · {safe.md(info['name'])}")

layers = info["layers"]
if not layers:
    st.info("This workspace holds no incidents yet. Import police.uk crime or calls for service on the "
            "**Data and imports** page, then come back to find hot spots.")
    st.stop()
data.incidents_readonly(key, ver, layers[0])  # checks the role may see incident-level data (shared)
role_key = data.user_key()

# ------------------------------------------------------------------ what to analyse
with st.sidebar:
    st.markdown("### Incidents")
    if len(layers) > 1:
        layer = st.radio("Layer", layers, format_func={"crime": "Recorded crime", "calls": "Calls for service"}.get,
                         horizontal=True, key="hs_layer")
    else:
        layer = layers[0]
    m0, m1, cats, measure = ui.incident_filters(info, layer, "hs", measure_label="Measure")
    st.markdown("### Sensitive sites")
    default_buffers = tuple(info["settings"].get("site_buffers_m", settings.site_buffers_m))
    b_inner = st.number_input("Inner buffer (m)", 25, 2000, int(default_buffers[0]), step=25, key="hs_buffer_in")
    b_outer = st.number_input("Outer buffer (m)", 25, 5000, int(default_buffers[-1]), step=25, key="hs_buffer_out")
    st.checkbox("Rank other sites too", value=False, key="hs_other_sites",
                help="Ordinary pharmacies, clinics and hospitals are not sensitive sites and are left out of "
                     "the rankings unless you tick this.")


def base_parts(layer: str) -> dict:
    """What the base map draws (framing, tiles, BCU outlines), read now: none of it depends on the method."""
    frame = data.map_frame(key, ver, role_key)  # the user's own area (an inspector's BCU), else the force
    return {"frame": frame if len(frame) else data.incidents_readonly(key, ver, layer),
            **ui.basemap(info),
            "bcu": data.map_boundaries(key, ver, role_key, "bcu")}  # cached, simplified, in WGS84


def draw_base(parts: dict):
    """A base map with the layers of :func:`base_parts` (no layer control)."""
    m = maps.base_map(maps.wgs84_bounds(parts["frame"]), tile_url=parts["tile_url"],
                      attribution=parts["attribution"])
    if len(parts["bcu"]):
        maps.add_boundaries(m, parts["bcu"], name="BCUs", name_col="name")
    return m


def hotspot_png(parts: dict, drawn: list, layer_frame) -> bytes:
    """The map as drawn (hot-spot classes of ``layer_frame``, BCUs, the most exposed sites) as a PNG, for a
    document."""
    from geo.render.map_view import classes_png
    opts = drawn[0][2]
    sites = drawn[1][1] if len(drawn) > 1 else None
    frame = parts["frame"] if parts["frame"].geom_type.isin(["Polygon", "MultiPolygon"]).all() else None
    return classes_png(layer_frame, classes=opts["classes"], column=opts["column"], title=opts["title"],
                       frame=frame, outlines=parts["bcu"], sites=sites)


# ------------------------------------------------------------------ the page body, one fragment
# The method, its parameters, the result, the map and the tables rerun alone when one of their
# widgets changes (the sidebar's filters rerun the page); every result is cached by its inputs.
@st.fragment
@warm.user_run  # a fragment rerun is a user's run too: the warm-up waits for it
def hotspot_body():
    weighted = measure == "Harm"
    sel = dict(layer=layer, months=(m0, m1), categories=tuple(sorted(cats)))

    c1, c2, c3 = st.columns([2, 1, 1])
    method = c1.selectbox("Method", list(METHODS), format_func=METHODS.get, key="hs_method",
                          help="**Gi\\* grid**: cells whose neighbourhood holds significantly more (or less) than "
                               "the area's average, false-discovery-rate corrected. **Kernel density**: a smoothed "
                               "surface; the top 1/5/10% of cells. **DBSCAN / HDBSCAN**: dense clusters of "
                               "incidents. **Emerging hot spots**: Gi\\* in every period and how it changes "
                               "(esri's Emerging Hot Spot Analysis).")
    grid_method = method in ("gistar", "emerging")
    shape = c2.radio("Grid cells", ["square", "hex"], horizontal=True, key="hs_shape",
                     disabled=not grid_method, format_func={"square": "Squares", "hex": "Hexagons"}.get)
    if method in ("gistar", "emerging"):
        default_alpha = settings.ehsa_alpha if method == "emerging" else settings.alpha
        alpha = c3.select_slider("Significance", [0.01, 0.05, 0.10], value=default_alpha, key=f"hs_alpha_{method}",
                                 format_func=lambda a: f"{a:.0%}".replace("%", " %"),
                                 help="Largest p-value (after false-discovery-rate correction) that counts as a hot "
                                      "or cold spot.")
    else:
        alpha = None

    if st.session_state.get("hs_warmed"):
        warm.hurry()  # a switch after the page opened may wait for the warm-up's result: not at nice 10
    try:
        with st.spinner("Working out automatic parameters…"):
            auto = data.hotspot_defaults(key, ver, role_key, method=method, weighted=weighted, **sel)
    except GeoInputError as err:
        st.warning(safe.md(err))
        st.stop()


    def override(label: str, name: str, auto_value, *, lo: float, hi: float, step: float, unit: str = "m",
                 integer: bool = False, col=None):
        """An 'automatic' toggle with the value derived from the data, and a number input to override it."""
        col = col or st
        use_auto = col.toggle(f"Automatic {label.lower()}", value=True, key=f"hs_auto_{name}_{method}")
        if use_auto:
            col.caption(f"{label}: **{auto_value:,.0f}{(' ' + unit) if unit else ''}**, derived from the data.")
            return None
        start = int(auto_value) if integer else float(round(auto_value))
        return col.number_input(f"{label} ({unit})" if unit else label, min_value=lo, max_value=hi,
                                value=min(max(start, lo), hi), step=step, key=f"hs_{name}_{method}")


    params: dict = {}
    p1, p2, p3 = st.columns(3)
    if grid_method:
        params["cell_size"] = override("Cell size", "cell", auto["cell_size"], lo=25.0, hi=5000.0, step=25.0, col=p1)
        params["shape"] = shape
        params["alpha"] = alpha
    if method == "kde":
        params["bandwidth"] = override("Bandwidth", "bw", auto["bandwidth"], lo=50.0, hi=10000.0, step=50.0, col=p1)
        p2.caption(f"Quartic kernel on cells of {auto['cell_size']:,.0f} m (a quarter of the bandwidth at most). "
                   "Cells are classed by the top 1, 5 and 10 % of smoothed intensity: a description, not a test.")
    if method == "dbscan":
        params["eps_m"] = override("Radius", "eps", auto.get("eps_m", 100.0), lo=5.0, hi=5000.0, step=5.0, col=p1)
        p3.caption(f"The automatic radius is never below {settings.dbscan_min_eps_m:,.0f} m: police.uk places every "
                   "crime on one of a fixed set of anonymised map points, so a smaller radius finds single map points, "
                   "not clusters of places. Clusters with less harm than the minimum shown above the map are dropped.")
    if method in ("dbscan", "hdbscan"):
        params["min_samples"] = override("Minimum incidents", "ms", auto["min_samples"], lo=2, hi=500, step=1,
                                         unit="", integer=True, col=p2)
        if method == "hdbscan":
            p1.caption(f"HDBSCAN finds clusters of varying density, with no fixed radius. Above "
                       f"{settings.hdbscan_max_points:,} incidents it clusters the distinct police.uk map points "
                       "(each counts once, however many incidents it holds), as said above the map; DBSCAN "
                       "counts every incident.")
    classes_view = "ehsa"
    if method == "emerging":
        period_options = ["auto", "month", "week", "day"]
        period = p2.selectbox("Periods", period_options, key="hs_period",
                              format_func=lambda p: f"Automatic ({auto['period']}s)" if p == "auto" else f"{p}s",
                              help="Months for police.uk crime (published by month); weeks or days where incidents "
                                   "carry a date, such as calls for service.")
        params["period"] = None if period == "auto" else period
        classes_view = p3.radio("Classes", ["ehsa", "simple"], key="hs_classes",
                                format_func={"ehsa": "Emerging Hot Spot Analysis", "simple": "Simple classes"}.get,
                                help="Esri's sixteen patterns (new, consecutive, intensifying, persistent, diminishing, "
                                     "sporadic, oscillating, historical; hot and cold), or persistent / emerging / "
                                     "former / intermittent.")
    param_key = tuple(sorted(params.items()))
    buffers = tuple(sorted({float(b_inner), float(b_outer)}))

    try:
        with st.spinner(f"Finding hot spots ({METHODS[method]})…"):
            run = data.hotspots(key, ver, role_key, method=method, weighted=weighted, params=param_key, **sel)
    except GeoInputError as err:
        st.error(safe.md(err))
        st.stop()

    s, p = run.summary, run.params
    st.caption(run.describe())
    if method == "emerging" and s["n_periods"] < 10:
        st.caption(f":orange[Only {s['n_periods']} {p['period']}s: esri asks for at least 10 periods, and with fewer "
                   "every period must be hot to count as \"90 % of periods\". Read the patterns with care.]")

    m1_, m2_, m3_, m4_ = st.columns(4)
    m1_.metric("Incidents analysed", ui.num(s["n_points"]))
    if method in ("dbscan", "hdbscan"):
        m2_.metric("Clusters", ui.num(s["n_units"]))
        m3_.metric("Incidents in no cluster", ui.num(s["n_noise"]))
        m4_.metric("Radius (m)" if method == "dbscan" else "Minimum cluster size",
                   ui.num(p["eps_m"]) if method == "dbscan" else ui.num(p["min_samples"]))
    else:
        m2_.metric("Hot cells" if method != "kde" else "Cells in the top 10 %", ui.num(s["n_hot"]))
        m3_.metric("Cold cells" if method != "kde" else "Cells", ui.num(s["n_cold"] if method != "kde" else s["n_units"]))
        m4_.metric("Bandwidth (m)" if method == "kde" else "Cell size (m)",
                   ui.num(p["bandwidth"] if method == "kde" else p["cell_size"]))

    layer_frame = run.layer
    if method == "emerging" and classes_view == "simple":
        layer_frame = layer_frame.assign(simple_label=layer_frame["simple_class"].map(SIMPLE_LABELS).fillna(""))
        draw_classes, draw_column = tuple(SIMPLE_LABELS.values()), "simple_label"
    else:
        draw_classes, draw_column = run.classes, "class"
    measure_word = "harm" if weighted else "count"
    titles = {
        "gistar": f"Gi* hot and cold spots ({measure_word}, FDR {alpha:.0%})" if alpha else "Gi*",
        "kde": f"Kernel density of {measure_word}",
        "dbscan": "DBSCAN clusters, ranked by harm" if weighted else "DBSCAN clusters, ranked by size",
        "hdbscan": "HDBSCAN clusters, ranked by harm" if weighted else "HDBSCAN clusters, ranked by size",
        "emerging": (f"Emerging hot spots ({s.get('n_periods')} {p.get('period')}s)" if classes_view == "ehsa"
                     else f"Hot-spot classes ({s.get('n_periods')} {p.get('period')}s)"),
    }


    def site_kinds_ranked():
        """The site kinds ranked: the sensitive kinds, and "other" only when the user ticks it."""
        return (*SENSITIVE_SITE_KINDS, "other") if st.session_state.get("hs_other_sites") else SENSITIVE_SITE_KINDS


    # ------------------------------------------------------------------ the map
    # The base map (framing, tiles, BCUs) does not depend on the method or its parameters: it is
    # built once per session and stays mounted in the browser; only the hot-spot layer and the most
    # exposed sites (each group with its legend) are swapped on a switch, as on the Map page.
    def map_layers() -> list:
        """The layers that change with the method, as ``(draw, frame, options, layer_key)``: the key holds
        everything the layer is drawn from, so a layer seen before in this session is not drawn again."""
        run_key = (key, ver, role_key, method, weighted, tuple(sorted(sel.items())), param_key)
        # the default classes: the layer's data made once (kept with the default runs), only drawn here
        shown = (data.hotspot_layer(key, ver, role_key, method=method, weighted=weighted, params=param_key, **sel)
                 if draw_column == "class" else layer_frame)
        drawn = [(add_hotspot_layer, shown, {"classes": draw_classes, "method": method, "name": "Hot spots",
                                                   "title": titles[method], "column": draw_column},
                  ("hotspots", *run_key, tuple(draw_classes), draw_column, titles[method]))]
        if exposure is not None:  # only the most exposed sites: hundreds of markers would hide the hot spots
            per_bcu, kinds = int(st.session_state.get("hs_per_bcu", 10)), site_kinds_ranked()
            top = most_exposed(exposure, per_bcu=per_bcu, by=inner, kinds=kinds)
            if len(top):
                drawn.append((maps.add_sites, gpd.GeoDataFrame(top, geometry="geometry", crs=exposure.crs),
                              {"buffers_m": (buffers[0],), "name": "Most exposed sites"},
                              ("sites", *run_key, buffers, per_bcu, inner, tuple(kinds))))
        return drawn

    def draw_map():
        parts = base_parts(layer)
        drawn = map_layers()
        ui.kept_map("hotspot_base", (key, ver, role_key, layer), lambda: draw_base(parts), drawn,
                    key="hotspot_map", height=600)
        data.audit_once("viewed hot spot map", f"{method}, {m0}..{m1}")
        return parts, drawn


    with st.spinner("Measuring the exposure of sensitive sites…"):
        exposure, nearest = data.hotspot_sites(key, ver, role_key, method=method, weighted=weighted, params=param_key,
                                               buffers=buffers, **sel)
    inner = f"harm_{int(buffers[0])}m" if weighted else f"n_{int(buffers[0])}m"

    if len(run.significant) == 0:
        st.info("No cell or cluster is significant with these settings. Try all crime types, a wider month range, "
                "a larger cell size or a higher significance level.")
    with st.spinner("Drawing the map…"):
        map_parts, map_drawn = draw_map()

    # ------------------------------------------------------------------ tables and downloads

    st.subheader("Hot spots")
    id_col = "cluster_id" if method in ("dbscan", "hdbscan") else "cell_id"
    cell_word = "hexagon" if shape == "hex" else "square"
    fine = next((lv for lv in ("ward", "neighbourhood", "lsoa") if lv in info["levels"]), None)

    def near(frame, word: str) -> list[str]:
        """"hexagon near Darnall" for each row of ``frame``: the ward (else neighbourhood, LSOA) under it."""
        return labels.near_labels(frame, data.boundaries(key, ver, fine) if fine else None, shape=word)

    # cached by its inputs: names, nearest sites, sorted (no spatial join on a rerun)
    hot = data.hotspot_table(key, ver, role_key, method=method, weighted=weighted, params=param_key,
                             buffers=buffers, word="cluster" if id_col == "cluster_id" else cell_word,
                             level=fine, **sel)
    sort_col = "harm" if "harm" in hot.columns else ("intensity_km2" if "intensity_km2" in hot.columns else "n")
    if hot.empty:
        st.caption("No hot spot with these settings.")
    else:
        st.caption(f"{len(hot):,} hot {'clusters' if id_col == 'cluster_id' else 'cells'}, most "
                   f"{'harm' if sort_col == 'harm' else 'intense'} first; the nearest site of each kind and its "
                   "distance in metres (0: inside the hot spot).")
        ui.table(hot.drop(columns=[id_col]), measure=ui.measure_name(info, layer), height=300, key="hs_hot_table",
                 config={"where": st.column_config.TextColumn("Where")})

    stem = f"{path.stem}-{method}-{m0}-{m1}"
    row = st.container(horizontal=True)  # one row that wraps: no label is cut off
    # Files are made only when a button is clicked (callables), so reruns stay quick.
    row.download_button("Hot spots (CSV)", lambda: safe.csv_bytes(run.layer.drop(columns="geometry")),
                        file_name=f"{stem}-hotspots.csv", mime="text/csv", key="hs_dl_csv", on_click=data.audit, args=("downloaded hot spots CSV", stem),
                        icon=":material/download:")
    row.download_button("Hot spots and exposed sites (GeoPackage)", lambda: data.gpkg_bytes(export_layers(run, exposure)),
                        file_name=f"{stem}.gpkg", mime="application/geopackage+sqlite3", key="hs_dl_gpkg",
                        on_click=data.audit, args=("downloaded hot spots GeoPackage", stem), icon=":material/download:",
                        help="Open in QGIS or ArcGIS: layer 'hotspots' (every cell or cluster with its statistics) and "
                             "'exposed_sites'.")
    row.download_button("Map (HTML, works offline)", lambda: ui.full_map(draw_base(map_parts), map_drawn),
                        file_name=f"{stem}-map.html", mime="text/html", key="hs_dl_html", on_click=data.audit,
                        args=("downloaded hot spot map HTML", stem), icon=":material/download:")
    row.download_button("Map (PNG)", lambda: hotspot_png(map_parts, map_drawn, layer_frame), file_name=f"{stem}-map.png",
                        mime="image/png", key="hs_dl_png", on_click=data.audit,
                        args=("downloaded hot spot map PNG", stem), icon=":material/download:")

    st.subheader("Most exposed sensitive sites")
    if exposure is None:
        st.info("This workspace has no sensitive sites. Import schools, treatment services or hostels on the "
                "**Data and imports** page to see which lie in or near hot spots.")
    else:
        row.download_button("Exposure of every site (CSV)",
                            lambda: safe.csv_bytes(exposure.drop(columns="geometry")),
                            file_name=f"{stem}-site-exposure.csv", mime="text/csv", key="hs_dl_sites", on_click=data.audit, args=("downloaded site exposure CSV", stem),
                            icon=":material/download:")
        e1, e2 = st.columns([3, 1])
        bcu_names = sorted(n for n in exposure["bcu_name"].unique() if n)
        pick = e1.selectbox("BCU", ["All BCUs", *bcu_names], key="hs_site_bcu")
        per_bcu = e2.number_input("Sites per BCU", 1, 100, 10, key="hs_per_bcu")
        ranked = most_exposed(exposure, per_bcu=int(per_bcu), by=inner, kinds=site_kinds_ranked())
        if pick != "All BCUs":
            ranked = ranked[ranked["bcu_name"] == pick]
        n_near = int(exposure["in_or_next_to_hotspot"].sum())
        st.caption(f"{n_near:,} of {len(exposure):,} sites lie in a hot spot or within {buffers[0]:,.0f} m of one. "
                   f"Ranked by {'harm' if weighted else 'incidents'} within {buffers[0]:,.0f} m; trend: Mann-Kendall "
                   f"on monthly harm within {buffers[-1]:,.0f} m over {len(exposure.attrs.get('months', []))} months"
                   + (" (with fewer than 5 months no trend can reach the 5 % level)."
                      if len(exposure.attrs.get("months", [])) < 5 else "."))
        show = ranked.drop(columns=["geometry", "site_id", "bcu_code", "trend_tau"], errors="ignore")
        if show.empty:
            st.caption("No site has incidents within the inner buffer.")
        else:
            ui.table(show, measure=ui.measure_name(info, layer), height=360, key="hs_sites_table")

    # ------------------------------------------------------------------ the other methods, ready before they are asked for
    # Once per session: the other methods' default runs for this selection are computed in the background,
    # the next one down the method list first, in short steps that start only when no user's run is under
    # way (dashboard/warm.py), so the first switch is a cache hit and never waits beside the warm-up.
    if not st.session_state.get("hs_warmed"):
        st.session_state["hs_warmed"] = True
        jobs = tuple((m, default_params(m, shape), "cluster" if m in ("dbscan", "hdbscan") else cell_word)
                     for m in warm.order(method, METHODS))
        warm.hotspots(key, ver, role_key, layer, (m0, m1), tuple(sorted(cats)), weighted, jobs, buffers, fine)

    # ------------------------------------------------------------------ calls vs crime
    st.subheader("Calls for service against recorded crime")
    if not {"calls", "crime"} <= set(layers):
        have = "only recorded crime" if "crime" in layers else "only calls for service"
        st.info(f"This workspace holds {have}. With both layers this section maps hot spots of calls beside hot spots "
                "of recorded crime, and flags cells hot in calls but not in crime as possible hidden demand. Import "
                "the other layer on the **Data and imports** page.")
    else:
        both_months = sorted(set(info["crime_months"]) & set(info["calls_months"]))
        if not both_months:
            st.info("The calls and the crime cover different months, so they cannot be compared.")
        else:
            cm = (max(m0, both_months[0]), min(m1, both_months[-1]))
            try:
                with st.spinner("Comparing calls and crime…"):
                    cvc = data.calls_vs_crime(key, ver, role_key, cm, params.get("cell_size"), shape, weighted)
            except GeoInputError as err:
                st.warning(safe.md(err))
            else:
                hidden = cvc[cvc["hidden_demand"]]
                k1, k2, k3 = st.columns(3)
                k1.metric("Possible hidden demand (cells)", ui.num(len(hidden)))
                k2.metric("Hot in both", ui.num(int((cvc["hot_calls"] & cvc["hot_crime"]).sum())))
                k3.metric("Hot in crime only", ui.num(int((~cvc["hot_calls"] & cvc["hot_crime"]).sum())))

                def draw_cvc():
                    m = maps.base_map(maps.wgs84_bounds(cvc))
                    add_hotspot_layer(m, cvc, classes=CALLS_CRIME_CLASSES[:3], method="calls_vs_crime",
                                      name="Calls vs crime", title="Gi* hot spots: calls and crime")
                    maps.finish(m)
                    st_folium(m, returned_objects=[], height=480, use_container_width=True, key="cvc_map")

                draw_cvc()
                ui.table(pd.DataFrame(hidden.drop(columns=["geometry", "cell_id"], errors="ignore")).assign(
                    where=near(hidden, cell_word)), height=240, key="hs_cvc_table", config={"where": st.column_config.TextColumn("Where")})


hotspot_body()
