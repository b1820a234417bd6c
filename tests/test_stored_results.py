"""Finished results analyses kept in the workspace (``geo.stored_results``, ``services.analyse_operation``).

A stored analysis is the same result as one computed now (same seed, same numbers); it is
read only after the access check; its key moves with every import, operation edit, harm
weight, setting, option or code change and with nothing else (no audit entry, no stored
result); a blob not signed by this server is never unpickled.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import shapely

import geo.displacement
from geo import services
from geo import stored_results as sr
from geo.auth import AccessDenied, User
from geo.store import GpkgStore
from tests import store_contract as contract
from tests.conftest import sy_with_rotherham_op

SHEFFIELD, ROTHERHAM = "E08000019", "E08000018"
ANALYST, INSPECTOR = User("ana", "analyst"), User("ins", "inspector", (SHEFFIELD,))


@pytest.fixture(autouse=True)
def _secret(tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_SESSION_KEY_FILE", str(tmp_path / "session.key"))


@pytest.fixture()
def sy(demo_workspaces, tmp_path):
    """A private copy of the South Yorkshire demo with a Rotherham operation."""
    return sy_with_rotherham_op(demo_workspaces, tmp_path)


def _key(path, op_id, **asked):
    """The key the service uses for the default analysis of ``op_id`` (crime layer)."""
    from geo import Workspace
    ws = Workspace.open(path)
    options = {"before": None, "after": None, "layer": "crime", "buffer_m": None, "control": "bcu",
               "control_units": [], **asked}
    return sr.result_key(ws.store, op_id, options), ws.store


class Marker:
    """A stand-in result: which path produced it."""

    def __init__(self, name):
        self.name = name


def _no_compute(*_a, **_k):
    raise AssertionError("computed, although the analysis is stored")


def test_a_stored_analysis_is_loaded_only_after_the_access_check(sy, monkeypatch):
    key, store = _key(sy, "op-rother")
    store.save_result(key, "op-rother", sr.pack_result(Marker("stored")))
    store.close()
    monkeypatch.setattr(geo.displacement, "analyse_operation", _no_compute)
    assert services.analyse_operation(sy, "op-rother", user=ANALYST).name == "stored"
    with pytest.raises(AccessDenied):  # Rotherham: outside the inspector's BCU, stored or not
        services.analyse_operation(sy, "op-rother", user=INSPECTOR)


def test_a_blob_signed_by_another_server_is_not_unpickled(sy, monkeypatch):
    key, store = _key(sy, "op-rother")
    store.save_result(key, "op-rother", sr.pack_result(Marker("forged"), secret=b"x" * 64))
    store.close()
    monkeypatch.setattr(geo.displacement, "analyse_operation", lambda *a, **k: Marker("computed"))
    assert services.analyse_operation(sy, "op-rother", user=ANALYST, incidents=lambda: None).name == "computed"
    assert sr.unpack_result(sr.pack_result(Marker("x"), secret=b"y" * 64)) is None
    blob = bytearray(sr.pack_result(Marker("mine")))
    assert sr.unpack_result(bytes(blob)).name == "mine"
    blob[-3] ^= 1  # one bit changed in the pickle
    assert sr.unpack_result(bytes(blob)) is None
    # the computed result replaced the forged one under the same key: the next call loads it
    monkeypatch.setattr(geo.displacement, "analyse_operation", _no_compute)
    assert services.analyse_operation(sy, "op-rother", user=ANALYST).name == "computed"


def test_a_stored_analysis_has_the_numbers_of_one_computed_now(sy):
    """The real analysis, stored then loaded, against one computed afresh without the store (same seed)."""
    opts = {"n_placebos": 40, "incidents": services.analysis_incidents(sy, user=ANALYST)}
    first = services.analyse_operation(sy, "demo-sy-beighton", user=ANALYST, **opts)
    key, store = _key(sy, "demo-sy-beighton", n_placebos=40)
    assert store.load_result(key) is not None
    store.close()
    loaded = services.analyse_operation(sy, "demo-sy-beighton", user=ANALYST, **opts)
    fresh = services.analyse_operation(sy, "demo-sy-beighton", user=ANALYST, stored=False, **opts)
    assert loaded is not first
    for res in (loaded, first):
        assert res.headline == fresh.headline and res.verdict == fresh.verdict and res.caveats == fresh.caveats
        pd.testing.assert_frame_equal(res.table, fresh.table)
        # every number of the verdict, the calibrated tests, power and sensitivity, to the last bit
        for part in ("summary", "assessment", "sensitivity", "types", "settings", "catchment", "checks"):
            _same(getattr(res, part), getattr(fresh, part), part)
        assert res.areas.target.equals(fresh.areas.target)


def test_the_verdict_stage_then_the_rest_equal_the_one_shot_analysis_and_only_the_whole_is_stored(sy):
    """``on_verdict`` hands over the verdict stage of the same run: its calibrated tests are the whole
    result's to the bit, the whole result equals one computed without the callback, and the
    workspace keeps the whole result only (loaded whole, with no verdict stage, next time)."""
    opts = {"n_placebos": 40, "incidents": services.analysis_incidents(sy, user=ANALYST)}
    stages = []
    whole = services.analyse_operation(sy, "demo-sy-beighton", user=ANALYST, on_verdict=stages.append, **opts)
    one_shot = services.analyse_operation(sy, "demo-sy-beighton", user=ANALYST, stored=False, **opts)
    _same(whole, one_shot, "result")
    (early,) = stages
    assert whole.pending == () and early.pending == ("power", "cross", "migration", "sensitivity", "checks")
    assert early.cross is None and early.migration is None and early.sensitivity is None and early.checks is None
    assert early.assessment.power is None and whole.assessment.power is not None
    _same(early.assessment, dataclasses.replace(whole.assessment, power=None, power50=early.assessment.power50),
          "assessment")
    for part in ("table", "types", "catchment", "areas", "windows", "caveats", "operation", "crs", "layer"):
        _same(getattr(early, part), getattr(whole, part), part)
    harm, disp, diff, act = early.summary.clauses
    for mine, theirs in zip((harm, diff, act), (whole.summary.clauses[0], *whole.summary.clauses[2:])):
        _same(mine, theirs, mine.topic)   # (NaN-aware: a "too few to tell" clause has no p)
    _same(dataclasses.replace(disp, text=""), dataclasses.replace(whole.summary.clauses[1], text=""), "displacement")
    if disp.status == "no evidence":
        assert "power to detect a 50% move: still computing" in disp.text
        assert disp.text.replace("still computing", "") != whole.summary.clauses[1].text
    stages.clear()
    loaded = services.analyse_operation(sy, "demo-sy-beighton", user=ANALYST, on_verdict=stages.append, **opts)
    assert stages == [] and loaded.pending == () and loaded is not whole
    _same(loaded, whole, "stored")


def test_the_analysis_reads_only_its_columns_and_has_the_numbers_of_the_whole_frame(sy):
    """``analysis_incidents`` reads ``ANALYSIS_COLUMNS`` only (no ids, locations, LSOAs, outcomes, sources):
    the complete analysis of that frame is the analysis of every column's, to the last bit."""
    from geo import Workspace
    from geo.displacement import ANALYSIS_COLUMNS
    narrow = services.analysis_incidents(sy, user=ANALYST)
    assert set(narrow.columns) == {*ANALYSIS_COLUMNS, "geometry", "harm", "in_basket"}
    ws = Workspace.open(sy)
    whole = ws.incidents(layer="crime", statuses=("mapped", "outside_area"))
    ws.close()
    assert {"uid", "crime_id", "location", "lsoa_code", "outcome", "source"} <= set(whole.columns)
    assert narrow.index.equals(whole.index)
    stages = {"narrow": [], "whole": []}
    got = {name: services.analyse_operation(sy, "demo-sy-central", user=ANALYST, incidents=frame, stored=False,
                                            n_placebos=40, on_verdict=stages[name].append)
           for name, frame in (("narrow", narrow), ("whole", whole))}
    _same(got["narrow"], got["whole"], "result")
    _same(stages["narrow"], stages["whole"], "verdict stage")


