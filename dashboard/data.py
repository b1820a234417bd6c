"""The only place with Streamlit caches, each a thin wrapper over :mod:`geo.services`.

Pages read "widgets -> one call here -> render"; this module calls ``geo.services`` (which
asks :mod:`geo.access` and writes the audit log) and caches what it returns. It decides
nothing about who sees what: it passes the signed-in user (or ``user=`` given by a test)
on, and every scoped cache is keyed by :func:`user_key`, ``(role, bcus)``, so roles never
share a cached frame.

Cached functions take small hashable arguments: the workspace path and its file
modification time (``version``), so any save invalidates what was read before.
"""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from geo import access, services

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
    path = Path(path)
    shared = services.store_version(path)  # None for a GeoPackage file (not opened)
    if shared is not None:
        return shared
    if not path.exists():
        return 0
    ns = path.stat().st_mtime_ns
    return _SAME_DATA.get((str(path), ns), ns)


def _user(user=None):
    """``user``, or the signed-in user (``None`` if nobody is)."""
    if user is not None:
        return user
    from dashboard import auth
    return auth.current_user()


def user_key(user=None) -> tuple:
    """The signed-in user's (or ``user``'s) scope key ``(role, bcus)``, for caches of scoped results."""
    return access.scope_key(_user(user))


def clear() -> None:
    st.cache_data.clear()


# ---------------------------------------------------------------- the workspace and reference layers
def info(path: str, version: float) -> dict:
    """:func:`geo.services.workspace_info`: name, CRS, force, layers, months, categories, levels, settings."""
    return _info(path, version, user_key())


@st.cache_data(show_spinner=False, max_entries=8)
def _info(path: str, version: float, role_key: tuple) -> dict:
    return services.workspace_info(path, user=role_key)


def boundaries(path: str, version: float, level: str | None = None):
    return _boundaries(path, version, level, user_key())


@st.cache_data(show_spinner=False, max_entries=16)
def _boundaries(path: str, version: float, level, role_key: tuple):
    return services.boundaries(path, user=role_key, level=level)


def bcus(path: str, version: float, all_forces: bool = False):
    return _bcus(path, version, all_forces, user_key())


@st.cache_data(show_spinner=False, max_entries=8)
def _bcus(path: str, version: float, all_forces: bool, role_key: tuple):
    return services.bcus(path, user=role_key, all_forces=all_forces)


def sites(path: str, version: float):
    return _sites(path, version, user_key())


@st.cache_data(show_spinner=False, max_entries=8)
def _sites(path: str, version: float, role_key: tuple):
    return services.sites(path, user=role_key)


def area(path: str, version: float):
    return _area(path, version, user_key())


@st.cache_data(show_spinner=False, max_entries=8)
def _area(path: str, version: float, role_key: tuple):
    return services.force_area(path, user=role_key)


def harm_table(path: str, version: float):
    return _harm_table(path, version, user_key())


@st.cache_data(show_spinner=False, max_entries=8)
def _harm_table(path: str, version: float, role_key: tuple):
    return services.harm_table(path, user=role_key)


# ---------------------------------------------------------------- incidents
def incidents(path: str, version: float, layer: str | None = None, statuses: tuple = ("mapped",), *, user=None):
    """Incident-level rows for the signed-in user (or ``user``): :func:`geo.services.incidents`.

    A partner, or nobody signed in, gets :class:`geo.auth.AccessDenied`; an inspector the
    incidents inside their BCU(s) only.
    """
    return _incidents(path, version, layer, tuple(statuses) if statuses is not None else None, user_key(user))


@st.cache_data(show_spinner="Loading incidents…", max_entries=8)
def _incidents(path: str, version: float, layer: str | None, statuses, role_key: tuple):
    return services.incidents(path, user=role_key, layer=layer, statuses=statuses)


# ---------------------------------------------------------------- the audit log
def audit(action: str, detail: str = "") -> None:
    """Record an action by the signed-in user in the current workspace's audit log.

    Pages call it for what they show or hand out (map views, downloads), e.g.
    ``st.download_button(..., on_click=data.audit, args=("downloaded map CSV", detail))``;
    changes are recorded by the service that makes them.
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


def record(path, who, action: str, detail: str = "", *, busy_timeout_s: float | None = None) -> None:
    """:func:`geo.services.record`: one audit entry by ``who`` (a user, or a name) in workspace ``path``."""
    times = services.record(path, who, action, detail, busy_timeout_s=busy_timeout_s)
    if times:  # a file store: the entry moved the file's time but changed no data
        same_data(path, *times)


def audit_log(path, *, user=None):
    """The workspace's audit log (admins): :func:`geo.services.audit_log`."""
    return services.audit_log(path, user=_user(user))


