"""The faster import paths give the same results as the straightforward ones they replaced,
on the real South Yorkshire files (computed comparisons, nothing hard-coded).

* ``geo.io.checks.locate`` projects and tests each distinct map point once: the same
  coordinates and statuses as projecting and testing every row.
* ``geo.store.uid_keys`` hashes from Arrow buffers: the same FNV-1a keys as a plain
  byte-by-byte loop over each id's UTF-8 bytes.
* A first import into an empty workspace builds its indexes after the insert: they exist
  afterwards, and a re-import of the same rows adds nothing.
* ``content_uids`` in Arrow, ``point_groups`` skipping columns that follow the point, and
  police.uk's UTF-8 checked by Arrow's reader give the per-row ids, the fully factorised
  groups and the whole-file check's messages.
"""
from __future__ import annotations

import sqlite3
import struct

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.geometry import points_inside
from geo.io import read_police_uk
from geo.io.checks import locate, transformer
from geo.io.csvread import read_csv_bytes, to_float
from geo.store import uid_keys
from geo.store import gpkg as gpkg_mod
from geo.workspace import Workspace
from tests.conftest import DATA, sy_street_csv

DISTRICTS = DATA / "boundaries" / "south-yorkshire" / "districts-and-neighbours-2013.geojson"


def _sy_area():
    d = gpd.read_file(DISTRICTS).to_crs("EPSG:27700")
    return d.loc[d["police_force"] == "South Yorkshire"].geometry.make_valid().union_all()


def _real_frame() -> pd.DataFrame:
    """South Yorkshire 2024-01 and the neighbouring forces' 2024-01..04 file: rows inside,
    outside the force and without a location."""
    parts = [read_csv_bytes(str(p), p.read_bytes())
             for p in (sy_street_csv("2024-01"), sy_street_csv("2024-01", neighbours=True))]
    return pd.concat(parts, ignore_index=True)


def _fnv1a_reference(uid: str) -> int:
    h = 0xCBF29CE484222325
    for b in uid.encode("utf-8").rstrip(b"\x00"):
        h = ((h ^ b) * 0x100000001B3) % 2**64
    return h - 2**64 if h >= 2**63 else h


def test_locate_by_distinct_points_equals_every_row():
    df = _real_frame()
    lon, lat = to_float(df["Longitude"]), to_float(df["Latitude"])
    area = _sy_area()
    X, Y, status = locate(lon, lat, "EPSG:4326", "EPSG:27700", area)
    # the straightforward way: every located row projected and tested on its own
    have = np.isfinite(lon) & np.isfinite(lat)
    assert have.sum() > 10_000 and (~have).any()
    RX, RY = transformer("EPSG:4326", "EPSG:27700").transform(lon[have], lat[have])
    inside = points_inside(area, RX, RY)
    ref_status = np.where(have, "mapped", "no_location").astype(object)
    ref_status[np.flatnonzero(have)[~inside]] = "outside_area"
    assert np.array_equal(X[have], RX) and np.array_equal(Y[have], RY)
    assert np.isnan(X[~have]).all() and np.isnan(Y[~have]).all()
    assert (status == ref_status).all()
    assert {"mapped", "outside_area", "no_location"} <= set(status)


def test_uid_keys_equal_a_byte_loop_on_real_ids():
    res = read_police_uk(sy_street_csv("2024-01"), crs="EPSG:27700", points=False)
    uids = res.frame["uid"].astype(str)
    assert uids.str.startswith("h:").any() and (uids.str.len() == 64).any()  # content hashes and Crime IDs
    sample = pd.concat([uids.iloc[:3000], uids[uids.str.startswith("h:")].iloc[:500]], ignore_index=True)
    extra = ["", "a", "é∑ ok", "x\x00", "x\x00y", "\x00\x00"]
    values = sample.tolist() + extra
    expected = np.array([_fnv1a_reference(u) for u in values], dtype=np.int64)
    assert np.array_equal(uid_keys(values), expected)
    assert np.array_equal(uid_keys(pd.Series(values, dtype="str")), expected)
    assert np.array_equal(uid_keys(pd.Series(values, dtype=object).iloc[5:]), expected[5:])
    assert uid_keys([]).shape == (0,)


