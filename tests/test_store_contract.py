"""Every store backend passes the same contract (tests/store_contract.py).

GeoPackage always; PostGIS against the server named by ``GEO_TEST_PG``
(``postgresql://...``; ``scripts/pg_test_server.sh start`` makes a throwaway one, and
``.ci/run`` / ``make test-postgis`` set it). Without ``GEO_TEST_PG`` the PostGIS cases
skip locally, but fail in CI (``CI`` set), so CI cannot skip them silently.
"""
import os
import uuid

import pytest

from geo.store import GpkgStore
from tests import store_contract as contract

PG = os.environ.get("GEO_TEST_PG", "").strip()


def _gpkg(tmp_path):
    made = []

    def make(reopen=None):
        s = GpkgStore(reopen.path) if reopen is not None else GpkgStore(tmp_path / f"s{len(made)}.gpkg",
                                                                          crs=contract.CRS)
        made.append(s)
        return s
    return make, made


def _postgis(_tmp_path):
    from geo.store.postgis import PostgisStore
    made = []

    def make(reopen=None):
        if reopen is not None:
            s = PostgisStore(reopen.url)
        else:
            sep = "&" if "?" in PG else "?"
            s = PostgisStore(f"{PG}{sep}workspace=contract-{uuid.uuid4().hex[:12]}", crs=contract.CRS, create=True)
        made.append(s)
        return s
    return make, made


@pytest.fixture(params=["gpkg", "postgis"])
def make(request, tmp_path):
    """``make()`` -> a fresh store of the backend; ``make(reopen=s)`` -> a second connection to it."""
    if request.param == "postgis" and not PG:
        pytest.skip("GEO_TEST_PG is not set (scripts/pg_test_server.sh start prints a URL)")
    factory, made = (_gpkg if request.param == "gpkg" else _postgis)(tmp_path)
    yield factory
    for s in made:
        try:
            if request.param == "postgis" and not hasattr(s, "_reopened"):
                s.drop()
            s.close()
        except Exception:  # noqa: BLE001 - a store a check closed already
            pass


@pytest.mark.parametrize("check", sorted(contract.CHECKS))
def test_store_contract(make, check, monkeypatch):
    fn = contract.CHECKS[check]
    if "monkeypatch" in fn.__code__.co_varnames[:fn.__code__.co_argcount]:
        fn(make, monkeypatch)
    else:
        fn(make)


def test_ci_runs_the_postgis_contract():
    """In CI the PostGIS cases must run: a missing GEO_TEST_PG is a failure, not a skip."""
    if os.environ.get("CI") and not PG:
        pytest.fail("CI is set but GEO_TEST_PG is not: .ci/run must start the PostGIS test server "
                    "(scripts/pg_test_server.sh) and export GEO_TEST_PG")
    if PG:
        import psycopg
        with psycopg.connect(PG, connect_timeout=10) as conn:
            assert conn.execute("SELECT postgis_version()").fetchone()[0]


@pytest.fixture
def pg_url():
    if not PG:
        pytest.skip("GEO_TEST_PG is not set (scripts/pg_test_server.sh start prints a URL)")
    sep = "&" if "?" in PG else "?"
    url = f"{PG}{sep}workspace=ws-{uuid.uuid4().hex[:12]}"
    yield url
    from geo.store.postgis import PostgisStore
    try:
        PostgisStore(url).drop()
    except Exception:  # noqa: BLE001 - the test dropped it or never made it
        pass


def _small_workspace(path):
    from geo import Workspace
    from tests.conftest import DATA, sy_street_csv
    ws = Workspace.create(path, name="Small", crs="EPSG:27700", force="South Yorkshire")
    ws.import_boundaries(DATA / "boundaries" / "south-yorkshire" / "districts-and-neighbours-2013.geojson",
                         level="bcu", name_field="LAD13NM", code_field="LAD13CD", force_field="police_force")
    ws.import_crime(sy_street_csv("2024-01"))
    ws.import_sites(DATA / "south-yorkshire" / "sites" / "schools-2019.csv", kind="school")
    ws.store.audit("alice", "signed in")
    ws.store.save_operation("op1", "Op One", {"name": "Op One"}, contract.square())
    return ws


