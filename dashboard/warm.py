"""Background warm-up of the Hotspots page's caches (the caches live in :mod:`dashboard.data`), and of
the Area summary's published figures (:func:`published`, its own thread).

After the page has answered, the other methods' default runs for the same selection
are computed in one background thread through the same caches (same keys, so the same scope),
so the first switch to another method finds its result ready. A click on a method that is still
being warmed waits for that computation (Streamlit holds one compute lock per cache key) instead
of starting a second one. One thread at a time (a second warm-up queues behind the first); each
selection once (a bounded set of keys).

The warm-up gives way to the users: it is a list of short steps, and before each step it waits
until no page or fragment run of any session has been under way for :data:`SETTLE_S` seconds
(:data:`user_run` counts them; ``app.py`` and the pages' fragments enter it). So it starts after
the first paint has been sent, and a user's click is never computed beside it for longer than
the step that had already started.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sys
import threading
import time

from dashboard import data

logger = logging.getLogger(__name__)

#: Seconds without any user run before the warm-up takes its next step (``GEO_WARM_SETTLE_S`` overrides,
#: for benchmarks).
SETTLE_S = float(os.environ.get("GEO_WARM_SETTLE_S", "1.0"))
#: The Map page's Gi* warm-up starts this soon after its first paint: the browser is still drawing that
#: map (a second or more), so the import and the Gi* run are mostly done before the first click.
MAP_SETTLE_S = 0.3
#: Quiet before a :func:`later` step (a write of tens of MB: not between two quick clicks).
LATER_SETTLE_S = 3.0
#: The longest a step waits for the users (a busy server still warms, later).
MAX_WAIT_S = 30.0

_WARMED: dict = {}
_WARM_LOCK = threading.Lock()
_WARM_THREAD: list = [None]
_WARM_TID: list = [None]  # the running warm-up thread's Linux task id (for hurry)

_RUNS_LOCK = threading.Lock()
_RUNS = [0, 0.0]  # user runs under way, monotonic time the last one ended


class _UserRun(contextlib.ContextDecorator):
    """A user's page or fragment run is under way (nests; shared by every session of the server)."""

    def __enter__(self):
        with _RUNS_LOCK:
            _RUNS[0] += 1
        # a step already under way cannot be stopped; at nice 10 on a busy machine it would hold the
        # GIL while waiting for a core, and the user's run would wait for it: it finishes at full priority
        hurry()
        return self

    def __exit__(self, *exc):
        with _RUNS_LOCK:
            _RUNS[0] -= 1
            _RUNS[1] = time.monotonic()
        return False


#: ``with warm.user_run:`` around a page's run (``app.py``), ``@warm.user_run`` under a page's
#: ``@st.fragment``: the warm-up waits while any is under way.
user_run = _UserRun()


def wait_idle(*, settle: float | None = None, limit: float | None = None) -> bool:
    """Block until no user run has been under way for ``settle`` seconds (default :data:`SETTLE_S`).

    Returns whether that happened within ``limit`` seconds (default :data:`MAX_WAIT_S`); after
    that the caller goes on anyway (a server never idle still warms, at nice 10).
    """
    settle = SETTLE_S if settle is None else settle
    deadline = time.monotonic() + (MAX_WAIT_S if limit is None else limit)
    while True:
        with _RUNS_LOCK:
            busy, quiet = _RUNS[0] > 0, time.monotonic() - _RUNS[1]
        if not busy and quiet >= settle:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def quiet_since(since: float) -> bool:
    """Whether no user run is under way and one has ended after ``since`` (a ``time.monotonic()``):
    a page has drawn what it waited for (:class:`dashboard.analyses.Analyses` queues on it)."""
    with _RUNS_LOCK:
        return _RUNS[0] == 0 and _RUNS[1] > since


def order(method: str, methods) -> tuple:
    """The other methods in the order the page lists them, starting after ``method`` (the next
    one down the list is the likeliest next pick) and wrapping round."""
    methods = list(methods)
    i = methods.index(method) if method in methods else -1
    return tuple(m for m in methods[i + 1:] + methods[:i + 1] if m != method)


