"""The only place with Streamlit caches around ``geo``.

Cached functions take small hashable arguments: the workspace path and its file
modification time (``version``), so any save invalidates what was read before.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import geo  # noqa: E402
from geo.workspace import Workspace  # noqa: E402


def workspace_folder() -> Path:
    """Folder of workspace files: ``GEO_WORKSPACES`` or ``workspaces/`` in the project."""
    return Path(os.environ.get("GEO_WORKSPACES", ROOT / "workspaces"))


def workspace_paths() -> list[Path]:
    return sorted(workspace_folder().glob("*.gpkg"), key=lambda p: (p.name != "south-yorkshire.gpkg", p.name))


def current_path() -> Path | None:
    p = st.session_state.get("workspace")
    return Path(p) if p else None


def version(path: Path) -> float:
    """Changes whenever the workspace file is written (cache key)."""
    return path.stat().st_mtime_ns if path.exists() else 0


@contextmanager
def open_workspace(path: Path | None = None):
    """A workspace opened for one read or write, closed afterwards."""
    ws = Workspace.open(path or current_path())
    try:
        yield ws
    finally:
        ws.close()


@st.cache_data(show_spinner=False, max_entries=8)
def info(path: str, version: float) -> dict:
    with open_workspace(Path(path)) as ws:
        return {
            "name": ws.name, "crs": ws.crs, "force": ws.force,
            "layers": ws.store.layers(), "months": ws.store.months(),
            "crime_months": ws.store.months("crime"), "calls_months": ws.store.months("calls"),
            "crime_categories": ws.store.categories("crime"), "calls_categories": ws.store.categories("calls"),
            "levels": ws.store.boundary_levels(), "settings": ws.store.settings(),
        }


@st.cache_data(show_spinner="Loading incidents…", max_entries=8)
def incidents(path: str, version: float, layer: str | None = None, statuses: tuple = ("mapped",)):
    with open_workspace(Path(path)) as ws:
        return ws.incidents(layer=layer, statuses=statuses)


@st.cache_data(show_spinner=False, max_entries=16)
def boundaries(path: str, version: float, level: str | None = None):
    with open_workspace(Path(path)) as ws:
        return ws.boundaries(level)


@st.cache_data(show_spinner=False, max_entries=8)
def bcus(path: str, version: float, all_forces: bool = False):
    with open_workspace(Path(path)) as ws:
        return ws.bcus(all_forces=all_forces)


@st.cache_data(show_spinner=False, max_entries=8)
def sites(path: str, version: float):
    with open_workspace(Path(path)) as ws:
        return ws.sites()


@st.cache_data(show_spinner=False, max_entries=8)
def operation_areas(path: str, version: float):
    with open_workspace(Path(path)) as ws:
        return ws.operation_areas()


@st.cache_data(show_spinner=False, max_entries=8)
def area(path: str, version: float):
    with open_workspace(Path(path)) as ws:
        return ws.area()


@st.cache_data(show_spinner=False, max_entries=8)
def harm_table(path: str, version: float):
    with open_workspace(Path(path)) as ws:
        return ws.harm_table()


@st.cache_data(show_spinner=False, max_entries=8)
def import_history(path: str, version: float):
    with open_workspace(Path(path)) as ws:
        return ws.store.import_history(), ws.store.incident_summary()


@st.cache_data(show_spinner=False, max_entries=8)
def rejected_rows(path: str, version: float, import_id: int | None = None):
    with open_workspace(Path(path)) as ws:
        return ws.store.rejected_rows(import_id)


def clear() -> None:
    st.cache_data.clear()
