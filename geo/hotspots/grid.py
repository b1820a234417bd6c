"""Regular square and hexagonal grids over point data: cell size, binning and counts.

Grids are anchored at the origin of the CRS, so two grids with the same ``cell_size``
and ``shape`` share cells (and ``cell_id`` values) whatever data they were built from.
All lengths are metres.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import GeoInputError
from ..settings import settings
# check_crs_metres is not used here but stays importable from geo.grid, as before the split
from .inputs import area_geometry, check_cell_size, check_crs_metres, point_weights, point_xy  # noqa: F401

logger = logging.getLogger(__name__)

#: Fixed output columns of :func:`grid_counts`.
GRID_COLUMNS: tuple[str, ...] = ("cell_id", "row", "col", "n", "harm", "geometry")
SHAPES: tuple[str, ...] = ("square", "hex")
SQRT3 = math.sqrt(3.0)


def setting(name: str, fallback):
    """Read an optional default from :data:`geo.settings.settings`, else ``fallback``."""
    return getattr(settings, name, fallback)


@dataclass(frozen=True)
class GridSpec:
    """A regular grid anchored at the CRS origin: turns (row, col) into cells and back.

    Parameters
    ----------
    shape : {"square", "hex"}
        Square cells, or pointy-top hexagons in "odd-r" offset layout (odd rows shifted
        half a cell east).
    cell_size : float
        Square side in metres; for hexagons the distance between the centres of two
        adjacent cells (= flat-to-flat width; area ``sqrt(3)/2 * cell_size**2``).
    row0, col0 : int
        Global lattice index of local row 0 and column 0 (``row0`` is even for hex).
    nrows, ncols : int
        Grid dimensions. Row numbers increase northwards, columns eastwards.
    """

    shape: str
    cell_size: float
    row0: int
    col0: int
    nrows: int
    ncols: int

    @property
    def row_step(self) -> float:
        """Distance in metres between the centres of consecutive rows."""
        return self.cell_size * (SQRT3 / 2 if self.shape == "hex" else 1.0)

    @property
    def size(self) -> int:
        """Number of cells in the full rectangle of rows x columns."""
        return self.nrows * self.ncols

    @property
    def cell_area(self) -> float:
        """Area of one cell in square metres."""
        s = self.cell_size
        return s * s * (SQRT3 / 2 if self.shape == "hex" else 1.0)

    # -- lattice maths ----------------------------------------------------------------
    @staticmethod
    def _global_index(shape: str, s: float, x: np.ndarray, y: np.ndarray):
        """Global (row, col) lattice index of the cell holding each point."""
        if shape == "square":
            return np.floor(y / s).astype(np.int64), np.floor(x / s).astype(np.int64)
        # pointy-top hex of circumradius R = s / sqrt(3): axial coords, cube rounding
        rr = s / SQRT3
        qf = (SQRT3 / 3 * x - y / 3) / rr
        rf = (2 / 3 * y) / rr
        sf = -qf - rf
        q, r, c = np.rint(qf), np.rint(rf), np.rint(sf)
        dq, dr, dc = np.abs(q - qf), np.abs(r - rf), np.abs(c - sf)
        fix_q = (dq > dr) & (dq > dc)
        fix_r = ~fix_q & (dr > dc)
        q = np.where(fix_q, -r - c, q)
        r = np.where(fix_r, -q - c, r)
        q = q.astype(np.int64)
        r = r.astype(np.int64)
        col = q + (r - (r & 1)) // 2
        return r, col

    @classmethod
    def covering(cls, x, y, cell_size: float, shape: str = "square", pad: int = 0) -> "GridSpec":
        """Smallest grid of this lattice holding every point ``(x, y)``, plus ``pad`` cells."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        r, c = cls._global_index(shape, cell_size, x, y)
        r_lo, r_hi = int(r.min()) - pad, int(r.max()) + pad
        c_lo, c_hi = int(c.min()) - pad, int(c.max()) + pad
        if shape == "hex" and r_lo % 2:
            r_lo -= 1  # keep local row parity equal to global parity
        return cls(shape, float(cell_size), r_lo, c_lo, r_hi - r_lo + 1, c_hi - c_lo + 1)

    def locate(self, x, y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Local (row, col) of the cell holding each point and a mask of points inside."""
        r, c = self._global_index(self.shape, self.cell_size, np.asarray(x, float),
                                  np.asarray(y, float))
        r -= self.row0
        c -= self.col0
        inside = (r >= 0) & (r < self.nrows) & (c >= 0) & (c < self.ncols)
        return r, c, inside

    def centres(self, row, col) -> tuple[np.ndarray, np.ndarray]:
        """Centre coordinates (metres) of local cells ``(row, col)``."""
        rg = np.asarray(row, dtype=np.int64) + self.row0
        cg = np.asarray(col, dtype=np.int64) + self.col0
        s = self.cell_size
        if self.shape == "square":
            return (cg + 0.5) * s, (rg + 0.5) * s
        return (cg + 0.5 * (rg & 1)) * s, rg * (SQRT3 / 2) * s

    def polygons(self, row, col) -> np.ndarray:
        """Shapely polygons of local cells ``(row, col)``."""
        cx, cy = self.centres(row, col)
        s = self.cell_size
        if self.shape == "square":
            h = s / 2
            return shapely.box(cx - h, cy - h, cx + h, cy + h)
        rr = s / SQRT3
        ang = np.deg2rad(np.array([30, 90, 150, 210, 270, 330, 30]))
        xs = cx[:, None] + rr * np.cos(ang)[None, :]
        ys = cy[:, None] + rr * np.sin(ang)[None, :]
        return shapely.polygons(np.stack([xs, ys], axis=-1))

    def cell_ids(self, row, col) -> np.ndarray:
        """Stable text ids: ``"<E>_<N>"`` of the south-west corner (square) or centre (hex).

        Ids are the same for the same cell in any grid with equal ``shape`` and
        ``cell_size``, so periods can be joined on them.
        """
        if self.shape == "square":
            ex = (np.asarray(col, np.int64) + self.col0) * self.cell_size
            ny = (np.asarray(row, np.int64) + self.row0) * self.cell_size
        else:
            ex, ny = self.centres(row, col)
        ex = pd.Series(np.rint(ex).astype(np.int64)).astype(str)
        ny = pd.Series(np.rint(ny).astype(np.int64)).astype(str)
        return (ex + "_" + ny).to_numpy(dtype=object)

    def same_lattice(self, other: "GridSpec") -> bool:
        """True if both grids use the same cell shape and size (cells coincide)."""
        return self.shape == other.shape and math.isclose(self.cell_size, other.cell_size)

    def neighbour_offsets(self, distance: float) -> dict[int, np.ndarray]:
        """Offsets ``(drow, dcol)`` of cells whose centres lie within ``distance``.

        Includes ``(0, 0)`` (the cell itself). Returns one array per row parity (square
        grids use the same offsets for both). Centre distances are compared with a
        relative tolerance of 1e-9 so that ``distance == cell_size`` includes the rook
        neighbours despite rounding.
        """
        s = self.cell_size
        k = int(math.ceil(distance / min(s, self.row_step))) + 1
        dr, dc = np.meshgrid(np.arange(-k, k + 1), np.arange(-k, k + 1), indexing="ij")
        dr, dc = dr.ravel(), dc.ravel()
        out = {}
        for parity in (0, 1):
            x0, y0 = self.centres(np.array([parity - self.row0 % 2]), np.array([0]))
            x1, y1 = self.centres(parity - self.row0 % 2 + dr, dc)
            d = np.hypot(x1 - x0, y1 - y0)
            keep = d <= distance * (1 + 1e-9)
            out[parity] = np.stack([dr[keep], dc[keep]], axis=1)
        return out


def auto_cell_size(points) -> float:
    """Choose a grid cell size from the extent of the points and log it.

    The rule: the short side of the points' bounding box divided by
    ``settings.cells_on_short_side`` (50), rounded down to a multiple of
    ``settings.round_cell_to_m`` (50 m), and never below ``settings.min_auto_cell_m``
    (50 m): a few clustered points would otherwise give metre-sized cells over a whole
    force. Grids too big for ``settings.max_grid_cells`` are refused (:func:`check_grid_size`).

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Points in a projected CRS in metres.

    Returns
    -------
    float
        Cell size in metres.

    Raises
    ------
    GeoInputError
        If the points are not usable (see :func:`point_xy`) or all share one location.

    Examples
    --------
    >>> import geopandas as gpd
    >>> pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0, 12_000], [0, 30_000]),
    ...                        crs="EPSG:27700")
    >>> auto_cell_size(pts)
    200.0
    """
    x, y = point_xy(points)
    return auto_cell_size_xy(x, y)


def auto_cell_size_xy(x: np.ndarray, y: np.ndarray, log: bool = True) -> float:
    short = min(float(x.max() - x.min()), float(y.max() - y.min()))
    if short <= 0:
        short = max(float(x.max() - x.min()), float(y.max() - y.min()))
    if short <= 0:
        raise GeoInputError(
            "cannot derive a cell size: all points share one location",
            fix="pass cell_size=... in metres",
        )
    raw = short / settings.cells_on_short_side
    step = settings.round_cell_to_m
    size = math.floor(raw / step) * step if raw >= step else raw
    floor = float(setting("min_auto_cell_m", 50.0))
    if size < floor:
        if log:
            logger.info("automatic cell_size %s m is below the lower bound; using %s m",
                        f"{size:,.1f}", f"{floor:,.0f}")
        size = floor
    size = max(float(size), 1.0)
    if log:
        logger.info("cell_size set automatically to %s m", f"{size:,.0f}")
    return size


def suggest_cell_size(width: float, height: float, *, layers: int = 1, max_cells: int | None = None) -> float:
    """The smallest cell size (a multiple of ``settings.round_cell_to_m``) keeping
    ``width x height`` metres (times ``layers``) under ``max_cells`` cells.

    Examples
    --------
    >>> suggest_cell_size(60_000, 50_000, max_cells=4_000_000)
    50.0
    >>> suggest_cell_size(600_000, 500_000, max_cells=4_000_000)
    300.0
    """
    max_cells = int(setting("max_grid_cells", 4_000_000) if max_cells is None else max_cells)
    step = float(settings.round_cell_to_m)
    raw = math.sqrt(max(width, 1.0) * max(height, 1.0) * max(layers, 1) / max_cells)
    size = max(step, math.ceil(raw / step) * step)
    while math.ceil(width / size + 1) * math.ceil(height / size + 1) * max(layers, 1) > max_cells:
        size += step
    return float(size)


def check_grid_size(spec: "GridSpec", *, layers: int = 1, what: str = "grid", max_cells: int | None = None) -> None:
    """Refuse a grid of more than ``max_cells`` cells (times ``layers``) before it is allocated.

    Parameters
    ----------
    spec : GridSpec
        The planned grid (a :class:`GridSpec` holds only its corner and shape: no memory).
    layers : int
        Arrays of the grid's size held at once (periods of an emerging hot-spot cube).
    what : str
        Name of the grid in the message.
    max_cells : int, optional
        ``None``: ``settings.max_grid_cells``.

    Raises
    ------
    GeoInputError
        Naming the grid's size and a cell size that fits.
    """
    max_cells = int(setting("max_grid_cells", 4_000_000) if max_cells is None else max_cells)
    total = spec.size * max(int(layers), 1)
    if total <= max_cells:
        return
    width, height = spec.ncols * spec.cell_size, spec.nrows * spec.row_step
    fits = suggest_cell_size(width, height, layers=layers, max_cells=max_cells)
    per = f" x {layers:,} periods" if layers > 1 else ""
    raise GeoInputError(
        f"The {what} would have {spec.ncols:,} x {spec.nrows:,} cells{per} = {total:,} cells of "
        f"{spec.cell_size:,.1f} m over {width / 1000:,.1f} x {height / 1000:,.1f} km, above the limit of "
        f"{max_cells:,} (settings.max_grid_cells)",
        fix=f"use cell_size={fits:,.0f} or larger, or a smaller area",
    )


def _check_shape(shape: str) -> str:
    if shape not in SHAPES:
        raise GeoInputError(
            f"shape must be one of {SHAPES}, got {shape!r}", fix="pass shape='square' or 'hex'"
        )
    return shape


def grid_counts(
    points,
    *,
    cell_size: float | None = None,
    shape: str = "square",
    weight: str | None = None,
    area=None,
    keep_empty: bool = True,
    grid: GridSpec | None = None,
) -> gpd.GeoDataFrame:
    """Count points and sum their harm weights on a square or hexagonal grid.

    Points are binned with numpy (no spatial join): each point falls in exactly one
    cell; square cells are half-open ``[x0, x0 + s) x [y0, y0 + s)`` so a point on a
    shared edge goes to the cell to its north/east. Hexagons are pointy-top.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Points in a projected CRS in metres (e.g. EPSG:27700).
    cell_size : float, optional
        Square side, or hexagon centre spacing, in metres. ``None``: derived with
        :func:`auto_cell_size` and logged. Ignored when ``grid`` is given.
    shape : {"square", "hex"}
        Cell shape.
    weight : str, optional
        Column of per-point harm weights (finite, >= 0). ``None``: every point weighs 1.
    area : shapely geometry, GeoSeries or GeoDataFrame, optional
        Study area. The grid covers its bounding box and only cells overlapping it
        (sharing more than a boundary) are kept; points in dropped cells are not counted (their number is logged and put in
        ``attrs["n_outside"]``).
    keep_empty : bool
        Keep cells with no points (needed for Gi*, which treats them as zeros).
    grid : GridSpec, optional
        Reuse an existing grid (``cells.attrs["grid"]`` of an earlier result) so that
        several periods share exactly the same cells. Points outside it are dropped and
        logged as for ``area``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cell with columns ``cell_id`` (str, ``"<E>_<N>"`` of the south-west
        corner or hex centre, metres), ``row``, ``col`` (int, rows increase northwards),
        ``n`` (int, points), ``harm`` (float, sum of weights; equals ``n`` if
        ``weight`` is None) and ``geometry`` (cell polygon), in the points' CRS.
        ``attrs["grid"]`` holds the :class:`GridSpec`.

    Raises
    ------
    GeoInputError
        For a geographic CRS, empty input, bad geometries, bad weights or bad parameters.

    Examples
    --------
    >>> import geopandas as gpd
    >>> pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0, 100, 150, 199.9],
    ...                        [0, 0, 50, 99]), crs="EPSG:27700")
    >>> cells = grid_counts(pts, cell_size=100)
    >>> cells[["cell_id", "n"]].to_dict("list")
    {'cell_id': ['0_0', '100_0'], 'n': [1, 3]}
    """
    x, y = point_xy(points)
    w = point_weights(points, weight)
    geom = area_geometry(area, points.crs)
    if grid is not None:
        if not isinstance(grid, GridSpec):
            raise GeoInputError(
                f"`grid` must be a GridSpec, got {type(grid).__name__}",
                fix="pass grid=cells.attrs['grid'] from an earlier grid_counts result",
            )
        spec = grid
    else:
        spec = plan_grid(x, y, cell_size=cell_size, shape=shape, area_geom=geom)
    check_grid_size(spec, what="hot-spot grid")
    return _counts_frame(spec, x, y, w, geom, keep_empty, points.crs)


def plan_grid(x, y, *, cell_size: float | None, shape: str = "square", area_geom=None) -> GridSpec:
    """The grid :func:`grid_counts` would build (nothing allocated): over ``area_geom``'s
    bounding box if given, else over the points; ``cell_size=None`` is derived and logged."""
    _check_shape(shape)
    size = auto_cell_size_xy(x, y) if cell_size is None else check_cell_size(cell_size)
    if area_geom is not None:
        xmin, ymin, xmax, ymax = area_geom.bounds
        pad = 1 if shape == "hex" else 0
        return GridSpec.covering([xmin, xmax, xmin, xmax], [ymin, ymin, ymax, ymax], size, shape, pad=pad)
    return GridSpec.covering(x, y, size, shape)


def bin_counts(spec: GridSpec, x, y, w=None) -> tuple[np.ndarray, np.ndarray, int]:
    """Bin points on ``spec``: 2-D arrays of counts and summed weights, and #outside.

    Arrays have shape ``(spec.nrows, spec.ncols)``; row 0 is the southernmost row.
    """
    r, c, inside = spec.locate(x, y)
    n_out = int((~inside).sum())
    flat = (r * spec.ncols + c)[inside]
    n = np.bincount(flat, minlength=spec.size).reshape(spec.nrows, spec.ncols)
    if w is None:
        harm = n.astype(float)
    else:
        harm = np.bincount(flat, weights=np.asarray(w, float)[inside],
                           minlength=spec.size).reshape(spec.nrows, spec.ncols)
    return n, harm, n_out


def _counts_frame(spec, x, y, w, area_geom, keep_empty, crs) -> gpd.GeoDataFrame:
    n, harm, n_out = bin_counts(spec, x, y, w)
    n, harm = n.ravel(), harm.ravel()
    keep = np.ones(spec.size, bool) if keep_empty else n > 0
    idx = np.flatnonzero(keep)
    rows, cols = np.divmod(idx, spec.ncols)
    polys = spec.polygons(rows, cols)
    if area_geom is not None:
        shapely.prepare(area_geom)
        hit = shapely.intersects(area_geom, polys) & ~shapely.touches(area_geom, polys)
        lost = int(n[idx[~hit]].sum())
        idx, rows, cols, polys = idx[hit], rows[hit], cols[hit], polys[hit]
        n_out += lost
    if n_out:
        logger.warning("%s point(s) fall outside the grid/area and were not counted", n_out)
    out = gpd.GeoDataFrame(
        {
            "cell_id": spec.cell_ids(rows, cols),
            "row": rows.astype(np.int64),
            "col": cols.astype(np.int64),
            "n": n[idx].astype(np.int64),
            "harm": harm[idx].astype(float),
        },
        geometry=gpd.GeoSeries(polys, crs=crs),
        crs=crs,
    )
    out.attrs["grid"] = spec
    out.attrs["n_outside"] = n_out
    return out


def cells_to_array(cells, column: str) -> tuple[np.ndarray, GridSpec]:
    """Scatter a grid column back into a 2-D array (NaN where the grid has no cell).

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        Output of :func:`grid_counts` (needs ``row``, ``col`` and ``attrs["grid"]``).
    column : str
        Numeric column to scatter.

    Returns
    -------
    array : numpy.ndarray
        Shape ``(nrows, ncols)``, row 0 southernmost.
    grid : GridSpec
    """
    spec = grid_of(cells)
    if spec is None:
        raise GeoInputError(
            "cells carry no grid description (attrs['grid'] with row/col columns)",
            fix="build the cells with geo.hotspots.grid_counts",
        )
    arr = np.full((spec.nrows, spec.ncols), np.nan)
    arr[cells["row"].to_numpy(), cells["col"].to_numpy()] = cells[column].to_numpy(float)
    return arr, spec


def grid_of(cells) -> GridSpec | None:
    """Return the :class:`GridSpec` of a cells frame, or None if it is not a usable grid."""
    spec = getattr(cells, "attrs", {}).get("grid")
    if not isinstance(spec, GridSpec) or not {"row", "col"} <= set(cells.columns):
        return None
    r = cells["row"].to_numpy()
    c = cells["col"].to_numpy()
    if len(r) == 0 or r.min() < 0 or c.min() < 0 or r.max() >= spec.nrows or \
            c.max() >= spec.ncols:
        return None
    if len(np.unique(r.astype(np.int64) * spec.ncols + c)) != len(r):
        return None
    return spec
