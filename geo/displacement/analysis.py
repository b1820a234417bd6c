"""The whole results analysis of one operation: :func:`analyse` and :func:`analyse_operation`."""
from __future__ import annotations

import dataclasses
import logging

import geopandas as gpd
import shapely

from .. import stats
from ..errors import GeoInputError
from ..workspace import default_layer
from .areas import equal_area_width, matched_control, points_inside, study_areas, union_geoms, xy_of
from . import engine
from .checks import placebo_dates, placebo_type, pre_period_fit, pre_trend, same_months_a_year_earlier
from .flags import sensitivity, targeted_table, targeted_tests, type_tests
from .measures import count_areas, cross_boundary, measures
from .migration import hotspot_migration
from .power import N_PLANTS, planted_power
from .synthetic import synthetic_comparison
from .verdict import (DisplacementResult, build_verdict, caveats, check_notes, control_note, pre_trend_note,
                      targeted_notes)
from .windows import Windows, month_add, month_label, op_windows, periods, window_months

logger = logging.getLogger(__name__)

__all__ = ["analyse", "analyse_operation", "analysis_frame", "coverage", "ANALYSIS_COLUMNS"]

#: The stored incident columns a results analysis reads (``Workspace.incidents(columns=)``; the harm
#: columns are added from them): ids, locations' names, LSOAs, outcomes and sources are never used.
ANALYSIS_COLUMNS = ("layer", "month", "date", "category", "subcategory", "force", "x", "y")


def analysis_frame(ws, layer: str):
    """The incidents a results analysis of ``layer`` reads: mapped and outside the area (the catchment
    crosses the force boundary), :data:`ANALYSIS_COLUMNS` only. The Operations page, the command line and
    the internal briefing all analyse this frame, so they give the same numbers."""
    return ws.incidents(layer=layer, statuses=("mapped", "outside_area"), columns=ANALYSIS_COLUMNS)


def coverage(incidents, bcus, windows):
    """BCU codes with incidents in every period of both windows, and notes about the rest."""
    x, y = xy_of(incidents)
    per = periods(incidents, windows)
    if windows.resolution == "month":
        key = incidents["month"].astype(str).to_numpy()
        want = [month_add(windows.before[0], i) for i in range(windows.before_len)] + \
               [month_add(windows.after[0], i) for i in range(windows.after_len)]
    else:
        key = per.astype(str)
        want = ["0", "1"]
    sel = per >= 0
    x, y, key = x[sel], y[sel], key[sel]   # only the windows' rows are looked up in each BCU
    covered, notes = set(), []
    missing_by_force: dict[str, set] = {}
    for geom, code, name, force in zip(bcus.geometry.values, bcus["code"], bcus["name"], bcus["force"]):
        inside = points_inside(geom, x, y)
        have = set(key[inside])
        lack = [m for m in want if m not in have]
        if not lack:
            covered.add(code)
        else:
            missing_by_force.setdefault(force, set()).update(lack)
    for force, lack in sorted(missing_by_force.items()):
        labs = ", ".join(month_label(m) if windows.resolution == "month" else
                         ("before window" if m == "0" else "after window") for m in sorted(lack))
        notes.append(f"No {force} data for {labs}: its part of the buffer, ring and control is left out "
                     "rather than counted as zero.")
    return covered, notes