def test_first_bulk_import_builds_indexes_and_stays_idempotent(tmp_path, monkeypatch):
    monkeypatch.setattr(gpkg_mod, "BULK_INDEX_ROWS", 1_000)  # one real month takes the bulk path
    path = tmp_path / "ws.gpkg"
    ws = Workspace.create(path, name="t", crs="EPSG:27700", force="South Yorkshire")
    src = sy_street_csv("2024-03")
    first = ws.import_crime(src)
    assert first.new == first.rows_read - first.outcomes["rejected"] > 1_000
    with sqlite3.connect(path) as c:
        names = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        stored = pd.read_sql("SELECT uid, uid_key FROM incidents", c)
    assert {"incidents_uid_key", "incidents_group"} <= names
    assert np.array_equal(stored["uid_key"].to_numpy(), uid_keys(stored["uid"].tolist()))
    again = ws.import_crime(src)
    assert again.new == 0 and again.duplicates == first.new
    more = ws.import_crime(sy_street_csv("2024-04"))  # into a non-empty table: the usual path
    assert more.new == more.rows_read - more.outcomes["rejected"]
    assert len(ws.store.read_incidents()) == first.new + more.new
    ws.close()


def _content_uids_reference(df: pd.DataFrame, prefix: str) -> np.ndarray:
    """Row identities from content as first written: one Python string per row."""
    import hashlib
    cols = [df[c].astype(str) for c in df.columns]
    key = cols[0].str.cat(cols[1:], sep="\x1f") if len(cols) > 1 else cols[0]
    occurrence = key.groupby(key, sort=False).cumcount().to_numpy()
    return np.array([prefix + hashlib.sha1(f"{k}\x1e{i}".encode()).hexdigest()
                     for k, i in zip(key.tolist(), occurrence.tolist())], dtype=object)


def test_content_uids_equal_the_per_row_strings_on_real_rows():
    from geo.io.csvread import content_uids
    from geo.io.police_uk import ASB_IDENTITY_COLUMNS
    df = _real_frame()
    asb = df.loc[df["Crime ID"].str.strip() == "", ASB_IDENTITY_COLUMNS]
    asb = pd.concat([asb, asb.iloc[:50]], ignore_index=True)  # identical rows repeated: k-th repeat differs
    got = content_uids(asb, "h:")
    assert len(set(got)) == len(got) > 1_000
    assert np.array_equal(got, _content_uids_reference(asb, "h:"))
    from geo.io.csvread import _arrow_content_uids  # the Arrow route is the one taken for these text columns
    assert np.array_equal(_arrow_content_uids(asb, "h:"), got)
    odd = pd.DataFrame({"a": ["é", "x", "x", None], "b": [1.5, 2.0, 2.0, np.nan]})  # non-text columns, a gap
    assert np.array_equal(content_uids(odd, "p:"), _content_uids_reference(odd, "p:"))


def test_one_value_columns_written_once_are_stored_as_given(tmp_path):
    from geo.store._gpkg_sql import sql_literal
    assert sql_literal("it's") == "'it''s'" and sql_literal(None) == "NULL"
    assert sql_literal("a\x00b") is None and sql_literal(3.5) is None
    name = "South Yorkshire Police's ''test'' -- é; DROP TABLE incidents"
    src = tmp_path / "2024-05-south-yorkshire-street.csv"
    src.write_bytes(sy_street_csv("2024-05").read_bytes().replace(b"South Yorkshire Police", name.encode()))
    ws = Workspace.create(tmp_path / "ws.gpkg", name="t", crs="EPSG:27700", force="South Yorkshire")
    rep = ws.import_crime(src)
    got = ws.store.read_incidents()
    assert len(got) == rep.new > 10_000
    assert set(got["force"]) == {name} and set(got["layer"]) == {"crime"}
    assert set(got["source"]) == {src.name} and got["date"].isna().all()
    assert ws.import_crime(src).new == 0
    ws.close()


def _stored_incidents(path) -> list[str]:
    """Every stored incident row, in ``fid`` order, as text that tells -0.0 from 0.0."""
    with sqlite3.connect(path) as c:
        return [repr(r) for r in c.execute("SELECT * FROM incidents ORDER BY fid")]


