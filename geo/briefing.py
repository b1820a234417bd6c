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
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import disclosure
from .errors import GeoInputError
from .periods import month_add, month_label, month_range, period_label, quarter_add
from .harm import ENFORCEMENT_LABEL, HARM_SOURCE
from .settings import settings

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_MARKING = "OFFICIAL-SENSITIVE"
AUDIENCES = ("internal", "partner")
AREA_LEVELS = ("bcu", "ward", "neighbourhood")

#: Licence attribution by data source (matched against the import history).
ATTRIBUTIONS = (
    ("street.csv", "Recorded crime: data.police.uk",
     "Contains public sector information licensed under the Open Government Licence v3.0."),
    ("police-uk", "Recorded crime: data.police.uk",
     "Contains public sector information licensed under the Open Government Licence v3.0."),
    ("districts-and-neighbours", "BCU (local authority district) boundaries: ONS",
     "Contains Ordnance Survey, ONS, NRS and LPS data © Crown copyright and database right 2016 (OGL v3); "
     "GeoJSON packaging © Martin Chorley, CC-BY 4.0."),
    ("wards_", "Ward boundaries: ONS", "Contains OS data © Crown copyright and database right; ONS, OGL v3."),
    ("lsoa_", "LSOA boundaries: ONS", "Contains OS data © Crown copyright and database right; ONS, OGL v3."),
    ("sheffield-neighbourhoods", "Sheffield neighbourhoods: Data For Action", "CC-BY 4.0."),
    ("schools", "Schools: Department for Education", "Open Government Licence v3.0."),
    ("health-sites", "Health sites: NHS Choices", "Open Government Licence v2.0."),
    ("calls-for-service", "Calls for service: Portland Police Bureau via the National Institute of Justice",
     "US government public data."),
    ("police-districts", "Police districts: City of Portland", "US government public data."),
)


# ------------------------------------------------------------------ areas and periods
@dataclass(frozen=True)
class Area:
    """The area a briefing covers: ``kind`` (bcu, ward, neighbourhood, polygon), code, name, polygon."""

    kind: str
    code: str
    name: str
    geometry: object
    bcu_code: str | None = None

    @property
    def label(self) -> str:
        kinds = {"bcu": "BCU", "ward": "ward", "neighbourhood": "neighbourhood", "polygon": "drawn area"}
        return f"{self.name} ({kinds.get(self.kind, self.kind)})"


def areas(ws, level: str) -> gpd.GeoDataFrame:
    """The units of ``level`` a briefing may cover (this force's BCUs; wards and neighbourhoods)."""
    if level == "bcu":
        return ws.bcus()
    return ws.boundaries(level)


def resolve_area(ws, name: str, *, level: str | None = None) -> Area:
    """Find an area by name or code among the BCUs, wards and neighbourhoods.

    Raises
    ------
    GeoInputError
        No unit matches, or several do (the message lists them with their level).
    """
    levels = [level] if level else list(AREA_LEVELS)
    hits = []
    key = str(name).strip().lower()
    for lv in levels:
        b = areas(ws, lv)
        m = b[(b["code"].astype(str).str.lower() == key) | (b["name"].astype(str).str.lower() == key)]
        hits += [(lv, r) for r in m.itertuples()]
    if not hits:
        sample = ", ".join(ws.bcus()["name"].head(6))
        raise GeoInputError(f"No {level or 'BCU, ward or neighbourhood'} called '{name}'",
                            fix=f"give a name or code from the workspace's boundaries, e.g. {sample}")
    if len(hits) > 1:
        raise GeoInputError(f"'{name}' matches {len(hits)} areas: "
                            + ", ".join(f"{lv} {r.name} ({r.code})" for lv, r in hits[:8]),
                            fix="add --level bcu|ward|neighbourhood or give the code")
    lv, r = hits[0]
    return Area(lv, str(r.code), str(r.name), r.geometry,
                bcu_code=str(r.code) if lv == "bcu" else (str(r.parent_code) if r.parent_code else None))


def polygon_area(geojson, *, crs: str, name: str = "Drawn area") -> Area:
    """An area from a polygon drawn on the map (GeoJSON geometry in WGS84, dict or text)."""
    import json
    from pyproj import Transformer
    try:
        geom = shapely.geometry.shape(json.loads(geojson) if isinstance(geojson, str) else geojson)
    except Exception as err:
        raise GeoInputError(f"The drawn area is not a valid GeoJSON polygon: {err}",
                            fix="draw it again with the polygon tool") from None
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise GeoInputError(f"The drawn area is a {geom.geom_type}, not a polygon", fix="draw a polygon")
    t = Transformer.from_crs(4326, crs, always_xy=True)
    geom = shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    return Area("polygon", "polygon", name, shapely.make_valid(geom))


