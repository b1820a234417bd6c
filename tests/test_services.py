"""``geo.services`` for every role and every service, on a copy of the South Yorkshire demo.

An inspector (Sheffield only) cannot list, read, create, change or analyse anything outside
Sheffield; a partner gets nothing incident-level; nobody signed in gets nothing; every write
leaves an audit entry with the user. The same services serve the dashboard (through
``dashboard/data.py``) and the command line (``--as``), checked at the end.
"""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
import shapely

from geo import services
from geo.disclosure import complete_quarters
from geo.auth import AccessDenied, User
from geo.operations import Operation
from tests.conftest import sy_with_rotherham_op

SHEFFIELD, ROTHERHAM = "E08000019", "E08000018"
USERS = {
    "analyst": User("ana", "analyst"),
    "admin": User("adm", "admin"),
    "inspector": User("ins", "inspector", (SHEFFIELD,)),
    "partner": User("pat", "partner"),
    "nobody": None,
}
INCIDENT_ROLES = {"analyst", "admin", "inspector"}
DATA_ROLES = {"analyst", "admin"}
SIGNED_IN = {"analyst", "admin", "inspector", "partner"}


def _op(name: str, bcu: str, unit: str) -> Operation:
    return Operation(name=name, bcu=bcu, tactic="Other", start="2024-03-01", end="2024-03-28",
                     target_kind="unit", target_unit=unit, op_id=name.lower().replace(" ", "-"))


def _copy(demo_workspaces, folder):
    return sy_with_rotherham_op(demo_workspaces, folder)


@pytest.fixture(scope="module")
def sy(demo_workspaces, tmp_path_factory):
    """A copy with a Rotherham operation beside the demo's Sheffield ones (read-only tests)."""
    return _copy(demo_workspaces, tmp_path_factory.mktemp("services"))


@pytest.fixture()
def sy_rw(demo_workspaces, tmp_path):
    """A private copy for tests that write."""
    return _copy(demo_workspaces, tmp_path)


@pytest.fixture(scope="module")
def geo_of(sy):
    """BCU polygons by code, a Sheffield and a Rotherham ward, the crime months, the published table."""
    from geo import Workspace
    ws = Workspace.open(sy)
    try:
        bcus = ws.bcus(all_forces=True).set_index("code").geometry
        wards = ws.boundaries("ward")
        months = ws.store.months("crime")
        found = {"bcus": bcus, "sheffield_ward": wards[wards["parent_code"] == SHEFFIELD]["code"].iloc[0],
                 "rotherham_ward": wards[wards["parent_code"] == ROTHERHAM]["code"].iloc[0],
                 "months": months, "quarters": (complete_quarters(months)[-1],)}
    finally:
        ws.close()
    found["published"] = services.partner_published(sy, user=USERS["analyst"])
    found["path"] = sy
    found["sheffield_wards"] = set(wards.loc[wards["parent_code"] == SHEFFIELD, "code"])
    # the whole force's crime in the last month, read once: services given a frame scope it again
    found["crime"] = services.incidents(sy, user=USERS["analyst"], layer="crime", months=(months[-1],) * 2)
    return found


def _attempt(fn):
    """``(True, result)`` or ``(False, None)`` when refused."""
    try:
        return True, fn()
    except AccessDenied:
        return False, None


def _audit(path):
    from geo import Workspace
    ws = Workspace.open(path)
    try:
        return ws.store.audit_log()
    finally:
        ws.close()


# ------------------------------------------------------------------ reads: who may, and what an inspector gets
def _inside_sheffield(geo_of, geoms) -> bool:
    area = geo_of["bcus"][SHEFFIELD].buffer(50)
    return all(area.covers(g) for g in geoms)