def test_rows_bound_per_point_many_per_statement_store_what_row_by_row_binding_does(tmp_path, monkeypatch):
    """The bulk insert (a hundred rows per statement; the columns that follow the map point
    bound once per point) stores the same rows, values and order as binding every column
    of every row, on a real month with edge values that grouping must keep apart."""
    import copy

    from geo.store import _gpkg_sql as sql_mod
    from geo.store.gpkg import GpkgStore
    reads = [read_police_uk(sy_street_csv(m), crs="EPSG:27700", points=False) for m in ("2024-01", "2024-02",
                                                                                        "2024-03", "2024-04")]
    res = reads[0]
    frame = pd.concat([r.frame for r in reads], ignore_index=True)
    for col in ("x", "y", "location", "lsoa_code", "status"):  # rows 0-9 and 10-19 share everything ...
        frame.loc[10:19, col] = frame.loc[0, col]
        frame.loc[0:9, col] = frame.loc[0, col]
    frame.loc[0:9, "x"] = -0.0  # ... but the sign of a zero coordinate (the stored blobs differ)
    frame.loc[10:19, "x"] = 0.0
    frame.loc[20:29, "location"] = None  # missing text is its own value
    frame.loc[30:39, ["x", "y"]] = np.nan  # no location
    assert frame["x"].isna().sum() > 100 and frame["location"].nunique() < len(frame) // 4
    grouped = []
    real_groups = gpkg_mod.point_groups
    monkeypatch.setattr(gpkg_mod, "point_groups", lambda *a: grouped.append(real_groups(*a)) or grouped[-1])

    def stored(name):
        store = GpkgStore(tmp_path / name, crs="EPSG:27700")
        store.append_incidents(frame, copy.deepcopy(res.report))  # (the report is only recorded)
        store.close()
        return _stored_incidents(tmp_path / name)
    plans = []
    real_order = sql_mod.in_values_order
    monkeypatch.setattr(sql_mod, "in_values_order", lambda *a: plans.append(real_order(*a)) or plans[-1])
    fast = stored("fast.gpkg")
    assert grouped and grouped[-1] is not None  # the per-point path was taken ...
    assert plans == [True, True], (  # ... without sorting rows by position (this SQLite's plan was checked)
        f"SQLite {sqlite3.sqlite_version} plans the per-point insert differently: rows are sorted by position "
        "(the same stored rows, about 1 CPU s per million rows slower)")
    monkeypatch.setattr(sql_mod, "in_values_order", lambda *a: False)  # another SQLite's plan: ORDER BY
    assert stored("sorted.gpkg") == fast
    monkeypatch.setattr(gpkg_mod, "point_groups", lambda *a: None)  # every column of every row bound ...
    monkeypatch.setattr(sql_mod, "ROWS_PER_STATEMENT", 1)  # ... one row per statement
    reference = stored("reference.gpkg")
    assert len(fast) == len(frame) > 50_000
    assert fast == reference
    with sqlite3.connect(tmp_path / "fast.gpkg") as c:  # the blob's x (after 8 + 5 header bytes) keeps its sign
        xs = [bytes(r[0])[13:21] for r in c.execute("SELECT geom FROM incidents WHERE fid IN (1, 11) ORDER BY fid")]
    assert xs == [struct.pack("<d", -0.0), struct.pack("<d", 0.0)]


def _street_bytes(rows: list[list[str]]) -> bytes:
    from geo.io.police_uk import POLICE_UK_STREET_COLUMNS
    lines = [",".join(POLICE_UK_STREET_COLUMNS)] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _good_row(loc: str = "On or near Park Road") -> list[str]:
    return ["", "2024-01", "South Yorkshire Police", "South Yorkshire Police", "-1.47", "53.38", loc,
            "E01007321", "Sheffield 001A", "Anti-social behaviour", "", ""]


def _whole_file_check_message(name: str, raw: bytes) -> str:
    """What the whole-file UTF-8 check (run first, before any other check) says of ``raw``."""
    import pytest
    from geo.errors import GeoInputError
    from geo.io.csvread import check_utf8
    with pytest.raises(GeoInputError) as err:
        check_utf8(name, raw)
    return str(err.value)


