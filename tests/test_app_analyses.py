"""The app's background results analyses (``dashboard.analyses.Analyses``), with a stand-in for the analysis.

One background thread runs the analyses the Operations page starts; the one a user asks for
is then ready, under way (waited for), or still queued (taken off the queue and run at once
in the user's own thread); every session gets the same result; a failure is not kept.
"""
from __future__ import annotations

import threading

import pytest

from dashboard import data
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
    return data._analysis_key("ws.gpkg", 1, op, None, None, "crime", None, "bcu", (), ("analyst", ()))


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
