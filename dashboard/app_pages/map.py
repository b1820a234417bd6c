"""Map page: where harm concentrates, what lies near sensitive sites, what changed.

The filters, numbers, map and downloads are one ``st.fragment``: a filter change reruns
only this part (not the router and sidebar), reads shared, cached data (``data.map_*``)
and rebuilds the map from small, cached frames.
"""
from __future__ import annotations

import streamlit as st

from dashboard import data, ui, warm
from geo import aggregate, maps, safe
from geo.errors import GeoInputError
from geo.harm import ENFORCEMENT_LABEL
from geo.render import palette
# geo.hotspot_runs (scipy.stats, ~1.3 s) is imported by the page's own run, not by the warm-up thread: with
# the import in the warm-up (warm.map_gistar), the browser tests' first filter change timed out in 3 of 5 runs
# on a busy machine (cause not established; it passed on an idle one), so the first paint pays it again
import geo.hotspot_runs  # noqa: F401,E402
from geo.render.hotspot_layers import add_hotspot_layer
from geo.render.map_view import display_units, shown_table
from geo.settings import settings

path, key, ver, info = data.current()
st.title(f"Map · {safe.md(info['name'])}")

layers_held = info["layers"]
if not layers_held:
    st.info("This workspace holds no incidents yet. Import police.uk crime or calls for service on the "
            "**Data and imports** page.")
    st.stop()

main_layer = data.default_layer(layers_held)  # crime if held, else the first (the Map's kept frame is its)
role_key = data.user_key()


def hot_classes() -> tuple:
    """The Gi* classes drawn on the map, hot first (imports :mod:`geo.hotspots` only when the layer is on)."""
    from geo.hotspots import HOTSPOT_LABELS
    return tuple(c for c in HOTSPOT_LABELS[::-1] if c != "Not significant")


def base_parts(buffer_m: int) -> dict:
    """What the base map draws (framing, sites, boundaries, labels, operation areas), read now.

    Depends only on the workspace version, the user's scope and the site buffer: the base map
    built from it stays mounted in the browser while the filters change (see :func:`show_map`).
    """
    levels = info["levels"]
    frame = data.map_frame(key, ver, role_key)
    return {"frame": frame if len(frame) else data.incidents_readonly(key, ver, main_layer),
            **ui.basemap(info),
            "sites": data.map_sites(key, ver, role_key), "buffer_m": buffer_m,
            "bcu": data.map_boundaries(key, ver, role_key, "bcu"),
            "units": {lv: data.map_boundaries(key, ver, role_key, lv) for lv in ("ward", "neighbourhood")
                      if lv in levels},
            "ops": data.operation_areas(key, ver)}


def draw_base(parts: dict):
    """A base map with the layers of :func:`base_parts` (no layer control)."""
    m = maps.base_map(maps.wgs84_bounds(parts["frame"]), tile_url=parts["tile_url"],
                      attribution=parts["attribution"])
    first, rest = parts["sites"]
    buffer_m = parts["buffer_m"]
    if len(first):
        maps.add_sites(m, first, buffers_m=(buffer_m,), name="Schools and drug treatment", radius=4,
                       buffers_layer=True)
    if len(rest):
        maps.add_sites(m, rest, buffers_m=(buffer_m,), name="Other sensitive sites", radius=4, show=False,
                       buffers_layer=True)
    bcu = parts["bcu"]
    if len(bcu):
        maps.add_boundaries(m, bcu, name="BCUs", name_col="name")
        own = bcu[bcu["force"] == info["force"]] if info["force"] and "force" in bcu else bcu
        maps.add_labels(m, own, name="BCU names", min_zoom=8, max_zoom=11)
    for lv, units in parts["units"].items():
        maps.add_boundaries(m, units, name=f"{lv.title()}s", name_col="name", show=lv == "ward",
                            color=palette.BOUNDARY_COLORS["boundary"], weight=1)
        if lv == "ward":
            maps.add_labels(m, units, name="Ward names", min_zoom=13, css_class="geo-label-small")
    if len(parts["ops"]):
        maps.add_areas(m, parts["ops"], name="Operation target areas", name_col="name")
    return m


