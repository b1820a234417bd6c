"""Operations page: the register of operations (create, edit, delete) and their target areas."""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import data, ui
from geo import maps
from geo.errors import GeoInputError
from geo.operations import TACTICS, Operation

path = data.current_path()
key, ver = str(path), data.version(path)
info = data.info(key, ver)
st.title("Operations")
flash = st.session_state.pop("ops_flash", None)
if flash:
    st.success(flash[0])
    if flash[1]:
        st.warning(flash[1])

with data.open_workspace(path) as ws:
    register = ws.operations()
bcus = data.bcus(key, ver)
bcu_names = dict(zip(bcus["code"], bcus["name"]))

# ---- the register
if register:
    table = pd.DataFrame([{
        "name": o.name, "BCU": bcu_names.get(o.bcu, o.bcu), "tactic": o.tactic,
        "start": ui.date_label(o.start), "end": ui.date_label(o.end),
        "days": (o.end_date - o.start_date).days + 1,
        "target": {"unit": f"unit {o.target_unit}", "point_radius": f"{o.radius_m:,.0f} m radius",
                   "polygon": "drawn polygon"}[o.target_kind],
        "targeted harms": ", ".join(o.targeted_harms) or "all", "notes": o.notes,
    } for o in register])
    st.dataframe(table, hide_index=True)
    st.download_button("Download the register (CSV)", table.to_csv(index=False).encode(),
                       file_name=f"{path.stem}-operations.csv", mime="text/csv")
else:
    st.info("No operations yet. Add the first one below: its target area is then drawn on the map and "
            "available for results analysis.")

# ---- create or edit
st.subheader("Add or edit an operation")
by_id = {o.op_id: o for o in register}
choice = st.selectbox("Operation", ["new"] + list(by_id), key="ops_choice",
                      format_func=lambda i: "➕ New operation" if i == "new" else by_id[i].name)
op = by_id.get(choice)
k = f"ops_{choice}_"  # widget keys per operation, so switching reloads the form

name = st.text_input("Name", value=op.name if op else "", key=k + "name", placeholder="e.g. Op Sycamore")
c1, c2 = st.columns(2)
bcu_codes = list(bcu_names)
bcu = c1.selectbox("BCU", bcu_codes, format_func=bcu_names.get, key=k + "bcu",
                   index=bcu_codes.index(op.bcu) if op and op.bcu in bcu_codes else 0)
tactic = c2.selectbox("Tactic", TACTICS, key=k + "tactic", index=TACTICS.index(op.tactic) if op else 0)
months = info["months"]
default_start = dt.date.fromisoformat(op.start) if op else (
    dt.date.fromisoformat(months[len(months) // 2] + "-01") if months else dt.date.today())
start = c1.date_input("Start", value=default_start, key=k + "start", format="DD/MM/YYYY")
end = c2.date_input("End", value=dt.date.fromisoformat(op.end) if op else default_start + dt.timedelta(days=27),
                    key=k + "end", format="DD/MM/YYYY")

kinds = {"unit": "A boundary unit", "point_radius": "A point and radius", "polygon": "A drawn polygon"}
target_kind = st.radio("Target area", list(kinds), format_func=kinds.get, horizontal=True, key=k + "kind",
                       index=list(kinds).index(op.target_kind) if op else 0)
target_unit = lon = lat = radius = geojson = None
if target_kind == "unit":
    levels = [lv for lv in ("ward", "neighbourhood", "lsoa", "bcu") if lv in info["levels"]]
    cur_level = op.target_unit.split(":")[0] if op and op.target_unit else levels[0]
    level = st.selectbox("Level", levels, key=k + "level", index=levels.index(cur_level) if cur_level in levels else 0)
    units = data.boundaries(key, ver, level)
    if level != "bcu":
        units = units[units["parent_code"] == bcu] if (units["parent_code"] == bcu).any() else units
    units = units.sort_values("name")
    codes = units["code"].tolist()
    labels = dict(zip(units["code"], units["name"] + " (" + units["code"] + ")"))
    cur = op.target_unit.split(":", 1)[1] if op and op.target_unit else None
    code = st.selectbox("Unit", codes, format_func=labels.get, key=k + "unit",
                        index=codes.index(cur) if cur in codes else 0)
    target_unit = f"{level}:{code}"
elif target_kind == "point_radius":
    c1, c2, c3 = st.columns(3)
    centre = bcus[bcus["code"] == bcu].to_crs(4326).geometry.iloc[0].representative_point() if len(bcus) else None
    lon = c1.number_input("Longitude", value=float(op.lon) if op and op.lon is not None else
                          (round(centre.x, 5) if centre else 0.0), format="%.5f", key=k + "lon")
    lat = c2.number_input("Latitude", value=float(op.lat) if op and op.lat is not None else
                          (round(centre.y, 5) if centre else 0.0), format="%.5f", key=k + "lat")
    radius = c3.number_input("Radius (m)", min_value=10, max_value=20000, step=50,
                             value=int(op.radius_m) if op and op.radius_m else 300, key=k + "radius")
else:
    st.caption("Draw the target with the polygon or rectangle tool (top left of the map), or paste GeoJSON.")
    m = maps.base_map(maps.wgs84_bounds(bcus[bcus["code"] == bcu] if len(bcus) else bcus),
                      tile_url=info["settings"].get("tile_url"))
    maps.add_boundaries(m, data.boundaries(key, ver, "ward") if "ward" in info["levels"] else bcus,
                        name="Boundaries", name_col="name", color="#777", weight=1)
    maps.add_draw(m)
    maps.finish(m)
    drawn = st_folium(m, returned_objects=["last_active_drawing"], height=420, use_container_width=True,
                      key=k + "draw")
    if drawn and drawn.get("last_active_drawing"):
        st.session_state[k + "geojson"] = json.dumps(drawn["last_active_drawing"]["geometry"])
    geojson = st.text_area("Target polygon (GeoJSON, WGS84)", key=k + "geojson",
                           value=st.session_state.get(k + "geojson", op.target_geojson if op else "") or "")

cats = info["crime_categories"] + info["calls_categories"]
harms = st.multiselect("Targeted harms", cats, default=[c for c in (op.targeted_harms if op else []) if c in cats],
                       key=k + "harms", placeholder="All harms")
notes = st.text_area("Notes", value=op.notes if op else "", key=k + "notes")

c1, c2, _ = st.columns([1, 1, 3])
if c1.button("Save operation", type="primary", key=k + "save"):
    new = Operation(name=name.strip(), bcu=bcu, tactic=tactic, start=start.isoformat(), end=end.isoformat(),
                    target_kind=target_kind, target_unit=target_unit, lon=lon, lat=lat,
                    radius_m=float(radius) if radius else None, target_geojson=geojson or None,
                    targeted_harms=harms, notes=notes, **({"op_id": op.op_id} if op else {}))
    try:
        with data.open_workspace(path) as ws:
            warning = ws.save_operation(new)
            ws.store.audit("local", "operation saved", new.name)
    except GeoInputError as err:
        st.error(str(err))
    else:
        data.clear()
        st.session_state["ops_flash"] = (f"Saved {new.name}.", warning)
        st.rerun()
if op is not None:
    sure = c2.checkbox("Confirm delete", key=k + "sure")
    if c2.button("Delete", key=k + "delete", disabled=not sure):
        with data.open_workspace(path) as ws:
            ws.delete_operation(op.op_id)
            ws.store.audit("local", "operation deleted", op.name)
        data.clear()
        st.session_state["ops_flash"] = (f"Deleted {op.name}.", None)
        st.session_state.pop("ops_choice", None)
        st.rerun()
