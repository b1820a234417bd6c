"""Area summary: counts and harm by area with small numbers suppressed. The partners' map.

Everything on this page comes from ``geo.disclosure`` (area polygons and published
labels): no incident point, id, location or tooltip with incident detail, for any role.
"""
from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from dashboard import auth, data, ui
from geo import briefing, maps, safe
from geo.settings import settings

user = auth.require_user()
path, key, ver, info = data.current()
threshold = int(info["settings"].get("suppression_threshold", settings.suppression_threshold))
st.title(f"Area summary · {safe.md(info['name'])}")
st.caption(f"Counts and harm by area for three-month periods. Counts from 1 to {threshold - 1} show as "
           f"'<{threshold}'; '*' marks a count withheld so that a small one cannot be worked out from the totals. "
           "Harm is rounded to the nearest 10 days.")

blocks = briefing.period_blocks(info["months"], 3)
if not blocks:
    st.info("This workspace holds no incidents yet.")
    st.stop()
levels = [lv for lv in ("ward", "neighbourhood", "lsoa") if lv in info["levels"]] + ["hex"]
level_names = {"ward": "Wards", "neighbourhood": "Neighbourhoods", "lsoa": "LSOAs", "hex": "500 m hexagons"}
c1, c2, c3 = st.columns([2, 2, 1])
period = c1.selectbox("Period", blocks, format_func=lambda b: briefing.period_label(*b), key="areas_period")
level = c2.radio("Areas", levels, format_func=level_names.get, horizontal=True, key="areas_level")
basket = c3.toggle("Drug-market harm basket only", value=True, key="areas_basket")
measure = st.radio("Colour by", ["Harm", "Count"], horizontal=True, key="areas_measure")

table = data.partner_units(key, ver, level, tuple(period), threshold, basket, data.user_key())
seen = st.session_state.setdefault("areas_audited", set())
if (key, level, tuple(period)) not in seen:
    seen.add((key, level, tuple(period)))
    data.audit("viewed area summary", f"{level_names[level]}, {briefing.period_label(*period)}")

c1, c2, c3 = st.columns(3)
c1.metric("Incidents", table.attrs.get("total_label", "–"))
c2.metric("Harm (CCHI days, rounded)", ui.num(table.attrs.get("total_harm")))
c3.metric("Areas with incidents", ui.num(len(table)))


@st.fragment
def draw_map():
    m = maps.base_map(maps.wgs84_bounds(table), tile_url=info["settings"].get("tile_url") or settings.tile_url,
                      attribution=info["settings"].get("tile_attribution", ""))
    col = "harm" if measure == "Harm" else "count"
    shown = table[["name", "count_label", "harm_label", col, "geometry"]].copy()
    shown = shown.rename(columns={"count_label": "incidents", "harm_label": "harm (days)"})
    label = "Harm (CCHI days, rounded)" if col == "harm" else "Incidents"
    maps.add_choropleth(m, shown, col, name=f"{label} by {level_names[level].lower()}", label=label,
                        tooltip_fields=["name", "incidents", "harm (days)"],
                        decimals=4)  # ~10 m: no vertex can reproduce an incident's 5-decimal map point
    maps.finish(m)
    st_folium(m, returned_objects=[], height=560, use_container_width=True, key="areas_map")


if table.empty:
    st.info("No incidents in this period.")
else:
    draw_map()
    st.caption("Grey areas: counts withheld.")
    out = table.drop(columns="geometry")[["code", "name", "count_label", "harm_label"]]
    out = out.rename(columns={"count_label": "incidents", "harm_label": "harm (CCHI days, rounded)"})
    st.dataframe(out, hide_index=True)
    st.download_button("Download the table (CSV)", safe.csv_bytes(out), mime="text/csv",
                       file_name=f"{path.stem}-{level}-{period[0]}-{period[1]}-suppressed.csv", key="areas_csv",
                       on_click=data.audit, args=("exported area table", f"{level}, {period[0]}..{period[1]}"))

st.subheader("By crime type")
cats = data.partner_categories(key, ver, tuple(period), threshold, data.user_key())
st.dataframe(cats[["category", "count_label", "harm", "harm_share"]].rename(
    columns={"count_label": "incidents", "harm": "harm (days, rounded)", "harm_share": "share of harm (%)"}),
    hide_index=True)