# ---------------------------------------------------------------- changes (Admin, Harm, Data pages)
def change_settings(path, changes: dict, *, user=None) -> list[str]:
    """:func:`geo.services.change_settings` (admins; audited); clears the caches."""
    done = services.change_settings(path, changes, user=_user(user))
    clear()
    published_in_background(path, user=user)  # e.g. a new suppression threshold
    return done


def save_harm_table(path, table, *, user=None) -> None:
    """:func:`geo.services.save_harm_table` (audited); clears the caches."""
    services.save_harm_table(path, table, user=_user(user))
    clear()
    published_in_background(path, user=user)


def restore_harm_defaults(path, *, user=None) -> None:
    """:func:`geo.services.restore_harm_defaults` (audited); clears the caches."""
    services.restore_harm_defaults(path, user=_user(user))
    clear()
    published_in_background(path, user=user)


def import_upload(path, name: str, content: bytes, *, kind: str, mapping=None, site_kind=None, user=None):
    """:func:`geo.services.import_upload` (audited); clears the caches; returns the import report."""
    report = services.import_upload(path, user=_user(user), name=name, data=content, kind=kind, mapping=mapping,
                                    site_kind=site_kind)
    clear()
    from dashboard.data_results import analyse_in_background
    analyse_in_background(path, user=user)  # the new data: every operation's analysis, kept in the workspace
    published_in_background(path, user=user)  # and the partners' published table
    return report


def published_in_background(path, *, user=None) -> bool:
    """After a change of data, harm weights or settings: the published base table of the new data version
    built in the background (:func:`dashboard.warm.area_summary`) and kept in the workspace
    (:func:`geo.services.partner_published`), so the next Area summary or partner briefing, in any
    session or server, loads it instead of building it. Returns whether a thread was started."""
    from dashboard import warm
    key, ver, role_key = str(path), version(Path(path)), user_key(user)
    try:
        held = _info(key, ver, role_key)
    except Exception:  # noqa: BLE001 - e.g. a workspace without boundaries yet: nothing to publish
        return False
    warm.kept_hotspots(key)  # and the Hotspots page's default runs (geo.stored_hotspots)
    return warm.area_summary(key, ver, held, role_key)


def import_history(path: str, version: float):
    return _import_history(path, version, user_key())


@st.cache_data(show_spinner=False, max_entries=8)
def _import_history(path: str, version: float, role_key: tuple):
    return services.import_history(path, user=role_key)


def import_report(path: str, version: float, import_id: int):
    return _import_report(path, version, int(import_id), user_key())


@st.cache_data(show_spinner=False, max_entries=16)
def _import_report(path: str, version: float, import_id: int, role_key: tuple):
    return services.import_report(path, import_id, user=role_key)


def rejected_rows(path: str, version: float, import_id: int | None = None):
    return _rejected_rows(path, version, import_id, user_key())


@st.cache_data(show_spinner=False, max_entries=8)
def _rejected_rows(path: str, version: float, import_id, role_key: tuple):
    return services.rejected_rows(path, user=role_key, import_id=import_id)


# ---------------------------------------------------------------- partner products (Areas page)
def partner_published(path: str, version: float, threshold: int, role_key: tuple | None = None):
    """:func:`geo.services.partner_published`: the published base table for partners (kept in the
    workspace per data version: a new server or session loads it). ``role_key``: the signed-in
    user's :func:`user_key` unless given (the background warm-up, :func:`dashboard.warm.published`)."""
    return _partner_published(path, version, threshold, role_key if role_key is not None else user_key())


# The published table and the unit tables are shared read-only (cache_resource): a level change or any
# other rerun of the Area summary hands back the same objects instead of unpickling 1,700 polygons.
@st.cache_resource(show_spinner="Aggregating…", max_entries=4)
def _partner_published(path: str, version: float, threshold: int, role_key: tuple):
    # storing the table in the workspace changes no data: the caches keep their version
    return services.partner_published(path, user=role_key, threshold=threshold,
                                      on_saved=lambda before, after: same_data(path, before, after))


