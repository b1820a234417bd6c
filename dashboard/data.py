"""The only place with Streamlit caches around ``geo``.

Cached functions take small hashable arguments: the workspace path and its file
modification time (``version``), so any save invalidates what was read before.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

import geo
from geo import auth as core_auth
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


def version(path: Path) -> float:
    """Changes whenever the workspace file is written (cache key)."""
    return path.stat().st_mtime_ns if path.exists() else 0


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


def incidents(path: str, version: float, layer: str | None = None, statuses: tuple = ("mapped",), *, user=None):
    """Incident-level rows for the signed-in user (or ``user``).

    Checks the role on every call: a partner, or nobody signed in, gets
    :class:`geo.auth.AccessDenied`. An inspector gets the incidents inside their BCU(s)
    only. The cache is keyed by the role and BCUs, so roles never share a cached frame.
    """
    from dashboard import auth
    user = core_auth.require_incidents(user or auth.current_user())
    return _incidents(path, version, layer, tuple(statuses) if statuses is not None else None, user.cache_key)


@st.cache_data(show_spinner="Loading incidents…", max_entries=8)
def _incidents(path: str, version: float, layer: str | None, statuses, role_key: tuple):
    role, bcus_only = role_key
    if role not in ("inspector", "analyst", "admin"):
        raise core_auth.AccessDenied(f"The {role} role may not see incident-level data.")
    with open_workspace(Path(path)) as ws:
        inc = ws.incidents(layer=layer, statuses=statuses)
        if role == "inspector":
            inc = _within_bcus(inc, ws.bcus(all_forces=True), bcus_only)
    return inc


def _within_bcus(inc, bcu_frame, codes):
    """Rows inside the given BCUs (rows without a location are kept only if their LSOA is there: dropped)."""
    import shapely
    poly = bcu_frame[bcu_frame["code"].isin(codes)]
    if poly.empty:
        return inc.iloc[:0]
    geom = shapely.union_all(poly.geometry.to_numpy())
    shapely.prepare(geom)
    x, y = inc["x"].to_numpy(), inc["y"].to_numpy()
    ok = shapely.contains_xy(geom, x, y)
    return inc[ok]


def user_key() -> tuple:
    """The signed-in user's role key, for caches of role-filtered results."""
    from dashboard import auth
    u = auth.current_user()
    return u.cache_key if u else ("", ())


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


def audit(action: str, detail: str = "") -> None:
    """Record an action by the signed-in user in the current workspace's audit log."""
    from dashboard import auth
    auth.audit(action, detail)


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


@st.cache_data(show_spinner=False, max_entries=8)
def operation_areas(path: str, version: float):
    with open_workspace(Path(path)) as ws:
        return ws.operation_areas()


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
    inc = _incidents(path, version, layer, ("mapped",), role_key)
    pts = select_incidents(inc, months=months, categories=list(categories), name=layer)
    role, bcu_codes = role_key
    if role == "inspector" and bcu_codes:
        import shapely
        b = bcus(path, version, True)
        b = b[b["code"].isin(bcu_codes)]
        geom = shapely.union_all(b.geometry.to_numpy()) if len(b) else None
    else:
        geom = area(path, version)
    return pts, geom


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
    if geom is not None and role_key[0] == "inspector":
        s = s[s.intersects(geom)]
    exposure = site_exposure(s, pts, buffers_m=buffers, hotspots=run.hot, bcus=bcus(path, version))
    nearest = nearest_sites(run.hot, s, wide=True) if len(run.hot) and len(s) else None
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
                 buffer_m=None, control: str = "bcu", control_units: tuple = ()):
    """Results analysis of one operation (:func:`geo.displacement.analyse_operation`), cached."""
    from dashboard import auth
    user = core_auth.require_incidents(auth.current_user())
    return _displacement(path, version, op_id, before, after, layer, buffer_m, control, tuple(control_units),
                         user.cache_key)


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


@st.cache_data(show_spinner="Writing the report…", max_entries=8)
def displacement_report(path: str, version: float, op_id: str, before=None, after=None, layer=None,
                        buffer_m=None, control: str = "bcu", control_units: tuple = (), role_key: tuple = ()):
    """The HTML report and CSV of :func:`displacement` (same key)."""
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
    user = user or auth.current_user()
    if user is None:
        raise core_auth.AccessDenied("Sign in to prepare a briefing.")
    if user.role == "partner" and audience != "partner":
        raise core_auth.AccessDenied("Partners receive partner briefings (suppressed aggregates) only.")
    return _briefing(path, version, area_key, months, audience, user.cache_key, user.username)


@st.cache_data(show_spinner=False, max_entries=8)
def _briefing(path: str, version: float, area_key: tuple, months: tuple[str, str], audience: str,
              role_key: tuple, username: str):
    from geo import briefing as core
    role, bcus_only = role_key
    if role == "partner" and audience != "partner":
        raise core_auth.AccessDenied("Partners receive partner briefings only.")
    with open_workspace(Path(path)) as ws:
        kind, code = area_key
        if kind == "polygon":
            area = core.polygon_area(code, crs=ws.crs)
        else:
            area = core.resolve_area(ws, code, level=kind)
        if role == "inspector":
            allowed = ws.bcus(all_forces=True)
            allowed = allowed[allowed["code"].isin(bcus_only)]
            import shapely
            own = shapely.union_all(allowed.geometry.to_numpy()) if len(allowed) else None
            if own is None or not own.buffer(1.0).contains(area.geometry.buffer(-1.0)):
                raise core_auth.AccessDenied("Inspectors can brief on their own BCU(s) only.")
        b = core.build(ws, area, months, audience=audience, generated_by=username)
        b.pdf()
    return b
