"""Data gathering for area briefings: areas, previous periods, sources, sites, operations.

The briefing itself is built by :mod:`geo.briefing` (internal) and
:mod:`geo.briefing_partner` (partners); the HTML, map and PDF by :mod:`geo.render.briefing`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import disclosure
from .errors import GeoInputError
from .harm import HARM_SOURCE
from .periods import month_add, month_range

logger = logging.getLogger(__name__)

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


def pct_change(now: float, before: float) -> float:
    """Percentage change from ``before`` to ``now``; NaN when ``before`` is 0."""
    return (now - before) / before * 100 if before else float("nan")


def inside_area(inc: gpd.GeoDataFrame, geom) -> gpd.GeoDataFrame:
    """The rows of ``inc`` whose ``x``/``y`` lie inside ``geom``."""
    if inc.empty:
        return inc
    shapely.prepare(geom)
    return inc[shapely.contains_xy(geom, inc["x"].to_numpy(), inc["y"].to_numpy())]


def hotspot_cells(points: gpd.GeoDataFrame, area_geom):
    """Gi* hot and cold spots of harm on a grid over the area (None if too few points)."""
    if len(points) < 30:
        return None
    try:
        from .hotspots.grid import grid_counts
        from .hotspots import gistar
        size = max(150.0, min(500.0, round(np.sqrt(area_geom.area / 1500) / 50) * 50))
        cells = grid_counts(points, cell_size=size, weight="harm", area=area_geom, keep_empty=True)
        return gistar(cells, column="harm")
    except Exception as err:  # the map still shows boundaries and sites
        logger.warning("hot-spot map skipped: %s", err)
        return None


def sources(ws) -> list[dict]:
    """The data sources of the workspace with their licences (from the import history)."""
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


def sites_exposure(sites, inc_basket, area: Area, crs, bcus, buffer_m: float):
    """Sites inside the area ranked by basket harm within ``buffer_m``; columns name, kind, n, harm, hotspot."""
    if sites is None or sites.empty:
        return pd.DataFrame(columns=["name", "kind", "n", "harm"])
    from .site_kinds import sensitive_sites, site_label
    geom = area.geometry
    shapely.prepare(geom)
    s = sensitive_sites(sites)  # never "other" (ordinary pharmacies, clinics), each site once
    s = s[shapely.contains_xy(geom, s.geometry.x.to_numpy(), s.geometry.y.to_numpy())]
    labels = [site_label(k, d) for k, d in zip(s["kind"], s["detail"] if "detail" in s else [None] * len(s))]
    if s.empty:
        return pd.DataFrame(columns=["name", "kind", "n", "harm"])
    try:
        from .sites import site_exposure
        e = site_exposure(s, inc_basket, buffers_m=(buffer_m,), hotspots=None, bcus=None)
        r = int(buffer_m)
        out = pd.DataFrame({"name": e["name"].to_numpy(), "kind": labels,
                            "n": e[f"n_{r}m"].to_numpy(), "harm": e[f"harm_{r}m"].to_numpy(),
                            "trend": e["trend"].to_numpy() if "trend" in e else ""})
    except Exception as err:  # fall back to a plain buffer count
        logger.info("geo.sites unavailable (%s); counting within the buffer directly", err)
        tree = shapely.STRtree(inc_basket.geometry.to_numpy())
        pairs = tree.query(s.geometry.to_numpy(), predicate="dwithin", distance=buffer_m)
        n = np.bincount(pairs[0], minlength=len(s))
        h = np.bincount(pairs[0], weights=inc_basket["harm"].to_numpy()[pairs[1]], minlength=len(s))
        out = pd.DataFrame({"name": s["name"].to_numpy(), "kind": labels, "n": n, "harm": h,
                            "trend": ""})
    return out.sort_values(["harm", "n"], ascending=False).head(10).reset_index(drop=True)


def area_operations(ws, area: Area, audience: str, threshold: int, *, results=None,
                    operations=None) -> tuple[list[dict], str]:
    """Operations whose target meets the area, with their results in harm terms.

    ``operations``: the register as the user may see it (default: every operation in ``ws``).
    ``results(op)``: the operation's default results analysis as the user may see it (raises
    :class:`geo.auth.AccessDenied` for one they may not); without it, each is analysed here, on the
    frame the Operations page analyses (:func:`geo.displacement.analysis_frame`)."""
    from .auth import AccessDenied
    from .operations import target_geometry
    rows = []
    try:
        ops = ws.operations() if operations is None else list(operations)
    except Exception as err:  # pragma: no cover
        return [], f"The operations register could not be read: {err}"
    if not ops:
        return [], "No operations are recorded in this workspace."
    boundaries = ws.boundaries()
    analyse, note = None, ""
    if audience != "partner":  # partner briefings never give results: no need to load the results module
        try:
            from . import displacement
            analyse = getattr(displacement, "analyse_operation", None)
        except Exception:  # the results module is optional
            analyse = None
        note = "" if analyse else ("Results analysis is not available in this installation: operations are "
                                   "listed without results.")
    for op in ops:
        try:
            geom = target_geometry(op, crs=ws.crs, boundaries=boundaries if op.target_kind == "unit" else None)
        except Exception:
            continue
        # in the area: overlapping it, not only sharing an edge (a neighbouring ward's operation)
        if geom is None or not geom.intersects(area.geometry) or geom.touches(area.geometry):
            continue
        row = {"name": op.name, "tactic": op.tactic, "dates": f"{op.start} to {op.end}", "result": ""}
        if audience == "partner":
            row["result"] = ("Not given in partner briefings: an operation's target area is not made of whole "
                             "published units. Ask the force's analysts for the results.")
        elif analyse is not None:
            try:
                # without ``results``: the analysis reads the Operations page's frame itself (the same numbers)
                row["result"] = (results(op) if results is not None else analyse(ws, op)).headline
            except AccessDenied:
                row["result"] = "Not shown: the operation's target is outside your BCU(s)."
            except GeoInputError as err:
                row["result"] = f"No result yet: {err.args[0] if err.args else err}"
            except Exception as err:
                logger.warning("operation %s: results failed: %s", op.name, err)
                row["result"] = "Results could not be computed for this operation."
        rows.append(row)
    if not rows:
        return [], "No operation in the register targets this area."
    return rows, note


def level_for_units(ws, area: Area):
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


