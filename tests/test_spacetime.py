"""Tests for geo.spacetime: esri's emerging hot spot patterns and the simple classes."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from geo.errors import GeoInputError
from geo.spacetime import (
    EHSA_PATTERNS, SIMPLE_CLASSES, emerging_classes, emerging_table, simple_classes,
)
from geo.stats import mann_kendall

HOT, COLD, NS = 3.0, -3.0, 0.0

# One constructed series of Gi* z-scores per pattern, ten periods, oldest first.
# A bin is significant when |z| > 1.645 (p = 0.01), otherwise p = 0.5.
SERIES = {
    "New Hot Spot": [NS] * 9 + [HOT],
    "Consecutive Hot Spot": [NS] * 7 + [HOT] * 3,
    "Intensifying Hot Spot": list(np.linspace(2, 5, 10)),
    "Persistent Hot Spot": [3.0, 3.5, 2.8, 3.4, 2.9, 3.3, 3.0, 3.2, 2.7, 3.1],
    "Diminishing Hot Spot": list(np.linspace(5, 2, 10)),
    "Sporadic Hot Spot": [NS, HOT, NS, NS, HOT, NS, HOT, NS, NS, HOT],
    "Oscillating Hot Spot": [NS, COLD, NS, NS, HOT, NS, NS, NS, NS, HOT],
    "Historical Hot Spot": [HOT] * 9 + [NS],
    "New Cold Spot": [NS] * 9 + [COLD],
    "Consecutive Cold Spot": [NS] * 7 + [COLD] * 3,
    "Intensifying Cold Spot": list(np.linspace(-2, -5, 10)),
    "Persistent Cold Spot": [-3.0, -3.5, -2.8, -3.4, -2.9, -3.3, -3.0, -3.2, -2.7, -3.1],
    "Diminishing Cold Spot": list(np.linspace(-5, -2, 10)),
    "Sporadic Cold Spot": [NS, COLD, NS, NS, COLD, NS, COLD, NS, NS, COLD],
    "Oscillating Cold Spot": [NS, HOT, NS, NS, COLD, NS, NS, NS, NS, COLD],
    "Historical Cold Spot": [COLD] * 9 + [NS],
    "No Pattern Detected": [NS] * 10,
}


def _pvalues(z):
    return np.where(np.abs(np.asarray(z)) > 1.645, 0.01, 0.5)


def _classify(*rows, **kwargs):
    z = np.array(rows, dtype=float)
    return emerging_classes(z, _pvalues(z), **kwargs).tolist()


@pytest.mark.parametrize("pattern", list(SERIES))
def test_each_esri_pattern_on_a_constructed_series(pattern):
    assert _classify(SERIES[pattern]) == [pattern]


def test_all_seventeen_patterns_at_once_keep_row_order():
    names = list(SERIES)
    z = np.array([SERIES[k] for k in names])
    assert emerging_classes(z, _pvalues(z)).tolist() == names
    # reversing the rows reverses the answer
    assert emerging_classes(z[::-1], _pvalues(z[::-1])).tolist() == names[::-1]
    assert set(names) == set(EHSA_PATTERNS)


def test_constructed_trends_are_what_the_tests_assume():
    assert mann_kendall(SERIES["Intensifying Hot Spot"], alpha=0.1).trend == "increasing"
    assert mann_kendall(SERIES["Diminishing Hot Spot"], alpha=0.1).trend == "decreasing"
    assert mann_kendall(SERIES["Persistent Hot Spot"], alpha=0.1).trend == "no trend"
    assert mann_kendall(SERIES["Persistent Cold Spot"], alpha=0.1).trend == "no trend"


def test_negating_z_swaps_hot_and_cold_patterns():
    for name, z in SERIES.items():
        mirrored = _classify([-v for v in z])[0]
        assert mirrored == name.replace("Hot", "@").replace("Cold", "Hot").replace("@", "Cold")


def test_hot_only_in_the_middle_is_no_pattern():
    assert _classify([NS, NS, HOT, HOT, HOT, NS, NS, NS, NS, NS]) == ["No Pattern Detected"]


def test_consecutive_needs_a_run_of_at_least_two():
    # a run of one after a gap is Sporadic; a run of one alone is New
    assert _classify([NS, HOT, NS, NS, NS, NS, NS, NS, NS, HOT]) == ["Sporadic Hot Spot"]
    assert _classify([NS] * 8 + [HOT, HOT]) == ["Consecutive Hot Spot"]


def test_ninety_percent_boundary():
    # 9 of 10 hot including the final one: persistent; 8 of 10: consecutive/sporadic
    assert _classify([NS] + [HOT] * 9) == ["Persistent Hot Spot"]
    assert _classify([NS, NS] + [HOT] * 8) == ["Consecutive Hot Spot"]
    assert _classify([HOT, NS, NS] + [HOT] * 7) == ["Sporadic Hot Spot"]


def test_new_hot_spot_after_a_cold_history_is_oscillating():
    assert _classify([COLD] + [NS] * 8 + [HOT]) == ["Oscillating Hot Spot"]


def test_final_period_patterns_take_precedence_over_historical():
    # hot in 9 of 10 periods, cold in the last: both Historical Hot and Oscillating Cold
    # by esri's wording; the final state wins.
    assert _classify([HOT] * 9 + [COLD]) == ["Oscillating Cold Spot"]


def test_significance_uses_alpha():
    z = [1.8] * 10
    p = [[0.07] * 10]
    assert emerging_classes([z], p, alpha=0.10).tolist() == ["Persistent Hot Spot"]
    assert emerging_classes([z], p, alpha=0.05).tolist() == ["No Pattern Detected"]


def test_trend_can_be_tested_on_counts():
    z = np.full((1, 12), 3.0)
    p = _pvalues(z)
    counts = np.arange(12)[None, :] * 2 + 10
    assert emerging_classes(z, p).tolist() == ["Persistent Hot Spot"]
    assert emerging_classes(z, p, trend_values=counts).tolist() == ["Intensifying Hot Spot"]
    assert emerging_classes(z, p, trend_values=counts[:, ::-1]).tolist() == [
        "Diminishing Hot Spot"]


def test_table_reports_the_evidence():
    z = np.array([SERIES["Oscillating Hot Spot"], SERIES["Intensifying Hot Spot"]])
    t = emerging_table(z, _pvalues(z))
    assert list(t.columns) == ["pattern", "n_hot", "n_cold", "final", "trend_tau",
                               "trend_z", "trend_pvalue"]
    assert t["n_hot"].tolist() == [2, 10] and t["n_cold"].tolist() == [1, 0]
    assert t["final"].tolist() == ["hot", "hot"]
    assert t.loc[1, "trend_tau"] == pytest.approx(1.0)
    assert ((t["trend_pvalue"] >= 0) & (t["trend_pvalue"] <= 1)).all()


def test_dataframe_input_keeps_the_cell_index():
    names = ["New Hot Spot", "Historical Cold Spot"]
    z = pd.DataFrame([SERIES[k] for k in names], index=["cell_a", "cell_b"])
    out = emerging_classes(z, _pvalues(z))
    assert isinstance(out, pd.Series)
    assert out.to_dict() == {"cell_a": "New Hot Spot", "cell_b": "Historical Cold Spot"}


def test_fewer_than_ten_periods_is_allowed_but_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="geo.spacetime"):
        assert _classify([NS] * 4 + [HOT]) == ["New Hot Spot"]
    assert "at least 10" in caplog.text


@pytest.mark.parametrize(
    "z, p, kwargs, match",
    [
        (np.zeros((2, 10)), np.zeros((2, 9)), {}, r"`p` has shape \(2, 9\) but `z` has shape \(2, 10\)"),
        (np.zeros((2, 10)), np.full((2, 10), 2.0), {}, r"outside \[0, 1\].*Fix: pass p-values"),
        (np.zeros((2, 2)), np.ones((2, 2)), {}, r"at least 3 periods"),
        (np.zeros((2, 5, 2)), np.ones((2, 5, 2)), {}, r"shape \(n_cells, n_periods\)"),
        (np.array([[0, 0, np.nan, 0]]), np.ones((1, 4)), {}, r"missing value.*cell row 0, period column 2"),
        (np.zeros((1, 4)), np.ones((1, 4)), {"alpha": 1.5}, r"`alpha` must be between"),
        (np.zeros((1, 4)), np.ones((1, 4)), {"trend_values": np.ones((1, 3))}, r"`trend_values` has shape"),
    ],
)
def test_emerging_errors(z, p, kwargs, match):
    with pytest.raises(GeoInputError, match=match):
        emerging_classes(z, p, **kwargs)


# --------------------------------------------------------------------------- simple classes
def _simple(*rows, **kwargs):
    return simple_classes(np.array(rows, dtype=bool), **kwargs).tolist()


def test_simple_classes_each_category():
    rows = {
        "persistent": [1, 1, 1, 1, 0, 1, 1, 1, 1, 1],
        "emerging": [0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        "former": [0, 1, 1, 0, 1, 0, 0, 0, 0, 0],
        "intermittent": [1, 0, 0, 1, 0, 0, 0, 1, 0, 1],
        "never": [0] * 10,
    }
    assert _simple(*rows.values()) == list(rows)
    assert set(rows) == set(SIMPLE_CLASSES)


def test_simple_classes_thresholds():
    # 8 of 10 is persistent at the default 0.8, not at 0.9
    row = [0, 1, 1, 1, 1, 0, 1, 1, 1, 1]
    assert _simple(row) == ["persistent"]
    assert _simple(row, persistent_share=0.9) == ["intermittent"]
    # one stray early hot period in 20: still emerging with tolerance 0.1 (1/16 < 0.1)
    stray = [1] + [0] * 15 + [0, 1, 1, 1]
    assert _simple(stray) == ["emerging"]
    assert _simple(stray, tolerance=0.05) == ["intermittent"]


def test_simple_classes_accepts_0_1_and_dataframes():
    df = pd.DataFrame([[0, 0, 0, 1], [1, 0, 0, 0]], index=["x", "y"])
    out = simple_classes(df)
    assert isinstance(out, pd.Series)
    assert out.to_dict() == {"x": "emerging", "y": "former"}


@pytest.mark.parametrize(
    "hot, kwargs, match",
    [
        ([[0.5, 1.2, 3.0]], {}, r"must be True/False.*not the z-scores"),
        ([[True]], {}, r"at least 2 periods"),
        ([[True, False]], {"recent_share": 0}, r"`recent_share` must be in \(0, 1\]"),
        (np.zeros((2, 2, 2), dtype=bool), {}, r"shape \(n_cells, n_periods\)"),
    ],
)
def test_simple_classes_errors(hot, kwargs, match):
    with pytest.raises(GeoInputError, match=match):
        simple_classes(hot, **kwargs)
