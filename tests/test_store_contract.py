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