def partner_units(path: str, version: float, level: str, quarters: tuple[str, ...], threshold: int,
                  basket_only: bool, role_key: tuple | None = None):
    """Published figures per unit of ``level`` (:func:`geo.services.partner_units`); shared: never modify it.
    ``role_key`` as in :func:`partner_published`."""
    return _partner_units(path, version, level, tuple(quarters), threshold, basket_only,
                          role_key if role_key is not None else user_key())


@st.cache_resource(show_spinner="Aggregating…", max_entries=16)
def _partner_units(path: str, version: float, level: str, quarters: tuple, threshold: int, basket_only: bool,
                   role_key: tuple):
    return services.partner_units(path, user=role_key, level=level, quarters=quarters, threshold=threshold,
                                  basket_only=basket_only,
                                  published=_partner_published(path, version, threshold, role_key))


def partner_categories(path: str, version: float, quarters: tuple[str, ...], threshold: int):
    """Published figures per crime type over the force (:func:`geo.services.partner_categories`)."""
    return _partner_categories(path, version, tuple(quarters), threshold, user_key())


@st.cache_data(show_spinner="Aggregating…", max_entries=16)
def _partner_categories(path: str, version: float, quarters: tuple, threshold: int, role_key: tuple):
    return services.partner_categories(path, user=role_key, quarters=quarters, threshold=threshold,
                                       published=_partner_published(path, version, threshold, role_key))


def briefing_units(path: str, version: float, level: str):
    """The wards or neighbourhoods this user may brief on (:func:`geo.services.briefing_units`)."""
    return _briefing_units(path, version, level, user_key())


@st.cache_data(show_spinner=False, max_entries=8)
def _briefing_units(path: str, version: float, level: str, role_key: tuple):
    return services.briefing_units(path, user=role_key, level=level)


# ---------------------------------------------------------------- the operations register (Operations page)
def operation_areas(path: str, version: float, *, user=None):
    """The operations layer (target polygons) the signed-in user (or ``user``) may see on a map."""
    return _operation_areas(path, version, user_key(user))


@st.cache_data(show_spinner=False, max_entries=8)
def _operation_areas(path: str, version: float, role_key: tuple):
    return services.operation_areas(path, user=role_key)


def operations(path: str, version: float, *, user=None) -> list:
    """The operations the signed-in user (or ``user``) may list and read (:func:`geo.services.list_operations`)."""
    return _operations(path, version, user_key(user))


@st.cache_data(show_spinner=False, max_entries=8)
def _operations(path: str, version: float, role_key: tuple) -> list:
    return services.list_operations(path, user=role_key)


def operation_bcus(path: str, version: float, *, user=None) -> list:
    """:func:`geo.services.operation_bcus`: the BCU codes this user may give an operation."""
    return _operation_bcus(path, version, user_key(user))


@st.cache_data(show_spinner=False, max_entries=8)
def _operation_bcus(path: str, version: float, role_key: tuple) -> list:
    return services.operation_bcus(path, user=role_key)


def save_operation(path, op, *, user=None) -> str | None:
    """Create or change ``op`` for the signed-in user (or ``user``): :func:`geo.services.save_operation`
    (checked by :mod:`geo.access`, audited); returns the save's warning or ``None``."""
    warning = services.save_operation(path, op, user=_user(user))
    clear()
    from dashboard.data_results import analyse_in_background
    analyse_in_background(path, [op.op_id], user=user)  # its results are ready when asked for
    return warning


def delete_operation(path, op_id: str, *, user=None) -> None:
    """Delete operation ``op_id``: :func:`geo.services.delete_operation` (checked, audited)."""
    services.delete_operation(path, op_id, user=_user(user))
    clear()


# ---------------------------------------------------------------- briefings (Briefings page)
def briefing(path: str, version: float, area_key: tuple, months: tuple[str, str], audience: str, *, user=None):
    """An area briefing for the signed-in user (or ``user``): :func:`geo.services.build_briefing`.

    ``area_key``: ``(kind, code)`` of a BCU, ward or neighbourhood, or ``("polygon", geojson)``.
    Cached per user; the service checks the audience and area and audits a drawn area.
    """
    return _briefing(path, version, tuple(area_key), tuple(months), audience, _user(user))


