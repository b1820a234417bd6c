"""Hot spots, site exposure, briefings and the calibration: scoped inputs, then the statistics on frames."""
from __future__ import annotations

import functools
from pathlib import Path

from .. import access
from .core import Who, need_role, opened, writer
from .operations import analyse_operation, analysis_incidents, list_operations


# ------------------------------------------------------------------ hot spots
def hotspot_inputs(where, *, user: Who, layer: str, months=None, categories=(), incidents=None):
    """``(points, study area)``: the selected incidents ``user`` may see and the area to analyse
    (an inspector's BCUs, else the force area).

    Raises
    ------
    AccessDenied
        For partners and nobody signed in.
    """
    from ..hotspot_runs import select_incidents
    access.require_incidents(user)
    with opened(where) as ws:
        all_bcus = ws.bcus(all_forces=True)
        if incidents is None:  # else a frame already read (a cache shared between runs): scoped again here
            incidents = ws.incidents(layer=layer, months=tuple(months) if months else None,
                                     bcus=access.read_bcus(user))  # an inspector's BCUs only, read by the store
        inc = access.scope_incidents(user, incidents, all_bcus)
        geom = access.scope_area(user, all_bcus)
        area = ws.area() if geom is None else geom
    pts = select_incidents(inc, months=tuple(months) if months else None, categories=list(categories or ()),
                           name=layer)
    if pts is incidents:  # no filter: never hand a shared frame to an analysis
        pts = pts.copy()
    return pts, area


def hotspot_defaults(where, *, user: Who, layer: str, months=None, categories=(), method: str,
                     weighted: bool = False, inputs=None) -> dict:
    """The cell size / bandwidth / eps / min_samples / period ``method`` would choose on the selection.

    ``inputs``: :func:`hotspot_inputs` already made for the same user and selection.
    """
    from ..hotspot_runs import auto_parameters
    pts, area = inputs or hotspot_inputs(where, user=user, layer=layer, months=months, categories=categories)
    return auto_parameters(pts, method, weight="harm" if weighted else None, area=area)


def find_hotspots(where, *, user: Who, layer: str, months=None, categories=(), method: str,
                  weighted: bool = False, params: dict | None = None, inputs=None):
    """:func:`geo.hotspot_runs.run_hotspots` on the scoped selection (``params``: its options)."""
    from ..hotspot_runs import run_hotspots
    pts, area = inputs or hotspot_inputs(where, user=user, layer=layer, months=months, categories=categories)
    return run_hotspots(pts, method, weight="harm" if weighted else None, area=area, category_col="category",
                        **dict(params or {}))


def hotspot_site_exposure(where, *, user: Who, run, layer: str, months=None, categories=(), buffers=None,
                          inputs=None, base=None):
    """Site exposure (:func:`geo.sites.site_exposure`) of the sites in ``user``'s area, and per hot
    spot of ``run`` the nearest site of each kind; ``(None, None)`` without sites.

    ``buffers``: metres (default the workspace's ``site_buffers_m``). ``run=None``: the exposure
    without hot spots (its hot-spot columns empty) and no nearest sites. ``base``: that exposure,
    already made for the same user, selection and buffers: only the hot-spot columns of ``run``
    are computed (:func:`geo.sites.exposure_near_hotspots`; the incidents, harm and trends near
    each site are the same for every method).
    """
    from ..sites import exposure_near_hotspots, nearest_sites, site_exposure
    pts, area = inputs or hotspot_inputs(where, user=user, layer=layer, months=months, categories=categories)
    with opened(where) as ws:
        s = ws.sites()
        force_bcus = ws.bcus()
        limited = access.scope_area(user, ws.bcus(all_forces=True)) is not None
        buffers = tuple(buffers or ws.setting("site_buffers_m"))
    if not len(s):
        return None, None
    if limited:
        s = s[s.intersects(area)]
    hot = run.hot if run is not None else None
    if base is not None and hot is not None:
        exposure = exposure_near_hotspots(base, hot)
    else:
        exposure = site_exposure(s, pts, buffers_m=buffers, hotspots=hot, bcus=force_bcus)
    if hot is None:
        return exposure, None
    from ..settings import SENSITIVE_SITE_KINDS
    kinds = [k for k in SENSITIVE_SITE_KINDS if k in set(s["kind"])]  # never the nearest shop or clinic
    nearest = nearest_sites(hot, s, wide=True, kinds=kinds) if len(hot) and kinds else None
    return exposure, nearest


