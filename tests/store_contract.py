"""The store contract: what every workspace store backend must do (GeoPackage, PostGIS, ...).

Each ``check_*`` takes a ``make`` callable: ``make()`` creates a fresh, empty store and
``make(reopen=store)`` opens a second, independent connection to the same store (another
user or process). ``tests/test_store_contract.py`` runs every check against every
backend; a new backend is added there and must pass them all. Data are small synthetic
frames, so the whole suite takes seconds.
"""
from __future__ import annotations

import sys
import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import GeoInputError
from geo.report import ImportReport
from geo.store import Store, StoreError

CRS = "EPSG:27700"


def incidents(n: int, *, month: str = "2024-01", force: str = "South Yorkshire", prefix: str = "c",
              layer: str = "crime", start: int = 0, outcome: str = "Under investigation") -> gpd.GeoDataFrame:
    """``n`` synthetic police.uk-like rows with ids ``{prefix}{start..start+n-1}``."""
    i = np.arange(start, start + n)
    x = 430000.0 + (i % 100) * 50.0
    y = 390000.0 + (i // 100) * 50.0
    cats = np.array(["Burglary", "Drugs", "Violence and sexual offences", "Anti-social behaviour"])
    df = pd.DataFrame({
        "uid": [f"{layer}:{prefix}{k}" for k in i], "layer": layer, "source": "test.csv", "crime_id": [f"{prefix}{k}" for k in i],
        "month": month, "date": None, "category": cats[i % len(cats)], "subcategory": None, "force": force,
        "location": "On or near Test Street", "lsoa_code": "E01000001", "lsoa_name": "Sheffield 001A",
        "outcome": outcome, "x": x, "y": y, "status": "mapped",
    })
    return gpd.GeoDataFrame(df, geometry=shapely.points(x, y), crs=CRS)


def report(frame, kind: str = "crime") -> ImportReport:
    r = ImportReport(source="test.csv", kind=kind, rows_read=len(frame))
    r.outcomes["mapped"] = len(frame)
    return r


def append(store, frame, **kw) -> ImportReport:
    r = report(frame)
    store.append_incidents(frame, r, **kw)
    return r


def square(x0=430000.0, y0=390000.0, size=500.0):
    return shapely.box(x0, y0, x0 + size, y0 + size)


# -- protocol -----------------------------------------------------------------------------------------------

def check_implements_the_protocol(make):
    s = make()
    assert isinstance(s, Store)
    missing = [name for name in Store.__protocol_attrs__ if not hasattr(s, name)] \
        if hasattr(Store, "__protocol_attrs__") else []
    assert missing == []
    assert s.crs and str(s.location)


# -- imports: row accounting, de-duplication ----------------------------------------------------------------

def check_import_accounts_for_every_row_and_never_double_counts(make):
    s = make()
    f = incidents(120)
    r1 = append(s, f)
    assert (r1.new, r1.duplicates) == (120, 0)
    r2 = append(s, f)
    assert (r2.new, r2.duplicates) == (0, 120)
    # repeats inside one frame are duplicates too; a half-overlapping frame adds only its new half
    both = pd.concat([incidents(60, start=100), incidents(60, start=100)])
    r3 = append(s, gpd.GeoDataFrame(both, crs=CRS))
    assert (r3.new, r3.duplicates) == (40, 80)
    assert len(s.read_incidents()) == 160
    h = s.import_history()
    assert list(h["new"]) == [120, 0, 40] and list(h["duplicates"]) == [0, 120, 80]
    assert list(h["rows_read"]) == [120, 120, 120]
    assert s.import_report(int(h["id"].iloc[0]))["rows_read"] == 120
    assert s.layers() == ["crime"] and s.months() == ["2024-01"]
    assert s.categories("crime") == sorted(set(incidents(160)["category"]))


def check_republished_force_month_is_replaced(make):
    s = make()
    append(s, incidents(100, month="2024-01"), replace_months=True)
    append(s, incidents(50, month="2024-02", start=1000), replace_months=True)
    # police.uk republishes January: 10 rows gone, 5 with a new outcome, 3 new rows
    jan = incidents(93, month="2024-01", start=10)
    jan.loc[jan.index[:5], "outcome"] = "Offender charged"
    r = append(s, jan, replace_months=True)
    assert (r.new, r.updated, r.removed) == (3, 5, 10)
    assert r.duplicates == 93 - 3 - 5
    got = s.read_incidents(months=("2024-01", "2024-01"))
    assert len(got) == 93
    assert (got["outcome"] == "Offender charged").sum() == 5
    assert len(s.read_incidents(months=("2024-02", "2024-02"))) == 50  # other months untouched
    # the same file again changes nothing
    r = append(s, jan, replace_months=True)
    assert (r.new, r.updated, r.removed, r.duplicates) == (0, 0, 0, 93)


def check_reads_filter_by_layer_months_categories_statuses_and_box(make):
    s = make()
    append(s, incidents(80, month="2024-01"))
    append(s, incidents(80, month="2024-02", start=80))
    append(s, incidents(30, month="2024-02", layer="calls", prefix="k"))
    assert len(s.read_incidents(layer="crime")) == 160
    assert len(s.read_incidents(layer="crime", months=("2024-02", "2024-03"))) == 80
    drugs = s.read_incidents(layer="crime", categories=["Drugs"])
    assert len(drugs) == 40 and set(drugs["category"]) == {"Drugs"}
    assert len(s.read_incidents(categories=[])) == 0
    assert len(s.read_incidents(statuses=["no_location"])) == 0
    box = (430000.0, 390000.0, 430499.0, 390050.0)  # ids 0-9 (January) and 100-109 (February)
    inside = s.read_incidents(layer="crime", bbox=box)
    assert len(inside) == 20 and inside.geometry.x.max() <= 430499.0
    got = s.read_incidents(layer="calls")
    assert got.crs == CRS and list(got.columns[:3]) == ["uid", "layer", "source"]
    assert np.allclose(got.geometry.x, got["x"]) and s.months("calls") == ["2024-02"]
    summary = s.incident_summary()
    assert summary["n"].sum() == 190
    assert s.layer_id_style("crime") == "id" and s.layer_id_style("nothing") is None


def check_read_only_the_columns_asked_for(make):
    """``read_incidents(columns=)``: those columns (store order) with ``x``, ``y`` and the geometry, the same
    rows and values as a read of every column, with every filter; an unknown name is refused."""
    s = make()
    append(s, incidents(80, month="2024-01"))
    append(s, incidents(30, month="2024-02", layer="calls", prefix="k"))
    box = (430000.0, 390000.0, 432000.0, 390050.0)
    for filters in ({}, {"layer": "crime"}, {"months": ("2024-02", "2024-02")}, {"categories": ["Drugs"]},
                    {"bbox": box}):
        whole = s.read_incidents(**filters)
        some = s.read_incidents(columns=["month", "category", "force"], **filters)
        assert list(some.columns) == ["month", "category", "force", "x", "y", "geometry"], filters
        assert some.crs == whole.crs and len(some) > 0, filters
        pd.testing.assert_frame_equal(pd.DataFrame(some.drop(columns="geometry")),
                                      pd.DataFrame(whole[["month", "category", "force", "x", "y"]]), check_exact=True)
        assert shapely.equals_exact(some.geometry.to_numpy(), whole.geometry.to_numpy(), tolerance=0).all(), filters
    assert list(s.read_incidents(columns=["y", "import_id"]).columns) == ["import_id", "x", "y", "geometry"]
    with pytest.raises(GeoInputError, match="Unknown incident column"):
        s.read_incidents(columns=["month", "no_such"])


def check_bcu_read_is_exactly_the_points_in_the_polygons(make):
    """``read_incidents(bcus=)``: the rows inside or on the edge of the BCUs' polygons, no bbox extras."""
    s = make()
    append(s, incidents(2000, month="2024-01"))  # a 100 x 20 lattice, 50 m apart, from (430000, 390000)
    tri = shapely.Polygon([(430000, 390000), (434950, 390000), (430000, 390950)])  # corner on a point, edges on 50 m
    ring = shapely.Point(433000, 390500).buffer(320).difference(shapely.Point(433000, 390500).buffer(120))
    units = gpd.GeoDataFrame({"level": "bcu", "code": ["T", "R", "Z"], "name": ["Tri", "Ring", "Far"],
                              "parent_code": None, "force": "South Yorkshire"},
                             geometry=[tri, ring, square(500000.0, 500000.0)], crs=CRS)
    s.replace_boundaries(units, report(units, "boundaries"))
    rows = s.read_incidents()
    x, y = rows["x"].to_numpy(), rows["y"].to_numpy()
    for codes in (["T"], ["R"], ["T", "R"], ["Z"], []):
        want = np.zeros(len(rows), bool)
        for g in units.set_index("code").geometry.loc[codes]:
            want |= shapely.intersects_xy(g, x, y)
        got = s.read_incidents(bcus=codes)
        assert sorted(got["uid"]) == sorted(rows.loc[want, "uid"]), codes
        box = shapely.union_all(units.set_index("code").geometry.loc[codes].to_numpy()).bounds if codes else None
        if codes and codes != ["Z"]:  # the polygon, not its box: the box holds more points
            assert 0 < len(got) < len(s.read_incidents(bbox=box))
    assert len(s.read_incidents(bcus=["T"], months=("2024-02", "2024-03"))) == 0


# -- sites, boundaries ---------------------------------------------------------------------------------------

def check_sites_and_boundaries(make):
    s = make()
    sites = gpd.GeoDataFrame({"uid": ["a", "b"], "kind": "school", "name": ["A", "B"], "detail": "",
                              "source": "s.csv", "status": "mapped"},
                             geometry=[shapely.Point(430100, 390100), shapely.Point(430200, 390200)], crs=CRS)
    assert s.upsert_sites(sites, report(sites, "sites")) == (2, 0)
    assert s.upsert_sites(sites, report(sites, "sites")) == (0, 2)
    assert sorted(s.read_sites()["uid"]) == ["a", "b"]
    units = gpd.GeoDataFrame({"level": "bcu", "code": ["E1", "E2"], "name": ["One", "Two"], "parent_code": None,
                              "force": "South Yorkshire"}, geometry=[square(), square(430500)], crs=CRS)
    s.replace_boundaries(units, report(units, "boundaries"))
    units2 = units.iloc[:1].assign(name="One renamed")
    s.replace_boundaries(units2, report(units2, "boundaries"))
    b = s.read_boundaries("bcu")
    assert sorted(b["name"]) == ["One renamed", "Two"] and s.boundary_levels() == ["bcu"]
    assert b.geometry.iloc[0].geom_type == "MultiPolygon" and b.geometry.area.round().tolist() == [250000.0] * 2
    assert len(s.read_boundaries("ward")) == 0


# -- operations, harm weights, settings ----------------------------------------------------------------------

def check_operations_crud(make):
    s = make()
    s.save_operation("op1", "Op One", {"name": "Op One", "start": "2024-01"}, square())
    s.save_operation("op2", "Op Two", {"name": "Op Two"}, square(431000))
    s.save_operation("op1", "Op One b", {"name": "Op One b"}, square(432000, size=100))
    ops = s.read_operations().set_index("op_id")
    assert sorted(ops.index) == ["op1", "op2"] and ops.loc["op1", "name"] == "Op One b"
    assert '"Op One b"' in ops.loc["op1", "record"] and round(ops.geometry["op1"].area) == 10000
    s.delete_operation("op2")
    assert list(s.read_operations()["op_id"]) == ["op1"]


def check_harm_weights_and_settings(make):
    s = make()
    table = pd.DataFrame({"category": ["Drugs", "Burglary", "Theft"], "weight": [30.0, 120.0, 5.0],
                          "basis": "test", "source": "test"})
    s.set_harm_weights(table)
    got = s.harm_weights()
    assert list(got["category"]) == ["Burglary", "Drugs", "Theft"] and got["weight"].dtype.kind == "f"
    s.set_harm_weights(table.iloc[:1])
    assert list(s.harm_weights()["category"]) == ["Drugs"]
    s.set_setting("site_buffers_m", [100, 250])
    s.set_setting("name", "Test")
    s.set_setting("name", "Test 2")
    assert s.get_setting("site_buffers_m") == [100, 250] and s.get_setting("missing", 7) == 7
    assert s.settings()["name"] == "Test 2" and s.settings()["crs"] == s.crs


# -- audit -----------------------------------------------------------------------------------------------------

def check_audit_is_append_only(make):
    s = make()
    s.audit("alice", "signed in")
    s.audit("bob", "operation saved", "Op One")
    log = s.audit_log()
    assert list(log["user"]) == ["bob", "alice"] and list(log.columns) == ["at", "user", "action", "detail"]
    conn = getattr(s, "_conn", None) or getattr(s, "_db")  # the backend's own connection: raw SQL
    for sql in ("UPDATE audit_log SET detail = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            conn.execute(sql)
    assert len(s.audit_log()) == 2


# -- transactions ------------------------------------------------------------------------------------------------

class Boom(Exception):
    pass


def check_failed_write_leaves_previous_state(make, monkeypatch):
    """A failure just before commit (the worst moment) rolls the whole write back."""
    s = make()
    append(s, incidents(50))
    s.save_operation("op1", "Op One", {"name": "Op One"}, square())
    s.set_harm_weights(pd.DataFrame({"category": ["Drugs"], "weight": [30.0], "basis": "", "source": ""}))
    before = (len(s.read_incidents()), len(s.import_history()), s.harm_weights().to_dict(),
              s.read_operations()["name"].tolist(), s.get_setting("name"), s.version())

    def fail():
        raise Boom("killed mid-write")
    monkeypatch.setattr(sys.modules[type(s).__module__], "fault_point", fail)  # the backend's hook
    writes = [lambda: append(s, incidents(50, start=50)),
              lambda: append(s, incidents(40, start=10), replace_months=True),
              lambda: s.set_harm_weights(pd.DataFrame({"category": ["Theft"], "weight": [1.0]})),
              lambda: s.save_operation("op1", "changed", {}, square(431000)),
              lambda: s.delete_operation("op1"),
              lambda: s.set_setting("name", "changed")]
    for w in writes:
        with pytest.raises(Boom):
            w()
    monkeypatch.undo()
    after = (len(s.read_incidents()), len(s.import_history()), s.harm_weights().to_dict(),
             s.read_operations()["name"].tolist(), s.get_setting("name"), s.version())
    assert after == before
    # and the store still works
    assert append(s, incidents(50, start=50)).new == 50


def check_version_changes_with_every_write_seen_by_others(make):
    s = make()
    other = make(reopen=s)
    seen = {other.version()}
    for write in (lambda: append(s, incidents(5)), lambda: s.set_setting("k", 1),
                  lambda: s.save_operation("o", "O", {}, square()), lambda: s.audit("a", "b")):
        write()
        v = other.version()
        assert v not in seen
        seen.add(v)
    assert len(other.read_incidents()) == 5 and other.get_setting("k") == 1
    other.close()


def check_finished_analyses_are_stored_pruned_and_seen_by_others(make):
    """``save_result``/``load_result``: one write each, replaced by key, newest ``keep`` per operation kept,
    readable from a second connection; no data counter moves (a stored result is no data)."""
    s = make()
    other = make(reopen=s)
    assert other.load_result("k0") is None  # nothing stored yet (no table either)
    append(s, incidents(3))
    for i in range(4):
        s.save_result(f"k{i}", "op-a", bytes([i]) * 1000, keep=3)
    s.save_result("b0", "op-b", b"\x00other", keep=3)
    s.save_result("k3", "op-a", b"newer", keep=3)  # the same key: replaced, not added
    assert other.load_result("k0") is None  # the oldest of op-a pruned
    assert [other.load_result(k) for k in ("k1", "k2", "k3")] == [b"\x01" * 1000, b"\x02" * 1000, b"newer"]
    assert other.load_result("b0") == b"\x00other"  # another operation's results are not pruned with op-a's
    assert len(other.read_incidents()) == 3 and other.import_history()["new"].sum() == 3
    other.close()


def check_failed_result_write_leaves_previous_result(make, monkeypatch):
    s = make()
    s.save_result("k", "op", b"first")

    def fail():
        raise Boom("killed mid-save")
    monkeypatch.setattr(sys.modules[type(s).__module__], "fault_point", fail)  # the backend's hook
    with pytest.raises(Boom):
        s.save_result("k", "op", b"second")
    monkeypatch.undo()
    assert s.load_result("k") == b"first"


# -- concurrency ---------------------------------------------------------------------------------------------------

def check_concurrent_writers_and_readers_lose_nothing(make):
    """Imports, operation edits and audit entries from several connections at once, with readers."""
    s = make()
    errors: list[BaseException] = []
    reads: list[int] = []

    def run(fn):
        def go():
            conn = make(reopen=s)
            try:
                fn(conn)
            except BaseException as err:  # noqa: BLE001 - reported below
                errors.append(err)
            finally:
                conn.close()
        return threading.Thread(target=go)

    def importer(k):
        return lambda c: [append(c, incidents(200, month=f"2024-0{k + 1}", prefix=f"i{k}-"), replace_months=True)
                          for _ in range(2)]

    def editor(k):
        return lambda c: [c.save_operation(f"op{k}-{j}", f"Op {k} {j}", {}, square(430000 + 100 * j))
                          for j in range(5)]

    def auditor(k):
        return lambda c: [c.audit(f"user{k}", "viewed", str(j)) for j in range(10)]

    def reader(_k):
        return lambda c: [reads.append(len(c.read_incidents())) for _ in range(5)]

    threads = [run(f(k)) for k in range(3) for f in (importer, editor, auditor, reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    locked = [e for e in errors if "locked" in str(e).lower() and not isinstance(e, StoreError)]
    assert locked == [] and errors == []
    assert len(s.read_incidents()) == 600
    h = s.import_history()
    assert h["new"].sum() == 600 and h["duplicates"].sum() == 600
    assert len(s.read_operations()) == 15
    assert len(s.audit_log()) == 30
    assert all(n in range(0, 601) for n in reads) and len(reads) == 15


def _child(make, s, k: int) -> None:
    """One writer process: its own import, a shared import, audit entries (exit 1 on any error)."""
    import os
    import traceback
    try:
        c = make(reopen=s)
        append(c, incidents(100, month="2024-03", prefix=f"p{k}-"))
        append(c, incidents(100, month="2024-04", prefix="shared-"))
        for j in range(5):
            c.audit(f"proc{k}", "viewed", str(j))
        c.close()
    except BaseException:  # noqa: BLE001 - reported through the exit status
        traceback.print_exc()
        os._exit(1)


def check_concurrent_processes_lose_nothing(make):
    """Three writer processes at once (forked: each opens its own connection), while this one reads."""
    import multiprocessing
    s = make()
    append(s, incidents(50, month="2024-02", prefix="before-"))
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_child, args=(make, s, k)) for k in range(3)]
    for p in procs:
        p.start()
    seen = [len(s.read_incidents()) for _ in range(5)]
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert len(s.read_incidents()) == 50 + 300 + 100
    h = s.import_history()
    assert h["new"].sum() == 450 and h["duplicates"].sum() == 200
    assert len(s.audit_log()) == 15 and all(50 <= n <= 450 for n in seen)


CHECKS = {name: fn for name, fn in globals().items() if name.startswith("check_")}
