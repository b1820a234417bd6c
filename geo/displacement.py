"""Results analysis of an operation: did harm fall in the target, and where did the market go?

The analysis has four parts, each a plain function over plain inputs, tied together by
:func:`analyse` (incidents already loaded) and :func:`analyse_operation` (a workspace):

1. **Windows** (:func:`op_windows`): before and after periods of the same length as the
   operation, immediately before its start and after its end (months for police.uk
   crime, days for timestamped calls), or set by the user; unequal windows become time
   weights. A window the data does not cover raises :class:`GeoInputError`.
2. **Areas** (:func:`study_areas`): the target; a buffer ring (by default of equal area to
   the target) that leaves out other operations' targets; a wider ring around the buffer;
   and a control area (by default the rest of the operation's BCU outside target and
   buffer; or boundary units the analyst picks; or a matched area,
   :func:`matched_control`). Parts of a ring in a force with no data for the windows are
   left out and said so.
3. **Measures** (:func:`measures`): for counts and harm, per crime type and for the
   drug-market harm basket: gross change, net effect, the WDQ (Bowers & Johnson 2003) with
   its reading, the WDD test (Wheeler & Ratcliffe 2018) for the local, displacement and
   total effects, a harm-weighted combination across crime types, and the Poisson E-test
   for small counts. All tests come from :mod:`geo.stats`.
4. **Where it went**: the buffer and the wider ring cut by BCU and by force, each piece
   tested against the rest of its own BCU or force (:func:`cross_boundary`), and hot spots
   before and after matched into moves (:func:`hotspot_migration`), flagging moves that
   cross a BCU or force boundary and new or growing hot spots near sensitive sites.

How the control is scaled
-------------------------
The default control (the rest of the BCU) is much larger than the target. The WDD is
computed with ``ptools``-style area weights in which the "size" of each control is its
before-period count relative to the area it controls for (``scale="counts"``): the
control's change is applied to the target's own level, as the WDQ does with its ratios.
The local effect is then ``(T1 - T0) - (C1 - C0) * T0 / C0`` crimes, with Poisson
variance ``T1 + T0 + (C1 + C0) * (T0 / C0)**2``. ``scale="area"`` uses km² instead (crime
per km², which is biased when the target is denser than the control and crime rises or
falls everywhere) and ``scale="none"`` the raw counts of Wheeler & Ratcliffe's worked
example (right for a matched control of similar size). Estimates are expressed in
crimes (or harm) over the after window.

References
----------
Bowers & Johnson (2003), J. Quant. Criminol. 19(3); Guerette (2009), POP Guide tools 10;
Wheeler & Ratcliffe (2018), Crime Science 7(11); Krishnamoorthy & Thomson (2004).
"""
from __future__ import annotations

import calendar
import datetime as dt
import logging
import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import stats
from .errors import GeoInputError
from .settings import settings

logger = logging.getLogger(__name__)

__all__ = [
    "Windows", "StudyAreas", "Migration", "DisplacementResult",
    "op_windows", "equal_area_width", "study_areas", "matched_control", "count_areas",
    "measures", "cross_boundary", "hotspots_of", "match_hotspots", "hotspot_migration",
    "analyse", "analyse_operation", "scaled_wdd", "holm",
]

BASKET = "Drug-market harm basket"
ALL = "All incidents"
SMALL_COUNT = 20
SCALES = ("counts", "area", "none")


# =========================================================================== windows
def _month_add(month: str, k: int) -> str:
    y, m = int(month[:4]), int(month[5:7])
    i = y * 12 + (m - 1) + k
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def _month_span(m0: str, m1: str) -> int:
    return (int(m1[:4]) * 12 + int(m1[5:7])) - (int(m0[:4]) * 12 + int(m0[5:7])) + 1


def _month_label(m: str) -> str:
    return dt.date(int(m[:4]), int(m[5:7]), 1).strftime("%b %Y")


@dataclass(frozen=True)
class Windows:
    """Before and after windows of an operation.

    Attributes
    ----------
    resolution : {"month", "day"}
    before, after : (str, str)
        First and last period of each window, inclusive: ``YYYY-MM`` for months,
        ``YYYY-MM-DD`` for days.
    before_len, after_len : int
        Lengths in months or days.
    operation : (str, str)
        The operation's own span at the same resolution.
    """

    resolution: str
    before: tuple[str, str]
    after: tuple[str, str]
    before_len: int
    after_len: int
    operation: tuple[str, str]

    @property
    def time_weights(self) -> tuple[float, float]:
        """``(before_len / after_len, 1)``: results are per after window (:func:`stats.wdd`)."""
        return (self.before_len / self.after_len, 1.0)

    @property
    def unit(self) -> str:
        return self.resolution + ("s" if self.after_len != 1 else "")

    def label(self, which: str) -> str:
        a, b = getattr(self, which)
        if self.resolution == "month":
            return _month_label(a) if a == b else f"{_month_label(a)} – {_month_label(b)}"
        fa, fb = (dt.date.fromisoformat(v).strftime("%-d %b %Y") for v in (a, b))
        return fa if a == b else f"{fa} – {fb}"


def _parse_window(value, resolution: str, name: str) -> tuple[str, str]:
    if isinstance(value, str):
        parts = value.replace("..", ":").split(":") if ":" in value or ".." in value else [value, value]
    else:
        parts = list(value)
    if len(parts) != 2:
        raise GeoInputError(f"`{name}` must be a (first, last) pair, got {value!r}",
                            fix=f"give e.g. {name}=('2024-01', '2024-02') or '2024-01:2024-02'")
    a, b = (str(p).strip() for p in parts)
    try:
        if resolution == "month":
            a, b = a[:7], b[:7]
            dt.date.fromisoformat(a + "-01"), dt.date.fromisoformat(b + "-01")
        else:
            if len(a) == 7:
                a = a + "-01"
            if len(b) == 7:
                y, m = int(b[:4]), int(b[5:7])
                b = f"{b}-{calendar.monthrange(y, m)[1]:02d}"
            dt.date.fromisoformat(a), dt.date.fromisoformat(b)
    except ValueError:
        raise GeoInputError(f"`{name}` window {value!r} is not a pair of dates",
                            fix="use YYYY-MM for months or YYYY-MM-DD for days") from None
    if b < a:
        raise GeoInputError(f"`{name}` window ends ({b}) before it starts ({a})",
                            fix="give the first period, then the last")
    return a, b


