"""Data page: what was imported, every row accounted for, rejected rows, and new imports."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import data, ui
from geo import safe, uploads
from geo.errors import GeoInputError
from geo.settings import SITE_KINDS, settings


path = data.current_path()
st.title("Data and imports")
if path is None:
    st.info("No workspace yet. Build the demo workspaces with `make run`, or create one with "
            "`python -m geo import --workspace workspaces/NAME.gpkg --force 'Force name' --boundaries ...`.")
    st.stop()

flash = st.session_state.pop("data_flash", None)  # the outcome of an import, shown after the page reloads
if flash:
    st.success(safe.md(flash["message"]))
    if flash.get("summary"):
        st.text(flash["summary"])  # plain text, not code highlighting

key, ver = str(path), data.version(path)
info = data.info(key, ver)
history, summary = data.import_history(key, ver)

st.caption(f"Workspace **{safe.md(info['name'])}** · file {safe.md_code(path.name)} · analysis CRS "
           f"{safe.md(info['crs'])} · force: {safe.md(info['force'] or '–')}. The file is a GeoPackage: open it in QGIS to see the same layers.")

# ---- the latest picture per layer
if len(summary):
    st.subheader("Incidents held")
    pivot = summary.pivot_table(index=["layer", "month"], columns="status", values="n", aggfunc="sum",
                                fill_value=0).reset_index()
    for col in ("mapped", "no_location", "outside_area"):
        if col not in pivot:
            pivot[col] = 0
    pivot["total"] = pivot[["mapped", "no_location", "outside_area"]].sum(axis=1)
    pivot["month"] = pivot["month"].map(ui.month_label)
    st.dataframe(pivot[["layer", "month", "mapped", "no_location", "outside_area", "total"]], hide_index=True,
                 column_config={"layer": "Layer", "month": "Month",
                                **ui.count_columns("mapped", "no_location", "outside_area", "total", labels={
                                    "mapped": "Mapped", "no_location": "No location (counted, not drawn)",
                                    "outside_area": "Outside area (kept, flagged)", "total": "Total"})})

# ---- import history and reports
st.subheader("Import history")
if history.empty:
    st.info("Nothing imported yet.")
else:
    show = history.copy()
    show["balanced"] = (show[["mapped", "no_location", "outside_area", "rejected"]].sum(axis=1)
                        == show["rows_read"]).map({True: "✓", False: "✗"})
    show["source"] = show["source"].map(lambda s: Path(str(s)).name or s)
    show["imported_at"] = show["imported_at"].map(ui.when_label)
    st.dataframe(show, hide_index=True, column_config={
        "id": "Import", "imported_at": "When", "kind": "Kind", "source": "Source",
        **ui.count_columns("rows_read", "mapped", "no_location", "outside_area", "rejected", "new", "duplicates",
                           labels={"rows_read": "Rows read", "mapped": "Mapped", "no_location": "No location",
                                   "outside_area": "Outside area", "rejected": "Rejected", "new": "Stored new",
                                   "duplicates": "Already held"}),
        "balanced": st.column_config.TextColumn("Adds up", help="mapped + no location + outside + rejected = rows read"),
    })
    choices = history["id"].tolist()[::-1]
    labels = {int(r.id): f"#{r.id} {r.kind}: {Path(str(r.source)).name}" for r in history.itertuples()}
    chosen = st.selectbox("Import report", choices, format_func=labels.get, key="data_import")
    rep = data.import_report(key, ver, int(chosen))
    if rep:
        o = rep["outcomes"]
        cols = st.columns(5)
        cols[0].metric("Rows read", ui.num(rep["rows_read"]))
        cols[1].metric("Mapped", ui.num(o.get("mapped", 0)))
        cols[2].metric("No location", ui.num(o.get("no_location", 0)), help="Counted in totals, not drawn")
        cols[3].metric("Outside area", ui.num(o.get("outside_area", 0)), help="Kept and flagged")
        cols[4].metric("Rejected", ui.num(o.get("rejected", 0)))
        if rep.get("reasons"):
            st.dataframe(pd.DataFrame(sorted(rep["reasons"].items(), key=lambda kv: -kv[1]),
                                      columns=["reason rejected", "rows"]), hide_index=True)
        if rep.get("new") is not None:
            st.caption(f"Stored {ui.num(rep['new'])} new rows; {ui.num(rep.get('duplicates') or 0)} were already in "
                       "the workspace and were not counted twice.")
        if rep.get("updated") or rep.get("removed"):
            st.caption(f"The republished month replaced the one held: {ui.num(rep.get('updated') or 0)} rows updated "
                       f"to their newer version, {ui.num(rep.get('removed') or 0)} held rows no longer published "
                       "were removed.")
        src = Path(str(rep.get("source") or "the file")).name
        for w in rep.get("warnings", []):
            st.warning(safe.md(uploads.hide_temp_paths(w, src)))
        for f, why in rep.get("skipped_files", {}).items():
            st.info(f"Skipped {safe.md(uploads.hide_temp_paths(f, src))}: {safe.md(uploads.hide_temp_paths(why, src))}")
    rej = data.rejected_rows(key, ver, int(chosen))
    st.markdown(f"**Rejected rows of this import:** {ui.num(len(rej))}")
    if len(rej):
        ui.table(rej.head(500))
        st.download_button("Download rejected rows (CSV)", safe.csv_bytes(rej),
                           file_name=f"{path.stem}-import-{chosen}-rejected.csv", mime="text/csv",
                           on_click=data.audit, args=("downloaded rejected rows", f"import {chosen}, {len(rej)} rows"))

def import_message(report, label: str) -> str:
    """One sentence with every outcome of an import."""
    o = report.outcomes
    parts = [f"{ui.num(report.rows_read)} rows read", f"{ui.num(o.get('mapped', 0))} mapped",
             f"{ui.num(o.get('no_location', 0))} with no location", f"{ui.num(o.get('outside_area', 0))} outside the area",
             f"{ui.num(o.get('rejected', 0))} rejected"]
    held = (f" Of the rows kept, {ui.num(report.new or 0)} were new and {ui.num(report.duplicates or 0)} "
            "already held." if report.new is not None else "")
    return f"Imported {label}: " + ", ".join(parts) + "." + held


# ---- import more
st.subheader("Import a file")
kind = st.radio("What is it?", ["police.uk street crime", "Calls for service / incidents", "Sensitive sites"],
                horizontal=True, key="data_kind")
upload = st.file_uploader(f"File (CSV, or the police.uk zip; up to {settings.max_upload_mb} MB)",
                          type=[s.lstrip(".") for s in uploads.UPLOAD_SUFFIXES], key="data_upload")
mapping_name = None
site_kind = None
if kind == "Calls for service / incidents":
    maps = info["settings"].get("mappings", {})
    if maps:
        mapping_name = st.selectbox("Column mapping", list(maps), key="data_mapping")
        st.json(maps[mapping_name], expanded=False)
    else:
        st.info("No column mapping is saved in this workspace yet. Create one with the command line: "
                "`python -m geo import --workspace PATH --calls FILE --mapping mapping.json`.")
elif kind == "Sensitive sites":
    site_kind = st.selectbox("Kind (for files without a 'kind' column)",
                             ["", *SITE_KINDS], format_func=lambda k: SITE_KINDS.get(k, k) if k else "",
                             key="data_site_kind")

if st.button("Import", type="primary", disabled=upload is None, key="data_go"):
    # the browser-sent name is never a path: import_upload saves the bytes under a fixed name
    label = safe.md(uploads.display_label(upload.name))
    try:
        uploads.check_upload_size(upload.size, upload.name)
        with st.spinner(f"Importing {label}…"):
            kind_key = {"police.uk street crime": "crime", "Sensitive sites": "sites"}.get(kind, "calls")
            report = data.import_upload(path, upload.name, upload.getvalue(), kind=kind_key, mapping=mapping_name,
                                        site_kind=site_kind or None)  # audited by geo.services
    except GeoInputError as err:
        st.error(f"Nothing was imported. {safe.md(str(err))}")
    else:
        shown_name = uploads.display_label(upload.name)  # escaped where shown
        st.session_state["data_flash"] = {"message": import_message(report, shown_name),
                                          "summary": uploads.hide_temp_paths(report.summary(), shown_name)}
        st.session_state.pop("data_import", None)  # the report shown is the new import's
        st.rerun()  # the tables above were read before the import
