"""Area briefings: one HTML template, exported as HTML and as PDF (WeasyPrint).

A briefing covers an area (a BCU, ward, neighbourhood or a drawn polygon) and a period
of months: the headline drug-market harm against the previous period and against the
force, the harms that dominate, a static hot-spot map (matplotlib, no tiles), the
sensitive sites most exposed, calls for service against recorded crime, the operations
in the area and their results in harm terms, what changed, caveats and the data sources
with their licences. A protective marking (``OFFICIAL-SENSITIVE`` by default, set per
workspace as ``protective_marking``) is printed in the header and footer of every page
with "Page N of M".

``audience="partner"`` builds the same document from the published base table only
(:func:`geo.disclosure.published_for`: base unit × calendar quarter × crime type, small
counts shown as "<5"): every figure is a sum of its cells, shown exactly or as a range;
the area is made of whole base units (a drawn polygon is snapped to them and must
cover ``partner_min_units``); the period is whole calendar quarters; there are no monthly
counts, month-to-month changes, hot-spot cells, site buffers or operation results.

Typical use::

    ws = Workspace.open("workspaces/south-yorkshire.gpkg")
    b = build(ws, resolve_area(ws, "Sheffield"), ("2024-02", "2024-04"))
    Path("sheffield.pdf").write_bytes(b.pdf())
"""
from __future__ import annotations

import base64
import datetime as dt
import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from .briefing_data import (AREA_LEVELS, ATTRIBUTIONS, AUDIENCES, DEFAULT_MARKING, Area, area_operations,
                            areas, hotspot_cells, inside_area, level_for_units, pct_change,
                            polygon_area, previous_period, resolve_area, sites_exposure, sources)
from .briefing_partner import build_partner, partner_area, shift_quarters
from .errors import GeoInputError
from .harm import ENFORCEMENT_LABEL
from .periods import month_add, month_label, month_range, period_label
from .render.briefing import TEMPLATES, Briefing, fmt, fmt_pct, map_png, render_html
from .settings import settings

logger = logging.getLogger(__name__)

__all__ = ["AREA_LEVELS", "ATTRIBUTIONS", "AUDIENCES", "DEFAULT_MARKING", "TEMPLATES", "Area", "Briefing", "areas",
           "audit_detail", "build", "build_partner", "fmt", "fmt_pct", "map_png", "partner_area", "pct_change",
           "polygon_area", "previous_period", "render_html", "resolve_area"]

# the names this module had before it was split (tests and older callers use them)
_inside, _hotspot_cells, _sources, _sites_exposure = inside_area, hotspot_cells, sources, sites_exposure
_operations, _level_for_units, _build_partner, _shift_quarters = (area_operations, level_for_units, build_partner,
                                                                  shift_quarters)