READS = {
    # name: (call, roles allowed, check of an inspector's result)
    "workspace_info": (lambda p, u, g: services.workspace_info(p, user=u), SIGNED_IN, None),
    "boundaries": (lambda p, u, g: services.boundaries(p, user=u, level="bcu"), SIGNED_IN, None),
    "bcus": (lambda p, u, g: services.bcus(p, user=u), SIGNED_IN, None),
    "sites": (lambda p, u, g: services.sites(p, user=u), SIGNED_IN, None),
    "harm_table": (lambda p, u, g: services.harm_table(p, user=u), SIGNED_IN, None),
    "incidents": (lambda p, u, g: services.incidents(p, user=u, layer="crime", months=(g["months"][-1],) * 2),
                  INCIDENT_ROLES,
                  lambda r, g: len(r) and _inside_sheffield(g, shapely.points(r["x"], r["y"]))),
    "operation_areas": (lambda p, u, g: services.operation_areas(p, user=u), INCIDENT_ROLES,
                        lambda r, g: len(r) and _inside_sheffield(g, r.geometry)),
    "list_operations": (lambda p, u, g: services.list_operations(p, user=u), INCIDENT_ROLES,
                        lambda r, g: r and {o.bcu for o in r} == {SHEFFIELD}),
    "hotspot_inputs": (lambda p, u, g: services.hotspot_inputs(p, user=u, layer="crime",
                                                               months=(g["months"][-1],) * 2), INCIDENT_ROLES,
                       lambda r, g: len(r[0]) and _inside_sheffield(g, shapely.points(r[0]["x"], r[0]["y"]))
                       and r[1].equals(g["bcus"][SHEFFIELD])),
    "import_history": (lambda p, u, g: services.import_history(p, user=u), DATA_ROLES, None),
    "import_report": (lambda p, u, g: services.import_report(p, 1, user=u), DATA_ROLES, None),
    "rejected_rows": (lambda p, u, g: services.rejected_rows(p, user=u), DATA_ROLES, None),
    "audit_log": (lambda p, u, g: services.audit_log(p, user=u), {"admin"}, None),
    # the published table is built once (for the analyst, by geo_of); each role's call is checked on it
    "partner_categories": (lambda p, u, g: services.partner_categories(
        p, user=u, quarters=g["quarters"], published=g["published"]), SIGNED_IN, None),
    "partner_units": (lambda p, u, g: services.partner_units(
        p, user=u, level="ward", quarters=g["quarters"], published=g["published"]), SIGNED_IN,
        lambda r, g: len(r) and set(r["code"]) <= g["sheffield_wards"] and r.attrs["scope"] == "Sheffield"),
    "briefing_units": (lambda p, u, g: services.briefing_units(p, user=u, level="ward"), SIGNED_IN,
                       lambda r, g: set(r["code"]) == g["sheffield_wards"]),
    # views (geo.services.views): the Area summary's trends and the Map page
    "trend_units": (lambda p, u, g: services.trend_units(p, user=u, level="ward"), INCIDENT_ROLES,
                    lambda r, g: len(r) and set(r["code"]) == g["sheffield_wards"]),
    "area_trend": (lambda p, u, g: services.area_trend(p, user=u, level="ward", code=g["sheffield_ward"],
                                                       last_month=g["months"][-1], incidents=g["crime"]),
                   INCIDENT_ROLES, None),
    "published_trend": (lambda p, u, g: services.published_trend(
        p, user=u, threshold=None, level="ward", code=g["sheffield_ward"], name="a ward",
        published=g["published"]), SIGNED_IN, None),
    "map_frame": (lambda p, u, g: services.map_frame(p, user=u), SIGNED_IN,
                  lambda r, g: len(r) and _inside_sheffield(g, r.geometry)),
    # (per ward, a point inside the Sheffield BCU may fall in a neighbouring ward's generalised polygon)
    "map_units": (lambda p, u, g: services.map_units(p, user=u, incidents=g["crime"], level="bcu",
                                                     months=(g["months"][-1],) * 2), INCIDENT_ROLES,
                  lambda r, g: set(r["code"]) == {SHEFFIELD}),
    # every Sheffield ward, and the neighbours touching its edge only
    "map_boundaries": (lambda p, u, g: services.map_boundaries(p, user=u, level="ward"), SIGNED_IN,
                       lambda r, g: g["sheffield_wards"] <= set(r["code"]) and len(r) < len(
                           services.map_boundaries(g["path"], user=USERS["analyst"], level="ward"))),
    "map_sites": (lambda p, u, g: services.map_sites(p, user=u), SIGNED_IN,
                  lambda r, g: len(r[0]) + len(r[1]) and _inside_sheffield(
                      g, list(r[0].geometry) + list(r[1].geometry))),
    "operation_bcus": (lambda p, u, g: services.operation_bcus(p, user=u), INCIDENT_ROLES,
                       lambda r, g: r == [SHEFFIELD]),
}


