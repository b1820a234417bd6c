"""Study areas of an operation: target, buffer, wider ring, control, and their pieces by BCU and force."""
from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from dataclasses import dataclass

from ..errors import GeoInputError
from .windows import Windows, month_add, periods

logger = logging.getLogger(__name__)

__all__ = ["StudyAreas", "equal_area_width", "study_areas", "matched_control", "cross_units",
           "points_inside", "xy_of", "union_geoms"]


def equal_area_width(target, *, tol: float = 0.005) -> float:
    """Width (m) of the ring around `target` whose area equals the target's.

    For a disc of radius ``r`` this is ``r * (sqrt 2 - 1)``; other shapes are solved by
    bisection on ``area(target.buffer(w)) - area(target) = area(target)``.

    Examples
    --------
    >>> disc = shapely.Point(0, 0).buffer(1000, quad_segs=64)
    >>> round(equal_area_width(disc))
    414
    """
    a = target.area
    if not a > 0:
        raise GeoInputError("The target area has no area", fix="draw a polygon, not a line or point")
    lo, hi = 0.0, math.sqrt(a / math.pi)
    while target.buffer(hi, quad_segs=16).area - a < a:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        ring = target.buffer(mid, quad_segs=16).area - a
        if abs(ring - a) <= tol * a:
            return mid
        lo, hi = (mid, hi) if ring < a else (lo, mid)
    return (lo + hi) / 2


@dataclass(frozen=True)
class StudyAreas:
    """Target, buffer, wider ring and control, all shapely geometries in the analysis CRS.

    Attributes
    ----------
    target, buffer, ring, control : shapely geometry
    buffer_m, ring_m : float
        Widths of the buffer and of the wider ring beyond it, metres.
    buffer_rule, control_rule : str
        Plain-language statement of how each was chosen.
    notes : tuple of str
        What was left out and why.
    """

    target: object
    buffer: object
    ring: object
    control: object
    buffer_m: float
    ring_m: float
    buffer_rule: str
    control_rule: str
    notes: tuple[str, ...] = ()

    def frame(self, crs) -> gpd.GeoDataFrame:
        """The four areas as a GeoDataFrame: ``area``, ``name``, ``km2``, ``geometry``."""
        names = {"target": "Target", "buffer": "Buffer", "ring": "Wider ring", "control": "Control"}
        geoms = [getattr(self, k) for k in names]
        return gpd.GeoDataFrame({"area": list(names), "name": list(names.values()),
                                 "km2": [g.area / 1e6 for g in geoms]},
                                geometry=geoms, crs=crs)

    @property
    def km2(self) -> dict[str, float]:
        return {k: getattr(self, k).area / 1e6 for k in ("target", "buffer", "ring", "control")}


def union_geoms(geoms):
    """Union of the non-empty geometries (an empty polygon if none)."""
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    return shapely.union_all(geoms) if geoms else shapely.Polygon()


