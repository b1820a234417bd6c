"""Results analysis (Operations page): the caches around :mod:`dashboard.analyses`, like :mod:`dashboard.data`.

Split from :mod:`dashboard.data`; the Operations page imports it itself (``data_results.displacement``
and so on); the same rules hold: keyed by ``(path, version, ..., role_key)``,
no access decision of its own (:func:`check_analysis` asks :func:`geo.services.check_analysis`).
"""
from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from geo import services
from dashboard.data import _user, default_layer, same_data, user_key, version

logger = logging.getLogger(__name__)

# Keyed by (path, version, role_key, operation, options): roles never share a cached result.
# An analysis takes seconds, so it runs in one background thread shared by every session
# (:class:`dashboard.analyses.Analyses`): the Operations page starts the default analysis of every operation in
# its register as soon as it opens, the one the user picks is then ready or well under way, and
# every analysis reads one incidents frame per data version instead of reading the store again.
@st.cache_resource(show_spinner=False)
def _analyses():
    from dashboard import warm
    from dashboard.analyses import Analyses
    # storing a finished analysis in the workspace changes no data; the warm-ups wait while one runs
    return Analyses(on_saved=same_data, busy=warm.user_run, version=version, drawn=warm.quiet_since)


def _analysis_key(path, version, op_id, before, after, layer, buffer_m, control, control_units, role_key) -> tuple:
    return (str(path), version, op_id, before, after, layer, buffer_m, control, tuple(control_units), role_key)


def prefetch_analyses(path: str, version: float, op_ids, layer: str | None, *, user=None) -> None:
    """Start the default results analysis of each of ``op_ids`` in the background (each checked first:
    an operation the user may not analyse is skipped, its refusal audited by the check)."""
    from geo.auth import AccessDenied
    from geo.errors import GeoInputError
    pool = _analyses()
    for op_id in op_ids:
        try:
            role_key = check_analysis(path, version, op_id, user=user)
        except (AccessDenied, GeoInputError):
            continue
        pool.job(_analysis_key(path, version, op_id, None, None, layer, None, "bcu", (), role_key))  # queued


def analyse_in_background(path, op_ids=None, *, user=None) -> None:
    """After an import or a save: queue the default analysis of ``op_ids`` (default every operation
    the user may list) in the background thread, so that it is computed once and kept in the
    workspace (:func:`geo.services.analyse_operation`) before anyone asks. Never raises: the
    write it follows has succeeded whatever happens here."""
    from geo.auth import AccessDenied
    from geo.errors import GeoInputError
    try:
        path = str(path)
        if op_ids is None:
            op_ids = [o.op_id for o in services.list_operations(path, user=_user(user))]
        layers = services.workspace_info(path, user=_user(user))["layers"]
        prefetch_analyses(path, version(Path(path)), list(op_ids), default_layer(layers), user=user)
    except (AccessDenied, GeoInputError, OSError) as err:
        logger.info("background analyses not started: %s", err)


def displacement(path: str, version: float, op_id: str, *, before=None, after=None, layer=None,
                 buffer_m=None, control: str = "bcu", control_units: tuple = (), user=None, early: bool = False):
    """Results analysis of one operation (:func:`geo.services.analyse_operation`), cached.

    Checked first, uncached, by :func:`check_analysis` (refusals are audited with the user).
    The result is shared read-only between sessions of the same scope: never modify it.
    ``early``: return the verdict stage as soon as it is ready if the complete result is not
    (its ``pending`` is then not empty: ask :func:`displacement_done` and call again).
    """
    return _displacement(*_checked(path, version, op_id, before, after, layer, buffer_m, control, control_units,
                                   user), early=early)


def displacement_done(path: str, version: float, op_id: str, *, before=None, after=None, layer=None,
                      buffer_m=None, control: str = "bcu", control_units: tuple = (), user=None) -> bool:
    """Whether the analysis :func:`displacement` returned early for the signed-in user (or ``user``)
    has finished. Only a flag: the next :func:`displacement` call, checked again, returns the result."""
    return _analyses().done(_analysis_key(path, version, op_id, before, after, layer, buffer_m, control,
                                          tuple(control_units), user_key(user)))


def check_analysis(path: str, version: float, op_id: str, control_units: tuple = (), *, user=None) -> tuple:
    """:func:`geo.services.check_analysis`: raises :class:`geo.auth.AccessDenied` unless the user may
    analyse ``op_id``; returns their scope key."""
    return services.check_analysis(path, op_id, user=_user(user), control_units=tuple(control_units))


def _displacement(path: str, version: float, op_id: str, before, after, layer, buffer_m, control: str,
                  control_units: tuple, role_key: tuple, *, spinner: bool = True, early: bool = False):
    pool = _analyses()
    key = _analysis_key(path, version, op_id, before, after, layer, buffer_m, control, control_units, role_key)
    get = pool.early if early else pool.result
    if not spinner or pool.job(key)[0].done():
        return get(key)
    with st.spinner("Analysing the operation…"):
        return get(key)


def _checked(path: str, version: float, op_id: str, before, after, layer, buffer_m, control: str,
             control_units, user) -> tuple:
    """The arguments of :func:`_displacement` for one analysis, after :func:`check_analysis` (which raises
    for a user who may not analyse ``op_id``; its scope key is the last argument)."""
    control_units = tuple(control_units)
    key = check_analysis(path, version, op_id, control_units, user=user)
    return path, version, op_id, before, after, layer, buffer_m, control, control_units, key


def displacement_report(path: str, version: float, op_id: str, before=None, after=None, layer=None,
                        buffer_m=None, control: str = "bcu", control_units: tuple = (), role_key: tuple = (), *,
                        user=None):
    """The HTML report and CSV of :func:`displacement` (same checks, same key).

    ``role_key`` is accepted for older callers and ignored: the signed-in user (or ``user``) is checked.
    """
    return _displacement_report(*_checked(path, version, op_id, before, after, layer, buffer_m, control,
                                          control_units, user))


def displacement_result(path: str, version: float, op_id: str, before=None, after=None, layer=None,
                        buffer_m=None, control: str = "bcu", control_units: tuple = (), *, user=None):
    """The complete result of :func:`displacement` for a download's callable (same checks, same key;
    no spinner: a download's data is made outside the page's run)."""
    return _displacement(*_checked(path, version, op_id, before, after, layer, buffer_m, control, control_units,
                                   user), spinner=False)


@st.cache_data(show_spinner="Writing the report…", max_entries=8)
def _displacement_report(path: str, version: float, op_id: str, before, after, layer, buffer_m, control: str,
                         control_units: tuple, role_key: tuple):
    res = _displacement(path, version, op_id, before, after, layer, buffer_m, control, tuple(control_units),
                        role_key, spinner=False)
    html, csv = services.operation_report(path, op_id, user=role_key, result=res,
                                          control_units=list(control_units) or None)
    return html.encode("utf-8"), csv.encode("utf-8")
