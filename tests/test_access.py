"""geo.access: every role x every action on operations, incidents, areas and briefings.

The attack this closes (issue 10 / issue 9): a Sheffield-only inspector (BCU E08000019)
could list, create and analyse operations in Rotherham and get full per-crime-type
results. Unit tests on synthetic BCUs cover the whole matrix; the tests at the end run the
same actions through ``dashboard.data`` and the Operations page on the real demo data.
"""
from __future__ import annotations

import shutil

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo import access
from geo.auth import AccessDenied, User
from geo.operations import Operation

# Two BCUs side by side, 0-10 km and 10-20 km.
BCUS = gpd.GeoDataFrame({"code": ["A", "B"], "name": ["Ayton", "Beeton"]},
                        geometry=[shapely.box(0, 0, 10_000, 10_000), shapely.box(10_000, 0, 20_000, 10_000)],
                        crs="EPSG:27700")
IN_A = shapely.box(1_000, 1_000, 3_000, 3_000)
IN_B = shapely.box(12_000, 1_000, 14_000, 3_000)
STRADDLING = shapely.box(9_000, 1_000, 11_000, 3_000)  # mostly... half in A, half in B
EDGE_OF_A = shapely.box(8_000, 1_000, 10_000, 3_000)  # shares A's edge with B: inside A

ANALYST, ADMIN = User("ana", "analyst"), User("adm", "admin")
INSPECTOR = User("ins", "inspector", ("A",))
PARTNER = User("pat", "partner")
NOBODY = None
LOST_INSPECTOR = User("ghost", "inspector", ("Z",))  # a BCU the workspace does not have


def op(name: str, bcu: str) -> Operation:
    return Operation(name=name, bcu=bcu, tactic="Other", start="2024-03-01", end="2024-03-28",
                     target_kind="unit", target_unit=f"ward:{name}", op_id=name)


OPS = {"a": (op("a", "A"), IN_A), "b": (op("b", "B"), IN_B), "straddle": (op("straddle", "A"), STRADDLING),
       "edge": (op("edge", "A"), EDGE_OF_A), "labelled-A-drawn-in-B": (op("labelled-A-drawn-in-B", "A"), IN_B)}
TARGETS = {k: t for k, (_, t) in OPS.items()}

# Which operations each role may touch (list, read, create, change, delete, analyse alike).
ALLOWED = {
    "analyst": set(OPS), "admin": set(OPS),
    "inspector": {"a", "edge"},
    "partner": set(), "nobody": set(), "lost inspector": set(),
}
USERS = {"analyst": ANALYST, "admin": ADMIN, "inspector": INSPECTOR, "partner": PARTNER, "nobody": NOBODY,
         "lost inspector": LOST_INSPECTOR}


def _allowed(fn) -> bool:
    try:
        fn()
    except AccessDenied:
        return False
    return True


@pytest.mark.parametrize("who", list(USERS))
def test_list_operations(who):
    user = USERS[who]
    ops = [o for o, _ in OPS.values()]
    if who in ("partner", "nobody"):
        with pytest.raises(AccessDenied):
            access.scope_operations(user, ops, targets=TARGETS, bcus=BCUS)
        return
    got = {o.op_id for o in access.scope_operations(user, ops, targets=TARGETS, bcus=BCUS)}
    assert got == ALLOWED[who]


@pytest.mark.parametrize("action", ["read", "create", "analyse", "delete"])
@pytest.mark.parametrize("who", list(USERS))
def test_read_create_analyse_delete_each_operation(who, action):
    user = USERS[who]
    check = {"read": access.check_can_read_operation, "analyse": access.check_can_analyse,
             "create": access.check_can_edit_operation, "delete": access.check_can_edit_operation}[action]
    got = {k for k, (o, t) in OPS.items() if _allowed(lambda: check(user, o, target=t, bcus=BCUS))}
    assert got == ALLOWED[who], (who, action)


@pytest.mark.parametrize("who", list(USERS))
def test_change_needs_both_the_old_and_the_new_operation(who):
    user = USERS[who]
    a, ta = OPS["a"]
    b, tb = OPS["b"]
    moved_in = (Operation(**{**b.to_dict(), "bcu": "A"}), ta)  # another BCU's operation moved into A
    moved_out = (Operation(**{**a.to_dict(), "bcu": "B"}), tb)  # one of A's moved to B
    cases = {
        "a->a": lambda: access.check_can_edit_operation(user, a, target=ta, bcus=BCUS, existing=a, existing_target=ta),
        "b->a": lambda: access.check_can_edit_operation(user, moved_in[0], target=moved_in[1], bcus=BCUS,
                                                        existing=b, existing_target=tb),
        "a->b": lambda: access.check_can_edit_operation(user, moved_out[0], target=moved_out[1], bcus=BCUS,
                                                        existing=a, existing_target=ta),
    }
    got = {k for k, fn in cases.items() if _allowed(fn)}
    expected = {"analyst": set(cases), "admin": set(cases), "inspector": {"a->a"}}.get(who, set())
    assert got == expected


