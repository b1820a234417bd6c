"""Coverage per force and month, on the real 18-month South Yorkshire demo."""
import pandas as pd
import pytest

from geo import GeoInputError, Workspace
from geo import coverage as cv

NEIGHBOURS = ["Derbyshire", "Humberside", "Lincolnshire", "North Yorkshire", "Nottinghamshire"]
ALL_MONTHS = cv.month_range("2024-01", "2025-06")
GAP = cv.month_range("2024-05", "2024-12")  # data/README.md: no neighbouring-force data


@pytest.fixture(scope="module")
def sy(demo_workspaces):
    ws = Workspace.open(demo_workspaces["south-yorkshire"])
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def covered(sy):
    return cv.covered_force_months(sy)


def test_south_yorkshire_is_covered_every_month(covered):
    assert len(ALL_MONTHS) == 18
    assert {m for f, m in covered if f == "South Yorkshire"} == set(ALL_MONTHS)


def test_the_neighbours_gap_is_not_covered(covered):
    for force in NEIGHBOURS:
        months = {m for f, m in covered if f == force}
        want = set(ALL_MONTHS) - set(GAP)
        if force == "Nottinghamshire":  # Jan-Mar 2024 only in the first neighbours file
            want -= {"2024-04"}
        assert months == want, force
        assert not any(cv.is_covered(covered, force, m) for m in GAP)
    assert {f for f, _ in covered} == {"South Yorkshire", *NEIGHBOURS}  # West Yorkshire: in no file
    assert len(covered) == 18 + 4 * 10 + 9


def test_police_uk_and_boundary_spellings_meet(covered, sy):
    assert cv.is_covered(covered, "Derbyshire Constabulary", "2024-04")
    assert cv.is_covered(covered, "Derbyshire", "2024-04")       # the boundaries' `force`
    assert cv.is_covered(covered, sy.force, "2024-07")            # "South Yorkshire"
    assert set(sy.bcus(all_forces=True)["force"]) >= {"South Yorkshire", *NEIGHBOURS, "West Yorkshire"}


def test_a_frame_of_every_status_gives_the_same_set(sy, covered):
    rows = sy.store.read_incidents(layer="crime", statuses=None)
    assert cv.covered_force_months(rows) == covered
    # the neighbours' rows lie almost all outside the force area, so mapped rows alone would not do
    mapped = cv.covered_force_months(rows[rows["status"] == "mapped"])
    assert mapped < covered


def test_the_table_says_not_covered_never_zero(sy):
    forces = list(dict.fromkeys(sy.bcus(all_forces=True)["force"]))
    t = cv.coverage_table(sy, forces=forces)
    assert list(t.columns) == [pd.Period(m, "M").strftime("%b %Y") for m in ALL_MONTHS]
    assert t.loc["South Yorkshire", "Jan 2024"] == "14,451" and t.loc["South Yorkshire", "Jun 2025"] == "14,808"
    assert (t.loc["West Yorkshire"] == "not covered").all()
    assert (t.loc["Derbyshire", ["May 2024", "Dec 2024"]] == "not covered").all()
    assert t.loc["Nottinghamshire", "Apr 2024"] == "not covered"
    assert not (t == "0").any().any()
    notes = t.attrs["notes"]
    assert "No Derbyshire data for May 2024 – Dec 2024: not covered, left out rather than counted as zero." in notes
    assert any(n.startswith("No Nottinghamshire data for Apr 2024 – Dec 2024") for n in notes)
    assert any(n.startswith("No West Yorkshire data for Jan 2024 – Jun 2025") for n in notes)
    tidy = cv.coverage_counts(sy, forces=forces)
    assert len(tidy) == len(forces) * 18
    assert tidy["rows"].isna().equals(~tidy["covered"])
    assert tidy.loc[tidy["force"].eq("South Yorkshire"), "rows"].sum() == 263526


def test_calls_without_a_force_belong_to_the_workspace_force(demo_workspaces):
    ws = Workspace.open(demo_workspaces["portland"])
    try:
        assert cv.covered_force_months(ws, layer="calls") == {("Portland Police Bureau", "2016-08")}
        assert cv.covered_force_months(ws) == set()  # no crime layer: nothing covered, not zero crime
    finally:
        ws.close()


def test_bad_input_says_what_to_pass():
    with pytest.raises(GeoInputError, match=r"no 'force' column.*Workspace.incidents"):
        cv.covered_force_months(pd.DataFrame({"month": ["2024-01"]}))
    with pytest.raises(GeoInputError, match=r"Cannot read coverage from a list.*incidents frame"):
        cv.covered_force_months([("Derbyshire", "2024-01")])
    with pytest.raises(GeoInputError, match=r"ends \(2024-01\) before it starts"):
        cv.month_range("2024-03", "2024-01")


def test_rows_without_a_month_or_force_cover_nothing():
    rows = pd.DataFrame({"force": ["", "Humberside Police", "Humberside Police"],
                         "month": ["2024-01", None, "2024-02"]})
    assert cv.covered_force_months(rows) == {("Humberside", "2024-02")}
    assert cv.covered_force_months(rows, default_force="South Yorkshire") == {
        ("South Yorkshire", "2024-01"), ("Humberside", "2024-02")}