def test_workspace_and_migrate_on_postgis(tmp_path, pg_url, monkeypatch):
    """A real police.uk month: a Workspace made on PostGIS reads what the GeoPackage one reads,
    and `python -m geo migrate` copies a GeoPackage workspace across with every count equal."""
    from geo import Workspace
    from geo.cli import main
    from geo.store.migrate import counts
    gp = _small_workspace(tmp_path / "small.gpkg")
    want = counts(gp.store)
    assert want["incidents"] == 14451 and want["audit_log"] == 1
    assert main(["migrate", "--from", str(tmp_path / "small.gpkg"), "--to", pg_url]) == 0
    pg = Workspace.open(pg_url)
    assert counts(pg.store) == want
    a, b = gp.incidents(layer="crime"), pg.incidents(layer="crime")
    assert len(a) == len(b) and a["harm"].sum() == pytest.approx(b["harm"].sum())
    assert sorted(a["uid"]) == sorted(b["uid"]) and pg.bcus().shape == gp.bcus().shape
    assert pg.store.import_history()["new"].tolist() == gp.store.import_history()["new"].tolist()
    # every row keeps the import that brought it: incidents, sites and boundaries
    ids = set(gp.store.import_history()["id"])
    for read, key in ((lambda s: s.read_sites(with_import_id=True), ["uid"]),
                      (lambda s: s.read_boundaries(with_import_id=True), ["level", "code"]),
                      (lambda s: s.read_incidents(statuses=None), ["uid"])):
        got, exp = (read(x.store).sort_values(key)[[*key, "import_id"]].reset_index(drop=True) for x in (pg, gp))
        assert len(exp) > 0 and exp["import_id"].notna().all() and set(exp["import_id"]) <= ids
        assert got.astype(str).equals(exp.astype(str))
    assert len(set(gp.store.read_sites(with_import_id=True)["import_id"])
               | set(gp.store.read_boundaries(with_import_id=True)["import_id"])) == 2
    # re-importing the same month into the migrated copy adds nothing (keys carried across)
    from tests.conftest import sy_street_csv
    again = pg.import_crime(sy_street_csv("2024-01"))
    assert (again.new, again.duplicates) == (0, 14451)
    # a second migrate to the same place is refused; --replace replaces
    assert main(["migrate", "--from", str(tmp_path / "small.gpkg"), "--to", pg_url]) == 2
    pg.close()
    gp.close()
    # GEO_STORE points file paths at the server: the workspace named by the file's stem
    base = pg_url.split("workspace=")[0].rstrip("?&")
    monkeypatch.setenv("GEO_STORE", base)
    name = pg_url.split("workspace=")[1]
    ws = Workspace.open(tmp_path / f"{name}.gpkg")
    assert ws.store.location.startswith("postgresql://") and len(ws.store.read_incidents()) == 14451
    ws.close()


def test_dashboard_cache_version_follows_the_shared_store(tmp_path, pg_url, monkeypatch):
    """With GEO_STORE set, the dashboard's cache key is the store's change counter: one user's
    save changes it for everyone (a file's mtime would not move at all)."""
    from dashboard import data
    from geo.store.postgis import PostgisStore
    s = PostgisStore(pg_url, contract.CRS, create=True)
    monkeypatch.setenv("GEO_STORE", pg_url.split("?")[0])
    path = tmp_path / f"{pg_url.split('workspace=')[1]}.gpkg"  # no such file: the name picks the workspace
    before = data.version(path)
    s.audit("alice", "operation saved", "Op One")
    after = data.version(path)
    assert before != after and not path.exists()
    monkeypatch.delenv("GEO_STORE")
    assert data.version(path) == 0  # a GeoPackage path again: no file, version 0
    s.close()


def test_coverage_and_panels_read_a_postgis_workspace(pg_url):
    """Code with a GeoPackage fast path (an SQLite ``_conn``) takes the protocol path on PostGIS."""
    from geo import Workspace
    from geo.coverage import covered_force_months
    ws = Workspace.create(pg_url, name="Cov", crs=contract.CRS, force="South Yorkshire")
    ws.store.append_incidents(contract.incidents(30, month="2024-05"), contract.report(contract.incidents(30)))
    assert covered_force_months(ws) == {("South Yorkshire", "2024-05")}
    from geo.panels import panel_incidents
    assert len(panel_incidents(ws)) == 30
    ws.close()


def test_gpkg_older_file_gets_the_key_indexes_and_the_scan_path_agrees(tmp_path):
    """A file made before the key indexes gets them on open; without them (read-only file)
    de-duplication scans instead and counts the same."""
    import sqlite3
    s = GpkgStore(tmp_path / "old.gpkg", crs=contract.CRS)
    contract.append(s, contract.incidents(40))
    s.close()
    con = sqlite3.connect(tmp_path / "old.gpkg")
    con.execute("DROP INDEX incidents_uid_key")
    con.execute("DROP INDEX incidents_group")
    con.commit()
    con.close()
    s = GpkgStore(tmp_path / "old.gpkg")
    names = {r[0] for r in s._conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"incidents_uid_key", "incidents_group"} <= names and s._key_index
    plan = " ".join(r[-1] for r in s._conn.execute(
        "EXPLAIN QUERY PLAN SELECT 1 FROM incidents WHERE uid_key = 5"))
    assert "incidents_uid_key" in plan
    s._key_index = False  # the scan path
    r = contract.append(s, contract.incidents(60, start=20), replace_months=True)
    assert (r.new, r.duplicates, r.removed) == (40, 20, 20)  # ids 40-79 new, 20-39 held, 0-19 gone
    s._key_index = True
    r = contract.append(s, contract.incidents(60, start=20), replace_months=True)
    assert (r.new, r.duplicates, r.removed) == (0, 60, 0)
    s.close()
