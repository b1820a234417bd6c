"""The static map of a results analysis (PNG): what the verdict tests, and nothing else.

The target, the catchment's distance rings (0–250, 250–500, 500–1,000 m by default, or the
analyst's bands), the comparison area, any ring, sector, BCU/force piece or sensitive-site
zone whose calibrated test found evidence (hatched), the BCU and force boundaries labelled
with their names, and only the sensitive sites that lie in the catchment. No hot-spot
"moves": they are not a calibrated result. Drawn by :class:`geo.render.static_maps.StaticMap`
in the colours of :mod:`geo.render.palette`, the same as the Operations page's folium map.
"""
from __future__ import annotations

import shapely

from .. import safe
from . import palette

__all__ = ["EVIDENCE_LABEL", "results_png", "evidence_areas", "sites_in_catchment"]

#: The legend entry of the hatched areas whose test found evidence.
EVIDENCE_LABEL = "Evidence of displacement / diffusion"


def evidence_areas(result) -> list:
    """``(name, geometry)`` of every area of the displacement/diffusion family whose test found evidence."""
    a, catch = getattr(result, "assessment", None), getattr(result, "catchment", None)
    if a is None or catch is None:
        return []
    out = []
    for x in a.family():
        if x.status != "evidence":
            continue
        geom = catch.area_of(x)
        if x.kind == "sites" and a.near_sites is not None and len(a.near_sites):
            from ..displacement.flags import sites_zone
            geom = sites_zone(a.near_sites, catch)[0]
        if geom is not None and not geom.is_empty:
            out.append((x.name, geom))
    return out


def sites_in_catchment(result):
    """The sensitive sites of the verdict's site test that lie in the catchment (target and rings), or ``None``."""
    a, catch = getattr(result, "assessment", None), getattr(result, "catchment", None)
    sites = getattr(a, "near_sites", None) if a is not None else None
    if sites is None or not len(sites) or catch is None:
        return None
    inside = shapely.intersects(sites.geometry.values, catch.zone)
    return sites[inside]


def results_png(result, *, bcus=None, dpi: int = 110) -> bytes:
    """The results map of ``result`` (a :class:`geo.displacement.DisplacementResult`) as PNG bytes.

    Parameters
    ----------
    result : DisplacementResult
    bcus : GeoDataFrame, optional
        BCU outlines of every force (``name`` column), drawn and labelled with their names.
    dpi : int, default 110
    """
    import geopandas as gpd

    from .static_maps import StaticMap

    crs = result.crs
    catch = result.catchment
    if catch is None:  # a result without the calibrated catchment: the target alone
        fr = result.areas_frame()
        zone = fr[fr["area"] == "target"].geometry.iloc[0].buffer(1000)
    else:
        zone = catch.zone
    sm = StaticMap(bounds=zone.bounds, pad=0.12, figsize=(7.5, 6.6), dpi=dpi)
    view = shapely.box(*sm.bounds)

    def frame(geoms) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(geometry=list(geoms), crs=crs)

    edge = palette.BOUNDARY_COLORS["edge"]
    if catch is not None:
        control = catch.control.intersection(view)
        if not control.is_empty:
            sm.fill(frame([control]), palette.AREA_COLORS["control"], alpha=0.35,
                    label="Comparison (rest of the BCU)")
        for i, ring in enumerate(catch.rings):
            color = palette.RING_COLORS[min(i, len(palette.RING_COLORS) - 1)]
            if not ring.geometry.is_empty:
                sm.fill(frame([ring.geometry]), color, alpha=0.7, edgecolor=edge, linewidth=0.5,
                        label=f"Ring {ring.label}")
        target = catch.target
    else:
        target = fr[fr["area"] == "target"].geometry.iloc[0]
    sm.fill(frame([target]), palette.AREA_COLORS["target"], alpha=0.85, edgecolor=edge, linewidth=0.6,
            label="Target")
    hits = evidence_areas(result)
    if hits:
        sm.fill(frame([g for _, g in hits]), "none", edgecolor=palette.AREA_COLORS["evidence"], linewidth=2.0,
                hatch="//", label=EVIDENCE_LABEL)
    if bcus is not None and len(bcus):
        near = bcus[bcus.intersects(view)]
        sm.outline(near, palette.BOUNDARY_COLORS["bcu"], linewidth=1.2, labels="name", within=view,
                   avoid=zone)
        if len(near) and near.boundary.intersects(view).any():   # a boundary line crosses the map
            sm.line(palette.BOUNDARY_COLORS["bcu"], "BCU / force boundary")
    sites = sites_in_catchment(result)
    if sites is not None and len(sites):
        sm.sites(sites, size=22, suffix=" (in the catchment)")
        if len(sites) <= 12 and "name" in sites.columns:
            sm.names(sites, "name", color=palette.BOUNDARY_COLORS["area"])
    name = safe.mpl_text(result.operation.get("name", "Operation"))
    return sm.png(title=f"{name}: target, catchment rings and comparison", legend_loc="below",
                  scale_bar=True)