def test_police_uk_files_not_utf8_anywhere_get_the_whole_file_message(tmp_path):
    """Arrow's reader checks the cells' UTF-8 (the header is checked first): a bad byte
    anywhere, in a cell, a quoted cell, a line of the wrong width, or in a file refused or
    skipped for another reason, gives the message the whole-file check gives (its line)."""
    import pytest
    from geo.errors import GeoInputError
    bad = "Caf\u00e9".encode("latin-1")  # 0xe9 then end of field: not UTF-8
    good = _street_bytes([_good_row()] * 3)
    street = good.rsplit(b"\n", 1)[0]
    cases = {
        "cell": street + b"\n" + _street_bytes([_good_row("On or near X")]).split(b"\n")[1].replace(b"X", bad) + b"\n",
        "quoted": street + b'\n,2024-01,a,a,-1.47,53.38,"' + bad + b', Road",E01,S,Drugs,,\n',
        "width": street + b"\n" + bad + b"\n",
        "header": _street_bytes([]).replace(b"Location", b"Locati" + bad) + good.split(b"\n", 1)[1],
        "semicolons": good.split(b"\n", 1)[0].replace(b",", b";") + b"\n" + bad + b"\n",
        "outcomes": b"Crime ID,Month,Outcome type\nabc,2024-01," + bad + b"\n",
        "old_mac": street.replace(b"\n", b"\r") + b"\r" + bad + b"\r",
    }
    for label, raw in cases.items():
        f = tmp_path / f"{label}.csv"
        f.write_bytes(raw)
        expected = _whole_file_check_message(str(f), raw)
        assert "not UTF-8" in expected, label
        with pytest.raises(GeoInputError) as err:
            read_police_uk(f, crs="EPSG:27700")
        assert str(err.value) == expected, label
    # in a folder, a file that is not street crime is skipped only when it is UTF-8
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a-street.csv").write_bytes(good)
    (folder / "b-outcomes.csv").write_bytes(cases["outcomes"])
    with pytest.raises(GeoInputError, match="not UTF-8"):
        read_police_uk(folder, crs="EPSG:27700")
    (folder / "b-outcomes.csv").write_bytes(b"Crime ID,Month,Outcome type\nabc,2024-01,x\n")
    assert len(read_police_uk(folder, crs="EPSG:27700").frame) == 3


def _point_groups_reference(rows, cols, x, y):
    """Grouping by factorising every part (the coordinates' bits and each text column)."""
    n = len(rows)
    key = np.zeros(n, dtype=np.int64)
    for part in [x.view(np.int64), y.view(np.int64), *(rows[c] for c in cols)]:
        codes, uniques = pd.factorize(part, use_na_sentinel=True)
        key, groups = pd.factorize(key * (len(uniques) + 1) + (codes.astype(np.int64) + 1))
    return key, pd.Series(np.arange(n)).groupby(key).min().to_numpy()


def test_point_groups_skipping_columns_that_follow_the_point_equal_factorising_all():
    """A text column with one value per group so far is not factorised; the groups (and
    their numbering) are those of factorising every column, also when a column splits a
    point (a different street, a missing value)."""
    from geo.store._gpkg_sql import point_groups
    frame = pd.concat([read_police_uk(sy_street_csv(m), crs="EPSG:27700", points=False).frame
                       for m in ("2024-01", "2024-02", "2024-03", "2024-04")], ignore_index=True)
    cols = ["status", "location", "lsoa_code", "lsoa_name"]
    x, y = frame["x"].to_numpy(dtype=float), frame["y"].to_numpy(dtype=float)
    plain = point_groups(frame, cols, x, y)
    assert plain is not None and len(plain[1]) < len(frame) // 4
    split = frame.copy()
    split.loc[5, "location"] = "On or near Elsewhere"  # one row of a point with another street ...
    split.loc[7, "lsoa_name"] = None  # ... and one missing
    for rows in (frame, split):
        got, ref = point_groups(rows, cols, x, y), _point_groups_reference(rows, cols, x, y)
        assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])
    assert len(point_groups(split, cols, x, y)[1]) > len(plain[1])


def test_values_order_is_trusted_only_for_the_plan_that_keeps_it():
    """``in_values_order`` accepts the co-routine-then-rowid-lookup plan and refuses plans
    that may reorder rows (a sorter, a join not on the points' integer key)."""
    from geo.store._gpkg_sql import in_values_order
    c = sqlite3.connect(":memory:")
    c.execute("CREATE TABLE t (g, k, a)")
    c.execute("CREATE TEMP TABLE _pts (pid INTEGER PRIMARY KEY, g)")
    c.execute("CREATE TEMP TABLE _by_text (pid TEXT, g)")

    def sql(k, tail="", table="_pts"):
        return (f"INSERT INTO t SELECT p.g, v.column2, v.column3 FROM (VALUES " + ",".join(["(?,?,?)"] * k)
                + f") AS v CROSS JOIN {table} AS p WHERE p.pid = v.column1{tail}")
    assert in_values_order(c, sql(1), 1) and in_values_order(c, sql(100), 100)
    assert not in_values_order(c, sql(100, " ORDER BY v.column3"), 100)  # sorted: the plan differs
    assert not in_values_order(c, sql(100, table="_by_text"), 100)  # no integer-key lookup
    assert not in_values_order(c, sql(100), 99)  # not the statement described
    assert not in_values_order(c, "INSERT INTO nowhere VALUES (?)", 1)  # fails to plan