@pytest.mark.parametrize("role", list(USERS))
@pytest.mark.parametrize("service", list(READS))
def test_reads_by_role(sy, geo_of, role, service):
    call, allowed, inspector_check = READS[service]
    ok, result = _attempt(lambda: call(sy, USERS[role], geo_of))
    assert ok == (role in allowed), (service, role)
    if ok and role == "inspector" and inspector_check:
        assert inspector_check(result, geo_of), service
    if ok and role == "analyst" and service == "list_operations":
        assert {o.bcu for o in result} >= {SHEFFIELD, ROTHERHAM}  # the analyst sees the whole force


def test_scope_keys_read_like_their_users(sy):
    """A cache keyed by ``(role, bcus)`` gets exactly what the user would."""
    ins = USERS["inspector"]
    assert [o.op_id for o in services.list_operations(sy, user=ins)] == \
        [o.op_id for o in services.list_operations(sy, user=("inspector", (SHEFFIELD,)))]
    with pytest.raises(AccessDenied):
        services.incidents(sy, user=("partner", ()))


# ------------------------------------------------------------------ operations: read, analyse, create, change, delete
@pytest.mark.parametrize("role", list(USERS))
def test_read_and_analyse_operations_by_role(sy, role):
    user = USERS[role]
    for key, bcu in (("op-rother", ROTHERHAM), ("demo-sy-central", SHEFFIELD)):
        may = role in {"analyst", "admin"} or (role == "inspector" and bcu == SHEFFIELD)
        assert _attempt(lambda: services.get_operation(sy, key, user=user))[0] == may, (role, key)
        assert _attempt(lambda: services.check_analysis(sy, key, user=user))[0] == may, (role, key)
        if not may:  # refused before any analysis or report is made
            with pytest.raises(AccessDenied):
                services.analyse_operation(sy, key, user=user)
            with pytest.raises(AccessDenied):
                services.operation_report(sy, key, user=user)


@pytest.mark.parametrize("role", ["analyst", "partner", "nobody"])
def test_the_shared_analysis_frame_is_for_those_who_may_analyse_and_stays_unchanged(sy, role):
    """The app reads the analysis frame once and hands it to every analysis: only users who may
    analyse get it, and an analysis leaves it exactly as it was (it is shared between sessions)."""
    user = USERS[role]
    if role != "analyst":
        with pytest.raises(AccessDenied):
            services.analysis_incidents(sy, user=user)
        return
    inc = services.analysis_incidents(sy, user=user)
    # the catchment crosses the force boundary: the rows outside the area are read too (and only the
    # columns the analysis uses, status not among them)
    mapped = services.incidents(sy, user=user, layer="crime", statuses=("mapped",))
    outside = services.incidents(sy, user=user, layer="crime", statuses=("outside_area",))
    assert len(outside) > 0 and len(inc) == len(mapped) + len(outside)
    assert "status" not in inc.columns and set(inc.columns) >= {"month", "category", "x", "y"}
    before = inc.copy()
    res = services.analyse_operation(sy, "demo-sy-beighton", user=user, incidents=inc)
    pd.testing.assert_frame_equal(inc, before)
    assert [c.topic for c in res.summary.clauses][:2] == ["harm", "displacement"]


def test_an_inspector_cannot_use_control_units_outside_their_bcu(sy, geo_of):
    units = (f"ward:{geo_of['rotherham_ward']}",)
    with pytest.raises(AccessDenied):
        services.check_analysis(sy, "demo-sy-central", user=USERS["inspector"], control_units=units)
    assert services.check_analysis(sy, "demo-sy-central", user=USERS["analyst"], control_units=units) == \
        ("analyst", ())


