"""Area briefings: one HTML template, exported as HTML and as PDF (WeasyPrint).

A briefing covers an area (a BCU, ward, neighbourhood or a drawn polygon) and a period
of months: the headline drug-market harm against the previous period and against the
force, the harms that dominate, a static hot-spot map (matplotlib, no tiles), the
sensitive sites most exposed, calls for service against recorded crime, the operations
in the area and their results in harm terms, what changed, caveats and the data sources
with their licences. A protective marking (``OFFICIAL-SENSITIVE`` by default, set per
workspace as ``protective_marking``) is printed in the header and footer of every page
with "Page N of M".

``audience="partner"`` builds the same document from suppressed aggregates only
(:mod:`geo.disclosure`): no incident, id, location or exact small count, and the map
shows areas, not points or hot-spot cells.

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


def month_add(month: str, k: int) -> str:
    y, m = map(int, month.split("-"))
    n = y * 12 + (m - 1) + k
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def month_range(m0: str, m1: str) -> list[str]:
    if m1 < m0:
        raise GeoInputError(f"The period ends ({m1}) before it starts ({m0})", fix="swap --from and --to")
    out, m = [], m0
    while m <= m1:
        out.append(m)
        m = month_add(m, 1)
    return out


def previous_period(m0: str, m1: str) -> tuple[str, str]:
    """The period of the same length immediately before ``m0..m1``."""
    n = len(month_range(m0, m1))
    return month_add(m0, -n), month_add(m0, -1)


def period_blocks(months: list[str], length: int = 3) -> list[tuple[str, str]]:
    """Non-overlapping periods of ``length`` months ending at the latest month, newest first.

    Partners choose among these only: two overlapping periods could be differenced to
    reveal a single month's small count.
    """
    if not months:
        return []
    first, last = min(months), max(months)
    out = []
    end = last
    while end >= first:
        start = month_add(end, -(length - 1))
        out.append((max(start, first) if start < first else start, end))
        end = month_add(start, -1)
    return out


def month_label(m: str) -> str:
    try:
        return dt.datetime.strptime(m, "%Y-%m").strftime("%b %Y")
    except ValueError:
        return m


def period_label(m0: str, m1: str) -> str:
    return month_label(m0) if m0 == m1 else f"{month_label(m0)} – {month_label(m1)}"


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
    """A static map as PNG bytes: no tiles, boundaries are the basemap."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(7.2, 5.6), dpi=110)
    outline = gpd.GeoSeries([area.geometry], crs=crs)
    handles = []
    if partner_units is not None and len(partner_units):
        shown = partner_units[partner_units["harm"].notna()]
        hidden = partner_units[partner_units["harm"].isna()]
        if len(shown):
            shown.plot(ax=ax, column="harm", cmap="YlOrRd", scheme=None, legend=True, edgecolor="#666",
                       linewidth=0.3, legend_kwds={"label": "Harm (CCHI days, rounded)", "shrink": 0.6})
        if len(hidden):
            hidden.plot(ax=ax, facecolor="#eeeeee", edgecolor="#999", hatch="///", linewidth=0.3)
            handles.append(Patch(facecolor="#eeeeee", edgecolor="#999", hatch="///", label="suppressed (<5 or *)"))
    if units is not None and len(units):
        units.boundary.plot(ax=ax, color="#999999", linewidth=0.4)
    if hot is not None and len(hot):
        colours = {"Hot spot 99%": "#b2182b", "Hot spot 95%": "#ef8a62", "Hot spot 90%": "#fddbc7",
                   "Cold spot 99%": "#2166ac", "Cold spot 95%": "#67a9cf", "Cold spot 90%": "#d1e5f0"}
        for label, colour in colours.items():
            sel = hot[hot["hotspot"].astype(str) == label]
            if len(sel):
                sel.plot(ax=ax, color=colour, linewidth=0)
                handles.append(Patch(color=colour, label=f"{label} (Gi*)"))
    outline.boundary.plot(ax=ax, color="black", linewidth=1.2)
    if sites is not None and len(sites):
        s = sites[sites.geometry.notna()]
        markers = {"school": ("^", "#1b7837"), "treatment": ("s", "#762a83"), "pharmacy": ("P", "#2c7bb6")}
        for kind, (mk, col) in markers.items():
            sel = s[s["kind"] == kind]
            if len(sel):
                ax.scatter(sel.geometry.x, sel.geometry.y, marker=mk, s=14, c=col, edgecolors="white",
                           linewidths=0.3, zorder=5)
                handles.append(Line2D([], [], marker=mk, color=col, linestyle="", markersize=5, label=kind))
    x0, y0, x1, y1 = outline.total_bounds
    pad = 0.03 * max(x1 - x0, y1 - y0)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    # scale bar and north arrow
    span = (x1 - x0)
    km = max(0.5, float(np.round(span / 5000))) if span > 5000 else 0.5
    bx, by = x0, y0 - pad * 0.6
    ax.plot([bx, bx + km * 1000], [by, by], color="black", linewidth=2)
    ax.text(bx + km * 500, by + pad * 0.2, f"{km:g} km", ha="center", va="bottom", fontsize=7)
    ax.annotate("N", xy=(x1, y1), xytext=(x1, y1 - pad * 3), ha="center", fontsize=9,
                arrowprops={"arrowstyle": "-|>", "color": "black"})
    if handles:
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, -0.12), ncol=3, fontsize=7, frameon=False)
    if title:
        ax.set_title(title, fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


# ------------------------------------------------------------------ sections
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
        if analyse is not None:
            try:
                res = analyse(ws, op, incidents=incidents_all)
                if audience == "partner":
                    h, c = res.row(displacement.BASKET, "harm"), res.row(displacement.BASKET, "count")
                    if min(c["target_before"], c["target_after"]) < threshold:
                        row["result"] = "Too few incidents in the target area to publish a result."
                    else:
                        est, p = h["local_estimate"], h["local_p"]
                        word = ("a significant fall" if p < settings.alpha and est < 0 else
                                "a significant rise" if p < settings.alpha and est > 0 else "no significant change")
                        row["result"] = (f"Drug-market harm in the target: about {fmt(disclosure.round_harm(h['target_before']))} "
                                         f"days before, {fmt(disclosure.round_harm(h['target_after']))} after; "
                                         f"{word} relative to the control.")
                else:
                    row["result"] = res.headline
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
    partner = audience == "partner"
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
    if partner:
        cats = disclosure.category_table(cur, threshold=threshold)
        dominant = [{"category": r.category, "count": r.count_label, "harm": fmt(r.harm) if r.harm == r.harm else r.count_label,
                     "share": f"{r.harm_share:.0f}%" if r.harm_share == r.harm_share else "–"}
                    for r in cats.itertuples() if r.category != disclosure.TOTAL][:8]
        caveats.append(cats.attrs.get("note", ""))
    else:
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
    mt = disclosure.monthly_table(cur, period, threshold=threshold) if partner else None
    for i, m in enumerate(period):
        c = cur[cur["month"] == m]
        row = {"month": month_label(m)}
        if partner:
            row["crime"] = mt["count_label"].iloc[i]
            row["harm"] = "–"
        else:
            row["crime"] = fmt(len(c))
            row["harm"] = fmt(c.loc[c["in_basket"], "harm"].sum())
        series.append(row)
    calls_note = ""
    if main_layer == "crime" and len(calls) == 0:
        calls_note = "No calls for service are held for this area, so only recorded crime is shown."
    elif len(calls):
        cm = calls.groupby("month").size().reindex(period, fill_value=0)
        drug_calls = calls[calls["in_basket"]].groupby("month").size().reindex(period, fill_value=0)
        if partner:
            cs = disclosure.suppress(pd.DataFrame([cm.to_numpy(), drug_calls.to_numpy()], columns=period,
                                                  index=["calls", "drug"]), threshold=threshold)
            for i, m in enumerate(period):
                series[i]["calls"] = cs.labels.loc["calls", m]
                series[i]["drug_calls"] = cs.labels.loc["drug", m]
        else:
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
        if partner:
            g = g[(g["n_now"] >= threshold) & (g["n_before"] >= threshold)]
        for cat, r in g.reindex(g["dh"].abs().sort_values(ascending=False).index).head(5).iterrows():
            if partner:
                changed.append(f"{cat}: harm {'up' if r.dh > 0 else 'down'} by about "
                               f"{fmt(abs(disclosure.round_harm(r.dh)))} days ({month_label(before)} to {month_label(last)}).")
            else:
                changed.append(f"{cat}: {fmt(r.n_before)} → {fmt(r.n_now)} incidents, harm "
                               f"{'+' if r.dh >= 0 else '−'}{fmt(abs(r.dh))} days ({month_label(before)} to "
                               f"{month_label(last)}).")
        if partner and not changed:
            changed.append("No crime type had enough incidents in both months to publish a change.")

    # units table and map
    level, units = _level_for_units(ws, area)
    sites_all = ws.sites()
    bcus = ws.bcus()
    if partner:
        ut = disclosure.unit_table(basket, units[["code", "name", "geometry"]], threshold=threshold, keep_empty=True)
        unit_rows = [{"name": r.name, "count": r.count_label, "harm": r.harm_label}
                     for r in ut.sort_values("harm", ascending=False, na_position="last").itertuples()][:15]
        png = map_png(area, crs=ws.crs, partner_units=ut, sites=sites_all[sites_all.within(area.geometry)],
                      title=f"Drug-market harm by {level if level != 'hex' else '250 m hexagon'}, "
                            f"{period_label(m0, m1)} (suppressed)")
        hot_note = ("The map shows harm by area with small counts suppressed; partners' briefings carry no "
                    "incident locations or hot-spot cells.")
        figures["harm_published"] = float(disclosure.round_harm(harm)) if count >= threshold else None
    else:
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
        if partner:
            n_lab = disclosure.primary_label(threshold) if 0 < r.n < threshold else fmt(r.n)
            h_lab = fmt(disclosure.round_harm(r.harm)) if r.n >= threshold or r.n == 0 else n_lab
            site_rows.append({"name": r.name, "kind": r.kind, "count": n_lab, "harm": h_lab})
        else:
            site_rows.append({"name": r.name, "kind": r.kind, "count": fmt(r.n), "harm": fmt(r.harm),
                              "trend": getattr(r, "trend", "")})

    ops, ops_note = _operations(ws, area, inc_all if main_layer == "crime" else None, audience, threshold)

    if partner:
        shown = count >= threshold
        headline = {
            "harm": fmt(disclosure.round_harm(harm)) if shown else disclosure.primary_label(threshold),
            "count": fmt(count) if shown else disclosure.primary_label(threshold),
            "harm_all": fmt(disclosure.round_harm(harm_all)),
            "drugs": fmt(drugs) if drugs >= threshold or drugs == 0 else disclosure.primary_label(threshold),
        }
    else:
        headline = {"harm": fmt(harm), "count": fmt(count), "harm_all": fmt(harm_all), "drugs": fmt(drugs)}

    now = now or dt.datetime.now()
    title = f"Area briefing: {area.name}"
    ctx = {
        "title": title, "area": area, "area_label": area.label, "workspace": ws.name, "marking": marking,
        "period": period_label(m0, m1), "previous": period_label(p0, p1), "partner": partner,
        "audience": "Partners (suppressed aggregates)" if partner else "Internal (police)",
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