def analyse(incidents: gpd.GeoDataFrame, target, *, bcu_code: str, bcus: gpd.GeoDataFrame, windows: Windows,
            operation: dict | None = None, other_targets=(), sites=None, own_force: str | None = None,
            buffer_m: float | None = None, ring_m: float | None = None, control=None,
            control_rule: str | None = None, scale: str = "counts", alpha: float | None = None,
            cell_size: float = 200.0, layer: str = "crime", radius_m: float | None = None, bands=None,
            n_placebos: int = engine.N_PLACEBOS, n_plants: int = N_PLANTS, on_verdict=None) -> DisplacementResult:
    """Results analysis of one operation from loaded incidents (see module docstring).

    Parameters
    ----------
    incidents : GeoDataFrame
        Incidents of one layer on both sides of the force boundary, with ``x``, ``y``,
        ``month``/``date``, ``category``, ``harm``, ``in_basket``.
    target : shapely geometry
        The operation's target (metres).
    bcu_code : str
        The operation's BCU.
    bcus : GeoDataFrame
        All BCUs (all forces) with ``code``, ``name``, ``force``.
    windows : Windows
    operation : dict, optional
        The register record, for the report.
    other_targets : sequence of geometries
    sites : GeoDataFrame, optional
    own_force : str, optional
    buffer_m, ring_m, control, control_rule
        See :func:`study_areas`.
    scale : {"counts", "area", "none"}
    alpha : float, optional
    cell_size : float
        Hot spot grid, metres.
    radius_m, bands : optional
        The displacement catchment (:func:`geo.displacement.areas.catchment`); ``None``:
        rings 0-250, 250-500, 500-1,000 m.
    n_placebos : int
        Placebos drawn to estimate the over-dispersion (:mod:`geo.displacement.null`).
    n_plants : int
        Planted moves behind the verdict's power figure (:func:`geo.displacement.power.planted_power`);
        0 leaves it out.
    on_verdict : callable, optional
        Called with the verdict stage, a :class:`DisplacementResult` whose ``pending`` names
        the supporting sections still to come (``power``, ``cross``, ``migration``,
        ``sensitivity``, ``checks``, ``temporal``: ``None`` until then), as soon as the
        calibrated tests are done; the analysis then goes on to the returned, complete
        result. Nothing is computed twice and no number changes: the verdict stage's
        tests are the complete result's (only the power figure and the synthetic
        comparison's note join the verdict's text later).

    Returns
    -------
    DisplacementResult
        ``summary`` holds the calibrated verdict; ``headline``, ``verdict`` and ``flags``
        are its text.

    Raises
    ------
    GeoInputError
        For an unknown BCU, empty areas, or bad parameters.
    """
    a = stats.check_alpha(alpha)
    op = dict(operation or {})
    hit = bcus[bcus["code"] == bcu_code]
    if hit.empty:
        raise GeoInputError(f"BCU '{bcu_code}' is not in the workspace boundaries",
                            where=f"operation '{op.get('name', '')}'", fix="edit the operation and choose its BCU")
    own_force = own_force or hit["force"].iloc[0]
    covered_codes, coverage_notes = coverage(incidents, bcus, windows)
    if bcu_code not in covered_codes:
        raise GeoInputError(f"The operation's BCU has no incidents in part of the windows ({windows.label('before')}"
                            f" / {windows.label('after')})", where=f"BCU {bcu_code}",
                            fix="choose windows the data covers, or import the missing data")
    covered = shapely.union_all(bcus[bcus["code"].isin(covered_codes)].geometry.values)
    areas = study_areas(target, bcu=hit.geometry.iloc[0], other_targets=other_targets, buffer_m=buffer_m,
                        ring_m=ring_m, control=control, control_rule=control_rule, covered=covered)
    # a note only for forces whose land meets the study zone
    zone_outer = areas.target.buffer(areas.buffer_m + areas.ring_m)
    near_forces = set(bcus[bcus.intersects(zone_outer)]["force"]) | {own_force}
    coverage_notes = [n for n in coverage_notes if any(f"No {f} data" in n for f in near_forces)]
    geoms = {"target": areas.target, "buffer": areas.buffer, "control": areas.control}
    cnt = count_areas(incidents, geoms, windows)
    sizes = {k: v.area for k, v in geoms.items()}
    table = measures(cnt, windows, sizes=sizes, alpha=a, scale=scale)
    per = periods(incidents, windows)
    basket = incidents["in_basket"].to_numpy(bool)
    months = window_months(windows) if windows.resolution == "month" else None
    covered_fm = engine.covered_pairs(incidents)  # once for these windows and the checks' shifted ones
    prep = engine.prepare(incidents, per, tau=windows.time_weights[0], bcus=bcus, own_force=own_force, months=months,
                          covered=covered_fm)
    catch, assessment = engine.run(prep, areas.target, own_bcu=bcu_code, radius_m=radius_m, bands=bands,
                                   other_targets=other_targets, sites=sites, alpha=a, n_placebos=n_placebos)
    types = type_tests(table, phi=assessment.null.phi["target|count"], alpha=a)
    declared = op.get("targeted_harms") or ()
    targeted = targeted_tests(targeted_table(incidents, per, catch, declared, time_weights=windows.time_weights),
                              declared, phi=assessment.null.phi["target|count"], alpha=a)
    cav = caveats(table, windows, areas, layer, pre_trend_note(incidents, areas.target, windows),
                  control_note(table, windows, scale), coverage_notes)
    cav += [n for n in catch.notes if n not in cav]
    dates = "date" in incidents and len(incidents) and \
        incidents["date"].fillna("").astype(str).str.len().ge(10).mean() > 0.9
    pending = tuple(name for name, due in (("power", n_plants), ("cross", True), ("migration", True),
                                           ("sensitivity", True), ("checks", windows.resolution == "month"),
                                           ("temporal", dates)) if due)
    settings = {"buffer_rule": areas.buffer_rule, "control_rule": areas.control_rule, "scale": scale,
                "alpha": a, "cell_size_m": cell_size, "ring_m": areas.ring_m, "buffer_m": areas.buffer_m,
                "catchment_rule": catch.rule}

    def result(summary, assessment, **parts):
        # the targeted harms (declared before the analysis) read with the verdict, then the checks' warnings
        summary = dataclasses.replace(summary, notes=tuple(summary.notes) + tuple(
            n for n in targeted_notes(targeted, alpha=a) + check_notes(parts.get("checks"), harm_status=summary.clauses[0].status) if n not in summary.notes))
        lines = [c.text for c in summary.clauses] + list(summary.notes)
        flags = [c.text for c in summary.clauses if c.topic in ("displacement", "diffusion")
                 and c.status == "evidence"]
        return DisplacementResult(
            operation=op, layer=layer, windows=windows, areas=areas, crs=str(incidents.crs), table=table,
            headline=summary.clauses[0].text, verdict=tuple(lines), caveats=tuple(cav), flags=tuple(flags),
            settings={**settings, "spread_of_placebo_z": summary.spread}, summary=summary, assessment=assessment,
            catchment=catch, types=types, targeted=targeted, **parts)

    if on_verdict is not None:   # the verdict stage: the calibrated tests, before the supporting sections
        on_verdict(result(build_verdict(assessment, catch, table, windows, layer=layer,
                                        power_pending="power" in pending), assessment, cross=None, migration=None,
                          pending=pending))
    cross = cross_boundary(incidents, areas, bcus, windows, own_force=own_force, own_bcu=bcu_code, alpha=a,
                           scale=scale, covered_codes=covered_codes)
    extent = areas.target.buffer(areas.buffer_m + areas.ring_m, quad_segs=16)
    mig = hotspot_migration(incidents[basket & (per == 0)], incidents[basket & (per == 1)], extent=extent,
                            cell_size=cell_size, bcus=bcus, sites=sites, alpha=a,
                            bcu_names=dict(zip(bcus["code"], bcus["name"])), target=areas.target)
    if n_plants:
        pw = planted_power(prep.points, catch, null=assessment.null, alpha=a, sites=sites, n=n_plants)
        assessment = dataclasses.replace(assessment, power=pw, power50=pw.power)
    summary = build_verdict(assessment, catch, table, windows, layer=layer)
    sens = sensitivity(prep.points, catch, null=assessment.null, alpha=a)
    checks = None
    if windows.resolution == "month":
        panel = pre_trend(incidents, catch)
        t = assessment.target
        # the shifted designs reuse this one's placebo cells, and catchments (default reach) by uncovered forces
        catchments = {frozenset(prep.uncovered): catch} if radius_m is None and bands is None else {}
        shift = {"shifted_from": (prep, catchments), "covered": covered_fm}
        checks = {"pre_trend": panel, "pre_fit": pre_period_fit(panel, windows),
                  "seasonal": same_months_a_year_earlier(
                      incidents, areas.target, windows=windows, bcus=bcus, own_bcu=bcu_code, own_force=own_force,
                      alpha=a, other_targets=other_targets, effect={"estimate": t.estimate, "status": t.status},
                      **shift),
                  "placebo_dates": placebo_dates(incidents, areas.target, windows=windows, bcus=bcus, own_bcu=bcu_code,
                                                 own_force=own_force, alpha=a, other_targets=other_targets, **shift),
                  "placebo_type": placebo_type(table, phi=assessment.null.phi["target|count"], alpha=a,
                                               exclude=op.get("targeted_harms") or ())}
        force_geom = shapely.union_all(bcus[bcus["force"] == own_force].geometry.values)
        reach = max((r.outer_m for r in catch.rings), default=1000.0)
        size = float(shapely.hausdorff_distance(areas.target.centroid, areas.target.boundary))
        sc, sc_series = synthetic_comparison(
            incidents, areas.target, windows=windows, force_geom=force_geom, reach_m=reach + size, alpha=a,
            exclude=union_geoms(list(other_targets)) if len(other_targets) else None)
        checks["synthetic"], checks["synthetic_series"] = sc, sc_series
        if sc["status"] != "not available":
            summary = dataclasses.replace(summary, notes=tuple(summary.notes) + (sc["reading"],))
    temporal = None
    if dates:
        from .temporal import temporal_shift
        temporal = temporal_shift(incidents[basket], {"Target": catch.target, "Catchment (rings)": union_geoms(
            [r.geometry for r in catch.rings])}, windows, alpha=a)
    return result(summary, assessment, cross=cross, migration=mig, sensitivity=sens, checks=checks,
                  temporal=temporal)


