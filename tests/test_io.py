"""Readers on the real files, on malformed input, and every row accounted for."""
import csv
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import GeoInputError, io
from geo.report import OUTCOMES
from tests.conftest import SY_CRIME_ARCHIVE, SY_MONTH_ROWS, sy_street_csv

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SY = DATA / "south-yorkshire"
MONTHS = sorted(SY_MONTH_ROWS)  # the 18 months in the demo archive, 2024-01 ... 2025-06
DISTRICTS = DATA / "boundaries" / "south-yorkshire" / "districts-and-neighbours-2013.geojson"
HEADER = io.POLICE_UK_STREET_COLUMNS


@pytest.fixture(scope="module")
def sy_area():
    b = io.read_boundaries(DISTRICTS, level="bcu", name_field="LAD13NM", code_field="LAD13CD",
                           force_field="police_force").frame
    return b[b["force"] == "South Yorkshire"].union_all()


def _csv_rows(path):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def write_street_csv(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(c, "") for c in header])
    return path


def street_row(**kw):
    row = {"Crime ID": "", "Month": "2024-01", "Reported by": "South Yorkshire Police",
           "Falls within": "South Yorkshire Police", "Longitude": "-1.470000", "Latitude": "53.380000",
           "Location": "On or near Test Street", "LSOA code": "E01008000", "LSOA name": "Sheffield 001A",
           "Crime type": "Burglary", "Last outcome category": "", "Context": ""}
    row.update(kw)
    return row


# ---------------------------------------------------------------- real files


@pytest.mark.parametrize("month", MONTHS)
def test_each_real_month_reconciles(month, sy_area):
    path = sy_street_csv(month)
    rows = _csv_rows(path)
    assert len(rows) == SY_MONTH_ROWS[month]
    r = io.read_police_uk(path, area=sy_area)
    rep = r.report
    assert rep.rows_read == len(rows)
    assert rep.balanced
    assert sum(rep.outcomes[k] for k in OUTCOMES) == len(rows)
    blank = sum(1 for x in rows if not x["Longitude"].strip() and not x["Latitude"].strip())
    assert rep.outcomes["no_location"] == blank
    assert 0.03 < blank / len(rows) < 0.07  # the README's "about 4.7%"
    assert 0 < rep.outcomes["outside_area"] < 60  # data/README.md: about 30 a month (23-44 measured)
    assert len(r.frame) == len(rows) - rep.outcomes["rejected"]
    assert r.frame["uid"].is_unique
    assert r.frame.crs.to_epsg() == 27700


def test_the_archive_adds_up_to_its_files_rows(sy_area):
    """The demo archive as one import: every row of its 25 files accounted for once."""
    with zipfile.ZipFile(SY_CRIME_ARCHIVE) as zf:
        names = sorted(n for n in zf.namelist() if n.endswith(".csv"))
        lines = {n: zf.read(n).count(b"\n") - 1 for n in names}
    assert len(names) == 25 and sum("south-yorkshire-street" in n for n in names) == 18
    sy_rows = sum(v for n, v in lines.items() if "south-yorkshire-street" in n)
    assert sy_rows == sum(SY_MONTH_ROWS.values()) == 263526
    assert sum(lines.values()) - sy_rows == 14939 + 23974  # the neighbouring forces (data/README.md)
    r = io.read_police_uk(SY_CRIME_ARCHIVE, area=sy_area)
    rep = r.report
    assert rep.rows_read == sum(lines.values()) == 302439
    assert len(rep.files) == 25 and rep.balanced
    assert sum(rep.outcomes[k] for k in OUTCOMES) == rep.rows_read and rep.outcomes["rejected"] == 0
    assert r.frame["uid"].is_unique  # nothing would be taken for a duplicate and dropped on import
    sy = r.frame["force"].eq("South Yorkshire Police")
    assert sy.sum() == 263526
    assert sorted(r.frame.loc[sy, "month"].unique()) == MONTHS
    assert 400 <= (r.frame.loc[sy, "status"] == "outside_area").sum() <= 700  # about 30 a month
    # the neighbouring forces: 2024-01 ... 04 and 2025-01 ... 06 only (Nottinghamshire not in 2024-04)
    nb = r.frame.loc[~sy].groupby("force")["month"].unique().map(sorted).to_dict()
    both = ["2024-01", "2024-02", "2024-03", "2024-04", "2025-01", "2025-02", "2025-03", "2025-04", "2025-05",
            "2025-06"]
    assert nb["Derbyshire Constabulary"] == both
    assert nb["Nottinghamshire Police"] == [m for m in both if m != "2024-04"]
    assert set(nb) == {"Derbyshire Constabulary", "Humberside Police", "Lincolnshire Police", "North Yorkshire Police",
                       "Nottinghamshire Police"}