def study_areas(target, *, bcu, other_targets=(), buffer_m: float | None = None,
                ring_m: float | None = None, control=None, control_rule: str | None = None,
                covered=None, crs=None) -> StudyAreas:
    """Build the buffer, wider ring and control around a target.

    Parameters
    ----------
    target : shapely Polygon or MultiPolygon
        The operation's target area (metres).
    bcu : shapely geometry
        The operation's BCU; the default control is the BCU outside target and buffer.
    other_targets : sequence of geometries
        Other operations' targets: left out of the buffer, ring and control.
    buffer_m : float, optional
        Buffer width in metres. ``None``: a ring of equal area to the target
        (:func:`equal_area_width`), logged.
    ring_m : float, optional
        Width of the wider ring beyond the buffer, metres; ``None``: twice the buffer
        width.
    control : shapely geometry, optional
        A control area chosen otherwise (units or :func:`matched_control`); target and
        buffer are removed from it.
    control_rule : str, optional
        How `control` was chosen, for the report.
    covered : shapely geometry, optional
        Where the data has incidents in both windows; buffer, ring and control are
        clipped to it (and the clipped parts named in ``notes`` by the caller).

    Returns
    -------
    StudyAreas

    Raises
    ------
    GeoInputError
        If a width is not positive or the control ends up empty.

    Examples
    --------
    >>> sq = shapely.box(0, 0, 1000, 1000)
    >>> a = study_areas(sq, bcu=shapely.box(-5000, -5000, 5000, 5000))
    >>> round(a.buffer.area / sq.area, 2)
    1.0
    """
    target = shapely.make_valid(target)
    if buffer_m is None:
        buffer_m = equal_area_width(target)
        rule = f"a ring of equal area to the target ({buffer_m:,.0f} m wide)"
        logger.info("buffer width set automatically to %s m (equal-area ring)", f"{buffer_m:,.0f}")
    else:
        if not buffer_m > 0:
            raise GeoInputError(f"The buffer width must be positive, got {buffer_m}",
                                fix="give a width in metres, e.g. 400")
        rule = f"a ring {buffer_m:,.0f} m wide (set by the analyst)"
    if ring_m is None:
        ring_m = 2 * buffer_m
    elif not ring_m > 0:
        raise GeoInputError(f"The wider ring width must be positive, got {ring_m}",
                            fix="give a width in metres, e.g. 1000")
    others = union_geoms([shapely.make_valid(g) for g in other_targets])
    others = others.difference(target) if not others.is_empty else others
    inner = target.buffer(buffer_m, quad_segs=16)
    outer = target.buffer(buffer_m + ring_m, quad_segs=16)
    buffer = inner.difference(target)
    ring = outer.difference(inner)
    notes = []
    if not others.is_empty and (others.intersects(buffer) or others.intersects(ring)):
        lost = buffer.intersection(others).area
        notes.append(f"Other operations' targets are left out of the buffer ({lost / 1e6:,.2f} km²) "
                     "and the ring")
        buffer, ring = buffer.difference(others), ring.difference(others)
    if control is None:
        control = bcu.difference(inner)
        control_rule = control_rule or "the rest of the operation's BCU outside target and buffer"
    else:
        control = shapely.make_valid(control).difference(inner)
        control_rule = control_rule or "boundary units chosen by the analyst"
    if not others.is_empty:
        control = control.difference(others)
    if covered is not None:
        buffer, ring, control = (g.intersection(covered) for g in (buffer, ring, control))
    if control.is_empty or control.area <= 0:
        raise GeoInputError("The control area is empty once the target and buffer are removed",
                            fix="choose a control outside the target and buffer, or a narrower buffer")
    return StudyAreas(target, buffer, ring, control, float(buffer_m), float(ring_m), rule,
                      control_rule, tuple(notes))


