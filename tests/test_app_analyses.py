"""The app's background results analyses (``dashboard.analyses.Analyses``), with a stand-in for the analysis.

One background thread runs the analyses the Operations page starts; the one a user asks for
is then ready, under way (waited for), or still queued (taken off the queue and run at once
in the user's own thread); every session gets the same result; a failure is not kept.
"""
from __future__ import annotations

import contextlib
import threading

import pytest

from dashboard import data_results
from dashboard.analyses import Analyses


class Recorder(Analyses):
    """``run`` records which thread ran which key; ``gate`` holds the background's first job."""

    def __init__(self):
        super().__init__()
        self.ran: list[tuple[str, str]] = []
        self.gate = threading.Event()

    def run(self, key):
        if key[2] == "blocker":
            self.gate.wait(10)
        if key[2] == "broken":
            raise ValueError("no data")
        self.ran.append((key[2], threading.current_thread().name))
        return {"op": key[2], "object": object()}


def key(op: str) -> tuple:
    return data_results._analysis_key("ws.gpkg", 1, op, None, None, "crime", None, "bcu", (), ("analyst", ()))


def test_queued_analysis_runs_at_once_in_the_asking_thread_and_is_shared():
    pool = Recorder()
    blocker, _ = pool.job(key("blocker"))       # the background is busy with another operation
    queued, _ = pool.job(key("central"))        # prefetched, still queued
    res = pool.result(key("central"))           # the user picks it: not waiting for the blocker
    assert res["op"] == "central" and queued.cancelled() and not blocker.done()
    assert pool.ran == [("central", threading.current_thread().name)]
    assert pool.result(key("central")) is res   # reopened: the same object, not run again
    pool.gate.set()
    assert blocker.result(5)["op"] == "blocker"
    assert pool.ran[-1][1].startswith("geo-results")  # the prefetched one ran in the background thread