def test_outside_area_rows_are_really_outside(sy_area):
    r = io.read_police_uk(sy_street_csv(MONTHS[0]), area=sy_area)
    out = r.frame[r.frame["status"] == "outside_area"]
    inside = r.frame[r.frame["status"] == "mapped"]
    assert not shapely.contains_xy(sy_area, out["x"], out["y"]).any()
    assert shapely.contains_xy(sy_area, inside["x"], inside["y"]).all()


def test_folder_and_zip_read_the_same_rows(tmp_path, sy_area):
    months = [sy_street_csv(m) for m in MONTHS[:2]] + [sy_street_csv("2024-01", neighbours=True)]
    folder_path = tmp_path / "folder"
    for p in months:
        (folder_path / p.parent.name).mkdir(parents=True, exist_ok=True)
        (folder_path / p.parent.name / p.name).write_bytes(p.read_bytes())
    folder = io.read_police_uk(folder_path, area=sy_area)
    assert len(folder.report.files) == 3
    assert folder.report.rows_read == 14451 + 13851 + 14939
    assert folder.report.balanced
    z = tmp_path / "police-uk.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in months:
            zf.write(p, f"{p.parent.name}/{p.name}")
        zf.writestr("2024-01/2024-01-south-yorkshire-outcomes.csv",
                    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                    "Outcome type\nabc,2024-01,x,x,-1.4,53.3,y,E01,n,Under investigation\n")
        zf.writestr("2024-01/2024-01-south-yorkshire-stop-and-search.csv",
                    "Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,"
                    "Age range,Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,"
                    "Outcome\nPerson search,2024-01-01T00:00:00+00:00,False,,53.3,-1.4,Male,18-24,,,"
                    "Misuse of Drugs Act 1971 (section 23),Controlled drugs,Arrest\n")
    zipped = io.read_police_uk(z, area=sy_area)
    assert zipped.report.rows_read == 14451 + 13851 + 14939
    assert zipped.report.balanced
    assert zipped.report.outcomes == folder.report.outcomes
    assert sorted(zipped.frame["uid"]) == sorted(folder.frame["uid"])
    assert len(zipped.report.skipped_files) == 2
    assert any("outcomes" in why for why in zipped.report.skipped_files.values())
    assert any("stop-and-search" in why for why in zipped.report.skipped_files.values())


def test_identical_asb_rows_are_three_incidents(tmp_path):
    rows = [street_row(**{"Crime type": "Anti-social behaviour"}) for _ in range(3)]
    f = write_street_csv(tmp_path / "asb.csv", rows)
    first = io.read_police_uk(f).frame
    second = io.read_police_uk(f).frame
    assert len(first) == 3 and first["uid"].is_unique
    assert list(first["uid"]) == list(second["uid"])
    assert all(u.startswith("h:") for u in first["uid"])


# ---------------------------------------------------------------- rejected rows


