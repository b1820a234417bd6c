"""The operations register and results analysis, scoped by :mod:`geo.access` and audited."""
from __future__ import annotations

from .. import access
from ..errors import GeoInputError
from .core import Who, opened, refused, writer


def _targets(ws) -> dict:
    areas = ws.operation_areas()
    return dict(zip(areas["op_id"], areas.geometry))


def _stored(ws, key: str):
    """The stored operation with id (or else name) ``key`` and its target polygon, or ``(None, None)``."""
    register = ws.operations()
    op = next((o for o in register if o.op_id == key), None) or next((o for o in register if o.name == key), None)
    if op is None:
        return None, None
    return op, _targets(ws).get(op.op_id)


def _missing(ws, key: str, user: Who) -> GeoInputError:
    """The error for an operation not in the register, naming those ``user`` may choose."""
    try:
        names = ", ".join(o.name for o in list_operations(ws, user=user)) or "(none)"
    except access.AccessDenied:
        names = "(none)"
    return GeoInputError(f"No operation called '{key}' in this workspace (it may have been removed)",
                         fix=f"use one of: {names}")


def operation_areas(where, *, user: Who):
    """The operations layer (``op_id``, ``name``, target ``geometry``) ``user`` may see on a map."""
    access.require_incidents(user, "operations")
    with opened(where) as ws:
        return access.scope_operation_areas(user, ws.operation_areas(), ws.bcus(all_forces=True))


def operation_bcus(where, *, user: Who) -> list[str]:
    """The BCU codes of the force ``user`` may give an operation (an inspector: their own), in order."""
    access.require_incidents(user, "operations")
    with opened(where) as ws:
        return access.allowed_bcus(user, ws.bcus()["code"])


def list_operations(where, *, user: Who) -> list:
    """The operations ``user`` may list and read (:func:`geo.access.scope_operations`)."""
    access.require_incidents(user, "operations")
    with opened(where) as ws:
        return access.scope_operations(user, ws.operations(), targets=_targets(ws), bcus=ws.bcus(all_forces=True))


def get_operation(where, key: str, *, user: Who):
    """One operation by id (or name) with its target polygon, as ``(operation, target)``.

    Raises
    ------
    GeoInputError
        No such operation.
    AccessDenied
        ``user`` may not read it (an inspector: outside their BCUs).
    """
    access.require_incidents(user, "operations")
    with opened(where) as ws:
        op, target = _stored(ws, key)
        if op is None:
            raise _missing(ws, key, user)
        access.check_can_read_operation(user, op, target=target, bcus=ws.bcus(all_forces=True))
        return op, target


def save_operation(where, op, *, user: Who) -> str | None:
    """Create or change ``op``; returns the save's warning (target outside the force) or ``None``.

    Checked by :func:`geo.access.check_can_edit_operation` (an inspector: their BCUs only,
    for the operation as saved and as it was); the save, or the refusal, is audited.

    Raises
    ------
    GeoInputError
        The operation cannot be saved as given (no name, bad dates, no target, ...).
    AccessDenied
        The user may not create or change it.
    """
    from .. import operations as ops
    who = writer(user, "save an operation")
    access.require_incidents(who, "operations")
    with opened(where) as ws:
        old, old_target = _stored(ws, op.op_id)
        if old is not None and old.op_id != op.op_id:
            old, old_target = None, None
        ops.validate(op, existing_names={o.name for o in ws.operations() if o.op_id != op.op_id})
        target = ops.target_geometry(op, crs=ws.crs, boundaries=ws.boundaries() if op.target_kind == "unit" else None)
        try:
            access.check_can_edit_operation(who, op, target=target, bcus=ws.bcus(all_forces=True), existing=old,
                                            existing_target=old_target)
        except access.AccessDenied as err:
            refused(ws, who, f"save operation '{op.name}'", err)
            raise
        warning = ws.save_operation(op)
        ws.store.audit(who.username, "operation saved" if old is None else "operation changed", op.name)
    return warning