def previous_period(m0: str, m1: str) -> tuple[str, str]:
    """The period of the same length immediately before ``m0..m1``."""
    n = len(month_range(m0, m1))
    return month_add(m0, -n), month_add(m0, -1)


# ------------------------------------------------------------------ numbers
def fmt(x, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return f"{x:,.{digits}f}"


def fmt_pct(x) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    return f"{x:+.1f}%"


def pct_change(now: float, before: float) -> float:
    return (now - before) / before * 100 if before else float("nan")


def _inside(inc: gpd.GeoDataFrame, geom) -> gpd.GeoDataFrame:
    if inc.empty:
        return inc
    shapely.prepare(geom)
    return inc[shapely.contains_xy(geom, inc["x"].to_numpy(), inc["y"].to_numpy())]


@dataclass
class Briefing:
    """A built briefing: ``html`` and the ``figures`` it states (for checking)."""

    html: str
    figures: dict
    title: str
    audience: str
    marking: str
    filename: str = "briefing"
    _pdf: bytes | None = field(default=None, repr=False)

    def pdf(self) -> bytes:
        """The PDF (WeasyPrint), made once."""
        if self._pdf is None:
            try:
                from weasyprint import HTML
            except ImportError as err:  # pragma: no cover
                raise ImportError("PDF briefings need weasyprint: pip install weasyprint") from err
            logging.getLogger("weasyprint").setLevel(logging.ERROR)
            logging.getLogger("fontTools").setLevel(logging.ERROR)
            self._pdf = HTML(string=self.html, base_url=str(TEMPLATES)).write_pdf()
        return self._pdf


# ------------------------------------------------------------------ the map
def _hotspot_cells(points: gpd.GeoDataFrame, area_geom):
    """Gi* hot and cold spots of harm on a grid over the area (None if too few points)."""
    if len(points) < 30:
        return None
    try:
        from .grid import grid_counts
        from .hotspots import gistar
        size = max(150.0, min(500.0, round(np.sqrt(area_geom.area / 1500) / 50) * 50))
        cells = grid_counts(points, cell_size=size, weight="harm", area=area_geom, keep_empty=True)
        return gistar(cells, column="harm")
    except Exception as err:  # the map still shows boundaries and sites
        logger.warning("hot-spot map skipped: %s", err)
        return None


def map_png(area: Area, *, crs: str, units: gpd.GeoDataFrame | None = None, hot=None, partner_units=None,
            sites: gpd.GeoDataFrame | None = None, title: str = "") -> bytes:
    """A static map as PNG bytes: no tiles, boundaries are the basemap (:mod:`geo.render.static_maps`)."""
    from .render import palette
    from .render.static_maps import StaticMap

    outline = gpd.GeoSeries([area.geometry], crs=crs)
    sm = StaticMap(bounds=outline.total_bounds, pad=0.03, figsize=(7.2, 5.6), dpi=110)
    if partner_units is not None and len(partner_units):
        sm.choropleth(partner_units[partner_units["harm"].notna()], "harm", label="Harm (CCHI days, rounded)")
        sm.fill(partner_units[partner_units["harm"].isna()], palette.LINE_COLORS["suppressed"],
                edgecolor=palette.BOUNDARY_COLORS["unit"], linewidth=0.3, hatch="///",
                label="a count below 5 (<5)")
    sm.outline(units, palette.BOUNDARY_COLORS["unit"], linewidth=0.4)
    if hot is not None and len(hot):
        sm.classes(hot, "hotspot", palette.HOTSPOT_COLORS, suffix=" (Gi*)")
    sm.outline(outline, palette.BOUNDARY_COLORS["area"], linewidth=1.2)
    sm.sites(sites, kinds=("school", "treatment", "pharmacy"))
    return sm.png(title=title, scale_bar=True, north=True, legend_loc="below")


# ------------------------------------------------------------------ sources
def _sources(ws) -> list[dict]:
    hist = ws.store.import_history()
    seen, out = set(), []
    for src in hist["source"].astype(str):
        name = Path(src).name.lower()
        for pattern, what, licence in ATTRIBUTIONS:
            if pattern in name and what not in seen:
                seen.add(what)
                out.append({"what": what, "licence": licence})
                break
    out.append({"what": "Harm weights: " + HARM_SOURCE, "licence": "Published weights; see the workspace's harm table."})
    return out


def _sites_exposure(sites, inc_basket, area: Area, crs, bcus, buffer_m: float):
    """Sites inside the area ranked by basket harm within ``buffer_m``; columns name, kind, n, harm, hotspot."""
    if sites is None or sites.empty:
        return pd.DataFrame(columns=["name", "kind", "n", "harm"])
    geom = area.geometry
    shapely.prepare(geom)
    s = sites[shapely.contains_xy(geom, sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy())]
    if s.empty:
        return pd.DataFrame(columns=["name", "kind", "n", "harm"])
    try:
        from .sites import site_exposure
        e = site_exposure(s, inc_basket, buffers_m=(buffer_m,), hotspots=None, bcus=None)
        r = int(buffer_m)
        out = pd.DataFrame({"name": e["name"].to_numpy(), "kind": e["kind"].to_numpy(),
                            "n": e[f"n_{r}m"].to_numpy(), "harm": e[f"harm_{r}m"].to_numpy(),
                            "trend": e["trend"].to_numpy() if "trend" in e else ""})
    except Exception as err:  # fall back to a plain buffer count
        logger.info("geo.sites unavailable (%s); counting within the buffer directly", err)
        tree = shapely.STRtree(inc_basket.geometry.to_numpy())
        pairs = tree.query(s.geometry.to_numpy(), predicate="dwithin", distance=buffer_m)
        n = np.bincount(pairs[0], minlength=len(s))
        h = np.bincount(pairs[0], weights=inc_basket["harm"].to_numpy()[pairs[1]], minlength=len(s))
        out = pd.DataFrame({"name": s["name"].to_numpy(), "kind": s["kind"].to_numpy(), "n": n, "harm": h,
                            "trend": ""})
    return out.sort_values(["harm", "n"], ascending=False).head(10).reset_index(drop=True)


def _operations(ws, area: Area, incidents_all, audience: str, threshold: int) -> tuple[list[dict], str]:
    """Operations whose target meets the area, with their results in harm terms."""
    from .operations import target_geometry
    rows = []
    try:
        ops = ws.operations()
    except Exception as err:  # pragma: no cover
        return [], f"The operations register could not be read: {err}"
    if not ops:
        return [], "No operations are recorded in this workspace."
    boundaries = ws.boundaries()
    try:
        from . import displacement
        analyse = getattr(displacement, "analyse_operation", None)
    except Exception:  # the results module is optional
        analyse = None
    note = "" if analyse else ("Results analysis is not available in this installation: operations are listed "
                               "without results.")
    for op in ops:
        try:
            geom = target_geometry(op, crs=ws.crs, boundaries=boundaries if op.target_kind == "unit" else None)
        except Exception:
            continue
        if geom is None or not geom.intersects(area.geometry):
            continue
        row = {"name": op.name, "tactic": op.tactic, "dates": f"{op.start} to {op.end}", "result": ""}
        if audience == "partner":
            row["result"] = ("Not given in partner briefings: an operation's target area is not made of whole "
                             "published units. Ask the force's analysts for the results.")
        elif analyse is not None:
            try:
                row["result"] = analyse(ws, op, incidents=incidents_all).headline
            except GeoInputError as err:
                row["result"] = f"No result yet: {err.args[0] if err.args else err}"
            except Exception as err:
                logger.warning("operation %s: results failed: %s", op.name, err)
                row["result"] = "Results could not be computed for this operation."
        rows.append(row)
    if not rows:
        return [], "No operation in the register targets this area."
    return rows, note


def _level_for_units(ws, area: Area):
    """The finest boundary level with several units inside the area (for the partner map and tables)."""
    order = ("ward", "neighbourhood", "lsoa") if area.kind == "bcu" else ("lsoa", "neighbourhood", "ward")
    for lv in order:
        b = ws.boundaries(lv)
        if b.empty:
            continue
        pts = b.geometry.representative_point()
        inside = b[shapely.contains_xy(area.geometry, pts.x.to_numpy(), pts.y.to_numpy())]
        if len(inside) >= 4:
            return lv, inside
    return "hex", disclosure.hex_units(area.geometry, cell_size=250, crs=ws.crs)


# ------------------------------------------------------------------ build
def build(ws, area: Area, months: tuple[str, str], *, audience: str = "internal", marking: str | None = None,
          threshold: int | None = None, incidents: gpd.GeoDataFrame | None = None, generated_by: str = "",
          now: dt.datetime | None = None) -> Briefing:
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
        return _build_partner(ws, area, (m0, m1), marking=marking, threshold=threshold, incidents=incidents,
                              generated_by=generated_by, now=now)
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

    in_area = _inside(crime, area.geometry)
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
    calls = _inside(inc_all[inc_all["layer"] == "calls"], area.geometry) if (inc_all["layer"] == "calls").any() \
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
    level, units = _level_for_units(ws, area)
    sites_all = ws.sites()
    bcus = ws.bcus()
    from .aggregate import by_unit
    ut = by_unit(basket, units[["code", "name", "geometry"]])
    unit_rows = [{"name": r.name, "count": fmt(r.count), "harm": fmt(r.harm)}
                 for r in ut.sort_values("harm", ascending=False).head(10).itertuples()]
    hot = _hotspot_cells(basket, area.geometry)
    n_hot = int(hot["hotspot"].astype(str).str.startswith("Hot").sum()) if hot is not None else 0
    figures["hot_cells"] = n_hot
    png = map_png(area, crs=ws.crs, units=units, hot=hot, sites=sites_all[sites_all.within(area.geometry)],
                  title=f"Hot spots of drug-market harm (Gi*, FDR-adjusted), {period_label(m0, m1)}")
    hot_note = (f"{n_hot} grid cells are significant hot spots of drug-market harm (Getis-Ord Gi*, "
                "Benjamini-Hochberg adjusted)." if hot is not None else
                "Too few incidents to test for hot spots; the map shows boundaries and sites.")

    # sites
    buffer_m = float(ws.setting("site_buffers_m", settings.site_buffers_m)[0])
    ex = _sites_exposure(sites_all, basket, area, ws.crs, bcus, buffer_m)
    site_rows = []
    for r in ex.itertuples():
        site_rows.append({"name": r.name, "kind": r.kind, "count": fmt(r.n), "harm": fmt(r.harm),
                          "trend": getattr(r, "trend", "")})

    ops, ops_note = _operations(ws, area, inc_all if main_layer == "crime" else None, audience, threshold)

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
        "changed": changed, "caveats": [c for c in caveats if c], "sources": _sources(ws),
        "threshold": threshold, "enforcement_label": ENFORCEMENT_LABEL,
    }
    html = render_html(ctx)
    safe = "".join(ch if ch.isalnum() else "-" for ch in area.name.lower()).strip("-")
    return Briefing(html=html, figures=figures, title=title, audience=audience, marking=marking,
                    filename=f"briefing-{safe}-{m0}-{m1}-{audience}")


