"""Area briefings: the PDF states the same figures as the analysis functions; partners get aggregates only."""
import re
import shutil
import subprocess

import pytest

from geo import aggregate, briefing, briefing_partner, disclosure
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


QUARTER = ("2024-01", "2024-03")  # the first complete calendar quarter of the demo
MONTH = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (20\d\d)\b")
QUARTER_LABEL = re.compile(r"\b(Jan–Mar|Apr–Jun|Jul–Sep|Oct–Dec) 20\d\d\b")


def assert_no_monthly_series(text: str):
    """No month on its own (only whole-quarter labels), no month-to-month change."""
    rest = QUARTER_LABEL.sub("", text)
    assert not MONTH.search(rest), MONTH.search(rest)
    assert "→" not in text and "per month" not in text
    assert not re.search(r"\b(Feb|May|Aug|Nov) 20\d\d", text)  # middle months never appear at all


@pytest.fixture(scope="module")
def partner_briefing(sy):
    ws, inc = sy
    area = briefing.resolve_area(ws, "Barnsley")
    return briefing.build(ws, area, QUARTER, incidents=inc, audience="partner", marking="OFFICIAL")


def test_partner_briefing_has_no_incident_detail(sy, partner_briefing):
    ws, inc = sy
    b = partner_briefing
    area = briefing.resolve_area(ws, "Barnsley")
    cur = briefing._inside(inc[inc["month"].between(*QUARTER)], area.geometry)
    ids = [c for c in cur["crime_id"].dropna() if c][:300]
    assert ids and not any(c in b.html for c in ids)
    locations = set(cur["location"].dropna()) - {""}
    assert not any(loc in b.html for loc in list(locations)[:500])
    assert "OFFICIAL" in b.html and "Partners (suppressed aggregates)" in b.html


def test_partner_briefing_states_published_figures_only(sy, partner_briefing):
    """Every headline figure is the published base table's sum over the area's whole LSOAs."""
    ws, inc = sy
    b = partner_briefing
    pub = disclosure.published_for(ws, quarters=["2024-Q1"], incidents=inc)
    codes = pub.units_in(briefing.resolve_area(ws, "Barnsley").geometry)
    assert b.figures["units"] == sorted(codes) and len(codes) > 100
    harm = pub.figure(units=codes, quarters=["2024-Q1"], layer="crime", basket=True, harm=True)
    assert b.figures["harm"] == harm
    assert harm.about in b.html and harm.label in b.html
    # the true harm lies in the published range
    basket = inc[inc["in_basket"] & inc["month"].between(*QUARTER)]
    j = basket[["harm", "geometry"]].sjoin(pub.units[["code", "geometry"]], predicate="intersects")
    j = j[~j.index.duplicated(keep="first")]
    true = j.loc[j["code"].isin(codes), "harm"].sum()
    assert harm.lo - 1 <= true <= harm.hi + 1
    # harm_all is a published range too, never the exact sum next to a '<5'
    assert b.figures["harm_all"].about in b.html
    assert f"{inc[inc['month'].between(*QUARTER)]['harm'].sum():,.0f}" not in b.html
    assert "E01007340" in b.html  # the briefing says which LSOAs it covers


def test_a_partner_briefing_lists_many_lsoa_codes_at_the_end_and_a_few_in_its_opening(sy, partner_briefing):
    """A BCU's hundred-odd codes would push the headline off the first page: the opening says how many
    LSOAs and where the codes are; a ward's few are listed in the opening itself."""
    ws, inc = sy
    codes = partner_briefing.figures["units"]
    opening = re.search(r'<p class="note" id="coverage">(.*?)</p>', partner_briefing.html, re.S).group(1)
    at_end = re.search(r'<p class="note" id="coverage-codes">(.*?)</p>', partner_briefing.html, re.S).group(1)
    assert len(codes) > briefing_partner.INLINE_CODES
    assert f"covers {len(codes)} whole LSOAs" in opening and "listed at the end" in opening
    assert not any(c in opening for c in codes)
    assert at_end.rstrip(".").split(", ") == sorted(codes)
    assert partner_briefing.html.index("<h2>Headline</h2>") < partner_briefing.html.index('id="coverage-codes"')
    assert "<th>LSOA</th>" in partner_briefing.html and "Lsoa" not in partner_briefing.html  # the tables' heading
    ward = briefing.build(ws, briefing.resolve_area(ws, "Adwick"), QUARTER, incidents=inc, audience="partner")
    few = ward.figures["units"]
    assert 3 <= len(few) <= briefing_partner.INLINE_CODES
    opening = re.search(r'<p class="note" id="coverage">(.*?)</p>', ward.html, re.S).group(1)
    assert opening.endswith(", ".join(few) + ".") and 'id="coverage-codes"' not in ward.html


