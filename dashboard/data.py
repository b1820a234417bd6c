"""The only place with Streamlit caches around ``geo``.

Cached functions take small hashable arguments: the workspace path and its file
modification time (``version``), so any save invalidates what was read before.

Who sees what is decided by :mod:`geo.access`, never here or in a page: functions that
return scoped data take the signed-in user (or their :func:`user_key`, ``(role, bcus)``,
which is part of every cache key the scope depends on) and call ``geo.access`` on it.
Writes (operations) check the user the same way and write their audit entry themselves.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

import geo
from geo import access
from geo.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]


def workspace_folder() -> Path:
    """Folder of workspace files: ``GEO_WORKSPACES`` or ``workspaces/`` in the project."""
    return Path(os.environ.get("GEO_WORKSPACES", ROOT / "workspaces"))


def workspace_paths() -> list[Path]:
    return sorted(workspace_folder().glob("*.gpkg"), key=lambda p: (p.name != "south-yorkshire.gpkg", p.name))


def current_path() -> Path | None:
    p = st.session_state.get("workspace")
    return Path(p) if p else None


def current() -> tuple[Path, str, float, dict]:
    """The current workspace as ``(path, key, version, info)``: what every page starts from.

    ``key`` and ``version`` are the cache key of the file (its path as text and its
    modification time); ``info`` is :func:`info` for it.
    """
    path = current_path()
    key, ver = str(path), version(path)
    return path, key, ver, info(key, ver)


#: (path, mtime after an audit entry) -> the data version before it. An audit entry
#: (every map view, every download) writes the file but changes no data, so it must not
#: empty every cache: without this each filter change reloaded all 250k incidents.
_SAME_DATA: dict[tuple[str, int], int] = {}


def same_data(path, before: int, after: int) -> None:
    """Record that the write which moved `path`'s mtime from `before` to `after` changed no data.

    Called after an audit entry (:meth:`geo.store.GpkgStore.audit` returns both times,
    read while it held the write lock and after its commit).
    """
    key = str(path)
    _SAME_DATA[(key, after)] = _SAME_DATA.get((key, before), before)
    if len(_SAME_DATA) > 10_000:  # a long-running server: keep the newest
        for k in list(_SAME_DATA)[:5_000]:
            del _SAME_DATA[k]


def version(path: Path) -> float | str:
    """Changes whenever the workspace's data are written (cache key); audit entries do not count.

    With ``GEO_STORE`` set: the shared PostGIS store's change counters, so that one user's
    import or edit is seen by every other user's next run."""
    from geo.store import store_url
    if store_url(path):
        with open_workspace(path) as ws:
            return ws.store.version()
    if not path.exists():
        return 0
    ns = path.stat().st_mtime_ns
    return _SAME_DATA.get((str(path), ns), ns)


@contextmanager
def open_workspace(path: Path | None = None):
    """A workspace opened for one read or write, closed afterwards."""
    ws = Workspace.open(path or current_path())
    try:
        yield ws
    finally:
        ws.close()


@st.cache_data(show_spinner=False, max_entries=8)
def info(path: str, version: float) -> dict:
    with open_workspace(Path(path)) as ws:
        return {
            "name": ws.name, "crs": ws.crs, "force": ws.force,
            "layers": ws.store.layers(), "months": ws.store.months(),
            "crime_months": ws.store.months("crime"), "calls_months": ws.store.months("calls"),
            "crime_categories": ws.store.categories("crime"), "calls_categories": ws.store.categories("calls"),
            "levels": ws.store.boundary_levels(), "settings": ws.store.settings(),
        }


def _user(user=None):
    """``user``, or the signed-in user (``None`` if nobody is)."""
    if user is not None:
        return user
    from dashboard import auth
    return auth.current_user()


def incidents(path: str, version: float, layer: str | None = None, statuses: tuple = ("mapped",), *, user=None):
    """Incident-level rows for the signed-in user (or ``user``), scoped by :func:`geo.access.scope_incidents`.

    A partner, or nobody signed in, gets :class:`geo.auth.AccessDenied`; an inspector the
    incidents inside their BCU(s) only. The cache is keyed by the role and BCUs, so roles
    never share a cached frame.
    """
    key = access.require_incidents(_user(user))
    return _incidents(path, version, layer, tuple(statuses) if statuses is not None else None, key)


