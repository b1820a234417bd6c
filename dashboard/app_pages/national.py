"""National view (analysts): force and BCU monthly harm trends and emerging hot-spot classes.

Read-only over the output of ``python -m geo national`` (the folder in ``GEO_NATIONAL``).
It shows incident-level aggregates by month, not the quarterly suppressed table of
``geo.disclosure``, so it is not registered for partners (``geo.auth.PAGE_ROLES``: analysts
and admins only). Months a force is not covered are gaps, never zero.
"""
from __future__ import annotations

import streamlit as st

from dashboard import auth, data
from geo import safe
from geo.coverage import month_runs
from geo.errors import GeoInputError
from geo.national.view import version

auth.require_user()
folder = data.national_folder()
st.title("National view")
try:
    view = data.national_view(str(folder), version(folder))
except GeoInputError as err:
    st.info(safe.md(f"{err.what} in {err.where}. Run the national pipeline into that folder (or set GEO_NATIONAL "
                    "to the folder of a run):"))
    st.code(f"python -m geo national --archive POLICE_UK_FOLDER_OR_ZIP --out {folder}", language="bash")
    st.stop()
s = view.summary
st.caption(safe.md(f"{len(s['forces'])} forces, {s['months'][0]} to {s['months'][-1]}, {s['rows']:,} rows read "
                   "from the police.uk archive. Harm in days (Cambridge Crime Harm Index)."))

forces = sorted(view.force["force"].unique())
measure = st.radio("Measure", ["harm", "basket_harm", "count"], horizontal=True, key="national_measure",
                   format_func={"harm": "All harm", "basket_harm": "Drug-market basket harm",
                                "count": "Crimes recorded"}.get)
chosen = st.multiselect("Forces", forces, default=forces[: min(5, len(forces))], key="national_forces")
trend = view.force[view.force["force"].isin(chosen)].pivot(index="month", columns="force", values=measure)
st.subheader("Force trends")
st.line_chart(trend)
gaps = view.coverage[~view.coverage["covered"] & view.coverage["force"].isin(chosen)]
for force, g in gaps.groupby("force"):
    st.caption(safe.md(f"{force}: not covered in {', '.join(month_runs(sorted(g['month'])))} "
                       "(no police.uk file; unknown, not zero)"))

force = st.selectbox("BCU trends for", forces, key="national_bcu_force")
bcu = view.bcu[(view.bcu["force"] == force) & (view.bcu["bcu"] != "")]
top = bcu.groupby("bcu")[measure].sum().nlargest(8).index
st.subheader(safe.md(f"{force}: BCUs (districts), the 8 largest"))
st.line_chart(bcu[bcu["bcu"].isin(top)].pivot(index="month", columns="bcu", values=measure))

st.subheader("Emerging hot spots (cells of the 500 m national grid)")
pat = view.patterns[view.patterns["pattern"] != "No Pattern Detected"]
if pat.empty:
    st.info("No emerging hot-spot classes in this run (too few covered months, or hot spots were not run).")
else:
    st.dataframe(pat.pivot_table(index="force", columns="pattern", values="cells", fill_value=0),
                 use_container_width=True)
