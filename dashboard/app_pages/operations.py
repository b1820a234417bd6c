"""Operations page: the register, results analysis of an operation, and create / edit / delete.

Results analysis (``geo.displacement``): pick an operation, see target, buffer, wider ring and
control and the cross-boundary picture on the map, the verdict in harm terms first, the calibrated tests,
the standard WDQ / WDD / E-test measures (descriptive, not calibrated: labelled so by ``geo.report_tables``),
and download the HTML report and CSV.
"""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import auth, data, data_results, ui
from geo import maps, safe
from geo.auth import AccessDenied
from geo.errors import GeoInputError
from geo.render.results_map import sites_in_catchment
from geo.labels import option_labels, unit_label
from geo.operations import TACTICS, Operation
from geo.render import palette
from geo.report_tables import fmt_alpha, standard_measures

path, key, ver, info = data.current()
st.title("Operations")
flash = st.session_state.pop("ops_flash", None)
if flash:
    st.success(safe.md(flash[0]))
    if flash[1]:
        st.warning(safe.md(flash[1]))

register = data.operations(key, ver)  # scoped by geo.access: an inspector sees their BCUs' operations only
bcus = data.bcus(key, ver)
bcu_names = dict(zip(bcus["code"], bcus["name"]))
area_names = ui.area_names(key, ver)  # codes -> names, for the register's targets

# ---- the register
if register:
    table = pd.DataFrame([{
        "name": o.name, "BCU": bcu_names.get(o.bcu, o.bcu), "tactic": o.tactic,
        "start": ui.date_label(o.start), "end": ui.date_label(o.end),
        "days": (o.end_date - o.start_date).days + 1,
        "target": (unit_label(o.target_unit, area_names) if o.target_kind == "unit" else
                   f"{o.radius_m or 0:,.0f} m radius" if o.target_kind == "point_radius" else "drawn polygon"),
        "targeted harms": ", ".join(o.targeted_harms) or "none declared", "notes": o.notes,
    } for o in register])
    ui.table(table)
    st.download_button("Download the register (CSV)", safe.csv_bytes(table),
                       file_name=f"{path.stem}-operations.csv", mime="text/csv",
                       on_click=data.audit, args=("downloaded operations register", f"{len(table)} operations"))
else:
    st.info("No operations yet. Add the first one below: its target area is then drawn on the map and "
            "available for results analysis.")

# ---- results analysis
if register and st.session_state.get("res_prefetched") != (key, ver):
    # the default analysis of every operation starts in the background now (one at a time, shared by
    # every session of this scope), so the one the user picks is ready or under way
    data_results.prefetch_analyses(key, ver, [o.op_id for o in register], data.default_layer(info["layers"]))
    st.session_state["res_prefetched"] = (key, ver)
RESULT_COLORS = palette.AREA_COLORS   # the same colours as the report's static map


def _num(x, d=0):
    return ui.num(x, d) if x == x else "–"


