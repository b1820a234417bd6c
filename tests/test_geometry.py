"""geo.geometry.points_inside: the one point-in-polygon test on coordinate arrays."""
from __future__ import annotations

import numpy as np
import shapely

from geo.geometry import points_inside


def test_points_inside_agrees_with_shapely_contains_point_by_point():
    rng = np.random.default_rng(3)
    ring = shapely.box(0, 0, 100, 100).difference(shapely.box(40, 40, 60, 60))  # a hole
    multi = shapely.union(ring, shapely.box(200, 0, 250, 50))
    x, y = rng.uniform(-20, 270, 2000), rng.uniform(-20, 120, 2000)
    for geom in (ring, multi, shapely.box(10, 10, 20, 20)):
        want = np.array([geom.contains(shapely.Point(a, b)) for a, b in zip(x, y)])
        got = points_inside(geom, x, y)
        assert got.dtype == bool and (got == want).all()
        assert 0 < got.sum() < len(x)


def test_points_inside_edges_nan_and_empty():
    box = shapely.box(0, 0, 10, 10)
    assert points_inside(box, [0, 10, 5, np.nan], [5, 5, 10, 5]).tolist() == [False] * 4
    assert points_inside(None, [1, 2], [1, 2]).tolist() == [False, False]
    assert points_inside(shapely.Polygon(), [1], [1]).tolist() == [False]
    assert points_inside(box, [], []).size == 0