def test_partner_briefing_html_and_pdf_have_no_monthly_series(sy, partner_briefing, tmp_path):
    b = partner_briefing
    html_text = re.sub(r"<[^>]+>", " ", b.html.split("</style>")[1])
    assert_no_monthly_series(html_text)
    text = pdf_text(b.pdf(), tmp_path)
    assert "Jan–Mar 2024" in text
    assert_no_monthly_series(text)
    # the internal briefing does show the months (the check can fail)
    ws, inc = sy
    internal = briefing.build(ws, briefing.resolve_area(ws, "Barnsley"), QUARTER, incidents=inc)
    with pytest.raises(AssertionError):
        assert_no_monthly_series(re.sub(r"<[^>]+>", " ", internal.html.split("</style>")[1]))


def test_partner_periods_are_whole_complete_quarters(sy):
    ws, inc = sy
    area = briefing.resolve_area(ws, "Barnsley")
    with pytest.raises(GeoInputError, match="whole calendar quarters; 2024-02 to 2024-04 is not one"):
        briefing.build(ws, area, PERIOD, incidents=inc, audience="partner")
    last = max(inc["month"])
    if disclosure.quarter_of(last) not in disclosure.complete_quarters(inc["month"].unique()):
        q = disclosure.quarter_months(disclosure.quarter_of(last))
        with pytest.raises(GeoInputError, match="not a complete quarter of the data"):
            briefing.build(ws, area, (q[0], q[-1]), incidents=inc, audience="partner")


