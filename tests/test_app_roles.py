"""Role-aware navigation and data functions, through AppTest (sign-in in a real browser: tests/browser)."""
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo import Workspace
from geo.auth import AccessDenied, AccountStore, User
from tests.conftest import sign_in_for_test

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")
PAGES = ROOT / "dashboard" / "app_pages"


@pytest.fixture()
def workspaces(demo_workspaces, tmp_path, monkeypatch):
    for p in demo_workspaces.values():
        shutil.copy(p, tmp_path / p.name)
    monkeypatch.setenv("GEO_WORKSPACES", str(tmp_path))
    monkeypatch.setenv("GEO_ACCOUNTS", str(tmp_path / "accounts.db"))
    return {k: tmp_path / p.name for k, p in demo_workspaces.items()}


def registered(at) -> set[str]:
    """The page files registered with st.navigation for this session."""
    return {Path(str(info["script_path"])).stem for info in at._registered_pages.values()
            if info.get("script_path")}


def test_before_sign_in_only_the_sign_in_form(workspaces):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert not any("Workspace" in m.value for m in at.sidebar.markdown)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/map.py")


def test_sign_in_form_with_a_local_account_and_sign_out(workspaces):
    with AccountStore() as store:
        store.add("ana", "analyst password", "analyst")
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.text_input(key="auth_username").input("ana")
    at.text_input(key="auth_password").input("wrong password!")
    at.button[0].click().run()
    assert any("Wrong username or password" in e.value for e in at.error)
    at.text_input(key="auth_username").input("ana")
    at.text_input(key="auth_password").input("analyst password")
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Map · South Yorkshire"
    assert at.session_state["auth_user"]["role"] == "analyst"
    ws = Workspace.open(workspaces["south-yorkshire"])
    log = ws.store.audit_log()
    ws.close()
    assert {"sign-in refused", "signed in"} <= set(log["action"])
    at.button(key="auth_sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in"]


@pytest.mark.parametrize("role, pages", [
    ("partner", {"areas", "briefings"}),
    ("inspector", {"map", "operations", "areas", "briefings"}),
    ("analyst", {"map", "operations", "data", "harm", "areas", "briefings", "national"}),
    ("admin", {"map", "operations", "data", "harm", "areas", "briefings", "admin", "national"}),
])
def test_pages_registered_per_role(workspaces, role, pages):
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=90), role).run()
    assert not at.exception
    got = registered(at)
    assert pages <= got
    if role == "partner":
        assert got == {"areas", "briefings"}  # nothing with incident points, not even by URL
    if role == "inspector":
        assert not {"data", "harm", "admin", "national"} & got
    if role != "admin":
        assert "admin" not in got


def test_partner_lands_on_the_area_summary_and_cannot_switch_to_the_map(workspaces):
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=90), "partner").run()
    assert at.title[0].value == "Area summary · South Yorkshire"
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/map.py")
    labels = [m.value for m in at.metric]
    assert labels and all(v for v in labels)


def test_data_functions_check_the_role_again(workspaces):
    from dashboard import data
    p = workspaces["south-yorkshire"]
    key, ver = str(p), data.version(p)
    with pytest.raises(AccessDenied, match="suppressed aggregates only"):
        data.incidents(key, ver, "crime", user=User("p", "partner"))
    with pytest.raises(AccessDenied):
        data._incidents(key, ver, "crime", ("mapped",), ("partner", ()))
    with pytest.raises(AccessDenied, match="partner briefings"):
        data.briefing(key, ver, ("bcu", "E08000019"), ("2024-02", "2024-04"), "internal", user=User("p", "partner"))
    full = data.incidents(key, ver, "crime", user=User("a", "analyst"))
    sheffield = data.incidents(key, ver, "crime", user=User("i", "inspector", ("E08000019",)))
    assert 0 < len(sheffield) < len(full)
    assert len(data.incidents(key, ver, "crime", user=User("i", "inspector", ("E08000019",)))) == len(sheffield)
    with pytest.raises(AccessDenied, match="own BCU"):
        data.briefing(key, ver, ("bcu", "E08000016"), ("2024-02", "2024-04"), "internal",
                      user=User("i", "inspector", ("E08000019",)))


