"""Uploads: a hostile client-supplied file name never becomes a path; size is capped."""
import hashlib
import tempfile
from pathlib import Path

import pytest

from geo import GeoInputError, Workspace, uploads
from tests.conftest import sy_street_csv

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
MONTH = sy_street_csv("2024-01")
DISTRICTS = DATA / "boundaries" / "south-yorkshire" / "districts-and-neighbours-2013.geojson"
HOSTILE = ["../../../../workspaces/x.gpkg", "..\\..\\workspaces\\x.gpkg", "/etc/x.csv",
           "../../workspaces/south-yorkshire.gpkg", "a/../../../x.csv"]


def tree(folder: Path) -> dict:
    """Every file under ``folder`` with its SHA-1 (the state a hostile upload must not change)."""
    return {str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_name_is_written_to_a_fixed_name_inside_the_folder(tmp_path, name):
    work = tmp_path / "a" / "b" / "c" / "d"
    work.mkdir(parents=True)
    (tmp_path / "workspaces").mkdir()
    (tmp_path / "workspaces" / "south-yorkshire.gpkg").write_bytes(b"the real workspace")
    before = tree(tmp_path)
    f = uploads.save_upload(name, b"payload", work)
    assert f.parent == work and f.name == "upload" + Path(name.replace("\\", "/")).suffix
    after = tree(tmp_path)
    added = set(after) - set(before)
    assert added == {str(f.relative_to(tmp_path))}
    assert {k: after[k] for k in before} == before  # nothing overwritten


def test_display_label_keeps_only_the_last_part():
    assert uploads.display_label("../../../../workspaces/x.gpkg") == "x.gpkg"
    assert uploads.display_label("..\\..\\evil.csv") == "evil.csv"
    assert uploads.display_label("a\x00b\u202e.csv") == "ab.csv"
    assert uploads.display_label("") == "upload"


def test_suffix_outside_the_whitelist_is_refused(tmp_path):
    for name in ("x.py", "x.sh", "x", "x.gpkg-journal", ".."):
        with pytest.raises(GeoInputError, match="cannot be imported"):
            uploads.save_upload(name, b"x", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_upload_above_the_limit_is_refused(tmp_path):
    with pytest.raises(GeoInputError, match=r"above the upload limit of 1 MB"):
        uploads.save_upload("big.csv", b"x" * (1024 * 1024 + 1), tmp_path, max_mb=1)
    assert list(tmp_path.iterdir()) == []
    assert uploads.save_upload("ok.csv", b"x" * 1024, tmp_path, max_mb=1).exists()


def test_import_upload_with_a_hostile_name_writes_nothing_outside_its_temp_folder(tmp_path, monkeypatch):
    """The page's import path (Workspace.import_upload) under the reported attack."""
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    folder = tmp_path / "workspaces"
    folder.mkdir()
    ws = Workspace.create(folder / "w.gpkg", name="Test", crs="EPSG:27700", force="South Yorkshire")
    ws.import_boundaries(DISTRICTS, level="bcu", name_field="LAD13NM", code_field="LAD13CD",
                         force_field="police_force")
    ws.close()
    before = tree(tmp_path)
    ws = Workspace.open(folder / "w.gpkg")
    # a GeoPackage aimed at the workspaces folder: refused as crime, and nothing written there
    with pytest.raises(GeoInputError):
        ws.import_upload("../../../../workspaces/x.gpkg", b"SQLite format 3\x00" + b"\x00" * 100, kind="crime")
    assert tree(tmp_path) == before
    # a valid file under a hostile name imports, labelled by its last part only
    rep = ws.import_upload("../../../../workspaces/evil.csv", MONTH.read_bytes(), kind="crime")
    ws.close()
    assert rep.new == rep.rows_read > 0
    assert rep.source == "evil.csv"
    after = tree(tmp_path)
    assert set(after) == set(before)  # no new file anywhere; the temp folder was removed
    assert list(temp_root.iterdir()) == []
    assert [k for k in after if after[k] != before[k]] == ["workspaces/w.gpkg"]


def test_import_upload_refuses_calls_without_a_mapping(tmp_path):
    ws = Workspace.create(tmp_path / "w.gpkg", name="Test", crs="EPSG:27700")
    with pytest.raises(GeoInputError, match="No column mapping"):
        ws.import_upload("calls.csv", b"a,b\n1,2\n", kind="calls")
    ws.close()
