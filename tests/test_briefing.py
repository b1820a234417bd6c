"""Area briefings: the PDF states the same figures as the analysis functions; partners get aggregates only."""
import re
import shutil
import subprocess

import pytest

from geo import aggregate, briefing
from geo.errors import GeoInputError
from geo.harm import summarise
from geo.workspace import Workspace

BCUS = {"E08000016": "Barnsley", "E08000017": "Doncaster", "E08000018": "Rotherham", "E08000019": "Sheffield"}
PERIOD = ("2024-02", "2024-04")


def pdf_text(pdf: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed (Debian: apt-get install poppler-utils)")
    f = tmp_path / "b.pdf"
    f.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(f), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"[ \t]+", " ", out)


@pytest.fixture(scope="module")
def sy(demo_workspaces):
    ws = Workspace.open(demo_workspaces["south-yorkshire"])
    yield ws, ws.incidents()
    ws.close()


def expected(ws, inc, code):
    """The headline figures computed independently with geo.aggregate and geo.harm."""
    units = ws.bcus()
    basket = inc[inc["in_basket"] & (inc["layer"] == "crime")]
    cur = basket[basket["month"].between(*PERIOD)]
    prev = basket[basket["month"] == "2024-01"]  # the only month of Nov 2023 - Jan 2024 in the data
    now = aggregate.by_unit(cur, units).set_index("code").loc[code]
    before = aggregate.by_unit(prev, units).set_index("code").loc[code]
    change = (now["harm"] / 3 - before["harm"]) / before["harm"] * 100
    force_change = (cur["harm"].sum() / 3 - prev["harm"].sum()) / prev["harm"].sum() * 100
    all_cur = inc[inc["month"].between(*PERIOD)]
    in_bcu = aggregate.by_unit(all_cur, units.loc[units["code"] == code], keep_empty=False)
    return now, change, force_change, in_bcu


def test_briefing_for_each_south_yorkshire_bcu_states_the_analysis_figures(sy, tmp_path):
    ws, inc = sy
    for code, name in BCUS.items():
        area = briefing.resolve_area(ws, name)
        assert area.code == code
        b = briefing.build(ws, area, PERIOD, incidents=inc)
        text = pdf_text(b.pdf(), tmp_path)
        now, change, force_change, _ = expected(ws, inc, code)
        assert b.figures["harm"] == pytest.approx(now["harm"])
        assert b.figures["count"] == now["count"]
        assert f"{now['harm']:,.0f}" in text, name
        assert f"{now['count']:,}" in text, name
        assert f"{change:+.1f}%" in text, name
        assert f"{force_change:+.1f}%" in text, name
        assert "OFFICIAL-SENSITIVE" in text
        assert f"Page 1 of " in text and "Page 2 of" in text
        assert "Open Government Licence v3.0" in text  # data sources with licences
        assert "Cold spot" not in text or "Hot spot" in text


def test_dominant_harms_match_summarise(sy):
    ws, inc = sy
    area = briefing.resolve_area(ws, "Rotherham")
    b = briefing.build(ws, area, PERIOD, incidents=inc)
    cur = briefing._inside(inc[inc["month"].between(*PERIOD)], area.geometry)
    top = summarise(cur).iloc[0]
    assert b.figures["top_category"] == top["category"]
    assert f"{top['harm']:,.0f}" in b.html


def test_partner_briefing_has_no_incident_detail(sy):
    ws, inc = sy
    area = briefing.resolve_area(ws, "Barnsley")
    b = briefing.build(ws, area, PERIOD, incidents=inc, audience="partner", marking="OFFICIAL")
    cur = briefing._inside(inc[inc["month"].between(*PERIOD)], area.geometry)
    ids = [c for c in cur["crime_id"].dropna() if c][:300]
    assert ids and not any(c in b.html for c in ids)
    locations = set(cur["location"].dropna()) - {""}
    assert not any(loc in b.html for loc in list(locations)[:500])
    assert b.figures["harm_published"] == round(b.figures["harm"] / 10) * 10  # published harm is rounded
    assert f"{briefing.fmt(b.figures['harm_published'])}" in b.html
    assert "OFFICIAL" in b.html and "Partners (suppressed aggregates)" in b.html


def test_cli_writes_a_pdf(demo_workspaces, tmp_path):
    import sys
    out = tmp_path / "sheffield.pdf"
    r = subprocess.run([sys.executable, "-m", "geo", "briefing", "--workspace", str(demo_workspaces["portland"]),
                        "--area", "Central Precinct", "--from", "2016-08", "--to", "2016-08", "--audience",
                        "partner", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:5] == b"%PDF-"
    r = subprocess.run([sys.executable, "-m", "geo", "briefing", "--workspace", str(demo_workspaces["portland"]),
                        "--area", "Atlantis", "--from", "2016-08", "--to", "2016-08", "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "No BCU, ward or neighbourhood called 'Atlantis'" in r.stderr


def test_polygon_area_and_period_errors(sy):
    ws, inc = sy
    poly = {"type": "Polygon", "coordinates": [[[-1.48, 53.37], [-1.46, 53.37], [-1.46, 53.39], [-1.48, 53.39],
                                                [-1.48, 53.37]]]}
    area = briefing.polygon_area(poly, crs=ws.crs)
    b = briefing.build(ws, area, ("2024-03", "2024-04"), incidents=inc)
    assert b.figures["count"] > 0
    with pytest.raises(GeoInputError, match="holds no incidents"):
        briefing.build(ws, area, ("2020-01", "2020-02"), incidents=inc)
    with pytest.raises(GeoInputError, match="not a polygon"):
        briefing.polygon_area({"type": "Point", "coordinates": [0, 0]}, crs=ws.crs)


def test_period_blocks_do_not_overlap():
    months = ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert briefing.period_blocks(months, 3) == [("2024-02", "2024-04"), ("2024-01", "2024-01")]
    assert briefing.previous_period("2024-02", "2024-04") == ("2023-11", "2024-01")
