"""Background warm-up of the Hotspots page's caches (the caches live in :mod:`dashboard.data`), and of
the Area summary's published figures (:func:`published`, its own thread).

After the page has answered, the other methods' default runs for the same selection
are computed in one background thread through the same caches (same keys, so the same scope),
so the first switch to another method finds its result ready. A click on a method that is still
being warmed waits for that computation (Streamlit holds one compute lock per cache key) instead
of starting a second one. One thread at a time; each selection once (a bounded set of keys).
"""
from __future__ import annotations

import logging
import os
import threading

from dashboard import data

logger = logging.getLogger(__name__)

_WARMED: dict = {}
_WARM_LOCK = threading.Lock()
_WARM_THREAD: list = [None]
_WARM_TID: list = [None]  # the running warm-up thread's Linux task id (for hurry)


def hotspots(path: str, version: float, role_key: tuple, layer: str, months: tuple, categories: tuple,
             weighted: bool, jobs: tuple, buffers: tuple, level: str | None) -> bool:
    """Compute the runs, automatic parameters, site exposure and tables of ``jobs`` in a background thread.

    ``jobs``: ``(method, params, word)`` triples as the page would ask for them (``params`` a sorted
    tuple of pairs, ``word`` the table's "hexagon"/"square"/"cluster"). Returns whether a thread was
    started (not when one is still running, or this selection was warmed before). Errors (e.g. too
    few incidents for a method) are left for the page to show when the user picks that method.
    """
    key = (path, version, role_key, layer, months, categories, weighted, buffers)

    def work():
        for method, params, word in jobs:
            try:
                data.hotspot_defaults(path, version, role_key, layer, months, categories, method, weighted)
                data.hotspots(path, version, role_key, layer, months, categories, method, weighted, params)
                data.hotspot_sites(path, version, role_key, layer, months, categories, method, weighted,
                                   params, buffers)
                data.hotspot_table(path, version, role_key, layer, months, categories, method, weighted,
                                   params, buffers, word, level)
            except Exception as err:  # noqa: BLE001 - the page shows it if the user picks this method
                logger.info("warming %s hot spots skipped: %s", method, err)

    return _start(_WARMED, key, work, "geo-warm-hotspots")


def _start(warmed: dict, key: tuple, work, name: str) -> bool:
    """Run ``work()`` in the one warm-up thread at nice 10, unless a warm-up is still running or
    ``key`` was warmed before (``warmed``: a bounded set of keys, the oldest forgotten first)."""
    with _WARM_LOCK:
        busy = _WARM_THREAD[0] is not None and _WARM_THREAD[0].is_alive()
        if busy or key in warmed:
            return False
        warmed[key] = True
        while len(warmed) > 64:
            warmed.pop(next(iter(warmed)))

        def run():
            _WARM_TID[0] = threading.get_native_id()
            try:  # Linux: a thread is a task with its own nice value; the user's own reruns come first
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
            except (AttributeError, OSError):
                pass
            work()

        thread = threading.Thread(target=run, name=name, daemon=True)
        _WARM_THREAD[0], _WARM_TID[0] = thread, None
        thread.start()
        return True


_MAP_WARMED: dict = {}


def map_gistar(path: str, version: float, role_key: tuple, layer: str, months: tuple, categories: tuple,
               weighted: bool) -> bool:
    """Compute the Map page's Gi* layer for its current selection in a background thread.

    The Map page calls ``data.hotspots(path, version, role_key, layer, months, categories, "gistar",
    weighted, ())`` when "Hot spots (Gi*) on the map" is switched on; this makes the same call
    (the same cache key, so the same scope) after the page has answered, so switching the layer on
    finds it ready. Returns whether a thread was started (not while another warm-up runs, nor twice
    for one selection).
    """
    key = (path, version, role_key, layer, tuple(months), tuple(categories), weighted)

    def work():
        try:
            data.hotspots(path, version, role_key, layer, tuple(months), tuple(categories), "gistar", weighted, ())
        except Exception as err:  # noqa: BLE001 - the page shows it if the user switches the layer on
            logger.info("warming the Map page's Gi* layer skipped: %s", err)

    return _start(_MAP_WARMED, key, work, "geo-warm-map-gistar")


def hurry() -> bool:
    """Run a warm-up still under way at the page's own priority: the page is about to ask for its results.

    A rerun that asks for a result the warm-up is computing waits on Streamlit's lock for that cache
    key; at nice 10 on a busy machine the warm-up gets a small share of a core, and the user would
    wait for a low-priority thread. Returns whether the priority was raised (not when no warm-up
    runs, nor where the operating system refuses: lowering a nice value needs ``CAP_SYS_NICE`` or
    ``RLIMIT_NICE``, so on such a server the warm-up stays at nice 10).
    """
    thread, tid = _WARM_THREAD[0], _WARM_TID[0]
    if thread is None or not thread.is_alive() or tid is None:
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, 0))  # the asking thread's own
    except (AttributeError, OSError):
        return False
    return True


_PUB_WARMED: dict = {}
_PUB_LOCK = threading.Lock()
_PUB_THREAD: list = [None]


def published(path: str, version: float, role_key: tuple, threshold: int, quarters: tuple,
              basket_only: bool = True, levels: tuple = ("ward", "neighbourhood")) -> bool:
    """Compute the published base table and its unit tables over ``quarters`` (of its own level and
    ``levels``) in a background thread at nice 10, through the Area summary's caches (same keys, so
    the same scope).

    Started after an import or a harm-weight or settings change (``data.published_in_background``, through
    :func:`area_summary`), so the next Area summary or partner briefing, in any session or server, loads
    the table from the workspace (:func:`geo.services.partner_published` keeps it there per data
    version) instead of building it; and by the Area summary for the levels not shown yet. Its own thread (the
    table is every role's, so it need not wait for the Hotspots or Map warm-up); one at a time, each
    selection once. Returns whether a thread was started.
    """
    key = (path, version, role_key, threshold, tuple(levels), tuple(quarters), basket_only)
    with _PUB_LOCK:
        busy = _PUB_THREAD[0] is not None and _PUB_THREAD[0].is_alive()
        if busy or key in _PUB_WARMED:
            return False
        _PUB_WARMED[key] = True
        while len(_PUB_WARMED) > 64:
            _PUB_WARMED.pop(next(iter(_PUB_WARMED)))

        def run():
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
            except (AttributeError, OSError):
                pass
            try:
                pub = data.partner_published(path, version, threshold, role_key)
                for level in dict.fromkeys((pub.level, *levels)):
                    data.partner_units(path, version, level, tuple(quarters), threshold, basket_only, role_key)
            except Exception as err:  # noqa: BLE001 - the page shows it when the user opens it
                logger.info("warming the published figures skipped: %s", err)

        thread = threading.Thread(target=run, name="geo-warm-published", daemon=True)
        _PUB_THREAD[0] = thread
        thread.start()
        return True


def area_summary(path: str, version: float, info: dict, role_key: tuple) -> bool:
    """:func:`published` for what the Area summary shows first (the last complete quarter, the drug-market
    basket, every level of the workspace)."""
    from geo import disclosure
    from geo.settings import settings
    quarters = disclosure.complete_quarters(info["months"])
    if not quarters:
        return False
    threshold = int(info["settings"].get("suppression_threshold", settings.suppression_threshold))
    levels = tuple(lv for lv in ("ward", "neighbourhood") if lv in info["levels"])
    return published(path, version, role_key, threshold, (quarters[-1],), True, levels)