def render_html(ctx: dict) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("briefing.html.j2").render(**ctx)


# ------------------------------------------------------------------ the partner briefing
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


def _build_partner(ws, area: Area, months: tuple[str, str], *, marking: str, threshold: int, incidents,
                   generated_by: str, now: dt.datetime) -> Briefing:
    """The partner briefing: every figure derived from the published base table (:mod:`geo.disclosure`)."""
    m0, m1 = months
    inc_all = incidents if incidents is not None else ws.incidents()
    available = disclosure.complete_quarters(ws.store.months())
    quarters = disclosure.quarters_for_months(m0, m1, available)
    n = len(quarters)
    prev_q = disclosure.quarter_run(*_shift_quarters(quarters, -n))
    prev_ok = all(q in available for q in prev_q)
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
    coverage = (f"This briefing covers {len(codes)} whole {kind}{'s' if len(codes) != 1 else ''} (those whose centre "
                f"lies in {'the drawn area' if area.kind == 'polygon' else area.name}): "
                + ", ".join(sorted(codes)) + ".")
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
    in_area = sites_all[sites_all.within(geom)] if len(sites_all) else sites_all
    png = map_png(shown, crs=ws.crs, partner_units=ut, sites=in_area,
                  title=f"Drug-market harm by {kind}, {period} (small counts suppressed)")
    site_rows = []
    for r in in_area.itertuples():  # each site with the published figures of the unit it stands in
        hit = ut[shapely.contains_xy(ut.geometry.to_numpy(), r.geometry.x, r.geometry.y)]
        if len(hit):
            u = hit.iloc[0]
            site_rows.append({"name": r.name, "kind": r.kind, "unit": f"{u['name']} ({u['code']})",
                              "count": u["count_label"], "harm": u["harm_label"],
                              "_h": -1.0 if u["harm"] != u["harm"] else float(u["harm"])})
    site_rows = sorted(site_rows, key=lambda s: -s["_h"])[:10]
    ops, ops_note = _operations(ws, shown, None, "partner", threshold)

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
        "ops_note": ops_note, "changed": changed, "caveats": caveats, "sources": _sources(ws),
        "threshold": threshold, "enforcement_label": ENFORCEMENT_LABEL,
    }
    html = render_html(ctx)
    safe = "".join(ch if ch.isalnum() else "-" for ch in area.name.lower()).strip("-")
    return Briefing(html=html, figures=figures, title=title, audience="partner", marking=marking,
                    filename=f"briefing-{safe}-{quarters[0]}-{quarters[-1]}-partner")


def audit_detail(b: Briefing) -> str:
    """The audit-log detail of a briefing: area, period, audience and, for partners, the base units covered.

    For a drawn polygon the unit codes are the area the partner actually received.
    """
    f = b.figures
    out = f"{f['area']}, {f['period']}, {b.audience} briefing"
    if b.audience == "partner" and f.get("units"):
        out += f"; {len(f['units'])} {f.get('unit_level', 'unit')} units: {' '.join(f['units'])}"
    return out


def _shift_quarters(quarters: list[str], k: int) -> tuple[str, str]:
    """The first and last of ``quarters`` moved by ``k`` quarters."""
    return quarter_add(quarters[0], k), quarter_add(quarters[-1], k)
