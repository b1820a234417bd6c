"""Readable tables (geo.labels): names not codes, human column labels, rounding, months."""
import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo import labels


@pytest.mark.parametrize("raw, label", [
    ("n_200m", "Incidents within 200 m"), ("harm_1000m", "Harm within 1,000 m (days)"),
    ("in_or_next_to_hotspot", "In or next to a hot spot"), ("trend_tau", "Trend (Kendall's τ)"),
    ("cell_id", "Cell"), ("from_bcu", "From BCU"), ("harm", "Harm (days)"), ("hotspot_distance_m",
                                                                                 "Distance to hot spot (m)"),
    ("some_new_column", "Some new column"),
])
def test_column_labels(raw, label):
    assert labels.column_label(raw) == label


def test_unweighted_counts_are_never_called_harm():
    assert labels.column_label("harm", measure="Calls") == "Calls"
    assert labels.column_label("harm_200m", measure="Calls") == "Calls within 200 m"
    table = pd.DataFrame({"category": ["Burglary", "Robbery"], "weight": [438.0, 365.0]})
    assert labels.has_harm_weights(["Robbery", "Shoplifting"], table)
    assert not labels.has_harm_weights(["DISTURBANCE", "SUSPICIOUS"], table)
    assert labels.measure_label(False, layer="calls") == "Calls"


def test_units_and_codes_read_as_names():
    bounds = pd.DataFrame({"level": ["bcu", "ward"], "code": ["E08000019", "E05001045"],
                           "name": ["Sheffield", "Darnall"]})
    names = labels.area_names(bounds)
    assert labels.unit_label("ward:E05001045", names) == "Darnall (ward)"
    assert labels.unit_label("E08000019", names) == "Sheffield"
    assert labels.unit_label("ward:E0999", names) == "ward E0999"
    assert labels.unit_label(None, names) == ""


def test_readable_rounds_harm_names_codes_and_blanks_none():
    df = pd.DataFrame({"from_bcu": ["E08000019", "E08000016"], "harm": [3457714.84, 221190.2],
                       "month": ["2024-03", "2025-06"], "imported_at": ["2026-11-22T19:39:05+00:00", None],
                       "notes": [None, "ok"], "trend_pvalue": [0.01234, 0.5], "bcus": ['["E08000019"]', "[]"],
                       "flag": [True, False], "geometry": [None, None]})
    out, spec = labels.readable(df, names={"E08000019": "Sheffield", "E08000016": "Barnsley"})
    assert "geometry" not in out
    assert list(out["from_bcu"]) == ["Sheffield", "Barnsley"]
    assert list(out["harm"]) == [3457715, 221190] and spec["harm"] == ("Harm (days)", "int")
    assert list(out["month"]) == ["Mar 2024", "Jun 2025"]
    assert list(out["imported_at"]) == ["22 Nov 2026, 19:39", ""]
    assert list(out["notes"]) == ["", "ok"]
    assert list(out["bcus"]) == ["Sheffield", ""]
    assert list(out["flag"]) == ["yes", "no"]
    assert spec["trend_pvalue"] == ("Trend p-value", "pvalue")
    assert spec["from_bcu"][0] == "From BCU"


def test_cells_are_named_by_the_ward_under_them():
    wards = gpd.GeoDataFrame({"name": ["Darnall", "Burngreave"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)],
                             crs=27700)
    cells = gpd.GeoDataFrame(geometry=[box(1, 1, 3, 3), box(15, 2, 17, 4), Point(30, 5).buffer(1)], crs=27700)
    assert labels.near_labels(cells, wards, shape="hexagon") == [
        "hexagon near Darnall", "hexagon near Burngreave", "hexagon near Burngreave"]
    assert labels.near_labels(cells, None, shape="square") == ["square"] * 3
    # inside and outside mixed: each keeps its place (inside: one point-in-polygon query; outside: nearest)
    mixed = gpd.GeoDataFrame(geometry=[Point(-30, 5).buffer(1), box(12, 1, 14, 3), Point(5, 40).buffer(1),
                                       box(2, 5, 4, 7)], crs=27700)
    assert labels.near_labels(mixed, wards, shape="cluster") == [
        "cluster near Darnall", "cluster near Burngreave", "cluster near Darnall", "cluster near Darnall"]


def test_numbers():
    assert labels.number(2602220) == "2,602,220"
    assert labels.harm_days(3457714.84) == "3,457,715 days"
    assert labels.number(None) == "–"