def results_section():
    st.subheader("Results analysis")
    if not register:
        st.caption("Add an operation below to analyse its results.")
        return
    by_name = {o.op_id: o for o in register}
    op_id = st.selectbox("Analyse operation", list(by_name), key="res_op", format_func=lambda i: by_name[i].name,
                         index=None, placeholder="Choose an operation to analyse its results…")
    if op_id is None:
        return
    op = by_name[op_id]
    layers = info["layers"]
    with st.expander("Windows, buffer and control", expanded=False):
        c1, c2 = st.columns(2)
        layer = c1.selectbox("Incidents", layers, key="res_layer",
                             index=layers.index(data.default_layer(layers)) if layers else 0)
        own_windows = c2.toggle("Set the windows myself", value=False, key="res_own_windows",
                                help="Default: windows of the operation's length immediately before its start "
                                     "and after its end (months for police.uk crime, days for calls).")
        before = after = None
        if own_windows:
            before = c1.text_input("Before window (first:last)", key="res_before", placeholder="2024-01:2024-02")
            after = c2.text_input("After window (first:last)", key="res_after", placeholder="2024-04:2024-04")
            before, after = before or None, after or None
        rule = c1.radio("Buffer", ["Equal area to the target", "Set width"], key="res_buffer_rule", horizontal=True)
        buffer_m = float(c2.number_input("Buffer width (m)", 50, 5000, 400, 50, key="res_buffer_m")) \
            if rule == "Set width" else None
        control_label = {"bcu": "Rest of the BCU", "matched": "Matched area (similar counts and trend)",
                         "units": "Boundary units I choose"}
        control = st.radio("Control area", list(control_label), format_func=control_label.get, key="res_control",
                           horizontal=True)
        units = ()
        if control == "units":
            level = "ward" if "ward" in info["levels"] else "neighbourhood"
            wards = data.boundaries(key, ver, level).sort_values("name")
            units = tuple(st.multiselect("Control units", [f"{level}:{c}" for c in wards["code"]], key="res_units",
                                         format_func=lambda s: dict(zip(wards["code"], wards["name"])).get(
                                             s.split(":", 1)[1], s)))
            if not units:
                st.info("Choose at least one unit for the control.")
                return
    opts = dict(before=before, after=after, layer=layer, buffer_m=buffer_m, control=control, control_units=units)
    try:
        # the verdict as soon as it is ready; the supporting sections follow on the same page
        res = data_results.displacement(key, ver, op_id, early=True, **opts)
    except (GeoInputError, AccessDenied) as err:
        st.error(safe.md(err))
        return
    w = res.windows
    st.caption(safe.md(f"{op.name}: before {w.label('before')}, operation {w.label('operation')}, after "
                       f"{w.label('after')} ({w.resolution} windows). Catchment: "
                       f"{res.catchment.rule if res.catchment is not None else res.areas.buffer_rule}. Comparison: "
                       f"the rest of the operation's BCU outside the target and the catchment."))
    if res.pending:
        wait_for_the_rest(op_id, opts, res.pending)
    show_verdict(res)
    draw_results_map(res)
    data.audit_once("viewed operation results", op.name)
    std = standard_measures(res)   # the report's appendix: titled, explained and rounded in geo
    with st.expander(std.title):
        st.caption(safe.md(std.note))
        st.dataframe(std.key, hide_index=True, key="res_key_table")
        st.dataframe(std.full, hide_index=True, key="res_all_measures")
    st.markdown("**Across boundaries, equal-area design** (Poisson, not calibrated: read the verdict above)")
    if not still_computing(res, "cross") and len(res.cross):
        ui.table(pd.DataFrame(res.cross.drop(columns="geometry"))[
            ["level", "name", "force", "status", "before", "after", "estimate", "harm_estimate", "p", "p_holm",
             "reading"]], names=area_names)
    mv = res.migration.moves if res.migration is not None else ()
    if len(mv):
        st.markdown("**Hot spot moves** (descriptive only: Gi* hot spots before and after flicker from month to "
                    "month, so a move is not a test)")
        ui.table(pd.DataFrame(mv.drop(columns="geometry"))[
            ["kind", "distance_m", "n_before", "n_after", "from_bcu", "to_bcu", "crosses_bcu", "crosses_force",
             "near_site", "flag"]], names=area_names)
    st.markdown("**Caveats**")
    for cav in res.caveats:
        st.caption("• " + safe.md(cav))
    # the report and tables are written when a download is clicked (for the user signed in now, cached), so
    # the verdict does not wait for the report's maps and charts
    report_of = (key, ver, op_id, before, after, layer, buffer_m, control, units)
    user = auth.current_user()
    row = st.container(horizontal=True)  # one row that wraps: no label is cut off
    stem = "".join(ch if ch.isalnum() else "-" for ch in op.name).strip("-").lower()
    row.download_button("Download the report (HTML)", lambda: data_results.displacement_report(*report_of, user=user)[0],
                        file_name=f"{stem}-results.html", mime="text/html",
                        key="res_dl_html", on_click=data.audit, args=("downloaded results report", op.name))
    row.download_button("Download the tables (CSV)", lambda: data_results.displacement_report(*report_of, user=user)[1],
                        file_name=f"{stem}-results.csv", mime="text/csv",
                        key="res_dl_csv", on_click=data.audit, args=("downloaded results tables", op.name))
    # the maps of the complete result (waits for the supporting sections if a click comes before them)
    whole = (key, ver, op_id, before, after, layer, buffer_m, control, units)
    all_bcus = data.bcus(key, ver, all_forces=True)  # read now: a download's callable runs outside the session
    row.download_button("Download the map (HTML, works offline)",
                        lambda: maps.render_standalone(results_map(data_results.displacement_result(*whole, user=user), all_bcus)),
                        file_name=f"{stem}-map.html", mime="text/html", key="res_dl_map_html", on_click=data.audit,
                        args=("downloaded results map HTML", op.name))
    row.download_button("Download the map (PNG)",
                        lambda: results_png(data_results.displacement_result(*whole, user=user), all_bcus),
                        file_name=f"{stem}-map.png", mime="image/png", key="res_dl_map_png", on_click=data.audit,
                        args=("downloaded results map PNG", op.name))