@st.cache_data(show_spinner="Loading incidents…", max_entries=8)
def _incidents(path: str, version: float, layer: str | None, statuses, role_key: tuple):
    access.require_incidents(role_key)
    with open_workspace(Path(path)) as ws:
        inc = ws.incidents(layer=layer, statuses=statuses)
        return access.scope_incidents(role_key, inc, ws.bcus(all_forces=True))


def user_key() -> tuple:
    """The signed-in user's scope key ``(role, bcus)``, for caches of scoped results."""
    return access.scope_key(_user())


def audit(action: str, detail: str = "") -> None:
    """Record an action by the signed-in user in the current workspace's audit log.

    Pages call it for what they show or hand out (map views, downloads), e.g.
    ``st.download_button(..., on_click=data.audit, args=("downloaded map CSV", detail))``.
    """
    from dashboard import auth
    auth.audit(action, detail)


def audit_once(action: str, detail: str = "") -> None:
    """:func:`audit`, at most once per session for the same action, detail and workspace (views)."""
    seen = st.session_state.setdefault("audit_seen", set())
    mark = (str(current_path()), action, detail)
    if mark not in seen:
        seen.add(mark)
        audit(action, detail)


@st.cache_data(show_spinner="Aggregating…", max_entries=4)
def partner_published(path: str, version: float, threshold: int):
    """The published base table for partners (:func:`geo.disclosure.published_for`), every complete quarter.

    Holds no incident detail (base unit × quarter × crime type counts, small ones hidden),
    so it is safe for any role; every partner figure is derived from it.
    """
    from geo import disclosure
    with open_workspace(Path(path)) as ws:
        return disclosure.published_for(ws, threshold=threshold)


@st.cache_data(show_spinner="Aggregating…", max_entries=16)
def partner_units(path: str, version: float, level: str, quarters: tuple[str, ...], threshold: int,
                  basket_only: bool):
    """Published figures per unit of ``level`` (the base level, or ward/neighbourhood built from base units)."""
    pub = partner_published(path, version, threshold)
    parents = None
    if level != pub.level:
        parents = boundaries(path, version, level)
        f = info(path, version)["force"]
        if f:
            parents = parents[parents["force"].fillna(f) == f]
    return pub.unit_table(parents=parents, quarters=quarters, basket=True if basket_only else None)


@st.cache_data(show_spinner="Aggregating…", max_entries=16)
def partner_categories(path: str, version: float, quarters: tuple[str, ...], threshold: int):
    """Published figures per crime type over the force."""
    return partner_published(path, version, threshold).table("category", quarters=quarters)


@st.cache_data(show_spinner=False, max_entries=16)
def boundaries(path: str, version: float, level: str | None = None):
    with open_workspace(Path(path)) as ws:
        return ws.boundaries(level)


@st.cache_data(show_spinner=False, max_entries=8)
def bcus(path: str, version: float, all_forces: bool = False):
    with open_workspace(Path(path)) as ws:
        return ws.bcus(all_forces=all_forces)


@st.cache_data(show_spinner=False, max_entries=8)
def sites(path: str, version: float):
    with open_workspace(Path(path)) as ws:
        return ws.sites()


def operation_areas(path: str, version: float, *, user=None):
    """The operations layer (target polygons) the signed-in user (or ``user``) may see on a map."""
    return _operation_areas(path, version, access.require_incidents(_user(user), "operations"))


@st.cache_data(show_spinner=False, max_entries=8)
def _operation_areas(path: str, version: float, role_key: tuple):
    with open_workspace(Path(path)) as ws:
        return access.scope_operation_areas(role_key, ws.operation_areas(), ws.bcus(all_forces=True))


# ---------------------------------------------------------------- the operations register (Operations page)
def operations(path: str, version: float, *, user=None) -> list:
    """The operations the signed-in user (or ``user``) may list and read (:func:`geo.access.scope_operations`)."""
    return _operations(path, version, access.require_incidents(_user(user), "operations"))