def delete_operation(where, key: str, *, user: Who):
    """Delete the operation with id (or name) ``key``, checked and audited like a save; returns it."""
    who = writer(user, "delete an operation")
    access.require_incidents(who, "operations")
    with opened(where) as ws:
        old, old_target = _stored(ws, key)
        if old is None:
            raise _missing(ws, key, user)
        try:
            access.check_can_edit_operation(who, old, target=old_target, bcus=ws.bcus(all_forces=True))
        except access.AccessDenied as err:
            refused(ws, who, f"delete operation '{old.name}'", err)
            raise
        ws.delete_operation(old.op_id)
        ws.store.audit(who.username, "operation deleted", old.name)
    return old


def check_analysis(where, key: str, *, user: Who, control_units=()) -> tuple:
    """Raise :class:`~geo.auth.AccessDenied` unless ``user`` may analyse operation ``key``
    (and use ``control_units``, ``"level:code"``); returns their scope key. Refusals are audited."""
    scope = access.require_incidents(user, "results analysis")
    with opened(where) as ws:
        op, target = _stored(ws, key)
        if op is None:
            raise _missing(ws, key, user)
        all_bcus = ws.bcus(all_forces=True)
        try:
            access.check_can_analyse(user, op, target=target, bcus=all_bcus)
            if control_units:
                b = ws.boundaries()
                keys = b["level"].astype(str) + ":" + b["code"].astype(str)
                access.check_control_units(user, b[keys.isin(list(control_units))], all_bcus)
        except access.AccessDenied as err:
            refused(ws, user, f"analyse operation {op.op_id}", err)
            raise
    return scope


def _layer(ws, layer: str | None) -> tuple[str, list]:
    layers = ws.store.layers()
    from ..workspace import default_layer
    return layer or default_layer(layers) or "crime", layers


def analysis_incidents(where, *, user: Who, layer: str | None = None):
    """The incident frame a results analysis reads: ``layer`` (default crime, else the first),
    mapped and outside the area (the catchment crosses the force boundary), unscoped.

    For :func:`analyse_operation`'s ``incidents=`` (the app reads it once per data version
    and shares it between analyses); never shown. Only for users who may run a results
    analysis at all (:func:`geo.access.require_incidents`); each analysis is still checked.
    ``None`` if the workspace has no such layer.
    """
    access.require_incidents(user, "results analysis")
    with opened(where) as ws:
        layer, layers = _layer(ws, layer)
        if layer not in layers:
            return None
        from ..displacement import analysis_frame  # only what the analysis reads: a third of the frame
        return analysis_frame(ws, layer)


def analyse_operation(where, key: str, *, user: Who, before=None, after=None, layer: str | None = None,
                      buffer_m: float | None = None, control: str = "bcu", control_units=None, incidents=None,
                      stored: bool = True, on_saved=None, on_verdict=None, **options):
    """Results analysis (:func:`geo.displacement.analyse_operation`) of operation ``key`` (id or name).

    Checked first by :func:`check_analysis`. The service reads the incident frame (the
    chosen layer, mapped and outside the area: the catchment crosses the force boundary)
    and hands it to the analysis; ``incidents``: that frame already read by
    :func:`analysis_incidents` for the same data version and layer (it is not modified), or a
    callable returning it, called only if the analysis is not stored already.
    ``options``: ``alpha``, ``radius_m``, ... as there.

    ``stored``: reuse the finished analysis kept in the workspace for the same operation,
    data, settings, options and code (:mod:`geo.stored_results`), and keep a new one there;
    only after the access check, so an inspector gets only analyses of operations inside
    their BCUs. ``on_saved(before, after)`` is called with what
    :meth:`geo.store.Store.save_result` returns (a file store's modification times: the
    write changes no data, see ``dashboard.data.same_data``).

    ``on_verdict(partial)``: called with the verdict stage as soon as the calibrated tests are
    done, before the supporting sections (see :func:`geo.displacement.analyse`); not called
    when the stored, complete result is loaded. Only the complete result is stored.
    """
    from ..displacement import analyse_operation as analyse
    check_analysis(where, key, user=user, control_units=tuple(control_units or ()))
    with opened(where) as ws:
        op, _ = _stored(ws, key)
        layer, _ = _layer(ws, layer)
        rkey = _result_key(ws, op.op_id, before=before, after=after, layer=layer, buffer_m=buffer_m,
                           control=control, control_units=control_units, options=options) if stored else None
        if rkey is not None:
            found = _load(ws, rkey)
            if found is not None:
                return found
        if callable(incidents):
            incidents = incidents()
        result = analyse(ws, op, before=before, after=after, layer=layer, buffer_m=buffer_m, control=control,
                         control_units=list(control_units) if control_units else None, incidents=incidents,
                         on_verdict=on_verdict, **options)
        if rkey is not None:
            _keep(ws, rkey, op.op_id, result, on_saved, again=lambda: _result_key(
                ws, op.op_id, before=before, after=after, layer=layer, buffer_m=buffer_m, control=control,
                control_units=control_units, options=options))
        return result