PENDING = {"power": "the power to detect a 50% move", "cross": "the across-boundaries table",
           "migration": "the hot spot moves", "sensitivity": "the buffer-width sensitivity",
           "checks": "the checks (pre-trend, placebo dates and crime type, a year earlier, synthetic comparison)",
           "temporal": "day of week and time of day"}


def wait_for_the_rest(op_id, opts, pending):
    """Say what is still being computed and rerun the page once the whole analysis is done."""
    @st.fragment(run_every=1.0)
    def poll():
        if data_results.displacement_done(key, ver, op_id, **opts):
            st.rerun(scope="app")
        st.info("Verdict ready. Still computing: " + "; ".join(PENDING.get(p, p) for p in pending) +
                " … (this page fills them in when they are done)", icon=":material/hourglass_top:")
    poll()


def still_computing(res, part: str) -> bool:
    """A placeholder where section ``part`` goes while the analysis computes it."""
    if part in res.pending:
        st.caption(f":material/hourglass_top: Still computing {PENDING.get(part, part)} …")
        return True
    return False


STATUS_BOX = {"evidence": st.warning, "no evidence": st.info, "too few to tell": st.info}
STATUS_ICON = {"evidence": ":material/flag:", "no evidence": ":material/check:",
               "too few to tell": ":material/help:"}


def _r(x, d=0):
    """A number rounded for reading ('–' if missing)."""
    return "–" if x is None or pd.isna(x) else f"{x:,.{d}f}"


def line_chart(wide: pd.DataFrame, *, height: int) -> None:
    """``wide`` (index: the months; one column a line) as a line chart. The Vega-Lite spec is written
    here: ``st.line_chart`` builds and validates an Altair chart first, a few tenths of a second a chart
    in the run that shows the whole analysis."""
    x = wide.index.name or "index"
    long = wide.reset_index().melt(id_vars=x, var_name="series", value_name="value")
    st.vega_lite_chart(long, {"height": height, "mark": {"type": "line", "tooltip": True},
                              "encoding": {"x": {"field": x, "type": "ordinal", "title": None},
                                           "y": {"field": "value", "type": "quantitative", "title": None},
                                           "color": {"field": "series", "type": "nominal", "title": None}}},
                       width="stretch")


