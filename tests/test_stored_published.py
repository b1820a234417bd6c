"""The partners' published base table kept in the workspace (``services.partner_published``, ``stored_results``).

A kept table is the one :func:`geo.disclosure.published_for` built (the one disclosure path: nothing
else makes partner figures); it is loaded instead of rebuilt while the imports, harm weights, settings,
threshold, quarters and disclosure code are unchanged; an operation or an audit entry does not move its
key; a blob not signed by this server, or not a published table, is never used.
"""
from __future__ import annotations


import pandas as pd
import pytest

import geo.disclosure
from geo import Workspace, services
from geo import stored_results as sr
from tests.conftest import sy_with_rotherham_op

PARTNER = ("partner", ())


pytestmark = pytest.mark.usefixtures("server_secret")


@pytest.fixture()
def sy(sy_copy):
    return sy_copy


def _key(path, threshold=5):
    ws = Workspace.open(path)
    try:
        quarters = geo.disclosure.complete_quarters(ws.store.months())
        return sr.published_key(ws.store, threshold=threshold, quarters=quarters)
    finally:
        ws.close()


def _no_build(*_a, **_k):
    raise AssertionError("built again, although the published table is kept in the workspace")


def test_the_published_table_is_built_once_kept_and_loaded(sy, monkeypatch):
    built, saved = [], []
    real = geo.disclosure.published_for
    monkeypatch.setattr(geo.disclosure, "published_for", lambda *a, **k: built.append(1) or real(*a, **k))
    first = services.partner_published(sy, user=PARTNER, on_saved=lambda b, a: saved.append((b, a)))
    assert built == [1] and len(saved) == 1 and saved[0][0] != saved[0][1]  # one write, its mtimes reported
    monkeypatch.setattr(geo.disclosure, "published_for", _no_build)
    again = services.partner_published(sy, user=PARTNER)
    assert isinstance(again, geo.disclosure.Published) and again is not first
    pd.testing.assert_frame_equal(again.cells, first.cells)
    assert list(again.units["code"]) == list(first.units["code"])
    assert (again.level, again.quarters, again.threshold) == (first.level, first.quarters, first.threshold)
    # every figure derived from it is the same: the unit table of the last quarter
    q = (first.quarters[-1],)
    pd.testing.assert_frame_equal(
        services.partner_units(sy, user=PARTNER, level="ward", quarters=q, basket_only=True, published=again)
        .drop(columns="geometry"),
        services.partner_units(sy, user=PARTNER, level="ward", quarters=q, basket_only=True, published=first)
        .drop(columns="geometry"))
    # stored=False always builds
    with pytest.raises(AssertionError, match="built again"):
        services.partner_published(sy, user=PARTNER, stored=False)


def test_its_key_moves_with_data_settings_and_threshold_not_with_operations_or_audit(sy, demo_workspaces, tmp_path):
    k0 = _key(sy)
    assert _key(sy, threshold=6) != k0
    (tmp_path / "with-op").mkdir()
    with_op = sy_with_rotherham_op(demo_workspaces, tmp_path / "with-op")  # the same data and one operation
    ws = Workspace.open(with_op)
    try:
        ws.store.audit("someone", "viewed area summary", "")
    finally:
        ws.close()
    assert _key(with_op) == k0
    ws = Workspace.open(sy)
    try:
        harm = ws.store.harm_weights()
        ws.store.set_harm_weights(harm.assign(weight=harm["weight"] * 2))
    finally:
        ws.close()
    k1 = _key(sy)
    assert k1 != k0
    ws = Workspace.open(sy)
    try:
        ws.set_setting("suppression_threshold", 7)
    finally:
        ws.close()
    assert _key(sy) not in (k0, k1)


def test_a_blob_not_signed_here_or_not_a_published_table_is_never_used(sy, monkeypatch):
    key = _key(sy)
    ws = Workspace.open(sy)
    try:
        ws.store.save_result(key, sr.PUBLISHED_ID, sr.pack_result({"forged": True}, secret=b"x" * 64))
    finally:
        ws.close()
    marker = object.__new__(geo.disclosure.Published)
    monkeypatch.setattr(geo.disclosure, "published_for", lambda *a, **k: marker)
    assert services.partner_published(sy, user=PARTNER) is marker  # forged: built
    ws = Workspace.open(sy)
    try:
        ws.store.save_result(key, sr.PUBLISHED_ID, sr.pack_result({"not": "a table"}))
    finally:
        ws.close()
    assert services.partner_published(sy, user=PARTNER) is marker  # signed, but no published table: built