def test_bad_rows_are_rejected_with_reasons_and_rows(tmp_path):
    rows = [
        street_row(**{"Crime ID": "a1"}),
        street_row(**{"Crime ID": "a2", "Month": "Jan 2024"}),
        street_row(**{"Crime ID": "a3", "Longitude": "abc"}),
        street_row(**{"Crime ID": "a4", "Longitude": "-1.4", "Latitude": ""}),
        street_row(**{"Crime ID": "a5", "Longitude": "-74.0", "Latitude": "40.7"}),
        street_row(**{"Crime ID": "a6", "Crime type": "Fraud"}),
        street_row(**{"Crime ID": "a7", "Longitude": "", "Latitude": ""}),
    ]
    r = io.read_police_uk(write_street_csv(tmp_path / "bad.csv", rows))
    rep = r.report
    assert rep.rows_read == 7 and rep.balanced
    assert rep.outcomes == {"mapped": 1, "no_location": 1, "outside_area": 0, "rejected": 5}
    assert rep.reasons == {
        "bad date (Month is not YYYY-MM)": 1, "unparseable coordinate": 2,
        "implausible coordinate (outside the UK)": 1, "unknown category": 1,
    }
    rej = rep.rejected.set_index("row")
    assert rej.loc[3, "column"] == "Month"  # line 3 of the file (header is line 1)
    assert rej.loc[7, "column"] == "Crime type"
    assert json.loads(rej.loc[7, "raw"])["Crime type"] == "Fraud"
    assert list(r.frame["crime_id"]) == ["a1", "a7"]


# ---------------------------------------------------------------- malformed files


def test_empty_file_is_refused(tmp_path):
    f = tmp_path / "empty.csv"
    f.write_text("")
    with pytest.raises(GeoInputError, match=r"empty.*empty\.csv"):
        io.read_police_uk(f)


def test_semicolon_file_is_refused(tmp_path):
    f = tmp_path / "semi.csv"
    f.write_text(";".join(HEADER) + "\n" + ";".join(street_row().values()) + "\n")
    with pytest.raises(GeoInputError, match=r"semicolons.*line 1.*comma-separated"):
        io.read_police_uk(f)


def test_latin1_file_is_refused_with_the_line(tmp_path):
    f = tmp_path / "latin.csv"
    write_street_csv(f, [street_row(), street_row(Location="On or near Caf\u00e9 Street")])
    f.write_bytes(f.read_text(encoding="utf-8").encode("latin-1"))
    with pytest.raises(GeoInputError, match=r"not UTF-8.*line 3.*CSV UTF-8"):
        io.read_police_uk(f)


def test_stop_and_search_given_as_street_crime_is_refused(tmp_path):
    f = tmp_path / "2024-01-south-yorkshire-stop-and-search.csv"
    f.write_text("Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,Age range,"
                 "Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,Outcome\n"
                 "Person search,2024-01-01T00:00:00+00:00,False,,53.3,-1.4,Male,18-24,,,x,Controlled drugs,Arrest\n")
    with pytest.raises(GeoInputError, match=r"stop-and-search.*line 1.*street\.csv"):
        io.read_police_uk(f)


