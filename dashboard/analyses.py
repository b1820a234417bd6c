"""Results analyses run in one background thread of the app, shared by every session (no Streamlit here).

:func:`dashboard.data_results._analyses` holds the one :class:`Analyses` of the server
(``st.cache_resource``); the Operations page starts the default analysis of every operation
in its register when it opens (:func:`dashboard.data_results.prefetch_analyses`), and
:func:`dashboard.data_results.displacement` asks for the one the user picks. Keys are
``(path, version, operation, before, after, layer, buffer_m, control, control_units,
scope key)``: roles never share a result. A finished analysis is also kept in the workspace
(:func:`geo.services.analyse_operation`, ``stored``), so a new server or session loads it
(a fraction of a second) instead of computing it again.

An analysis answers in two stages: the verdict (the calibrated tests) as soon as it is ready
(:meth:`Analyses.early`, kept in ``verdicts``), then the complete result (the supporting
sections: power, checks, synthetic comparison, ...; :meth:`Analyses.result`), from the same
run: nothing is computed twice.
"""
from __future__ import annotations

from geo import services

#: Longest a queued analysis waits, after the one before it finished, for the page that waited for that one
#: to draw it (:meth:`Analyses._queued`).
QUEUED_WAIT_S = 10.0


class Analyses:
    """Results analyses run one at a time in a background thread; the last few kept."""

    KEEP = 16

    def __init__(self, *, on_saved=None, busy=None, version=None, drawn=None):
        import threading
        from collections import OrderedDict
        from concurrent.futures import ThreadPoolExecutor

        import geo.displacement  # noqa: F401  imported here, before two threads could import it at once
        import geo.grid  # noqa: F401  (an alias module: a second thread importing it mid-way gets the stub)
        self.lock = threading.RLock()  # re-entrant: a job's done-callback may run inside job()
        self.reading = threading.Lock()
        self.jobs: OrderedDict = OrderedDict()    # key -> Future
        self.verdicts: dict = {}                  # key -> the verdict stage of a job still running
        self.changed = threading.Condition(self.lock)  # a verdict stage or a job finished
        self.frames: OrderedDict = OrderedDict()  # (path, version, layer) -> incidents frame
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="geo-results")
        self.on_saved = on_saved  # (path, before, after): a stored analysis changed no data
        # entered while an analysis runs: the app passes dashboard.warm.user_run, so that its background
        # warm-ups (other pages' caches) give way to an analysis a user waits for as to a page run
        self.busy = busy
        # the data version of a workspace now (``dashboard.data.version``): a job asked for at an older
        # version reads the frame kept for that version, so its result must not be kept in the workspace
        # under the key of the data as it is now (the next analysis of the new data would load it)
        self.version = version
        # ``drawn(since)``: whether no user's run is under way and one has ended after ``since`` (a
        # ``time.monotonic()``; the app passes dashboard.warm.quiet_since): a queued analysis waits for it
        self.drawn = drawn
        self.asked: set = set()   # keys a caller has asked for (a queued job waits for nothing then)
        self.ended = None         # time.monotonic() the last analysis finished

    def frame(self, path: str, version, layer, role_key: tuple):
        """The incidents an analysis reads (:func:`geo.services.analysis_incidents`), once per data version.

        The frame is the same for every user (the catchment crosses every boundary; only aggregates
        are shown), so it is keyed by the data alone: read for the first user the service lets read
        it, and used only by analyses that :func:`check_analysis` allowed.
        """
        k = (path, version, layer)
        with self.reading:  # one read at a time: a second analysis waits for the first one's frame
            with self.lock:
                if k in self.frames:
                    return self.frames[k]
            inc = services.analysis_incidents(path, user=role_key, layer=layer)
            with self.lock:
                self.frames[k] = inc
                while len(self.frames) > 2:
                    self.frames.popitem(last=False)
            return inc

    def _queued(self, key: tuple):
        """A job the background thread takes in turn. Right after the analysis before it finished, it first
        waits (at most :data:`QUEUED_WAIT_S`) until a user's run has ended since then: the page that waited
        for that analysis redraws with it, and on 2 cores the next analysis would share them with that run.
        It starts at once when someone asks for it."""
        import time
        ended = self.ended
        if self.drawn is not None and ended is not None and time.monotonic() - ended < 1.0:
            while key not in self.asked and time.monotonic() < ended + QUEUED_WAIT_S and not self.drawn(ended):
                time.sleep(0.05)
        return self.run(key)

    def run(self, key: tuple):
        import contextlib
        with self.busy if self.busy is not None else contextlib.nullcontext():
            return self._run(key)

    def _run(self, key: tuple):
        path, version, op_id, before, after, layer, buffer_m, control, units, role_key = key
        saved = None if self.on_saved is None else (lambda before_ns, after_ns: self.on_saved(path, before_ns,
                                                                                                after_ns))
        current = self.version is None or self.version(path) == version
        # the frame is read only if the analysis is not stored in the workspace already; a job of data
        # that changed since it was asked for is neither loaded from nor kept in the workspace
        return services.analyse_operation(path, op_id, user=role_key, before=before, after=after, layer=layer,
                                          buffer_m=buffer_m, control=control, control_units=list(units) or None,
                                          incidents=lambda: self.frame(path, version, layer, role_key),
                                          stored=current, on_saved=saved,
                                          on_verdict=lambda partial: self._verdict(key, partial))

    def _verdict(self, key: tuple, partial) -> None:
        with self.changed:
            self.verdicts[key] = partial
            self.changed.notify_all()

    def _finished(self, key: tuple, fut) -> None:
        import time
        with self.changed:
            self.verdicts.pop(key, None)
            self.asked.discard(key)
            if not fut.cancelled():   # (a cancelled one was taken off the queue by a caller: it runs there)
                self.ended = time.monotonic()
            self.changed.notify_all()

    def job(self, key: tuple, *, now: bool = False):
        """The future of analysis ``key`` (submitted if new) and whether the caller must run it: with
        ``now``, one still queued behind others is taken off the queue for the caller to run at once
        (in one step under the lock, so another session asking meanwhile waits for the caller's)."""
        from concurrent.futures import Future
        with self.lock:
            fut = self.jobs.get(key)
            if fut is None:
                fut = self.jobs[key] = self.pool.submit(self._queued, key)
                fut.add_done_callback(lambda f: self._finished(key, f))
                while len(self.jobs) > self.KEEP:
                    old, _ = self.jobs.popitem(last=False)
                    self.verdicts.pop(old, None)
            if now and not fut.done():
                self.asked.add(key)
            if now and not fut.done() and fut.cancel():
                fut = self.jobs[key] = Future()
                fut.add_done_callback(lambda f: self._finished(key, f))
                fut.set_running_or_notify_cancel()
                return fut, True
            return fut, False

    def early(self, key: tuple):
        """Analysis ``key`` as soon as its verdict is ready: the complete result if it is done, else
        the verdict stage (``pending`` names what is still computing; ask :meth:`done` and then
        :meth:`result`). A job still queued behind others starts at once in a thread of its own."""
        import threading
        fut, mine = self.job(key, now=True)
        if mine:
            threading.Thread(target=self._run_into, args=(key, fut), name="geo-results-now", daemon=True).start()
        with self.changed:
            self.changed.wait_for(lambda: fut.done() or key in self.verdicts)
            partial = None if fut.done() else self.verdicts.get(key)
        return self.result(key) if partial is None else partial

    def done(self, key: tuple) -> bool:
        """Whether analysis ``key`` has finished (or failed): :meth:`result` then answers at once."""
        with self.lock:
            fut = self.jobs.get(key)
        return fut is None or fut.done()

    def _run_into(self, key: tuple, fut) -> None:
        try:
            fut.set_result(self.run(key))
        except BaseException as err:  # kept like the background's (raised by result)
            fut.set_exception(err)

    def result(self, key: tuple):
        """Analysis ``key``: its finished result, or run now (here, if it has not started in the background)."""
        fut, mine = self.job(key, now=True)
        if mine:
            self._run_into(key, fut)
        try:
            return fut.result()
        except BaseException:
            with self.lock:  # not kept: the next attempt tries again (e.g. after an import)
                if self.jobs.get(key) is fut:
                    del self.jobs[key]
            raise
