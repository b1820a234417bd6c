"""Files uploaded through the dashboard: saved under a fixed name, never the client's.

A browser sends a file name along with an upload, and the name is whatever the client
says (``../../../../workspaces/x.gpkg`` included). It is never used as a path here: the
bytes are written to ``upload<suffix>`` inside a fresh temporary folder, where the
suffix comes from a whitelist, and the original name survives only as a display label
(its last path part, printable characters only, shortened).
"""
from __future__ import annotations

import re
import tempfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath, PureWindowsPath

from .errors import GeoInputError
from .settings import settings

#: Suffixes an upload may have (the readers decide the format from the suffix).
UPLOAD_SUFFIXES: tuple[str, ...] = (".csv", ".txt", ".zip", ".gpkg", ".geojson", ".json")
_LABEL_MAX = 120


def display_label(name: str) -> str:
    """A client-supplied file name made safe to show: last path part, printable, short.

    It is a label, not a path, and still has to be escaped where rendered as markdown
    or HTML.

    Examples
    --------
    >>> display_label("../../../../workspaces/x.gpkg")
    'x.gpkg'
    >>> display_label("C:\\\\Users\\\\me\\\\calls\\x00.csv")
    'calls.csv'
    """
    text = str(name or "")
    base = PureWindowsPath(PurePosixPath(text).name).name
    base = re.sub(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]", "", base).strip()
    if len(base) > _LABEL_MAX:
        base = base[: _LABEL_MAX - 1] + "…"
    return base or "upload"


def upload_suffix(name: str) -> str:
    """The whitelisted, lower-case suffix of a client-supplied name, or raise."""
    suffix = PurePosixPath(display_label(name)).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise GeoInputError(
            f"Files of type '{suffix or '(none)'}' cannot be imported",
            where=f"upload '{display_label(name)}'",
            fix=f"upload one of: {', '.join(UPLOAD_SUFFIXES)}",
        )
    return suffix


def check_upload_size(n_bytes: int, name: str, *, max_mb: float | None = None) -> None:
    """Refuse an upload above ``max_mb`` megabytes (``None``: ``settings.max_upload_mb``)."""
    limit = settings.max_upload_mb if max_mb is None else max_mb
    if n_bytes > limit * 1024 * 1024:
        raise GeoInputError(
            f"The file is {n_bytes / 1024**2:,.1f} MB, above the upload limit of {limit:,.0f} MB",
            where=f"upload '{display_label(name)}'",
            fix="import it from the command line (python -m geo import ...), or split it by month",
        )


def save_upload(name: str, data: bytes, folder, *, max_mb: float | None = None) -> Path:
    """Write uploaded bytes to ``folder/upload<suffix>`` and return that path.

    Parameters
    ----------
    name : str
        The client-supplied file name: only its suffix is used (whitelisted).
    data : bytes
        The file's contents.
    folder : str or Path
        An existing private folder (e.g. a ``tempfile.TemporaryDirectory``).
    max_mb : float, optional
        Size limit in megabytes; ``None``: ``settings.max_upload_mb``.

    Raises
    ------
    GeoInputError
        For a suffix that is not in :data:`UPLOAD_SUFFIXES` or a file above the limit.
    """
    check_upload_size(len(data), name, max_mb=max_mb)
    folder = Path(folder)
    target = folder / ("upload" + upload_suffix(name))
    assert target.resolve().parent == folder.resolve()
    target.write_bytes(data)
    return target


def hide_temp_paths(text, label: str) -> str:
    """``text`` with any path of a saved upload's temporary folder replaced by the upload's ``label``.

    Examples
    --------
    >>> hide_temp_paths("bad rows in /tmp/geo-upload-ab12cd/upload.csv line 3", "crimes.csv")
    'bad rows in crimes.csv line 3'
    """
    return re.sub(r"[^\s'\"()]*geo-upload-[^\s/\\]+[/\\][^\s'\"(),:;]*", lambda m: label, str(text))


@contextmanager
def saved_upload(name: str, data: bytes, *, max_mb: float | None = None):
    """Context manager: the upload saved in a fresh temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="geo-upload-") as tmp:
        yield save_upload(name, data, tmp, max_mb=max_mb)
