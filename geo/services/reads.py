"""Reads: incidents (scoped), reference layers, and the partner published figures."""
from __future__ import annotations

from .. import access
from .core import Who, opened


def incidents(where, *, user: Who, layer: str | None = None, statuses=("mapped",), months=None,
              stored: bool = False, keep=None, on_saved=None):
    """Incident-level rows ``user`` may see (:func:`geo.access.scope_incidents`), optionally of a
    month range ``(first, last)``.

    A partner, or nobody, gets :class:`~geo.auth.AccessDenied`; an inspector the incidents
    inside their BCU(s) only. For an inspector the store reads their BCUs' points only
    (:func:`geo.access.read_bcus`), then :func:`geo.access.scope_incidents` trims as for
    everyone: the same rows as reading the whole force and trimming, without loading it.

    ``stored`` (no ``months``): after the access check, the whole force's frame kept in the workspace
    for this data version (:mod:`geo.stored_frames`) is loaded instead of reading every row, then
    trimmed the same way. When none is kept and the user reads the whole force's mapped incidents,
    ``keep(step)`` (if given) gets a callable that keeps the frame just read, to run later (e.g. in a background thread
    once the page has answered); ``on_saved(before, after)`` as in :func:`partner_published`.
    """
    access.require_incidents(user)
    statuses = tuple(statuses) if statuses is not None else None
    with opened(where) as ws:
        limit = access.read_bcus(user)
        inc = None
        if stored and not months:
            from .. import stored_frames
            key = stored_frames.incidents_key(ws.store, layer=layer, statuses=statuses)
            inc = stored_frames.load_frame(ws.store, key)
        if inc is None:
            inc = ws.incidents(layer=layer, months=tuple(months) if months else None, statuses=statuses,
                               bcus=limit)
            if stored and not months and limit is None and keep is not None and statuses == ("mapped",):
                keep(lambda frame=inc: _keep_incidents(where, key, frame, layer=layer, statuses=statuses,
                                                       on_saved=on_saved))
        return access.scope_incidents(user, inc, ws.bcus(all_forces=True))


def incidents_frame_steps(where, *, on_saved=None) -> list:
    """``[(label, step)]``: keep the whole force's mapped incidents of the layer the Map page opens on
    ("crime" if held, else the first layer) in the workspace for this data version, if not kept yet
    (:mod:`geo.stored_frames`); ``[]`` when it is kept or the workspace holds no incidents.

    What ``python -m geo demo`` and a server's first start keep beside the Hotspots page's default runs
    (:func:`geo.services.hotspot_default_steps_all`), so a new server's first sign-in loads the frame
    instead of reading every row. No user asks: a step only stores (the frame is read later only
    through :func:`incidents`, after its access check).
    """
    from .. import stored_frames, stored_results
    from ..workspace import default_layer
    statuses = ("mapped",)
    with opened(where) as ws:
        layers = ws.store.layers()
        if not layers:
            return []
        layer = default_layer(layers)  # the layer the Map page opens on
        key = stored_frames.incidents_key(ws.store, layer=layer, statuses=statuses)
        if stored_results.has_stored(ws.store, key):
            return []

    def step() -> bool:
        with opened(where) as ws:
            frame = ws.incidents(layer=layer, statuses=statuses)
        return _keep_incidents(where, key, frame, layer=layer, statuses=statuses, on_saved=on_saved)

    return [(f"keep the {layer} incidents frame", step)]