# ------------------------------------------------------------------ build
def build(ws, area: Area, months: tuple[str, str], *, audience: str = "internal", marking: str | None = None,
          threshold: int | None = None, incidents: gpd.GeoDataFrame | None = None, generated_by: str = "",
          now: dt.datetime | None = None, published=None, results=None, operations=None) -> Briefing:
    """Build a briefing for ``area`` over ``months`` (inclusive ``YYYY-MM``).

    Parameters
    ----------
    ws : geo.workspace.Workspace
    area : Area
        From :func:`resolve_area` or :func:`polygon_area`.
    months : (str, str)
    audience : {"internal", "partner"}
        ``partner``: suppressed aggregates only.
    marking : str, optional
        Protective marking; ``None``: the workspace's ``protective_marking`` setting or
        ``OFFICIAL-SENSITIVE``.
    threshold : int, optional
        Suppression threshold; ``None``: the workspace's ``suppression_threshold`` or 5.
    incidents : GeoDataFrame, optional
        All mapped incidents of the workspace (``ws.incidents()``), to skip reading them.
    published : geo.disclosure.Published, optional
        Partner briefings: the workspace's published base table already built
        (:func:`geo.disclosure.published_for` over every complete quarter, the same threshold),
        to skip building it; a table with another threshold is not used.
    results : callable, optional
        Internal briefings: ``results(op)`` gives an operation's default results analysis as the user
        may see it (:func:`geo.services.build_briefing` passes the checked, kept analysis the
        Operations page shows); without it each operation is analysed here.
    operations : list, optional
        The operations register as the user may see it (:func:`geo.services.list_operations`);
        ``None``: every operation in the workspace.

    Returns
    -------
    Briefing
        ``figures`` holds the numbers the text states (``harm``, ``harm_pct``, ...).
    """
    if audience not in AUDIENCES:
        raise GeoInputError(f"Unknown audience '{audience}'", fix="use internal or partner")
    m0, m1 = months
    period = month_range(m0, m1)
    marking = marking or ws.setting("protective_marking", DEFAULT_MARKING) or DEFAULT_MARKING
    threshold = int(threshold or ws.setting("suppression_threshold", settings.suppression_threshold))
    now = now or dt.datetime.now()
    if audience == "partner":
        return build_partner(ws, area, (m0, m1), marking=marking, threshold=threshold, incidents=incidents,
                              generated_by=generated_by, now=now, published=published)
    inc_all = incidents if incidents is not None else ws.incidents()
    data_months = sorted(inc_all["month"].dropna().unique())
    missing = [m for m in period if m not in data_months]
    if len(missing) == len(period):
        raise GeoInputError(f"The workspace holds no incidents for {period_label(m0, m1)}",
                            fix=f"choose months between {data_months[0]} and {data_months[-1]}" if data_months
                            else "import data first")
    p0, p1 = previous_period(m0, m1)
    prev_months = month_range(p0, p1)
    prev_avail = [m for m in prev_months if m in data_months]
    crime = inc_all[inc_all["layer"] != "calls"] if (inc_all["layer"] != "calls").any() else inc_all
    main_layer = "crime" if (inc_all["layer"] == "crime").any() else "calls"
    unit = "CCHI days" if main_layer == "crime" else "weighted calls"

    in_area = inside_area(crime, area.geometry)
    cur = in_area[in_area["month"].between(m0, m1)]
    prev = in_area[in_area["month"].between(p0, p1)]
    force_cur = crime[crime["month"].between(m0, m1)]
    force_prev = crime[crime["month"].between(p0, p1)]
    basket = cur[cur["in_basket"]]

    def per_month(frame, n_months):
        return frame.loc[frame["in_basket"], "harm"].sum() / n_months if n_months else float("nan")

    n_cur = len([m for m in period if m in data_months])
    harm = float(basket["harm"].sum())
    count = int(len(basket))
    harm_all = float(cur["harm"].sum())
    harm_prev_pm = per_month(prev, len(prev_avail))
    harm_cur_pm = per_month(cur, n_cur)
    harm_pct = pct_change(harm_cur_pm, harm_prev_pm) if prev_avail else float("nan")
    force_harm = float(force_cur.loc[force_cur["in_basket"], "harm"].sum())
    force_pct = pct_change(per_month(force_cur, n_cur), per_month(force_prev, len(prev_avail))) if prev_avail \
        else float("nan")
    share = harm / force_harm * 100 if force_harm else float("nan")
    drugs = int((cur["category"] == settings.enforcement_category).sum())

    caveats = [
        "Harm weights each crime by the Cambridge Crime Harm Index (days of imprisonment a first offender would "
        "receive); the drug-market harm basket is violence and sexual offences, robbery, possession of weapons, "
        "public order, criminal damage and arson, and anti-social behaviour.",
        f"{ENFORCEMENT_LABEL}: a rise can mean more proactive policing, not more harm.",
        "police.uk locations are anonymised to the nearest of a fixed set of map points; small areas can gain or "
        "lose crimes at their edges.",
    ]
    if missing:
        caveats.append(f"No data for {', '.join(month_label(m) for m in missing)} of the period.")
    if not prev_avail:
        caveats.append(f"The data hold no month of the previous period ({period_label(p0, p1)}), so no change "
                       "against it is given.")
    elif len(prev_avail) < len(prev_months):
        caveats.append(f"Only {', '.join(month_label(m) for m in prev_avail)} of the previous period "
                       f"({period_label(p0, p1)}) is in the data: changes compare average harm per month.")

    figures = {
        "area": area.name, "period": period_label(m0, m1), "previous": period_label(p0, p1),
        "harm": harm, "count": count, "harm_all": harm_all, "harm_pct": harm_pct, "force_harm": force_harm,
        "force_pct": force_pct, "share_of_force": share, "drug_offences": drugs,
        "harm_per_month": harm_cur_pm, "harm_prev_per_month": harm_prev_pm,
    }

    # harms that dominate
    from .harm import summarise
    t = summarise(cur) if len(cur) else pd.DataFrame(columns=["category", "count", "harm", "harm_share"])
    dominant = [{"category": r.category + (" (enforcement activity)" if r.category == settings.enforcement_category
                                           else ""),
                 "count": fmt(r.count), "harm": fmt(r.harm), "share": f"{r.harm_share * 100:.0f}%"}
                for r in t.head(8).itertuples()]
    figures["top_category"] = t["category"].iloc[0] if len(t) else None

    # monthly series and calls against crime
    calls = inside_area(inc_all[inc_all["layer"] == "calls"], area.geometry) if (inc_all["layer"] == "calls").any() \
        else inc_all.iloc[:0]
    calls = calls[calls["month"].between(m0, m1)]
    series = []
    for m in period:
        c = cur[cur["month"] == m]
        series.append({"month": month_label(m), "crime": fmt(len(c)),
                       "harm": fmt(c.loc[c["in_basket"], "harm"].sum())})
    calls_note = ""
    if main_layer == "crime" and len(calls) == 0:
        calls_note = "No calls for service are held for this area, so only recorded crime is shown."
    elif len(calls):
        cm = calls.groupby("month").size().reindex(period, fill_value=0)
        drug_calls = calls[calls["in_basket"]].groupby("month").size().reindex(period, fill_value=0)
        for i, m in enumerate(period):
            series[i]["calls"] = fmt(cm[m])
            series[i]["drug_calls"] = fmt(drug_calls[m])
        figures["calls"] = int(cm.sum())
        if main_layer == "calls":
            calls_note = "This workspace holds calls for service but no recorded crime: calls are the measure."

    # what changed: latest month against the one before
    changed = []
    last, before = (period[-1], month_add(period[-1], -1))
    a = in_area[in_area["month"] == last]
    b = in_area[in_area["month"] == before]
    if len(b):
        ga = a.groupby("category").agg(n=("harm", "size"), h=("harm", "sum"))
        gb = b.groupby("category").agg(n=("harm", "size"), h=("harm", "sum"))
        g = ga.join(gb, how="outer", lsuffix="_now", rsuffix="_before").fillna(0)
        g["dh"] = g["h_now"] - g["h_before"]
        for cat, r in g.reindex(g["dh"].abs().sort_values(ascending=False).index).head(5).iterrows():
            changed.append(f"{cat}: {fmt(r.n_before)} → {fmt(r.n_now)} incidents, harm "
                           f"{'+' if r.dh >= 0 else '−'}{fmt(abs(r.dh))} days ({month_label(before)} to "
                           f"{month_label(last)}).")

    # units table and map
    level, units = level_for_units(ws, area)
    sites_all = ws.sites()
    bcus = ws.bcus()
    from .aggregate import by_unit
    ut = by_unit(basket, units[["code", "name", "geometry"]])
    unit_rows = [{"name": r.name, "count": fmt(r.count), "harm": fmt(r.harm)}
                 for r in ut.sort_values("harm", ascending=False).head(10).itertuples()]
    hot = hotspot_cells(basket, area.geometry)
    n_hot = int(hot["hotspot"].astype(str).str.startswith("Hot").sum()) if hot is not None else 0
    figures["hot_cells"] = n_hot
    png = map_png(area, crs=ws.crs, units=units, hot=hot, sites=sites_all[sites_all.within(area.geometry)],
                  title=f"Hot spots of drug-market harm (Gi*, FDR-adjusted), {period_label(m0, m1)}")
    hot_note = (f"{n_hot} grid cells are significant hot spots of drug-market harm (Getis-Ord Gi*, "
                "Benjamini-Hochberg adjusted)." if hot is not None else
                "Too few incidents to test for hot spots; the map shows boundaries and sites.")

    # sites
    buffer_m = float(ws.setting("site_buffers_m", settings.site_buffers_m)[0])
    ex = sites_exposure(sites_all, basket, area, ws.crs, bcus, buffer_m)
    site_rows = []
    for r in ex.itertuples():
        site_rows.append({"name": r.name, "kind": r.kind, "count": fmt(r.n), "harm": fmt(r.harm),
                          "trend": getattr(r, "trend", "")})

    ops, ops_note = area_operations(ws, area, audience, threshold, results=results, operations=operations)

    # the monthly trend, its control limits and what changed over the year, in words
    from .coverage import covered_force_months
    from .trends import area_trend
    trend = area_trend(crime, area, m0, m1, coverage=covered_force_months(inc_all), unit=unit)
    figures["trend"] = trend["lines"]

    headline = {"harm": fmt(harm), "count": fmt(count), "harm_all": fmt(harm_all), "drugs": fmt(drugs)}

    title = f"Area briefing: {area.name}"
    ctx = {
        "title": title, "area": area, "area_label": area.label, "workspace": ws.name, "marking": marking,
        "period": period_label(m0, m1), "previous": period_label(p0, p1), "partner": False,
        "coverage": "", "audience": "Internal (police)",
        "generated": f"{now:%d %B %Y %H:%M}", "generated_by": generated_by, "unit": unit,
        "headline": headline, "harm_pct": fmt_pct(harm_pct), "force_pct": fmt_pct(force_pct),
        "share": f"{share:.1f}%" if np.isfinite(share) else "–", "force_name": ws.force or ws.name,
        "prev_avail": bool(prev_avail), "dominant": dominant, "series": series,
        "has_calls": any("calls" in r for r in series), "calls_note": calls_note,
        "map_png": base64.b64encode(png).decode(), "hot_note": hot_note, "level": level,
        "unit_rows": unit_rows, "site_rows": site_rows, "buffer_m": int(buffer_m), "ops": ops, "ops_note": ops_note,
        "changed": changed, "caveats": [c for c in caveats if c], "sources": sources(ws),
        "trend_png": trend["png"], "trend_lines": trend["lines"], "trend_note": trend["note"],
        "threshold": threshold, "enforcement_label": ENFORCEMENT_LABEL,
    }
    html = render_html(ctx)
    safe = "".join(ch if ch.isalnum() else "-" for ch in area.name.lower()).strip("-")
    return Briefing(html=html, figures=figures, title=title, audience=audience, marking=marking,
                    filename=f"briefing-{safe}-{m0}-{m1}-{audience}")



def audit_detail(b: Briefing) -> str:
    """The audit-log detail of a briefing: area, period, audience and, for partners, the base units covered.

    For a drawn polygon the unit codes are the area the partner actually received.
    """
    f = b.figures
    out = f"{f['area']}, {f['period']}, {b.audience} briefing"
    if b.audience == "partner" and f.get("units"):
        out += f"; {len(f['units'])} {f.get('unit_level', 'unit')} units: {' '.join(f['units'])}"
    return out