def hotspots(path: str, version: float, role_key: tuple, layer: str, months: tuple, categories: tuple,
             weighted: bool, jobs: tuple, buffers: tuple, level: str | None) -> bool:
    """Compute the runs, automatic parameters, site exposure and tables of ``jobs`` in a background thread.

    ``jobs``: ``(method, params, word)`` triples as the page would ask for them (``params`` a sorted
    tuple of pairs, ``word`` the table's "hexagon"/"square"/"cluster"), the likeliest next first.
    The costly part of every method (automatic parameters and run) comes first, in ``jobs`` order,
    with the site exposure shared by every method after the first run; then each method's hot-spot
    sites and table (cheap given the exposure). scikit-learn (about 1 s to import, needed by DBSCAN
    and HDBSCAN only) is imported first when a job needs it. A job whose run is kept in the workspace
    (:mod:`geo.stored_hotspots`, the page's default selection) is only loaded into the caches: neither
    scikit-learn nor the selection's site exposure is made for it. Returns whether the steps were taken on
    (not when this selection was warmed before). Errors (e.g. too few incidents for a method) are
    left for the page to show when the user picks that method.
    """
    from dashboard.data_hotspots import kept_run
    key = (path, version, role_key, layer, months, categories, weighted, buffers)
    sel = (path, version, role_key, layer, months, categories)

    def computed(methods) -> bool:  # some of these methods' runs are not kept (geo.stored_hotspots): computed
        return any(not kept_run(*sel, m, weighted, p, buffers) for m, p, _ in jobs if m in methods)
    steps: list = []
    if any(m in ("dbscan", "hdbscan") for m, _, _ in jobs) and "sklearn.cluster" not in sys.modules:
        steps.append(("import scikit-learn", lambda: computed(("dbscan", "hdbscan")) and __import__("sklearn.cluster")))
    for i, (method, params, _) in enumerate(jobs):
        steps.append((f"{method} run", lambda m=method, p=params: (data.hotspot_defaults(*sel, m, weighted),
                                                                    data.hotspots(*sel, m, weighted, p))))
        if i == 0:
            steps.append(("site exposure", lambda: computed({m for m, _, _ in jobs})
                          and data.site_exposure_base(*sel, buffers)))
    for method, params, word in jobs:
        steps.append((f"{method} sites and table", lambda m=method, p=params, w=word: (
            data.hotspot_sites(*sel, m, weighted, p, buffers),
            data.hotspot_table(*sel, m, weighted, p, buffers, w, level))))
    return _start(_WARMED, key, steps, "geo-warm-hotspots")


def _start(warmed: dict, key: tuple, steps: list, name: str, *, last: bool = False) -> bool:
    """Run ``steps`` (``(what, callable)`` pairs) in the one warm-up thread at nice 10, each after
    :func:`wait_idle`, unless ``key`` was warmed before (``warmed``: a bounded set of keys, the oldest
    forgotten first). While a warm-up is under way the steps queue behind it (the same thread takes
    them next; ``last``: after every other step, even one queued later). A step ``(what, callable,
    settle)`` waits ``settle`` seconds of quiet instead of :data:`SETTLE_S`. A step that fails is logged
    and skipped. Returns whether the steps were taken on."""
    with _WARM_LOCK:
        if key in warmed:
            return False
        warmed[key] = True
        while len(warmed) > 64:
            warmed.pop(next(iter(warmed)))
        (_LAST if last else _PENDING).extend(steps)
        if _WARM_THREAD[0] is not None and _WARM_THREAD[0].is_alive():
            return True  # queued: the running thread takes them
        thread = threading.Thread(target=_work, name=name, daemon=True)
        _WARM_THREAD[0], _WARM_TID[0] = thread, None
        thread.start()
        return True


_PENDING: list = []  # steps waiting for the warm-up thread
_LAST: list = []  # steps taken after every pending one (writes that no page waits for)


def _work() -> None:
    """The warm-up thread: every pending step in turn, each once no user's run is under way."""
    _WARM_TID[0] = threading.get_native_id()
    while True:
        with _WARM_LOCK:
            if not _PENDING and not _LAST:
                _WARM_THREAD[0] = None  # under the lock: a new request starts a new thread
                return
        deadline = time.monotonic() + MAX_WAIT_S
        while True:  # a step queued meanwhile may come first (``_LAST`` waits for every other step)
            with _WARM_LOCK:
                head = (_PENDING or _LAST)[0]
            if wait_idle(settle=head[2] if len(head) > 2 else None, limit=0.2) or time.monotonic() >= deadline:
                break
        with _WARM_LOCK:
            if (_PENDING or _LAST)[0] is not head:
                continue
            what, step, *_ = (_PENDING or _LAST).pop(0)
        try:  # Linux: a thread is a task with its own nice value; the users' runs come first
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # again after a hurry()
        except (AttributeError, OSError):
            pass
        try:
            step()
        except Exception as err:  # noqa: BLE001 - the page shows it if the user asks for it
            logger.info("warming %s skipped: %s", what, err)