def calls_vs_crime(where, *, user: Who, months=None, cell_size: float | None = None, shape: str = "square",
                   weighted: bool = False, calls=None, crime=None):
    """:func:`geo.hotspots.calls_vs_crime` on the scoped calls and crime (``calls`` / ``crime``:
    :func:`hotspot_inputs` of each layer, already made)."""
    from ..hotspots import calls_vs_crime as cvc
    calls_pts, area = calls or hotspot_inputs(where, user=user, layer="calls", months=months)
    crime_pts, _ = crime or hotspot_inputs(where, user=user, layer="crime", months=months)
    return cvc(calls_pts, crime_pts, cell_size=cell_size, shape=shape, weight="harm" if weighted else None,
               area=area)


# ------------------------------------------------------------------ the Hotspots page's default runs, kept
def _word(method: str, shape: str) -> str:
    return "cluster" if method in ("dbscan", "hdbscan") else ("hexagon" if shape == "hex" else "square")


def stored_hotspots(where, *, user: Who, layer: str, months, categories=(), method: str, weighted: bool):
    """The bundle of ``method`` kept in the workspace for ``user``'s scope and this selection
    (:mod:`geo.stored_hotspots`; a dict of :data:`~geo.stored_hotspots.PARTS`), or ``None``.

    Looked up after the access check, under the key of :func:`geo.access.read_bcus` of ``user``: an
    inspector finds only their own scope's bundles. The caller uses a part only where its own
    arguments (``params``, ``buffers``, ``word``, ``level``) equal the bundle's.

    Raises
    ------
    AccessDenied
        For partners and nobody signed in.
    """
    from .. import stored_hotspots as sh
    from .. import stored_results
    access.require_incidents(user)
    with opened(where) as ws:
        key = sh.bundle_key(ws.store, scope=access.read_bcus(user), layer=layer, months=tuple(months),
                            categories=tuple(categories or ()), weighted=weighted, method=method)
        found = stored_results.load_stored(ws.store, key)
    return found if sh.is_bundle(found) else None


def hotspot_bundle(where, *, user: Who, method: str, selection: dict, inputs=None, base=None) -> dict:
    """What the Hotspots page computes for ``method`` on ``selection`` (:func:`geo.stored_hotspots.page_defaults`)
    with its automatic parameters, by the same functions in the same order: :func:`hotspot_defaults`,
    :func:`find_hotspots`, :func:`hotspot_site_exposure` (from the exposure without hot spots, ``base``,
    as the page does), :func:`geo.hotspot_runs.hotspot_table` and the map layer's data as the page draws it
    by default (:func:`geo.hotspot_runs.hotspot_layer_data` of the run's classes). ``inputs``/``base``: already made for
    the same user and selection.
    """
    from ..hotspot_runs import default_params, hotspot_layer_data, hotspot_table
    from .reads import boundaries
    sel = selection
    kw = dict(user=user, layer=sel["layer"], months=tuple(sel["months"]), categories=tuple(sel["categories"]))
    inputs = inputs or hotspot_inputs(where, **kw)
    params = default_params(method, sel["shape"])
    auto = hotspot_defaults(where, **kw, method=method, weighted=sel["weighted"], inputs=inputs)
    run = find_hotspots(where, **kw, method=method, weighted=sel["weighted"], params=dict(params), inputs=inputs)
    if base is None:
        base = hotspot_site_exposure(where, **kw, run=None, buffers=sel["buffers"], inputs=inputs)[0]
    exposure, nearest = hotspot_site_exposure(where, **kw, run=run, buffers=sel["buffers"], inputs=inputs,
                                              base=base)
    units = boundaries(where, user=user, level=sel["level"]) if sel["level"] else None
    word = _word(method, sel["shape"])
    return {"params": params, "buffers": tuple(sel["buffers"]), "word": word, "level": sel["level"],
            "auto": auto, "run": run, "exposure": exposure, "nearest": nearest,
            "table": hotspot_table(run, nearest, units, word=word),
            "layer": hotspot_layer_data(run.layer, classes=run.classes, method=method)}