def _same(x, y, where: str) -> None:
    """``x`` and ``y`` hold the same values to the last bit (NaN equal to NaN), walking dataclasses,
    mappings, sequences, arrays, frames and geometries."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        assert type(x) is type(y), where
        for f in dataclasses.fields(x):
            _same(getattr(x, f.name), getattr(y, f.name), f"{where}.{f.name}")
    elif isinstance(x, dict):
        assert list(x) == list(y), where
        for k in x:
            _same(x[k], y[k], f"{where}[{k!r}]")
    elif isinstance(x, (list, tuple)):
        assert len(x) == len(y), where
        for i, (a, b) in enumerate(zip(x, y)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(x, pd.DataFrame):
        pd.testing.assert_frame_equal(x, y, check_exact=True, obj=where)
    elif isinstance(x, pd.Series):
        pd.testing.assert_series_equal(x, y, check_exact=True, obj=where)
    elif isinstance(x, np.ndarray):
        assert x.dtype == y.dtype and x.shape == y.shape, where
        assert np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"), where
    elif isinstance(x, shapely.Geometry):
        assert shapely.equals_exact(x, y, tolerance=0), where
    elif isinstance(x, float):
        assert (x == y) or (np.isnan(x) and np.isnan(y)), where
    else:
        assert x == y, where


def test_the_key_moves_with_data_operations_harm_settings_options_and_nothing_else(tmp_path):
    s = GpkgStore(tmp_path / "k.gpkg", crs=contract.CRS)
    s.save_operation("a", "A", {"name": "A"}, contract.square())
    opts = {"layer": "crime", "before": None}
    seen = [sr.result_key(s, "a", opts)]

    def moved():
        k = sr.result_key(s, "a", opts)
        assert k not in seen
        seen.append(k)

    s.audit("ana", "viewed", "map")                              # an audit entry is no data
    s.save_result(seen[-1], "a", b"anything")                    # nor is a stored analysis
    assert sr.result_key(s, "a", opts) == seen[-1]
    contract.append(s, contract.incidents(5))                    # an import
    moved()
    s.save_operation("b", "B", {"name": "B"}, contract.square(432000))  # another target (left out of controls)
    moved()
    s.save_operation("a", "A", {"name": "A", "end": "2024-04-01"}, contract.square())  # the operation edited
    moved()
    s.set_harm_weights(pd.DataFrame({"category": ["Drugs"], "weight": [30.0], "basis": "", "source": ""}))
    moved()
    s.set_setting("site_buffer_m", 150)
    moved()
    assert sr.result_key(s, "a", {**opts, "before": "2024-01:2024-02"}) not in seen
    assert sr.result_key(s, "b", opts) not in seen
    s.close()


def test_code_version_changes_with_any_module_of_geo(monkeypatch):
    """A kept result is keyed on every module of ``geo``: a change to a module no list of "what the
    analysis uses" would name (labels, sites, the readers) still gives a new key."""
    from pathlib import Path

    from geo import stored_results
    real_read = Path.read_bytes
    before = {part: stored_results.code_version(part) for part in ("analysis", "disclosure", "hotspots")}
    assert len(set(before.values())) == 3  # the kinds of kept result are kept apart
    for changed in ("labels.py", "sites.py", "io/police_uk.py"):
        target = Path(stored_results.__file__).parent / changed
        assert target.is_file(), target
        monkeypatch.setattr(stored_results, "_CODE", {})
        monkeypatch.setattr(Path, "read_bytes", lambda self, t=target: real_read(self) + (b"#" if self == t else b""))
        after = {part: stored_results.code_version(part) for part in before}
        assert all(after[p] != before[p] for p in before), changed
        monkeypatch.setattr(Path, "read_bytes", real_read)
    monkeypatch.setattr(stored_results, "_CODE", {})
    assert {part: stored_results.code_version(part) for part in before} == before