def show_verdict(res):
    """The verdict first (harm, displacement, diffusion, activity), then the harm metric and the tests."""
    v = res.summary
    st.markdown("**Verdict** (read aloud in this order)")
    for c in v.clauses:
        box = st.success if c.topic == "harm" and c.status == "evidence" and c.estimate < 0 else STATUS_BOX[c.status]
        box(f"{c.status.upper()}: " + safe.md(c.text), icon=STATUS_ICON[c.status])
    for n in v.notes:
        st.caption(safe.md(n))
    t = res.assessment.target
    m = st.columns(3)
    m[0].metric("Target drug-market harm, before → after", f"{_r(t.harm_before)} → {_r(t.harm_after)}",
                help="CCHI days in the basket, before and after windows")
    m[1].metric("Change against the comparison", _r(t.estimate),
                help=f"95% CI {_r(t.ci_low)} to {_r(t.ci_high)}; p = {_r(t.p, 3)} (calibrated)")
    m[2].metric("Spread used by the tests", _r(v.spread, 2),
                help="The spread of placebo z-scores (1.00 under Poisson), widened where the placebo copies overlap "
                     "(the note above gives both); every test's variance is inflated by its square")
    rows = [{"Test": x.name, "Unit": "harm (CCHI days)" if x.unit == "harm" else "basket incidents",
             "Before": _r(x.n_before), "After": _r(x.n_after), "Change vs control": _r(x.estimate, 1),
             "Interval": f"{_r(x.ci_low, 1)} to {_r(x.ci_high, 1)}", "p (adjusted)": _r(x.p_adj, 3),
             "Tested at α": fmt_alpha(x.alpha), "Status": x.status, "Reading": x.reading}
            for x in [t] + res.assessment.family()]
    st.markdown(f"**Calibrated tests** ({safe.md(res.catchment.rule)}; rings cut by BCU and force)")
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="res_tests")
    if not still_computing(res, "sensitivity"):
        with st.expander("Sensitivity: the buffer reading against its width"):
            sens = res.sensitivity.copy()
            st.dataframe(pd.DataFrame({"Buffer": sens["buffer"], "Before": sens["before"].map(_r),
                                       "After": sens["after"].map(_r), "Change vs control": sens["estimate"].map(
                                           lambda x: _r(x, 1)), "p": sens["p"].map(lambda x: _r(x, 3)),
                                       "Status": sens["status"], "Reading": sens["reading"]}), hide_index=True)
    if not still_computing(res, "checks") and res.checks:
        with st.expander("Checks: monthly harm before the operation, placebo dates, a placebo crime type and "
                         "the same months a year earlier"):
            pt = res.checks["pre_trend"]
            wide = pt.pivot(index="month", columns="name", values="harm").astype(float)
            line_chart(wide / wide.mean(), height=220)
            st.caption("Monthly drug-market harm divided by its mean: before the operation the target should move "
                       "roughly in parallel with the control.")
            dates = res.checks["placebo_dates"]
            st.dataframe(pd.DataFrame({"Before": dates["before"], "After": dates["after"],
                                       "Change vs control": dates["estimate"].map(_r),
                                       "p": dates["p"].map(lambda x: _r(x, 3)), "Status": dates["status"]}),
                         hide_index=True)
            q = res.checks["placebo_type"]
            st.caption(safe.md(f"Placebo crime type: {q['crime_type']}, {q['status']}."))
            if res.checks.get("pre_fit"):
                st.markdown(safe.md(res.checks["pre_fit"]["reading"]))
            if res.checks.get("seasonal"):
                sz = res.checks["seasonal"]
                st.markdown(f"**Seasonality** ({safe.md(sz['status'])}): " + safe.md(sz["reading"]))
            sc = res.checks.get("synthetic")
            if sc:
                st.markdown(safe.md(sc["reading"]))
                series = res.checks.get("synthetic_series")
                if series is not None and len(series):
                    line_chart(series.set_index("month")[["target", "synthetic"]].rename(
                        columns={"target": "Target", "synthetic": "Synthetic comparison"}), height=220)
    if not still_computing(res, "temporal") and res.temporal is not None:
        with st.expander("When: day of week and time of day (temporal displacement)"):
            tem = res.temporal
            fr = tem.frame()
            st.dataframe(pd.DataFrame({"Area": fr["area"], "Distribution": fr["kind"], "Before": fr["before"],
                                       "After": fr["after"], "p (Holm)": fr["p_adj"].map(lambda x: _r(x, 3)),
                                       "Status": fr["status"]}), hide_index=True, key="res_temporal")
            for t in tem.tests:
                st.caption(safe.md(t.reading))
            st.caption(safe.md("Drug-market incidents only; " + tem.rule + "."))
    with st.expander("Crime types (exploratory, false-discovery-rate corrected; not part of the verdict)"):
        ty = res.types
        st.dataframe(pd.DataFrame({"Crime type": ty["crime_type"], "Before": ty["before"].map(_r),
                                   "After": ty["after"].map(_r), "Change vs control": ty["estimate"].map(
                                       lambda x: _r(x, 1)), "p": ty["p"].map(lambda x: _r(x, 3)),
                                   "q (FDR)": ty["q"].map(lambda x: _r(x, 3)), "Status": ty["status"]}),
                     hide_index=True)