def test_concurrent_sessions_get_one_analysis():
    pool = Recorder()
    pool.gate.set()
    out = []
    threads = [threading.Thread(target=lambda: out.append(pool.result(key("beighton")))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(out) == 4 and all(r is out[0] for r in out)
    assert [op for op, _ in pool.ran] == ["beighton"]


def test_a_failed_analysis_is_raised_and_not_kept():
    pool = Recorder()
    pool.gate.set()
    for _ in range(2):
        with pytest.raises(ValueError, match="no data"):
            pool.result(key("broken"))
        assert key("broken") not in pool.jobs


def test_only_the_last_analyses_are_kept():
    pool = Recorder()
    pool.gate.set()
    for i in range(pool.KEEP + 3):
        pool.result(key(f"op{i}"))
    assert len(pool.jobs) == pool.KEEP and key("op0") not in pool.jobs and key(f"op{pool.KEEP + 2}") in pool.jobs


class Staged(Analyses):
    """``run`` hands over its verdict stage, then waits for ``rest`` before finishing (as
    :func:`geo.services.analyse_operation` does with ``on_verdict``)."""

    def __init__(self):
        super().__init__()
        self.rest, self.gate = threading.Event(), threading.Event()
        self.threads: list[str] = []

    def run(self, key):
        if key[2] == "blocker":
            return self.gate.wait(10)
        self.threads.append(threading.current_thread().name)
        self._verdict(key, {"op": key[2], "pending": ("checks",)})
        self.rest.wait(10)
        return {"op": key[2], "pending": ()}


def test_early_gives_the_verdict_stage_then_the_whole_result():
    pool = Staged()
    pool.job(key("blocker"))                    # the background is busy with another operation
    early = pool.early(key("central"))
    assert early == {"op": "central", "pending": ("checks",)}
    assert not pool.done(key("central"))
    assert pool.threads == ["geo-results-now"]   # picked while queued: its own thread, not the asking one
    pool.rest.set()
    pool.gate.set()
    whole = pool.result(key("central"))
    assert whole == {"op": "central", "pending": ()} and pool.done(key("central"))
    assert pool.early(key("central")) is whole and key("central") not in pool.verdicts


def test_early_waits_for_a_verdict_stage_already_under_way_in_the_background():
    pool = Staged()
    fut, _ = pool.job(key("beighton"))          # prefetched: the background thread runs it
    assert pool.early(key("beighton"))["pending"] == ("checks",)
    assert pool.threads[0].startswith("geo-results") and pool.threads[0] != "geo-results-now"
    pool.rest.set()
    assert fut.result(5)["pending"] == () and pool.result(key("beighton")) is fut.result()


def test_early_raises_a_failure_like_result():
    pool = Recorder()
    pool.gate.set()
    with pytest.raises(ValueError, match="no data"):
        pool.early(key("broken"))
    assert key("broken") not in pool.jobs and pool.done(key("broken"))


def test_the_warm_ups_give_way_while_an_analysis_runs():
    """The app's pool enters ``warm.user_run`` around each analysis: a background warm-up starts no
    step while one runs (as while a page runs), and goes on once it has finished."""
    from dashboard import warm
    seen = []

    class Busy(Analyses):
        def _run(self, key):
            seen.append(warm.wait_idle(settle=0.0, limit=0.3))
            return {"op": key[2]}

    # the app's own pool may still be running analyses an earlier page test prefetched (they count as
    # user runs): cancel what is queued, let what runs finish
    app_pool = data_results._analyses()
    for job in list(app_pool.jobs.values()):
        job.cancel()
    for job in list(app_pool.jobs.values()):
        with contextlib.suppress(BaseException):
            job.result(timeout=300)
    assert warm.wait_idle(settle=0.0, limit=5.0)
    assert Busy(busy=warm.user_run).result(key("central")) == {"op": "central"} and seen == [False]
    assert Busy().result(key("beighton")) == {"op": "beighton"} and seen == [False, True]  # no hook: no wait
    assert warm.wait_idle(settle=0.0, limit=1.0)
    assert data_results._analyses().busy is warm.user_run


def test_a_job_of_data_that_changed_since_it_was_asked_for_is_not_kept_in_the_workspace(monkeypatch):
    """A job asked for at an older data version reads the frame kept for that version: its result must
    be neither loaded from nor kept in the workspace, where it would sit under the new data's key."""
    from dashboard import analyses as mod
    asked = []
    monkeypatch.setattr(mod.services, "analyse_operation",
                        lambda *a, stored, **kw: asked.append(stored) or {"op": a[1], "stored": stored})
    now = {"ws.gpkg": 1}
    pool = Analyses(version=lambda path: now[str(path)])
    assert pool.result(key("central"))["stored"] is True  # asked at version 1, data still at 1
    now["ws.gpkg"] = 2  # an import: the page asked at 1 before it
    assert pool.result(key("beighton"))["stored"] is False
    assert Analyses().result(key("darnall"))["stored"] is True  # no version callable: as before
    assert asked == [True, False, True]
    assert data_results._analyses().version is data_results.version


class Drawn(Analyses):
    """Records when each job starts; ``drawn`` is a page that has (or has not) drawn since ``since``."""

    def __init__(self):
        self.page_drawn = threading.Event()
        super().__init__(drawn=lambda since: self.page_drawn.is_set())
        self.started: list[str] = []
        self.gate = threading.Event()

    def run(self, key):
        self.started.append(key[2])
        if key[2] == "central":
            self.gate.wait(10)
        return key[2]


def test_a_queued_analysis_waits_for_the_page_that_waited_for_the_one_before(monkeypatch):
    import time

    import dashboard.analyses as analyses
    monkeypatch.setattr(analyses, "QUEUED_WAIT_S", 5.0)
    pool = Drawn()
    pool.job(key("central"))
    second, _ = pool.job(key("beighton"))       # queued behind central
    pool.gate.set()
    pool.result(key("central"))
    time.sleep(0.3)
    assert pool.started == ["central"] and not second.done()   # the page has not drawn central yet
    pool.page_drawn.set()                       # its run has ended: the next analysis starts
    assert second.result(5) == "beighton" and pool.started == ["central", "beighton"]


def test_a_queued_analysis_someone_asks_for_starts_at_once_and_waits_at_most_queued_wait_s(monkeypatch):
    import time

    import dashboard.analyses as analyses
    monkeypatch.setattr(analyses, "QUEUED_WAIT_S", 600.0)   # longer than any test: only the ask ends it
    pool = Drawn()
    pool.job(key("central"))
    second, _ = pool.job(key("beighton"))
    pool.gate.set()
    pool.result(key("central"))
    time.sleep(0.3)
    assert pool.started == ["central"]
    fut, mine = pool.job(key("beighton"), now=True)    # a user asks: already taken by the background thread
    assert fut is second and not mine
    assert fut.result(5) == "beighton"           # it stops waiting for a page
    monkeypatch.setattr(analyses, "QUEUED_WAIT_S", 0.3)
    pool.job(key("darnall"))
    pool.job(key("woodhouse"))                   # queued behind darnall; no page ever draws
    assert pool.jobs[key("woodhouse")].result(5) == "woodhouse"   # waited at most QUEUED_WAIT_S