@st.cache_data(show_spinner=False, max_entries=8)
def _operations(path: str, version: float, role_key: tuple) -> list:
    with open_workspace(Path(path)) as ws:
        register, areas = ws.operations(), ws.operation_areas()
        return access.scope_operations(role_key, register, targets=dict(zip(areas["op_id"], areas.geometry)),
                                       bcus=ws.bcus(all_forces=True))


def _stored(ws, op_id: str):
    """The stored operation ``op_id`` and its target polygon, or ``(None, None)``."""
    op = next((o for o in ws.operations() if o.op_id == op_id), None)
    if op is None:
        return None, None
    areas = ws.operation_areas()
    hit = areas[areas["op_id"] == op_id]
    return op, (hit.geometry.iloc[0] if len(hit) else None)


def save_operation(path, op, *, user=None) -> str | None:
    """Create or change ``op`` for the signed-in user (or ``user``); returns the save's warning or ``None``.

    Checked by :func:`geo.access.check_can_edit_operation` (an inspector: their BCUs only,
    for the operation as saved and as it was) and recorded in the audit log.

    Raises
    ------
    GeoInputError
        The operation cannot be saved as given (no name, bad dates, no target, ...).
    AccessDenied
        The user may not create or change it.
    """
    from geo import operations as ops
    user = _user(user)
    access.require_incidents(user, "operations")
    with open_workspace(Path(path)) as ws:
        old, old_target = _stored(ws, op.op_id)
        ops.validate(op, existing_names={o.name for o in ws.operations() if o.op_id != op.op_id})
        target = ops.target_geometry(op, crs=ws.crs,
                                     boundaries=ws.boundaries() if op.target_kind == "unit" else None)
        try:
            access.check_can_edit_operation(user, op, target=target, bcus=ws.bcus(all_forces=True), existing=old,
                                            existing_target=old_target)
        except access.AccessDenied as err:
            ws.store.audit(user.username, "access refused", f"save operation '{op.name}': {err}")
            raise
        warning = ws.save_operation(op)
        ws.store.audit(user.username, "operation saved" if old is None else "operation changed", op.name)
    clear()
    return warning


def delete_operation(path, op_id: str, *, user=None) -> None:
    """Delete operation ``op_id`` for the signed-in user (or ``user``), checked and audited like a save."""
    user = _user(user)
    access.require_incidents(user, "operations")
    with open_workspace(Path(path)) as ws:
        old, old_target = _stored(ws, op_id)
        if old is None:
            raise geo.GeoInputError("The operation is no longer in the register", fix="reload the page")
        try:
            access.check_can_edit_operation(user, old, target=old_target, bcus=ws.bcus(all_forces=True))
        except access.AccessDenied as err:
            ws.store.audit(user.username, "access refused", f"delete operation '{old.name}': {err}")
            raise
        ws.delete_operation(op_id)
        ws.store.audit(user.username, "operation deleted", old.name)
    clear()


@st.cache_data(show_spinner=False, max_entries=8)
def area(path: str, version: float):
    with open_workspace(Path(path)) as ws:
        return ws.area()


@st.cache_data(show_spinner=False, max_entries=8)
def harm_table(path: str, version: float):
    with open_workspace(Path(path)) as ws:
        return ws.harm_table()


@st.cache_data(show_spinner=False, max_entries=8)
def import_history(path: str, version: float):
    with open_workspace(Path(path)) as ws:
        return ws.store.import_history(), ws.store.incident_summary()


@st.cache_data(show_spinner=False, max_entries=8)
def rejected_rows(path: str, version: float, import_id: int | None = None):
    with open_workspace(Path(path)) as ws:
        return ws.store.rejected_rows(import_id)


def clear() -> None:
    st.cache_data.clear()


