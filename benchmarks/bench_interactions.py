"""How long the dashboard's interactions take in a real browser (``make bench``).

Starts ``streamlit run dashboard/app.py`` headless on a private copy of the South
Yorkshire demo (18 months), signs in through the form as the demo users in a headless
Chromium (Debian's ``/usr/bin/chromium`` through Playwright, as the browser tests do), and
times each interaction from the click until the page has settled: the script has
finished (``data-test-script-state='notRunning'``), no spinner is left and, on map pages,
the Leaflet map is drawn in its frame. Each interaction is repeated ``--repeat`` times
(alternating between two states, e.g. Harm and Count); p50 and p95 are reported against
the 1.5 s target.

Interactions: Map (analyst): Harm <-> Count, crime type, one month-slider step, the hot
spot layer; Map (inspector): Harm <-> Count; Hotspots: each method; Area summary: level (with
``--only areas`` also a partner's sign-in onto the Area summary after a server restart: the published
table kept in the workspace is loaded).
The first visit of each page is timed separately (caches cold); the interactions after
it are what a user feels every time (the first of each pair also fills its cache).

Each timed row also prints the median bytes the browser received over Streamlit's websocket per interaction.

Results analysis (``--only results``, target 5 s): the analyst opens Operations, picks each
demo operation in "Analyse operation" and waits until the verdict and the results map are
drawn ("verdict": the page shows the verdict stage, the supporting sections may still be computing)
and until the whole analysis is on the page ("everything"); then the other operation and back again;
then the same after a server restart on the same workspace (the finished analyses are kept in it: loaded, not computed).
The copy holds each demo operation's default analysis, as a workspace does after an import or an operation's save
(the dashboard computes them in the background then; ``python -m geo demo`` keeps them in a new demo), so the
first analysis loads it; ``--computed-analyses`` keeps none (as after a change of the analysis code: computed
while the user waits). Partner briefing (``--only briefing``,
target 5 s): a partner signs in, opens Briefings, presses "Prepare briefing" for a BCU and
waits until the briefing and its PDF/HTML downloads are on the page; then a ward.

Usage: ``python benchmarks/bench_interactions.py [--quick] [--repeat N] [--only hotspots|areas|map|results|briefing]``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "bench-password-1234"
TARGET_S = 1.5
SLOW_TARGET_S = 5.0  # results analysis and the partner briefing
TIMEOUT_MS = 120_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(folder: Path, accounts: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GEO_WORKSPACES": str(folder), "GEO_ACCOUNTS": str(accounts), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--server.enableStaticServing", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("streamlit did not start")


#: Timed actions after which no run of the script was seen (the click changed nothing: a benchmark bug).
NO_RUN: list[str] = []


def settle(page, *, map_page: bool) -> bool:
    """Wait until the script has finished, no spinner shows and (map pages) the map is drawn.

    Returns whether a run was seen starting (a click that changes no widget starts none, and then
    1.5 s of waiting for it are in the time)."""
    ran = True
    try:  # the run may start a moment after the click (or finish before we look)
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='running']", state="attached",
                               timeout=1_500)
    except Exception:
        ran = False
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", state="attached",
                           timeout=TIMEOUT_MS)
    page.wait_for_selector("[data-testid='stSpinner']", state="detached", timeout=TIMEOUT_MS)
    if map_page:
        frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]').first
        frame.locator(".leaflet-container .leaflet-overlay-pane").first.wait_for(state="attached",
                                                                                timeout=TIMEOUT_MS)
        frame.locator(".leaflet-container").first.evaluate(
            "el => new Promise(r => el.ownerDocument.defaultView.requestAnimationFrame(() => r()))")
    return ran


#: Bytes the browser received over Streamlit's websocket (the page's updates), per page.
RECEIVED: dict = {}


def count_bytes(page) -> None:
    """Count the bytes of every websocket frame ``page`` receives into ``RECEIVED[page]``."""
    RECEIVED[page] = 0

    def on_ws(ws):
        def on_frame(payload):
            RECEIVED[page] = RECEIVED.get(page, 0) + len(payload)
        ws.on("framereceived", on_frame)
    page.on("websocket", on_ws)


def timed(page, action, *, map_page: bool = True) -> float:
    t = time.perf_counter()
    action()
    if not settle(page, map_page=map_page):
        NO_RUN.append(getattr(action, "__name__", "action"))
    return time.perf_counter() - t


def sign_in(page, url: str, user: str, *, map_page: bool = True) -> float:
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(user)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    t = time.perf_counter()
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Sign out").wait_for(timeout=TIMEOUT_MS)
    settle(page, map_page=map_page)
    return time.perf_counter() - t


def go_to(page, title: str, *, map_page: bool = True) -> float:
    return timed(page, lambda: page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click(),
                 map_page=map_page)


def radio(page, key_label: str, option: str):
    return lambda: page.get_by_test_id("stRadio").filter(has_text=key_label).get_by_text(option, exact=True).click()


def crime_type(page, option: str | None):
    def act():
        box = page.get_by_test_id("stMultiSelect").filter(has_text="Crime types")
        if option is None:  # remove the chosen type again
            box.get_by_role("combobox").click()
            page.keyboard.press("Backspace")
            page.keyboard.press("Escape")
        else:
            box.get_by_role("combobox").click()
            page.get_by_role("option", name=option, exact=True).click()
            page.keyboard.press("Escape")
    return act


def month_step(page, key: str):
    def act():
        thumbs = page.get_by_test_id("stSlider").filter(has_text="Months").get_by_role("slider")
        thumbs.last.focus()
        page.keyboard.press(key)
    return act


def toggle(page, label: str):
    return lambda: page.get_by_test_id("stCheckbox").filter(has_text=label).locator("label").first.click()


def method(page, name: str):
    def act():
        page.get_by_test_id("stSelectbox").filter(has_text="Method").click()
        page.get_by_role("option", name=name, exact=True).click()
    return act


def analyse_op(page, name: str):
    """Pick operation ``name`` under "Analyse operation"; settled once its verdict and results map are drawn
    (the supporting sections may still be computing: :func:`whole_analysis`)."""
    def act():
        page.get_by_test_id("stSelectbox").filter(has_text="Analyse operation").click()
        page.get_by_role("option", name=name, exact=True).click()
        page.get_by_text(f"{name}: before ").wait_for(timeout=TIMEOUT_MS)
        page.get_by_text("Harm: drug-market harm in the target").first.wait_for(timeout=TIMEOUT_MS)
    return act


def whole_analysis(page) -> None:
    """Wait until the page shows the whole analysis: no "still computing" note left, and the sections
    that come after the verdict (buffer-width sensitivity, checks) drawn."""
    page.get_by_text("Still computing").first.wait_for(state="detached", timeout=TIMEOUT_MS)
    page.get_by_text("Sensitivity: the buffer reading against its width").first.wait_for(timeout=TIMEOUT_MS)
    # the page's last run has drawn them: wait for it to end (not for a new run to start, as settle does)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", state="attached",
                           timeout=TIMEOUT_MS)
    page.wait_for_selector("[data-testid='stSpinner']", state="detached", timeout=TIMEOUT_MS)


def prepare_briefing(page, kind: str | None = None):
    """Press "Prepare briefing" (after choosing the area ``kind``: "BCU" or "Ward"); settled once the
    briefing and its PDF download are on the page."""
    def act():
        if kind is not None:
            page.get_by_test_id("stRadio").filter(has_text="Area").get_by_text(kind, exact=True).click()
            settle(page, map_page=False)
        page.get_by_role("button", name="Prepare briefing").click()
        page.get_by_role("button", name="Download PDF").wait_for(timeout=TIMEOUT_MS)
        page.frame_locator("iframe").first.locator("body").first.wait_for(state="attached", timeout=TIMEOUT_MS)
    return act


def restart(browser, ctx, proc, tmp):
    """A new server on the same workspace copy, and a new browser context and page (bytes counted):
    what a workspace keeps (analyses, the published table) is then loaded, not computed."""
    ctx.close()
    proc.terminate()
    proc.wait(timeout=20)
    proc, url = start_app(tmp, tmp / "accounts.db")
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    count_bytes(page)
    return proc, url, ctx, page


def bench_results(page, run, results: dict, *, label: str = "") -> None:
    """Operations: open the page, then analyse each demo operation in turn and back again
    (``label`` is appended to each row's name)."""
    results[f"Operations: open{label}"] = [go_to(page, "Operations", map_page=False)]
    print(f"  {'Operations: open' + label:<42} {results[f'Operations: open{label}'][0]:6.2f} s", flush=True)
    box = page.get_by_test_id("stSelectbox").filter(has_text="Analyse operation")
    box.click()
    names = [o.inner_text().strip() for o in page.get_by_role("option").all()]
    page.keyboard.press("Escape")
    demo = [n for n in names if "(demo)" in n] or names
    if not demo:
        print("  (no operation to analyse)")
        return
    first, whole = [], []   # each operation once: what a first look costs, to the verdict and to everything
    for n in demo:
        t = time.perf_counter()
        first.append(timed(page, analyse_op(page, n)))
        whole_analysis(page)   # at once if the page already shows it all (a stored analysis)
        whole.append(time.perf_counter() - t)
    results[f"Results: first analysis, verdict{label}"] = first
    results[f"Results: first analysis, everything{label}"] = whole
    for row, times in (("verdict", first), ("everything", whole)):
        print(f"  {'Results: first analysis, ' + row + label:<42} " + ", ".join(f"{t:.2f}" for t in times),
              flush=True)
    run(f"Results: switch operation (reopen){label}", [analyse_op(page, n) for n in reversed(demo)]
        if len(demo) > 1 else [analyse_op(page, demo[0])])


def bench_briefing(page, url: str, run, results: dict) -> None:
    """A partner signs in, opens Briefings and prepares a BCU briefing, then a ward's, and again."""
    results["Sign in (partner), cold"] = [sign_in(page, url, "bench-partner", map_page=False)]
    print(f"  {'Sign in (partner), cold':<42} {results['Sign in (partner), cold'][0]:6.2f} s", flush=True)
    results["Briefings: open"] = [go_to(page, "Briefings", map_page=False)]
    print(f"  {'Briefings: open':<42} {results['Briefings: open'][0]:6.2f} s", flush=True)
    first = [timed(page, prepare_briefing(page), map_page=False),
             timed(page, prepare_briefing(page, "Ward"), map_page=False)]
    results["Briefing (partner): first BCU, first ward"] = first
    print(f"  {'Briefing (partner): first BCU, first ward':<42} " + ", ".join(f"{t:.2f}" for t in first),
          flush=True)
    run("Briefing (partner): BCU <-> ward again", [prepare_briefing(page, "BCU"), prepare_briefing(page, "Ward")],
        map_page=False)


def pct(values: list[float], q: float) -> float:
    import numpy as np
    return float(np.percentile(values, q)) if values else float("nan")


def keep_default_runs(path: Path, accounts: Path, *, analyses: bool = True) -> None:
    """The Hotspots page's default runs kept in the workspace copy for every scope, the Map's whole-force
    incidents frame, the partners' published table and (``analyses``) each operation's default results
    analysis, signed with the benchmark server's secret (beside ``accounts``), as ``python -m geo demo`` keeps
    them in a new demo and a server keeps them after an import (:mod:`geo.stored_hotspots`, :mod:`geo.stored_frames`,
    :mod:`geo.stored_results`). Untimed."""
    from geo import access, services
    t = time.perf_counter()
    old = {k: os.environ.pop(k, None) for k in ("GEO_ACCOUNTS", "GEO_SESSION_KEY_FILE")}
    os.environ["GEO_ACCOUNTS"] = str(accounts)
    try:
        with services.opened(path) as ws:
            codes = list(ws.bcus()["code"].astype(str))
        frame = sum(bool(run()) for _, run in services.incidents_frame_steps(path))
        n = sum(services.keep_hotspot_defaults(path, user=scope) for scope in access.stored_scopes(codes))
        ops = [run() for _, run in (services.analysis_default_steps(path) if analyses else [])]
        services.partner_published(path, user=("partner", ()))  # the Area summary's and briefings' table
    finally:
        for k, v in old.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v
    print(f"Kept {n} default hot-spot runs{' and the incidents frame' if frame else ''}"
          f"{f', {len(ops)} results analyses' if ops else ''} and the published table in the copy "
          f"({time.perf_counter() - t:.0f} s, untimed)", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 repeats, no HDBSCAN")
    ap.add_argument("--repeat", type=int, default=None, help="repeats of each interaction (default 6)")
    ap.add_argument("--only", choices=("hotspots", "areas", "map", "results", "briefing"), default=None,
                    help="time only these interactions: 'hotspots' (Hotspots page), 'areas' (Area summary), "
                         "'map' (Map page, analyst and inspector), 'results' (results analysis of the demo "
                         "operations), 'briefing' (a partner's briefing)")
    ap.add_argument("--no-kept", action="store_true",
                    help="do not keep the Hotspots page's default runs in the workspace copy before the server "
                         "starts (as a workspace imported before they existed; a fresh server computes them)")
    ap.add_argument("--computed-analyses", action="store_true",
                    help="keep no results analysis in the workspace copy (as after a change of the analysis code: "
                         "the first analysis of each operation is computed while the user waits)")
    args = ap.parse_args(argv)
    repeat = args.repeat or (2 if args.quick else 6)
    if not CHROMIUM.is_file():
        print(f"SKIP: no Chromium at {CHROMIUM} (apt-get install chromium)")
        return 0
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("SKIP: playwright is not installed (pip install -e .[bench])")
        return 0
    from geo.auth import AccountStore
    from geo.demo import ensure_demo_workspaces

    tmp = Path(tempfile.mkdtemp(prefix="bench-interactions-"))
    sy, _ = ensure_demo_workspaces(ROOT / "workspaces", progress=lambda s: None)
    shutil.copy(sy, tmp / sy.name)
    with AccountStore(tmp / "accounts.db") as store:
        store.add("bench-analyst", PASSWORD, "analyst", ())
        store.add("bench-inspector", PASSWORD, "inspector", ("E08000019",))
        store.add("bench-partner", PASSWORD, "partner", ())
    if not args.no_kept:
        keep_default_runs(tmp / sy.name, tmp / "accounts.db", analyses=not args.computed_analyses)
    proc, url = start_app(tmp, tmp / "accounts.db")
    results: dict[str, list[float]] = {}

    def run(name: str, actions: list, *, map_page: bool = True) -> None:
        times, sent = [], []
        NO_RUN.clear()
        for i in range(repeat):
            before = RECEIVED.get(page, 0)
            times.append(timed(page, actions[i % len(actions)], map_page=map_page))
            sent.append(RECEIVED.get(page, 0) - before)
        results[name] = times
        print(f"  {name:<42} p50 {pct(times, 50):6.2f} s   p95 {pct(times, 95):6.2f} s   "
              f"({', '.join(f'{t:.2f}' for t in times)}; median {pct(sent, 50) / 1e6:.2f} MB received)"
              + (f"  WARNING: {len(NO_RUN)} of {repeat} started no run" if NO_RUN else ""),
              flush=True)

    def inspector(browser, results, label: str = ", cold") -> None:
        nonlocal page
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        ctx.set_default_timeout(TIMEOUT_MS)
        page = ctx.new_page()
        count_bytes(page)
        results[f"Sign in (inspector) -> Map{label}"] = [sign_in(page, url, "bench-inspector")]
        if label != ", cold":
            return
        run("Map (inspector): Harm <-> Count", [radio(page, "Show", "Count"), radio(page, "Show", "Harm")])
        ctx.close()

    page = None
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            ctx.set_default_timeout(TIMEOUT_MS)
            page = ctx.new_page()
            count_bytes(page)
            print(f"South Yorkshire demo, {repeat} repeats per interaction; target p95 < {TARGET_S} s "
                  f"(results analysis and briefings < {SLOW_TARGET_S} s)")
            if args.only in ("results", "briefing"):
                if args.only == "results":
                    results["Sign in (analyst) -> Map, cold"] = [sign_in(page, url, "bench-analyst")]
                    bench_results(page, run, results)
                    # a new server on the same workspace: the analyses kept in it are loaded, not computed
                    proc, url, ctx, page = restart(browser, ctx, proc, tmp)
                    results["Sign in (analyst) -> Map, new server"] = [sign_in(page, url, "bench-analyst")]
                    bench_results(page, run, results, label=", new server")
                else:
                    bench_briefing(page, url, run, results)
                browser.close()
                return report(results)
            results["Sign in (analyst) -> Map, cold"] = [sign_in(page, url, "bench-analyst")]
            print(f"  {'Sign in (analyst) -> Map, cold':<42} {results['Sign in (analyst) -> Map, cold'][0]:6.2f} s")
            if args.only in (None, "map"):
                run("Map: Harm <-> Count", [radio(page, "Show", "Count"), radio(page, "Show", "Harm")])
                run("Map: crime type (Robbery / all)", [crime_type(page, "Robbery"), crime_type(page, None)])
                run("Map: month slider step", [month_step(page, "ArrowLeft"), month_step(page, "ArrowRight")])
                run("Map: hot spot layer on / off",
                    [toggle(page, "Hot spots (Gi*)"), toggle(page, "Hot spots (Gi*)")])
            if args.only == "map":
                inspector(browser, results)
                # a new server on the same workspace: the incidents frame kept in it is loaded, not read (the
                # server keeps it once nobody's page has run for 3 s, dashboard/warm.py LATER_SETTLE_S: a pause)
                time.sleep(8)
                proc, url, ctx, page = restart(browser, ctx, proc, tmp)
                results["Sign in (analyst) -> Map, new server"] = [sign_in(page, url, "bench-analyst")]
                print(f"  {'Sign in (analyst) -> Map, new server':<42} "
                      f"{results['Sign in (analyst) -> Map, new server'][0]:6.2f} s", flush=True)
                ctx.close()
                inspector(browser, results, label=", new server")
                browser.close()
                return report(results)
            if args.only in (None, "hotspots"):
                results["Hotspots: open, cold"] = [go_to(page, "Hotspots")]
                print(f"  {'Hotspots: open, cold':<42} {results['Hotspots: open, cold'][0]:6.2f} s")
                from geo.hotspot_runs import METHODS
                gi = METHODS["gistar"]
                for key in ("kde", "dbscan", "emerging") + (() if args.quick else ("hdbscan",)):
                    run(f"Hotspots: {gi} <-> {METHODS[key]}", [method(page, METHODS[key]), method(page, gi)])
            if args.only == "hotspots":
                browser.close()
                return report(results)
            results["Area summary: open, cold"] = [go_to(page, "Area summary")]
            print(f"  {'Area summary: open, cold':<42} {results['Area summary: open, cold'][0]:6.2f} s")
            # the options only (not the widget's own label "Areas": clicking it changes nothing)
            levels = page.get_by_test_id("stRadio").filter(has_text="Areas").get_by_test_id("stRadioOption")
            options = [levels.nth(i).inner_text().strip() for i in range(levels.count())]
            if len(options) >= 2:
                run("Area summary: level change", [radio(page, "Areas", options[1]), radio(page, "Areas", options[0])])
            if args.only == "areas":
                # a new server on the same workspace: the published table kept in it is loaded, not built
                proc, url, ctx, page = restart(browser, ctx, proc, tmp)
                results["Sign in (partner) -> Area summary, new server"] = [sign_in(page, url, "bench-partner")]
                print(f"  {'Sign in (partner) -> Area summary, new server':<42} "
                      f"{results['Sign in (partner) -> Area summary, new server'][0]:6.2f} s", flush=True)
                browser.close()
                return report(results)
            ctx.close()
            inspector(browser, results)
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            ctx.set_default_timeout(TIMEOUT_MS)
            page = ctx.new_page()
            count_bytes(page)
            results["Sign in (analyst, again) -> Map"] = [sign_in(page, url, "bench-analyst")]
            bench_results(page, run, results)
            ctx.close()
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            ctx.set_default_timeout(TIMEOUT_MS)
            page = ctx.new_page()
            count_bytes(page)
            bench_briefing(page, url, run, results)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)

    return report(results)


def report(results: dict[str, list[float]]) -> int:
    """Print the p50/p95 table (markdown) of ``results``; 0."""
    print(f"\n| interaction | n | p50 (s) | p95 (s) | < {TARGET_S} s p95 |")
    print("|---|---:|---:|---:|---|")
    for name, times in results.items():
        cold = len(times) == 1
        target = SLOW_TARGET_S if name.startswith(("Results", "Briefing (")) else TARGET_S
        verdict = "(first visit)" if cold else (f"{'PASS' if pct(times, 95) < target else 'MISS'}"
                                                 f"{'' if target == TARGET_S else f' (< {target:g} s)'}")
        print(f"| {name} | {len(times)} | {pct(times, 50):.2f} | {pct(times, 95):.2f} | {verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
