from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT / "data"
SY_CRIME = DATA / "south-yorkshire" / "crime"
#: The demo's 18 months of police.uk crime, one police.uk-style zip (see data/README.md).
SY_CRIME_ARCHIVE = SY_CRIME / "south-yorkshire-street-2024-01-to-2025-06.zip"
#: Rows per month of the South Yorkshire files in the archive (header excluded).
SY_MONTH_ROWS = {
    "2024-01": 14451, "2024-02": 13851, "2024-03": 14726, "2024-04": 14953, "2024-05": 15887,
    "2024-06": 15057, "2024-07": 15725, "2024-08": 15265, "2024-09": 14459, "2024-10": 15600,
    "2024-11": 14963, "2024-12": 13142, "2025-01": 13115, "2025-02": 12567, "2025-03": 14912,
    "2025-04": 14978, "2025-05": 15067, "2025-06": 14808,
}
_EXTRACTED: dict[str, Path] = {}


def sy_street_csv(month: str, *, neighbours: bool = False) -> Path:
    """One month's file from the demo archive, extracted byte for byte to a temporary folder.

    ``neighbours`` gives the neighbouring forces' file of that month instead (for 2024-01
    … 04 that is the one file of all four months, as published). Each file is extracted
    once per test session.
    """
    import atexit
    import shutil
    import tempfile
    import zipfile
    if neighbours and month <= "2024-04":
        name = "2024-01-to-2024-04/neighbouring-forces-2024-01-to-2024-04-street.csv"
    else:
        name = f"{month}/{month}-{'neighbouring-forces' if neighbours else 'south-yorkshire'}-street.csv"
    if name not in _EXTRACTED:
        if "_dir" not in _EXTRACTED:
            d = Path(tempfile.mkdtemp(prefix="sy-crime-"))
            atexit.register(shutil.rmtree, d, True)
            _EXTRACTED["_dir"] = d
        out = _EXTRACTED["_dir"] / name
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(SY_CRIME_ARCHIVE) as zf:
            out.write_bytes(zf.read(name))
        _EXTRACTED[name] = out
    return _EXTRACTED[name]
collect_ignore_glob = ["browser/apps/*"]


@pytest.fixture(scope="session")
def demo_workspaces(tmp_path_factory):
    """The two bundled demo workspaces, built once per test session."""
    from geo.demo import ensure_demo_workspaces
    folder = tmp_path_factory.mktemp("workspaces")
    sy, pdx = ensure_demo_workspaces(folder, progress=lambda s: None)
    return {"south-yorkshire": sy, "portland": pdx}


def sign_in_for_test(at, role: str = "analyst", bcus=(), username: str | None = None):
    """Sign an AppTest in as ``role`` (before ``at.run()``); returns ``at``.

    Creates the account (or sets its role) in the test's private accounts file, then
    puts it into the session the way the sign-in form does, with the account's version,
    so the app's per-run session check accepts it (the session lives on the server, so a
    browser cannot do this). Inspectors default to Sheffield::

        at = sign_in_for_test(AppTest.from_file(APP), "analyst").run()
    """
    import secrets

    from geo.auth import AccountStore
    if role == "inspector" and not bcus:
        bcus = ("E08000019",)
    name = username or f"test-{role}"
    with AccountStore() as store:
        user = store.get(name)
        if user is None:
            user = store.add(name, "Tt-" + secrets.token_hex(12), role, bcus, by="test")
        elif (user.role, tuple(user.bcus)) != (role, tuple(bcus)):
            store.set_role(name, role, bcus, by="test")
            user = store.get(name)
    at.session_state["auth_user"] = user.to_dict()
    return at


@pytest.fixture(autouse=True)
def _private_accounts_file(tmp_path_factory, monkeypatch):
    """Every test uses its own accounts file, never ``workspaces/accounts.db``."""
    import os
    if "GEO_ACCOUNTS" not in os.environ:
        monkeypatch.setenv("GEO_ACCOUNTS", str(tmp_path_factory.mktemp("accounts") / "accounts.db"))


@pytest.fixture(autouse=True)
def _no_kept_hotspots_in_background(monkeypatch):
    """No background build of the Hotspots page's kept default runs (``dashboard.warm.kept_hotspots``,
    a minute of computing per workspace copy) unless a test asks for it."""
    monkeypatch.setenv("GEO_KEEP_HOTSPOTS", "0")


@pytest.fixture()
def server_secret(tmp_path, monkeypatch):
    """A private server secret (``GEO_SESSION_KEY_FILE``): what kept results are signed with."""
    monkeypatch.setenv("GEO_SESSION_KEY_FILE", str(tmp_path / "session.key"))
    return tmp_path / "session.key"


@pytest.fixture()
def sy_copy(demo_workspaces, tmp_path):
    """A private copy of the South Yorkshire demo workspace."""
    import shutil
    p = tmp_path / "south-yorkshire.gpkg"
    shutil.copy(demo_workspaces["south-yorkshire"], p)
    return p


def sy_with_rotherham_op(demo_workspaces, folder):
    """A private copy of the South Yorkshire demo in ``folder`` with one Rotherham operation
    ("Op Rother", id ``op-rother``, a Rotherham ward, March 2024); returns its path."""
    import shutil

    from geo import Workspace
    from geo.operations import Operation
    p = folder / "south-yorkshire.gpkg"
    shutil.copy(demo_workspaces["south-yorkshire"], p)
    ws = Workspace.open(p)
    wards = ws.boundaries("ward")
    rother = wards[wards["parent_code"] == "E08000018"]["code"].iloc[0]
    ws.save_operation(Operation(name="Op Rother", bcu="E08000018", tactic="Other", start="2024-03-01",
                                end="2024-03-28", target_kind="unit", target_unit=f"ward:{rother}",
                                op_id="op-rother"))
    ws.close()
    return p
