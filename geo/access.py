"""Roles and scope: the one place that decides what a user may see or change. Pure: no Streamlit.

Every caller (dashboard caches, pages, the command line) passes the signed-in
:class:`~geo.auth.User` (or its :attr:`~geo.auth.User.cache_key`, ``(role, bcus)``, which
is what a cached, scoped result must be keyed by) and the data to trim; these functions
trim it or raise :class:`AccessDenied` with a sentence that says why.

What each role may do
---------------------
==========  ==============================  =========================================
role        incidents, operations, results  scope
==========  ==============================  =========================================
analyst     yes                             the whole force and its neighbours
admin       yes                             as analyst
inspector   yes                             inside their BCU(s) only
partner     no: suppressed aggregates only  partner products (:mod:`geo.disclosure`)
==========  ==============================  =========================================

An inspector's area is the union of their BCUs' polygons. A thing is inside it when its
geometry lies within that union (:data:`EDGE_TOLERANCE_M` of slack, because boundary files of
different generalisation disagree along shared edges): an operation whose
target reaches into another BCU is outside, so it is neither listed, read, changed nor
analysed, and an inspector cannot create one. An inspector whose BCU codes match no BCU
in the workspace sees nothing (refused, never widened).

Examples
--------
>>> import shapely, geopandas as gpd
>>> from geo.auth import User
>>> km = 1000
>>> bcus = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[shapely.box(0, 0, 10 * km, 10 * km),
...                          shapely.box(10 * km, 0, 20 * km, 10 * km)], crs="EPSG:27700")
>>> targets = [shapely.box(1 * km, 1 * km, 5 * km, 5 * km), shapely.box(8 * km, 1 * km, 12 * km, 5 * km)]
>>> inside(User("i", "inspector", ("A",)), targets, bcus).tolist()
[True, False]
>>> inside(User("a", "analyst"), targets[1:], bcus).tolist()
[True]
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence, Union

import numpy as np

from .auth import ROLES, AccessDenied, User

#: Roles that may see incident-level data (points, ids, locations) and operations.
INCIDENT_ROLES = frozenset({"inspector", "analyst", "admin"})
#: Roles limited to their own BCUs.
BCU_LIMITED_ROLES = frozenset({"inspector"})
#: Metres of slack on the edge of an inspector's area. Boundary files of different
#: generalisation disagree along shared edges: South Yorkshire's ward polygons stick out of
#: their own BCU's polygon by up to 50 m (measured on the demo data), so a ward on the edge
#: must still count as inside; a target reaching further into another BCU is outside.
EDGE_TOLERANCE_M = 50.0

Who = Union[User, tuple, None]

__all__ = ["AccessDenied", "INCIDENT_ROLES", "scope_key", "require_signed_in", "require_incidents",
           "allowed_bcus", "read_bcus", "stored_scopes", "scope_area", "inside", "check_inside", "scope_incidents",
           "scope_units",
           "scope_published",
           "scope_operations", "scope_operation_areas", "check_can_read_operation", "check_can_edit_operation",
           "check_can_analyse", "check_control_units", "partner_may_see", "check_audience"]


# ------------------------------------------------------------------ who
def scope_key(user: Who) -> tuple[str, tuple[str, ...]]:
    """``(role, bcus)``: everything a scoped result depends on (the cache key part).

    Accepts a :class:`User`, a key made earlier, or ``None`` (nobody: ``("", ())``).
    """
    if user is None:
        return ("", ())
    if isinstance(user, User):
        return user.cache_key
    role, bcus = user
    if role not in ROLES and role != "":
        raise AccessDenied(f"Unknown role '{role}'.")
    return (role, tuple(bcus) if role in BCU_LIMITED_ROLES else ())


def require_signed_in(user: Who, what: str = "this") -> tuple[str, tuple[str, ...]]:
    """The user's scope key; :class:`AccessDenied` if nobody is signed in."""
    key = scope_key(user)
    if not key[0]:
        raise AccessDenied(f"Sign in to see {what}.")
    return key


def require_incidents(user: Who, what: str = "incident-level data") -> tuple[str, tuple[str, ...]]:
    """The user's scope key; :class:`AccessDenied` unless the role may see incident-level data."""
    role, bcus = require_signed_in(user, what)
    if role not in INCIDENT_ROLES:
        raise AccessDenied(f"The {role} role sees suppressed aggregates only, not {what}.")
    return role, bcus


def allowed_bcus(user: Who, all_bcus: Iterable[str]) -> list[str]:
    """The BCU codes ``user`` may choose from, in the given order (an inspector: their own)."""
    role, bcus = scope_key(user)
    codes = list(all_bcus)
    if role in BCU_LIMITED_ROLES:
        own = set(bcus)
        return [c for c in codes if c in own]
    return codes