def op_windows(start, end, *, resolution: str = "month", before=None, after=None,
               available=None) -> Windows:
    """Before and after windows for an operation running from `start` to `end`.

    Parameters
    ----------
    start, end : str or datetime.date
        The operation's first and last day (ISO dates).
    resolution : {"month", "day"}
        ``"month"`` for police.uk crime (months are the smallest period), ``"day"`` for
        timestamped calls.
    before, after : (str, str) or "first:last", optional
        Windows set by the user; ``None`` gives a window of the operation's length
        immediately before its start (after its end).
    available : sequence of str or (str, str), optional
        Months present in the data (``"month"``) or the first and last day (``"day"``).
        A window outside it raises.

    Returns
    -------
    Windows

    Raises
    ------
    GeoInputError
        If a window is malformed, overlaps the operation, or is not covered by the data.

    Examples
    --------
    A one-month operation in March 2024 is compared with February and April:

    >>> w = op_windows("2024-03-01", "2024-03-31")
    >>> w.before, w.after, w.time_weights
    (('2024-02', '2024-02'), ('2024-04', '2024-04'), (1.0, 1.0))
    >>> op_windows("2024-03-04", "2024-03-10", resolution="day").after
    ('2024-03-11', '2024-03-17')
    """
    if resolution not in ("month", "day"):
        raise GeoInputError(f"resolution must be 'month' or 'day', got {resolution!r}",
                            fix="use 'month' for police.uk crime and 'day' for calls with dates")
    s, e = (dt.date.fromisoformat(str(v)[:10]) for v in (start, end))
    if e < s:
        raise GeoInputError(f"The operation ends ({e}) before it starts ({s})",
                            fix="correct the operation's dates in the register")
    if resolution == "month":
        o0, o1 = s.isoformat()[:7], e.isoformat()[:7]
        n = _month_span(o0, o1)
        b = _parse_window(before, "month", "before") if before is not None else (
            _month_add(o0, -n), _month_add(o0, -1))
        a = _parse_window(after, "month", "after") if after is not None else (
            _month_add(o1, 1), _month_add(o1, n))
        bl, al = _month_span(*b), _month_span(*a)
    else:
        o0, o1 = s.isoformat(), e.isoformat()
        n = (e - s).days + 1
        b = _parse_window(before, "day", "before") if before is not None else (
            (s - dt.timedelta(days=n)).isoformat(), (s - dt.timedelta(days=1)).isoformat())
        a = _parse_window(after, "day", "after") if after is not None else (
            (e + dt.timedelta(days=1)).isoformat(), (e + dt.timedelta(days=n)).isoformat())
        bl = (dt.date.fromisoformat(b[1]) - dt.date.fromisoformat(b[0])).days + 1
        al = (dt.date.fromisoformat(a[1]) - dt.date.fromisoformat(a[0])).days + 1
    if b[1] >= o0 or a[0] <= o1:
        raise GeoInputError(
            f"The windows overlap the operation ({o0} to {o1}): before {b[0]}–{b[1]}, "
            f"after {a[0]}–{a[1]}",
            fix="end the before window before the operation starts and start the after "
                "window after it ends")
    w = Windows(resolution, b, a, bl, al, (o0, o1))
    if available is not None:
        _check_coverage(w, available)
    return w


def _check_coverage(w: Windows, available) -> None:
    if w.resolution == "month":
        have = sorted(set(available))
        if not have:
            raise GeoInputError("The layer has no incidents", fix="import data first")
        for which in ("before", "after"):
            a, b = getattr(w, which)
            want = [_month_add(a, i) for i in range(_month_span(a, b))]
            missing = [m for m in want if m not in have]
            if missing:
                raise GeoInputError(
                    f"The {which} window ({w.label(which)}) is not covered by the data: "
                    f"{', '.join(_month_label(m) for m in missing)} missing; the data runs "
                    f"{_month_label(have[0])} – {_month_label(have[-1])}",
                    fix=f"set the {which} window inside the data (e.g. --{which} "
                        f"{have[0] if which == 'before' else have[-1]}), or import the "
                        "missing months")
    else:
        lo, hi = (str(v)[:10] for v in available)
        for which in ("before", "after"):
            a, b = getattr(w, which)
            if a < lo or b > hi:
                raise GeoInputError(
                    f"The {which} window ({w.label(which)}) is not covered by the data, "
                    f"which runs {lo} to {hi}",
                    fix=f"set the {which} window inside the data, or import the missing days")


def _periods(incidents: pd.DataFrame, w: Windows) -> np.ndarray:
    """0 for rows in the before window, 1 in the after window, -1 otherwise."""
    if w.resolution == "month":
        key = incidents["month"].astype(str).to_numpy()
    else:
        key = incidents["date"].fillna("").astype(str).str[:10].to_numpy()
    out = np.full(len(incidents), -1, dtype=np.int8)
    out[(key >= w.before[0]) & (key <= w.before[1])] = 0
    out[(key >= w.after[0]) & (key <= w.after[1])] = 1
    return out


# =========================================================================== areas
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


def _union(geoms):
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
    others = _union([shapely.make_valid(g) for g in other_targets])
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


