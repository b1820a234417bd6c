"""Cell suppression for two-dimensional tables published with their margins: primary ``<5``
and secondary ``*`` suppression so that no hidden cell follows from the totals
(:func:`suppress`, :func:`recoverable`), and the checks on any partner frame
(:func:`check_aggregate`, :func:`round_harm`).

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

from ..errors import GeoInputError
from ..settings import settings

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
