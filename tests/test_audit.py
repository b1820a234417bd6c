"""The audit log: append-only, written for every sign-in, view and download, and never a traceback.

Attacks and gaps from issue 10: the audit table could be rewritten by any writer of the
workspace file; dashboard imports, downloads and map views were not logged; a workspace
held by a long import made the sign-in audit fail with "database is locked".
"""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo import Workspace
from geo.auth import AccountStore
from tests.conftest import sy_street_csv

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")
CRIME = sy_street_csv("2024-01")


@pytest.fixture()
def ws_path(tmp_path):
    ws = Workspace.create(tmp_path / "w.gpkg", name="W")
    ws.store.audit("alice", "signed in", "analyst via local")
    ws.store.audit("alice", "viewed map", "crime")
    ws.close()
    return tmp_path / "w.gpkg"


def test_audit_entries_cannot_be_changed_or_deleted(ws_path):
    """Any writer of the file, not only this code: a plain sqlite3 connection is refused too."""
    c = sqlite3.connect(ws_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        c.execute("UPDATE audit_log SET user='mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        c.execute("DELETE FROM audit_log")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        c.execute("DELETE FROM audit_log WHERE action='viewed map'")
    c.execute("INSERT INTO audit_log (at, user, action, detail) VALUES ('t', 'bob', 'signed in', '')")
    c.commit()
    c.close()
    ws = Workspace.open(ws_path)
    log = ws.store.audit_log()
    ws.close()
    assert list(log["user"]) == ["bob", "alice", "alice"]


def test_an_older_workspace_gets_the_triggers_when_opened(ws_path):
    c = sqlite3.connect(ws_path)
    c.execute("DROP TRIGGER audit_log_no_update")
    c.execute("DROP TRIGGER audit_log_no_delete")
    c.commit()
    c.close()
    Workspace.open(ws_path).close()
    c = sqlite3.connect(ws_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        c.execute("DELETE FROM audit_log")
    c.close()


def test_an_import_keeps_every_audit_entry(ws_path):
    ws = Workspace.open(ws_path)
    before = ws.store.audit_log()
    ws.import_crime(CRIME)
    after = ws.store.audit_log()
    ws.close()
    assert len(after) >= len(before)
    assert after.tail(len(before)).reset_index(drop=True).equals(before.reset_index(drop=True))


# ------------------------------------------------------------------ the dashboard side
@pytest.fixture()
def workspaces(demo_workspaces, tmp_path, monkeypatch):
    shutil.copy(demo_workspaces["south-yorkshire"], tmp_path / "south-yorkshire.gpkg")
    monkeypatch.setenv("GEO_WORKSPACES", str(tmp_path))
    monkeypatch.setenv("GEO_ACCOUNTS", str(tmp_path / "accounts.db"))
    return tmp_path / "south-yorkshire.gpkg"


def test_sign_in_while_an_import_holds_the_workspace(workspaces, monkeypatch):
    """"database is locked" in the sign-in audit: a clear message, the entry kept elsewhere, no traceback."""
    from dashboard import auth
    monkeypatch.setattr(auth, "AUDIT_BUSY_S", 0.5)
    with AccountStore() as store:
        store.add("ana", "analyst password", "analyst")
    holder = sqlite3.connect(workspaces, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a long import holds the write lock
    holder.execute("INSERT INTO settings VALUES ('lock-test', '1')")
    try:
        at = AppTest.from_file(APP, default_timeout=90).run()
        at.text_input(key="auth_username").input("ana")
        at.text_input(key="auth_password").input("analyst password")
        at.button[0].click().run()
        assert not at.exception, at.exception
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert at.session_state["auth_user"]["username"] == "ana"  # signed in all the same
    assert any("workspace is busy" in w.value for w in at.sidebar.warning), [w.value for w in at.warning]
    with AccountStore() as store:
        log = store.account_log()
    row = log[(log["user"] == "ana") & (log["action"] == "signed in")]
    assert len(row) == 1 and "busy" in row["detail"].iloc[0]


def test_map_view_and_downloads_are_audited(workspaces):
    from tests.conftest import sign_in_for_test
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=120), "analyst", username="ann").run()
    assert not at.exception
    at.run()  # a second run of the same view is not logged twice
    ws = Workspace.open(workspaces)
    log = ws.store.audit_log()
    ws.close()
    views = log[(log["user"] == "ann") & (log["action"] == "viewed map")]
    assert len(views) == 1 and "crime" in views["detail"].iloc[0]
    # the download buttons call data.audit on click (AppTest cannot click a download button)
    from dashboard import data
    import inspect
    for page, actions in {"map.py": ["downloaded map CSV"],
                          "hotspots.py": ["downloaded hot spots CSV", "downloaded hot spots GeoPackage",
                                          "downloaded site exposure CSV"],
                          "data.py": ["downloaded rejected rows"],
                          "operations.py": ["downloaded operations register", "downloaded results report",
                                            "downloaded results tables"]}.items():
        src = (ROOT / "dashboard" / "app_pages" / page).read_text()
        for a in actions:
            assert f'"{a}"' in src, (page, a)
        # every download button on these pages records who took the file
        assert src.count("download_button(") == src.count("on_click=data.audit"), page
    assert list(inspect.signature(data.audit).parameters) == ["action", "detail"]
    # changes are audited by the service that makes them, never by a page
    services = "".join(p.read_text() for p in (ROOT / "geo" / "services").glob("*.py"))
    for a in ("imported", "harm weights saved", "harm weights restored", "setting changed", "operation saved",
              "operation deleted"):
        assert f'"{a}"' in services, a
    for page in (ROOT / "dashboard" / "app_pages").glob("*.py"):
        src = page.read_text()
        assert "open_workspace" not in src and "ws.store" not in src and ".audit(" not in src.replace(
            "data.audit(", ""), page.name


def test_the_area_behind_a_partners_drawn_polygon_is_audited(workspaces):
    import json

    from dashboard import data
    from geo.auth import User
    ws = Workspace.open(workspaces)
    months = ws.store.months("crime")
    ws.close()
    poly = {"type": "Polygon", "coordinates": [[[-1.48, 53.37], [-1.46, 53.37], [-1.46, 53.39], [-1.48, 53.39],
                                                [-1.48, 53.37]]]}
    from geo import disclosure
    q = disclosure.complete_quarters(months)[-1]  # partners get whole calendar quarters only
    qm = disclosure.quarter_months(q)
    data.briefing(str(workspaces), data.version(workspaces), ("polygon", json.dumps(poly)),
                  (qm[0], qm[-1]), "partner", user=User("pat", "partner"))
    ws = Workspace.open(workspaces)
    log = ws.store.audit_log()
    ws.close()
    row = log[(log["user"] == "pat") & (log["action"] == "briefing on a drawn area")]
    assert len(row) == 1 and "-1.48" in row["detail"].iloc[0] and "partner briefing" in row["detail"].iloc[0]