@st.cache_data(show_spinner=False, max_entries=8)
def _briefing(path: str, version: float, area_key: tuple, months: tuple[str, str], audience: str, user):
    kind, code = area_key
    where = {"polygon": code} if kind == "polygon" else {"kind": kind, "code": code}
    published = None
    if audience == "partner":  # the published base table, built once per data version (as the Area summary's)
        from geo.settings import settings
        threshold = int(_info(path, version, user_key(user))["settings"].get("suppression_threshold")
                        or settings.suppression_threshold)
        published = _partner_published_shared(path, version, threshold, user_key(user))
    return services.build_briefing(path, user=user, months=months, audience=audience, published=published,
                                   pdf=False, on_saved=lambda before, after: same_data(path, before, after), **where)


def briefing_pdf(path: str, version: float, area_key: tuple, months: tuple[str, str], audience: str, *,
                 user=None) -> bytes:
    """The PDF of :func:`briefing`, rendered the first time it is asked for (the page's download
    button calls this when clicked, so preparing a briefing does not wait for the PDF)."""
    return _briefing_pdf(path, version, tuple(area_key), tuple(months), audience, _user(user))


@st.cache_data(show_spinner=False, max_entries=8)
def _briefing_pdf(path: str, version: float, area_key: tuple, months: tuple[str, str], audience: str, user):
    return _briefing(path, version, area_key, months, audience, user).pdf()


@st.cache_resource(show_spinner=False, max_entries=4)
def _partner_published_shared(path: str, version: float, threshold: int, role_key: tuple):
    """:func:`_partner_published`, shared read-only (no copy per briefing)."""
    return _partner_published(path, version, threshold, role_key)


# ------------------------------------------------------------------ trends over time (Area summary)
TREND_LEVELS = ("force", "bcu", "ward", "neighbourhood")


def may_see_monthly(role_key: tuple) -> bool:
    """Whether this user may see monthly series: :func:`geo.services.may_see_monthly`."""
    return services.may_see_monthly(role_key)


@st.cache_data(show_spinner=False, max_entries=16)
def trend_units(path: str, version: float, role_key: tuple, level: str):
    """:func:`geo.services.trend_units`: the areas of ``level`` this user may chart."""
    return services.trend_units(path, user=role_key, level=level)


@st.cache_data(show_spinner="Drawing the trend…", max_entries=16)
def area_trend(path: str, version: float, role_key: tuple, level: str, code: str, last_month: str):
    """:func:`geo.services.area_trend` over the shared crime incidents (read-only: no copy of 250k rows) and
    trend units."""
    return services.area_trend(path, user=role_key, level=level, code=code, last_month=last_month,
                               units=trend_units(path, version, role_key, level),
                               incidents=_incidents_shared(path, version, "crime", ("mapped",), role_key))


def published_trend(path: str, version: float, threshold: int, level: str, code: str, name: str):
    """:func:`geo.services.published_trend`: harm per published quarter of one area."""
    return _published_trend(path, version, threshold, level, code, name, user_key())


@st.cache_data(show_spinner=False, max_entries=16)
def _published_trend(path: str, version: float, threshold: int, level: str, code: str, name: str,
                     role_key: tuple):
    return services.published_trend(path, user=role_key, threshold=threshold, level=level, code=code, name=name,
                                     published=_partner_published(path, version, threshold, role_key))


# ---------------------------------------------------------------- national view (geo.national)
def national_folder() -> Path:
    """Output folder of a national run (``python -m geo national``): ``GEO_NATIONAL`` or ``national/``."""
    return Path(os.environ.get("GEO_NATIONAL", ROOT / "national"))


def national_view(folder: str, version: int, *, user=None):
    """:func:`geo.services.national_view` (``version``: the run's summary file time, the cache key)."""
    return _national_view(folder, version, user_key(user))


@st.cache_data(show_spinner="Reading the national panels…", max_entries=2)
def _national_view(folder: str, version: int, role_key: tuple):
    return services.national_view(folder, user=role_key)


# ---------------------------------------------------------------- the Map page (fast paths)
def session_memo(name: str, key: tuple, build):
    """``build()``, kept in this session for ``key`` (one value per ``name``: a new key replaces it).

    For objects that belong to one browser session and must stay the same object between
    runs, such as the Map page's base map, which the browser keeps mounted while its script
    is unchanged. Not shared between sessions, so it needs no lock and never crosses users.
    """
    memo = st.session_state.setdefault("memo", {})
    held = memo.get(name)
    if held is not None and held[0] == key:
        return held[1]
    value = build()
    memo[name] = (key, value)
    return value