def draw_results_map(res):
    """The results map of ``res`` (drawn whole on each run)."""
    st_folium(results_map(res, data.bcus(key, ver, all_forces=True)), returned_objects=[], height=520,
              use_container_width=True, key="res_map")


def results_png(res, all_bcus) -> bytes:
    """The results map as a PNG (the report's static map: no tiles), for a document."""
    from geo.report_html import static_map_png
    return static_map_png(res, bcus=all_bcus)


def results_map(res, all_bcus):
    """The results map (folium): target, rings, comparison, evidence, ``all_bcus`` (the BCUs of every force,
    read in the page's run), hot spot moves, near sites."""
    catch = res.catchment
    fr = catch.frame(res.crs)
    zone = fr[fr["kind"] != "control"]
    m = maps.base_map(maps.wgs84_bounds(zone), **ui.basemap(info))
    maps.add_areas(m, fr[fr["kind"] == "control"], name="Comparison (rest of the BCU)",
                   color=RESULT_COLORS["control"], name_col="name", opacity=0.25)
    rings = fr[(fr["kind"] == "ring") & ~fr.geometry.is_empty]
    for (_, r), color in zip(rings.iterrows(), palette.RING_COLORS):
        maps.add_areas(m, rings.loc[[r.name]].assign(name=r["name"]), name=r["name"],
                       color=color, name_col="name", opacity=0.35)
    maps.add_areas(m, fr[fr["kind"] == "target"], name="Target", color=RESULT_COLORS["target"], name_col="name",
                   opacity=0.45)
    flagged = [x for x in res.assessment.family() if x.status == "evidence"]
    if flagged:
        geoms, labels = [], []
        for x in flagged:
            hit = catch.area_of(x)  # None for the sites test
            if hit is not None:
                geoms.append(hit)
                labels.append(f"{x.name}: {x.reading}")
        if geoms:
            import geopandas as gpd
            maps.add_areas(m, gpd.GeoDataFrame({"name": labels}, geometry=geoms,
                                               crs=res.crs), name="Evidence of displacement or diffusion",
                           color=RESULT_COLORS["evidence"], name_col="name", opacity=0.4)
    maps.add_boundaries(m, all_bcus,
                        name="BCUs and neighbouring forces", name_col="name", color=palette.BOUNDARY_COLORS["bcu"],
                        weight=2)
    # each BCU's (or force's) name on its part near the catchment, where the reader looks
    near_bcus = all_bcus.to_crs(res.crs).clip(catch.zone.buffer(500))
    near_bcus = near_bcus[~near_bcus.geometry.is_empty]
    if len(near_bcus):
        maps.add_labels(m, near_bcus, name="BCU names", name_col="name")
    add_moves(m, res.migration.moves if res.migration is not None else ())
    near = sites_in_catchment(res)   # only the sensitive sites that lie in the catchment
    if near is not None and len(near):
        maps.add_sites(m, near, buffers_m=(400,))
    maps.add_legend(m, "Results analysis", [(RESULT_COLORS["target"], "Target"),
                                            (palette.RING_COLORS[0], "Ring 0–250 m"),
                                            (palette.RING_COLORS[1], "Ring 250–500 m"),
                                            (palette.RING_COLORS[2], "Ring 500–1,000 m"),
                                            (RESULT_COLORS["control"], "Comparison"),
                                            (RESULT_COLORS["evidence"], "Evidence of displacement / diffusion")])
    return maps.finish(m)