def test_the_demo_keeps_each_operations_default_analysis_under_the_key_the_page_asks_for(sy, monkeypatch):
    """``services.analysis_default_steps`` (run by ``python -m geo demo``): one step per operation not kept yet,
    each keeping the analysis the Operations page's background pool loads (same key: nothing computed then);
    none once kept."""
    computed = []

    def stub(ws, op, **k):  # (a background analysis an earlier app test left running may call it too: not ours)
        if str(getattr(ws.store, "path", "")) == str(sy):
            computed.append(op.op_id)
        return Marker(op.op_id)
    monkeypatch.setattr(geo.displacement, "analyse_operation", stub)
    steps = services.analysis_default_steps(sy)
    ops = [o.op_id for o in services.list_operations(sy, user=ANALYST)]
    assert len(steps) == len(ops) == 3 and all("results analysis of" in what for what, _ in steps)
    for _, run in steps:
        run()
    assert sorted(computed) == sorted(ops)
    assert services.analysis_default_steps(sy) == []  # all kept: nothing left to do
    monkeypatch.setattr(geo.displacement, "analyse_operation", _no_compute)
    for op_id in ops:  # as dashboard.analyses.Analyses asks (the page's default layer, BCU control)
        key, store = _key(sy, op_id)
        try:
            assert sr.has_stored(store, key)
        finally:
            store.close()
        got = services.analyse_operation(sy, op_id, user=ANALYST, before=None, after=None, layer="crime",
                                         buffer_m=None, control="bcu", control_units=None)
        assert got.name == op_id
