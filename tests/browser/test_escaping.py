"""Chromium: hostile names on a map and in Markdown run nothing and fetch nothing (issue 10).

The app (``apps/escaping_app.py``) puts the review's payloads, which all call
``http://127.0.0.1:9``, into every map layer and text element. The test opens every
tooltip and popup the map holds (their HTML is built only when shown), then checks that
no request went to port 9, no dialog opened, no script error was logged, no image came from
the data, and the text reads exactly as the names were given.
"""
from __future__ import annotations

import pytest

from tests.browser.conftest import APPS_DIR, assert_offline, open_app, wait_for_map
from tests.hostile_data import CATEGORY, OPERATION, SITE, WARD, WORKSPACE

# Build every tooltip and popup of every layer (GeoJSON features, clustered markers,
# paths), as Leaflet does when one opens, into a visible sink; return what they say.
OPEN_ALL = """() => {
    const sink = document.createElement('div');
    sink.id = 'geo-test-sink';
    document.body.appendChild(sink);
    let shown = 0;
    const show = (content, layer) => {
        if (typeof content === 'function') {
            if (!layer.feature) return;  // GeoJSON tooltips are built per feature
            content = content(layer);
        }
        const box = document.createElement('div');
        if (typeof content === 'string') box.innerHTML = content;
        else if (content) box.appendChild(content.cloneNode(true));
        sink.appendChild(box);
        shown += 1;
    };
    // one map may sit under two global names (streamlit-folium renames folium's variable)
    const maps = [...new Set(Object.keys(window).map(k => window[k]).filter(v => v instanceof L.Map))];
    for (const map of maps) {
        map.eachLayer(layer => {
            const tip = layer.getTooltip && layer.getTooltip();
            const pop = layer.getPopup && layer.getPopup();
            const kids = layer.getLayers ? layer.getLayers() : [layer];
            for (const kid of kids) {
                if (tip) show(tip._content, kid);
                if (pop) show(pop._content, kid);
                const own = kid !== layer && kid.getTooltip && kid.getTooltip();
                if (own) show(own._content, kid);
            }
        });
    }
    return {maps: maps.length, shown: shown, text: sink.innerText,
            images: document.querySelectorAll('img').length};
}"""


@pytest.fixture(scope="session")
def escaping_app(streamlit_app):
    return streamlit_app(APPS_DIR / "escaping_app.py")


def test_hostile_names_run_nothing_and_fetch_nothing(page, network_log, escaping_app):
    dialogs, errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))

    open_app(page, escaping_app)
    frame_locator = wait_for_map(page)
    frame = next(f for f in page.frames if f is not page.main_frame
                 and f.evaluate("() => typeof L !== 'undefined' && !!document.querySelector('.leaflet-container')"))
    result = frame.evaluate(OPEN_ALL)
    page.wait_for_timeout(500)  # let any <img onerror> / fetch fire (not a timed assertion)

    hits = [u for u in network_log.requests + network_log.failed if "127.0.0.1:9/" in u]
    assert not hits, f"the payload fetched: {hits}"
    assert not dialogs, dialogs
    assert not [e for e in errors if "127.0.0.1:9" in e or "SyntaxError" in e or "ReferenceError" in e], errors
    assert result["maps"] == 1 and result["shown"] >= 30, result
    assert result["images"] == 0, "an <img> from the data reached the map"
    # The names read exactly as given: escaped, not mangled and not double-escaped.
    for name in (SITE, WARD, OPERATION, CATEGORY):
        assert name in result["text"], name
    assert f"224 m: displacement towards a pharmacy ({SITE}, 224 m)" in result["text"]
    control = frame_locator.locator(".leaflet-control-layers-overlays").inner_text()
    assert f"Harm by {WARD}" in control and f"Operation {OPERATION}" in control
    legends = "\n".join(frame_locator.locator(".geo-legend").all_inner_texts())
    assert f"Results {SITE}" in legends and f"Possible displacement near {SITE}" in legends

    # Markdown: the title, caption, alert and metric label show the text, fetch no image.
    main = page.locator("[data-testid='stMain']")
    assert page.locator("h1").first.inner_text().strip() == f"Map · {WORKSPACE}"
    assert main.locator("img").count() == 0
    assert f"{CATEGORY}, {OPERATION}." in main.locator("[data-testid='stAlert']").inner_text()
    assert f"Harm near {SITE}" in main.locator("[data-testid='stMetricLabel']").inner_text()
    assert "x`y.gpkg" in main.locator("code").first.inner_text()

    assert_offline(network_log)


# ------------------------------------------------------------------ the real dashboard
@pytest.fixture(scope="session")
def hostile_dashboard(streamlit_app, demo_workspaces, tmp_path_factory):
    """The dashboard on a demo workspace whose names carry the attacks (``tests/hostile_data.py``)."""
    from tests.browser.conftest import make_accounts
    from tests.hostile_data import make_hostile_workspace

    folder = tmp_path_factory.mktemp("hostile-dashboard")
    make_hostile_workspace(demo_workspaces["south-yorkshire"], folder)
    accounts = make_accounts(folder / "accounts.db", roles=("analyst",))
    return streamlit_app("dashboard/app.py", env={"GEO_WORKSPACES": str(folder), "GEO_ACCOUNTS": str(accounts)})


def _leaflet_frame(page):
    return next(f for f in page.frames if f is not page.main_frame
                and f.evaluate("() => typeof L !== 'undefined' && !!document.querySelector('.leaflet-container')"))


def test_dashboard_pages_with_hostile_names_run_nothing(page, network_log, hostile_dashboard):
    """Map, Harm weights and the Operations results (the review's stored-XSS route) on the real app."""
    from tests.browser.conftest import sign_in, wait_for_app

    dialogs, errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda err: errors.append(str(err)))
    sign_in(page, hostile_dashboard, "analyst-user")

    # Map page: the workspace name in the title reads as given and fetches no image.
    assert page.locator("h1").first.inner_text().strip() == f"Map · {WORKSPACE}"
    wait_for_map(page)
    shown = _leaflet_frame(page).evaluate(OPEN_ALL)
    assert SITE in shown["text"] and WARD in shown["text"] and shown["images"] == 0

    # Harm weights: the hostile category is listed as text.
    page.get_by_test_id("stSidebarNav").get_by_text("Harm weights", exact=True).click()
    wait_for_app(page)
    assert CATEGORY in page.get_by_test_id("stAlert").filter(has_text="have no weight").inner_text()

    # Operations: the results of the operation next to the hostile site.
    page.get_by_test_id("stSidebarNav").get_by_text("Operations", exact=True).click()
    wait_for_app(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Analyse operation").click()
    page.get_by_role("option", name=OPERATION).click()
    wait_for_app(page)
    page.get_by_text(f"{OPERATION}: before Feb 2025").wait_for(timeout=120_000)
    wait_for_app(page)
    wait_for_map(page)
    shown = _leaflet_frame(page).evaluate(OPEN_ALL)
    assert SITE in shown["text"]  # the school in the catchment, named with the payload, reads as text
    assert shown["images"] == 0
    page.wait_for_timeout(500)  # let any <img onerror> / fetch fire (not a timed assertion)

    hits = [u for u in network_log.requests + network_log.failed if "127.0.0.1:9/" in u]
    assert not hits, f"the payload fetched: {hits}"
    assert not dialogs, dialogs
    assert not [e for e in errors if "127.0.0.1:9" in e or "SyntaxError" in e], errors
    assert page.locator("img[src*='127.0.0.1']").count() == 0
    assert_offline(network_log)