def test_inspector_map_shows_their_bcu_only(workspaces):
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=90), "inspector").run()
    assert not at.exception
    ws = Workspace.open(workspaces["south-yorkshire"])
    crime = ws.incidents(layer="crime")
    sheffield = ws.bcus().set_index("code").geometry["E08000019"]
    ws.close()
    import shapely
    n = int(shapely.contains_xy(sheffield, crime["x"], crime["y"]).sum())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Incidents shown"] == f"{n:,}"
    # harm by crime type: readable labels and whole days (it showed "harm (days)" with cents)
    import json
    table = next(d for d in at.dataframe if "harm_share" in d.value.columns)
    labels = {k: v.get("label") for k, v in json.loads(table.proto.columns).items()}
    assert {labels["category"], labels["count"], labels["harm"], labels["harm_share"]} == {
        "Crime type", "Incidents", "Harm (CCHI days)", "Share of harm"}
    harm = table.value["harm"].dropna()
    assert len(harm) and (harm == harm.round(0)).all()


def test_inspector_briefing_areas_are_those_a_briefing_accepts(workspaces):
    """Every ward or neighbourhood offered to Sheffield's inspector lies inside Sheffield (50 m of slack on
    the edge, as geo.access allows), so none is refused after being offered; no Rotherham ward is offered."""
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=120), "inspector").run()
    at.switch_page("app_pages/briefings.py").run()
    assert not at.exception
    ws = Workspace.open(workspaces["south-yorkshire"])
    sheffield = ws.bcus().set_index("code").geometry["E08000019"].buffer(50)
    units = {lv: ws.boundaries(lv).set_index("code") for lv in ("ward", "neighbourhood")}
    from geo.labels import option_labels
    ws.close()
    for level in ("ward", "neighbourhood"):
        at.radio(key="brief_kind").set_value(level).run()
        offered = list(at.selectbox(key=f"brief_{level}").options)
        assert offered, level
        inside = units[level][[sheffield.covers(g) for g in units[level].geometry]]
        assert set(offered) == set(option_labels(inside.index, inside["name"], level=level).values()), level
        assert not set(offered) & set(units[level].loc[units[level]["parent_code"] == "E08000018", "name"])


def test_partner_briefing_and_downloads_are_audited(workspaces):
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=120), "partner", username="pat").run()
    at.switch_page("app_pages/briefings.py").run()
    assert not at.exception
    assert "brief_audience" not in [r.key for r in at.radio]  # partners cannot pick "internal"
    at.button(key="brief_go").click().run()
    assert not at.exception and not at.error
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download PDF", "Download HTML"]
    ws = Workspace.open(workspaces["south-yorkshire"])
    log = ws.store.audit_log()
    ws.close()
    row = log[(log["user"] == "pat") & (log["action"] == "viewed area")].iloc[0]
    assert "partner briefing" in row["detail"]


def test_admin_page_accounts_settings_and_audit(workspaces):
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=90), "admin", username="root").run()
    at.switch_page("app_pages/admin.py").run()
    assert not at.exception
    at.text_input(key="admin_new_name").input("pia")
    at.selectbox(key="admin_new_role").set_value("partner")
    at.text_input(key="admin_new_pw1").input("partner password")
    at.text_input(key="admin_new_pw2").input("partner password")
    at.get("form")[0].children  # noqa: B018  (the form exists)
    submit = [b for b in at.button if b.label == "Create account"][0]
    submit.click().run()
    assert not at.exception
    with AccountStore() as store:
        assert store.verify("pia", "partner password") == User("pia", "partner")
        assert store.account_log()["user"].iloc[0] == "root"
    at.text_input(key="admin_marking").input("OFFICIAL")
    at.number_input(key="admin_threshold").set_value(7)
    at.button(key="admin_save_settings").click().run()
    assert not at.exception
    ws = Workspace.open(workspaces["south-yorkshire"])
    assert ws.setting("suppression_threshold") == 7 and ws.setting("protective_marking") == "OFFICIAL"
    log = ws.store.audit_log()
    ws.close()
    assert {"suppression_threshold = 7", "protective_marking = OFFICIAL"} <= set(
        log.loc[log["action"] == "setting changed", "detail"])