def _inside(geom, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if geom is None or geom.is_empty:
        return np.zeros(len(x), dtype=bool)
    minx, miny, maxx, maxy = geom.bounds
    cand = (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
    out = np.zeros(len(x), dtype=bool)
    if cand.any():
        shapely.prepare(geom)
        out[cand] = shapely.contains_xy(geom, x[cand], y[cand])
    return out


def _xy(incidents) -> tuple[np.ndarray, np.ndarray]:
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
    x, y = _xy(inc)
    per = _periods(inc, windows)
    sel = per == 0
    x, y = x[sel], y[sel]
    if windows.resolution == "month":
        key = inc["month"].astype(str).to_numpy()[sel]
        parts = [_month_add(windows.before[0], i) for i in range(windows.before_len)]
        part = np.searchsorted(parts, key)
    else:
        d = pd.to_datetime(inc["date"].astype(str).str[:10].to_numpy()[sel]).to_numpy()
        d0 = np.datetime64(windows.before[0])
        k = min(4, windows.before_len)
        part = np.minimum(((d - d0) / np.timedelta64(1, "D") * k / windows.before_len).astype(int), k - 1)
        parts = list(range(k))
    nparts = len(parts)

    def profile(geom):
        inside = _inside(geom, x, y)
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


# =========================================================================== counting
def count_areas(incidents: pd.DataFrame, areas: dict, windows: Windows):
    """Count incidents and harm per area, period and category.

    Parameters
    ----------
    incidents : DataFrame
        With ``x``, ``y`` (metres), ``category``, ``harm`` (weight per row),
        ``in_basket`` and ``month`` or ``date``.
    areas : dict of name -> shapely geometry
    windows : Windows

    Returns
    -------
    dict
        ``categories`` (list), ``weights`` (harm weight per category), ``n`` and
        ``basket`` (arrays ``[area, period, category]`` of all rows and of basket rows),
        ``areas`` (names, in order).
    """
    per = _periods(incidents, windows)
    keep = per >= 0
    inc = incidents[keep]
    per = per[keep]
    x, y = _xy(inc)
    cats = sorted(incidents["category"].dropna().astype(str).unique())
    cat_index = {c: i for i, c in enumerate(cats)}
    ci = inc["category"].astype(str).map(cat_index).fillna(-1).to_numpy(int)
    weights = (incidents.groupby("category")["harm"].first().reindex(cats).fillna(1.0).to_numpy(float)
               if len(incidents) else np.ones(len(cats)))
    basket = inc["in_basket"].to_numpy(bool)
    names = list(areas)
    n = np.zeros((len(names), 2, len(cats)))
    nb = np.zeros((len(names), 2, len(cats)))
    for i, name in enumerate(names):
        inside = _inside(areas[name], x, y) & (ci >= 0)
        flat = per[inside] * len(cats) + ci[inside]
        n[i] = np.bincount(flat, minlength=2 * len(cats)).reshape(2, len(cats))
        flat_b = per[inside & basket] * len(cats) + ci[inside & basket]
        nb[i] = np.bincount(flat_b, minlength=2 * len(cats)).reshape(2, len(cats))
    return {"categories": cats, "weights": weights, "n": n, "basket": nb, "areas": names}


# =========================================================================== tests
def holm(p) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values (family-wise error rate).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    adj = np.maximum.accumulate(np.minimum((m - np.arange(m)) * p[order], 1.0))
    out = np.empty(m)
    out[order] = adj
    return out


def _scale_weight(c0: float, t0: float, a_c: float, a_t: float, scale: str) -> float:
    """The control's 'size' relative to the area it controls for (ptools area weight)."""
    if scale == "none":
        return 1.0
    if scale == "counts" and c0 > 0 and t0 > 0:
        return c0 / t0
    if a_c > 0 and a_t > 0:
        return a_c / a_t
    return 1.0


def scaled_wdd(control, treated, *, time_weights=(1.0, 1.0), sizes=(1.0, 1.0), scale: str = "counts",
               alpha: float | None = None) -> stats.WDDResult | None:
    """The local WDD of `treated` against a (possibly much larger) `control`.

    Calls :func:`geo.stats.wdd` with ``area_weights=(k, 1, 1, 1)`` where ``k`` is the
    control's size relative to the treated area: its before-period count over the
    treated area's (``scale="counts"``, falling back to km² when either is 0), the ratio
    of km² (``"area"``) or 1 (``"none"``). The estimate is then in crimes of the treated
    area over the after window. Returns ``None`` when every count is 0.

    Examples
    --------
    A flat control ten times the size: the local effect is the target's own change.

    >>> r = scaled_wdd((1000, 1000), (100, 80))
    >>> r.estimate, round(r.se ** 2, 2)
    (-20.0, 200.0)
    """
    if scale not in SCALES:
        raise GeoInputError(f"scale must be one of {SCALES}, got {scale!r}",
                            fix="use scale='counts' (default), 'area' or 'none'")
    k = _scale_weight(control[0], treated[0], sizes[0], sizes[1], scale)
    try:
        return stats.wdd(control, treated, time_weights=time_weights, area_weights=(k, 1, 1, 1),
                         alpha=alpha)
    except GeoInputError:
        return None


def _nan_part():
    return {"est": np.nan, "se": np.nan}


def _wdd_three(c, t, b, dc, tw, sizes, scale, alpha):
    """Local, displacement and total WDD parts: dicts of est and se (count units)."""
    a_c, a_t, a_b, a_dc = sizes
    if dc is None:   # one control for target and buffer: test target, buffer, both
        loc = scaled_wdd(c, t, time_weights=tw, sizes=(a_c, a_t), scale=scale, alpha=alpha)
        dis = scaled_wdd(c, b, time_weights=tw, sizes=(a_c, a_b), scale=scale, alpha=alpha)
        tot = scaled_wdd(c, (t[0] + b[0], t[1] + b[1]), time_weights=tw, sizes=(a_c, a_t + a_b),
                         scale=scale, alpha=alpha)
        parts = []
        for r in (loc, dis, tot):
            parts.append(_nan_part() if r is None else {"est": r.local_estimate, "se": r.local_se})
        return parts
    k_c = _scale_weight(c[0], t[0], a_c, a_t, scale)
    k_d = _scale_weight(dc[0], b[0], a_dc, a_b, scale)
    try:
        r = stats.wdd(c, t, dc, b, time_weights=tw, area_weights=(k_c, 1, k_d, 1), alpha=alpha)
    except GeoInputError:
        return [_nan_part(), _nan_part(), _nan_part()]
    return [{"est": r.local_estimate, "se": r.local_se},
            {"est": r.displacement_estimate, "se": r.displacement_se},
            {"est": r.estimate, "se": r.se}]


def _summ(est, se, alpha):
    if not (np.isfinite(est) and np.isfinite(se)) or se <= 0:
        return {"estimate": est, "se": se, "z": np.nan, "p": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    from scipy.stats import norm
    z = est / se
    q = norm.ppf(1 - alpha / 2)
    return {"estimate": est, "se": se, "z": z, "p": float(2 * norm.sf(abs(z))),
            "ci_low": est - q * se, "ci_high": est + q * se}


def _pair_of(arr, ai, cat_sel):
    return (float(arr[ai, 0, cat_sel].sum()), float(arr[ai, 1, cat_sel].sum()))


def measures(counts: dict, windows: Windows, *, sizes: dict, alpha: float | None = None,
             scale: str = "counts", disp_control: str | None = None,
             enforcement: str = settings.enforcement_category) -> pd.DataFrame:
    """Gross change, net effect, WDQ, WDD and E-tests, for counts and for harm.

    Parameters
    ----------
    counts : dict
        Output of :func:`count_areas` with areas ``target``, ``buffer``, ``control`` (and
        `disp_control` if given).
    windows : Windows
        Gives the time weights.
    sizes : dict of area name -> km²
    alpha : float, optional
        ``None``: ``settings.alpha``.
    scale : {"counts", "area", "none"}
        How the control is scaled to the target (module docstring).
    disp_control : str, optional
        Name of a separate control for the buffer; ``None`` uses the control for both
        (Bowers & Johnson's design).

    Returns
    -------
    pandas.DataFrame
        One row per ``measure`` and ``unit`` (``"count"`` or ``"harm"``): the drug-market
        harm basket (harm, then count), all incidents, the enforcement count (drug
        offences), then each category. Columns: ``measure``, ``unit``, ``basket``
        (bool), ``target_before``, ``target_after``, ``buffer_before``, ``buffer_after``,
        ``control_before``, ``control_after``, ``gross_change`` (after - before in the
        target, per after window), ``net_effect``, ``success_measure``,
        ``buffer_displacement_measure``, ``wdq``, ``total_net_effect``, ``wdq_reading``,
        ``wdq_interpretable``, then for ``local``, ``displacement`` and ``total``:
        ``<part>_estimate``, ``_se``, ``_z``, ``_p``, ``_ci_low``, ``_ci_high``; then
        ``etest_p`` (target after vs before, Poisson E-test with the window lengths as
        exposures) and ``etest_rel_p`` (target's share of target + control after vs
        before: E-test with the control counts as exposures), ``small_counts`` (bool).
    """
    a = stats._alpha(alpha)
    names = counts["areas"]
    ti, bi, ci = names.index("target"), names.index("buffer"), names.index("control")
    di = names.index(disp_control) if disp_control else None
    cats = counts["categories"]
    w = counts["weights"]
    tw = windows.time_weights
    sz = (sizes["control"], sizes["target"], sizes["buffer"], sizes.get(disp_control, 1.0))
    rows = []

    def one(arr, sel):
        c, t, b = _pair_of(arr, ci, sel), _pair_of(arr, ti, sel), _pair_of(arr, bi, sel)
        dc = _pair_of(arr, di, sel) if di is not None else None
        return c, t, b, dc

    def base_row(measure, unit, basket, c, t, b, dc, mult=1.0):
        tau = tw[0]
        row = {"measure": measure, "unit": unit, "basket": basket,
               "target_before": t[0] * mult, "target_after": t[1] * mult,
               "buffer_before": b[0] * mult, "buffer_after": b[1] * mult,
               "control_before": c[0] * mult, "control_after": c[1] * mult,
               "gross_change": (t[1] - t[0] / tau) * mult}
        try:
            q = stats.wdq((c[0] / tau, c[1]), (t[0] / tau, t[1]),
                          None if dc is None else (dc[0] / tau, dc[1]), (b[0] / tau, b[1]))
            row.update(net_effect=q.net_effect, success_measure=q.success_measure,
                       buffer_displacement_measure=q.buffer_displacement_measure, wdq=q.wdq,
                       total_net_effect=q.total_net_effect * mult, wdq_reading=q.interpretation,
                       wdq_interpretable=q.interpretable)
        except GeoInputError as err:
            row.update(net_effect=np.nan, success_measure=np.nan, buffer_displacement_measure=np.nan,
                       wdq=np.nan, total_net_effect=np.nan, wdq_reading=f"not computed: {err.what}",
                       wdq_interpretable=False)
        return row

    def add_tests(row, parts, c, t, counts_ok=True):
        for name, part in zip(("local", "displacement", "total"), parts):
            for k, v in _summ(part["est"], part["se"], a).items():
                row[f"{name}_{k}"] = v
        if counts_ok and (t[0] + t[1]) > 0:
            row["etest_p"] = stats.e_test(t[1], t[0], windows.after_len, windows.before_len).pvalue
            row["etest_rel_p"] = (stats.e_test(t[1], t[0], c[1], c[0]).pvalue
                                  if c[0] > 0 and c[1] > 0 else np.nan)
        else:
            row["etest_p"] = row["etest_rel_p"] = np.nan
        row["small_counts"] = bool(min(t) < SMALL_COUNT)
        return row

    def combined(measure, arr, sel_idx, basket):
        """Harm-weighted combination of per-category WDDs (as ptools::wdd_harm)."""
        est = np.zeros(3)
        var = np.zeros(3)
        for j in sel_idx:
            c, t, b, dc = one(arr, [j])
            if sum(c) + sum(t) + sum(b) == 0:
                continue
            parts = _wdd_three(c, t, b, dc, tw, sz, scale, a)
            for k, part in enumerate(parts):
                if np.isfinite(part["est"]):
                    est[k] += w[j] * part["est"]
                    var[k] += (w[j] * part["se"]) ** 2
        hw = lambda s: (float((arr[s[0], s[1], sel_idx] * w[sel_idx]).sum()))  # noqa: E731
        c = (hw((ci, 0)), hw((ci, 1)))
        t = (hw((ti, 0)), hw((ti, 1)))
        b = (hw((bi, 0)), hw((bi, 1)))
        dc = (hw((di, 0)), hw((di, 1))) if di is not None else None
        row = base_row(measure, "harm", basket, c, t, b, dc)
        parts = [{"est": est[k], "se": math.sqrt(var[k]) if var[k] > 0 else np.nan} for k in range(3)]
        return add_tests(row, parts, c, t, counts_ok=False)

    def counted(measure, arr, sel_idx, basket, unit="count", mult=1.0):
        c, t, b, dc = one(arr, sel_idx)
        row = base_row(measure, unit, basket, c, t, b, dc, mult)
        parts = _wdd_three(c, t, b, dc, tw, sz, scale, a)
        if mult != 1.0:
            parts = [{"est": p["est"] * mult, "se": p["se"] * mult} for p in parts]
        return add_tests(row, parts, c, t)

    idx_all = np.arange(len(cats))
    non_enf = np.array([j for j, cname in enumerate(cats) if cname != enforcement], dtype=int)
    basket_cats = np.array([j for j in idx_all if counts["basket"][:, :, j].sum() > 0], dtype=int)
    rows.append(combined(BASKET, counts["basket"], basket_cats, True))
    rows.append(counted(BASKET, counts["basket"], idx_all, True))
    rows.append(combined(ALL + " (excluding drug offences)", counts["n"], non_enf, False))
    rows.append(counted(ALL, counts["n"], idx_all, False))
    if enforcement in cats:
        j = cats.index(enforcement)
        rows.append(counted(f"{enforcement} (enforcement activity, not harm)", counts["n"], [j], False))
    for j, cname in enumerate(cats):
        if cname == enforcement or counts["n"][:, :, j].sum() == 0:
            continue
        in_b = bool(counts["basket"][:, :, j].sum() > 0)
        rows.append(counted(cname, counts["n"], [j], in_b, unit="harm", mult=float(w[j])))
        rows.append(counted(cname, counts["n"], [j], in_b))
    return pd.DataFrame(rows)


# =========================================================================== cross-boundary
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
    zone = _union([areas.buffer, areas.ring])
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


def wdd_arrays(control_before, control_after, treated_before, treated_after, *, tau: float = 1.0,
               size_ratio=None):
    """Vectorised :func:`scaled_wdd` (``scale="counts"``) over arrays of counts.

    Returns ``(estimate, se)`` arrays; ``se`` is 0 where every count is 0. Used by the
    simulations in :mod:`geo.scenarios`; a test checks it equals :func:`scaled_wdd`.
    """
    c0, c1, t0, t1 = (np.asarray(v, dtype=float) for v in
                      (control_before, control_after, treated_before, treated_after))
    fallback = np.ones_like(c0) if size_ratio is None else np.broadcast_to(np.asarray(size_ratio, float), c0.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where((c0 > 0) & (t0 > 0), c0 / np.where(t0 > 0, t0, 1), fallback)
    est = (t1 - t0 / tau) - (c1 - c0 / tau) / k
    var = t1 + t0 / tau ** 2 + (c1 + c0 / tau ** 2) / k ** 2
    return est, np.sqrt(var)


def cross_boundary(incidents: pd.DataFrame, areas: StudyAreas, bcus: gpd.GeoDataFrame, windows: Windows, *,
                   own_force: str | None = None, own_bcu: str | None = None, alpha: float | None = None,
                   scale: str = "counts", covered_codes=None) -> gpd.GeoDataFrame:
    """Cut the buffer and the wider ring by BCU and by force and test each piece.

    Each piece (the part of the buffer plus wider ring inside one BCU, or inside one other
    force) is compared with the rest of its own BCU or force outside the whole study zone
    (target + buffer + ring): the local WDD (:func:`scaled_wdd`) of drug-market basket
    counts, plus the harm-weighted estimate. p-values are Holm-adjusted over all pieces;
    a piece where basket crime rose with adjusted p below alpha is flagged
    ``"possible displacement into <name>"``.

    Parameters
    ----------
    incidents : DataFrame
        Both sides of the boundary (``statuses=("mapped", "outside_area")``).
    areas : StudyAreas
    bcus : GeoDataFrame
        All BCUs (all forces) with ``code``, ``name``, ``force``.
    windows : Windows
    own_force : str, optional
        The workspace's force: its BCUs are pieces at ``bcu`` level; every other force is
        also a piece at ``force`` level.
    own_bcu : str, optional
        The operation's BCU (``own`` column; its piece is read as the surrounding area).
    covered_codes : set of str, optional
        BCUs with data in both windows; others are listed with ``status`` "no data".

    Returns
    -------
    geopandas.GeoDataFrame
        ``level`` ("bcu"/"force"), ``code``, ``name``, ``force``, ``own`` (the
        operation's BCU), ``status`` ("tested"/"no data"), ``km2``,
        ``before``, ``after`` (basket counts in the piece), ``control_before``,
        ``control_after``, ``estimate``, ``se``, ``z``, ``p``, ``p_holm``,
        ``harm_estimate``, ``flag`` (bool), ``reading`` (text), ``geometry`` (the piece).
    """
    a = stats._alpha(alpha)
    units = cross_units(areas, bcus, own_force=own_force, covered_codes=covered_codes)
    cols = ["level", "code", "name", "force", "own", "status", "km2", "before", "after", "control_before",
            "control_after", "estimate", "se", "z", "p", "p_holm", "harm_estimate", "flag", "reading"]
    if not units:
        return gpd.GeoDataFrame(columns=cols, geometry=[], crs=getattr(bcus, "crs", None))
    area_map = {}
    for i, u in enumerate(units):
        area_map[f"p{i}"] = u[4]
        area_map[f"c{i}"] = u[5]
    cnt = count_areas(incidents, area_map, windows)
    nb, w = cnt["basket"], cnt["weights"]
    names = cnt["areas"]
    tw = windows.time_weights
    rows, geoms = [], []
    for i, (level, code, name, force, piece, ctrl) in enumerate(units):
        pi, ci = names.index(f"p{i}"), names.index(f"c{i}")
        t = (float(nb[pi, 0].sum()), float(nb[pi, 1].sum()))
        c = (float(nb[ci, 0].sum()), float(nb[ci, 1].sum()))
        no_data = covered_codes is not None and level == "bcu" and code not in covered_codes
        r = None if no_data else scaled_wdd(c, t, time_weights=tw, sizes=(ctrl.area, piece.area),
                                            scale=scale, alpha=a)
        harm = 0.0
        if r is not None:
            for j in range(len(w)):
                tj = (float(nb[pi, 0, j]), float(nb[pi, 1, j]))
                cj = (float(nb[ci, 0, j]), float(nb[ci, 1, j]))
                rj = scaled_wdd(cj, tj, time_weights=tw, sizes=(ctrl.area, piece.area), scale=scale, alpha=a)
                if rj is not None:
                    harm += w[j] * rj.local_estimate
        rows.append({
            "level": level, "code": code, "name": name, "force": force,
            "own": level == "bcu" and code == own_bcu, "status": "no data" if no_data else ("tested" if r is not None else "no incidents"),
            "km2": piece.area / 1e6, "before": t[0], "after": t[1], "control_before": c[0],
            "control_after": c[1], "estimate": r.local_estimate if r else np.nan,
            "se": r.local_se if r else np.nan, "z": r.z if r else np.nan, "p": r.pvalue if r else np.nan,
            "harm_estimate": harm if r else np.nan,
        })
        geoms.append(piece)
    out = gpd.GeoDataFrame(rows, geometry=geoms, crs=getattr(bcus, "crs", None))
    tested = out["p"].notna().to_numpy()
    out["p_holm"] = np.nan
    if tested.any():
        out.loc[tested, "p_holm"] = holm(out.loc[tested, "p"].to_numpy())
    out["flag"] = (out["p_holm"] < a) & (out["estimate"] > 0)
    out["reading"] = [
        (f"possible displacement into the surrounding part of {n} (the operation's own BCU)" if own else
         f"possible displacement into {n}" + (f" ({f})" if lv == "bcu" and f != own_force else ""))
        if fl else ("no data for these windows" if st == "no data" else
                    "rise, not significant" if e > 0 else "no rise" if np.isfinite(e) else "no incidents")
        for n, f, lv, fl, st, e, own in zip(out["name"], out["force"], out["level"], out["flag"], out["status"],
                                            out["estimate"], out["own"])]
    return out[cols + ["geometry"]]


# =========================================================================== hot spot migration
HOTSPOT_COLUMNS = ("hotspot_id", "n", "cells", "x", "y", "bcu", "force", "geometry")


def hotspots_of(points, *, grid=None, cell_size: float = 200.0, area=None, alpha: float | None = None,
                bcus: gpd.GeoDataFrame | None = None, min_n: int = 5):
    """Hot spots of `points` as groups of adjacent significant Gi* cells.

    Cells are counted with :func:`geo.grid.grid_counts`, tested with
    :func:`geo.hotspots.gistar` (FDR-adjusted), and touching hot cells (8 neighbours)
    are joined into one hot spot.

    A group with fewer than `min_n` points is not a hot spot.

    Returns
    -------
    (GeoDataFrame, GridSpec)
        Hot spots with :data:`HOTSPOT_COLUMNS`: ``n`` points, ``cells``, count-weighted
        centre ``x``, ``y``, the ``bcu`` code and ``force`` of the centre, and the union
        of the cells; and the grid used (pass it to the next period).
    """
    from scipy import ndimage

    from .grid import grid_counts
    from .hotspots import gistar
    crs = points.crs
    empty = gpd.GeoDataFrame(columns=list(HOTSPOT_COLUMNS[:-1]), geometry=[], crs=crs)
    if len(points) == 0 and grid is None:
        return empty, None
    if area is not None and len(points):
        x, y = _xy(points)
        points = points[_inside(area, x, y)]
    cells = grid_counts(points, cell_size=cell_size, area=area, keep_empty=True, grid=grid) \
        if len(points) else None
    if cells is None or len(cells) < 3 or cells["n"].sum() == 0:
        return empty, grid if cells is None else cells.attrs.get("grid")
    spec = cells.attrs["grid"]
    g = gistar(cells, column="n", alpha=0.10 if alpha is None else min(alpha, 0.10))
    hot = g["hotspot"].astype(str).str.startswith("Hot").to_numpy() & (g["n"].to_numpy() > 0)
    if not hot.any():
        return empty, spec
    rows, cols = g["row"].to_numpy(), g["col"].to_numpy()
    r0, c0 = rows.min(), cols.min()
    mask = np.zeros((rows.max() - r0 + 1, cols.max() - c0 + 1), dtype=bool)
    mask[rows[hot] - r0, cols[hot] - c0] = True
    lab, k = ndimage.label(mask, structure=np.ones((3, 3)))
    labels = lab[rows - r0, cols - c0]
    cx = shapely.get_x(shapely.centroid(g.geometry.values))
    cy = shapely.get_y(shapely.centroid(g.geometry.values))
    n = g["n"].to_numpy(float)
    out = []
    for h in range(1, k + 1):
        sel = labels == h
        wn = n[sel]
        tot = wn.sum()
        if tot < min_n:
            continue
        x = float((cx[sel] * wn).sum() / tot) if tot else float(cx[sel].mean())
        y = float((cy[sel] * wn).sum() / tot) if tot else float(cy[sel].mean())
        out.append({"n": tot, "cells": int(sel.sum()), "x": x, "y": y,
                    "geometry": shapely.union_all(g.geometry.values[sel])})
    if not out:
        return empty, spec
    hs = gpd.GeoDataFrame(out, geometry="geometry", crs=crs).sort_values("n", ascending=False)
    hs.insert(0, "hotspot_id", np.arange(1, len(hs) + 1))
    hs["bcu"], hs["force"] = _locate(hs["x"].to_numpy(), hs["y"].to_numpy(), bcus)
    return hs[list(HOTSPOT_COLUMNS)].reset_index(drop=True), spec


def _locate(x, y, bcus):
    code = np.full(len(x), "", dtype=object)
    force = np.full(len(x), "", dtype=object)
    if bcus is None or len(bcus) == 0:
        return code, force
    for geom, c, f in zip(bcus.geometry.values, bcus["code"], bcus["force"]):
        inside = _inside(geom, np.asarray(x, float), np.asarray(y, float))
        code[inside], force[inside] = c, f
    return code, force


def match_hotspots(before: pd.DataFrame, after: pd.DataFrame, *, max_distance_m: float) -> pd.DataFrame:
    """Match hot spots before and after into moves (one-to-one, shortest total distance).

    Pairs are found with the Hungarian algorithm on centre distances
    (``scipy.optimize.linear_sum_assignment``); pairs further apart than
    `max_distance_m` are not matched. Unmatched hot spots are "gone" (before only) or
    "new" (after only).

    Parameters
    ----------
    before, after : DataFrame
        Hot spots with ``hotspot_id``, ``n``, ``x``, ``y``, ``bcu``, ``force``.
    max_distance_m : float

    Returns
    -------
    pandas.DataFrame
        ``kind`` ("moved"/"stayed"/"new"/"gone"), ``from_id``, ``to_id``, ``x0``, ``y0``,
        ``x1``, ``y1``, ``distance_m``, ``n_before``, ``n_after``, ``growth`` (after /
        before), ``from_bcu``, ``to_bcu``, ``from_force``, ``to_force``, ``crosses_bcu``,
        ``crosses_force``. A match closer than a quarter of `max_distance_m` "stayed".

    Examples
    --------
    >>> b = pd.DataFrame({"hotspot_id": [1], "n": [10], "x": [0.0], "y": [0.0], "bcu": ["A"], "force": ["F"]})
    >>> a = pd.DataFrame({"hotspot_id": [1], "n": [12], "x": [800.0], "y": [600.0], "bcu": ["B"], "force": ["F"]})
    >>> m = match_hotspots(b, a, max_distance_m=2000)
    >>> r = m.iloc[0]
    >>> r["kind"], float(r["distance_m"]), bool(r["crosses_bcu"]), bool(r["crosses_force"])
    ('moved', 1000.0, True, False)
    """
    from scipy.optimize import linear_sum_assignment
    rows = []
    pairs = []
    if len(before) and len(after):
        d = np.hypot(before["x"].to_numpy()[:, None] - after["x"].to_numpy()[None, :],
                     before["y"].to_numpy()[:, None] - after["y"].to_numpy()[None, :])
        big = d.max() * 10 + 1e9
        ri, cj = linear_sum_assignment(np.where(d <= max_distance_m, d, big))
        pairs = [(i, j) for i, j in zip(ri, cj) if d[i, j] <= max_distance_m]
    used_b = {i for i, _ in pairs}
    used_a = {j for _, j in pairs}

    def rec(kind, b, a):
        x0 = b["x"] if b is not None else np.nan
        y0 = b["y"] if b is not None else np.nan
        x1 = a["x"] if a is not None else np.nan
        y1 = a["y"] if a is not None else np.nan
        nb = float(b["n"]) if b is not None else 0.0
        na = float(a["n"]) if a is not None else 0.0
        fb, fa = (b["bcu"] if b is not None else ""), (a["bcu"] if a is not None else "")
        gb, ga = (b["force"] if b is not None else ""), (a["force"] if a is not None else "")
        both = b is not None and a is not None
        return {"kind": kind, "from_id": b["hotspot_id"] if b is not None else None,
                "to_id": a["hotspot_id"] if a is not None else None, "x0": x0, "y0": y0, "x1": x1, "y1": y1,
                "distance_m": float(math.hypot(x1 - x0, y1 - y0)) if both else np.nan,
                "n_before": nb, "n_after": na, "growth": na / nb if nb else np.inf,
                "from_bcu": fb, "to_bcu": fa, "from_force": gb, "to_force": ga,
                "crosses_bcu": bool(both and fb != fa), "crosses_force": bool(both and gb != ga)}

    for i, j in pairs:
        b, a = before.iloc[i], after.iloc[j]
        dist = math.hypot(a["x"] - b["x"], a["y"] - b["y"])
        rows.append(rec("stayed" if dist < max_distance_m / 4 else "moved", b, a))
    for i in range(len(before)):
        if i not in used_b:
            rows.append(rec("gone", before.iloc[i], None))
    for j in range(len(after)):
        if j not in used_a:
            rows.append(rec("new", None, after.iloc[j]))
    cols = ["kind", "from_id", "to_id", "x0", "y0", "x1", "y1", "distance_m", "n_before", "n_after", "growth",
            "from_bcu", "to_bcu", "from_force", "to_force", "crosses_bcu", "crosses_force"]
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class Migration:
    """Hot spots before and after and how they moved (:func:`hotspot_migration`).

    Attributes
    ----------
    before, after : GeoDataFrame
        Hot spots (:data:`HOTSPOT_COLUMNS`).
    moves : GeoDataFrame
        :func:`match_hotspots` columns plus ``near_site`` (e.g. "school: King Ecgbert
        School"), ``flag`` (text, "" if none) and ``geometry`` (a line from the old to
        the new centre, or the hot spot's centre for new/gone).
    cell_size : float
    """

    before: gpd.GeoDataFrame
    after: gpd.GeoDataFrame
    moves: gpd.GeoDataFrame
    cell_size: float
    sites_near: gpd.GeoDataFrame | None = None


def hotspot_migration(before_points, after_points, *, extent, cell_size: float = 200.0,
                      bcus: gpd.GeoDataFrame | None = None, sites: gpd.GeoDataFrame | None = None,
                      site_buffer_m: float | None = None, max_distance_m: float | None = None,
                      growth: float = 1.25, alpha: float | None = None, bcu_names: dict | None = None,
                      target=None) -> Migration:
    """Hot spots before and after an operation, matched into moves, with flags.

    Parameters
    ----------
    before_points, after_points : GeoDataFrame
        Points of each window (e.g. basket crime), metres.
    extent : shapely geometry
        The area searched (e.g. target + buffer + ring); both periods share one grid.
    cell_size : float
        Grid cell, metres.
    bcus : GeoDataFrame, optional
        All BCUs, to mark moves that cross a BCU or force boundary.
    sites : GeoDataFrame, optional
        Sensitive sites with ``kind`` and ``name``: a new or moved hot spot, or one that
        stayed and grew by `growth` or more, within `site_buffer_m` of a site is flagged
        ("displacement towards a school").
    site_buffer_m : float, optional
        ``None``: the largest of ``settings.site_buffers_m``.
    max_distance_m : float, optional
        Largest distance a hot spot may move; ``None``: the extent's "radius"
        (``sqrt(area / pi)``).
    target : shapely geometry, optional
        The target: a hot spot near a site whose centre lies inside it is reported as
        "in the target", not as displacement.

    Returns
    -------
    Migration
    """
    crs = before_points.crs
    site_buffer_m = max(settings.site_buffers_m) if site_buffer_m is None else site_buffer_m
    if max_distance_m is None:
        max_distance_m = math.sqrt(extent.area / math.pi)
    pts_all = pd.concat([before_points.geometry, after_points.geometry])
    px, py = shapely.get_x(pts_all.values), shapely.get_y(pts_all.values)
    pts_all = pts_all[_inside(extent, px, py)]
    grid = None
    if len(pts_all):
        from .grid import grid_counts
        both = gpd.GeoDataFrame(geometry=pts_all.values, crs=crs)
        grid = grid_counts(both, cell_size=cell_size, area=extent, keep_empty=True).attrs["grid"]
    hb, _ = hotspots_of(before_points, grid=grid, cell_size=cell_size, area=extent, alpha=alpha, bcus=bcus)
    ha, _ = hotspots_of(after_points, grid=grid, cell_size=cell_size, area=extent, alpha=alpha, bcus=bcus)
    mv = match_hotspots(hb, ha, max_distance_m=max_distance_m)
    near, flags, geoms = [], [], []
    names = bcu_names or {}
    site_geoms = sites.geometry.values if sites is not None and len(sites) else np.array([])
    for _, r in mv.iterrows():
        flag, where = "", ""
        if r["kind"] in ("moved", "stayed"):
            geoms.append(shapely.LineString([(r["x0"], r["y0"]), (r["x1"], r["y1"])]))
        elif r["kind"] == "new":
            geoms.append(shapely.Point(r["x1"], r["y1"]))
        else:
            geoms.append(shapely.Point(r["x0"], r["y0"]))
        growing = r["kind"] in ("new", "moved") or (r["kind"] == "stayed" and r["n_after"] >= growth * r["n_before"])
        if growing and len(site_geoms):
            hs = ha[ha["hotspot_id"] == r["to_id"]].geometry.iloc[0]
            d = shapely.distance(site_geoms, hs)
            close = np.flatnonzero(d <= site_buffer_m)
            if close.size:
                k = close[np.argmin(d[close])]
                kind = str(sites["kind"].iloc[k]).replace("_", " ")
                where = f"{kind}: {sites['name'].iloc[k]}"
                if target is not None and target.contains(shapely.Point(r["x1"], r["y1"])):
                    flag = (f"{'new' if r['kind'] == 'new' else 'growing'} hot spot inside the target near a "
                            f"{kind} ({sites['name'].iloc[k]}, {d[k]:,.0f} m)")
                else:
                    flag = f"displacement towards a {kind} ({sites['name'].iloc[k]}, {d[k]:,.0f} m)"
        if r["kind"] == "moved" and (r["crosses_bcu"] or r["crosses_force"]):
            what = "force" if r["crosses_force"] else "BCU"
            move = (f"hot spot moved {r['distance_m']:,.0f} m across a {what} boundary into "
                    f"{names.get(r['to_bcu'], r['to_bcu'])}")
            flag = move + ("; " + flag if flag else "")
        near.append(where)
        flags.append(flag)
    moves = gpd.GeoDataFrame(mv.assign(near_site=near, flag=flags), geometry=geoms, crs=crs)
    near_sites = None
    if sites is not None and len(sites):
        sx, sy = _xy(sites) if "x" in sites else (shapely.get_x(sites.geometry.values), shapely.get_y(sites.geometry.values))
        near_sites = sites[_inside(extent, sx, sy)]
    return Migration(hb, ha, moves, float(cell_size), near_sites)


# =========================================================================== the whole analysis
@dataclass(frozen=True)
class DisplacementResult:
    """Everything the results analysis of one operation found.

    Attributes
    ----------
    operation : dict
        The operation's record (:meth:`geo.operations.Operation.to_dict`).
    layer : str
        ``"crime"`` or ``"calls"``.
    windows : Windows
    areas : StudyAreas
    crs : str
    table : DataFrame
        :func:`measures`.
    cross : GeoDataFrame
        :func:`cross_boundary`.
    migration : Migration
    headline : str
        One sentence in harm terms.
    verdict : tuple of str
        Plain-language findings: harm first, then activity, then where it went.
    caveats : tuple of str
    flags : tuple of str
        Possible displacement across boundaries and towards sensitive sites.
    settings : dict
        Buffer rule, control rule, scale, alpha, cell size.
    """

    operation: dict
    layer: str
    windows: Windows
    areas: StudyAreas
    crs: str
    table: pd.DataFrame
    cross: gpd.GeoDataFrame
    migration: Migration
    headline: str
    verdict: tuple[str, ...]
    caveats: tuple[str, ...]
    flags: tuple[str, ...]
    settings: dict = field(default_factory=dict)

    def row(self, measure: str = BASKET, unit: str = "harm") -> pd.Series:
        t = self.table
        return t[(t["measure"] == measure) & (t["unit"] == unit)].iloc[0]

    def areas_frame(self) -> gpd.GeoDataFrame:
        return self.areas.frame(self.crs)


def _fmt(x, d=0):
    if x is None or not np.isfinite(x):
        return "–"
    return f"{x:,.{d}f}"


def _significance(p, alpha):
    return "significant" if np.isfinite(p) and p < alpha else "not significant"


def _verdict(table, cross, migration, windows, alpha, layer, targeted):
    lines = []
    h = table[(table["measure"] == BASKET) & (table["unit"] == "harm")].iloc[0]
    c = table[(table["measure"] == BASKET) & (table["unit"] == "count")].iloc[0]
    unit = "harm (CCHI days)" if layer == "crime" else "harm (weighted calls)"
    est, p = h["local_estimate"], h["local_p"]
    pct = 100 * (h["target_after"] - h["target_before"] / windows.time_weights[0]) / (
        h["target_before"] / windows.time_weights[0]) if h["target_before"] else np.nan
    if not np.isfinite(est):
        headline = "Not enough incidents in the target, buffer and control to test a change in harm."
    elif p < alpha and est < 0:
        headline = (f"Drug-market harm in the target fell by {_fmt(-est)} {unit} more than the control "
                    f"predicts: a significant reduction (p = {p:.3f}).")
    elif p < alpha and est > 0:
        headline = (f"Drug-market harm in the target rose by {_fmt(est)} {unit} more than the control "
                    f"predicts: a significant increase (p = {p:.3f}).")
    else:
        headline = (f"No significant change in drug-market harm in the target relative to the control "
                    f"(estimate {_fmt(est)} {unit}, p = {_fmt(p, 3)}).")
    lines.append(f"Outcome (harm): {headline} In the target, basket harm went from "
                 f"{_fmt(h['target_before'])} ({windows.label('before')}) to {_fmt(h['target_after'])} "
                 f"({windows.label('after')})" + (f", {pct:+.0f}%." if np.isfinite(pct) else "."))
    lines.append(f"Outcome (count): basket incidents {_fmt(c['target_before'])} → {_fmt(c['target_after'])}; "
                 f"WDD local {_fmt(c['local_estimate'], 1)} (95% CI {_fmt(c['local_ci_low'], 1)} to "
                 f"{_fmt(c['local_ci_high'], 1)}), {_significance(c['local_p'], alpha)}.")
    d, dp = h["displacement_estimate"], h["displacement_p"]
    if np.isfinite(d):
        if dp < alpha and d > 0:
            buf = f"harm rose significantly in the buffer ({_fmt(d)} {unit}): possible displacement."
        elif dp < alpha and d < 0:
            buf = f"harm fell significantly in the buffer ({_fmt(d)} {unit}): a diffusion of benefits."
        else:
            buf = f"no significant change in the buffer ({_fmt(d)} {unit}, p = {_fmt(dp, 3)})."
        lines.append("Buffer: " + buf + f" WDQ (counts): {c['wdq_reading']}.")
    tot, tp = h["total_estimate"], h["total_p"]
    lines.append(f"Total (target + buffer): {_fmt(tot)} {unit}, {_significance(tp, alpha)} (p = {_fmt(tp, 3)}).")
    enf = table[table["measure"].str.contains("enforcement activity", regex=False)]
    if len(enf):
        e = enf.iloc[0]
        lines.append(f"Activity: drug offences recorded in the target {_fmt(e['target_before'])} → "
                     f"{_fmt(e['target_after'])} (enforcement activity, not harm).")
    if targeted:
        tt = table[table["measure"].isin(targeted) & (table["unit"] == "count")]
        for _, r in tt.iterrows():
            lines.append(f"Targeted harm '{r['measure']}': {_fmt(r['target_before'])} → {_fmt(r['target_after'])}, "
                         f"WDD local {_fmt(r['local_estimate'], 1)}, {_significance(r['local_p'], alpha)}.")
    others = table[(table["unit"] == "count") & ~table["measure"].isin([BASKET, ALL]) &
                   ~table["measure"].str.contains("enforcement", regex=False) &
                   (table["local_p"] < alpha) & (table["local_estimate"] > 0)]
    if len(others):
        lines.append("Crime-type displacement: other categories rose significantly in the target: "
                     + ", ".join(f"{r['measure']} (+{_fmt(r['local_estimate'], 1)})" for _, r in others.iterrows())
                     + ".")
    flags = [r["reading"] for _, r in cross.iterrows() if r["flag"]] if len(cross) else []
    flags += [f for f in migration.moves["flag"] if f] if len(migration.moves) else []
    if flags:
        lines.append("Where it went: " + "; ".join(flags) + ".")
    else:
        lines.append("Where it went: no significant rise in any neighbouring BCU or force piece of the "
                     "buffer and wider ring, and no hot spot moved towards a sensitive site.")
    return headline, lines, flags


def _caveats(table, windows, areas, layer, pre_months_note, control_note, coverage_notes):
    cav = []
    c = table[(table["measure"] == BASKET) & (table["unit"] == "count")].iloc[0]
    short = (windows.resolution == "month" and windows.after_len < 3) or (
        windows.resolution == "day" and windows.after_len < 28)
    if short:
        cav.append(f"Short windows ({windows.before_len} and {windows.after_len} {windows.resolution}s): "
                   "one window cannot separate the operation from ordinary ups and downs or seasonality.")
    if min(c["target_before"], c["target_after"], c["buffer_before"], c["buffer_after"]) < SMALL_COUNT:
        cav.append(f"Small counts (under {SMALL_COUNT} in the target or buffer): the WDD's normal "
                   "approximation is rough; read the E-test p-values.")
    cav.append("Regression to the mean: places are usually chosen for an operation because they were "
               "unusually bad, and would often improve anyway." + (" " + pre_months_note if pre_months_note else ""))
    if windows.resolution == "month" and layer == "crime":
        cav.append("police.uk data are monthly and locations are snapped to anonymised map points: an "
                   "operation that does not start and end on month boundaries shares its months with "
                   "untreated days, and points near an area's edge may fall on either side.")
    if control_note:
        cav.append(control_note)
    cav.append("Counts of drug offences measure enforcement activity, not the size of the market; they "
               "are not part of the harm measures.")
    cav.extend(coverage_notes)
    cav.extend(areas.notes)
    return cav


def _control_note(table, windows, scale):
    c = table[(table["measure"] == ALL) & (table["unit"] == "count")].iloc[0]
    if c["control_before"] <= 0:
        return "Control not comparable: the control had no incidents before the operation."
    ratio = c["control_before"] / max(c["target_before"], 1)
    note = None
    if scale == "none" and not 0.5 <= ratio <= 2:
        note = (f"Control not comparable: it had {ratio:.1f} times the target's incidents before; raw "
                "counts assume a control of similar size (use scale='counts').")
    elif ratio > 20:
        note = (f"The control is large ({ratio:,.0f} times the target's before-period count): its trend is "
                "applied to the target's level, which assumes the target would have followed the BCU.")
    return note


def _pre_trend_note(incidents, target, windows, in_basket=True):
    """Compare the before window with earlier data, if any, to warn of regression to the mean."""
    if windows.resolution != "month":
        return ""
    inc = incidents[incidents["in_basket"]] if in_basket else incidents
    x, y = _xy(inc)
    inside = _inside(target, x, y)
    months = inc["month"].astype(str).to_numpy()[inside]
    earlier = sorted(set(m for m in inc["month"].astype(str).unique() if m < windows.before[0]))
    if not earlier:
        return "There are no data before the before window to check whether it was unusually high."
    per_month_before = np.isin(months, [_month_add(windows.before[0], i) for i in range(windows.before_len)]).sum() \
        / windows.before_len
    per_month_earlier = np.isin(months, earlier).sum() / len(earlier)
    if per_month_earlier > 0 and per_month_before > 1.2 * per_month_earlier:
        return (f"The before window was {per_month_before / per_month_earlier - 1:.0%} above the target's "
                f"earlier average ({per_month_earlier:,.0f} basket incidents a month): some fall is expected "
                "anyway.")
    return (f"The before window ({per_month_before:,.0f} basket incidents a month) was not above the target's "
            f"earlier average ({per_month_earlier:,.0f}).")


def _coverage(incidents, bcus, windows):
    """BCU codes with incidents in every period of both windows, and notes about the rest."""
    x, y = _xy(incidents)
    per = _periods(incidents, windows)
    if windows.resolution == "month":
        key = incidents["month"].astype(str).to_numpy()
        want = [_month_add(windows.before[0], i) for i in range(windows.before_len)] + \
               [_month_add(windows.after[0], i) for i in range(windows.after_len)]
    else:
        key = per.astype(str)
        want = ["0", "1"]
    sel = per >= 0
    covered, notes = set(), []
    missing_by_force: dict[str, set] = {}
    for geom, code, name, force in zip(bcus.geometry.values, bcus["code"], bcus["name"], bcus["force"]):
        inside = _inside(geom, x, y) & sel
        have = set(key[inside])
        lack = [m for m in want if m not in have]
        if not lack:
            covered.add(code)
        else:
            missing_by_force.setdefault(force, set()).update(lack)
    for force, lack in sorted(missing_by_force.items()):
        labs = ", ".join(_month_label(m) if windows.resolution == "month" else
                         ("before window" if m == "0" else "after window") for m in sorted(lack))
        notes.append(f"No {force} data for {labs}: its part of the buffer, ring and control is left out "
                     "rather than counted as zero.")
    return covered, notes


def analyse(incidents: gpd.GeoDataFrame, target, *, bcu_code: str, bcus: gpd.GeoDataFrame, windows: Windows,
            operation: dict | None = None, other_targets=(), sites=None, own_force: str | None = None,
            buffer_m: float | None = None, ring_m: float | None = None, control=None,
            control_rule: str | None = None, scale: str = "counts", alpha: float | None = None,
            cell_size: float = 200.0, layer: str = "crime") -> DisplacementResult:
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

    Returns
    -------
    DisplacementResult

    Raises
    ------
    GeoInputError
        For an unknown BCU, empty areas, or bad parameters.
    """
    a = stats._alpha(alpha)
    op = dict(operation or {})
    hit = bcus[bcus["code"] == bcu_code]
    if hit.empty:
        raise GeoInputError(f"BCU '{bcu_code}' is not in the workspace boundaries",
                            where=f"operation '{op.get('name', '')}'", fix="edit the operation and choose its BCU")
    own_force = own_force or hit["force"].iloc[0]
    covered_codes, coverage_notes = _coverage(incidents, bcus, windows)
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
    cross = cross_boundary(incidents, areas, bcus, windows, own_force=own_force, own_bcu=bcu_code, alpha=a,
                           scale=scale, covered_codes=covered_codes)
    per = _periods(incidents, windows)
    basket = incidents["in_basket"].to_numpy(bool)
    extent = areas.target.buffer(areas.buffer_m + areas.ring_m, quad_segs=16)
    mig = hotspot_migration(incidents[basket & (per == 0)], incidents[basket & (per == 1)], extent=extent,
                            cell_size=cell_size, bcus=bcus, sites=sites, alpha=a,
                            bcu_names=dict(zip(bcus["code"], bcus["name"])), target=areas.target)
    headline, lines, flags = _verdict(table, cross, mig, windows, a, layer, op.get("targeted_harms") or [])
    cav = _caveats(table, windows, areas, layer, _pre_trend_note(incidents, areas.target, windows),
                   _control_note(table, windows, scale), coverage_notes)
    return DisplacementResult(
        operation=op, layer=layer, windows=windows, areas=areas, crs=str(incidents.crs), table=table,
        cross=cross, migration=mig, headline=headline, verdict=tuple(lines), caveats=tuple(cav),
        flags=tuple(flags),
        settings={"buffer_rule": areas.buffer_rule, "control_rule": areas.control_rule, "scale": scale,
                  "alpha": a, "cell_size_m": cell_size, "ring_m": areas.ring_m, "buffer_m": areas.buffer_m})


def analyse_operation(ws, operation, *, before=None, after=None, layer: str | None = None,
                      buffer_m: float | None = None, ring_m: float | None = None, control: str = "bcu",
                      control_units=None, scale: str = "counts", alpha: float | None = None,
                      cell_size: float = 200.0, incidents=None) -> DisplacementResult:
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

    Returns
    -------
    DisplacementResult

    Raises
    ------
    GeoInputError
        Unknown operation, windows not covered by the data, unknown control units.
    """
    from .operations import Operation, target_geometry
    if isinstance(operation, str):
        found = [o for o in ws.operations() if o.name == operation]
        if not found:
            names = ", ".join(o.name for o in ws.operations()) or "(none)"
            raise GeoInputError(f"No operation called '{operation}' in this workspace",
                                fix=f"use one of: {names}")
        operation = found[0]
    op: Operation = operation
    layers = ws.store.layers()
    layer = layer or ("crime" if "crime" in layers else (layers[0] if layers else "crime"))
    if layer not in layers:
        raise GeoInputError(f"The workspace has no '{layer}' incidents", fix=f"use one of: {', '.join(layers)}")
    inc = incidents if incidents is not None else ws.incidents(layer=layer, statuses=("mapped", "outside_area"))
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
                   control=ctrl, control_rule=rule, scale=scale, alpha=alpha, cell_size=cell_size, layer=layer)
