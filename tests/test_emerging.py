"""The per-cell emerging hot spot pipeline on constructed space-time cubes."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo.emerging import EMERGING_COLUMNS, auto_period, hotspot_emerging, period_labels, space_time_cube
from geo.errors import GeoInputError

CRS = "EPSG:27700"
SIDE = 20          # cells on each side
CELL = 100.0       # metres
MONTHS = [f"2023-{m:02d}" for m in range(3, 13)]   # ten months


def cube_points(plants: dict[tuple[int, int], list[int]], *, background: float = 2.0, seed: int = 0,
                empty: tuple[int, int] | None = None, periods=MONTHS, column: str = "month"):
    """Points on a 20 x 20 grid of 100 m cells over ``periods``.

    Every period gets the same background (a fixed Poisson draw per cell, so only the
    planted cells change between periods); ``plants`` adds ``counts[k]`` points to cell
    ``(col, row)`` in period ``k``; ``empty`` clears a 3 x 3 block centred on a cell.
    """
    rng = np.random.default_rng(seed)
    base = rng.poisson(background, size=(SIDE, SIDE))
    if empty is not None:
        c, r = empty
        base[r - 1:r + 2, c - 1:c + 2] = 0
    rows, cols = np.indices((SIDE, SIDE))
    xs, ys, labels = [], [], []
    for k, label in enumerate(periods):
        counts = base.copy()
        for (c, r), series in plants.items():
            counts[r, c] += series[k]
        n = counts.ravel()
        xs.append(np.repeat(cols.ravel(), n) * CELL + 10 + 80 * rng.random(n.sum()))
        ys.append(np.repeat(rows.ravel(), n) * CELL + 10 + 80 * rng.random(n.sum()))
        labels += [label] * int(n.sum())
    x, y = np.concatenate(xs), np.concatenate(ys)
    return gpd.GeoDataFrame({column: labels, "harm": rng.gamma(2.0, 1.0, len(x))},
                            geometry=gpd.points_from_xy(x, y), crs=CRS)


def cell(out, col: int, row: int):
    return out.set_index("cell_id").loc[f"{int(col * CELL)}_{int(row * CELL)}"]


@pytest.mark.parametrize("series, pattern, simple", [
    ([0] * 9 + [40], "New Hot Spot", "emerging"),
    ([0] * 8 + [40, 40], "Consecutive Hot Spot", "emerging"),
    ([40] * 10, "Persistent Hot Spot", "persistent"),
    (list(range(100, 50, -5)), "Diminishing Hot Spot", "persistent"),
    (list(range(55, 105, 5)), "Intensifying Hot Spot", "persistent"),
    ([40, 40, 40] + [0] * 7, "No Pattern Detected", "former"),
    ([40] * 9 + [0], "Historical Hot Spot", "persistent"),
    ([40, 0, 0, 40, 0, 0, 0, 40, 0, 40], "Sporadic Hot Spot", "intermittent"),
])
def test_a_planted_pattern_is_recovered(series, pattern, simple):
    pts = cube_points({(10, 10): series})
    out = hotspot_emerging(pts, cell_size=CELL, alpha=0.05)
    got = cell(out, 10, 10)
    assert got["pattern"] == pattern
    assert got["simple_class"] == simple
    assert got["n_series"].split(",")[-1] == str(int(got["n_last"]))


def test_a_persistent_empty_block_is_a_persistent_cold_spot():
    pts = cube_points({}, background=8.0, empty=(10, 10))
    out = hotspot_emerging(pts, cell_size=CELL)
    got = cell(out, 10, 10)
    assert got["pattern"] == "Persistent Cold Spot"
    assert got["n_cold"] == len(MONTHS) and got["final"] == "cold"
    assert got["simple_class"] == "never"   # simple classes describe hot spots only


def test_output_columns_and_invariants():
    pts = cube_points({(10, 10): [0] * 9 + [40]})
    out = hotspot_emerging(pts, cell_size=CELL, weight="harm")
    assert tuple(out.columns) == EMERGING_COLUMNS
    assert out["n"].sum() == len(pts)                         # every point counted once
    assert out["harm"].sum() == pytest.approx(pts["harm"].sum())
    assert out.attrs["periods"] == MONTHS
    assert out.attrs["cell_size"] == CELL and out.attrs["period"] == "month"
    assert out["trend_pvalue"].between(0, 1).all()
    assert len(out) == SIDE * SIDE and out["cell_id"].is_unique


def test_the_cube_holds_counts_and_p_values_per_period():
    pts = cube_points({(2, 3): [0] * 9 + [40]})
    cube = space_time_cube(pts, cell_size=CELL)
    assert cube.n.shape == (SIDE * SIDE, len(MONTHS)) == cube.z.shape == cube.p.shape
    assert cube.n.sum() == len(pts)
    per_month = pts.groupby("month").size()
    assert cube.n.sum(axis=0).tolist() == per_month.loc[MONTHS].tolist()
    assert ((cube.p >= 0) & (cube.p <= 1)).all()
    assert cube.params["n_undated"] == 0 and cube.params["n_outside"] == 0


def test_hexagons_count_every_point_once():
    pts = cube_points({(10, 10): [40] * 10})
    out = hotspot_emerging(pts, cell_size=CELL, shape="hex")
    assert out["n"].sum() == len(pts)
    assert "Hot Spot" in out.loc[out["n"].idxmax(), "pattern"]


def test_an_empty_month_in_the_middle_is_a_period_of_zeros():
    pts = cube_points({(10, 10): [40] * 10})
    pts = pts[pts["month"] != "2023-07"]
    out = hotspot_emerging(pts, cell_size=CELL)
    assert out.attrs["periods"] == MONTHS                     # 2023-07 kept, empty
    assert cell(out, 10, 10)["n_series"].split(",")[4] == "0"


def test_days_and_weeks_from_timestamps():
    days = pd.date_range("2016-08-01", "2016-08-31", freq="D").strftime("%Y-%m-%dT%H:%M:%S").tolist()
    pts = cube_points({(10, 10): [0] * 30 + [40]}, periods=days, column="date")
    pts["month"] = "2016-08"
    assert auto_period(pts) == "day"
    out = hotspot_emerging(pts, period=None, cell_size=CELL)
    assert out.attrs["period"] == "day" and len(out.attrs["periods"]) == 31
    assert cell(out, 10, 10)["pattern"] == "New Hot Spot"
    weekly = hotspot_emerging(pts, period="week", cell_size=CELL)
    # seven-day steps counted back from the last day: the final week is complete
    assert weekly.attrs["periods"] == ["2016-07-28", "2016-08-04", "2016-08-11", "2016-08-18", "2016-08-25"]
    assert weekly["n"].sum() == len(pts)


def test_period_labels_months_and_undated_rows():
    df = pd.DataFrame({"month": ["2024-01", "2024-03", None], "date": ["", None, "2024-03-05"]})
    labels, periods = period_labels(df, "month")
    assert periods == ["2024-01", "2024-02", "2024-03"]
    assert labels.isna().tolist() == [False, False, True]
    labels, periods = period_labels(df, "day")
    assert periods == ["2024-03-05"] and labels.notna().sum() == 1


def test_police_uk_months_cannot_make_weeks():
    pts = cube_points({})
    pts["date"] = None
    with pytest.raises(GeoInputError, match=r"cannot form weeks.*only months.*period='month'"):
        hotspot_emerging(pts, period="week", cell_size=CELL)


def test_too_few_periods_says_how_to_fix():
    pts = cube_points({}, periods=MONTHS[:2])
    with pytest.raises(GeoInputError, match=r"at least 3 months.*2 \(2023-03, 2023-04\).*shorter periods"):
        hotspot_emerging(pts, cell_size=CELL)


def test_unknown_period():
    with pytest.raises(GeoInputError, match=r"period must be one of"):
        hotspot_emerging(cube_points({}), period="year", cell_size=CELL)
