"""Views: the Area summary's trends, the Map page's frame, units and sites, the national panels,
and the store's change counter; each scoped here by :mod:`geo.access`.

The dashboard keeps a scoped incidents frame shared between runs (``dashboard/data.py``);
functions that take ``incidents=`` scope such a frame again here, so what they return never
depends on the caller having scoped it.
"""
from __future__ import annotations

from pathlib import Path

from .. import access
from .core import Who, need_role, opened
from .reads import incidents as read_incidents
from .reads import partner_published

TREND_LEVELS = ("force", "bcu", "ward", "neighbourhood")


def store_version(where) -> int | str | None:
    """The shared PostGIS store's change counters for ``where``, or ``None`` for a GeoPackage file
    (whose modification time is the version; the file is not opened)."""
    from ..store import store_url
    from ..workspace import Workspace
    if not store_url(where):
        return None
    ws = Workspace.open(Path(where) if not isinstance(where, str) or "://" not in where else where)
    try:
        return ws.store.version()
    finally:
        ws.close()


def may_see_monthly(user: Who) -> bool:
    """Whether ``user`` may see monthly series (incident-level data): not a partner, not nobody."""
    try:
        access.require_incidents(user, "monthly trends")
    except access.AccessDenied:
        return False
    return True


# ------------------------------------------------------------------ trends (Area summary)
def trend_units(where, *, user: Who, level: str):
    """``code``, ``name`` and geometry of the areas of ``level`` ``user`` may chart.

    ``level`` is one of :data:`TREND_LEVELS`; ``"force"`` is one row (none for an inspector,
    who charts their own BCUs). An inspector gets the units inside their BCU(s) only.

    Raises
    ------
    AccessDenied
        For partners and nobody signed in (monthly series are incident-level).
    """
    import geopandas as gpd
    access.require_incidents(user, "monthly trends")
    with opened(where) as ws:
        all_bcus = ws.bcus(all_forces=True)
        crs = all_bcus.crs
        if level == "force":
            geom = ws.area()
            if geom is None or access.scope_area(user, all_bcus) is not None:
                return gpd.GeoDataFrame({"code": [], "name": []}, geometry=[], crs=crs)
            return gpd.GeoDataFrame({"code": ["force"], "name": [ws.force or ws.name]}, geometry=[geom], crs=crs)
        units = ws.bcus() if level == "bcu" else ws.boundaries(level)
    units = access.scope_units(user, units, all_bcus)
    return units[["code", "name", "geometry"]].sort_values("name").reset_index(drop=True)


def area_trend(where, *, user: Who, level: str, code: str, last_month: str, units=None, incidents=None):
    """The monthly harm of one area with control limits and the change in words
    (:func:`geo.trends.area_trend`).

    ``units``: :func:`trend_units` for the same user and level; ``incidents``: crime incidents
    already read (scoped again here).

    Raises
    ------
    AccessDenied
        For partners and nobody signed in, and for an area ``user`` may not see.
    """
    from ..briefing import Area
    from ..coverage import covered_force_months
    from ..trends import area_trend as trend
    access.require_incidents(user, "monthly trends")
    units = trend_units(where, user=user, level=level) if units is None else units
    row = units[units["code"] == code]
    if row.empty:
        raise access.AccessDenied(f"No {level} '{code}' among the areas you may see.")
    if incidents is None:
        inc = read_incidents(where, user=user, layer="crime")
    else:
        with opened(where) as ws:
            inc = access.scope_incidents(user, incidents, ws.bcus(all_forces=True))
    r = row.iloc[0]
    return trend(inc, Area(level, str(r["code"]), str(r["name"]), r.geometry), last_month, last_month,
                 coverage=covered_force_months(inc))


