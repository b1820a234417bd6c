"""Reads: incidents (scoped), reference layers, and the partner published figures."""
from __future__ import annotations

from .. import access
from .core import Who, opened


def incidents(where, *, user: Who, layer: str | None = None, statuses=("mapped",), months=None):
    """Incident-level rows ``user`` may see (:func:`geo.access.scope_incidents`), optionally of a
    month range ``(first, last)``.

    A partner, or nobody, gets :class:`~geo.auth.AccessDenied`; an inspector the incidents
    inside their BCU(s) only. For an inspector the store reads their BCUs' points only
    (:func:`geo.access.read_bcus`), then :func:`geo.access.scope_incidents` trims as for
    everyone: the same rows as reading the whole force and trimming, without loading it.
    """
    access.require_incidents(user)
    with opened(where) as ws:
        inc = ws.incidents(layer=layer, months=tuple(months) if months else None,
                           statuses=tuple(statuses) if statuses is not None else None,
                           bcus=access.read_bcus(user))
        return access.scope_incidents(user, inc, ws.bcus(all_forces=True))


def boundaries(where, *, user: Who, level: str | None = None):
    """Boundary units (reference data: every signed-in user)."""
    access.require_signed_in(user, "boundaries")
    with opened(where) as ws:
        return ws.boundaries(level)


def bcus(where, *, user: Who, all_forces: bool = False):
    """The BCUs (of the workspace's force unless ``all_forces``)."""
    access.require_signed_in(user, "BCUs")
    with opened(where) as ws:
        return ws.bcus(all_forces=all_forces)


def force_area(where, *, user: Who):
    """The force area as one polygon (analysis CRS), or ``None`` without boundaries."""
    access.require_signed_in(user, "the force area")
    with opened(where) as ws:
        return ws.area()


def sites(where, *, user: Who):
    """Sensitive sites inside the area (named places, no incident detail: every signed-in user)."""
    access.require_signed_in(user, "sites")
    with opened(where) as ws:
        return ws.sites()


def harm_table(where, *, user: Who):
    """The workspace's harm weights."""
    access.require_signed_in(user, "the harm weights")
    with opened(where) as ws:
        return ws.harm_table()


# ------------------------------------------------------------------ partner products
def partner_published(where, *, user: Who, threshold: int | None = None):
    """The published base table (:func:`geo.disclosure.published_for`), every complete quarter.

    Suppressed counts only (base unit × quarter × crime type, small ones hidden), so any
    signed-in role may have it; every partner figure is derived from it.
    """
    from .. import disclosure
    access.require_signed_in(user, "published figures")
    with opened(where) as ws:
        return disclosure.published_for(ws, threshold=threshold)


def partner_units(where, *, user: Who, level: str, quarters, threshold: int | None = None,
                  basket_only: bool = False, published=None):
    """Published figures per unit of ``level`` (base units, or wards/neighbourhoods built from them).

    ``published``: the result of :func:`partner_published` for the same workspace and
    threshold, to skip rebuilding it.
    """
    access.require_signed_in(user, "published figures")
    pub = published if published is not None else partner_published(where, user=user, threshold=threshold)
    parents = None
    with opened(where) as ws:
        if level != pub.level:
            parents = ws.boundaries(level)
            force = ws.force
            if force:
                parents = parents[parents["force"].fillna(force) == force]
    return pub.unit_table(parents=parents, quarters=tuple(quarters), basket=True if basket_only else None)


def partner_categories(where, *, user: Who, quarters, threshold: int | None = None, published=None):
    """Published figures per crime type over the force."""
    access.require_signed_in(user, "published figures")
    pub = published if published is not None else partner_published(where, user=user, threshold=threshold)
    return pub.table("category", quarters=tuple(quarters))
