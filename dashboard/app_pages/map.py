"""Map page: where harm concentrates, what lies near sensitive sites, what changed."""
from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from dashboard import data, ui
from geo import aggregate, maps, safe
from geo.harm import ENFORCEMENT_LABEL
from geo.render import palette
from geo.settings import settings

path, key, ver, info = data.current()
st.title(f"Map · {safe.md(info['name'])}")

layers = info["layers"]
if not layers:
    st.info("This workspace holds no incidents yet. Import police.uk crime or calls for service on the "
            "**Data and imports** page.")
    st.stop()

main_layer = "crime" if "crime" in layers else layers[0]
with st.sidebar:
    st.markdown("### Filters")
    m0, m1, cats, measure = ui.incident_filters(info, main_layer, "map")
    basket_only = st.toggle("Drug-market harm basket only", value=False, key="map_basket",
                            help="Violence and sexual offences, robbery, weapons, public order, criminal damage "
                                 "and arson, anti-social behaviour, and drug-related calls. Drug offences are "
                                 "never in it: their count measures enforcement activity.")
    buffer_m = st.number_input("Site buffer (m)", min_value=50, max_value=2000, step=50,
                               value=int(info["settings"].get("site_buffers_m", settings.site_buffers_m)[0]),
                               key="map_buffer")

inc = data.incidents(key, ver, main_layer)
sel = inc[(inc["month"] >= m0) & (inc["month"] <= m1)]
if cats:
    sel = sel[sel["category"].isin(cats)]
shown = sel[sel["in_basket"]] if basket_only else sel
value_col = "harm" if measure == "Harm" else "count"
weighted = ui.layer_weighted(info, main_layer)  # no harm weights (Portland calls): counts are never called harm
noun = "Incidents" if weighted or main_layer != "calls" else "Calls"

# ---- headline numbers
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

no_loc = data.incidents(key, ver, main_layer, ("no_location",))
no_loc = no_loc[(no_loc["month"] >= m0) & (no_loc["month"] <= m1)]
if len(no_loc):
    st.caption(f"{ui.num(len(no_loc))} incidents in this period have no location: counted on the Data page, "
               "not drawn.")


# ---- the map
@st.fragment
def draw_map():
    levels = info["levels"]
    fine = next((lv for lv in ("lsoa", "neighbourhood", "ward") if lv in levels), None)
    bcu = data.bcus(key, ver, all_forces=True)
    force_bcu = bcu[bcu["force"] == info["force"]] if info["force"] else bcu
    frames = [force_bcu] if len(force_bcu) else [shown]
    m = maps.base_map(maps.wgs84_bounds(*frames), tile_url=info["settings"].get("tile_url") or settings.tile_url,
                      attribution=info["settings"].get("tile_attribution", ""))
    label = "Harm (CCHI days)" if value_col == "harm" else noun
    if len(shown) > settings.max_points_on_map and fine:
        units = data.boundaries(key, ver, fine)
        agg = aggregate.by_unit(shown, units)
        agg = agg[agg["count"] > 0]
        maps.add_choropleth(m, agg, value_col, name=f"{label} by {fine.upper() if fine == 'lsoa' else fine}",
                            label=label, tooltip_fields=["name", "count", "harm"] if weighted else ["name", "count"])
        st.session_state["map_table"] = agg.drop(columns="geometry")
    else:
        maps.add_points(m, shown, name="Incidents", color_by="category",
                        tooltip_fields=["category", "month", "location"], max_points=settings.max_points_on_map)
        st.session_state["map_table"] = shown.drop(columns="geometry")
    if main_layer != "calls" and "calls" in layers:
        calls = data.incidents(key, ver, "calls")
        calls = calls[(calls["month"] >= m0) & (calls["month"] <= m1)]
        maps.add_points(m, calls, name="Calls for service", color=palette.LINE_COLORS["calls"],
                        tooltip_fields=["category", "date"], max_points=settings.max_points_on_map)
    sites = data.sites(key, ver)
    if len(sites):
        maps.add_sites(m, sites, buffers_m=(buffer_m,))
    if len(bcu):
        maps.add_boundaries(m, bcu, name="BCUs (neighbours grey)" if len(bcu) > len(force_bcu) else "BCUs",
                            name_col="name")
    for lv in ("ward", "neighbourhood"):
        if lv in levels:
            maps.add_boundaries(m, data.boundaries(key, ver, lv), name=f"{lv.title()}s", name_col="name",
                                color=palette.BOUNDARY_COLORS["boundary"], weight=1)
    ops = data.operation_areas(key, ver)
    if len(ops):
        maps.add_areas(m, ops, name="Operation target areas", name_col="name")
    maps.finish(m)
    st_folium(m, returned_objects=[], height=620, use_container_width=True, key="main_map")


if shown.empty:
    st.info("No incidents match these filters. Widen the month range or clear the crime-type filter.")
else:
    draw_map()
    data.audit_once("viewed map", f"{main_layer}, {m0}..{m1}, {len(shown)} incidents")
    table = st.session_state.get("map_table")
    if table is not None:
        st.download_button("Download what is shown (CSV)", safe.csv_bytes(table),
                           file_name=f"{path.stem}-{m0}-{m1}-map.csv", mime="text/csv",
                           on_click=data.audit, args=("downloaded map CSV", f"{main_layer}, {m0}..{m1}, {len(table)} rows"))

st.subheader("Harm by crime type" if weighted else f"{noun} by {'call group' if main_layer == 'calls' else 'type'}")
if len(sel):
    from geo.harm import summarise
    t = summarise(sel)
    t["category"] = t["category"].where(t["category"] != settings.enforcement_category,
                                        t["category"] + " (enforcement activity)")
    t["harm_share"] = t["harm_share"] * 100
    if not weighted:
        t = t.drop(columns=[c for c in t.columns if c.startswith("harm")])
    st.dataframe(t, hide_index=True,
                 column_config={"harm": st.column_config.NumberColumn("harm (days)", format="localized"),
                                "count": st.column_config.NumberColumn(format="localized"),
                                "harm_share": st.column_config.ProgressColumn("share of harm", format="%.0f%%",
                                                                              min_value=0, max_value=100)})