def kept_hotspots(path) -> bool:
    """Keep the Hotspots page's default runs of the workspace at ``path`` in the workspace, for every
    scope (:func:`geo.access.stored_scopes`), where they are missing (:func:`geo.services.hotspot_default_steps`).

    Called at every page run (first server start: once per data version, through the bounded set of
    keys) and after an import or a harm-weight or settings change (``data.published_in_background``),
    so the first switch to a method, in any later session or server, loads its result. The steps go
    through the one warm-up thread, each after :func:`wait_idle` and after every warm-up a page may be
    waiting for (queued last, like :func:`later`): the whole force first, method by method, then each BCU. Storing a result changes no data (``data.same_data``: the caches keep their
    version). Returns whether the steps were taken on.
    """
    if not path or os.environ.get(KEEP_ENV, "1") == "0":
        return False
    path = str(path)
    version = data.version(path)
    if not version:
        return False

    def plan():
        from geo import services
        try:
            saved = lambda b, a: data.same_data(path, b, a)  # noqa: E731
            steps = services.incidents_frame_steps(path, on_saved=saved) + \
                services.hotspot_default_steps_all(path, on_saved=saved)
        except Exception as err:  # noqa: BLE001 - e.g. no boundaries yet: nothing to keep
            logger.info("keeping the Hotspots page's default runs skipped: %s", err)
            return
        with _WARM_LOCK:  # behind every warm-up a page may be waiting for (``_LAST``)
            _LAST.extend(steps)

    return _start(_KEPT_WARMED, (path, version), [("plan the kept Hotspots runs", plan)], "geo-warm-kept-hotspots",
                  last=True)


_KEPT_WARMED: dict = {}
#: ``GEO_KEEP_HOTSPOTS=0``: :func:`kept_hotspots` does nothing (the tests' default: an app test would
#: otherwise start a minute of background computation on its workspace copy).
KEEP_ENV = "GEO_KEEP_HOTSPOTS"


_MAP_WARMED: dict = {}


def map_gistar(path: str, version: float, role_key: tuple, layer: str, months: tuple, categories: tuple,
               weighted: bool) -> bool:
    """Compute the Map page's Gi* layer for its current selection in a background thread.

    The Map page calls ``data.hotspots(path, version, role_key, layer, months, categories, "gistar",
    weighted, ())`` when "Hot spots (Gi*) on the map" is switched on; this makes the same call
    (the same cache key, so the same scope) once no user's run has been under way for
    :data:`MAP_SETTLE_S` (after the first paint, while the browser draws it; never beside a click),
    importing :mod:`geo.hotspot_runs` first if the page has not, so switching the layer on finds
    it ready. Returns whether it was taken on (not twice for one selection).
    """
    key = (path, version, role_key, layer, tuple(months), tuple(categories), weighted)
    steps = [("the Map page's Gi* layer",
              lambda: data.hotspots(path, version, role_key, layer, tuple(months), tuple(categories), "gistar",
                                    weighted, ()), MAP_SETTLE_S)]
    if "geo.hotspot_runs" not in sys.modules:  # scipy.stats: ~1.5 s, no longer imported by the Map's first paint
        steps.insert(0, ("import geo.hotspot_runs", lambda: __import__("geo.hotspot_runs"), MAP_SETTLE_S))
    return _start(_MAP_WARMED, key, steps, "geo-warm-map-gistar")


_LATER: dict = {}
_LATER_N = itertools.count()


def later(step, *, what: str = "keeping the incidents frame in the workspace") -> bool:
    """Run ``step()`` in the warm-up thread after every other step, once no user's run has been under way
    for :data:`LATER_SETTLE_S` (:func:`wait_idle`), e.g.
    a write that must not delay the first paint (``geo.services.incidents(keep=)``)."""
    return _start(_LATER, (what, next(_LATER_N)), [(what, step, LATER_SETTLE_S)], "geo-warm-later", last=True)


def join(timeout: float = 30.0) -> bool:
    """Wait until no warm-up is under way or queued (for tests); returns whether that happened."""
    deadline = time.monotonic() + timeout
    while _WARM_THREAD[0] is not None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


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
    the same scope), then import matplotlib (a briefing's map and chart) if it is not imported yet.

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
            # matplotlib (~1 s to import on 2 cores): a briefing's map and trend chart are drawn with it, and a
            # partner's next page is likely Briefings; imported here, after the figures, not in that first briefing
            try:
                from geo.render.static_maps import pyplot
                pyplot()
            except Exception as err:  # noqa: BLE001 - the briefing imports it itself
                logger.info("importing matplotlib ahead skipped: %s", err)

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
