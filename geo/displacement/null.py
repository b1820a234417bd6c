"""Over-dispersion of real crime counts, estimated from placebo copies of an operation's areas.

Crime counts vary more than Poisson from month to month (repeat victims, events, recording
practice), so a z-score computed with Poisson variance fires far more often than its
nominal rate. This module measures how much more, for the operation's own windows, area
sizes and force, and returns the factor ``phi`` by which the Poisson variance is inflated
(quasi-Poisson; Wheeler & Ratcliffe's placebo idea):

1. Basket incidents of the before and after windows are binned once on a fine grid
   (:class:`Raster`: count, harm and harm² per cell and window).
2. Each statistic's shape (the target; each catchment ring) is rasterised relative to the
   target's centre (:func:`shape_kernel`) and its before and after totals are gathered at
   every placebo centre at once (:func:`shape_sums`).
3. Placebo centres are cells inside the operation's force, whose placebo catchment does not
   reach the real target or another operation's target, and whose target-shaped area had a
   before-window count like the real target's (within a factor of 2); up to ``n_max`` are
   drawn at random (seeded, so a result can be reproduced).
4. For every placebo the statistic's z-score (:func:`wdd_z`, the counts-scaled WDD of harm
   against the operation's own control) is computed as for the real operation;
   ``phi = max(1, (q90(|z|) / 1.645)^2, (q95(|z|) / 1.96)^2)``: the squared ratio of the
   placebos' 90th and 95th percentiles of ``|z|`` to the normal ones (:func:`phi_from_z`).
   Shapes given as a list (the catchment's sectors) share one pooled ``phi``. ``phi = 1`` means Poisson is right; the
   reports call ``sqrt(phi)`` "the spread of placebo z-scores".
5. The same placebo copies give the joint null of the rings and sectors: for each placebo,
   the largest standardised ``|z| / sqrt(phi)`` over its rings and sectors
   (:attr:`NullModel.maxz`). The family-wise adjusted p of a real ring or sector is the
   share of placebo maxima at least as large (:func:`maxt_adjust`; single-step maxT,
   Westfall & Young 1993), which respects the correlation of overlapping rings and
   sectors and is less conservative than Holm or Bonferroni.
6. Copies of a large operation overlap, so 400 of them may amount to few independent ones
   (:func:`covered`: :attr:`NullModel.room`, the catchment-sized areas their union covers).
   Every ``phi`` is widened by the factor Student's t with ``room - 1`` degrees of freedom
   applies to a normal test at the two-sided 5% point (:func:`t_widening`; the target's with
   the target copies' room), and the max-statistic is used only when ``room`` is at least
   :data:`MAXT_MIN_ROOM` (otherwise the verdict uses Holm). This is an empirical correction,
   not a derivation: on real data whole wards (room 2-24) raised their flags at up to twice
   the nominal rate and hot circles (room 18-75) did not, and with it both are at the
   nominal rates (docs/CALIBRATION.md). A simulation of few independent copies alone does not
   need it (the 90th/95th-percentile rule is already cautious there); what it covers is that
   the few places a large target can be copied to do not vary like the target itself.

References
----------
Wheeler, A. P., & Ratcliffe, J. H. (2018). A simple weighted displacement difference test
to evaluate place based crime interventions. Crime Science 7(11).
Westfall, P. H., & Young, S. S. (1993). Resampling-Based Multiple Testing: Examples and
Methods for p-Value Adjustment. Wiley (ch. 2: single-step maxT adjusted p-values).
McCullagh, P., & Nelder, J. A. (1989). Generalized Linear Models, 2nd ed., ch. 4.5
(quasi-likelihood and over-dispersion).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import shapely


logger = logging.getLogger(__name__)

__all__ = ["Raster", "raster", "shape_kernel", "shape_sums", "wdd_z", "NullModel", "dispersion",
           "MIN_PLACEBOS", "Q_NORMAL_90", "phi_from_z", "maxt_adjust", "MAXT_FAMILY", "MAXT_MIN_ROOM", "t_widening", "covered"]

#: Fewer usable placebos than this and ``phi`` falls back to the largest of the others (or 2).
MIN_PLACEBOS = 30
Q_NORMAL_90 = 1.6448536269514722
#: The rings and sectors are adjusted by the max-statistic only when the placebo copies of the catchment
#: cover at least this many catchment-sized areas (:attr:`NullModel.room`); with fewer, the tail of their
#: maxima cannot be read from them and Holm is used. On the real-data calibration (docs/CALIBRATION.md)
#: whole wards (room 2-24) raised the max-statistic's flags at twice its rate, hot circles (18-75) did not.
MAXT_MIN_ROOM = 20.0
#: Key of :attr:`NullModel.maxz` for the rings-and-sectors family.
MAXT_FAMILY = "rings"


@dataclass(frozen=True)
class Raster:
    """Basket incidents of two windows binned on a square grid.

    ``data[p, q, i, j]``: window ``p`` (0 before, 1 after), quantity ``q`` (0 count, 1 harm,
    2 harm²) in the cell whose lower-left corner is ``(x0 + j * cell, y0 + i * cell)``.
    """

    x0: float
    y0: float
    cell: float
    data: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape[-2:]

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre x and y, each of the grid's shape."""
        h, w = self.shape
        xs = self.x0 + (np.arange(w) + 0.5) * self.cell
        ys = self.y0 + (np.arange(h) + 0.5) * self.cell
        return np.meshgrid(xs, ys)

    def index(self, x: float, y: float) -> tuple[int, int]:
        """Row and column of the cell holding ``(x, y)``."""
        return int((y - self.y0) // self.cell), int((x - self.x0) // self.cell)


def raster(x, y, period, harm, *, bounds, cell: float = 100.0) -> Raster:
    """Bin points of the before (``period == 0``) and after (``1``) windows on a grid.

    Parameters
    ----------
    x, y : array of float
        Metres.
    period : array of int
        0 before, 1 after; other values are ignored.
    harm : array of float
        Harm weight of each point.
    bounds : (xmin, ymin, xmax, ymax)
        Extent of the grid, metres (e.g. the force plus its neighbours).
    cell : float
        Cell size, metres.

    Examples
    --------
    >>> r = raster([50, 150, 150], [50, 50, 50], [0, 1, 1], [2.0, 3.0, 1.0], bounds=(0, 0, 300, 200))
    >>> r.data[1, :, 0, 1].tolist()
    [2.0, 4.0, 10.0]
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    period, harm = np.asarray(period), np.asarray(harm, float)
    xmin, ymin, xmax, ymax = bounds
    w = int(math.ceil((xmax - xmin) / cell)) + 1
    h = int(math.ceil((ymax - ymin) / cell)) + 1
    col = ((x - xmin) // cell).astype(int)
    row = ((y - ymin) // cell).astype(int)
    ok = (col >= 0) & (col < w) & (row >= 0) & (row < h) & ((period == 0) | (period == 1))
    data = np.zeros((2, 3, h, w))
    for p in (0, 1):
        s = ok & (period == p)
        flat = row[s] * w + col[s]
        for q, v in enumerate((np.ones(s.sum()), harm[s], harm[s] ** 2)):
            data[p, q] = np.bincount(flat, weights=v, minlength=h * w).reshape(h, w)
    return Raster(float(xmin), float(ymin), float(cell), data)


def shape_kernel(geom, centre, cell: float) -> tuple[np.ndarray, int, int]:
    """Mask of the cells (by centre) inside `geom`, relative to the cell holding `centre`.

    Returns
    -------
    (mask, ry, rx)
        The boolean mask and the row and column in it of the reference cell.
    """
    cx, cy = centre
    minx, miny, maxx, maxy = geom.bounds
    r0 = int(math.floor((miny - cy) / cell)) - 1
    r1 = int(math.ceil((maxy - cy) / cell)) + 1
    c0 = int(math.floor((minx - cx) / cell)) - 1
    c1 = int(math.ceil((maxx - cx) / cell)) + 1
    rr, cc = np.mgrid[r0:r1 + 1, c0:c1 + 1]
    # the reference cell's centre sits at (cx, cy) snapped to the cell grid: offsets are whole cells
    xs, ys = cx + cc * cell, cy + rr * cell
    mask = shapely.contains_xy(geom, xs.ravel(), ys.ravel()).reshape(rr.shape)
    return mask, -r0, -c0


def shape_sums(r: Raster, kernel: tuple[np.ndarray, int, int], rows: np.ndarray, cols: np.ndarray, *,
               layer=None) -> np.ndarray:
    """Totals of every window and quantity over the shape placed with its reference cell at each ``(row, col)``.

    Returns ``out[p, q, k]`` for window ``p``, quantity ``q`` and centre ``k``; cells of the
    shape beyond the grid count as zero. (Gathering at a few hundred placebo centres is
    cheaper than an FFT correlation over the whole grid.) ``layer=(p, q)`` gathers one
    window and quantity only and returns ``out[k]``.
    """
    if layer is not None:
        return gather_sums(r.data[layer[0], layer[1]], kernel, rows, cols)
    return gather_sums(r.data, kernel, rows, cols)


def gather_sums(grid: np.ndarray, kernel: tuple[np.ndarray, int, int], rows: np.ndarray,
                cols: np.ndarray, *, block: int = 1 << 17) -> np.ndarray:
    """``out[..., k]``: the sum of ``grid[..., i, j]`` over the cells of ``kernel`` placed with its reference
    cell at ``(rows[k], cols[k])``; cells beyond the grid count as zero.

    The grid is padded with zeros as far as the kernel reaches, so each placement is one
    flat index per kernel cell (no clipping, no mask): the values gathered, and their
    order along the summed axis, are those of the direct ``grid[..., ii, jj] * inside``,
    so the sums are the same to the last bit. Placements are gathered in blocks of about
    ``block`` values (each placement's cells still summed as one contiguous row, so the same
    sums): the synthetic comparison's 25,000 candidate centres of a 478-cell target would
    otherwise gather 12 million values at once.
    """
    mask, ry, rx = kernel
    dy, dx = np.nonzero(mask)
    dy, dx = dy - ry, dx - rx
    h, w = grid.shape[-2:]
    rows, cols = np.asarray(rows, dtype=np.intp), np.asarray(cols, dtype=np.intp)
    top = max(0, -int(dy.min() + rows.min())) if dy.size and rows.size else 0
    bottom = max(0, int(dy.max() + rows.max()) - (h - 1)) if dy.size and rows.size else 0
    left = max(0, -int(dx.min() + cols.min())) if dx.size and cols.size else 0
    right = max(0, int(dx.max() + cols.max()) - (w - 1)) if dx.size and cols.size else 0
    pad = [(0, 0)] * (grid.ndim - 2) + [(top, bottom), (left, right)]
    g = np.pad(grid, pad) if top or bottom or left or right else grid
    wp = w + left + right
    flat = (rows + top) * wp + (cols + left)
    offsets = (dy * wp + dx)[None, :]
    lead = grid.shape[:-2]
    g = g.reshape(lead + (-1,))
    step = max(1, block // max(1, dy.size * math.prod(lead)))
    # the same (..., placements, kernel cells) array as grid[..., ii, jj] * inside, summed along its last axis
    parts = [(g[..., idx] if lead else g[idx]).sum(axis=-1)
             for idx in (flat[i:i + step, None] + offsets for i in range(0, max(flat.size, 1), step))]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)


def wdd_z(a0, a1, v0, v1, control, *, tau: float = 1.0):
    """Counts-scaled WDD of harm in an area against a control, with compound-Poisson variance.

    ``est = (A1 - A0/tau) - (C1 - C0/tau) * A0 / C0`` (harm over the after window) and
    ``var = V1 + V0/tau² + (W1 + W0/tau²) * (A0 / C0)²`` where ``V``, ``W`` are the sums of
    squared harm weights of the area and the control (the variance of a sum of
    Poisson counts times their weights).

    Parameters
    ----------
    a0, a1, v0, v1 : float or array
        Area harm before and after, and sums of squared weights.
    control : (C0, C1, W0, W1)
    tau : float
        Before window length over the after window's.

    Returns
    -------
    (estimate, se, z) : arrays (``nan`` where the area had no harm before)

    Examples
    --------
    A flat control: the estimate is the area's own change.

    >>> est, se, z = wdd_z(100.0, 80.0, 100.0, 80.0, (1000.0, 1000.0, 1000.0, 1000.0))
    >>> float(est), round(float(se ** 2), 1)
    (-20.0, 200.0)
    """
    c0, c1, w0, w1 = (float(v) for v in control)
    a0, a1, v0, v1 = (np.asarray(v, float) for v in (a0, a1, v0, v1))
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(a0 > 0, a0 / c0, np.nan) if c0 > 0 else np.full(a0.shape, np.nan)
        est = (a1 - a0 / tau) - (c1 - c0 / tau) * k
        var = v1 + v0 / tau ** 2 + (w1 + w0 / tau ** 2) * k ** 2
        se = np.sqrt(var)
        z = np.where(se > 0, est / se, np.nan)
    return est, se, z


def phi_from_z(z) -> tuple[float, int]:
    """``(phi, n)`` from placebo z-scores (``nan`` if too few).

    ``phi = max(1, (q90(|z|) / 1.645)², (q95(|z|) / 1.960)²)``: the variance inflation that
    brings the placebos' 90th and 95th percentiles of ``|z|`` to at most the normal ones.

    Examples
    --------
    >>> z = np.random.default_rng(0).normal(0, 1.5, 20_000)
    >>> round(phi_from_z(z)[0], 1)
    2.2
    """
    z = np.asarray(z, float)
    z = z[np.isfinite(z)]
    if z.size < MIN_PLACEBOS:
        return float("nan"), int(z.size)
    q90, q95 = np.quantile(np.abs(z), [0.9, 0.95])
    return float(max(1.0, (q90 / Q_NORMAL_90) ** 2, (q95 / 1.959963984540054) ** 2)), int(z.size)


@dataclass(frozen=True)
class NullModel:
    """Over-dispersion of each statistic, from placebo copies of the operation's areas.

    Attributes
    ----------
    phi : dict of str -> float
        Variance inflation per statistic and unit, keyed ``"<shape>|<unit>"``: shapes
        ``"target"``, ``"ring <label>"`` and ``"catchment"`` (the largest ring value, used for
        pieces and sites); units ``"harm"`` and ``"count"``.
    n : dict of str -> int
        Usable placebos per statistic.
    n_placebos : int
        Placebo centres drawn.
    rule : str
        How the placebos were chosen.
    room : float
        How many catchment-sized areas (the target and its rings) the placebo copies of the
        catchment cover together: the number of independent copies they amount to. Copies
        of a large operation overlap, so few independent copies measure its spread.
    room_target : float
        The same for the copies of the target.
    widening : dict of str -> float
        The factor each ``phi`` was widened by (:func:`t_widening`); ``phi / widening`` is the
        measured value. Empty when ``phi`` was not measured (too few placebos).
    maxz : dict of str -> ndarray
        Per family (``"rings"``: the rings and their sectors, count unit), the largest
        standardised ``|z| / sqrt(phi)`` of each placebo over the family's members with
        enough incidents: the joint null used by :func:`maxt_adjust`; ``"rings+"`` and
        ``"rings-"`` the largest standardised ``z`` and ``-z`` (one-sided rises and falls).
    """

    phi: dict
    n: dict
    n_placebos: int
    rule: str
    maxz: dict = field(default_factory=dict)
    room: float = float("nan")
    room_target: float = float("nan")
    widening: dict = field(default_factory=dict)

    def spread(self, name: str = "target|harm") -> float:
        """``sqrt(phi)``: the spread of placebo z-scores (1 under Poisson)."""
        return math.sqrt(self.phi[name])


def dispersion(r: Raster, shapes: dict, *, centre, control, tau: float = 1.0, candidates: np.ndarray,
               exclude=None, reach_m: float = 0.0, n_max: int = 400, min_before: float = 3.0,
               min_total: float = 10.0, seed: int = 0) -> NullModel:
    """Estimate ``phi`` for each shape from placebo copies placed over the force.

    Parameters
    ----------
    r : Raster
        Basket incidents of the operation's windows.
    shapes : dict of str -> shapely geometry or list of geometries
        The statistics' areas (``"target"`` first), at the real operation's position; a list
        (e.g. the sectors) gets one pooled ``phi``.
    centre : (float, float)
        The reference point the shapes are moved by (the target's centroid).
    control : (C0, C1, W0, W1, N0, N1)
        The operation's control harm, squared-weight sums and counts (:func:`wdd_z`).
    tau : float
    candidates : bool array of the raster's shape
        Cells allowed as placebo centres (e.g. inside the force, covered by data).
    exclude : shapely geometry, optional
        Real targets (this operation's and others'): a placebo whose catchment reaches
        one is not used.
    reach_m : float
        Distance from the reference point to the far edge of the catchment.
    n_max : int
        Most placebos drawn.
    min_before, min_total : float
        A placebo area with fewer basket incidents before (or before and after) is "too
        few to tell" and not used, exactly as for the real areas.
    seed : int
        Seeds the draw of placebos, so a result can be reproduced.

    Returns
    -------
    NullModel
    """
    cell = r.cell
    rng = np.random.default_rng(seed)
    kerns = {name: ([shape_kernel(x, centre, cell) for x in g] if isinstance(g, (list, tuple))
                    else shape_kernel(g, centre, cell)) for name, g in shapes.items()}
    pool = np.flatnonzero(candidates.ravel())
    if pool.size > 3000:
        pool = np.sort(rng.choice(pool, 3000, replace=False))
    rows, cols = np.divmod(pool, r.shape[1])
    if exclude is not None and not exclude.is_empty and pool.size:
        xs = r.x0 + (cols + 0.5) * cell
        ys = r.y0 + (rows + 0.5) * cell
        far = shapely.distance(exclude, shapely.points(xs, ys)) > reach_m
        rows, cols = rows[far], cols[far]
    i0, j0 = r.index(*centre)
    real_before = float(shape_sums(r, kerns["target"], np.array([i0]), np.array([j0]), layer=(0, 0))[0])
    base = shape_sums(r, kerns["target"], rows, cols, layer=(0, 0))
    lo, hi = max(real_before / 2, min_before), max(real_before * 2, min_before * 2)
    idx = np.flatnonzero((base >= lo) & (base <= hi))
    rule = (f"placebo copies of the target and rings centred in the force, away from real targets, with "
            f"{lo:,.0f}–{hi:,.0f} basket incidents in the target-shaped area before (the target had "
            f"{real_before:,.0f})")
    if idx.size < 4 * MIN_PLACEBOS:   # widen to the nearest baselines
        cand = np.flatnonzero(base >= min_before)
        dist = np.abs(np.log((base[cand] + 1) / (real_before + 1)))
        idx = cand[np.argsort(dist, kind="stable")[:8 * MIN_PLACEBOS]]
        rule = (f"placebo copies of the target and rings centred in the force, away from real targets, with the "
                f"{idx.size} before-window baselines nearest the target's ({real_before:,.0f})")
    if idx.size > n_max:
        idx = np.sort(rng.choice(idx, n_max, replace=False))
    rows, cols = rows[idx], cols[idx]
    phi, n = {}, {}
    cc = control
    zfull = {}   # "<shape>|count" -> list of z arrays over all placebos (nan: too few)
    for name, k in kerns.items():
        sums = [shape_sums(r, x, rows, cols) for x in (k if isinstance(k, list) else [k])]
        for unit, (q, v) in {"harm": (1, 2), "count": (0, 0)}.items():
            ctl = (cc[0], cc[1], cc[2], cc[3]) if unit == "harm" else (cc[4], cc[5], cc[4], cc[5])
            zs = []
            for s in sums:
                usable = (s[0, 0] >= min_before) & (s[0, 0] + s[1, 0] >= min_total)
                z = np.asarray(wdd_z(s[0, q], s[1, q], s[0, v], s[1, v], ctl, tau=tau)[2], float)
                zs.append(np.where(usable, z, np.nan))
            if unit == "count":
                zfull[name] = zs
            phi[f"{name}|{unit}"], n[f"{name}|{unit}"] = phi_from_z(np.concatenate(zs) if zs else [])
    for unit in ("harm", "count"):
        keys = [k for k in phi if k.endswith("|" + unit)]
        rings = [phi[k] for k in keys if k.startswith("ring ") and np.isfinite(phi[k])]
        known = [phi[k] for k in keys if np.isfinite(phi[k])]
        fallback = max(known) if known else 2.0
        for k in keys:
            if not np.isfinite(phi[k]):
                phi[k] = fallback
        phi[f"catchment|{unit}"] = max(rings) if rings else fallback
        n[f"catchment|{unit}"] = max((n[k] for k in keys if k.startswith("ring ")), default=0)
    # Few independent copies (step 6 of the module's notes): widen each phi by Student's t factor with
    # room - 1 degrees of freedom, and read the max-statistic's tail from them only when there are enough.
    whole = shapely.union_all([g for g in shapes.values() if not isinstance(g, (list, tuple))])
    room_target = covered(r.shape, rows, cols, kerns["target"])
    room = covered(r.shape, rows, cols, shape_kernel(whole, centre, cell))
    widening = {}
    if idx.size >= MIN_PLACEBOS:   # (too few: phi is an assumed value, said so, not a measured one to widen)
        for key in phi:
            widening[key] = t_widening(room_target if key.startswith("target|") else room)
            phi[key] *= widening[key]
    members = [z / math.sqrt(phi[f"{name}|count"]) for name, zs in zfull.items()
               if name.startswith("ring ") or name == "sector" for z in zs]
    maxz = {}
    if members and room >= MAXT_MIN_ROOM:
        zz = np.vstack(members)
        ok = np.isfinite(zz).any(axis=0)
        for key, m in ((MAXT_FAMILY, np.abs(zz)), (MAXT_FAMILY + "+", zz), (MAXT_FAMILY + "-", -zz)):
            maxz[key] = np.nanmax(np.where(np.isfinite(m), m, -np.inf)[:, ok], axis=0) if ok.any() \
                else np.zeros(0)
    logger.info("over-dispersion from %s placebos: %s", idx.size,
                ", ".join(f"{k} {v:.2f}" for k, v in phi.items()))
    return NullModel(phi, n, int(idx.size), rule, maxz, room=room, room_target=room_target,
                     widening=widening)


def covered(shape: tuple[int, int], rows: np.ndarray, cols: np.ndarray, kernel) -> float:
    """How many copies of `kernel`'s shape, without overlap, the copies at ``(rows, cols)`` of a grid of
    `shape` cover together: the cells of their union over one copy's cells.

    Examples
    --------
    >>> k = (np.ones((3, 3), bool), 1, 1)
    >>> covered((20, 20), np.array([5, 5, 15]), np.array([5, 6, 15]), k)  # two overlap, one apart
    2.3333333333333335
    """
    from scipy.signal import fftconvolve
    mask = np.asarray(kernel[0], float)
    if not mask.sum() or not np.size(rows):
        return 0.0
    grid = np.zeros(shape)
    grid[rows, cols] = 1.0
    return float((fftconvolve(grid, mask, mode="full") > 0.5).sum() / mask.sum())


def t_widening(room: float) -> float:
    """``(t(0.975; room - 1) / z(0.975))^2``: the factor by which ``phi`` measured on about `room`
    independent placebo copies is widened (at least one degree of freedom; 1 for ``room = inf``).

    Examples
    --------
    >>> round(t_widening(11), 3), round(t_widening(60), 3), t_widening(float("inf"))
    (1.292, 1.042, 1.0)
    """
    from scipy.special import stdtrit
    if not np.isfinite(room):
        return 1.0
    return float((stdtrit(max(room - 1.0, 1.0), 0.975) / 1.959963984540054) ** 2)


def maxt_adjust(z, null_max, *, two_sided: bool = True) -> np.ndarray:
    """Single-step maxT adjusted p-values of standardised statistics against placebo maxima.

    ``p_adj[k] = (1 + #{b : M_b >= |z_k|}) / (1 + B)`` where ``M_b`` is the largest
    standardised ``|z|`` over the family's members in placebo ``b`` (``B`` placebos);
    ``two_sided=False`` tests rises only: ``z_k`` keeps its sign and ``M_b`` is the placebo's
    largest signed ``z`` (:attr:`NullModel.maxz` ``"rings+"``; pass ``-z`` and ``"rings-"``
    for falls). Flagging
    where ``p_adj <= alpha`` controls the family-wise error at ``alpha`` when the placebo
    maxima and the real family are exchangeable under the null (Westfall & Young, 1993,
    Algorithm 2.5; the ``+1`` counts the real operation among the copies, as in a
    permutation test). Unlike Bonferroni or Holm it uses the correlation between
    members: for independent members it matches Šidák's threshold, for overlapping
    rings and sectors it is lower.

    Parameters
    ----------
    z : array of float
        Standardised statistics of the real family (``nan``: not tested, gets ``nan``).
    null_max : array of float
        ``M_b`` for each placebo.
    two_sided : bool
        ``|z|`` against the placebos' largest ``|z|`` (default), or the signed ``z`` against
        their largest signed ``z`` (one-sided, rises).

    Returns
    -------
    ndarray of adjusted p-values.

    References
    ----------
    Westfall, P. H., & Young, S. S. (1993). Resampling-Based Multiple Testing. Wiley.
    Wheeler, A. P., & Ratcliffe, J. H. (2018). A simple weighted displacement difference test
    to evaluate place based crime interventions. Crime Science 7(11).

    Examples
    --------
    >>> [round(float(p), 3) for p in maxt_adjust([0.5, 3.0], np.array([1.0, 2.0, 2.5, 4.0]))]
    [1.0, 0.4]
    >>> [round(float(p), 3) for p in maxt_adjust([-3.0, 3.0], np.array([1.0, 2.0, 2.5, 4.0]), two_sided=False)]
    [1.0, 0.4]
    """
    z = np.asarray(z, float)
    z = np.abs(z) if two_sided else z
    m = np.sort(np.asarray(null_max, float)[np.isfinite(null_max)])
    ge = m.size - np.searchsorted(m, z, side="left")
    out = (1.0 + ge) / (1.0 + m.size)
    return np.where(np.isfinite(z), np.minimum(out, 1.0), np.nan)