def test_refusals_say_why():
    o, t = OPS["b"]
    with pytest.raises(AccessDenied, match="belongs to BCU B, outside your BCU\\(s\\) \\(A\\)"):
        access.check_can_analyse(INSPECTOR, o, target=t, bcus=BCUS)
    o, t = OPS["straddle"]
    with pytest.raises(AccessDenied, match="target of operation 'straddle' is outside your BCU"):
        access.check_can_read_operation(INSPECTOR, o, target=t, bcus=BCUS)
    with pytest.raises(AccessDenied, match="suppressed aggregates only"):
        access.check_can_read_operation(PARTNER, o, target=t, bcus=BCUS)
    with pytest.raises(AccessDenied, match="Sign in"):
        access.check_can_read_operation(None, o, target=t, bcus=BCUS)


@pytest.mark.parametrize("who", list(USERS))
def test_incidents_by_role(who):
    frame = pd.DataFrame({"x": [2_000.0, 9_999.0, 15_000.0, 25_000.0], "y": [2_000.0] * 4, "id": [1, 2, 3, 4]})
    user = USERS[who]
    if who in ("partner", "nobody"):
        with pytest.raises(AccessDenied):
            access.scope_incidents(user, frame, BCUS)
        return
    got = set(access.scope_incidents(user, frame, BCUS)["id"])
    assert got == {"analyst": {1, 2, 3, 4}, "admin": {1, 2, 3, 4}, "inspector": {1, 2},
                   "lost inspector": set()}[who]


@pytest.mark.parametrize("who", list(USERS))
def test_areas_units_and_control_units_by_role(who):
    user = USERS[who]
    units = gpd.GeoDataFrame({"name": ["in A", "edge", "in B", "across"]},
                             geometry=[IN_A, EDGE_OF_A, IN_B, STRADDLING], crs=BCUS.crs)
    if who in ("partner", "nobody"):
        # partners see no operation, so they choose no control units; no scope -> no units either
        if who == "nobody":
            with pytest.raises(AccessDenied):
                access.scope_units(user, units, BCUS)
        return
    got = list(access.scope_units(user, units, BCUS)["name"])
    expected = {"inspector": ["in A", "edge"], "lost inspector": []}.get(who, list(units["name"]))
    assert got == expected
    ok = _allowed(lambda: access.check_control_units(user, units.iloc[[0, 2]], BCUS))
    assert ok == (who in ("analyst", "admin"))
    briefing_area_ok = _allowed(lambda: access.check_inside(user, IN_B, BCUS, what="the briefing area"))
    assert briefing_area_ok == (who in ("analyst", "admin"))


@pytest.mark.parametrize("who", list(USERS))
def test_audiences_and_bcu_choices(who):
    user = USERS[who]
    assert access.partner_may_see(user, "partner") == (who != "nobody")
    assert access.partner_may_see(user, "internal") == (who not in ("partner", "nobody"))
    if who != "nobody":
        assert access.allowed_bcus(user, ["A", "B"]) == {"inspector": ["A"], "lost inspector": []}.get(
            who, ["A", "B"])


def test_scope_key_is_what_the_cache_needs():
    assert access.scope_key(INSPECTOR) == ("inspector", ("A",))
    assert access.scope_key(ANALYST) == ("analyst", ())
    assert access.scope_key(("inspector", ("A",))) == ("inspector", ("A",))
    assert access.scope_key(None) == ("", ())
    with pytest.raises(AccessDenied, match="Unknown role"):
        access.scope_key(("superuser", ()))
    # two inspectors of different BCUs never share a cached result
    assert access.scope_key(User("x", "inspector", ("A",))) != access.scope_key(User("y", "inspector", ("B",)))


# ------------------------------------------------------------------ the reported attack, on the real data
SHEFFIELD, ROTHERHAM = "E08000019", "E08000018"


