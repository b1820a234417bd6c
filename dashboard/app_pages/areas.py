"""Area summary: counts and harm by area with small numbers suppressed. The partners' map.

Everything on this page comes from the published base table of ``geo.disclosure``
(base unit × calendar quarter × crime type; wards and neighbourhoods are sums of whole
base units): no incident point, id, location or tooltip with incident detail, for any role.
The one exception is "Harm over time" for users who may see incident-level data (not
partners, as ``geo.access`` decides): a monthly chart with control limits of an area they
may see. Partners get the same section from the published quarterly figures.
"""
from __future__ import annotations

import base64

import streamlit as st

from dashboard import auth, data, ui, warm
from geo import disclosure, maps, safe
from geo.settings import settings

user = auth.require_user()
path, key, ver, info = data.current()
threshold = int(info["settings"].get("suppression_threshold", settings.suppression_threshold))
st.title(f"Area summary · {safe.md(info['name'])}")
st.caption(f"Counts and harm by area for whole calendar quarters. Counts from 1 to {threshold - 1} show as "
           f"'<{threshold}'; a total that includes such counts is shown as a range. Harm is rounded to the nearest "
           "10 days.")

quarters = disclosure.complete_quarters(info["months"])
if not quarters:
    st.info("This workspace holds no complete calendar quarter yet: partner figures are published by whole "
            "quarters only.")
    st.stop()
pub_level = data.partner_published(key, ver, threshold).level
levels = [pub_level] + [lv for lv in ("ward", "neighbourhood") if lv in info["levels"] and lv != pub_level]
level_names = {"ward": "Wards", "neighbourhood": "Neighbourhoods", "lsoa": "LSOAs",
               "hex": f"{disclosure.HEX_SIZE_M:.0f} m hexagons"}
level_one = {"ward": "ward", "neighbourhood": "neighbourhood", "lsoa": "LSOA", "hex": "hexagon"}
role_key = data.user_key()
partner_view = not data.may_see_monthly(role_key)  # partners: published quarterly figures only


def area_layer(table, level: str, period: tuple, basket: bool, measure: str):
    """The choropleth of ``table`` as a swapped layer of :func:`dashboard.ui.kept_map`: ``(draw, frame,
    options, layer_key)``; the key holds every choice it is drawn from (the workspace version and scope
    are in the base map's key), so a level, period or measure seen before in this session is not drawn
    again."""
    col = "harm" if measure == "Harm" else "count"
    shown = table[["name", "count_label", "harm_label", col, "geometry"]].rename(
        columns={"count_label": "incidents", "harm_label": "harm (days)"})
    label = "Harm (CCHI days, rounded)" if col == "harm" else "Incidents"
    options = {"column": col, "name": f"{label} by {level_one.get(level, level)}", "label": label,
               "tooltip_fields": ["name", "incidents", "harm (days)"],
               "decimals": 4}  # ~10 m: no vertex can reproduce an incident's 5-decimal map point
    return maps.add_choropleth, shown, options, ("areas", level, period, basket, col, threshold)


def area_base(frame=None):
    """The Area summary's base map: framed on the user's area (an inspector's BCUs, else the force; or
    ``frame`` read in the page's run), no layer of its own; it stays mounted in the browser while the
    level, quarters and measure change."""
    frame = data.map_frame(key, ver, role_key) if frame is None else frame
    return maps.base_map(maps.wgs84_bounds(frame), **ui.basemap(info))


def area_png(table, col: str, col_label: str, level: str, period_label: str) -> bytes:
    """The same published figures as a PNG (suppressed areas hatched), for a document."""
    from geo.render.map_view import published_png
    return published_png(table, value_col=col, label=col_label,
                         title=f"{info['name']}: {col_label.lower()} by {level_one.get(level, level)}, {period_label}",
                         suppressed_label=f"a count below {threshold} (<{threshold})")