def test_partner_drawn_polygon_is_snapped_and_audited(demo_workspaces, tmp_path):
    import json
    import sys
    poly = {"type": "Polygon", "coordinates": [[[-1.48, 53.37], [-1.46, 53.37], [-1.46, 53.39], [-1.48, 53.39],
                                                [-1.48, 53.37]]]}
    f = tmp_path / "drawn.geojson"
    f.write_text(json.dumps(poly))
    ws_path = tmp_path / "sy.gpkg"
    shutil.copy(demo_workspaces["south-yorkshire"], ws_path)
    out = tmp_path / "drawn.html"
    import os

    from geo.auth import AccountStore
    env = {**os.environ, "GEO_ACCOUNTS": str(tmp_path / "accounts.db")}
    with AccountStore(env["GEO_ACCOUNTS"]) as store:  # the command line acts as pat's account (--as)
        store.add("pat", "Tt-a-long-test-password-1", "partner")
    r = subprocess.run([sys.executable, "-m", "geo", "briefing", "--workspace", str(ws_path), "--polygon", str(f),
                        "--from", "2024-01", "--to", "2024-03", "--audience", "partner", "--out", str(out),
                        "--as", "pat"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    ws = Workspace.open(ws_path)
    log = ws.store.audit_log()
    crs = ws.crs
    pub = disclosure.published_for(ws, quarters=["2024-Q1"])
    ws.close()
    codes = pub.units_in(briefing.polygon_area(poly, crs=crs).geometry)
    details = log.loc[log["user"] == "pat", "detail"].tolist()  # the request and the export are both audited
    assert any(f"{len(codes)} lsoa units: {' '.join(sorted(codes))}" in d for d in details), details
    assert "whole LSOAs" in out.read_text()
    tiny = {"type": "Polygon", "coordinates": [[[-1.470, 53.380], [-1.4698, 53.380], [-1.4698, 53.3801],
                                                [-1.470, 53.3801], [-1.470, 53.380]]]}
    f.write_text(json.dumps(tiny))
    r = subprocess.run([sys.executable, "-m", "geo", "briefing", "--workspace", str(ws_path), "--polygon", str(f),
                        "--from", "2024-01", "--to", "2024-03", "--audience", "partner", "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "partner figures need at least 3" in r.stderr


def test_cli_writes_a_pdf(demo_workspaces, tmp_path):
    import sys
    out = tmp_path / "sheffield.pdf"
    r = subprocess.run([sys.executable, "-m", "geo", "briefing", "--workspace", str(demo_workspaces["portland"]),
                        "--area", "Central Precinct", "--from", "2016-08", "--to", "2016-08", "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:5] == b"%PDF-"
    # one month of calls is no complete calendar quarter: nothing for partners, and it says why
    r = subprocess.run([sys.executable, "-m", "geo", "briefing", "--workspace", str(demo_workspaces["portland"]),
                        "--area", "Central Precinct", "--from", "2016-07", "--to", "2016-09", "--audience",
                        "partner", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 2 and "2016-Q3 is not a complete quarter of the data" in r.stderr
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


def test_previous_period():
    assert briefing.previous_period("2024-02", "2024-04") == ("2023-11", "2024-01")


def test_internal_briefing_states_the_trend_a_meeting_can_read(sy):
    ws, inc = sy
    area = briefing.resolve_area(ws, "Sheffield")
    b = briefing.build(ws, area, ("2025-04", "2025-06"), incidents=inc)
    basket = briefing.inside_area(inc[inc["in_basket"] & (inc["layer"] == "crime")], area.geometry)
    now = basket.loc[basket["month"].between("2025-04", "2025-06"), "harm"].sum()
    year_ago = basket.loc[basket["month"].between("2024-04", "2024-06"), "harm"].sum()
    before = basket.loc[basket["month"].between("2025-01", "2025-03"), "harm"].sum()
    pct, pct3 = (now - year_ago) / year_ago * 100, (now - before) / before * 100
    yoy, three = b.figures["trend"][:2]
    assert yoy == (f"Drug-market harm in Sheffield, Apr–Jun 2025: {abs(pct):.0f}% {'above' if pct > 0 else 'below'} "
                   f"the same months of 2024 ({now:,.0f} days against {year_ago:,.0f}).")
    assert three.endswith(f"{'above' if pct3 > 0 else 'below'} Jan–Mar 2025 ({now:,.0f} days against {before:,.0f}).")
    assert "control limits" in b.figures["trend"][2]
    assert "<h2>Trend</h2>" in b.html and yoy in b.html
    # the sites listed are sensitive sites, each once, never an ordinary shop or clinic
    section = b.html.split("<h2>Sensitive sites")[1].split("</table>")[0]
    names = re.findall(r"<tr><td>([^<]+)</td>", section)
    assert names and len(names) == len(set(names))
    assert not any(shop in section for shop in ("Boots", "Lloydspharmacy", "Superdrug", "Specsavers"))


def test_partner_briefing_has_no_monthly_trend(partner_briefing):
    assert "<h2>Trend</h2>" not in partner_briefing.html and "control limits" not in partner_briefing.html
    assert "trend" not in partner_briefing.figures


def test_the_internal_briefing_gives_an_operation_the_result_the_operations_page_gives(sy, demo_workspaces):
    """The briefing's "Operations in the area" analyses the frame the Operations page analyses (mapped and
    outside-area crime: the catchment crosses the force boundary), so its p-value and interval are the page's.
    It analysed the mapped rows only before, and disagreed (p = 0.562 against the page's 0.552)."""
    import html

    from geo import services
    ws, inc = sy
    b = briefing.build(ws, briefing.resolve_area(ws, "E05001045"), ("2025-04", "2025-06"), incidents=inc)
    page = services.analyse_operation(demo_workspaces["south-yorkshire"], "demo-sy-central", user=("analyst", ()),
                                      layer="crime", stored=False)
    assert "Op Central" in b.html and html.escape(page.headline) in b.html


def test_the_service_briefing_shows_the_kept_analysis_checked_for_its_user(sy_copy, monkeypatch):
    """``services.build_briefing`` takes an operation's result from ``services.analyse_operation``: the user's
    access check, and the analysis kept in the workspace (loaded, not computed again: the same numbers as the
    Operations page). An operation the user may not analyse is named without its result."""
    import html

    import geo.displacement
    from geo import services
    from geo.auth import AccessDenied, User
    analyst = User("a", "analyst", ())
    page = services.analyse_operation(sy_copy, "demo-sy-central", user=analyst)  # computed once, kept

    def computed(*_a, **_k):
        raise AssertionError("analysed again, although the analysis is kept")
    monkeypatch.setattr(geo.displacement, "analyse_operation", computed)
    b = services.build_briefing(sy_copy, user=analyst, months=("2025-04", "2025-06"), kind="ward",
                                code="E05001045", pdf=False)
    assert html.escape(page.headline) in b.html

    def refused(op):
        raise AccessDenied("outside your BCU(s)")
    ws = Workspace.open(sy_copy)
    try:
        b = briefing.build(ws, briefing.resolve_area(ws, "E05001045"), ("2025-04", "2025-06"), results=refused)
    finally:
        ws.close()
    assert "Op Central" in b.html and "Not shown: the operation&#39;s target is outside your BCU(s)." in b.html
    assert html.escape(page.headline) not in b.html


def test_an_inspectors_briefing_lists_only_the_operations_they_may_see(sy_copy):
    """An operation of another BCU whose target reaches into the inspector's area is not listed (not its name,
    tactic or dates), as on their Operations page (``access.scope_operations``), and no refusal is audited."""
    import geopandas as gpd
    import shapely

    from geo import services
    from geo.auth import User
    from geo.operations import Operation
    ws = Workspace.open(sy_copy)
    try:
        bcus = ws.bcus().set_index("code").geometry
        edge = bcus["E08000019"].boundary.intersection(bcus["E08000018"].boundary)  # Sheffield | Rotherham
        at = gpd.GeoSeries([shapely.line_interpolate_point(edge, 0.5, normalized=True)], crs=ws.crs).to_crs(4326)
        ws.save_operation(Operation(name="Op Straddle", bcu="E08000018", tactic="Other", start="2025-03-01",
                                    end="2025-03-31", target_kind="point_radius", lon=float(at.x[0]),
                                    lat=float(at.y[0]), radius_m=600, op_id="op-straddle"))
        audited = len(ws.store.audit_log())
    finally:
        ws.close()
    inspector = User("i", "inspector", ("E08000019",))
    analyst = User("a", "analyst", ())
    months = ("2025-04", "2025-06")
    assert "Op Straddle" in services.build_briefing(sy_copy, user=analyst, months=months, kind="bcu",
                                                    code="E08000019", pdf=False).html
    b = services.build_briefing(sy_copy, user=inspector, months=months, kind="bcu", code="E08000019", pdf=False)
    assert "Op Straddle" not in b.html and "Op Central" in b.html
    ws = Workspace.open(sy_copy)
    try:
        new = ws.store.audit_log().iloc[audited:]
    finally:
        ws.close()
    assert not new["action"].astype(str).str.contains("refused").any()


def test_an_operation_on_a_neighbouring_ward_is_not_in_the_area(sy_copy):
    """A ward that only shares an edge with the operation's target ward does not list the operation."""
    from geo.operations import Operation
    ws = Workspace.open(sy_copy)
    try:
        wards = ws.boundaries("ward").set_index("code")
        central = wards.geometry["E05001045"]
        neighbour = next(c for c, g in wards.geometry.items() if c != "E05001045" and g.touches(central))
        ws.save_operation(Operation(name="Op Next Door", bcu=wards.loc[neighbour, "parent_code"], tactic="Other",
                                    start="2025-03-01", end="2025-03-31", target_kind="unit",
                                    target_unit=f"ward:{neighbour}", op_id="op-next-door"))
        rows, _ = briefing.area_operations(ws, briefing.resolve_area(ws, "E05001045"), "partner", 5)
        assert [r["name"] for r in rows] == ["Op Central (demo)"]
        rows, _ = briefing.area_operations(ws, briefing.resolve_area(ws, neighbour), "partner", 5)
        assert "Op Next Door" in [r["name"] for r in rows] and "Op Central (demo)" not in [r["name"] for r in rows]
    finally:
        ws.close()
