"""Month and quarter arithmetic (geo.periods): against pandas' calendar, and the modules that share it."""
from __future__ import annotations

import doctest

import pandas as pd
import pytest

from geo import periods
from geo.errors import GeoInputError


def test_doctests():
    assert doctest.testmod(periods).failed == 0
    assert doctest.testmod(periods).attempted >= 15


@pytest.mark.parametrize("k", [-25, -13, -12, -1, 0, 1, 11, 12, 37])
def test_month_add_and_span_agree_with_pandas(k):
    for m in ("2023-01", "2024-02", "2024-12"):
        expected = str(pd.Period(m, "M") + k)
        assert periods.month_add(m, k) == expected
        if k >= 0:
            assert periods.month_span(m, expected) == k + 1
            assert periods.month_range(m, expected) == [str(p) for p in pd.period_range(m, expected, freq="M")]


def test_quarters_agree_with_pandas():
    for m in periods.month_range("2023-11", "2025-02"):
        q = pd.Period(m, "M").asfreq("Q")
        assert periods.quarter_of(m) == f"{q.year}-Q{q.quarter}"
        assert m in periods.quarter_months(periods.quarter_of(m))
    assert periods.quarter_run("2024-Q3", "2025-Q2") == ["2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2"]
    assert periods.quarter_add("2024-Q1", -5) == "2022-Q4"
    assert periods.quarters_label(["2024-Q1", "2024-Q2"]) == "Jan–Mar 2024 to Apr–Jun 2024"


def test_bad_input_says_how_to_fix():
    with pytest.raises(GeoInputError, match=r"'2024-13' is not a month.*YYYY-MM"):
        periods.month_add("2024-13", 1)
    with pytest.raises(GeoInputError, match=r"ends \(2024-01\) before it starts \(2024-03\)"):
        periods.month_range("2024-03", "2024-01")
    with pytest.raises(GeoInputError, match="not a calendar quarter"):
        periods.quarter_months("2024-Q5")
    with pytest.raises(GeoInputError, match="before it starts"):
        periods.quarter_run("2025-Q1", "2024-Q4")


def test_one_implementation_everywhere():
    from dashboard import ui
    from geo import briefing, coverage, disclosure, panels
    from geo.displacement import windows
    assert windows.month_add is briefing.month_add is periods.month_add
    assert windows.month_span is periods.month_span and windows.month_label is periods.month_label
    assert briefing.month_range is coverage.month_range is panels.month_range is periods.month_range
    assert ui.month_label is briefing.month_label is periods.month_label
    for name in ("quarter_of", "quarter_months", "quarter_label", "quarters_label", "quarter_run"):
        assert getattr(disclosure, name) is getattr(periods, name)
    assert briefing.previous_period("2024-02", "2024-04") == ("2023-11", "2024-01")
    assert coverage.month_runs(["2024-12", "2025-01", "2025-03"]) == ["Dec 2024 – Jan 2025", "Mar 2025"]
