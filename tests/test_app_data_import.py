"""AppTest of an import on the Data page (issue 12): the page reloads, the message has every outcome."""
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import sign_in_for_test

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
          "Crime type,Last outcome category,Context\n")


@pytest.fixture()
def sy(demo_workspaces, tmp_path, monkeypatch):
    shutil.copy(demo_workspaces["south-yorkshire"], tmp_path / "south-yorkshire.gpkg")
    monkeypatch.setenv("GEO_WORKSPACES", str(tmp_path))
    return tmp_path / "south-yorkshire.gpkg"


def test_an_import_reloads_the_page_and_reports_every_outcome(sy):
    rows = ("i1,2025-06,SYP,SYP,-1.4701,53.3801,On or near A,E1,N,Burglary,,\n"
            "i2,June 2025,SYP,SYP,-1.47,53.38,On or near A,E1,N,Burglary,,\n"       # rejected: bad month
            "i3,2025-06,SYP,SYP,,,No location,,,Burglary,,\n"                       # no location
            "i4,2025-06,SYP,SYP,-0.1276,51.5072,On or near London,E1,N,Burglary,,\n")  # outside the area
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=120), "analyst")
    at.session_state["workspace"] = str(sy)
    at.run()
    at.switch_page("app_pages/data.py").run()
    before = at.dataframe[1].value
    at.file_uploader(key="data_upload").set_value(("my-crimes.csv", (HEADER + rows).encode(), "text/csv")).run()
    at.button(key="data_go").click().run()
    assert not at.exception and not at.error
    message = at.success[0].value.replace("\\", "")  # markdown-escaped
    for part in ("4 rows read", "1 mapped", "1 with no location", "1 outside the area", "1 rejected"):
        assert part in message, message
    assert "my-crimes.csv" in message
    shown = " ".join(str(e.value) for e in [*at.success, *at.text, *at.markdown, *at.caption])
    assert "geo-upload-" not in shown and "/tmp" not in shown
    assert len(at.code) == 0 and len(at.text) == 1  # the summary is plain text, not highlighted code
    # the page was read again: the new import is in the history and is the report shown
    after = at.dataframe[1].value
    assert len(after) == len(before) + 1
    assert at.selectbox(key="data_import").value == after["id"].max()
    assert any("Rejected rows of this import:** 1" in m.value for m in at.markdown)