def _keep_incidents(where, key: str, frame, *, layer, statuses, on_saved=None) -> bool:
    """Keep the whole force's ``frame`` under ``key`` if the workspace still has the same data."""
    from .. import stored_frames, stored_results
    with opened(where) as ws:
        if stored_results.has_stored(ws.store, key):  # another session's read kept it first
            return False
        return stored_frames.keep_frame(ws.store, key, frame, layer=layer, statuses=statuses, on_saved=on_saved,
                                        again=lambda: stored_frames.incidents_key(ws.store, layer=layer,
                                                                                  statuses=statuses))


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
def partner_published(where, *, user: Who, threshold: int | None = None, stored: bool = True, on_saved=None):
    """The published base table (:func:`geo.disclosure.published_for`), every complete quarter.

    Suppressed counts only (base unit × quarter × crime type, small ones hidden), so any
    signed-in role may have it; every partner figure is derived from it.

    ``stored``: reuse the table kept in the workspace for the same imports, harm weights,
    settings, threshold and disclosure code (:func:`geo.stored_results.published_key`; built by
    :func:`~geo.disclosure.published_for` all the same, only kept), and keep a new one there.
    ``on_saved(before, after)``: as in :func:`geo.services.analyse_operation` (a stored table
    changes no data).
    """
    from .. import disclosure, stored_results
    from ..settings import settings
    access.require_signed_in(user, "published figures")
    with opened(where) as ws:
        if not stored:
            return disclosure.published_for(ws, threshold=threshold)
        threshold = int(threshold or ws.setting("suppression_threshold", settings.suppression_threshold))

        def key():
            quarters = disclosure.complete_quarters(ws.store.months())
            return stored_results.published_key(ws.store, threshold=threshold, quarters=quarters)
        pkey = key()
        found = stored_results.load_stored(ws.store, pkey)
        if isinstance(found, disclosure.Published):
            return found
        pub = disclosure.published_for(ws, threshold=threshold)
        stored_results.keep_stored(ws.store, pkey, stored_results.PUBLISHED_ID, pub, on_saved=on_saved, again=key)
        return pub


def partner_units(where, *, user: Who, level: str, quarters, threshold: int | None = None,
                  basket_only: bool = False, published=None):
    """Published figures per unit of ``level`` (base units, or wards/neighbourhoods built from them).

    ``published``: the result of :func:`partner_published` for the same workspace and
    threshold, to skip rebuilding it. An inspector gets their BCU(s) only: the units, and
    the totals in ``attrs``, are sums of the published cells of the base units inside them
    (:func:`geo.access.scope_published`); partners and analysts the whole force.
    ``attrs["scope"]``: the names of the inspector's BCUs, else absent.
    """
    access.require_signed_in(user, "published figures")
    pub = published if published is not None else partner_published(where, user=user, threshold=threshold)
    parents = None
    with opened(where) as ws:
        all_bcus = _limit_bcus(ws, user)
        pub = access.scope_published(user, pub, all_bcus)
        if level != pub.level:
            parents = _force_units(ws, level)
    # (an inspector's wards or neighbourhoods: those holding any of their base units' cells; one
    # reaching over the BCU edge counts its units inside the BCU only)
    out = pub.unit_table(parents=parents, quarters=tuple(quarters), basket=True if basket_only else None)
    scope = _scope_names(user, all_bcus)
    if scope:
        out.attrs["scope"] = scope
    return out


def partner_categories(where, *, user: Who, quarters, threshold: int | None = None, published=None):
    """Published figures per crime type over the force (an inspector: over their BCU(s), as
    :func:`partner_units`)."""
    access.require_signed_in(user, "published figures")
    pub = published if published is not None else partner_published(where, user=user, threshold=threshold)
    with opened(where) as ws:
        pub = access.scope_published(user, pub, _limit_bcus(ws, user))
    return pub.table("category", quarters=tuple(quarters))


def briefing_units(where, *, user: Who, level: str):
    """``code``, ``name`` and geometry of the force's units of ``level`` (``ward``, ``neighbourhood``)
    ``user`` may brief on: an inspector's inside their BCU(s) (:func:`geo.access.scope_units`, the
    rule :func:`geo.services.build_briefing` checks), everyone else's all of them."""
    access.require_signed_in(user, "briefing areas")
    with opened(where) as ws:
        units = access.scope_units(user, _force_units(ws, level), ws.bcus(all_forces=True))
    return units[["code", "name", "geometry"]].sort_values("name").reset_index(drop=True)


def _force_units(ws, level: str):
    """The workspace force's units of ``level`` (a unit without a force is taken as the workspace's)."""
    units = ws.boundaries(level)
    force = ws.force
    if force and "force" in units.columns:
        units = units[units["force"].fillna(force) == force]
    return units


def _limit_bcus(ws, user: Who):
    """All BCUs (every force) when ``user`` is limited to some (:func:`geo.access.read_bcus`), else
    ``None``: the published figures of an unlimited user are never trimmed, so nothing is read."""
    return ws.bcus(all_forces=True) if access.read_bcus(user) is not None else None


def _scope_names(user: Who, all_bcus) -> str:
    """The names of the BCUs ``user`` is limited to (``""`` without a limit), for captions."""
    codes = access.read_bcus(user)
    if codes is None:
        return ""
    names = dict(zip(all_bcus["code"], all_bcus["name"]))
    return ", ".join(str(names.get(c, c)) for c in codes)
