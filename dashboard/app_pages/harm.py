"""Harm weights page: the table that turns counts into harm, editable and saved in the workspace."""
from __future__ import annotations

import streamlit as st

from dashboard import data
from geo import harm, safe
from geo.errors import GeoInputError
from geo.harm import ENFORCEMENT_LABEL

path, key, ver, info = data.current()
st.title("Harm weights")
st.markdown(
    "Each incident counts by the harm of its type, in days of imprisonment a first offender would get for it "
    "(the **Cambridge Crime Harm Index**, Sherman, Neyroud & Neyroud 2016). Edit a weight and save to use your "
    f"own. **Drugs** offences are found by proactive policing: {ENFORCEMENT_LABEL.lower()}.")

table = data.harm_table(key, ver)
missing = harm.missing_categories(set(info["crime_categories"]) | set(info["calls_categories"]), table)
if missing:
    st.warning(safe.md(f"{len(missing)} categories in the data have no weight and count as "
                       f"{harm.DEFAULT_WEIGHT:g} day each: {', '.join(missing[:12])}"
                       f"{'…' if len(missing) > 12 else ''}. Add rows for them below."))

edited = st.data_editor(
    table, num_rows="dynamic", hide_index=True, key="harm_editor",
    column_config={
        "category": st.column_config.TextColumn("category", required=True),
        "weight": st.column_config.NumberColumn("weight (days)", min_value=0.0, format="%.2f", required=True),
        "basis": st.column_config.TextColumn("basis"),
        "source": st.column_config.TextColumn("source"),
    })
c1, c2, c3 = st.columns(3)
if c1.button("Save weights", type="primary", key="harm_save"):
    try:
        data.save_harm_table(path, edited)  # validated and audited by geo.services
    except GeoInputError as err:
        st.error(safe.md(err))
    else:
        st.success("Saved. Maps and tables now use these weights.")
if c2.button("Restore the CCHI defaults", key="harm_reset"):
    data.restore_harm_defaults(path)  # audited by geo.services
    st.success("Restored the default table.")
    st.rerun()
c3.download_button("Download weights (CSV)", safe.csv_bytes(edited), file_name="harm-weights.csv",
                   mime="text/csv")
st.caption(f"Default source: {harm.HARM_SOURCE}. Composite police.uk categories are national volume-weighted "
           "means of CCHI subgroup weights; anti-social behaviour has no CCHI value and carries a floor of 1.")