def add_moves(m, mv) -> None:
    """The hot spot moves ``mv`` (:attr:`geo.displacement.migration.Migration.moves`) as one layer of ``m``."""
    import folium
    if not len(mv):
        return
    # Gi* flicker between the windows: descriptive, not a test (the calibrated tests are the verdict's)
    layer = folium.FeatureGroup(name="Hot spot moves (descriptive, not a test)")
    moved = mv[mv["kind"].isin(["moved", "stayed"])].to_crs(4326)
    for geom, dist, flag in zip(moved.geometry, moved["distance_m"], moved["flag"]):
        pts = [(lat, lon) for lon, lat in geom.coords]
        color = palette.MOVE_COLORS["flagged" if flag else "other"]
        folium.PolyLine(pts, color=color, weight=3,
                        tooltip=safe.tooltip(f"{dist:,.0f} m" + (f": {flag} (descriptive)" if flag else ""))).add_to(layer)
        folium.CircleMarker(pts[-1], radius=5, color=color, fill=True, fill_opacity=1).add_to(layer)
    new = mv[mv["kind"] == "new"].to_crs(4326)
    for geom, flag in zip(new.geometry, new["flag"]):
        folium.CircleMarker((geom.y, geom.x), radius=7, color=palette.MOVE_COLORS["flagged" if flag else "other"],
                            fill=False,
                            weight=3, tooltip=safe.tooltip("new hot spot" + (f": {flag} (descriptive)" if flag else ""))
                            ).add_to(layer)
    layer.add_to(m)


results_section()

# ---- create or edit
st.subheader("Add or edit an operation")
by_id = {o.op_id: o for o in register}
choice = st.selectbox("Operation", ["new"] + list(by_id), key="ops_choice",
                      format_func=lambda i: "New operation…" if i == "new" else by_id[i].name)
op = by_id.get(choice)
k = f"ops_{choice}_"  # widget keys per operation, so switching reloads the form

name = st.text_input("Name", value=op.name if op else "", key=k + "name", placeholder="e.g. Op Sycamore")
c1, c2 = st.columns(2)
bcu_codes = data.operation_bcus(key, ver)  # an inspector: their own BCUs (geo.access decides)
bcu = c1.selectbox("BCU", bcu_codes, format_func=bcu_names.get, key=k + "bcu",
                   index=bcu_codes.index(op.bcu) if op and op.bcu in bcu_codes else 0)
tactic = c2.selectbox("Tactic", TACTICS, key=k + "tactic", index=TACTICS.index(op.tactic) if op else 0)
months = info["months"]
# A new operation defaults to one of the latest months held, leaving two months after it for results analysis.
default_start = dt.date.fromisoformat(op.start) if op else (
    dt.date.fromisoformat(months[max(0, len(months) - 3)] + "-01") if months else dt.date.today().replace(day=1))
default_end = dt.date.fromisoformat(op.end) if op else (
    (default_start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1))
start = c1.date_input("Start", value=default_start, key=k + "start", format="DD/MM/YYYY")
end = c2.date_input("End", value=default_end, key=k + "end", format="DD/MM/YYYY")

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
    labels = option_labels(units["code"], units["name"], level=level)  # "Darnall", not "711 (711)"
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
                      **ui.basemap(info))
    maps.add_boundaries(m, data.boundaries(key, ver, "ward") if "ward" in info["levels"] else bcus,
                        name="Boundaries", name_col="name", color=palette.BOUNDARY_COLORS["boundary"], weight=1)
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
        warning = data.save_operation(path, new)  # checked by geo.access and audited
    except (GeoInputError, AccessDenied) as err:
        st.error(safe.md(err))
    else:
        st.session_state["ops_flash"] = (f"Saved {new.name}.", warning)
        st.rerun()
if op is not None:
    sure = c2.checkbox("Confirm delete", key=k + "sure")
    if c2.button("Delete", key=k + "delete", disabled=not sure):
        try:
            data.delete_operation(path, op.op_id)  # checked by geo.access and audited
        except (GeoInputError, AccessDenied) as err:
            st.error(safe.md(err))
        else:
            st.session_state["ops_flash"] = (f"Deleted {op.name}.", None)
            st.session_state.pop("ops_choice", None)
            st.rerun()