def filter_layers(n_shown: int, rows, value_col: str, m0: str, m1: str, cats: tuple, basket_only: bool, hot: bool):
    """The layers that change with the filters, as ``(draw, frame, options, layer_key)``, and the table they
    show. A key holds every filter its layer is drawn from (the workspace version and scope are in the base
    map's key), so a layer seen before in this session is not drawn again (:func:`dashboard.ui.kept_map`).
    ``n_shown``: how many incidents match; ``rows()``: those incidents with every column, asked for only when
    they are drawn as points (a long month range is drawn by area and never copies them)."""
    sel_key = (main_layer, m0, m1, cats, basket_only)
    levels = info["levels"]
    fine = next((lv for lv in ("lsoa", "neighbourhood", "ward") if lv in levels), None)
    layers: list = []
    table: dict = {}
    label = "Harm (CCHI days)" if value_col == "harm" else noun
    if n_shown > settings.max_points_on_map and fine:
        agg = data.map_units(key, ver, role_key, main_layer, fine, (m0, m1), cats, basket_only)
        name = f"{label} by {fine.upper() if fine == 'lsoa' else fine}"
        drawn = display_units(agg, data.map_boundaries(key, ver, role_key, fine))  # shapes made once
        layers.append((maps.add_choropleth, drawn, {
            "column": value_col, "name": name, "label": label,
            "tooltip_fields": ["name", "count", "harm"] if weighted else ["name", "count"]},
            ("units", *sel_key, fine, value_col, name, weighted)))
        table[name] = agg
    else:
        shown = rows()
        layers.append((maps.add_points, shown, {
            "name": "Incidents", "color_by": "category", "tooltip_fields": ["category", "month", "location"],
            "max_points": settings.max_points_on_map}, ("points", *sel_key)))
        table["Incidents"] = shown
    if hot:
        warm.hurry()  # the Gi* layer may be the warm-up's, still under way: not at nice 10 while the user waits
        classes = hot_classes()
        try:
            run = data.hotspots(key, ver, role_key, main_layer, (m0, m1), cats, "gistar", value_col == "harm", ())
            layers.append((add_hotspot_layer, run.layer, {
                "classes": classes, "method": "gistar", "name": "Hot spots (Gi*)",
                "title": f"Gi* hot and cold spots ({'harm' if value_col == 'harm' else 'count'})"},
                ("gistar", main_layer, m0, m1, cats, value_col)))
            table["Hot spots (Gi*)"] = run.layer[run.layer["class"].isin(classes)]
        except GeoInputError as err:
            st.warning(safe.md(err))
    if main_layer != "calls" and "calls" in layers_held:
        calls = data.select(data.incidents_readonly(key, ver, "calls"), (m0, m1))
        layers.append((maps.add_points, calls, {
            "name": "Calls for service", "color": palette.LINE_COLORS["calls"],
            "tooltip_fields": ["category", "date"], "max_points": settings.max_points_on_map},
            ("calls", m0, m1)))
        table["Calls for service"] = calls
    return layers, table


def show_map(parts: dict, layers: list) -> None:
    """Draw the map: the base map (:func:`base_parts`, built once per session for the same workspace
    version, scope and site buffer) stays mounted in the browser; only the filters' layers are replaced."""
    ui.kept_map("map_base", (key, ver, role_key, parts["buffer_m"]), lambda: draw_base(parts), layers,
                key="main_map", height=620)


weighted = ui.layer_weighted(info, main_layer)  # no harm weights (Portland calls): counts are never called harm
noun = "Incidents" if weighted or main_layer != "calls" else "Calls"


