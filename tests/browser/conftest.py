"""Real-browser tests: a headless Chromium against ``streamlit run``.

In the style of Streamlit's own e2e suite. AppTest cannot see inside a custom
component such as ``st_folium``, so anything about maps is checked here.

Fixtures
--------
streamlit_app
    Factory ``streamlit_app(app_path, env=None) -> AppServer``: starts
    ``streamlit run`` headless on a free port (cwd = repo root), waits for
    ``/_stcore/health`` and stops it at the end of the session. The same app with
    the same env is started once per session.
browser
    Session-wide Playwright Chromium (Debian's ``/usr/bin/chromium``; no browser is
    downloaded). Skips the test when it is missing, fails instead when ``CI`` is set.
network_log, page
    A fresh browser context per test; ``network_log`` records every request made by
    the page and its iframes (and its websockets).

Helpers, imported Streamlit-style as ``from tests.browser.conftest import ...``
(pytest registers ``tests.conftest`` and ``tests.browser.conftest`` under those
names; ``python -m pytest`` also puts the repo root first on ``sys.path``): :func:`open_app`, :func:`wait_for_app`,
:func:`map_frame`, :func:`wait_for_map`, :func:`assert_offline`. Tests in this folder
get the ``browser`` marker, so ``pytest -m "not browser"`` leaves them out.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
APPS_DIR = Path(__file__).resolve().parent / "apps"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Schemes that never touch the network.
LOCAL_SCHEMES = {"data", "blob", "about", "chrome", "chrome-extension", "file"}
STARTUP_TIMEOUT_S = 45
APP_TIMEOUT_MS = 30_000


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: needs a real browser (Chromium) and a running Streamlit app")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


# ------------------------------------------------------------------ streamlit server
def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppServer:
    """A running ``streamlit run`` process."""

    app: Path
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def open(self, page, query: str = "") -> None:
        """Open the app in `page` and wait for its script to finish."""
        open_app(page, self, query)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_streamlit(app: str | Path, env: dict[str, str] | None = None,
                    log_dir: str | Path | None = None) -> AppServer:
    """Start ``streamlit run app`` headless on a free port and wait until healthy.

    `app` may be relative to the repo root. Apps outside ``dashboard/`` need a
    ``static`` folder (or symlink) beside them for the vendored map assets; the one in
    ``tests/browser/apps`` links to ``dashboard/static``.
    """
    app = (REPO_ROOT / app).resolve()
    if not app.is_file():
        raise FileNotFoundError(app)
    port = free_port()
    log_path = Path(log_dir or tempfile.mkdtemp()) / f"streamlit-{app.stem}-{port}.log"
    # no background build of the Hotspots page's kept default runs (dashboard.warm.kept_hotspots) unless asked
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "GEO_KEEP_HOTSPOTS": "0", **(env or {})}
    cmd = [sys.executable, "-m", "streamlit", "run", str(app),
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--server.enableStaticServing", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, cwd=REPO_ROOT, env=full_env, stdout=log,
                                   stderr=subprocess.STDOUT)
    server = AppServer(app, port, process, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"streamlit not healthy after {STARTUP_TIMEOUT_S} s:\n{server.log()}")


@pytest.fixture(scope="session")
def streamlit_app(tmp_path_factory):
    """Factory: ``streamlit_app("dashboard/app.py", env={...}) -> AppServer``."""
    servers: dict[tuple, AppServer] = {}
    log_dir = tmp_path_factory.mktemp("streamlit-logs")

    def start(app: str | Path, env: dict[str, str] | None = None) -> AppServer:
        key = (str(app), tuple(sorted((env or {}).items())))
        if key not in servers:
            servers[key] = start_streamlit(app, env, log_dir)
        return servers[key]

    yield start
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="session")
def map_demo_app(streamlit_app) -> AppServer:
    """The demo map app in ``tests/browser/apps/map_demo_app.py``, running."""
    static = APPS_DIR / "static"
    if not static.exists():  # the symlink may be lost, e.g. on a checkout without links
        static.symlink_to(Path("..", "..", "..", "dashboard", "static"),
                          target_is_directory=True)
    return streamlit_app(APPS_DIR / "map_demo_app.py")


# -------------------------------------------------------------------------- browser
def _no_browser(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}. On CI the browser tests must run: "
                    "`apt-get install chromium` (Debian) and `pip install playwright`.")
    pytest.skip(f"{reason}; install it with `apt-get install chromium` to run browser tests")


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium through Playwright, shared by the session."""
    if not (CHROMIUM.is_file() or shutil.which(str(CHROMIUM))):
        _no_browser(f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("The playwright Python package is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class NetworkLog:
    """Every URL requested by a browser context (all frames) and its websockets."""

    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def watch(self, context) -> None:
        context.on("request", lambda r: self.requests.append(r.url))
        context.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        context.on("page", lambda p: p.on("websocket", lambda ws: self.requests.append(ws.url)))

    def external(self) -> list[str]:
        """Requests that went anywhere but this machine."""
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in LOCAL_SCHEMES:
                continue
            if parts.hostname not in LOCAL_HOSTS:
                out.append(url)
        return out

    def assert_offline(self) -> None:
        assert_offline(self)


@pytest.fixture
def network_log() -> NetworkLog:
    return NetworkLog()


@pytest.fixture
def context(browser, network_log):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(APP_TIMEOUT_MS)
    network_log.watch(ctx)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


# -------------------------------------------------------------------------- helpers
def wait_for_app(page, timeout: float = APP_TIMEOUT_MS) -> None:
    """Wait until the app is connected and its script has finished running."""
    page.wait_for_selector("[data-test-connection-state='CONNECTED']", timeout=timeout,
                           state="attached")
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           timeout=timeout, state="attached")
    exception = page.locator("[data-testid='stException']")
    if exception.count():
        raise AssertionError(f"The app raised:\n{exception.first.inner_text()}")


def map_frame(page, nth: int = 0):
    """FrameLocator of the `nth` ``st_folium`` map on the page."""
    return page.frame_locator('iframe[title="streamlit_folium.st_folium"]').nth(nth)


def wait_for_map(page, nth: int = 0, timeout: float = APP_TIMEOUT_MS):
    """Wait for Leaflet to draw the `nth` map; returns its FrameLocator."""
    frame = map_frame(page, nth)
    frame.locator(".leaflet-container .leaflet-overlay-pane").first.wait_for(
        state="attached", timeout=timeout)
    return frame


def open_app(page, server: AppServer, query: str = "") -> None:
    """Open `server` in `page` and wait for the script to finish."""
    page.goto(server.url + "/" + (f"?{query.lstrip('?')}" if query else ""))
    wait_for_app(page)


def assert_offline(log: NetworkLog) -> None:
    """Fail if any request left localhost, listing them."""
    external = log.external()
    assert not external, "Requests left the machine:\n" + "\n".join(external)


# -------------------------------------------------------------------------- sign-in
TEST_PASSWORD = "browser-test-password"


def make_accounts(path, roles=("analyst", "inspector", "partner", "admin")) -> Path:
    """An accounts file with one user per role, ``<role>-user`` / :data:`TEST_PASSWORD`.

    Pass it to the app as ``env={"GEO_ACCOUNTS": str(path), ...}``.
    """
    from geo.auth import AccountStore
    path = Path(path)
    with AccountStore(path) as store:
        for role in roles:
            if store.get(f"{role}-user") is None:
                store.add(f"{role}-user", TEST_PASSWORD, role, ("E08000019",) if role == "inspector" else ())
    return path


def sign_in(page, server: AppServer, username: str, password: str = TEST_PASSWORD, query: str = "") -> None:
    """Open the app and sign in through the form; waits for the first page after sign-in.

    The password box is found by its role: ``get_by_label("Password")`` would also match
    the form's "Show password" button.
    """
    open_app(page, server, query)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Sign out").wait_for()
    wait_for_app(page)


@pytest.fixture(scope="session")
def demo_dashboard(streamlit_app, demo_workspaces, tmp_path_factory) -> AppServer:
    """The dashboard on a private copy of both demo workspaces, one account per role.

    Accounts are ``<role>-user`` with :data:`TEST_PASSWORD` (inspector: Sheffield).
    """
    folder = tmp_path_factory.mktemp("demo-dashboard")
    for p in demo_workspaces.values():
        shutil.copy(p, folder / p.name)
    accounts = make_accounts(folder / "accounts.db")
    return streamlit_app("dashboard/app.py", env={"GEO_WORKSPACES": str(folder), "GEO_ACCOUNTS": str(accounts)})