"""Re-imports are idempotent: republished months replace, mangled ids and id switches are refused."""
import csv
import hashlib
from pathlib import Path

import pytest

from geo import GeoInputError, Workspace, io
from tests.conftest import sy_street_csv

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
MONTH = sy_street_csv("2024-01")
DISTRICTS = DATA / "boundaries" / "south-yorkshire" / "districts-and-neighbours-2013.geojson"


def rows_of(path):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=io.POLICE_UK_STREET_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return path


def sha(path):
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def ws(tmp_path):
    w = Workspace.create(tmp_path / "w.gpkg", name="Test", crs="EPSG:27700", force="South Yorkshire")
    w.import_boundaries(DISTRICTS, level="bcu", name_field="LAD13NM", code_field="LAD13CD",
                        force_field="police_force")
    yield w
    w.close()


def test_republished_month_with_new_outcomes_and_2021_lsoas_adds_nothing(ws, tmp_path):
    """ASB rows were hashed on all 12 columns: +83 and +50 rows on two republished months."""
    first = ws.import_crime(MONTH)
    held = len(ws.store.read_incidents())
    rows = rows_of(MONTH)
    asb = [r for r in rows if not r["Crime ID"]]
    for r in asb[:83]:
        r["LSOA code"] = "E01999999"       # a 2021 census code
        r["LSOA name"] = "Sheffield 999Z"
    for r in asb[83:133]:
        r["Last outcome category"] = "Action to be taken by another organisation"
    with_id = [r for r in rows if r["Crime ID"]]
    with_id[0]["Last outcome category"] = "Offender given a caution"
    again = ws.import_crime(write(tmp_path / "republished.csv", rows))
    stored = ws.store.read_incidents()
    assert len(stored) == held == first.new
    assert again.new == 0 and again.removed == 0
    assert again.updated == 133 + 1
    assert again.duplicates == again.rows_read - again.updated - again.outcomes["rejected"]
    assert (stored["lsoa_code"] == "E01999999").sum() == 83  # the newer version is what is held
    assert "updated" in again.summary() and "134" in again.summary()
    # importing the republished file again changes nothing
    third = ws.import_crime(tmp_path / "republished.csv")
    assert (third.new, third.updated, third.removed) == (0, 0, 0)


def test_republished_month_replaces_the_force_month(ws, tmp_path):
    ws.import_crime(MONTH)
    held = len(ws.store.read_incidents())
    rows = rows_of(MONTH)
    fewer = rows[:-40]  # police.uk withdrew 40 records
    rep = ws.import_crime(write(tmp_path / "fewer.csv", fewer))
    assert rep.removed == 40 and rep.new == 0
    assert len(ws.store.read_incidents()) == held - 40
    # another force's rows of the same month are not touched
    other = [dict(r, **{"Reported by": "Derbyshire Constabulary", "Crime ID": ""}) for r in rows[:5]]
    rep = ws.import_crime(write(tmp_path / "derbyshire.csv", other))
    assert rep.removed == 0 and rep.new == 5
    assert len(ws.store.read_incidents()) == held - 40 + 5


def test_ids_in_scientific_notation_are_refused_with_the_line(ws, tmp_path):
    rows = rows_of(MONTH)[:200]
    for r in rows[100:]:
        if r["Crime ID"]:
            r["Crime ID"] = "1.70E+63"
    f = write(tmp_path / "excel.csv", rows)
    before = sha(ws.store.path)
    first_bad = next(i for i, r in enumerate(rows) if r["Crime ID"] == "1.70E+63") + 2
    with pytest.raises(GeoInputError, match=rf"scientific notation \(line {first_bad}: '1.70E\+63'\).*"
                                            r"Fix: use the file as downloaded"):
        ws.import_crime(f)
    assert sha(ws.store.path) == before
    calls = tmp_path / "calls.csv"
    calls.write_text("id,type,when,lon,lat\n1,Drugs,2024-01-02,-1.47,53.38\n2.5E+12,Drugs,2024-01-02,-1.47,53.38\n")
    with pytest.raises(GeoInputError, match=r"line 3: '2.5E\+12'"):
        io.read_incidents(calls, io.ColumnMapping(name="m", category="type", timestamp="when", x="lon", y="lat",
                                                  id="id"))