@pytest.fixture()
def sy(demo_workspaces, tmp_path, monkeypatch):
    """A private copy of the South Yorkshire demo with a Rotherham operation and one across the boundary."""
    from geo import Workspace
    p = tmp_path / "south-yorkshire.gpkg"
    shutil.copy(demo_workspaces["south-yorkshire"], p)
    monkeypatch.setenv("GEO_WORKSPACES", str(tmp_path))
    monkeypatch.setenv("GEO_ACCOUNTS", str(tmp_path / "accounts.db"))
    ws = Workspace.open(p)
    wards = ws.boundaries("ward")
    rotherham_ward = wards[wards["parent_code"] == ROTHERHAM].iloc[0]
    ws.save_operation(Operation(name="Op Rother (test)", bcu=ROTHERHAM, tactic="Other", start="2024-03-01",
                                end="2024-03-28", target_kind="unit", target_unit=f"ward:{rotherham_ward['code']}",
                                op_id="test-rotherham"))
    # a point on the Sheffield/Rotherham boundary, labelled Sheffield, reaching into Rotherham
    shef = ws.bcus().set_index("code").geometry
    on_edge = shef[SHEFFIELD].boundary.intersection(shef[ROTHERHAM].boundary).representative_point()
    lon, lat = gpd.GeoSeries([on_edge], crs=ws.crs).to_crs(4326).iloc[0].coords[0]
    ws.save_operation(Operation(name="Op Border (test)", bcu=SHEFFIELD, tactic="Other", start="2024-03-01",
                                end="2024-03-28", target_kind="point_radius", lon=lon, lat=lat, radius_m=500,
                                op_id="test-border"))
    ws.close()
    return p


SHEFFIELD_INSPECTOR = User("sheff", "inspector", (SHEFFIELD,))


def test_sheffield_inspector_sees_and_analyses_sheffield_operations_only(sy):
    from dashboard import data, data_results
    key, ver = str(sy), data.version(sy)
    everyone = {o.op_id for o in data.operations(key, ver, user=ANALYST)}
    assert {"demo-sy-central", "demo-sy-beighton", "test-rotherham", "test-border"} <= everyone
    own = {o.op_id for o in data.operations(key, ver, user=SHEFFIELD_INSPECTOR)}
    assert own == {"demo-sy-central", "demo-sy-beighton"}
    areas = data.operation_areas(key, ver, user=SHEFFIELD_INSPECTOR)
    assert set(areas["op_id"]) == own
    with pytest.raises(AccessDenied):
        data.operations(key, ver, user=PARTNER)
    for op_id in ("test-rotherham", "test-border"):
        with pytest.raises(AccessDenied, match="outside your BCU"):
            data_results.displacement(key, ver, op_id, user=SHEFFIELD_INSPECTOR)
        with pytest.raises(AccessDenied, match="outside your BCU"):
            data_results.check_analysis(key, ver, op_id, user=SHEFFIELD_INSPECTOR)
        with pytest.raises(AccessDenied, match="outside your BCU"):
            data_results.displacement_report(key, ver, op_id, user=SHEFFIELD_INSPECTOR)  # no way around the check
    from geo import Workspace as W
    w = W.open(sy)
    refused = w.store.audit_log().query("action == 'access refused'")
    w.close()
    assert set(refused["user"]) == {"sheff"} and len(refused) == 6
    with pytest.raises(AccessDenied, match="suppressed aggregates"):
        data_results.displacement(key, ver, "demo-sy-central", user=PARTNER)
    # a control made of Rotherham wards would hand out Rotherham counts
    from geo import Workspace
    ws = Workspace.open(sy)
    rw = ws.boundaries("ward")
    ws.close()
    rotherham_units = tuple(f"ward:{c}" for c in rw.loc[rw["parent_code"] == ROTHERHAM, "code"].head(2))
    with pytest.raises(AccessDenied, match="Control unit"):
        data_results.check_analysis(key, ver, "demo-sy-central", rotherham_units, user=SHEFFIELD_INSPECTOR)
    assert data_results.check_analysis(key, ver, "demo-sy-central", rotherham_units, user=ANALYST) == ("analyst", ())
    assert data_results.check_analysis(key, ver, "demo-sy-central", user=SHEFFIELD_INSPECTOR)


