"""Small geometry helpers shared by the readers, the partner tables and the analyses.

:func:`points_inside` is the one point-in-polygon test on coordinate arrays: a
bounding-box prefilter, then ``shapely.contains_xy`` on the prepared geometry (a point
on the boundary is outside, as in ``contains``).
"""
from __future__ import annotations

import numpy as np
import shapely

__all__ = ["points_inside"]


def points_inside(geom, x, y) -> np.ndarray:
    """Boolean mask of the points ``(x, y)`` strictly inside ``geom``.

    Parameters
    ----------
    geom : shapely geometry or None
        A polygon or multipolygon in the coordinates' CRS; ``None`` or an empty
        geometry contains no point.
    x, y : array_like
        Coordinates, same length.

    Returns
    -------
    numpy.ndarray
        ``bool``, one per point; ``False`` for NaN coordinates.

    Examples
    --------
    >>> points_inside(shapely.box(0, 0, 10, 10), [5, 15, 10], [5, 5, 5]).tolist()
    [True, False, False]
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    out = np.zeros(len(x), dtype=bool)
    if geom is None or geom.is_empty:
        return out
    minx, miny, maxx, maxy = geom.bounds
    cand = (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
    if cand.any():
        shapely.prepare(geom)
        out[cand] = shapely.contains_xy(geom, x[cand], y[cand])
    return out