@pytest.mark.parametrize("role", list(USERS))
def test_create_change_delete_by_role_and_audited(sy_rw, geo_of, role):
    user = USERS[role]
    own = _op("Op Own", SHEFFIELD, f"ward:{geo_of['sheffield_ward']}")
    other = _op("Op Other", ROTHERHAM, f"ward:{geo_of['rotherham_ward']}")
    disguised = _op("Op Disguised", SHEFFIELD, f"ward:{geo_of['rotherham_ward']}")  # labelled Sheffield
    for op, may in ((own, role in INCIDENT_ROLES), (other, role in DATA_ROLES), (disguised, role in DATA_ROLES)):
        assert _attempt(lambda: services.save_operation(sy_rw, op, user=user))[0] == may, (role, op.name)
    # change and delete another BCU's operation (saved by an analyst)
    assert _attempt(lambda: services.save_operation(
        sy_rw, Operation(**{**_op("Op Rother", ROTHERHAM, f"ward:{geo_of['rotherham_ward']}").to_dict(),
                            "notes": "changed"}), user=user))[0] == (role in DATA_ROLES)
    # moving another BCU's operation into one's own BCU is changing it: refused too
    moved = Operation(**{**_op("Op Rother", SHEFFIELD, f"ward:{geo_of['sheffield_ward']}").to_dict()})
    assert _attempt(lambda: services.save_operation(sy_rw, moved, user=user))[0] == (role in DATA_ROLES)
    log = _audit(sy_rw)
    if user is not None:
        mine = log[log["user"] == user.username]
        if role in INCIDENT_ROLES:
            assert (mine["action"].eq("operation saved") & mine["detail"].eq("Op Own")).any()
        if role == "inspector":
            assert mine["action"].eq("access refused").sum() >= 3
            assert not mine["detail"].isin(["Op Other", "Op Disguised"]).any()
    if role in INCIDENT_ROLES:
        services.delete_operation(sy_rw, "op-own", user=user)
        assert (_audit(sy_rw).query("user == @user.username")["action"] == "operation deleted").any()
    delete_other = _attempt(lambda: services.delete_operation(sy_rw, "op-rother", user=user))[0]
    assert delete_other == (role in DATA_ROLES)


def test_a_scope_key_cannot_write(sy_rw, geo_of):
    """A write needs a named user (the audit log records who); a cache key is not enough."""
    with pytest.raises(AccessDenied):
        services.save_operation(sy_rw, _op("Op Key", SHEFFIELD, f"ward:{geo_of['sheffield_ward']}"),
                                user=("analyst", ()))


# ------------------------------------------------------------------ hot spots, briefings
@pytest.mark.parametrize("role", ["analyst", "inspector", "partner"])
def test_hotspots_and_site_exposure_by_role(sy, geo_of, role):
    user = USERS[role]
    sel = {"layer": "crime", "months": (geo_of["months"][-1],) * 2, "categories": ("Drugs",)}
    ok, run = _attempt(lambda: services.find_hotspots(sy, user=user, method="gistar", **sel))
    assert ok == (role != "partner")
    if not ok:
        with pytest.raises(AccessDenied):
            services.hotspot_defaults(sy, user=user, method="gistar", **sel)
        return
    exposure, _ = services.hotspot_site_exposure(sy, user=user, run=run, **sel)
    # the exposure without hot spots (the page's, once per selection), then a method's hot-spot columns
    base, none = services.hotspot_site_exposure(sy, user=user, run=None, **sel)
    assert none is None and (base["hotspot"] == "").all() and len(base) == len(exposure)
    again, _ = services.hotspot_site_exposure(sy, user=user, run=run, base=base, **sel)
    pd.testing.assert_frame_equal(pd.DataFrame(again), pd.DataFrame(exposure))
    if role == "inspector":
        area = geo_of["bcus"][SHEFFIELD]
        assert len(exposure) and exposure.intersects(area).all()
        assert _inside_sheffield(geo_of, run.hot.geometry.centroid) if len(run.hot) else True


