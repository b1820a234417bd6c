"""Study areas of an operation: target, buffer, wider ring, control, and their pieces by BCU and force."""
from __future__ import annotations

import functools
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
           "DEFAULT_BANDS_M", "Ring", "Piece", "Catchment", "catchment", "bands_for", "band_label", "bearing_word", "wedge", "COMPASS",
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




# --------------------------------------------------------------------------- catchment rings
#: Default catchment: distance bands from the target's edge, metres.
DEFAULT_BANDS_M = (0.0, 250.0, 500.0, 1000.0)

COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


def bearing_word(origin, point) -> str:
    """Compass direction (8 points) from `origin` to `point` (shapely points, metres, north up).

    Examples
    --------
    >>> bearing_word(shapely.Point(0, 0), shapely.Point(100, 100))
    'north-east'
    """
    ang = math.degrees(math.atan2(point.x - origin.x, point.y - origin.y)) % 360
    return COMPASS[int((ang + 22.5) // 45) % 8]


def band_label(inner_m: float, outer_m: float) -> str:
    """``0–250 m`` style label of a distance band."""
    return f"{inner_m:,.0f}–{outer_m:,.0f} m"


@dataclass(frozen=True)
class Ring:
    """One distance band around the target (``geometry`` is the ring, other targets removed)."""

    label: str
    inner_m: float
    outer_m: float
    geometry: object


@dataclass(frozen=True)
class Piece:
    """The part of one ring inside one BCU other than the operation's, or inside one other force.

    ``control`` is the rest of that BCU (or force) outside the whole catchment; ``direction``
    is the compass direction from the target's centre to the piece's.
    """

    ring: str
    inner_m: float
    outer_m: float
    level: str
    code: str
    name: str
    force: str
    direction: str
    geometry: object
    control: object


@dataclass(frozen=True)
class Catchment:
    """Where displacement is looked for: distance rings around the target, cut by BCU and force.

    Attributes
    ----------
    target : shapely geometry
    rings : tuple of Ring
        Inner to outer.
    pieces : tuple of Piece
        Rings cut by the BCUs other than the operation's (own force) and by other forces.
    sectors : tuple of Ring
        Each ring cut into eight compass sectors (label e.g. ``250–500 m north-east``): a
        market that moves to one place shows in its sector long before it moves a whole ring.
    control : shapely geometry
        The operation's BCU outside the target and the whole catchment (and other targets).
    outer_m : float
        The catchment's reach from the target's edge, metres.
    rule : str
        How the bands were chosen.
    notes : tuple of str
        What was left out and why (uncovered force-months, other operations' targets).
    """

    target: object
    rings: tuple
    pieces: tuple
    control: object
    outer_m: float
    rule: str
    notes: tuple = ()
    sectors: tuple = ()

    @functools.cached_property
    def zone(self):
        """Target plus the whole catchment (a disc-like area around the target); worked out once."""
        return self.target.buffer(self.outer_m, quad_segs=16)

    @functools.cached_property
    def reach_bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of the control, the zone and every piece's control: no point
        outside it counts in any test of this catchment (worked out once, not per assessment)."""
        minx, miny, maxx, maxy = self.control.union(self.zone).bounds
        for p in self.pieces:
            bx = p.control.bounds
            minx, miny, maxx, maxy = min(minx, bx[0]), min(miny, bx[1]), max(maxx, bx[2]), max(maxy, bx[3])
        return minx, miny, maxx, maxy

    def area_of(self, test):
        """The polygon a ring, sector or piece test of this catchment was made on (matched by its ring,
        direction and code), or ``None`` (a sites test, or no such area)."""
        kind = getattr(test, "kind", None)
        if kind == "ring":
            found = (r for r in self.rings if r.label == test.ring)
        elif kind == "sector":
            found = (r for r in self.sectors if r.label == f"{test.ring} {test.direction}")
        elif kind == "piece":
            found = (p for p in self.pieces if p.ring == test.ring and str(p.code) == str(test.code))
        else:
            return None
        return next((x.geometry for x in found), None)

    def frame(self, crs) -> gpd.GeoDataFrame:
        """Target, rings, pieces and control as one frame: ``kind``, ``name``, ``km2``, ``geometry``."""
        rows = [("target", "Target", self.target)]
        rows += [("ring", f"Ring {r.label}", r.geometry) for r in self.rings]
        rows += [("piece", f"{p.name} {p.ring}", p.geometry) for p in self.pieces]
        rows += [("control", "Control (rest of the BCU)", self.control)]
        return gpd.GeoDataFrame({"kind": [r[0] for r in rows], "name": [r[1] for r in rows],
                                 "km2": [r[2].area / 1e6 for r in rows]},
                                geometry=[r[2] for r in rows], crs=crs)


def bands_for(radius_m: float | None = None, bands=None) -> tuple[tuple[float, ...], str]:
    """The distance bands and a sentence saying how they were chosen.

    ``bands`` wins; else ``radius_m`` gives ``(0, r/4, r/2, r)``; else :data:`DEFAULT_BANDS_M`.

    Examples
    --------
    >>> bands_for(2000)[0]
    (0.0, 500.0, 1000.0, 2000.0)
    """
    if bands is not None:
        b = tuple(float(v) for v in bands)
        if len(b) < 2 or b[0] != 0 or any(q <= p for p, q in zip(b, b[1:])):
            raise GeoInputError(f"Catchment bands must start at 0 and increase, got {bands!r}",
                                fix="give e.g. (0, 250, 500, 1000) metres")
        return b, "distance bands set by the analyst: " + ", ".join(band_label(p, q) for p, q in zip(b, b[1:]))
    if radius_m is not None:
        if not radius_m > 0:
            raise GeoInputError(f"The catchment radius must be positive, got {radius_m}",
                                fix="give a distance in metres, e.g. 1000")
        r = float(radius_m)
        return (0.0, r / 4, r / 2, r), f"rings to {r:,.0f} m from the target's edge (radius set by the analyst)"
    logger.info("catchment set automatically to rings 0-250, 250-500, 500-1,000 m")
    return DEFAULT_BANDS_M, "rings 0–250, 250–500 and 500–1,000 m from the target's edge (default)"


def catchment(target, *, bcus: gpd.GeoDataFrame, own_bcu: str, own_force: str, radius_m: float | None = None,
              bands=None, other_targets=(), uncovered_forces=()) -> Catchment:
    """Distance rings around `target`, each cut by BCU and by force.

    Parameters
    ----------
    target : shapely geometry
        The operation's target (metres).
    bcus : GeoDataFrame
        All BCUs of all forces with ``code``, ``name``, ``force``.
    own_bcu, own_force : str
        The operation's BCU code and force.
    radius_m : float, optional
        Reach of the catchment from the target's edge; ``None``: 1,000 m in three rings.
    bands : sequence of float, optional
        Explicit band edges, starting at 0.
    other_targets : sequence of geometries
        Other operations' targets: left out of the rings and the control.
    uncovered_forces : iterable of str
        Forces without data for some month of the windows: their land is left out of the
        rings and pieces, and a note says so.

    Returns
    -------
    Catchment

    Examples
    --------
    >>> b = gpd.GeoDataFrame({"code": ["A", "B"], "name": ["Alpha", "Bravo"], "force": ["F", "F"]},
    ...                      geometry=[shapely.box(-5000, -5000, 0, 5000), shapely.box(0, -5000, 5000, 5000)])
    >>> c = catchment(shapely.Point(-800, 0).buffer(300), bcus=b, own_bcu="A", own_force="F")
    >>> [(p.name, p.ring, p.direction) for p in c.pieces]
    [('Bravo BCU', '500–1,000 m', 'east')]
    """
    target = shapely.make_valid(target)
    b, rule = bands_for(radius_m, bands)
    hit = bcus[bcus["code"] == own_bcu]
    if hit.empty:
        raise GeoInputError(f"BCU '{own_bcu}' is not in the boundaries", fix="choose the operation's BCU")
    others = union_geoms([shapely.make_valid(g) for g in other_targets])
    others = others.difference(target) if not others.is_empty else others
    uncovered = set(uncovered_forces)
    lost = union_geoms(bcus[bcus["force"].isin(uncovered)].geometry.values) if uncovered else shapely.Polygon()
    notes = []
    outer = target.buffer(b[-1], quad_segs=16)
    if not lost.is_empty and lost.intersects(outer):
        notes.append("No data for " + ", ".join(sorted(f for f in uncovered if f)) + " in part of the windows: "
                     "their part of the catchment is left out rather than counted as zero.")
    if not others.is_empty and others.intersects(outer):
        notes.append("Other operations' targets are left out of the catchment and the control.")
    rings = []
    prev = target
    for lo, hi in zip(b, b[1:]):
        disc = target.buffer(hi, quad_segs=16)
        g = disc.difference(prev)
        prev = disc
        if not others.is_empty:
            g = g.difference(others)
        if not lost.is_empty:
            g = g.difference(lost)
        rings.append(Ring(band_label(lo, hi), lo, hi, g))
    centre = target.centroid
    pieces = []
    near = bcus[bcus.intersects(outer)]
    units = []
    for geom, code, name, force in zip(near.geometry.values, near["code"], near["name"], near["force"]):
        if code == own_bcu or force in uncovered:
            continue
        if force == own_force:
            units.append(("bcu", code, f"{name} BCU", force, geom))
    for force, grp in bcus[(bcus["force"] != own_force) & ~bcus["force"].isin(uncovered)].groupby("force"):
        fgeom = union_geoms(grp.geometry.values)
        if fgeom.intersects(outer):
            units.append(("force", force, str(force), force, fgeom))
    for ring in rings:
        for level, code, name, force, geom in units:
            g = ring.geometry.intersection(geom)
            if g.is_empty or g.area < 100:
                continue
            pieces.append(Piece(ring.label, ring.inner_m, ring.outer_m, level, code, name, force,
                                bearing_word(centre, g.centroid), g, geom.difference(outer)))
    control = hit.geometry.iloc[0].difference(outer)
    if not others.is_empty:
        control = control.difference(others)
    if control.is_empty or control.area <= 0:
        raise GeoInputError("The control (the rest of the BCU) is empty once the catchment is removed",
                            fix="give a smaller catchment radius")
    sectors = []
    for ring in rings:
        for i, word in enumerate(COMPASS):
            g = ring.geometry.intersection(wedge(centre, i, ring.outer_m + 10_000))
            if not g.is_empty and g.area >= 100:
                sectors.append(Ring(f"{ring.label} {word}", ring.inner_m, ring.outer_m, g))
    return Catchment(target, tuple(rings), tuple(pieces), control, float(b[-1]), rule, tuple(notes), tuple(sectors))


def wedge(centre, i: int, reach: float):
    """The compass sector ``i`` (0 north, 1 north-east, ...) of 45° around `centre`, out to `reach` metres."""
    angs = np.radians(np.linspace(i * 45 - 22.5, i * 45 + 22.5, 7))
    pts = [(centre.x, centre.y)] + [(centre.x + reach * math.sin(a), centre.y + reach * math.cos(a)) for a in angs]
    return shapely.Polygon(pts)