def test_switching_between_id_and_no_id_mappings_is_refused(ws, tmp_path):
    f = tmp_path / "calls.csv"
    f.write_text("ref,type,when,lon,lat\n" + "".join(f"C{i},Drugs,2024-01-0{i},-1.47,53.38\n" for i in range(1, 6)))
    with_id = io.ColumnMapping(name="with-id", category="type", timestamp="when", x="lon", y="lat", id="ref")
    no_id = io.ColumnMapping(name="no-id", category="type", timestamp="when", x="lon", y="lat")
    assert ws.import_calls(f, with_id).new == 5
    before = sha(ws.store.path)
    with pytest.raises(GeoInputError, match=r"identified by the source's own id.*'no-id' names no id column.*"
                                            r"counted twice"):
        ws.import_calls(f, no_id)
    assert sha(ws.store.path) == before
    assert ws.import_calls(f, with_id).duplicates == 5
    # the other way round, on another layer
    no_id.layer = with_id.layer = "incidents"
    assert ws.import_calls(f, no_id).new == 5
    with pytest.raises(GeoInputError, match=r"imported without an id column.*'with-id' names id column 'ref'"):
        ws.import_calls(f, with_id)
    assert len(ws.store.read_incidents()) == 10


def test_a_revised_sites_list_without_ids_adds_nothing_twice(ws, tmp_path):
    f = tmp_path / "hostels.csv"
    f.write_text("kind,name,detail,latitude,longitude\nhostel,Hope House,12 beds,53.38,-1.47\n"
                 "hostel,Elm Lodge,,53.39,-1.46\n")
    assert ws.import_sites(f).new == 2
    f.write_text("kind,name,detail,latitude,longitude\nhostel,Hope House,14 beds (revised),53.38,-1.47\n"
                 "hostel,Elm Lodge,,53.39,-1.46\nhostel,Oak Court,,53.37,-1.45\n")
    again = ws.import_sites(f)
    assert (again.new, again.duplicates) == (1, 2)
    assert len(ws.store.read_sites()) == 3


@pytest.mark.parametrize("key_index", [True, False])
def test_held_keys_across_blocks_matches_a_set(monkeypatch, key_index):
    """The key lookup gives, for every incoming key (repeats, extremes, negatives), whether it is
    stored: the same as a set lookup, also when the keys span several lookup blocks and insert chunks."""
    import sqlite3

    import numpy as np

    from geo.store import _gpkg_dedup
    monkeypatch.setattr(_gpkg_dedup, "HELD_BLOCK", 5)
    monkeypatch.setattr(_gpkg_dedup, "INSERT_CHUNK", 2)
    rng = np.random.default_rng(3)
    stored = np.concatenate([rng.integers(-2**63, 2**63 - 1, 40, dtype=np.int64),
                             np.array([-2**63, 2**63 - 1, 0, -1], dtype=np.int64)])
    incoming = np.concatenate([stored[::3], stored[::3], rng.integers(-2**63, 2**63 - 1, 17, dtype=np.int64),
                               np.array([-2**63, 1], dtype=np.int64)])
    c = sqlite3.connect(":memory:")
    c.execute("CREATE TABLE incidents (fid INTEGER PRIMARY KEY, uid_key INTEGER)")
    c.execute("CREATE INDEX incidents_uid_key ON incidents(uid_key)")
    c.executemany("INSERT INTO incidents (uid_key) VALUES (?)", [(int(k),) for k in stored])
    got = _gpkg_dedup.held_keys(c, incoming, key_index=key_index)
    want = np.array([int(k) in set(stored.tolist()) for k in incoming])
    assert got.dtype == bool and got.tolist() == want.tolist()
    assert want.any() and not want.all()
    assert _gpkg_dedup.held_keys(c, incoming[:0], key_index=key_index).tolist() == []
