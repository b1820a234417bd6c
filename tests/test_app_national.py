"""AppTest of the national view page over a small national run (real SY + neighbouring-force months)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed")
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.national_suite import build_archive  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "dashboard" / "app_pages" / "national.py")


@pytest.fixture(scope="module")
def national_out(tmp_path_factory):
    archive = build_archive(tmp_path_factory.mktemp("arch"), sy_months=("2025-01", "2025-02"),
                            neighbour_months=("2025-01",))
    out = tmp_path_factory.mktemp("national")
    # in a child process: an in-process dask cluster started after AppTest's Streamlit runtime in the
    # same interpreter never completes its tasks (seen in the full suite), so the run gets its own process
    subprocess.run([sys.executable, "-m", "geo", "national", "--archive", str(archive), "--out", str(out),
                    "--workers", "1", "--no-hotspots", "--quiet"], check=True, cwd=ROOT, timeout=500)
    return out


def page(monkeypatch, folder) -> AppTest:
    from geo.auth import User
    monkeypatch.setenv("GEO_NATIONAL", str(folder))
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["auth_user"] = User("test-analyst", "analyst").to_dict()
    return at


def test_national_page_shows_trends_and_coverage_gaps(national_out, monkeypatch):
    import pandas as pd
    at = page(monkeypatch, national_out).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["National view"]
    assert "South Yorkshire" in at.multiselect(key="national_forces").options
    gaps = [c.value for c in at.caption if "not covered" in c.value]
    assert any("Derbyshire" in g and "Feb 2025" in g for g in gaps)
    assert not any("South Yorkshire" in g for g in gaps)
    force = pd.read_parquet(national_out / "panels" / "force.parquet")
    assert force.loc[(force["force"] == "Derbyshire") & (force["month"] == "2025-02"), "harm"].isna().all()


def test_national_page_without_a_run_says_how_to_make_one(tmp_path, monkeypatch):
    at = page(monkeypatch, tmp_path).run()
    assert not at.exception
    assert at.info and "No national run" in at.info[0].value
    assert at.code[0].value.startswith("python -m geo national") and str(tmp_path) in at.code[0].value
