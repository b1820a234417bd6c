"""The upload form under the reported attack, in a real Chromium: a file named
``../../../../<workspaces>/x.gpkg`` must not be written into the workspaces folder."""
from __future__ import annotations

import hashlib
import sqlite3
import shutil
from pathlib import Path

import pytest

from tests.browser.conftest import make_accounts, sign_in, wait_for_app


def tree(folder: Path) -> dict:
    """Each file in the folder; for a workspace, its data (the audit log grows as users sign in)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.suffix == ".gpkg":
            con = sqlite3.connect(p)
            try:
                out[p.name] = [con.execute(f"SELECT count(*), max(rowid) FROM {t}").fetchone()
                               for t in ("incidents", "import_history", "boundaries", "sites", "operations")]
            finally:
                con.close()
        elif p.is_file():
            out[p.name] = hashlib.sha1(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def upload_app(streamlit_app, demo_workspaces, tmp_path_factory):
    folder = tmp_path_factory.mktemp("upload-workspaces")
    shutil.copy(demo_workspaces["south-yorkshire"], folder / "south-yorkshire.gpkg")
    accounts = make_accounts(tmp_path_factory.mktemp("upload-accounts") / "accounts.db")
    server = streamlit_app("dashboard/app.py", env={"GEO_WORKSPACES": str(folder), "GEO_ACCOUNTS": str(accounts)})
    return server, folder


def _upload(page, name: str, payload: bytes) -> str:
    page.get_by_role("link", name="Data and imports").click()
    wait_for_app(page)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": payload}])
    chip = page.locator("[data-testid='stFileChip']").first
    chip.wait_for()
    assert chip.get_attribute("aria-label").startswith("../../")  # the browser sends the name as given
    page.get_by_role("button", name="Import").click()
    page.locator("[data-testid='stAlert']").last.wait_for()
    wait_for_app(page)
    return "\n".join(page.locator("[data-testid='stAlert']").all_inner_texts())


def test_hostile_upload_name_writes_nothing_into_the_workspaces_folder(upload_app, page):
    server, folder = upload_app
    before = tree(folder)
    hostile = "../" * 12 + str(folder).lstrip("/") + "/x.gpkg"   # what Path(tmp) / name resolved into
    sign_in(page, server, "analyst-user")
    text = _upload(page, hostile, b"SQLite format 3\x00" + b"\x00" * 4000)
    assert "Nothing was imported" in text
    assert tree(folder) == before   # no x.gpkg, and the workspace's data is unchanged
    assert not (folder / "x.gpkg").exists()


def test_a_valid_file_under_a_hostile_name_imports_under_its_label(upload_app, page):
    server, folder = upload_app
    root = Path(__file__).resolve().parents[2]
    from tests.conftest import sy_street_csv
    month = sy_street_csv("2024-01")
    hostile = "../" * 12 + str(folder).lstrip("/") + "/evil.csv"
    sign_in(page, server, "analyst-user")
    text = _upload(page, hostile, month.read_bytes())
    assert "Imported evil.csv" in text
    assert sorted(p.name for p in folder.rglob("*")) == ["south-yorkshire.gpkg"]
