"""Offline basemaps (geo.tiles): an MBTiles file checked, unpacked whole, served locally, escaped."""
from __future__ import annotations

import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from geo import maps, tiles
from geo.cli import main
from geo.errors import GeoInputError

ROOT = Path(__file__).resolve().parents[1]


def png(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(out, format="PNG")
    return out.getvalue()


def make_mbtiles(path: Path, tiles_: list[tuple[int, int, int, bytes]], *, fmt: str = "png",
                 name: str = "Test streets", attribution: str = "© Test map contributors") -> Path:
    """An MBTiles 1.3 file: ``(zoom, column, TMS row, data)`` tiles."""
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    con.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    con.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", name), ("format", fmt),
                                                           ("attribution", attribution)])
    con.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", tiles_)
    con.commit()
    con.close()
    return path


@pytest.fixture
def pyramid(tmp_path):
    """Zoom 0 and the four zoom-1 tiles, each a different colour (so a flipped row shows)."""
    colours = {(1, 0, 0): (255, 0, 0), (1, 1, 0): (0, 255, 0), (1, 0, 1): (0, 0, 255), (1, 1, 1): (255, 255, 0)}
    rows = [(0, 0, 0, png((128, 128, 128)))] + [(z, x, r, png(c)) for (z, x, r), c in colours.items()]
    return make_mbtiles(tmp_path / "streets.mbtiles", rows), colours


def test_install_unpacks_every_tile_with_rows_flipped(pyramid, tmp_path):
    path, colours = pyramid
    info = tiles.mbtiles_info(path)
    assert info["tiles"] == 5 and info["zooms"] == (0, 1) and info["format"] == "png"
    got = tiles.install_mbtiles(path, dest=tmp_path / "static")
    assert got.name == "test-streets" and got.tiles == 5
    assert got.url == "/app/static/tiles/test-streets/{z}/{x}/{y}.png"
    from PIL import Image
    for (z, x, row), colour in colours.items():
        y = (1 << z) - 1 - row  # MBTiles rows count from the south; XYZ y from the north
        assert Image.open(got.folder / str(z) / str(x) / f"{y}.png").getpixel((5, 5)) == colour
    assert sorted(p.relative_to(got.folder).as_posix() for p in got.folder.rglob("*.png")) == [
        "0/0/0.png", "1/0/0.png", "1/0/1.png", "1/1/0.png", "1/1/1.png"]
    [listed] = tiles.installed(tmp_path / "static")
    assert (listed.name, listed.url, listed.tiles, listed.zooms) == (got.name, got.url, 5, (0, 1))
    assert listed.attribution == "© Test map contributors"


def test_reinstall_replaces_the_whole_folder(pyramid, tmp_path):
    path, _ = pyramid
    dest = tmp_path / "static"
    tiles.install_mbtiles(path, dest=dest)
    smaller = make_mbtiles(tmp_path / "z0.mbtiles", [(0, 0, 0, png((1, 2, 3)))])
    got = tiles.install_mbtiles(smaller, dest=dest)
    assert sorted(p.name for p in got.folder.iterdir()) == ["0", "tileset.json"]
    assert not (got.folder / "1").exists()
    assert sorted(p.name for p in dest.iterdir()) == ["test-streets"]  # no .part or .old left


@pytest.mark.parametrize("name, folder", [("../../etc/passwd", "etc-passwd"), ("<script>x</script>", "script-x-script"),
                                          ("...", "basemap"), ("Ordnance Survey Open Roads 2025", "ordnance-survey-open-roads-2025")])
def test_a_name_never_becomes_a_path(pyramid, tmp_path, name, folder):
    path, _ = pyramid
    dest = tmp_path / "static"
    got = tiles.install_mbtiles(path, dest=dest, name=name)
    assert got.name == folder and got.folder.parent == dest
    assert [p.name for p in dest.iterdir()] == [folder]


