"""The incidents frame kept in the workspace store per data version, so that a new server or session
does not read every row again (the Map page's first paint).

Reading the South Yorkshire demo's 250,000 mapped crimes row by row from the GeoPackage takes
about 4 s; the same frame kept as one compressed, signed blob loads in well under a second. It is
kept like the finished results analyses and the published base table (:mod:`geo.stored_results`):
under a key that names everything the frame is read from (:func:`incidents_key`: the import
history, harm weights, workspace and global settings, the layer and statuses, and the code: every
module of ``geo``), as a pickle signed with HMAC-SHA256 under the server's secret
(:func:`geo.stored_results.pack_result`: a blob that does not verify is never unpickled). Any
change gives a new key; the store keeps the newest :data:`KEEP` per layer.

Only the whole force's frame is kept (what an analyst reads); it is read back only by
:func:`geo.services.incidents`, after its access check, which trims it to the user's scope as it
trims a frame read from the store (:func:`geo.access.scope_incidents`), so the rows are the same.

References
----------
Python documentation, ``pickle``: "Consider signing data with hmac if you need to ensure that it
has not been tampered with." https://docs.python.org/3/library/pickle.html
"""
from __future__ import annotations

import hashlib
import pickle

#: Bumped when the stored form changes.
FORMAT = "geo-incidents-1"
#: Stored frames kept per layer and statuses (the newest first; older data versions are dropped).
KEEP = 2


def code_version() -> str:
    """A digest of the code the frame is read and weighed by: :func:`geo.stored_results.code_version`
    (every module of ``geo``), kept apart from the other kinds of kept result."""
    from .stored_results import code_version as digest
    return digest("incidents")


def frame_id(layer: str | None, statuses) -> str:
    """The "operation" id a frame is kept under (:meth:`geo.store.Store.save_result` keeps the newest
    :data:`KEEP` per id; no operation id has a space)."""
    return f"incidents frame {layer or 'all'} {','.join(statuses) if statuses is not None else 'all'}"


def incidents_key(store, *, layer: str | None, statuses) -> str:
    """The key of the whole force's incidents of ``layer`` with ``statuses`` in ``store`` as it is now."""
    from .stored_results import data_version
    h = hashlib.sha256()
    for part in (FORMAT, frame_id(layer, statuses), data_version(store, register=False), code_version()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def pack_frame(frame) -> dict:
    """``frame`` (a GeoDataFrame of points with ``x``/``y``) in the form it is kept: without its
    geometry (rebuilt from ``x``/``y`` by :func:`unpack_frame`, as the store does), pickled and
    compressed with Zstandard (pyarrow's codec)."""
    import pandas as pd
    import pyarrow as pa
    geom_col = frame.geometry.name
    plain = pd.DataFrame(frame.drop(columns=geom_col))
    body = pickle.dumps(plain, protocol=pickle.HIGHEST_PROTOCOL)
    return {"format": FORMAT, "columns": list(frame.columns), "geometry": geom_col, "crs": frame.crs,
            "size": len(body), "zstd": pa.compress(body, codec="zstd", asbytes=True)}


def unpack_frame(packed):
    """The GeoDataFrame :func:`pack_frame` kept, or ``None`` if ``packed`` is not one."""
    if not isinstance(packed, dict) or packed.get("format") != FORMAT:
        return None
    import geopandas as gpd
    import numpy as np
    import pyarrow as pa
    import shapely
    body = pa.decompress(packed["zstd"], decompressed_size=packed["size"], codec="zstd", asbytes=True)
    plain = pickle.loads(body)  # noqa: S301 - inside a blob whose signature was verified (unpack_result)
    x, y = plain["x"].to_numpy(dtype=float), plain["y"].to_numpy(dtype=float)
    geom = shapely.points(x, y)
    geom[~np.isfinite(x)] = None
    frame = gpd.GeoDataFrame(plain, geometry=gpd.GeoSeries(geom, index=plain.index, crs=packed["crs"]),
                             crs=packed["crs"])
    if packed["geometry"] != "geometry":
        frame = frame.rename_geometry(packed["geometry"])
    return frame[packed["columns"]]


def load_frame(store, key: str):
    """The frame kept under ``key`` in ``store``, or ``None`` (none, not signed by this server, or
    unreadable)."""
    from .stored_results import load_stored
    return unpack_frame(load_stored(store, key))


def keep_frame(store, key: str, frame, *, layer: str | None, statuses, on_saved=None, again=None) -> bool:
    """Keep ``frame`` (the whole force's incidents of ``layer`` with ``statuses``) under ``key`` unless
    the data changed meanwhile (``again()``, the key computed now, differs) or the store or the
    server's secret cannot be written (:func:`geo.stored_results.keep_stored`). ``on_saved(before, after)``:
    a file store's modification times (a kept frame changes no data). Returns whether it was kept."""
    from .stored_results import keep_stored
    return keep_stored(store, key, frame_id(layer, statuses), pack_frame(frame), on_saved=on_saved, again=again,
                       keep=KEEP)