# Every Map and Hotspots interaction must answer in about a second: the scoped incidents
# are shared read-only (cache_resource: no 250k-row unpickle per run), each incident's
# unit is looked up once per layer and level, and each filter's aggregate is cached.
# Keys carry the scope key ``(role, bcus)`` like every scoped cache.
@st.cache_resource(show_spinner="Loading incidents…", max_entries=8)
def _incidents_shared(path: str, version: float, layer: str | None, statuses, role_key: tuple):
    # scoped by geo.services.incidents; the whole force's frame kept in the workspace per data version is
    # loaded (a new server or session reads no row), else a frame read is kept there by the warm-up thread
    # once the page has answered (a kept frame changes no data: the caches keep their version)
    from dashboard import warm
    return services.incidents(path, user=role_key, layer=layer, statuses=statuses, stored=True, keep=warm.later,
                              on_saved=lambda before, after: same_data(path, before, after))


def incidents_readonly(path: str, version: float, layer: str | None = None, statuses: tuple = ("mapped",), *,
                       user=None):
    """:func:`incidents`, shared between runs and sessions of the same scope: never modify it.

    Filtering (``inc[mask]``) makes a new frame and is fine; assigning a column is not.
    A partner or nobody gets :class:`~geo.auth.AccessDenied` from the service (never cached).
    """
    return _incidents_shared(path, version, layer, tuple(statuses) if statuses is not None else None,
                             user_key(user))


@st.cache_resource(show_spinner="Placing incidents in areas…", max_entries=8)
def _unit_codes(path: str, version: float, layer: str, level: str, role_key: tuple):
    from geo.aggregate import unit_of
    return unit_of(_incidents_shared(path, version, layer, ("mapped",), role_key), boundaries(path, version, level))


def default_layer(layers) -> str | None:
    """The layer a page opens on and a results analysis uses unless the user picks another: crime if
    held, else the first (:func:`geo.workspace.default_layer`: the Map's kept frame is this layer's)."""
    from geo.workspace import default_layer as default
    return default(layers)


def select_mask(inc, months: tuple[str, str], categories: tuple = (), basket_only: bool = False):
    """Which rows of `inc` are in the month range, of `categories` (all if empty), in the basket if asked."""
    mask = (inc["month"] >= months[0]) & (inc["month"] <= months[1])
    if categories:
        mask &= inc["category"].isin(list(categories))
    if basket_only:
        mask &= inc["in_basket"]
    return mask


def select(inc, months: tuple[str, str], categories: tuple = (), basket_only: bool = False):
    """The rows of `inc` in the month range, of `categories` (all if empty), in the basket if asked."""
    return inc[select_mask(inc, months, categories, basket_only)]


@st.cache_data(show_spinner=False, max_entries=64)
def map_units(path: str, version: float, role_key: tuple, layer: str, level: str, months: tuple,
              categories: tuple, basket_only: bool):
    """:func:`geo.services.map_units` over the shared incidents and their cached unit codes."""
    return services.map_units(path, user=role_key, incidents=_incidents_shared(path, version, layer, ("mapped",),
                                                                               role_key),
                              level=level, months=months, categories=categories, basket_only=basket_only,
                              codes=_unit_codes(path, version, layer, level, role_key),
                              units=boundaries(path, version, level))


@st.cache_data(show_spinner=False, max_entries=8)
def map_frame(path: str, version: float, role_key: tuple):
    """:func:`geo.services.map_frame`: an inspector's own BCUs, else the force."""
    return services.map_frame(path, user=role_key)


@st.cache_data(show_spinner=False, max_entries=32)
def map_boundaries(path: str, version: float, role_key: tuple, level: str):
    """:func:`geo.services.map_boundaries`: boundaries touching the frame, in WGS84."""
    return services.map_boundaries(path, user=role_key, level=level, frame=map_frame(path, version, role_key))


@st.cache_data(show_spinner=False, max_entries=16)
def map_sites(path: str, version: float, role_key: tuple):
    """:func:`geo.services.map_sites`: (kinds drawn at first, the rest) inside the frame."""
    return services.map_sites(path, user=role_key, frame=map_frame(path, version, role_key))


# ---------------------------------------------------------------- hot spots (Hotspots page)
# In their own module to keep this one readable; the pages call them as ``data.hotspots`` etc.
from dashboard.data_hotspots import (calls_vs_crime, gpkg_bytes, hotspot_defaults, hotspot_layer,  # noqa: E402
                                     hotspot_sites, hotspot_table, hotspots, site_exposure_base)