@pytest.mark.parametrize("role", ["analyst", "inspector", "partner", "nobody"])
def test_briefings_by_role(sy, geo_of, role, monkeypatch):
    """Who may brief on which area for which audience; the (slow) rendering itself is
    tests/test_briefing.py's, so here ``geo.briefing.build`` records what the service hands it."""
    from geo import briefing, disclosure
    built = []

    def build(ws, area, months, *, audience, marking, generated_by, incidents, published=None, results=None,
              operations=None):
        built.append((area.code, audience, generated_by, incidents))
        return briefing.Briefing.__new__(briefing.Briefing)

    monkeypatch.setattr(briefing, "build", build)
    from geo import Workspace
    monkeypatch.setattr(Workspace, "incidents", lambda self, **kw: kw)  # not needed by the stand-in
    user = USERS[role]
    q = disclosure.quarter_months(disclosure.complete_quarters(geo_of["months"])[-1])
    for code, audience, may in ((SHEFFIELD, "internal", role in INCIDENT_ROLES),
                                (ROTHERHAM, "internal", role == "analyst"),
                                (ROTHERHAM, "partner", role in {"analyst", "partner"})):
        ok, _ = _attempt(lambda: services.build_briefing(sy, user=user, months=(q[0], q[-1]), audience=audience,
                                                         kind="bcu", code=code, pdf=False))
        assert ok == may, (role, code, audience)
        if ok:  # built for this user, from the workspace's incidents read by the service
            assert built.pop()[:3] == (code, audience, user.username) and built == []
    assert built == []  # nothing refused was built


# ------------------------------------------------------------------ changes that need a role, audited
@pytest.mark.parametrize("role", list(USERS))
def test_harm_settings_and_imports_by_role_and_audited(sy_rw, role):
    user = USERS[role]
    table = services.harm_table(sy_rw, user=USERS["analyst"])
    assert _attempt(lambda: services.save_harm_table(sy_rw, table, user=user))[0] == (role in DATA_ROLES)
    assert _attempt(lambda: services.restore_harm_defaults(sy_rw, user=user))[0] == (role in DATA_ROLES)
    assert _attempt(lambda: services.change_settings(sy_rw, {"protective_marking": "OFFICIAL"},
                                                     user=user))[0] == (role == "admin")
    assert _attempt(lambda: services.import_files(sy_rw, user=user))[0] == (role in DATA_ROLES)
    from geo.errors import GeoInputError
    with pytest.raises(GeoInputError if role in DATA_ROLES else AccessDenied):  # the role first, then the file
        services.import_upload(sy_rw, user=user, name="x.csv", data=b"", kind="crime")
    log = _audit(sy_rw)
    if role in DATA_ROLES:
        mine = set(log.loc[log["user"] == user.username, "action"])
        assert {"harm weights saved", "harm weights restored"} <= mine  # "restore defaults" is audited now
        assert ("setting changed" in mine) == (role == "admin")
    elif user is not None:
        assert not log["user"].eq(user.username).any()  # a refused change leaves nothing behind


# ------------------------------------------------------------------ the command line acts as someone
def test_cli_identity(sy_rw, tmp_path, monkeypatch, capsys):
    from geo.auth import AccountStore
    from geo.cli import main
    monkeypatch.setenv("GEO_ACCOUNTS", str(tmp_path / "accounts.db"))
    with AccountStore() as store:
        store.add("sheff", "Tt-a-long-test-password-1", "inspector", (SHEFFIELD,))
        store.add("pat", "Tt-a-long-test-password-2", "partner")
    assert main(["operations", "list", "--workspace", str(sy_rw), "--as", "sheff"]) == 0
    out = capsys.readouterr().out
    assert "Op Central (demo)" in out and "Op Rother" not in out
    assert main(["operations", "remove", "--workspace", str(sy_rw), "--name", "Op Rother", "--as", "sheff"]) == 2
    assert main(["operations", "list", "--workspace", str(sy_rw), "--as", "pat"]) == 3
    assert "refused" in capsys.readouterr().err
    assert main(["operations", "list", "--workspace", str(sy_rw), "--as", "nobody-here"]) == 2
    assert main(["operations", "remove", "--workspace", str(sy_rw), "--name", "Op Rother"]) == 0
    log = _audit(sy_rw)
    assert log.loc[log["action"] == "operation deleted", "user"].str.startswith("cli:").any()
    assert services.cli_user().role == services.LOCAL_OPERATOR_ROLE == "analyst"