def test_outcomes_file_is_recognised(tmp_path):
    f = tmp_path / "outcomes.csv"
    f.write_text("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                 "Outcome type\nabc,2024-01,x,x,-1.4,53.3,y,E01,n,Under investigation\n")
    with pytest.raises(GeoInputError, match=r"outcomes file.*Crime type"):
        io.read_police_uk(f)


def test_missing_column_is_named(tmp_path):
    header = [c for c in HEADER if c != "Crime type"]
    f = write_street_csv(tmp_path / "short.csv", [street_row()], header=header)
    with pytest.raises(GeoInputError, match=r"missing column\(s\): Crime type"):
        io.read_police_uk(f)


def test_swapped_coordinates_are_refused(tmp_path):
    rows = [street_row(Longitude="53.38", Latitude="-1.47") for _ in range(5)]
    with pytest.raises(GeoInputError, match=r"look swapped.*line 2.*swap"):
        io.read_police_uk(write_street_csv(tmp_path / "swapped.csv", rows))


def test_projected_coordinates_are_refused(tmp_path):
    rows = [street_row(Longitude="435000", Latitude="387000") for _ in range(5)]
    with pytest.raises(GeoInputError, match=r"projected coordinates.*EPSG:27700"):
        io.read_police_uk(write_street_csv(tmp_path / "bng.csv", rows))


# ---------------------------------------------------------------- calls / incidents


def test_portland_calls_load_through_a_mapping():
    from geo.demo import PORTLAND_MAPPING
    f = DATA / "portland" / "calls-for-service-2016-08.csv"
    r = io.read_incidents(f, PORTLAND_MAPPING, crs="EPSG:26910")
    rep = r.report
    assert rep.rows_read == 19375 and rep.balanced
    assert rep.outcomes["rejected"] == 0  # the shifted rows still carry their serial date
    assert set(r.frame["month"]) == {"2016-08"}
    assert r.frame["date"].min().startswith("2016-08-01") and r.frame["date"].max().startswith("2016-08-31")
    # Portland's bounding box in UTM 10N metres
    xy = r.frame[["x", "y"]]
    assert xy["x"].between(510_000, 550_000).all() and xy["y"].between(5_020_000, 5_060_000).all()
    drug = r.frame["subcategory"].str.contains("DRUG", case=False).sum()
    assert drug > 0


def test_mapping_with_missing_column_suggests_the_right_one(tmp_path):
    f = tmp_path / "calls.csv"
    f.write_text("Call Type,When,lon,lat\nDisorder,2024-01-03 10:00,-1.47,53.38\n")
    m = io.ColumnMapping(name="test", category="call_type", timestamp="When", x="lon", y="lat")
    with pytest.raises(GeoInputError, match=r"'call_type'.*did you mean 'Call Type'"):
        io.read_incidents(f, m)


def test_calls_in_the_wrong_crs_are_refused(tmp_path):
    f = tmp_path / "calls.csv"
    f.write_text("type,when,e,n\n" + "".join(f"Disorder,2024-01-0{i},43500{i},38700{i}\n" for i in range(1, 6)))
    m = io.ColumnMapping(name="bng-as-degrees", category="type", timestamp="when", x="e", y="n", crs="EPSG:4326")
    with pytest.raises(GeoInputError, match=r"degrees.*projected.*EPSG:27700"):
        io.read_incidents(f, m)
    m2 = io.ColumnMapping(name="deg-as-bng", category="type", timestamp="when", x="e", y="n", crs="EPSG:27700")
    f.write_text("type,when,e,n\n" + "".join(f"Disorder,2024-01-0{i},-1.4{i},53.3{i}\n" for i in range(1, 6)))
    with pytest.raises(GeoInputError, match=r"longitude/latitude.*EPSG:4326"):
        io.read_incidents(f, m2)


def test_calls_rows_with_bad_dates_are_rejected(tmp_path):
    f = tmp_path / "calls.csv"
    f.write_text("id,type,when,lon,lat\n1,Drugs,03/01/2024 10:00,-1.47,53.38\n2,Drugs,not a date,-1.47,53.38\n"
                 "3,,04/01/2024,-1.47,53.38\n4,ASB,05/01/2024,,\n")
    m = io.ColumnMapping(name="t", category="type", timestamp="when", x="lon", y="lat", id="id")
    with pytest.raises(GeoInputError, match=r"ambiguous.*line 2: '03/01/2024 10:00'.*dayfirst"):
        io.read_incidents(f, m)  # every date reads both ways: the user must say which
    m.dayfirst = True
    r = io.read_incidents(f, m)
    assert r.report.outcomes == {"mapped": 1, "no_location": 1, "outside_area": 0, "rejected": 2}
    assert r.report.reasons == {"bad date (unrecognised format)": 1, "missing category": 1}
    assert r.frame["date"].iloc[0] == "2024-01-03T10:00:00"  # day first, as stated
    assert list(r.frame["uid"]) == ["calls:1", "calls:4"]


def test_incidents_from_geojson_and_geopackage(tmp_path):
    gdf = gpd.GeoDataFrame({"kind": ["Drugs", "Disorder"], "ts": ["2024-02-01", "2024-02-02"]},
                           geometry=gpd.points_from_xy([-1.47, -1.46], [53.38, 53.37]), crs=4326)
    for name in ("calls.geojson", "calls.gpkg"):
        gdf.to_file(tmp_path / name)
        r = io.read_incidents(tmp_path / name, io.ColumnMapping(name="g", category="kind", timestamp="ts"))
        assert r.report.outcomes["mapped"] == 2
        assert r.frame["x"].between(430_000, 440_000).all()


# ---------------------------------------------------------------- sites


def test_dfe_schools_and_health_sites(sy_area):
    schools = io.read_sites(SY / "sites" / "schools-2019.csv", area=sy_area)
    assert schools.report.rows_read == 684 and schools.report.balanced
    assert set(schools.frame["kind"]) == {"school"}
    inside = schools.report.outcomes["mapped"]
    assert 480 <= inside <= 510  # README: 496 inside the county
    health = io.read_sites(SY / "sites" / "health-sites-2014.csv", area=sy_area)
    raw = pd.read_csv(SY / "sites" / "health-sites-2014.csv")
    flagged = (raw[["needle_syringe_exchange", "supervised_consumption"]] > 0).any(axis=1)
    kinds = dict(zip(health.frame["uid"], health.frame["kind"]))
    assert {kinds["health:" + str(o)] for o in raw.loc[flagged, "org_id"]} == {"needle exchange"}
    assert 0 < (health.frame["kind"] == "treatment").sum() < raw["substance_keyword_in_name"].sum()  # not Superdrug
    assert health.report.balanced


def test_generic_sites_with_kind_column(tmp_path):
    f = tmp_path / "hostels.csv"
    f.write_text("name,kind,latitude,longitude\nA House,hostel,53.38,-1.47\nB Lodge,bail hostel,53.39,-1.46\n"
                 "C Place,casino,53.37,-1.45\nD Home,hostel,,\n")
    r = io.read_sites(f)
    assert r.report.outcomes == {"mapped": 2, "no_location": 0, "outside_area": 0, "rejected": 2}
    assert "unknown kind" in " ".join(r.report.reasons)
    with pytest.raises(GeoInputError, match=r"no 'kind' column.*--kind"):
        f.write_text("name,latitude,longitude\nA,53.38,-1.47\n")
        io.read_sites(f)
    assert set(io.read_sites(f, kind="hostel").frame["kind"]) == {"hostel"}


# ---------------------------------------------------------------- boundaries


def test_boundaries_from_geojson_shapefile_and_topojson(tmp_path):
    b = io.read_boundaries(DISTRICTS, level="bcu", name_field="LAD13NM", code_field="LAD13CD",
                           force_field="police_force")
    assert len(b.frame) == 19
    assert set(b.frame.loc[b.frame["force"] == "South Yorkshire", "name"]) == {
        "Barnsley", "Doncaster", "Rotherham", "Sheffield"}
    shp = io.read_boundaries(DATA / "boundaries" / "portland" / "police-districts.shp", level="neighbourhood",
                             name_field="DISTRICT", code_field="DISTRICT", parent_field="PRECINCT", crs="EPSG:26910")
    assert len(shp.frame) == 60 and set(shp.frame["parent_code"]) == {"NO", "CE", "EA"}
    topo = tmp_path / "squares.topojson"
    topo.write_text(json.dumps({
        "type": "Topology", "objects": {"units": {"type": "GeometryCollection", "geometries": [
            {"type": "Polygon", "arcs": [[0]], "properties": {"CD": "U1", "NM": "Unit one"}}]}},
        "arcs": [[[-1.5, 53.3], [-1.4, 53.3], [-1.4, 53.4], [-1.5, 53.4], [-1.5, 53.3]]]}))
    t = io.read_boundaries(topo, level="ward", name_field="NM", code_field="CD")
    assert list(t.frame["name"]) == ["Unit one"] and t.frame.geometry.iloc[0].area > 1e7
    with pytest.raises(GeoInputError, match=r"'NAME'.*choose one of: .*LAD13NM"):
        io.read_boundaries(DISTRICTS, level="bcu", name_field="NAME", code_field="LAD13CD")