def analyse_operation(ws, operation, *, before=None, after=None, layer: str | None = None,
                      buffer_m: float | None = None, ring_m: float | None = None, control: str = "bcu",
                      control_units=None, scale: str = "counts", alpha: float | None = None,
                      cell_size: float = 200.0, incidents=None, radius_m: float | None = None,
                      n_placebos: int = engine.N_PLACEBOS, on_verdict=None) -> DisplacementResult:
    """Results analysis of an operation in a workspace's register.

    Parameters
    ----------
    ws : geo.workspace.Workspace
    operation : Operation or str
        The operation or its name.
    before, after : (str, str) or "first:last", optional
        Windows (months ``YYYY-MM`` or days ``YYYY-MM-DD``); default the operation's
        length immediately before and after.
    layer : {"crime", "calls"}, optional
        ``None``: crime if the workspace has it, else calls. Calls with dates use day
        windows, police.uk crime month windows.
    buffer_m, ring_m : float, optional
        See :func:`study_areas`.
    control : {"bcu", "units", "matched"}
        The rest of the BCU (default), the union of `control_units`, or the best-matched
        unit (:func:`matched_control`) among the target's level (wards if a point or
        polygon target).
    control_units : sequence of "level:code", optional
        Units for ``control="units"``.
    incidents : GeoDataFrame, optional
        Already-loaded incidents of `layer` (mapped and outside_area), to skip reading.
    radius_m : float, optional
        Reach of the displacement catchment; ``None``: 1,000 m in three rings.
    n_placebos : int
        Placebos for the over-dispersion.
    on_verdict : callable, optional
        Called with the verdict stage first (see :func:`analyse`).

    Returns
    -------
    DisplacementResult

    Raises
    ------
    GeoInputError
        Unknown operation, windows not covered by the data, unknown control units.
    """
    from ..operations import Operation, target_geometry
    if isinstance(operation, str):
        found = [o for o in ws.operations() if o.name == operation]
        if not found:
            names = ", ".join(o.name for o in ws.operations()) or "(none)"
            raise GeoInputError(f"No operation called '{operation}' in this workspace",
                                fix=f"use one of: {names}")
        operation = found[0]
    op: Operation = operation
    layers = ws.store.layers()
    layer = layer or default_layer(layers) or "crime"
    if layer not in layers:
        raise GeoInputError(f"The workspace has no '{layer}' incidents", fix=f"use one of: {', '.join(layers)}")
    inc = incidents if incidents is not None else analysis_frame(ws, layer)
    has_dates = inc["date"].fillna("").astype(str).str.len().ge(10).mean() > 0.9 if len(inc) else False
    resolution = "day" if layer == "calls" and has_dates else "month"
    if resolution == "month":
        available = sorted(inc["month"].dropna().astype(str).unique())
    else:
        d = inc["date"].dropna().astype(str).str[:10]
        available = (d.min(), d.max())
    w = op_windows(op.start, op.end, resolution=resolution, before=before, after=after, available=available)
    boundaries = ws.boundaries()
    target = target_geometry(op, crs=ws.crs, boundaries=boundaries if op.target_kind == "unit" else None)
    bcus = boundaries[boundaries["level"] == "bcu"]
    areas_ops = ws.operation_areas()
    others = [g for g, oid in zip(areas_ops.geometry.values, areas_ops["op_id"]) if oid != op.op_id]
    ctrl, rule = None, None
    if control == "units":
        if not control_units:
            raise GeoInputError("control='units' needs the units to use",
                                fix="pass control_units=['ward:E05001045', ...]")
        geoms = []
        for spec in control_units:
            level, _, code = str(spec).partition(":")
            hit = boundaries[(boundaries["level"] == level) & (boundaries["code"] == code)]
            if hit.empty:
                raise GeoInputError(f"Control unit '{spec}' is not in the workspace",
                                    fix="give units as level:code, e.g. ward:E05001045")
            geoms.append(hit.geometry.iloc[0])
        ctrl = shapely.union_all(geoms)
        rule = "boundary units chosen by the analyst: " + ", ".join(map(str, control_units))
    elif control == "matched":
        level = op.target_unit.split(":")[0] if op.target_kind == "unit" and op.target_unit else None
        level = level if level in ("ward", "neighbourhood", "lsoa") else (
            "ward" if "ward" in set(boundaries["level"]) else "neighbourhood")
        cand = boundaries[boundaries["level"] == level]
        own = ws.force
        if own and "force" in cand:
            cand = cand[cand["force"].isin([own, None, ""]) | cand["force"].isna()] if cand["force"].notna().any() \
                else cand
        width = buffer_m if buffer_m is not None else equal_area_width(target)
        ctrl, rule = matched_control(inc, target, candidates=cand, exclude=target.buffer(width), windows=w)
    elif control != "bcu":
        raise GeoInputError(f"Unknown control '{control}'", fix="use 'bcu', 'units' or 'matched'")
    return analyse(inc, target, bcu_code=op.bcu, bcus=bcus, windows=w, operation=op.to_dict(),
                   other_targets=others, sites=ws.sites(), own_force=ws.force, buffer_m=buffer_m, ring_m=ring_m,
                   control=ctrl, control_rule=rule, scale=scale, alpha=alpha, cell_size=cell_size, layer=layer,
                   radius_m=radius_m, n_placebos=n_placebos, on_verdict=on_verdict)
