"""Disclosure control for partners: one published table, and every partner figure derived from it.

Partners (council, public health, treatment, housing) see counts and harm aggregated
to areas, never an incident. The guarantee is provable rather than heuristic:

* **one published base table** (:func:`published_for`, :func:`publish`): base unit
  (LSOA; else neighbourhood or ward; else a fixed 500 m hexagon grid) × calendar
  quarter (complete quarters only, :func:`complete_quarters`) × crime type, with counts
  from 1 to ``threshold - 1`` shown as ``"<5"`` (and their harm with them);
* **every other figure** (a drawn area, a ward, a BCU, the force, several quarters,
  harm, a map or chart value) is a sum of base cells, each ``"<5"`` counting as the
  interval 1..4 (:class:`Figure`): exact when no hidden cell is inside, else a range
  or "about N", a function of published values alone. So no combination of partner
  figures says more than the base table;
* **areas are whole base units**: a drawn polygon is the units whose representative
  point lies inside, with a minimum number of units (:meth:`Published.snap`).

See ``docs/DISCLOSURE.md``. :func:`suppress` and :func:`recoverable` remain for
two-dimensional tables published with their margins (primary ``<5`` and secondary
``*`` suppression so that no hidden cell follows from the totals).

References
----------
Hundepool et al. (2012) *Statistical Disclosure Control*, Wiley, ch. 4 (tabular data;
the "at least two suppressed cells per line" rule and its limits).
ONS (2023) *Disclosure control guidance for tables produced from administrative sources*.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import GeoInputError
from .periods import quarter_label, quarter_months, quarter_of, quarter_run, quarters_label
from .settings import settings

logger = logging.getLogger(__name__)

TOTAL = "Total"
SECONDARY = "*"
#: Columns that hold incident detail and must never be in a partner's frame.
FORBIDDEN_COLUMNS = frozenset({"uid", "crime_id", "location", "x", "y", "date", "outcome", "lsoa_name_point",
                               "import_id", "source", "subcategory", "lon", "lat", "longitude", "latitude"})
HARM_ROUND = 10
NOTE = ("Counts from 1 to {t1} are shown as '<{t}'; cells marked '*' are withheld so that a small count "
        "cannot be worked out from the totals. Harm is rounded to the nearest {r} days and shown only where "
        "the count is shown.")


def primary_label(threshold: int) -> str:
    return f"<{threshold}"


@dataclass(frozen=True)
class SuppressedTable:
    """The result of :func:`suppress`.

    Attributes
    ----------
    public : pandas.DataFrame
        The table with its ``Total`` row and column; hidden cells are NaN. Safe to publish.
    labels : pandas.DataFrame
        The same shape as text: numbers with thousands separators, ``"<5"`` or ``"*"``.
    status : pandas.DataFrame
        ``""`` (shown), ``"primary"`` or ``"secondary"`` per cell.
    threshold : int
    """

    public: pd.DataFrame
    labels: pd.DataFrame
    status: pd.DataFrame
    threshold: int

    @property
    def hidden(self) -> pd.DataFrame:
        return self.status != ""

    @property
    def note(self) -> str:
        return NOTE.format(t=self.threshold, t1=self.threshold - 1, r=HARM_ROUND)


# ------------------------------------------------------------------ the algorithm
def _bridges(edges: list[tuple[int, int]], n_rows: int) -> list[int]:
    """Indices of the bridge edges of a bipartite multigraph (rows 0..n_rows-1, cols after)."""
    adj: dict[int, list[tuple[int, int]]] = {}
    for k, (i, j) in enumerate(edges):
        a, b = i, n_rows + j
        adj.setdefault(a, []).append((b, k))
        adj.setdefault(b, []).append((a, k))
    disc: dict[int, int] = {}
    low: dict[int, int] = {}
    out: list[int] = []
    t = 0
    for root in adj:
        if root in disc:
            continue
        disc[root] = low[root] = t
        t += 1
        stack = [(root, -1, iter(adj[root]))]
        while stack:
            v, parent_edge, it = stack[-1]
            advanced = False
            for w, k in it:
                if k == parent_edge:
                    continue
                if w in disc:
                    low[v] = min(low[v], disc[w])
                else:
                    disc[w] = low[w] = t
                    t += 1
                    stack.append((w, k, iter(adj[w])))
                    advanced = True
                    break
            if not advanced:
                stack.pop()
                if stack:
                    u = stack[-1][0]
                    low[u] = min(low[u], low[v])
                    if low[v] > disc[u]:
                        out.append(parent_edge)
    return out


def _component(edges, n_rows, skip: int, start: int) -> set[int]:
    adj: dict[int, list[int]] = {}
    for k, (i, j) in enumerate(edges):
        if k == skip:
            continue
        a, b = i, n_rows + j
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    seen, todo = {start}, [start]
    while todo:
        v = todo.pop()
        for w in adj.get(v, []):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def _bounds(x: np.ndarray, hidden: np.ndarray, primary: np.ndarray, threshold: int,
            lbs: np.ndarray, ubs: np.ndarray) -> np.ndarray:
    """Tightest [low, high] an attacker can deduce for each hidden cell (LP over the totals).

    Known to the attacker: every visible cell, that each line sums to its total, that
    primary cells lie in 1..threshold-1 and secondary cells are >= threshold (or 0).
    """
    from scipy.optimize import linprog
    idx = np.argwhere(hidden)
    n = len(idx)
    out = np.full((n, 2), np.nan)
    if n == 0:
        return out
    pos = {tuple(p): k for k, p in enumerate(idx)}
    R, C = x.shape
    rows_eq, rhs = [], []

    def line(cells, total_cell):
        coef = np.zeros(n)
        b = 0.0
        for cell, sign in [(c, 1.0) for c in cells] + [(total_cell, -1.0)]:
            if cell in pos:
                coef[pos[cell]] += sign
            else:
                b -= sign * x[cell]
        if coef.any():
            rows_eq.append(coef)
            rhs.append(b)

    for i in range(R):
        line([(i, j) for j in range(C - 1)], (i, C - 1))
    for j in range(C):
        line([(i, j) for i in range(R - 1)], (R - 1, j))
    A = np.array(rows_eq) if rows_eq else np.zeros((0, n))
    b = np.array(rhs)
    lb = [(lbs[tuple(p)], None if np.isinf(ubs[tuple(p)]) else ubs[tuple(p)]) for p in idx]
    for k in range(n):
        if not primary[tuple(idx[k])]:
            continue
        c = np.zeros(n)
        c[k] = 1
        lo = linprog(c, A_eq=A if len(A) else None, b_eq=b if len(A) else None, bounds=lb, method="highs")
        hi = linprog(-c, A_eq=A if len(A) else None, b_eq=b if len(A) else None, bounds=lb, method="highs")
        out[k] = [lo.fun if lo.status == 0 else np.nan, -hi.fun if hi.status == 0 else np.inf]
    return out


def _pinned(x: np.ndarray, status: np.ndarray, threshold: int, max_lp_cells: int) -> list[tuple[int, int]]:
    """Primary cells whose deducible range is a single value."""
    R, C = x.shape
    hidden = status > 0
    if not hidden.any():
        return []
    lb = np.where(status == 1, 1.0, np.where(x >= threshold, float(threshold), 0.0))
    ub = np.where(status == 1, threshold - 1.0, np.inf)
    if C == 2:  # one column of units and their total: one equation, solved by hand
        body = [(i, 0) for i in range(R - 1) if hidden[i, 0]]
        if hidden[R - 1, 0] or not body:
            return []
        s = x[R - 1, 0] - sum(x[i, 0] for i in range(R - 1) if not hidden[i, 0])
        out = []
        for k in body:
            others = [c for c in body if c != k]
            lo = max(lb[k], s - sum(ub[c] for c in others))
            hi = min(ub[k], s - sum(lb[c] for c in others))
            if status[k] == 1 and hi - lo < 0.5:
                out.append(k)
        return out
    if hidden.sum() > max_lp_cells:
        logger.info("%s hidden cells: range check skipped (more than %s)", int(hidden.sum()), max_lp_cells)
        return []
    b = _bounds(x, hidden, status == 1, threshold, lb, ub)
    return [(int(i), int(j)) for (i, j), (lo, hi) in zip(np.argwhere(hidden), b)
            if status[i, j] == 1 and np.isfinite(lo) and hi - lo < 0.5]


def _protect(x: np.ndarray, threshold: int, max_lp_cells: int = 400) -> np.ndarray:
    """Status codes per cell of a table whose last row and column are its totals.

    0 shown, 1 primary, 2 secondary.
    """
    R, C = x.shape
    status = np.where((x > 0) & (x < threshold), 1, 0)

    def complement(cells) -> tuple[int, int] | None:
        cand = [c for c in cells if status[c] == 0 and x[c] > 0]
        if not cand:
            cand = [c for c in cells if status[c] == 0]
        return min(cand, key=lambda c: (x[c], c)) if cand else None

    for _ in range(R * C + 1):
        changed = False
        # a line with exactly one hidden cell gives it away: hide its smallest sibling
        lines = [[(i, j) for j in range(C)] for i in range(R)] + [[(i, j) for i in range(R)] for j in range(C)]
        for cells in lines:
            hidden = [c for c in cells if status[c]]
            if len(hidden) == 1:
                c = complement(cells)
                if c is not None:
                    status[c] = 2
                    changed = True
        if changed:
            continue
        # a hidden cell that is a bridge follows from the totals: close a cycle through it
        edges = [tuple(p) for p in np.argwhere(status > 0)]
        for k in _bridges(edges, R):
            i, j = edges[k]
            side_a = _component(edges, R, k, i)
            side_b = _component(edges, R, k, R + j)
            rows_a = [v for v in side_a if v < R]
            cols_a = [v - R for v in side_a if v >= R]
            rows_b = [v for v in side_b if v < R]
            cols_b = [v - R for v in side_b if v >= R]
            cells = [(r, c) for r in rows_a for c in cols_b] + [(r, c) for r in rows_b for c in cols_a]
            c = complement(cells)
            if c is not None:
                status[c] = 2
                changed = True
                break
        if changed:
            continue
        # the range an attacker can deduce for a small count must not be a single value
        for (i, j) in _pinned(x, status, threshold, max_lp_cells):
            c = complement([(i, jj) for jj in range(C)] + [(ii, j) for ii in range(R)])
            if c is not None:
                status[c] = 2
                changed = True
        if not changed:
            break
    return status


def suppress(table: pd.DataFrame, *, threshold: int | None = None, margins: bool = True) -> SuppressedTable:
    """Primary and secondary suppression of a table of counts.

    Parameters
    ----------
    table : pandas.DataFrame
        Non-negative integer counts, rows by columns (e.g. areas by crime type, or areas
        by month). A single column is fine (a list of areas and their total).
    threshold : int, optional
        Counts from 1 to ``threshold - 1`` are hidden. ``None``: ``settings.suppression_threshold``.
    margins : bool
        Add and publish the ``Total`` row and column (when False, ``table`` must already
        end with its totals row and column).

    Returns
    -------
    SuppressedTable

    Raises
    ------
    GeoInputError
        For negative or non-integer counts, or a threshold below 2.

    Examples
    --------
    >>> t = pd.DataFrame({"Robbery": [3, 12, 20], "Burglary": [30, 9, 40]}, index=["A", "B", "C"])
    >>> s = suppress(t)
    >>> s.labels.loc["A", "Robbery"], s.labels.loc["B", "Robbery"], s.labels.loc["Total", "Total"]
    ('<5', '*', '114')
    """
    threshold = int(threshold if threshold is not None else settings.suppression_threshold)
    if threshold < 2:
        raise GeoInputError(f"Suppression threshold {threshold} is below 2", fix="use 5 (the default) or more")
    t = table.copy()
    vals = t.to_numpy(dtype=float)
    if np.isnan(vals).any() or (vals < 0).any() or (vals != np.round(vals)).any():
        raise GeoInputError("Suppression needs non-negative whole counts", where="table",
                            fix="aggregate counts, not harm, and fill missing cells with 0")
    if margins:
        t[TOTAL] = t.sum(axis=1)
        t.loc[TOTAL] = t.sum(axis=0)
    x = t.to_numpy(dtype=np.int64)
    codes = _protect(x, threshold)
    status = pd.DataFrame(np.select([codes == 1, codes == 2], ["primary", "secondary"], ""),
                          index=t.index, columns=t.columns)
    public = t.astype(float).mask(codes > 0)
    labels = pd.DataFrame(np.where(codes == 1, primary_label(threshold),
                                   np.where(codes == 2, SECONDARY, np.vectorize(lambda v: f"{v:,}")(x))),
                          index=t.index, columns=t.columns)
    return SuppressedTable(public=public, labels=labels, status=status, threshold=threshold)


def recoverable(public: pd.DataFrame) -> list[tuple]:
    """Hidden cells whose exact value follows from the published table by linear algebra.

    ``public`` ends with its ``Total`` row and column and has NaN where hidden. A cell
    is recoverable when its unit vector lies in the row space of the totals' equations
    (differencing a total and its visible siblings is the one-equation case). Empty
    for the output of :func:`suppress`.
    """
    v = public.to_numpy(dtype=float)
    R, C = v.shape
    hidden = np.argwhere(np.isnan(v))
    if not len(hidden):
        return []
    pos = {tuple(p): k for k, p in enumerate(hidden)}
    eqs = []
    for cells in ([[(i, j) for j in range(C)] for i in range(R)] + [[(i, j) for i in range(R)] for j in range(C)]):
        coef = np.zeros(len(hidden))
        for n, c in enumerate(cells):
            if c in pos:
                coef[pos[c]] += -1.0 if n == len(cells) - 1 else 1.0
        if coef.any():
            eqs.append(coef)
    if not eqs:
        return []
    A = np.array(eqs)
    rank = np.linalg.matrix_rank(A)
    out = []
    for k, (i, j) in enumerate(hidden):
        e = np.zeros(len(hidden))
        e[k] = 1
        if np.linalg.matrix_rank(np.vstack([A, e])) == rank:
            out.append((public.index[i], public.columns[j]))
    return out


# ------------------------------------------------------------------ partner aggregates
def check_aggregate(frame: pd.DataFrame, what: str = "partner table") -> pd.DataFrame:
    """Raise if ``frame`` carries incident detail (ids, coordinates, dates, locations, points)."""
    bad = FORBIDDEN_COLUMNS & {str(c).lower() for c in frame.columns}
    if bad:
        raise GeoInputError(f"The {what} carries incident detail: {', '.join(sorted(bad))}",
                            fix="aggregate to areas with geo.disclosure before showing it to a partner")
    if isinstance(frame, gpd.GeoDataFrame) and len(frame) and frame.geometry.notna().any():
        kinds = set(frame.geometry.dropna().geom_type)
        if kinds & {"Point", "MultiPoint"}:
            raise GeoInputError(f"The {what} holds point geometries", fix="publish area polygons only")
    return frame


def round_harm(h, step: int = HARM_ROUND):
    """Harm rounded to the nearest ``step`` days (NaN stays NaN)."""
    return np.round(np.asarray(h, dtype=float) / step) * step


# ------------------------------------------------------------------ periods: fixed calendar quarters
# quarter_of, quarter_months, quarter_label, quarters_label and quarter_run are geo.periods'.
def complete_quarters(months) -> list[str]:
    """Calendar quarters all three of whose months are in ``months``, oldest first.

    Partners see these only. A quarter with a month missing is not offered: its figures
    would change when the month arrives, and the change would be that month alone.
    """
    held = set(months)
    qs = sorted({quarter_of(m) for m in held})
    return [q for q in qs if all(m in held for m in quarter_months(q))]


def quarters_for_months(m0: str, m1: str, available=None) -> list[str]:
    """The whole quarters a partner period ``m0..m1`` consists of.

    Raises
    ------
    GeoInputError
        If ``m0`` does not start a quarter or ``m1`` does not end one, or (with
        ``available``) a quarter of the period is not a complete quarter of the data.
    """
    q0, q1 = quarter_of(m0), quarter_of(m1)
    if quarter_months(q0)[0] != m0 or quarter_months(q1)[-1] != m1:
        raise GeoInputError(f"Partner products cover whole calendar quarters; {m0} to {m1} is not one",
                            fix=f"start on the first month of a quarter and end on the last, e.g. "
                                f"{quarter_months(q0)[0]} to {quarter_months(q1)[-1]}")
    qs = quarter_run(q0, q1)
    if available is not None:
        missing = [q for q in qs if q not in set(available)]
        if missing:
            have = ", ".join(available) if len(available) else "none yet"
            raise GeoInputError(f"{', '.join(missing)} is not a complete quarter of the data",
                                fix=f"choose among the complete quarters: {have}")
    return qs


# ------------------------------------------------------------------ the published base table
BASE_LEVELS = ("lsoa", "neighbourhood", "ward")
HEX_SIZE_M = 500.0
#: Each hidden small count stands for this many in "about" figures (small counts are mostly 1 or 2).
SMALL_CELL_ESTIMATE = 2.0


def base_units(boundaries: gpd.GeoDataFrame, *, area=None, force: str | None = None,
               crs=None) -> tuple[str, gpd.GeoDataFrame]:
    """The base units of the partner table: the finest published boundary level.

    LSOAs where the workspace has them, else neighbourhoods, else wards (this force's
    units only); without any, a fixed 500 m hexagon grid over ``area``.

    Returns
    -------
    (level, GeoDataFrame)
        ``code``, ``name``, ``geometry`` and ``px``, ``py``: the unit's representative
        point (inside the polygon), which decides which areas the unit belongs to.
    """
    for level in BASE_LEVELS:
        b = boundaries[boundaries["level"] == level] if "level" in boundaries else boundaries.iloc[:0]
        if force and "force" in b:
            b = b[b["force"].fillna(force) == force]
        if len(b):
            units = b[["code", "name", "geometry"]].reset_index(drop=True)
            break
    else:
        if area is None:
            raise GeoInputError("The workspace has no boundaries and no area for a partner table",
                                fix="import LSOA, neighbourhood or ward boundaries")
        level, units = "hex", hex_units(area, cell_size=HEX_SIZE_M, crs=crs)
    units = gpd.GeoDataFrame(units, geometry="geometry", crs=crs or units.crs).reset_index(drop=True)
    units["code"] = units["code"].astype(str)
    units["name"] = units["name"].astype(str)
    rp = units.geometry.representative_point()
    units["px"], units["py"] = rp.x.to_numpy(), rp.y.to_numpy()
    return level, units


@dataclass(frozen=True)
class Figure:
    """A published figure: an exact value, or the range a set of base cells allows.

    ``lo`` and ``hi`` are computed from published base values only (each ``"<5"`` cell
    counts as 1 to 4), so a figure never says more than the base table.
    """

    lo: float
    hi: float
    threshold: int = 5
    harm: bool = False
    #: Point estimate: shown values plus :data:`SMALL_CELL_ESTIMATE` per hidden cell (a
    #: constant, so a function of published values only). ``None``: the middle of the range.
    est: float | None = None

    @property
    def exact(self) -> bool:
        return self.lo == self.hi

    @property
    def suppressed(self) -> bool:
        """True when the figure is one small count (or its harm): 1 to ``threshold - 1``."""
        return False if self.harm else (self.lo >= 1 and self.hi <= self.threshold - 1 and not self.exact)

    @property
    def mid(self) -> float:
        """The point estimate (:attr:`est`), or the middle of the range."""
        return (self.lo + self.hi) / 2 if self.est is None else self.est

    def _r(self, v: float, up: bool | None = None) -> float:
        step = HARM_ROUND if self.harm else 1
        f = np.ceil if up else np.floor if up is False else np.round
        return float(f(v / step) * step)

    @property
    def label(self) -> str:
        """``"1,234"``, ``"<5"`` or a range ``"40–52"`` (harm rounded to 10 days)."""
        if self.exact:
            return f"{self._r(self.lo):,.0f}"
        if self.suppressed:
            return primary_label(self.threshold)
        return f"{self._r(self.lo, False):,.0f}–{self._r(self.hi, True):,.0f}"

    @property
    def about(self) -> str:
        """``"1,234"`` when exact, else ``"about 1,250"`` (:attr:`mid` rounded to the range's precision)."""
        if self.exact:
            return self.label
        if self.suppressed:
            return primary_label(self.threshold)
        m = self.mid
        step = 10 ** max(0, int(np.floor(np.log10(max(self.hi - self.lo, 1)))) - 1)
        step = max(step, HARM_ROUND if self.harm else 1)
        return f"about {np.round(m / step) * step:,.0f}"

    def __add__(self, other: "Figure") -> "Figure":
        return Figure(self.lo + other.lo, self.hi + other.hi, self.threshold, self.harm, self.mid + other.mid)


def pct_change(now: Figure, before: Figure) -> str:
    """Change between two figures as text (``"+4.1%"``, ``"about +4%"``), from published values only."""
    if before.mid <= 0:
        return "–"
    v = (now.mid - before.mid) / before.mid * 100
    return f"{v:+.1f}%" if now.exact and before.exact else f"about {v:+.0f}%"


def share(part: Figure, whole: Figure) -> str:
    """``part`` as a share of ``whole`` (text), from published values only."""
    if whole.mid <= 0:
        return "–"
    v = part.mid / whole.mid * 100
    return f"{v:.1f}%" if part.exact and whole.exact else f"about {v:.0f}%"


@dataclass(frozen=True)
class Published:
    """The one table partners' figures come from, and the functions that derive them.

    ``cells`` holds one row per base unit × calendar quarter × layer × category ×
    basket flag with an incident: ``unit``, ``quarter``, ``layer``, ``category``,
    ``basket`` (bool), ``count`` (the count, or NaN when it is 1 to ``threshold - 1``),
    ``harm`` (its harm, NaN when the count is hidden), ``w_lo``, ``w_hi`` (the published
    harm weight bounds of the category). Every other partner figure (an area, a ward,
    a BCU, the force, several quarters, harm, a chart value) is a sum over these cells
    in which each hidden cell counts as the interval 1..threshold-1 (:class:`Figure`),
    so no combination of partner figures carries information beyond this table.
    Absent rows are zeros.
    """

    cells: pd.DataFrame
    units: gpd.GeoDataFrame
    level: str
    quarters: tuple[str, ...]
    threshold: int
    enforcement_category: str = settings.enforcement_category

    @property
    def note(self) -> str:
        t = self.threshold
        kind = {"hex": f"{HEX_SIZE_M:.0f} m hexagon", "lsoa": "LSOA"}.get(self.level, self.level)
        return (f"Figures are built from one table of counts by {kind}, calendar quarter and crime type, in which "
                f"counts from 1 to {t - 1} are shown as '<{t}'. Every total is the sum of that table's cells: "
                f"where it includes '<{t}' cells it is given as a range (each counting as 1 to {t - 1}) or as "
                f"'about' the middle of that range. Harm is the count times the published weight, rounded to "
                f"{HARM_ROUND} days. Areas are made of whole {kind}s (those whose centre lies inside).")

    # -------------------------------------------------------------- selecting cells
    def _mask(self, *, units=None, quarters=None, layer=None, basket=None, category=None) -> np.ndarray:
        c = self.cells
        m = np.ones(len(c), dtype=bool)
        if units is not None:
            m &= c["unit"].isin(list(units)).to_numpy()
        if quarters is not None:
            m &= c["quarter"].isin(list(quarters)).to_numpy()
        if layer is not None:
            m &= (c["layer"] == layer).to_numpy()
        if basket is not None:
            m &= (c["basket"] == bool(basket)).to_numpy()
        if category is not None:
            m &= (c["category"] == category).to_numpy()
        return m

    def figure(self, *, units=None, quarters=None, layer=None, basket=None, category=None,
               harm: bool = False) -> Figure:
        """The count (or harm) of the selected base cells as a :class:`Figure`.

        ``units``: base unit codes (``None``: all); ``quarters`` (``None``: all);
        ``layer`` (``"crime"``/``"calls"``); ``basket``: drug-market basket only (True),
        outside it (False); ``category``: one crime type.
        """
        c = self.cells[self._mask(units=units, quarters=quarters, layer=layer, basket=basket, category=category)]
        return _figure(c, self.threshold, harm)

    def table(self, by: str, *, units=None, quarters=None, layer=None, basket=None) -> pd.DataFrame:
        """Figures per ``by`` (``"unit"``, ``"category"``, ``"quarter"``, ``"layer"``) over the selection.

        Returns
        -------
        DataFrame
            ``by``, ``count`` and ``harm`` (:class:`Figure`), ``count_label``,
            ``harm_label``; one row per value of ``by`` with at least one cell.
        """
        c = self.cells[self._mask(units=units, quarters=quarters, layer=layer, basket=basket)]
        rows = [{by: k, "count": _figure(g, self.threshold, False), "harm": _figure(g, self.threshold, True)}
                for k, g in c.groupby(by, sort=True)]
        out = pd.DataFrame(rows, columns=[by, "count", "harm"])
        out["count_label"] = [f.label for f in out["count"]]
        out["harm_label"] = [_harm_label(h, n) for h, n in zip(out["harm"], out["count"])]
        return check_aggregate(out, f"table by {by}")

    # -------------------------------------------------------------- areas from whole units
    def units_in(self, geometry) -> list[str]:
        """Codes of the base units whose representative point lies in ``geometry``."""
        import shapely
        shapely.prepare(geometry)
        inside = shapely.contains_xy(geometry, self.units["px"].to_numpy(), self.units["py"].to_numpy())
        return list(self.units.loc[inside, "code"])

    def snap(self, geometry, *, min_units: int | None = None, what: str = "The drawn area") -> list[str]:
        """The base units a drawn area is made of, refusing areas smaller than ``min_units`` units.

        Raises
        ------
        GeoInputError
            When fewer than ``min_units`` (``None``: ``settings.partner_min_units``) base units have
            their centre inside ``geometry``.
        """
        need = settings.partner_min_units if min_units is None else int(min_units)
        codes = self.units_in(geometry)
        if len(codes) < need:
            kind = {"hex": "hexagons", "lsoa": "LSOAs"}.get(self.level, f"{self.level}s")
            raise GeoInputError(f"{what} covers {len(codes)} whole {kind}; partner figures need at least {need}",
                                fix=f"draw a larger area (it is made of the {kind} whose centre lies inside)")
        return codes

    def geometry_of(self, codes) -> object:
        """The union of the given base units' polygons."""
        import shapely
        return shapely.union_all(self.units.loc[self.units["code"].isin(list(codes)), "geometry"].to_numpy())

    def unit_table(self, *, parents: gpd.GeoDataFrame | None = None, quarters=None, basket: bool | None = True,
                   layer=None, keep_empty: bool = False) -> gpd.GeoDataFrame:
        """Count and harm per base unit, or per ``parents`` polygon (each the sum of its base units).

        Returns
        -------
        GeoDataFrame
            ``code``, ``name``, ``count`` and ``harm`` (the middle of the figure's range,
            NaN when the count is one small cell), ``count_label``, ``harm_label``,
            ``units`` (how many base units), ``geometry``. ``attrs``: ``total_label``,
            ``total_harm``, ``total_harm_label``, ``note``, ``threshold``.
        """
        if parents is None:
            groups = {c: [c] for c in self.units["code"]}
            frame = self.units[["code", "name", "geometry"]]
        else:
            frame = parents[["code", "name", "geometry"]].reset_index(drop=True)
            groups = {c: self.units_in(g) for c, g in zip(frame["code"], frame.geometry)}
        c = self.cells[self._mask(quarters=quarters, layer=layer, basket=basket)]
        by_unit = dict(tuple(c.groupby("unit")))
        empty = c.iloc[:0]
        counts, harms = [], []
        for code in frame["code"]:
            parts = [by_unit[u] for u in groups[code] if u in by_unit]
            g = pd.concat(parts) if parts else empty
            counts.append(_figure(g, self.threshold, False))
            harms.append(_figure(g, self.threshold, True))
        out = gpd.GeoDataFrame({
            "code": frame["code"].to_numpy(), "name": frame["name"].to_numpy(),
            "count": [np.nan if f.suppressed else f.mid for f in counts],
            "count_label": [f.label for f in counts],
            "harm": [np.nan if n.suppressed else float(round_harm(h.mid)) for h, n in zip(harms, counts)],
            "harm_label": [_harm_label(h, n) for h, n in zip(harms, counts)],
            "units": [len(groups[c]) for c in frame["code"]],
        }, geometry=frame.geometry.to_numpy(), crs=self.units.crs)
        if not keep_empty:
            out = out[[f.hi > 0 for f in counts]].reset_index(drop=True)
        total = _figure(c, self.threshold, False)
        total_h = _figure(c, self.threshold, True)
        out.attrs.update(total_label=total.label, total_about=total.about, total_harm=float(round_harm(total_h.mid)),
                         total_harm_label=total_h.about, note=self.note, threshold=self.threshold)
        return check_aggregate(out, "unit table")


def _figure(cells: pd.DataFrame, threshold: int, harm: bool) -> Figure:
    shown = cells["count"].notna().to_numpy()
    if harm:
        known = float(cells.loc[shown, "harm"].sum())
        lo = known + float(cells.loc[~shown, "w_lo"].sum())
        hi = known + float(cells.loc[~shown, "w_hi"].sum()) * (threshold - 1)
        w_mid = float((cells.loc[~shown, "w_lo"] + cells.loc[~shown, "w_hi"]).sum()) / 2
        est = known + w_mid * min(SMALL_CELL_ESTIMATE, threshold - 1)
    else:
        known = float(cells.loc[shown, "count"].sum())
        k = int((~shown).sum())
        lo, hi = known + k, known + k * (threshold - 1)
        est = known + k * min(SMALL_CELL_ESTIMATE, threshold - 1)
    return Figure(lo, hi, threshold, harm, est)


def _harm_label(h: Figure, n: Figure) -> str:
    return n.label if n.suppressed else h.label


def publish(incidents: pd.DataFrame, units: gpd.GeoDataFrame, *, quarters, level: str = "lsoa",
            threshold: int | None = None) -> Published:
    """Build the published base table from incidents: the one input of every partner figure.

    Parameters
    ----------
    incidents : GeoDataFrame
        Points with ``month``, ``layer``, ``category``, ``harm`` and ``in_basket`` (from
        :meth:`geo.workspace.Workspace.incidents`). Their detail is dropped here.
    units : GeoDataFrame
        Base units from :func:`base_units` (``code``, ``name``, ``geometry``, ``px``, ``py``).
    quarters : sequence of str
        The complete calendar quarters to publish (:func:`complete_quarters`); incidents
        of other months are left out.
    level : str
        The units' level, for the notes.
    threshold : int, optional
        ``None``: ``settings.suppression_threshold``.

    Returns
    -------
    Published
        Incidents outside every unit are not counted (a point on a shared edge counts
        in one unit).
    """
    threshold = int(threshold if threshold is not None else settings.suppression_threshold)
    if threshold < 2:
        raise GeoInputError(f"Suppression threshold {threshold} is below 2", fix="use 5 (the default) or more")
    quarters = tuple(quarters)
    months = {m for q in quarters for m in quarter_months(q)}
    inc = incidents[incidents["month"].isin(months) & incidents.geometry.notna()]
    cols = ["unit", "quarter", "layer", "category", "basket", "count", "harm", "w_lo", "w_hi"]
    if len(inc) and len(units):
        j = gpd.sjoin(inc[["month", "layer", "category", "harm", "in_basket", "geometry"]],
                      units[["code", "geometry"]], how="inner", predicate="intersects")
        j = j[~j.index.duplicated(keep="first")]
        # the harm weight bounds of each category over the whole workspace (published weights)
        w = incidents.groupby(["layer", "category"], observed=True)["harm"].agg(["min", "max"])
        j = j.assign(quarter=[quarter_of(m) for m in j["month"]], basket=j["in_basket"].astype(bool))
        g = (j.groupby(["code", "quarter", "layer", "category", "basket"], observed=True)
             .agg(count=("harm", "size"), harm=("harm", "sum")).reset_index().rename(columns={"code": "unit"}))
        wb = w.reindex(pd.MultiIndex.from_frame(g[["layer", "category"]]))
        g["w_lo"], g["w_hi"] = wb["min"].to_numpy(), wb["max"].to_numpy()
        g["count"] = g["count"].astype(float)
        hidden = (g["count"] > 0) & (g["count"] < threshold)
        g.loc[hidden, ["count", "harm"]] = np.nan
        cells = g[cols]
    else:
        cells = pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    return Published(cells=cells.reset_index(drop=True), units=units, level=level, quarters=quarters,
                     threshold=threshold)


def published_for(ws, *, quarters=None, threshold: int | None = None, incidents=None) -> Published:
    """The workspace's published base table (every complete quarter unless ``quarters``).

    The one function pages, briefings and the command line use for partner figures.
    ``threshold`` ``None``: the workspace's ``suppression_threshold`` setting.
    """
    inc = incidents if incidents is not None else ws.incidents()
    threshold = int(threshold or ws.setting("suppression_threshold", settings.suppression_threshold))
    if quarters is None:
        quarters = complete_quarters(ws.store.months())
    level, units = base_units(ws.boundaries(), area=ws.area(), force=ws.force, crs=ws.crs)
    return publish(inc, units, quarters=quarters, level=level, threshold=threshold)


def hex_units(area, *, cell_size: float = 500.0, crs=None) -> gpd.GeoDataFrame:
    """A fixed hexagon grid (anchored at the CRS origin) over ``area``: ``code``, ``name``, ``geometry``.

    The same cells for every request of the same size, so two partner maps never
    offset against each other.
    """
    from .grid import GridSpec
    import shapely
    geom = area.union_all() if hasattr(area, "union_all") else area
    crs = crs or getattr(area, "crs", None)
    xmin, ymin, xmax, ymax = geom.bounds
    spec = GridSpec.covering([xmin, xmax, xmin, xmax], [ymin, ymin, ymax, ymax], cell_size, "hex", pad=1)
    rows, cols = np.divmod(np.arange(spec.size), spec.ncols)
    polys = spec.polygons(rows, cols)
    shapely.prepare(geom)
    keep = shapely.intersects(geom, polys) & ~shapely.touches(geom, polys)
    ids = spec.cell_ids(rows[keep], cols[keep])
    return gpd.GeoDataFrame({"code": ids, "name": [f"hexagon {i}" for i in ids]},
                            geometry=polys[keep], crs=crs)