@st.fragment
def summary():
    """Controls, numbers, map, table and crime types: one fragment, so a change of level, quarters or
    measure reruns only this part of the page (not the monthly trend below)."""
    c1, c2 = st.columns(2)
    if len(quarters) > 1:
        q0, q1 = c1.select_slider("Quarters", options=quarters, value=(quarters[-1], quarters[-1]),
                                  format_func=disclosure.quarter_label, key="areas_quarters")
    else:
        q0 = q1 = c1.selectbox("Quarter", quarters, format_func=disclosure.quarter_label, key="areas_quarter")
    period = tuple(disclosure.quarter_run(q0, q1))
    label = disclosure.quarters_label(period)
    level = c2.radio("Areas", levels, format_func=level_names.get, horizontal=True, key="areas_level")
    c1, c2 = st.columns(2)  # the toggle's label is too long for a third column (it was cut off)
    measure = c1.radio("Colour by", ["Harm", "Count"], horizontal=True, key="areas_measure")
    basket = c2.toggle("Drug-market harm basket only", value=True, key="areas_basket")

    table = data.partner_units(key, ver, level, period, threshold, basket)
    seen = st.session_state.setdefault("areas_audited", set())
    if (key, level, period) not in seen:
        seen.add((key, level, period))
        data.audit("viewed area summary", f"{level_names[level]}, {label}")

    if table.attrs.get("scope"):  # an inspector: their BCU(s) only, as geo.access decides
        st.caption(f"Limited to your BCU(s): {safe.md(table.attrs['scope'])}. Totals are sums of the same "
                   "published figures as the force's.")
    c1, c2, c3 = st.columns(3)
    c1.metric("Incidents", table.attrs.get("total_label", "–"))
    c2.metric("Harm (CCHI days, rounded)", table.attrs.get("total_harm_label", "–"))
    c3.metric("Areas with incidents", ui.num(len(table)))

    if table.empty:
        st.info("No incidents in this period.")
    else:
        ui.kept_map("areas_base", (key, ver, role_key), area_base,
                    [area_layer(table, level, period, basket, measure)], key="areas_map", height=560)
        st.caption(f"Grey areas: a count below {threshold}. {table.attrs.get('note', '')}")
        out = table.drop(columns="geometry")[["code", "name", "count_label", "harm_label"]]
        out = out.rename(columns={"count_label": "incidents", "harm_label": "harm (CCHI days, rounded)"})
        ui.table(out, config={"code": st.column_config.TextColumn("Code"),
                              "name": st.column_config.TextColumn("Area"),
                              "incidents": st.column_config.TextColumn("Incidents"),
                              "harm (CCHI days, rounded)": st.column_config.TextColumn("Harm (CCHI days, rounded)")})
        stem = f"{path.stem}-{level}-{period[0]}-{period[-1]}-suppressed"
        layer = area_layer(table, level, period, basket, measure)
        d1, d2, d3 = st.columns(3)
        d1.download_button("Download the table (CSV)", safe.csv_bytes(out), mime="text/csv",
                           file_name=f"{stem}.csv", key="areas_csv",
                           on_click=data.audit, args=("exported area table", f"{level}, {label}"))
        # the maps are made only when a button is clicked (callables), from the same published table
        frame = data.map_frame(key, ver, role_key)  # read now: a download's callable runs outside the session
        d2.download_button("Download the map (HTML, works offline)", lambda: ui.full_map(area_base(frame), [layer]),
                           mime="text/html", file_name=f"{stem}-map.html", key="areas_html",
                           on_click=data.audit, args=("exported area map HTML", f"{level}, {label}"))
        d3.download_button("Download the map (PNG)",
                           lambda: area_png(table, layer[2]["column"], layer[2]["label"], level, label),
                           mime="image/png", file_name=f"{stem}-map.png", key="areas_png",
                           on_click=data.audit, args=("exported area map PNG", f"{level}, {label}"))

    st.subheader("By crime type")
    cats = data.partner_categories(key, ver, period, threshold)
    ui.table(cats[["category", "count_label", "harm_label"]],
             config={"count_label": st.column_config.TextColumn("Incidents"),
                     "harm_label": st.column_config.TextColumn("Harm (days, rounded)")})
    if partner_view:  # the published trend's areas are this level's: in the fragment
        published_trend(table, level)
    # the other levels of this selection, computed in the background: a level change is a lookup
    warm.published(key, ver, role_key, threshold, period, basket, tuple(levels))


def published_trend(table, level: str):
    """Partners: harm per published quarter of the force or one area of ``level`` (never a month)."""
    st.subheader("Harm over time")
    p_names = {"force": info["name"], **dict(zip(table["code"], table["name"]))} if not table.empty else \
        {"force": info["name"]}
    p_code = st.selectbox("Area", list(p_names), format_func=p_names.get, key="areas_p_area")
    frame, lines = data.published_trend(key, ver, threshold, level, p_code, p_names[p_code])
    if len(frame) > 1:
        st.line_chart(frame.set_index("label")["mid"].rename("harm (CCHI days, published)"), height=220)
    st.dataframe(frame[["label", "harm"]].rename(columns={"label": "quarter"}), hide_index=True,
                 column_config={"quarter": "Quarter", "harm": "Harm (CCHI days, rounded)"})
    for line in lines:
        st.markdown(f"- {safe.md(line)}")
    st.caption("Drug-market harm by whole calendar quarter from the published figures; ranges where a count below "
               f"{threshold} is included.")


summary()

# ------------------------------------------------------------------ trends over time (outside the fragment)
if not partner_view:
    st.subheader("Harm over time")
    TREND_LEVEL_NAMES = {"force": "Force", "bcu": "BCU", "ward": "Ward", "neighbourhood": "Neighbourhood"}
    t_levels = [lv for lv in data.TREND_LEVELS if lv in ("force", "bcu") or lv in info["levels"]]
    t1, t2 = st.columns([2, 3])
    t_level = t1.radio("Level", t_levels, format_func=TREND_LEVEL_NAMES.get, horizontal=True, key="areas_t_level")
    t_units = data.trend_units(key, ver, role_key, t_level)
    if t_units.empty:
        st.info("No area of this level lies inside the areas you may see: choose another level.")
    else:
        names = dict(zip(t_units["code"], t_units["name"]))
        t_code = t2.selectbox("Area", list(names), format_func=names.get, key="areas_t_area")
        trend = data.area_trend(key, ver, role_key, t_level, t_code, info["months"][-1])
        if trend["png"]:
            st.image(base64.b64decode(trend["png"]))
        for line in trend["lines"]:
            st.markdown(f"- {safe.md(line)}")
        st.caption(safe.md(trend["note"]))