# ---------------------------------------------------------------- hot spots (Hotspots page)
# Keyed like the incidents they read: (path, version, role_key, filters, method, params),
# so an inspector's BCU-limited results are never served to another role.
def _hotspot_inputs(path: str, version: float, role_key: tuple, layer: str, months, categories):
    """The selected incidents and the study area (an inspector's BCUs, else the force)."""
    from geo.hotspot_runs import select_incidents
    inc = _incidents_shared(path, version, layer, ("mapped",), role_key)  # read-only; select makes a new frame
    pts = select_incidents(inc, months=months, categories=list(categories), name=layer)
    if pts is inc:  # no filter: never hand the shared frame to the analysis
        pts = inc.copy()
    geom = access.scope_area(role_key, bcus(path, version, True))
    return pts, (area(path, version) if geom is None else geom)


@st.cache_data(show_spinner=False, max_entries=32)
def hotspot_defaults(path: str, version: float, role_key: tuple, layer: str, months: tuple,
                     categories: tuple, method: str, weighted: bool) -> dict:
    """The cell size / bandwidth / eps / min_samples / period the method would choose."""
    from geo.hotspot_runs import auto_parameters
    pts, geom = _hotspot_inputs(path, version, role_key, layer, months, categories)
    return auto_parameters(pts, method, weight="harm" if weighted else None, area=geom)


@st.cache_data(show_spinner=False, max_entries=16)
def hotspots(path: str, version: float, role_key: tuple, layer: str, months: tuple, categories: tuple,
             method: str, weighted: bool, params: tuple):
    """``geo.hotspot_runs.run_hotspots`` on the selection; ``params`` is a sorted tuple of pairs."""
    from geo.hotspot_runs import run_hotspots
    pts, geom = _hotspot_inputs(path, version, role_key, layer, months, categories)
    return run_hotspots(pts, method, weight="harm" if weighted else None, area=geom,
                        category_col="category", **dict(params))


@st.cache_data(show_spinner=False, max_entries=16)
def hotspot_sites(path: str, version: float, role_key: tuple, layer: str, months: tuple, categories: tuple,
                  method: str, weighted: bool, params: tuple, buffers: tuple):
    """Site exposure (all sites of the area) and, per hot spot, the nearest site of each kind."""
    from geo.sites import nearest_sites, site_exposure
    s = sites(path, version)
    if not len(s):
        return None, None
    run = hotspots(path, version, role_key, layer, months, categories, method, weighted, params)
    pts, geom = _hotspot_inputs(path, version, role_key, layer, months, categories)
    if access.scope_area(role_key, bcus(path, version, True)) is not None:
        s = s[s.intersects(geom)]
    exposure = site_exposure(s, pts, buffers_m=buffers, hotspots=run.hot, bcus=bcus(path, version))
    from geo.settings import SENSITIVE_SITE_KINDS
    kinds = [k for k in SENSITIVE_SITE_KINDS if k in set(s["kind"])]  # never the nearest shop or clinic
    nearest = nearest_sites(run.hot, s, wide=True, kinds=kinds) if len(run.hot) and kinds else None
    return exposure, nearest


@st.cache_data(show_spinner=False, max_entries=8)
def calls_vs_crime(path: str, version: float, role_key: tuple, months: tuple, cell_size: float | None,
                   shape: str, weighted: bool):
    """``geo.hotspots.calls_vs_crime`` on the workspace's calls and crime layers."""
    from geo.hotspots import calls_vs_crime as cvc
    calls, geom = _hotspot_inputs(path, version, role_key, "calls", months, ())
    crime, _ = _hotspot_inputs(path, version, role_key, "crime", months, ())
    return cvc(calls, crime, cell_size=cell_size, shape=shape, weight="harm" if weighted else None, area=geom)