def test_bad_files_are_refused_and_nothing_is_left(tmp_path, monkeypatch):
    dest = tmp_path / "static"

    def refused(path, match):
        with pytest.raises(GeoInputError, match=match) as err:
            tiles.install_mbtiles(path, dest=dest)
        assert not dest.exists() or list(dest.iterdir()) == [], list(dest.iterdir())
        return str(err.value)

    text = tmp_path / "roads.mbtiles"
    text.write_text("not a database")
    refused(text, r"not an MBTiles file.*an SQLite database")
    other = tmp_path / "other.mbtiles"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.commit()
    refused(other, r"no metadata or tiles table")
    vector = make_mbtiles(tmp_path / "v.mbtiles", [(0, 0, 0, b"\x1a\x00")], fmt="pbf")
    refused(vector, r"vector tiles.*raster")
    fake = make_mbtiles(tmp_path / "f.mbtiles", [(0, 0, 0, png((0, 0, 0))), (1, 0, 0, b"<svg onload=alert(1)>")])
    msg = refused(fake, r"zoom 1, column 0, row 0 is not a PNG image")
    assert "f.mbtiles" in msg
    outside = make_mbtiles(tmp_path / "o.mbtiles", [(1, 2, 0, png((0, 0, 0)))])
    refused(outside, r"outside its zoom level's grid: zoom 1, column 2")
    empty = make_mbtiles(tmp_path / "e.mbtiles", [])
    refused(empty, r"holds no tiles")
    monkeypatch.setattr(tiles, "MAX_TILES", 1)
    two = make_mbtiles(tmp_path / "two.mbtiles", [(0, 0, 0, png((0, 0, 0))), (1, 0, 0, png((0, 0, 0)))])
    refused(two, r"2 tiles .*more than this install takes \(1 tiles")


def test_a_failed_install_keeps_the_old_basemap(pyramid, tmp_path):
    path, _ = pyramid
    dest = tmp_path / "static"
    first = tiles.install_mbtiles(path, dest=dest)
    broken = make_mbtiles(tmp_path / "b.mbtiles", [(0, 0, 0, png((0, 0, 0))), (1, 1, 1, b"GIF89a")])
    with pytest.raises(GeoInputError):
        tiles.install_mbtiles(broken, dest=dest)
    assert sorted(p.relative_to(first.folder).as_posix() for p in first.folder.rglob("*.png"))[-1] == "1/1/1.png"
    assert sorted(p.name for p in dest.iterdir()) == ["test-streets"]


def test_the_attribution_is_escaped_on_the_map():
    m = maps.base_map((-1.5, 53.3, -1.4, 53.4), tile_url="/app/static/tiles/x/{z}/{x}/{y}.png",
                      attribution='<img src=x onerror="alert(1)"> & Co')
    html = m.get_root().render()
    assert "<img src=x" not in html and 'onerror="alert' not in html
    # Leaflet inserts the attribution as HTML: it gets the entities, which show as text
    assert "\\u0026lt;img src=x onerror=\\u0026quot;alert(1)\\u0026quot;\\u0026gt; \\u0026amp; Co" in html
    assert "/app/static/tiles/x/{z}/{x}/{y}.png" in html


def test_cli_installs_and_an_admin_sets_the_workspace_basemap(pyramid, tmp_path, monkeypatch, capsys, demo_workspaces):
    from geo import Workspace
    from geo.auth import AccountStore
    path, _ = pyramid
    dest = tmp_path / "static"
    monkeypatch.setattr(tiles, "STATIC_TILES", dest)
    monkeypatch.setenv("GEO_ACCOUNTS", str(tmp_path / "accounts.db"))
    with AccountStore() as store:
        store.add("an.admin", "Tt-a-long-test-password-1", "admin")
    ws = tmp_path / "ws.gpkg"
    shutil.copy(demo_workspaces["portland"], ws)

    # the local operator (analyst) may install, but not change a workspace's settings
    assert main(["tiles", "install", str(path), "--workspace", str(ws)]) == 3
    assert "refused" in capsys.readouterr().err
    assert Workspace.open(ws).setting("tile_url") in (None, "")
    assert main(["tiles", "list"]) == 0
    out = capsys.readouterr().out
    assert "test-streets" in out and "5 tiles, zoom 0-1" in out
    assert main(["tiles", "use", "test-streets", "--workspace", str(ws), "--as", "an.admin"]) == 0
    w = Workspace.open(ws)
    assert w.setting("tile_url") == "/app/static/tiles/test-streets/{z}/{x}/{y}.png"
    assert w.setting("tile_attribution") == "© Test map contributors"
    audit = w.store.audit_log()
    assert (audit["user"].eq("an.admin") & audit["action"].eq("setting changed")).any()
    w.close()
    assert main(["tiles", "use", "no-such", "--workspace", str(ws), "--as", "an.admin"]) == 2
    assert "No installed basemap named 'no-such'" in capsys.readouterr().err
    assert main(["tiles", "use", "none", "--workspace", str(ws), "--as", "an.admin"]) == 0
    assert Workspace.open(ws).setting("tile_url") is None
    meta = json.loads((dest / "test-streets" / "tileset.json").read_text())
    assert meta["format"] == "png" and meta["tiles"] == 5