def test_admin_chooses_an_installed_basemap(workspaces, tmp_path, monkeypatch):
    import sqlite3

    from geo import tiles
    monkeypatch.setattr(tiles, "STATIC_TILES", tmp_path / "tiles")
    mb = tmp_path / "streets.mbtiles"
    con = sqlite3.connect(mb)
    con.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    con.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    con.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", "Streets"), ("format", "png"),
                                                           ("attribution", "Streets team")])
    con.execute("INSERT INTO tiles VALUES (0, 0, 0, ?)", (b"\x89PNG\r\n\x1a\n" + bytes(20),))
    con.commit()
    con.close()
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=90), "admin", username="root").run()
    at.switch_page("app_pages/admin.py").run()
    box = at.selectbox(key="admin_basemap")
    assert box.value == "" and any("No offline basemap is installed" in c.value for c in at.caption)
    installed = tiles.install_mbtiles(mb)
    at.run()
    box = at.selectbox(key="admin_basemap")
    assert box.options == ["None: the boundaries are the basemap", "streets (installed: 1 tiles, zoom 0–0)"]
    box.set_value(installed.url)
    at.button(key="admin_save_settings").click().run()
    assert not at.exception
    ws = Workspace.open(workspaces["south-yorkshire"])
    assert ws.setting("tile_url") == "/app/static/tiles/streets/{z}/{x}/{y}.png"
    assert ws.setting("tile_attribution") == "Streets team"
    ws.close()
    at.selectbox(key="admin_basemap").set_value("")
    at.button(key="admin_save_settings").click().run()
    ws = Workspace.open(workspaces["south-yorkshire"])
    assert ws.setting("tile_url") is None and ws.setting("tile_attribution") == ""
    ws.close()


def test_non_admins_cannot_run_the_admin_page_code(workspaces):
    from geo.auth import require_role
    with pytest.raises(AccessDenied, match="admin"):
        require_role(User("a", "analyst"), "admin")


# ------------------------------------------------------------------ the Operations page per role (geo.access)
SHEFFIELD, ROTHERHAM = "E08000019", "E08000018"


@pytest.fixture()
def with_rotherham_op(workspaces):
    """The South Yorkshire copy with one operation in Rotherham besides the two demo ones in Sheffield."""
    from geo.operations import Operation
    ws = Workspace.open(workspaces["south-yorkshire"])
    wards = ws.boundaries("ward")
    code = wards.loc[wards["parent_code"] == ROTHERHAM, "code"].iloc[0]
    ws.save_operation(Operation(name="Op Rother (test)", bcu=ROTHERHAM, tactic="Other", start="2024-03-01",
                                end="2024-03-28", target_kind="unit", target_unit=f"ward:{code}",
                                op_id="test-rotherham"))
    ws.close()
    return workspaces


def _operations_page(role):
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=120), role).run()
    at.switch_page("app_pages/operations.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("role, expected", [
    ("inspector", {"Op Central (demo)", "Op Beighton (demo)"}),
    ("analyst", {"Op Central (demo)", "Op Beighton (demo)", "Op Rother (test)"}),
    ("admin", {"Op Central (demo)", "Op Beighton (demo)", "Op Rother (test)"}),
])
def test_operations_page_lists_what_the_role_may_see(with_rotherham_op, role, expected):
    at = _operations_page(role)
    register = at.dataframe[0].value
    assert set(register["name"]) == expected
    assert set(at.selectbox(key="res_op").options) == expected  # what can be analysed
    assert set(at.selectbox(key="ops_choice").options) - {"New operation…"} == expected  # what can be changed
    bcu_choices = at.selectbox(key="ops_new_bcu").options
    if role == "inspector":
        assert bcu_choices == ["Sheffield"]
    else:
        assert {"Sheffield", "Rotherham", "Barnsley", "Doncaster"} <= set(bcu_choices)


def _rotherham_point(workspaces):
    import geopandas as gpd
    ws = Workspace.open(workspaces["south-yorkshire"])
    rot = ws.bcus().set_index("code").geometry[ROTHERHAM].representative_point()
    crs = ws.crs
    ws.close()
    return gpd.GeoSeries([rot], crs=crs).to_crs(4326).iloc[0]


@pytest.mark.parametrize("role, allowed", [("inspector", False), ("analyst", True)])
def test_operations_page_create_in_another_bcu(with_rotherham_op, role, allowed):
    """The attack: a Sheffield inspector draws an operation in Rotherham (labelled Sheffield)."""
    at = _operations_page(role)
    pt = _rotherham_point(with_rotherham_op)
    at.text_input(key="ops_new_name").input("Op Sneak")
    at.radio(key="ops_new_kind").set_value("point_radius").run()
    at.number_input(key="ops_new_lon").set_value(round(pt.x, 5))
    at.number_input(key="ops_new_lat").set_value(round(pt.y, 5))
    at.button(key="ops_new_save").click().run()
    assert not at.exception, at.exception
    ws = Workspace.open(with_rotherham_op["south-yorkshire"])
    names = {o.name for o in ws.operations()}
    log = ws.store.audit_log()
    ws.close()
    if allowed:
        assert "Op Sneak" in names
        assert ((log["action"] == "operation saved") & (log["detail"] == "Op Sneak")).any()
    else:
        assert "Op Sneak" not in names
        assert any("outside your BCU" in e.value for e in at.error), [e.value for e in at.error]