def gpkg_bytes(layers: dict) -> bytes:
    """A GeoPackage of ``{layer name: GeoDataFrame}`` as bytes, for a download button."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "export.gpkg"
        for name, frame in layers.items():
            frame.to_file(out, layer=name, driver="GPKG")
        return out.read_bytes()


# ---------------------------------------------------------------- results analysis (Operations page)
# Keyed by (path, version, role_key, operation, options): the analysis reads incident-level data on both sides
# of the force boundary, so only roles that may see incidents get it, and roles never share a cached result.
def displacement(path: str, version: float, op_id: str, *, before=None, after=None, layer=None,
                 buffer_m=None, control: str = "bcu", control_units: tuple = (), user=None):
    """Results analysis of one operation (:func:`geo.displacement.analyse_operation`), cached.

    Checked first by :func:`geo.access.check_can_analyse` (an inspector: operations inside
    their BCUs, control units inside them too).
    """
    key = check_analysis(path, version, op_id, tuple(control_units), user=user)
    return _displacement(path, version, op_id, before, after, layer, buffer_m, control, tuple(control_units), key)


def check_analysis(path: str, version: float, op_id: str, control_units: tuple = (), *, user=None) -> tuple:
    """Raise :class:`geo.auth.AccessDenied` unless the user may analyse ``op_id``; returns their scope key."""
    user = _user(user)
    key = access.require_incidents(user, "results analysis")
    try:
        _check_analysis(path, version, op_id, tuple(control_units), key)
    except access.AccessDenied as err:
        from dashboard import auth
        auth.audit_as(user.username, "access refused", f"analyse operation {op_id}: {err}", Path(path))
        raise
    return key


@st.cache_data(show_spinner=False, max_entries=32)
def _check_analysis(path: str, version: float, op_id: str, control_units: tuple, role_key: tuple) -> bool:
    with open_workspace(Path(path)) as ws:
        op, target = _stored(ws, op_id)
        if op is None:
            raise geo.GeoInputError("The operation is no longer in the register", fix="choose another operation")
        all_bcus = ws.bcus(all_forces=True)
        access.check_can_analyse(role_key, op, target=target, bcus=all_bcus)
        if control_units:
            b = ws.boundaries()
            keys = b["level"].astype(str) + ":" + b["code"].astype(str)
            access.check_control_units(role_key, b[keys.isin(control_units)], all_bcus)
    return True


@st.cache_data(show_spinner="Analysing the operation…", max_entries=8)
def _displacement(path: str, version: float, op_id: str, before, after, layer, buffer_m, control: str,
                  control_units: tuple, role_key: tuple):
    from geo.displacement import analyse_operation
    with open_workspace(Path(path)) as ws:
        op = next((o for o in ws.operations() if o.op_id == op_id), None)
        if op is None:
            raise geo.GeoInputError("The operation is no longer in the register", fix="choose another operation")
        return analyse_operation(ws, op, before=before, after=after, layer=layer, buffer_m=buffer_m,
                                 control=control, control_units=list(control_units) or None)


def displacement_report(path: str, version: float, op_id: str, before=None, after=None, layer=None,
                        buffer_m=None, control: str = "bcu", control_units: tuple = (), role_key: tuple = (), *,
                        user=None):
    """The HTML report and CSV of :func:`displacement` (same checks, same key).

    ``role_key`` is accepted for older callers and ignored: the signed-in user (or ``user``) is checked.
    """
    key = check_analysis(path, version, op_id, tuple(control_units), user=user)
    return _displacement_report(path, version, op_id, before, after, layer, buffer_m, control,
                                tuple(control_units), key)


@st.cache_data(show_spinner="Writing the report…", max_entries=8)
def _displacement_report(path: str, version: float, op_id: str, before, after, layer, buffer_m, control: str,
                         control_units: tuple, role_key: tuple):
    from geo.report_html import render_html, to_csv
    res = _displacement(path, version, op_id, before, after, layer, buffer_m, control, tuple(control_units),
                        role_key)
    all_bcus = bcus(path, version, all_forces=True)
    names = dict(zip(all_bcus["code"], all_bcus["name"]))
    return (render_html(res, bcus=all_bcus, bcu_name=names.get(res.operation.get("bcu"))).encode("utf-8"),
            to_csv(res).encode("utf-8"))


def briefing(path: str, version: float, area_key: tuple, months: tuple[str, str], audience: str, *, user=None):
    """Build an area briefing for the signed-in user (or ``user``); role checked here.

    A partner gets partner briefings only; an inspector only areas within their BCU(s).
    """
    from dashboard import auth
    user = _user(user)
    access.check_audience(user, audience)
    b = _briefing(path, version, area_key, months, audience, user.cache_key, user.username)
    if area_key and area_key[0] == "polygon":  # the drawn area itself, so a differencing attempt can be seen
        auth.audit_as(user.username, "briefing on a drawn area",
                      f"{audience} briefing, {months[0]}..{months[1]}, polygon {str(area_key[1])[:4000]}", Path(path))
    return b


@st.cache_data(show_spinner=False, max_entries=8)
def _briefing(path: str, version: float, area_key: tuple, months: tuple[str, str], audience: str,
              role_key: tuple, username: str):
    from geo import briefing as core
    access.check_audience(role_key, audience)
    with open_workspace(Path(path)) as ws:
        kind, code = area_key
        if kind == "polygon":
            area = core.polygon_area(code, crs=ws.crs)
        else:
            area = core.resolve_area(ws, code, level=kind)
        access.check_inside(role_key, area.geometry, ws.bcus(all_forces=True),
                            what="the briefing area (inspectors brief on their own BCU)")
        b = core.build(ws, area, months, audience=audience, generated_by=username)
        b.pdf()
    return b


# ------------------------------------------------------------------ trends over time (Area summary)
TREND_LEVELS = ("force", "bcu", "ward", "neighbourhood")


def may_see_monthly(role_key: tuple) -> bool:
    """Whether this user may see monthly series (incident-level data): not a partner (geo.access decides)."""
    try:
        access.require_incidents(role_key)
    except access.AccessDenied:
        return False
    return True


@st.cache_data(show_spinner=False, max_entries=16)
def trend_units(path: str, version: float, role_key: tuple, level: str):
    """``code``, ``name`` and geometry of the areas of ``level`` this user may chart (an inspector: own BCUs)."""
    import geopandas as gpd
    access.require_incidents(role_key)
    if level == "force":
        with open_workspace(Path(path)) as ws:
            force = ws.force or ws.name
        geom = area(path, version)
        if geom is None or access.scope_area(role_key, bcus(path, version, True)) is not None:
            return gpd.GeoDataFrame({"code": [], "name": []}, geometry=[], crs=bcus(path, version).crs)
        return gpd.GeoDataFrame({"code": ["force"], "name": [force]}, geometry=[geom], crs=bcus(path, version).crs)
    units = bcus(path, version) if level == "bcu" else boundaries(path, version, level)
    units = access.scope_units(role_key, units, bcus(path, version, True))
    return units[["code", "name", "geometry"]].sort_values("name").reset_index(drop=True)


@st.cache_data(show_spinner="Drawing the trend…", max_entries=16)
def area_trend(path: str, version: float, role_key: tuple, level: str, code: str, last_month: str):
    """The monthly harm of one area with control limits and change in words (:func:`geo.trends.area_trend`)."""
    from geo.briefing import Area
    from geo.coverage import covered_force_months
    from geo.trends import area_trend as trend
    units = trend_units(path, version, role_key, level)
    row = units[units["code"] == code]
    if row.empty:
        raise access.AccessDenied(f"No {level} '{code}' among the areas you may see.")
    inc = _incidents(path, version, "crime", ("mapped",), role_key)
    r = row.iloc[0]
    return trend(inc, Area(level, str(r["code"]), str(r["name"]), r.geometry), last_month, last_month,
                 coverage=covered_force_months(inc))


@st.cache_data(show_spinner=False, max_entries=16)
def published_trend(path: str, version: float, threshold: int, level: str, code: str, name: str):
    """Harm per published quarter of one area of the Area summary (partners' figures only)."""
    from geo.trends import published_trend as trend
    pub = partner_published(path, version, threshold)
    if code == "force":
        codes = None
    elif level == pub.level:
        codes = [code]
    else:
        units = boundaries(path, version, level)
        codes = pub.units_in(units.loc[units["code"] == code].geometry.iloc[0])
    return trend(pub, units=codes, quarters=list(pub.quarters), name=name)


# ---------------------------------------------------------------- national view (geo.national)
def national_folder() -> Path:
    """Output folder of a national run (``python -m geo national``): ``GEO_NATIONAL`` or ``national/``."""
    return Path(os.environ.get("GEO_NATIONAL", ROOT / "national"))


@st.cache_data(show_spinner="Reading the national panels…", max_entries=2)
def national_view(folder: str, version: int):
    """The national panels, read-only (``version``: the run's summary file time, the cache key)."""
    from geo.national.view import national_view as read
    return read(folder)


# ---------------------------------------------------------------- the Map page (fast paths)
# Every Map and Hotspots interaction must answer in about a second: the scoped incidents
# are shared read-only (cache_resource: no 250k-row unpickle per run), each incident's
# unit is looked up once per layer and level, and each filter's aggregate is cached.
# Keys carry the scope key ``(role, bcus)`` like every scoped cache.
@st.cache_resource(show_spinner="Loading incidents…", max_entries=8)
def _incidents_shared(path: str, version: float, layer: str | None, statuses, role_key: tuple):
    return _incidents(path, version, layer, statuses, role_key)


def incidents_readonly(path: str, version: float, layer: str | None = None, statuses: tuple = ("mapped",), *,
                       user=None):
    """:func:`incidents`, shared between runs and sessions of the same scope: never modify it.

    Filtering (``inc[mask]``) makes a new frame and is fine; assigning a column is not.
    """
    key = access.require_incidents(_user(user))
    return _incidents_shared(path, version, layer, tuple(statuses) if statuses is not None else None, key)


@st.cache_resource(show_spinner="Placing incidents in areas…", max_entries=8)
def _unit_codes(path: str, version: float, layer: str, level: str, role_key: tuple):
    from geo.aggregate import unit_of
    return unit_of(_incidents_shared(path, version, layer, ("mapped",), role_key), boundaries(path, version, level))


def select(inc, months: tuple[str, str], categories: tuple = (), basket_only: bool = False):
    """The rows of `inc` in the month range, of `categories` (all if empty), in the basket if asked."""
    mask = (inc["month"] >= months[0]) & (inc["month"] <= months[1])
    if categories:
        mask &= inc["category"].isin(list(categories))
    if basket_only:
        mask &= inc["in_basket"]
    return inc[mask]


@st.cache_data(show_spinner=False, max_entries=64)
def map_units(path: str, version: float, role_key: tuple, layer: str, level: str, months: tuple,
              categories: tuple, basket_only: bool):
    """Count and harm per unit of `level` for one filter (units with at least one incident)."""
    from geo.aggregate import by_unit
    access.require_incidents(role_key)
    inc = _incidents_shared(path, version, layer, ("mapped",), role_key)
    shown = select(inc, months, categories, basket_only)
    agg = by_unit(shown, boundaries(path, version, level), codes=_unit_codes(path, version, layer, level, role_key))
    return agg[agg["count"] > 0]


@st.cache_data(show_spinner=False, max_entries=8)
def map_frame(path: str, version: float, role_key: tuple):
    """The polygons a map is framed on for this scope (an inspector's own BCUs, else the force)."""
    from geo.render.map_view import view_area
    b = bcus(path, version, True)
    with open_workspace(Path(path)) as ws:
        force = ws.force
    return view_area(b, force=force, scope=access.scope_area(role_key, b))


@st.cache_data(show_spinner=False, max_entries=32)
def map_boundaries(path: str, version: float, role_key: tuple, level: str):
    """Boundaries of `level` that touch the map's frame, simplified and in WGS84 (ready to draw, cached)."""
    from geo.render.maps import to_wgs84
    frame = map_frame(path, version, role_key)
    b = bcus(path, version, True) if level == "bcu" else boundaries(path, version, level)
    if len(frame) and level != "bcu":
        b = b[b.intersects(frame.union_all().buffer(-1))]
    return to_wgs84(b, ["code", "name", "force"] if "force" in b.columns else ["code", "name"], level)


@st.cache_data(show_spinner=False, max_entries=16)
def map_sites(path: str, version: float, role_key: tuple):
    """Sites inside the map's frame: (drawn at first: schools, treatment; the rest)."""
    from geo.render.map_view import sites_in_view
    s = sites(path, version)
    if not len(s):
        return s, s
    return sites_in_view(s, map_frame(path, version, role_key))