def analysis_default_steps(where, *, on_saved=None) -> list:
    """``(what, step)`` pairs, one per operation in the register whose default results analysis (the one
    the Operations page asks for first: default windows, layer, buffer and BCU control) is not kept in the
    workspace yet: each step computes it and keeps it (:mod:`geo.stored_results`).

    What ``python -m geo demo`` runs so that a new demo answers like a workspace after an import (where the
    dashboard computes every operation's analysis in the background, ``dashboard.data_results.analyse_in_background``).
    No user asks: nothing is returned; a kept result is read later only through :func:`analyse_operation`,
    after its access check. A result is the same for every user who may see it, so it is computed as an
    analyst (who may analyse every operation).
    """
    from ..stored_results import has_stored
    analyst = ("analyst", ())
    steps = []
    with opened(where) as ws:
        layer, layers = _layer(ws, None)
        if layer not in layers:
            return []
        for op in ws.operations():
            rkey = _result_key(ws, op.op_id, before=None, after=None, layer=layer, buffer_m=None, control="bcu",
                               control_units=None, options={})
            if has_stored(ws.store, rkey):
                continue
            steps.append((f"results analysis of {op.name}",
                          lambda op_id=op.op_id: analyse_operation(where, op_id, user=analyst, layer=layer,
                                                                   on_saved=on_saved)))
    return steps


def _result_key(ws, op_id: str, *, options: dict, control_units, **asked) -> str:
    from ..stored_results import result_key
    units = sorted(str(u) for u in control_units or ())
    return result_key(ws.store, op_id, {**asked, "control_units": units, **{k: options[k] for k in sorted(options)}})


def _load(ws, rkey: str):
    from ..stored_results import load_stored
    return load_stored(ws.store, rkey)


def _keep(ws, rkey: str, op_id: str, result, on_saved, *, again) -> None:
    """Store ``result`` (:func:`geo.stored_results.keep_stored`: not if the data changed meanwhile or the
    store or secret cannot be written; the result is returned all the same)."""
    from ..stored_results import keep_stored
    keep_stored(ws.store, rkey, op_id, result, on_saved=on_saved, again=again)


def operation_report(where, key: str, *, user: Who, result=None, **options) -> tuple[str, str]:
    """``(HTML report, CSV tables)`` of the results analysis of ``key`` (same checks).

    ``result``: an analysis already made for the same user and options, to skip redoing it.
    """
    from ..report_html import render_html, to_csv
    if result is None:
        result = analyse_operation(where, key, user=user, **options)
    else:
        check_analysis(where, key, user=user, control_units=tuple(options.get("control_units") or ()))
    with opened(where) as ws:
        all_bcus = ws.bcus(all_forces=True)
    names = dict(zip(all_bcus["code"], all_bcus["name"]))
    return render_html(result, bcus=all_bcus, bcu_name=names.get(result.operation.get("bcu"))), to_csv(result)