def test_views_scope_what_an_inspector_charts_and_maps(sy, geo_of):
    """An inspector's force row and a Rotherham ward are refused; the analyst's are not;
    a partner may not see monthly series; the map counts of the whole force split by scope."""
    ins, ana = USERS["inspector"], USERS["analyst"]
    assert len(services.trend_units(sy, user=ana, level="force")) == 1
    assert len(services.trend_units(sy, user=ins, level="force")) == 0
    assert set(services.trend_units(sy, user=ins, level="bcu")["code"]) == {SHEFFIELD}
    with pytest.raises(AccessDenied):
        services.area_trend(sy, user=ins, level="ward", code=geo_of["rotherham_ward"],
                            last_month=geo_of["months"][-1], incidents=geo_of["crime"])
    services.area_trend(sy, user=ana, level="ward", code=geo_of["rotherham_ward"],
                        last_month=geo_of["months"][-1], incidents=geo_of["crime"])
    assert [r for r in USERS if services.may_see_monthly(USERS[r])] == sorted(INCIDENT_ROLES, key=list(USERS).index)
    last = (geo_of["months"][-1],) * 2
    whole = services.map_units(sy, user=ana, incidents=geo_of["crime"], level="bcu", months=last)
    own = services.map_units(sy, user=ins, incidents=geo_of["crime"], level="bcu", months=last)
    assert set(own["code"]) == {SHEFFIELD} and len(whole) > 1
    assert own["count"].sum() == whole.set_index("code").loc[SHEFFIELD, "count"]
    with pytest.raises(AccessDenied):
        services.map_units(sy, user=USERS["partner"], incidents=geo_of["crime"], level="bcu", months=last)


def test_an_inspectors_reads_go_to_the_store_with_their_bcus_and_equal_read_all_then_trim(sy, geo_of, monkeypatch):
    """Issue 11: the store reads an inspector's BCU only; the rows are exactly those of reading
    the whole force and trimming with geo.access (computed here), for incidents and hot spots."""
    from geo import Workspace, access
    from geo.store import GpkgStore
    asked = []
    real = GpkgStore.read_incidents

    def spy(self, **kw):
        asked.append(kw.get("bcus"))
        return real(self, **kw)

    ins, ana = USERS["inspector"], USERS["analyst"]
    months = (geo_of["months"][-3], geo_of["months"][-1])
    ws = Workspace.open(sy)
    try:
        everything = ws.incidents(layer="crime", months=months)
        old = access.scope_incidents(ins, everything, ws.bcus(all_forces=True)).sort_index()
    finally:
        ws.close()
    monkeypatch.setattr(GpkgStore, "read_incidents", spy)
    new = services.incidents(sy, user=ins, layer="crime", months=months).sort_index()
    assert asked == [(SHEFFIELD,)]
    assert 0 < len(new) < len(everything)
    pd.testing.assert_frame_equal(pd.DataFrame(new), pd.DataFrame(old))
    pts, _ = services.hotspot_inputs(sy, user=ins, layer="crime", months=months)
    assert asked[-1] == (SHEFFIELD,)
    assert sorted(pts["uid"]) == sorted(old["uid"])
    assert len(services.incidents(sy, user=ana, layer="crime", months=months)) == len(everything)
    assert asked[-1] is None  # the analyst's read is not limited


