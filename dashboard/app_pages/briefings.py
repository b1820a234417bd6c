"""Briefings: an area and a period -> an HTML and PDF briefing with the protective marking.

Partners get partner briefings only (figures from ``geo.disclosure``'s published base
table, whole calendar quarters, drawn areas snapped to whole base units); inspectors
choose among their own BCU(s) and the wards and neighbourhoods in them.
"""
from __future__ import annotations

import json

import streamlit as st
from streamlit_folium import st_folium

from dashboard import auth, data, ui
from geo import briefing, disclosure, maps, safe
from geo.auth import AccessDenied, allowed_bcus
from geo.errors import GeoInputError
from geo.labels import option_labels

user = auth.require_user()
path, key, ver, info = data.current()
st.title("Briefings")
st.caption("Choose an area and a period; the briefing opens below and downloads as PDF or HTML, with the "
           "protective marking in its header and footer.")

bcus = data.bcus(key, ver)
bcu_codes = allowed_bcus(user, bcus["code"])
if not bcu_codes:
    st.warning("Your account is not linked to a BCU of this workspace. Ask an administrator.")
    st.stop()
bcu_names = dict(zip(bcus["code"], bcus["name"]))
kinds = {"bcu": "BCU", "ward": "Ward", "neighbourhood": "Neighbourhood", "polygon": "Drawn area"}
available = ["bcu"] + [k for k in ("ward", "neighbourhood") if k in info["levels"]] + ["polygon"]
kind = st.radio("Area", available, format_func=kinds.get, horizontal=True, key="brief_kind")

area_key = None
if kind == "bcu":
    code = st.selectbox("BCU", bcu_codes, format_func=bcu_names.get, key="brief_bcu")
    area_key = ("bcu", code)
elif kind in ("ward", "neighbourhood"):
    units = data.briefing_units(key, ver, kind)  # an inspector's: inside their BCU(s), as geo.access decides
    if units.empty:
        st.info(f"No {kind}s in your area.")
        st.stop()
    labels = option_labels(units["code"], units["name"], level=kind)  # Portland districts: "Neighbourhood 711"
    code = st.selectbox(kinds[kind], list(labels), format_func=labels.get, key=f"brief_{kind}")
    area_key = (kind, code)
else:
    st.caption("Draw the area with the polygon tool (top left of the map), or paste GeoJSON (WGS84).")
    shown = bcus[bcus["code"].isin(bcu_codes)]
    m = maps.base_map(maps.wgs84_bounds(shown), **ui.basemap(info))
    maps.add_boundaries(m, shown, name="BCUs", name_col="name")
    maps.add_draw(m)
    maps.finish(m)
    drawn = st_folium(m, returned_objects=["last_active_drawing"], height=420, use_container_width=True,
                      key="brief_draw")
    if drawn and drawn.get("last_active_drawing"):
        st.session_state["brief_geojson"] = json.dumps(drawn["last_active_drawing"]["geometry"])
    gj = st.text_area("Area polygon (GeoJSON)", key="brief_geojson")
    if gj.strip():
        area_key = ("polygon", gj.strip())

months = info["months"]
if not months:
    st.info("This workspace holds no incidents yet.")
    st.stop()
if user.role == "partner":
    audience = "partner"
else:
    audience = st.radio("Audience", ["internal", "partner"], horizontal=True, key="brief_audience",
                        format_func={"internal": "Internal (police)", "partner": "Partners (suppressed)"}.get)
if audience == "partner":
    quarters = disclosure.complete_quarters(months)
    if not quarters:
        st.info("This workspace holds no complete calendar quarter yet: partner briefings cover whole quarters.")
        st.stop()
    if len(quarters) > 1:
        q0, q1 = st.select_slider("Quarters", options=quarters, value=(quarters[-1], quarters[-1]),
                                  format_func=disclosure.quarter_label, key="brief_quarters")
    else:
        q0 = q1 = st.selectbox("Quarter", quarters, format_func=disclosure.quarter_label, key="brief_quarter")
    period = (disclosure.quarter_months(q0)[0], disclosure.quarter_months(q1)[-1])
    st.caption("Partner briefings are built from whole calendar quarters and whole "
               f"{'LSOAs' if 'lsoa' in info['levels'] else 'published areas'}, with small counts shown as '<5' "
               "and totals that include them as ranges; a drawn area is made of the units whose centre lies inside.")
elif len(months) > 1:
    default = (months[-3] if len(months) >= 3 else months[0], months[-1])
    period = st.select_slider("Months", options=months, value=default, format_func=briefing.month_label,
                              key="brief_months")
else:
    period = (months[0], months[0])

marking = info["settings"].get("protective_marking") or briefing.DEFAULT_MARKING
st.caption(f"Protective marking: **{safe.md(marking)}** (an administrator sets it on the Admin page).")

if st.button("Prepare briefing", type="primary", disabled=area_key is None, key="brief_go"):
    try:
        with st.spinner("Preparing the briefing…"):
            b = data.briefing(key, ver, area_key, tuple(period), audience, user=user)
    except (GeoInputError, AccessDenied) as err:
        st.error(safe.md(err))
    else:
        st.session_state["brief_result"] = {"html": b.html, "filename": b.filename,
                                            "pdf_of": (key, ver, tuple(area_key), tuple(period), audience),
                                            "title": b.title, "audience": b.audience, "area": b.figures["area"],
                                            "period": b.figures["period"], "workspace": key}
        data.audit("viewed area", briefing.audit_detail(b))

res = st.session_state.get("brief_result")
if res and res.get("workspace") == key and (res["audience"] == "partner" or user.role != "partner"):
    st.subheader(f"{safe.md(res['title'])} · {safe.md(res['period'])}")
    c1, c2 = st.columns(2)
    detail = f"{res['area']}, {res['period']}, {res['audience']}"
    pdf_of = res["pdf_of"]  # the PDF is rendered (for the user signed in now, cached) when the button is clicked
    c1.download_button("Download PDF", lambda: data.briefing_pdf(*pdf_of, user=user), file_name=res["filename"]
                       + ".pdf", mime="application/pdf",
                       key="brief_pdf", on_click=data.audit, args=("exported briefing PDF", detail), type="primary")
    c2.download_button("Download HTML", res["html"].encode("utf-8"), file_name=res["filename"] + ".html",
                       mime="text/html", key="brief_html", on_click=data.audit,
                       args=("exported briefing HTML", detail))
    st.iframe(res["html"], height=900)
