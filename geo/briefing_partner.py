"""The partner briefing: every figure from the published base table (:mod:`geo.disclosure`)."""
from __future__ import annotations

import base64
import datetime as dt

import shapely

from . import disclosure
from .briefing_data import Area, area_operations, sources
from .harm import ENFORCEMENT_LABEL
from .periods import quarter_add
from .render.briefing import Briefing, map_png, render_html
from .settings import settings
from .site_kinds import sensitive_sites, site_label

#: Areas of at most this many base units list their codes in the opening paragraph; larger ones at the end.
INLINE_CODES = 24


def partner_area(ws, area: Area, pub) -> list[str]:
    """The base units (codes) a partner briefing on ``area`` covers.

    A named BCU, ward or neighbourhood is the base units whose centre lies in it; a
    drawn polygon is snapped the same way and must cover at least the workspace's
    ``partner_min_units`` (default ``settings.partner_min_units``) units.
    """
    if area.kind == "polygon":
        need = int(ws.setting("partner_min_units", settings.partner_min_units) or settings.partner_min_units)
        return pub.snap(area.geometry, min_units=need)
    return pub.snap(area.geometry, min_units=1, what=f"{area.label}")


def build_partner(ws, area: Area, months: tuple[str, str], *, marking: str, threshold: int, incidents,
                   generated_by: str, now: dt.datetime, published=None) -> Briefing:
    """The partner briefing: every figure derived from the published base table (:mod:`geo.disclosure`).

    ``published``: that table over every complete quarter, already built with ``threshold``
    (each figure below names its quarters, and a cell does not depend on other quarters, so
    it gives the same briefing as the table of just this period's quarters).
    """
    m0, m1 = months
    available = disclosure.complete_quarters(ws.store.months())
    quarters = disclosure.quarters_for_months(m0, m1, available)
    n = len(quarters)
    prev_q = disclosure.quarter_run(*shift_quarters(quarters, -n))
    prev_ok = all(q in available for q in prev_q)
    need = set(quarters) | (set(prev_q) if prev_ok else set())
    if published is not None and published.threshold == threshold and need <= set(published.quarters):
        pub = published
    else:
        inc_all = incidents if incidents is not None else ws.incidents()
        pub = disclosure.published_for(ws, quarters=tuple(quarters) + (tuple(prev_q) if prev_ok else ()),
                                       threshold=threshold, incidents=inc_all)
    codes = partner_area(ws, area, pub)
    geom = pub.geometry_of(codes)
    shown = Area(area.kind, area.code, area.name, geom, area.bcu_code)
    layers = set(pub.cells["layer"])
    main_layer = "crime" if "crime" in layers or not layers else "calls"
    unit = "CCHI days" if main_layer == "crime" else "weighted calls"
    F = pub.figure
    harm = F(units=codes, quarters=quarters, layer=main_layer, basket=True, harm=True)
    count = F(units=codes, quarters=quarters, layer=main_layer, basket=True)
    harm_all = F(units=codes, quarters=quarters, layer=main_layer, harm=True)
    drugs = F(units=codes, quarters=quarters, layer=main_layer, category=settings.enforcement_category)
    force_harm = F(quarters=quarters, layer=main_layer, basket=True, harm=True)
    if prev_ok:
        harm_prev = F(units=codes, quarters=prev_q, layer=main_layer, basket=True, harm=True)
        force_prev = F(quarters=prev_q, layer=main_layer, basket=True, harm=True)
        harm_pct, force_pct = disclosure.pct_change(harm, harm_prev), disclosure.pct_change(force_harm, force_prev)
    else:
        harm_pct = force_pct = "–"
    kind = {"lsoa": "LSOA", "hex": f"{disclosure.HEX_SIZE_M:.0f} m hexagon"}.get(pub.level, pub.level)
    names = dict(zip(pub.units["code"], pub.units["name"]))
    listed = ", ".join(sorted(codes)) + "."
    coverage = (f"This briefing covers {len(codes)} whole {kind}{'s' if len(codes) != 1 else ''} (those whose centre "
                f"lies in {'the drawn area' if area.kind == 'polygon' else area.name})")
    # a few codes read well in the opening; a BCU's hundreds would push the headline off the first page
    coverage, coverage_codes = ((coverage + ": " + listed, "") if len(codes) <= INLINE_CODES
                                else (coverage + "; their codes are listed at the end.", listed))
    period, previous = disclosure.quarters_label(quarters), disclosure.quarters_label(prev_q)
    caveats = [
        "Harm weights each crime by the Cambridge Crime Harm Index (days of imprisonment a first offender would "
        "receive); the drug-market harm basket is violence and sexual offences, robbery, possession of weapons, "
        "public order, criminal damage and arson, and anti-social behaviour.",
        f"{ENFORCEMENT_LABEL}: a rise can mean more proactive policing, not more harm.",
        pub.note,
        "Periods are whole calendar quarters, and only quarters whose three months are all in the data are "
        "published, so no figure changes when a month is added.",
    ]
    if not prev_ok:
        caveats.append(f"The previous period ({previous}) is not a complete quarter of the data, so no change "
                       "against it is given.")

    cats = pub.table("category", units=codes, quarters=quarters, layer=main_layer)
    total_h = harm_all
    cats = cats.assign(_m=[h.mid for h in cats["harm"]]).sort_values("_m", ascending=False)
    dominant = [{"category": r.category + (" (enforcement activity)" if r.category == settings.enforcement_category
                                           else ""), "count": r.count_label, "harm": r.harm_label,
                 "share": "–" if r.count.suppressed else disclosure.share(r.harm, total_h)}
                for r in cats.head(8).itertuples()]

    series = []
    for q in quarters:
        row = {"month": disclosure.quarter_label(q),
               "crime": F(units=codes, quarters=[q], layer=main_layer).label}
        if "calls" in layers and main_layer == "crime":
            row["calls"] = F(units=codes, quarters=[q], layer="calls").label
            row["drug_calls"] = F(units=codes, quarters=[q], layer="calls", basket=True).label
        elif main_layer == "calls":
            row["calls"] = row["crime"]
            row["drug_calls"] = F(units=codes, quarters=[q], layer="calls", basket=True).label
        series.append(row)
    calls_note = ("No calls for service are held for this area, so only recorded crime is shown."
                  if "calls" not in layers else
                  "This workspace holds calls for service but no recorded crime: calls are the measure."
                  if main_layer == "calls" else "")

    changed = []
    if prev_ok:
        now_t = pub.table("category", units=codes, quarters=quarters, layer=main_layer).set_index("category")
        was_t = pub.table("category", units=codes, quarters=prev_q, layer=main_layer).set_index("category")
        diffs = []
        for cat in now_t.index.union(was_t.index):
            a = now_t["harm"].get(cat, disclosure.Figure(0, 0, threshold, True))
            b = was_t["harm"].get(cat, disclosure.Figure(0, 0, threshold, True))
            diffs.append((abs(a.mid - b.mid), cat, a, b))
        for _, cat, a, b in sorted(diffs, reverse=True)[:5]:
            changed.append(f"{cat}: harm {b.about} days in {previous}, {a.about} in {period}.")

    ut = pub.unit_table(quarters=quarters, basket=True, layer=main_layer, keep_empty=True)
    ut = ut[ut["code"].isin(codes)]
    unit_rows = [{"name": f"{r.name} ({r.code})", "count": r.count_label, "harm": r.harm_label}
                 for r in ut.sort_values("harm", ascending=False, na_position="last").itertuples()][:15]
    sites_all = ws.sites()
    sites_all = sensitive_sites(sites_all)  # never "other" (ordinary pharmacies, clinics), each site once
    in_area = sites_all[sites_all.within(geom)] if len(sites_all) else sites_all
    png = map_png(shown, crs=ws.crs, partner_units=ut, sites=in_area,
                  title=f"Drug-market harm by {kind}, {period} (small counts suppressed)")
    site_rows = []
    for r in in_area.itertuples():  # each site with the published figures of the unit it stands in
        hit = ut[shapely.contains_xy(ut.geometry.to_numpy(), r.geometry.x, r.geometry.y)]
        if len(hit):
            u = hit.iloc[0]
            site_rows.append({"name": r.name, "kind": site_label(r.kind, getattr(r, "detail", None)),
                              "unit": f"{u['name']} ({u['code']})",
                              "count": u["count_label"], "harm": u["harm_label"],
                              "_h": -1.0 if u["harm"] != u["harm"] else float(u["harm"])})
    site_rows = sorted(site_rows, key=lambda s: -s["_h"])[:10]
    ops, ops_note = area_operations(ws, shown, "partner", threshold)

    headline = {"harm": harm.about, "harm_range": harm.label, "count": count.about, "count_range": count.label,
                "harm_all": harm_all.about, "drugs": drugs.about}
    figures = {"area": area.name, "period": period, "previous": previous, "quarters": list(quarters),
               "units": sorted(codes), "unit_level": pub.level, "harm": harm, "count": count,
               "harm_all": harm_all, "drug_offences": drugs, "force_harm": force_harm,
               "harm_pct": harm_pct, "force_pct": force_pct}
    title = f"Area briefing: {area.name}"
    ctx = {
        "title": title, "area": area, "area_label": area.label, "workspace": ws.name, "marking": marking,
        "period": period, "previous": previous, "partner": True, "coverage": coverage,
        "coverage_codes": coverage_codes, "coverage_kind": kind,
        "audience": "Partners (suppressed aggregates)",
        "generated": f"{now:%d %B %Y %H:%M}", "generated_by": generated_by, "unit": unit,
        "headline": headline, "harm_pct": harm_pct, "force_pct": force_pct,
        "share": disclosure.share(harm, force_harm), "force_name": ws.force or ws.name,
        "prev_avail": prev_ok, "dominant": dominant, "series": series,
        "has_calls": any("calls" in r for r in series), "calls_note": calls_note,
        "map_png": base64.b64encode(png).decode(),
        "hot_note": f"The map shows drug-market harm by {kind}; grey hatched areas hold a count below {threshold}. "
                    "Partners' briefings carry no incident locations or hot-spot cells.",
        "level": kind, "unit_rows": unit_rows, "site_rows": site_rows, "buffer_m": 0, "ops": ops,
        "ops_note": ops_note, "changed": changed, "caveats": caveats, "sources": sources(ws),
        "threshold": threshold, "enforcement_label": ENFORCEMENT_LABEL,
    }
    html = render_html(ctx)
    safe = "".join(ch if ch.isalnum() else "-" for ch in area.name.lower()).strip("-")
    return Briefing(html=html, figures=figures, title=title, audience="partner", marking=marking,
                    filename=f"briefing-{safe}-{quarters[0]}-{quarters[-1]}-partner")



def shift_quarters(quarters: list[str], k: int) -> tuple[str, str]:
    """The first and last of ``quarters`` moved by ``k`` quarters."""
    return quarter_add(quarters[0], k), quarter_add(quarters[-1], k)