def read_bcus(user: Who) -> tuple[str, ...] | None:
    """The BCU codes a read of incidents may be limited to for ``user``, or ``None`` (no limit).

    For a BCU-limited role, the user's own codes: the service passes them to the store
    (``Store.read_incidents(bcus=)``, which reads their BCUs' points only), so an inspector's
    read never loads the whole force. The store's filter keeps the points in or on the edge of
    those polygons: a superset of what :func:`scope_incidents` keeps, which still trims the
    result, so the rows are the same as reading everything and trimming.

    Examples
    --------
    >>> read_bcus(("inspector", ("E08000019",))), read_bcus(("analyst", ()))
    (('E08000019',), None)
    """
    role, bcus = scope_key(user)
    return tuple(bcus) if role in BCU_LIMITED_ROLES else None


def stored_scopes(bcu_codes: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
    """The scope keys a precomputed result is kept for (:mod:`geo.stored_hotspots`): an analyst's (the
    whole force; an admin's is the same, :func:`read_bcus` ``None``) and an inspector's of each single
    BCU of ``bcu_codes``. A result is stored and found under :func:`read_bcus` of its user, so an
    inspector of several BCUs has none kept (computed as before), and never finds another scope's.

    Examples
    --------
    >>> stored_scopes(["E08000016", "E08000019"])
    [('analyst', ()), ('inspector', ('E08000016',)), ('inspector', ('E08000019',))]
    """
    return [("analyst", ()), *(("inspector", (str(c),)) for c in bcu_codes)]


# ------------------------------------------------------------------ where
def scope_area(user: Who, bcus):
    """The polygon ``user`` is limited to, or ``None`` for no limit.

    Parameters
    ----------
    user : User or (role, bcus)
    bcus : GeoDataFrame
        BCU polygons with a ``code`` column (all forces, so a neighbouring force's BCU
        code also resolves), in the analysis CRS.

    Returns
    -------
    shapely geometry or None
        The union of the inspector's BCUs; an empty polygon when none of their codes is
        in ``bcus`` (they then see nothing); ``None`` for analysts and admins.
    """
    import shapely
    role, codes = require_signed_in(user, "this area")
    if role not in BCU_LIMITED_ROLES:
        return None
    own = bcus[bcus["code"].isin(codes)] if len(bcus) else bcus
    if not len(own):
        return shapely.Polygon()
    return shapely.union_all(own.geometry.to_numpy())


def inside(user: Who, geoms: Sequence, bcus) -> np.ndarray:
    """For each geometry, is it wholly inside ``user``'s area? (All True without a limit.)

    A geometry inside the area widened by :data:`EDGE_TOLERANCE_M` counts as inside, so a
    ward on the BCU's edge is in; anything reaching further into another BCU is out.
    Missing or empty geometries are outside for a limited user.
    """
    import shapely
    geoms = np.asarray(list(geoms), dtype=object)
    area = scope_area(user, bcus)
    if area is None:
        return np.ones(len(geoms), dtype=bool)
    if area.is_empty or not len(geoms):
        return np.zeros(len(geoms), dtype=bool)
    wide = area.buffer(EDGE_TOLERANCE_M)
    shapely.prepare(wide)
    ok = np.zeros(len(geoms), dtype=bool)
    for i, g in enumerate(geoms):
        if g is None or shapely.is_empty(g):
            continue
        ok[i] = bool(wide.covers(g))
    return ok


def check_inside(user: Who, geom, bcus, *, what: str) -> None:
    """Raise :class:`AccessDenied` unless ``geom`` lies inside ``user``'s area."""
    if not inside(user, [geom], bcus)[0]:
        role, codes = scope_key(user)
        raise AccessDenied(f"{what[:1].upper()}{what[1:]} is outside your BCU(s) ({', '.join(codes) or 'none'}): "
                           f"the {role} role is limited to its own BCU(s). Ask an analyst.")


def scope_incidents(user: Who, frame, bcus):
    """The incident rows ``user`` may see.

    Parameters
    ----------
    frame : DataFrame
        Incidents with ``x`` and ``y`` in the analysis CRS.
    bcus : GeoDataFrame
        All BCUs (see :func:`scope_area`).

    Raises
    ------
    AccessDenied
        For partners and for nobody signed in.
    """
    import shapely
    require_incidents(user)
    area = scope_area(user, bcus)
    if area is None:
        return frame
    if area.is_empty:
        return frame.iloc[:0]
    shapely.prepare(area)
    ok = shapely.contains_xy(area, frame["x"].to_numpy(dtype=float), frame["y"].to_numpy(dtype=float))
    return frame[ok]


def scope_units(user: Who, units, bcus):
    """Boundary units (wards, LSOAs, ...) ``user`` may choose: for an inspector, those inside their BCUs."""
    if scope_area(user, bcus) is None:
        return units
    return units[inside(user, units.geometry.to_numpy(), bcus)]


def scope_published(user: Who, published, bcus):
    """The published base table (:class:`geo.disclosure.Published`) limited to ``user``'s area.

    For an inspector, the base units whose representative point lies in their BCUs (the
    rule every published area follows: whole units, those whose centre lies inside) and
    only those units' cells; ``published`` as it is for everyone else. Every figure made
    from the result is still a sum of published (suppressed) cells: the limit selects
    cells, it computes nothing new.

    Parameters
    ----------
    published : geo.disclosure.Published
    bcus : GeoDataFrame
        All BCUs (see :func:`scope_area`).
    """
    from dataclasses import replace
    require_signed_in(user, "published figures")
    area = scope_area(user, bcus)
    if area is None:
        return published
    codes = published.units_in(area) if not area.is_empty else []
    units = published.units[published.units["code"].isin(codes)]
    cells = published.cells[published.cells["unit"].isin(codes)].reset_index(drop=True)
    return replace(published, units=units, cells=cells)


# ------------------------------------------------------------------ operations
def _needs_operations(user: Who) -> tuple:
    return require_incidents(user, "operations")


def scope_operations(user: Who, operations: Sequence, *, targets: Mapping[str, object], bcus) -> list:
    """The operations ``user`` may list and read.

    Parameters
    ----------
    operations : list of geo.operations.Operation
    targets : mapping
        ``op_id`` to the operation's stored target polygon (analysis CRS).
    bcus : GeoDataFrame
        All BCUs.

    Returns
    -------
    list
        For an inspector, the operations of their BCU(s) whose target lies inside them.
    """
    _needs_operations(user)
    if scope_area(user, bcus) is None:
        return list(operations)
    role, codes = scope_key(user)
    ok = inside(user, [targets.get(o.op_id) for o in operations], bcus)
    return [o for o, good in zip(operations, ok) if good and o.bcu in codes]


def scope_operation_areas(user: Who, frame, bcus):
    """Rows of the operations layer (``op_id``, ``name``, ``geometry``) ``user`` may see on a map."""
    _needs_operations(user)
    if scope_area(user, bcus) is None:
        return frame
    return frame[inside(user, frame.geometry.to_numpy(), bcus)]


def check_can_read_operation(user: Who, op, *, target, bcus) -> None:
    """Raise :class:`AccessDenied` unless ``user`` may read ``op`` (target: its polygon)."""
    _needs_operations(user)
    role, codes = scope_key(user)
    if role in BCU_LIMITED_ROLES and op.bcu not in codes:
        raise AccessDenied(f"Operation '{op.name}' belongs to BCU {op.bcu}, outside your BCU(s) "
                           f"({', '.join(codes) or 'none'}).")
    check_inside(user, target, bcus, what=f"the target of operation '{op.name}'")


def check_can_edit_operation(user: Who, op, *, target, bcus, existing=None, existing_target=None) -> None:
    """Raise :class:`AccessDenied` unless ``user`` may save ``op`` (create, change or delete).

    Parameters
    ----------
    op : geo.operations.Operation
        The operation as it would be saved.
    target : shapely geometry
        Its target polygon in the analysis CRS.
    existing, existing_target : optional
        The stored operation it replaces (and its target), when changing or deleting:
        the user must be allowed the old one too, so an inspector cannot move another
        BCU's operation into their own.
    """
    check_can_read_operation(user, op, target=target, bcus=bcus)
    if existing is not None:
        check_can_read_operation(user, existing, target=existing_target, bcus=bcus)


def check_can_analyse(user: Who, op, *, target, bcus) -> None:
    """Raise :class:`AccessDenied` unless ``user`` may analyse ``op``'s results."""
    check_can_read_operation(user, op, target=target, bcus=bcus)


def check_control_units(user: Who, units, bcus) -> None:
    """Raise :class:`AccessDenied` if a chosen control unit lies outside ``user``'s area.

    Parameters
    ----------
    units : GeoDataFrame
        The chosen units (``name``, ``geometry``).
    """
    if scope_area(user, bcus) is None:
        return
    ok = inside(user, units.geometry.to_numpy(), bcus)
    if not ok.all():
        names = ", ".join(map(str, units.loc[~ok, "name"].head(3)))
        raise AccessDenied(f"Control unit(s) {names} lie outside your BCU(s); choose units inside them.")


# ------------------------------------------------------------------ partner products
def partner_may_see(user: Who, audience: str) -> bool:
    """May ``user`` receive a product made for ``audience`` (``partner`` or ``internal``)?"""
    role, _ = scope_key(user)
    if not role:
        return False
    if audience == "partner":
        return True
    return role in INCIDENT_ROLES


def check_audience(user: Who, audience: str) -> None:
    """Raise :class:`AccessDenied` unless :func:`partner_may_see` allows ``audience``."""
    role, _ = require_signed_in(user, "a briefing")
    if not partner_may_see(user, audience):
        raise AccessDenied("Partners receive partner briefings (suppressed aggregates) only.")