def test_sheffield_inspector_cannot_create_change_or_delete_in_rotherham(sy):
    from dashboard import data
    from geo import Workspace
    ws = Workspace.open(sy)
    wards = ws.boundaries("ward")
    register = {o.op_id: o for o in ws.operations()}
    ws.close()
    rward = wards.loc[wards["parent_code"] == ROTHERHAM, "code"].iloc[1]
    sward = wards.loc[wards["parent_code"] == SHEFFIELD, "code"].iloc[1]
    new_r = Operation(name="Op Sneak", bcu=SHEFFIELD, tactic="Other", start="2024-03-01", end="2024-03-28",
                      target_kind="unit", target_unit=f"ward:{rward}")
    with pytest.raises(AccessDenied, match="outside your BCU"):
        data.save_operation(sy, new_r, user=SHEFFIELD_INSPECTOR)  # labelled Sheffield, drawn in Rotherham
    with pytest.raises(AccessDenied, match="belongs to BCU"):
        data.save_operation(sy, Operation(**{**new_r.to_dict(), "bcu": ROTHERHAM}), user=SHEFFIELD_INSPECTOR)
    # moving Rotherham's operation into Sheffield (a change) is refused too
    moved = Operation(**{**register["test-rotherham"].to_dict(), "bcu": SHEFFIELD, "target_unit": f"ward:{sward}"})
    with pytest.raises(AccessDenied, match="Op Rother"):
        data.save_operation(sy, moved, user=SHEFFIELD_INSPECTOR)
    with pytest.raises(AccessDenied, match="outside your BCU"):
        data.delete_operation(sy, "test-border", user=SHEFFIELD_INSPECTOR)
    ws = Workspace.open(sy)
    after = {o.op_id: o for o in ws.operations()}
    log = ws.store.audit_log()
    ws.close()
    assert "Op Sneak" not in {o.name for o in after.values()}
    assert after["test-rotherham"].bcu == ROTHERHAM and "test-border" in after
    assert not log["action"].isin(["operation saved", "operation changed", "operation deleted"]).any()
    refused = log[(log["user"] == "sheff") & (log["action"] == "access refused")]
    assert len(refused) == 4 and refused["detail"].str.contains("Op Sneak").sum() == 2
    # inside Sheffield the same inspector may create, change and delete, and each is audited
    own = Operation(name="Op Own", bcu=SHEFFIELD, tactic="Other", start="2024-03-01", end="2024-03-28",
                    target_kind="unit", target_unit=f"ward:{sward}")
    data.save_operation(sy, own, user=SHEFFIELD_INSPECTOR)
    data.save_operation(sy, Operation(**{**own.to_dict(), "notes": "changed"}), user=SHEFFIELD_INSPECTOR)
    data.delete_operation(sy, own.op_id, user=SHEFFIELD_INSPECTOR)
    # analysts may do all of it anywhere
    data.save_operation(sy, Operation(**{**new_r.to_dict(), "bcu": ROTHERHAM, "name": "Op Analyst"}), user=ANALYST)
    ws = Workspace.open(sy)
    log = ws.store.audit_log()
    ws.close()
    mine = log[(log["user"] == "sheff") & (log["action"] != "access refused")]
    assert list(mine["action"])[::-1] == ["operation saved", "operation changed", "operation deleted"]
    assert ((log["user"] == "ana") & (log["action"] == "operation saved")).sum() == 1


# ------------------------------------------------------------------ reads pushed down, published figures trimmed
@pytest.mark.parametrize("who", list(USERS))
def test_read_bcus_limits_inspectors_only(who):
    """What a service passes to the store: an inspector's own codes (even unknown ones: the
    store then reads nothing, as access would trim), no limit for everyone else."""
    assert access.read_bcus(USERS[who]) == {"inspector": ("A",), "lost inspector": ("Z",)}.get(who)


def _published():
    """Four 5 km squares (two per BCU) and one month of incidents: 7, 2 (hidden), 12 and 3 (hidden)."""
    from geo.disclosure import base_units, publish
    squares = [shapely.box(x, 0, x + 5_000, 5_000) for x in (0, 5_000, 10_000, 15_000)]
    bounds = gpd.GeoDataFrame({"level": "lsoa", "code": ["a1", "a2", "b1", "b2"], "name": ["A1", "A2", "B1", "B2"]},
                              geometry=squares, crs=BCUS.crs)
    _, units = base_units(bounds, crs=BCUS.crs)
    per = {"a1": 7, "a2": 2, "b1": 12, "b2": 3}
    pts = [shapely.Point(squares[i].centroid.x + k, 2_500) for i, n in enumerate(per.values()) for k in range(n)]
    inc = gpd.GeoDataFrame({"month": "2024-01", "layer": "crime", "category": "Drugs", "harm": 10.0,
                            "in_basket": True}, index=range(len(pts)), geometry=pts, crs=BCUS.crs)
    return publish(inc, units, quarters=("2024-Q1",), level="lsoa", threshold=5)


@pytest.mark.parametrize("who", list(USERS))
def test_published_figures_are_trimmed_to_an_inspectors_units(who):
    pub = _published()
    user = USERS[who]
    if who == "nobody":
        with pytest.raises(AccessDenied):
            access.scope_published(user, pub, BCUS)
        return
    got = access.scope_published(user, pub, BCUS)
    codes = {"inspector": ["a1", "a2"], "lost inspector": []}.get(who, ["a1", "a2", "b1", "b2"])
    assert list(got.units["code"]) == codes and set(got.cells["unit"]) == set(codes)
    table = got.unit_table()
    assert list(table["code"]) == codes
    # the totals are sums of the same published cells: the hidden 2 and 3 stay ranges
    assert table.attrs["total_label"] == pub.figure(units=codes).label
    assert table.attrs["total_label"] == {"inspector": "8–11", "lost inspector": "0"}.get(who, "21–27")
    assert got.table("category")["count_label"].tolist() == ([pub.figure(units=codes).label] if codes else [])