def hotspot_default_steps(where, *, user: Who, methods=None, on_saved=None) -> list:
    """Steps ``(what, callable)`` that each keep one method's bundle (:func:`hotspot_bundle` on the page's
    default selection) for ``user``'s scope in the workspace, unless one signed by this server is there.

    The steps share the selection's inputs and site exposure (made by the first step that computes).
    A step returns whether it stored a bundle; a method that cannot run on the data (e.g. too few
    incidents, :class:`~geo.errors.GeoInputError`) is left out. ``on_saved(before, after)``: as in
    :func:`geo.services.partner_published` (a kept result changes no data).
    """
    from .. import stored_hotspots as sh
    from .. import stored_results
    from ..errors import GeoInputError
    from ..hotspot_runs import METHODS
    access.require_incidents(user)
    scope = access.read_bcus(user)
    with opened(where) as ws:
        sel = sh.page_defaults(ws)
    if sel is None:
        return []
    shared: dict = {}

    def key(ws, method):
        return sh.bundle_key(ws.store, scope=scope, layer=sel["layer"], months=sel["months"],
                             categories=sel["categories"], weighted=sel["weighted"], method=method)

    def step(method) -> bool:
        # The key is worked out BEFORE anything is read, and the shared inputs are used only while the
        # data version they were read at is still the data's: a harm or settings change during the plan
        # must not keep the old inputs' result under the new key (keep_stored's ``again`` then refuses a
        # key that changed between here and the save).
        with opened(where) as ws:
            k = key(ws, method)
            if stored_results.has_stored(ws.store, k):
                return False
            now = stored_results.data_version(ws.store, register=False)
        if shared.get("data") != now:
            shared.clear()
            shared["inputs"] = hotspot_inputs(where, user=user, layer=sel["layer"], months=sel["months"],
                                              categories=sel["categories"])
            shared["base"] = hotspot_site_exposure(where, user=user, run=None, layer=sel["layer"],
                                                   buffers=sel["buffers"], inputs=shared["inputs"])[0]
            with opened(where) as ws:  # read across a change: used by no step (each re-reads)
                shared["data"] = now if stored_results.data_version(ws.store, register=False) == now else None
        try:
            bundle = hotspot_bundle(where, user=user, method=method, selection=sel, inputs=shared["inputs"],
                                    base=shared["base"])
        except GeoInputError:
            return False
        with opened(where) as ws:
            stored_results.keep_stored(ws.store, k, sh.bundle_op_id(method, scope), bundle, on_saved=on_saved,
                                       again=lambda: key(ws, method), keep=sh.KEEP)
        return True

    label = "the force" if scope is None else "+".join(scope)
    return [(f"kept {m} run ({label})", lambda m=m: step(m)) for m in (methods or tuple(METHODS))]


def hotspot_default_steps_all(where, *, on_saved=None) -> list:
    """:func:`hotspot_default_steps` of every scope a user can have (:func:`geo.access.stored_scopes` of the
    workspace's BCUs: the force first, then each BCU): what a server keeps in the background after an
    import or a harm or settings change, or at its first start. No user asks: nothing is returned but steps
    that store (each bundle is read later only through :func:`stored_hotspots`, after its access check)."""
    with opened(where) as ws:
        codes = list(ws.bcus()["code"].astype(str))
    steps: list = []
    for scope in access.stored_scopes(codes):
        steps += hotspot_default_steps(where, user=scope, on_saved=on_saved)
    return steps


def keep_hotspot_defaults(where, *, user: Who, methods=None, on_saved=None) -> int:
    """Run every step of :func:`hotspot_default_steps` now; returns how many bundles were stored."""
    return sum(bool(run()) for _, run in hotspot_default_steps(where, user=user, methods=methods,
                                                                 on_saved=on_saved))