def published_trend(where, *, user: Who, threshold: int | None, level: str, code: str, name: str,
                    published=None):
    """Harm per published quarter of one area (partners' suppressed figures: any signed-in role).

    ``published``: :func:`geo.services.partner_published` for the same workspace and threshold.
    """
    from ..trends import published_trend as trend
    access.require_signed_in(user, "published figures")
    pub = published if published is not None else partner_published(where, user=user, threshold=threshold)
    if code == "force":
        codes = None
    elif level == pub.level:
        codes = [code]
    else:
        with opened(where) as ws:
            units = ws.boundaries(level)
        codes = pub.units_in(units.loc[units["code"] == code].geometry.iloc[0])
    return trend(pub, units=codes, quarters=list(pub.quarters), name=name)


# ------------------------------------------------------------------ the Map page
def map_frame(where, *, user: Who):
    """The polygons a map is framed on for ``user`` (an inspector's own BCUs, else the force's)."""
    from ..render.map_view import view_area
    access.require_signed_in(user, "the map")
    with opened(where) as ws:
        b = ws.bcus(all_forces=True)
        force = ws.force
    return view_area(b, force=force, scope=access.scope_area(user, b))


def map_units(where, *, user: Who, incidents, level: str, months, categories=(), basket_only: bool = False,
              codes=None, units=None):
    """Count and harm per unit of ``level`` for one filter (units with at least one incident).

    ``incidents``: incidents already read (e.g. a frame shared between runs), scoped again
    here; ``codes``: :func:`geo.aggregate.unit_of` of them (or of a superset) for ``level``;
    ``units``: the boundaries of ``level`` already read (reference data).

    Raises
    ------
    AccessDenied
        For partners and nobody signed in.
    """
    from ..aggregate import by_unit
    access.require_incidents(user, "incident counts")
    mask = (incidents["month"] >= months[0]) & (incidents["month"] <= months[1])
    if categories:
        mask &= incidents["category"].isin(list(categories))
    if basket_only:
        mask &= incidents["in_basket"]
    # only what scoping (x, y) and counting (harm, the index, the CRS) read: a whole-force frame's text columns
    # cost 0.2-0.7 s to copy for a long month range, and nothing here reads them
    keep = [c for c in ("x", "y", "harm") if c in incidents.columns] + [incidents.geometry.name]
    with opened(where) as ws:  # the filter first: scoping the selection is the cheaper order
        shown = access.scope_incidents(user, incidents.loc[mask, keep], ws.bcus(all_forces=True))
        units = ws.boundaries(level) if units is None else units
    agg = by_unit(shown, units, codes=codes)
    return agg[agg["count"] > 0]


def map_boundaries(where, *, user: Who, level: str, frame=None):
    """Boundaries of ``level`` touching ``user``'s map frame, simplified and in WGS84 (ready to draw).

    ``frame``: :func:`map_frame` for the same user.
    """
    from ..render.maps import to_wgs84
    frame = map_frame(where, user=user) if frame is None else frame
    with opened(where) as ws:
        b = ws.bcus(all_forces=True) if level == "bcu" else ws.boundaries(level)
    if len(frame) and level != "bcu":
        b = b[b.intersects(frame.union_all().buffer(-1))]
    return to_wgs84(b, ["code", "name", "force"] if "force" in b.columns else ["code", "name"], level)


def map_sites(where, *, user: Who, frame=None):
    """Sites inside ``user``'s map frame: ``(kinds drawn at first: schools, treatment; the rest)``."""
    from ..render.map_view import sites_in_view
    access.require_signed_in(user, "sites")
    frame = map_frame(where, user=user) if frame is None else frame
    with opened(where) as ws:
        s = ws.sites()
    if not len(s):
        return s, s
    return sites_in_view(s, frame)


# ------------------------------------------------------------------ the national view
def national_view(folder, *, user: Who):
    """The national panels of a ``python -m geo national`` run, read-only.

    Monthly incident-level aggregates, not suppressed: the ``national`` page's roles
    (:data:`geo.auth.PAGE_ROLES`; analysts and admins).
    """
    from ..national.view import national_view as read
    need_role(user, "national", "see the national view")
    return read(folder)