def points_inside(geom, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Boolean mask of the points ``(x, y)`` inside `geom` (bounding-box prefilter, prepared geometry)."""
    if geom is None or geom.is_empty:
        return np.zeros(len(x), dtype=bool)
    minx, miny, maxx, maxy = geom.bounds
    cand = (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
    out = np.zeros(len(x), dtype=bool)
    if cand.any():
        shapely.prepare(geom)
        out[cand] = shapely.contains_xy(geom, x[cand], y[cand])
    return out


def xy_of(incidents) -> tuple[np.ndarray, np.ndarray]:
    """The ``x``, ``y`` columns (metres) of a frame, or its point coordinates."""
    if "x" in incidents and "y" in incidents:
        return incidents["x"].to_numpy(float), incidents["y"].to_numpy(float)
    g = incidents.geometry.values
    return shapely.get_x(g), shapely.get_y(g)


def matched_control(incidents, target, *, candidates: gpd.GeoDataFrame, exclude, windows: Windows,
                    basket_only: bool = True):
    """Choose the candidate unit whose before-period counts and trend best match the target.

    The before window is cut into up to four equal parts; for the target and each
    candidate unit outside `exclude` the score is
    ``|log((c + 1) / (t + 1))| + |trend_c - trend_t|`` where ``c``, ``t`` are the
    before-window counts and ``trend`` the least-squares slope of the parts relative to
    their mean.

    Parameters
    ----------
    incidents : DataFrame
        Incidents with ``x``, ``y``, ``month``/``date`` and ``in_basket``.
    target : shapely geometry
    candidates : GeoDataFrame
        Units to choose from (e.g. the wards of the force) with ``code`` and ``name``.
    exclude : shapely geometry
        Target plus buffer; candidates touching it are skipped.
    windows : Windows

    Returns
    -------
    (geometry, str)
        The chosen unit and a sentence saying why it was chosen.

    Raises
    ------
    GeoInputError
        If no candidate lies outside `exclude`.
    """
    inc = incidents[incidents["in_basket"]] if basket_only else incidents
    x, y = xy_of(inc)
    per = periods(inc, windows)
    sel = per == 0
    x, y = x[sel], y[sel]
    if windows.resolution == "month":
        key = inc["month"].astype(str).to_numpy()[sel]
        parts = [month_add(windows.before[0], i) for i in range(windows.before_len)]
        part = np.searchsorted(parts, key)
    else:
        d = pd.to_datetime(inc["date"].astype(str).str[:10].to_numpy()[sel]).to_numpy()
        d0 = np.datetime64(windows.before[0])
        k = min(4, windows.before_len)
        part = np.minimum(((d - d0) / np.timedelta64(1, "D") * k / windows.before_len).astype(int), k - 1)
        parts = list(range(k))
    nparts = len(parts)

    def profile(geom):
        inside = points_inside(geom, x, y)
        series = np.bincount(part[inside], minlength=nparts).astype(float)
        total = series.sum()
        if nparts < 2 or total == 0:
            return total, 0.0
        t = np.arange(nparts) - (nparts - 1) / 2
        return total, float((t * series).sum() / (t * t).sum() / series.mean())

    t_tot, t_trend = profile(target)
    best = None
    for geom, code, name in zip(candidates.geometry.values, candidates["code"], candidates["name"]):
        if geom.intersects(exclude):
            continue
        c_tot, c_trend = profile(geom)
        score = abs(math.log((c_tot + 1) / (t_tot + 1))) + abs(c_trend - t_trend)
        if best is None or score < best[0]:
            best = (score, geom, code, name, c_tot, c_trend)
    if best is None:
        raise GeoInputError("No candidate unit lies outside the target and buffer",
                            fix="choose the control units by hand, or use the rest of the BCU")
    _, geom, code, name, c_tot, c_trend = best
    why = (f"matched area {name} ({code}): {c_tot:,.0f} incidents in the before window against "
           f"{t_tot:,.0f} in the target, trend {c_trend:+.0%} against {t_trend:+.0%} per part")
    return geom, why



def cross_units(areas: StudyAreas, bcus: gpd.GeoDataFrame, *, own_force: str | None = None,
                covered_codes=None) -> list[tuple]:
    """Pieces of the buffer + wider ring by BCU and by other force, with their own controls.

    Returns
    -------
    list of (level, code, name, force, piece, control)
        ``control`` is the rest of the piece's BCU (or force: its BCUs with data) outside
        target + buffer + ring.
    """
    zone_outer = areas.target.buffer(areas.buffer_m + areas.ring_m, quad_segs=16)
    zone = union_geoms([areas.buffer, areas.ring])
    units = []
    for geom, code, name, force in zip(bcus.geometry.values, bcus["code"], bcus["name"], bcus["force"]):
        if not geom.intersects(zone_outer):
            continue
        piece = geom.intersection(zone)
        if piece.is_empty or piece.area < 1:
            continue
        units.append(("bcu", code, name, force, piece, geom.difference(zone_outer)))
    if own_force:
        for force, grp in bcus[bcus["force"] != own_force].groupby("force"):
            if covered_codes is not None:
                grp = grp[grp["code"].isin(covered_codes)]
            if grp.empty:
                continue
            fgeom = shapely.union_all(grp.geometry.values)
            piece = fgeom.intersection(zone)
            if piece.is_empty or piece.area < 1:
                continue
            units.append(("force", force, force, force, piece, fgeom.difference(zone_outer)))
    return units