# ------------------------------------------------------------------ briefings
def briefing_area(ws, *, user: Who, kind: str | None = None, code: str | None = None,
                  polygon: str | None = None, polygon_name: str | None = None):
    """The :class:`geo.briefing.Area` asked for, refused unless it lies inside ``user``'s area.

    ``kind``/``code``: a unit (``bcu``, ``ward``, ``neighbourhood``; ``kind=None`` looks in
    all three, by name or code); ``polygon``: GeoJSON text (WGS84).
    """
    from .. import briefing as core
    from ..errors import GeoInputError
    if polygon:
        area = core.polygon_area(polygon, crs=ws.crs, **({"name": polygon_name} if polygon_name else {}))
    elif code:
        area = core.resolve_area(ws, code, level=kind)
    else:
        raise GeoInputError("No briefing area given", fix="choose an area, or draw one")
    access.check_inside(user, area.geometry, ws.bcus(all_forces=True),
                        what="the briefing area (inspectors brief on their own BCU)")
    return area


def build_briefing(where, *, user: Who, months: tuple[str, str], audience: str = "internal", kind=None,
                   code=None, polygon=None, polygon_name=None, marking: str | None = None, pdf: bool = True,
                   published=None, on_saved=None):
    """An area briefing (:func:`geo.briefing.build`) for ``user``.

    A partner gets partner briefings only; an inspector only areas inside their BCU(s).
    The area behind a drawn polygon is audited (a differencing attempt can be seen).
    ``pdf``: render the PDF now too (so a cached briefing downloads at once).
    ``published``: partner briefings, the published base table already built for this data
    version (:func:`partner_published`), so no incident is read at all.

    An internal briefing lists the operations ``user`` may see (:func:`list_operations`) with the
    result the Operations page shows (:func:`analyse_operation`: checked, and loaded when kept; one
    analysis frame read for any that is computed); ``on_saved(before, after)`` as there, when a
    computed result is kept.
    """
    from .. import briefing as core
    who = writer(user, "prepare a briefing")
    access.check_audience(who, audience)
    with opened(where) as ws:
        area = briefing_area(ws, user=who, kind=kind, code=code, polygon=polygon, polygon_name=polygon_name)
        inc = None if audience == "partner" and published is not None else ws.incidents()
        results = operations = None
        if audience != "partner":  # the operations this user may see, with the Operations page's results
            operations = list_operations(ws, user=who)
            # the analysis frame: read once, and only for a result not kept in the workspace
            incidents = functools.cache(lambda: analysis_incidents(ws, user=who))

            def results(op):
                return analyse_operation(ws, op.op_id, user=who, incidents=incidents, on_saved=on_saved)
        b = core.build(ws, area, tuple(months), audience=audience, marking=marking, generated_by=who.username,
                       incidents=inc, published=published if audience == "partner" else None, results=results,
                       operations=operations)
        if polygon:
            ws.store.audit(who.username, "briefing on a drawn area",
                           f"{audience} briefing, {months[0]}..{months[1]}, polygon {str(polygon)[:4000]}")
    if pdf:
        b.pdf()
    return b


def write_briefing(where, out, *, user: Who, **options):
    """:func:`build_briefing`, written to ``out`` (``.html``/``.htm``: HTML, else PDF); audited."""
    from .. import briefing as core
    out = Path(out)
    b = build_briefing(where, user=user, pdf=False, **options)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in (".html", ".htm"):
        out.write_text(b.html, encoding="utf-8")
    else:
        out.write_bytes(b.pdf())
    with opened(where) as ws:
        ws.store.audit(user.username, "exported briefing", f"{core.audit_detail(b)}, {out.name}")
    return b


# ------------------------------------------------------------------ calibration
def run_calibration(where, *, user: Who, **options) -> str:
    """:func:`geo.calibration.calibrate` (the whole force's data: analysts and admins); audited."""
    from ..calibration import calibrate
    who = writer(need_role(user, "data", "run the calibration"), "run the calibration")
    with opened(where) as ws:
        md = calibrate(ws, **options)
        ws.store.audit(who.username, "calibration run", ", ".join(f"{k}={v}" for k, v in options.items()))
    return md