def test_inspector_cannot_analyse_another_bcus_operation_through_the_data_layer(with_rotherham_op):
    from dashboard import data, data_results
    p = with_rotherham_op["south-yorkshire"]
    with pytest.raises(AccessDenied, match="outside your BCU"):
        data_results.displacement(str(p), data.version(p), "test-rotherham", user=User("i", "inspector", (SHEFFIELD,)))
    with pytest.raises(AccessDenied, match="outside your BCU"):
        data.delete_operation(p, "test-rotherham", user=User("i", "inspector", (SHEFFIELD,)))


# ------------------------------------------------------------------ sessions re-checked on every run
@pytest.mark.parametrize("change, message", [
    ("disable", "disabled"),
    ("role", "changed"),
    ("remove", "removed"),
    ("password", "changed"),
])
def test_account_change_signs_the_open_session_out(workspaces, change, message):
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=90), "analyst", username="ann").run()
    assert at.title[0].value == "Map · South Yorkshire"
    with AccountStore() as store:
        store.add("root", "a long admin password", "admin")  # so 'ann' is not the last admin of anything
        if change == "disable":
            store.set_disabled("ann", True)
        elif change == "role":
            store.set_role("ann", "partner")
        elif change == "remove":
            store.remove("ann")
        else:
            store.set_password("ann", "a brand new secret")
    at.run()  # the next interaction
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert "auth_user" not in at.session_state
    assert any(message in w.value for w in at.warning), [w.value for w in at.warning]
    ws = Workspace.open(workspaces["south-yorkshire"])
    log = ws.store.audit_log()
    ws.close()
    assert ((log["user"] == "ann") & (log["action"] == "signed out")).any()


def test_idle_session_is_signed_out(workspaces):
    import time
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=90), "analyst").run()
    assert at.title[0].value == "Map · South Yorkshire"
    at.session_state["auth_seen"] = time.time() - 29 * 60
    at.run()
    assert at.title[0].value == "Map · South Yorkshire"  # 29 minutes: still in
    at.session_state["auth_seen"] = time.time() - 31 * 60
    at.run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert any("30 minutes without activity" in w.value for w in at.warning)


def test_idle_limit_is_a_setting(workspaces, monkeypatch):
    import time
    monkeypatch.setenv("GEO_SESSION_IDLE_MINUTES", "5")
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=90), "analyst").run()
    at.session_state["auth_seen"] = time.time() - 6 * 60
    at.run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert any("5 minutes without activity" in w.value for w in at.warning)


# ------------------------------------------------------------------ sign-in form: throttling, demo credentials
def test_repeated_wrong_passwords_lock_the_form(workspaces, monkeypatch):
    import dataclasses

    from geo import auth as core
    # no delay between attempts, so the count (not the test's speed) decides: five failures lock
    monkeypatch.setattr(core, "settings", dataclasses.replace(core.settings, sign_in_delay_s=0.0))
    with AccountStore() as store:
        store.add("ana", "analyst password", "analyst")
    at = AppTest.from_file(APP, default_timeout=90).run()
    errors = []
    for _ in range(6):
        at.text_input(key="auth_username").input("ana")
        at.text_input(key="auth_password").input("wrong password!")
        at.button[0].click().run()
        errors.append(at.error[0].value)
    assert errors[:5] == ["Wrong username or password."] * 5
    assert "locked for 15 minutes" in errors[5]
    at.text_input(key="auth_username").input("ana")
    at.text_input(key="auth_password").input("analyst password")
    at.button[0].click().run()
    assert [t.value for t in at.title] == ["Sign in"]  # the right password is refused while locked
    assert "locked" in at.error[0].value
    ws = Workspace.open(workspaces["south-yorkshire"])
    log = ws.store.audit_log()
    ws.close()
    assert ((log["user"] == "ana") & (log["action"] == "sign-in locked")).sum() == 1
    assert ((log["user"] == "ana") & (log["action"] == "sign-in refused")).sum() == 5


def test_demo_credentials_only_in_demo_mode(workspaces, monkeypatch):
    from geo.auth import ensure_demo_accounts
    with AccountStore() as store:
        ensure_demo_accounts(store)
    monkeypatch.delenv("GEO_DEMO", raising=False)
    at = AppTest.from_file(APP, default_timeout=60).run()
    text = " ".join(i.value for i in at.info) + " ".join(m.value for m in at.markdown)
    assert "analyst-demo-only" not in text and "Demo accounts" not in text
    monkeypatch.setenv("GEO_DEMO", "1")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert any("analyst-demo-only" in i.value for i in at.info)