def test_an_inspectors_area_figures_are_their_bcus_published_cells(sy, geo_of):
    """Issue 12: the inspector's Area summary tables are sums of the published cells of the base
    units inside Sheffield (the same suppressed cells as the force's); others keep the force."""
    pub, q = geo_of["published"], geo_of["quarters"]
    codes = pub.units_in(geo_of["bcus"][SHEFFIELD])
    ins, ana, pat = USERS["inspector"], USERS["analyst"], USERS["partner"]
    own = services.partner_units(sy, user=ins, level=pub.level, quarters=q, published=pub)
    assert 0 < len(own) and set(own["code"]) <= set(codes) and own.attrs["scope"] == "Sheffield"
    assert own.attrs["total_label"] == pub.figure(units=codes, quarters=q).label
    for who in (ana, pat):
        force = services.partner_units(sy, user=who, level=pub.level, quarters=q, published=pub)
        assert force.attrs["total_label"] == pub.figure(quarters=q).label and "scope" not in force.attrs
        assert len(force) > len(own)
    cats = services.partner_categories(sy, user=ins, quarters=q, published=pub)
    want = pub.table("category", units=codes, quarters=q)
    assert cats["count_label"].tolist() == want["count_label"].tolist()
    assert cats["count_label"].tolist() != services.partner_categories(
        sy, user=pat, quarters=q, published=pub)["count_label"].tolist()
    # every neighbourhood offered for a briefing is one the briefing accepts
    from geo import Workspace
    ws = Workspace.open(sy)
    try:
        for code in services.briefing_units(sy, user=ins, level="neighbourhood")["code"]:
            services.briefing_area(ws, user=ins, kind="neighbourhood", code=code)
    finally:
        ws.close()


def test_national_view_is_for_analysts_and_a_file_store_has_no_store_version(sy, tmp_path):
    from geo.errors import GeoInputError
    for role, user in USERS.items():
        if role in DATA_ROLES:  # allowed: then told the folder holds no run
            with pytest.raises(GeoInputError):
                services.national_view(tmp_path / "none", user=user)
        else:
            with pytest.raises(AccessDenied):
                services.national_view(tmp_path / "none", user=user)
    assert services.store_version(sy) is None


def test_cache_layer_and_pages_decide_no_scope():
    """dashboard/data.py and the pages open no workspace, touch no store, write no audit entry
    themselves, and ask geo.access nothing but the cache key (``access.scope_key``) or catch
    its refusal (``access.AccessDenied``): every access decision is in geo.services."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    files = [*sorted((root / "dashboard").glob("data*.py")), *sorted((root / "dashboard" / "app_pages").glob("*.py"))]
    for f in files:
        src = f.read_text()
        for banned in ("open_workspace(", "ws.store", "Workspace.open("):
            assert banned not in src, (f.name, banned)
        # an audit entry goes through data.audit -> auth.audit -> data.record -> geo.services.record
        assert not re.search(r"(?<!data)(?<!auth)(?<!services)\.audit\(", src), f.name
        used = set(re.findall(r"\baccess\.(\w+)", src))
        assert used <= {"scope_key", "AccessDenied"}, (f.name, used - {"scope_key", "AccessDenied"})


def test_pages_go_through_data_and_data_through_services():
    """pages -> dashboard.data -> geo.services: no page opens a workspace or imports the services,
    and the cache layer makes no access decision of its own."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    for page in sorted((root / "dashboard" / "app_pages").glob("*.py")):
        src = page.read_text()
        for banned in ("from geo import services", "from geo.services", "import geo.services", "geo.workspace",
                       "Workspace.open", "open_workspace", "ws.store", "GpkgStore"):
            assert banned not in src, (page.name, banned)
    data_src = "".join(f.read_text() for f in sorted((root / "dashboard").glob("data*.py")))
    for banned in ("Workspace", "open_workspace", "ws.store", "access.require", "access.check", "access.inside",
                   "access.scope_incidents", "access.scope_area", "access.scope_operation", ".role ==", ".role in"):
        assert banned not in data_src, banned
    cli_src = "".join((root / "geo" / n).read_text() for n in ("cli.py", "cli_operations.py", "cli_results.py"))
    assert "Workspace.open" not in cli_src and "ws.store" not in cli_src and "store.audit" not in cli_src