@st.fragment
@warm.user_run  # a filter change is a user's run: background warm-ups wait for it
def map_section():
    with st.container(border=True):
        f1, f2 = st.columns([3, 2])
        with f1:
            m0, m1, cats, measure = ui.incident_filters(info, main_layer, "map")
        with f2:
            basket_only = st.toggle("Drug-market harm basket only", value=False, key="map_basket",
                                    help="Violence and sexual offences, robbery, weapons, public order, criminal "
                                         "damage and arson, anti-social behaviour, and drug-related calls. Drug "
                                         "offences are never in it: their count measures enforcement activity.")
            hot = st.toggle("Hot spots (Gi*) on the map", value=False, key="map_hot",
                            help="Getis-Ord Gi* hot and cold spots of the same selection, in the colours of the "
                                 "Hotspots page (automatic cell size, FDR-corrected).")
            buffer_m = st.number_input("Site buffer (m)", min_value=50, max_value=2000, step=50,
                                       value=int(info["settings"].get("site_buffers_m", settings.site_buffers_m)[0]),
                                       key="map_buffer", help="Rings around sites, switched on in the map's "
                                                              "layer list (\"... buffers\").")
    cats = tuple(sorted(cats))
    inc = data.incidents_readonly(key, ver, main_layer)
    # the figures below read these four columns only: the frame's other columns are copied only for points
    sel = inc.loc[data.select_mask(inc, (m0, m1), cats), ["month", "category", "harm", "in_basket"]]
    shown = sel[sel["in_basket"]] if basket_only else sel
    value_col = "harm" if measure == "Harm" else "count"

    c1, c2, c3, c4 = st.columns(4)
    c1.metric(f"{noun} shown", ui.num(len(shown)))
    if weighted:
        c2.metric("Harm (CCHI days)", ui.num(shown["harm"].sum()))
        c3.metric("Drug-market harm basket", ui.num(sel.loc[sel["in_basket"], "harm"].sum()))
    else:
        c2.metric(f"Drug-related {noun.lower()}", ui.num(int(sel["in_basket"].sum())),
                  help="No harm weights for these categories: counted, not weighed.")
    if main_layer == "crime":
        drugs = int((sel["category"] == settings.enforcement_category).sum())
        c4.metric("Drug offences", ui.num(drugs), help=ENFORCEMENT_LABEL)
    change = aggregate.latest_change(shown)
    if change:
        st.caption(
            f"**What changed:** {ui.month_label(change['month'])} against {ui.month_label(change['previous'])}: "
            + (f"harm {ui.num(change['harm'])} ({ui.pct(change['harm_pct'])}), " if weighted else "")
            + f"{noun.lower()} {ui.num(change['count'])} ({ui.pct(change['count_pct'])}).")
    no_loc = int(data.select_mask(data.incidents_readonly(key, ver, main_layer, ("no_location",)), (m0, m1)).sum())
    if no_loc:
        st.caption(f"{ui.num(no_loc)} incidents in this period have no location: counted on the Data page, "
                   "not drawn.")

    if shown.empty:
        st.info("No incidents match these filters. Widen the month range or clear the crime-type filter.")
    else:
        parts = base_parts(buffer_m)
        layers_drawn, table = filter_layers(len(shown), lambda: data.select(inc, (m0, m1), cats, basket_only),
                                            value_col, m0, m1, cats, basket_only, hot)
        if len(parts["sites"][0]):
            table["Schools and drug treatment"] = parts["sites"][0]
        st.caption("Crime is drawn above every other layer. Schools and drug treatment services in your area are "
                   "shown small; other sites, site buffers and neighbourhoods are in the layer list.")
        with st.spinner("Drawing the map…"):
            show_map(parts, layers_drawn)
        data.audit_once("viewed map", f"{main_layer}, {m0}..{m1}, {len(shown)} incidents")
        if not hot and not st.session_state.get("map_warmed"):
            # once per session, after the map has been sent: the Gi* layer of the first selection, ready
            # before it is asked for (not on every filter change: it would compete with the next one)
            st.session_state["map_warmed"] = True
            warm.map_gistar(key, ver, role_key, main_layer, (m0, m1), cats, value_col == "harm")
        stem = f"{path.stem}-{m0}-{m1}-map"
        detail = f"{main_layer}, {m0}..{m1}"
        d1, d2, d3 = st.columns(3)
        # built when clicked (0.2-0.45 s a run for the force's choropleth or points: not on every filter change)
        n_rows = sum(len(t) for t in table.values() if t is not None)
        d1.download_button("Download what is shown (CSV)", lambda: safe.csv_bytes(shown_table(table)),
                           file_name=f"{stem}.csv", mime="text/csv", on_click=data.audit,
                           args=("downloaded map CSV", f"{detail}, {n_rows} rows"), key="map_csv")
        d2.download_button("Download the map (HTML, works offline)", lambda: ui.full_map(draw_base(parts), layers_drawn),
                           file_name=f"{stem}.html", mime="text/html", on_click=data.audit,
                           args=("downloaded map HTML", detail), key="map_html")
        # the PNG is drawn when clicked, outside this run: everything it needs is read now
        png_args = (table, f"{info['name']}: {m0} to {m1}", data.map_frame(key, ver, role_key),
                    data.bcus(key, ver), value_col)
        d3.download_button("Download the map (PNG)", lambda: map_png(*png_args),
                           file_name=f"{stem}.png", mime="image/png", on_click=data.audit,
                           args=("downloaded map PNG", detail), key="map_png")

    st.subheader("Harm by crime type" if weighted
                 else f"{noun} by {'call group' if main_layer == 'calls' else 'type'}")
    if len(sel):
        from geo.harm import summarise
        t = summarise(sel)
        t["category"] = t["category"].where(t["category"] != settings.enforcement_category,
                                            t["category"] + " (enforcement activity)")
        t["harm_share"] = t["harm_share"] * 100
        if not weighted:
            t = t.drop(columns=[c for c in t.columns if c.startswith("harm")])
        ui.table(t, measure="Harm (CCHI days)",  # readable labels, whole days, separators
                 config={"harm_share": st.column_config.ProgressColumn("Share of harm", format="%.0f%%",
                                                                       min_value=0, max_value=100)})


def map_png(table: dict, title: str, frame, outlines, value_col: str) -> bytes:
    """A static PNG of the map's main layers (no tiles; the boundaries are the basemap).

    Runs when the download is clicked, outside the page's run (no session, no signed-in user):
    it takes everything as arguments."""
    from geo.render.map_view import static_map_png
    return static_map_png(table, frame=frame, outlines=outlines, value_col=value_col, title=title)


map_section()
