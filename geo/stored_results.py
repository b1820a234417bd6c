"""Finished results analyses (and the published base table) kept in the workspace store, so that a new
session does not recompute them.

A result is stored under a key that names everything it depends on (:func:`result_key`):
the operation, the whole operations register (other operations' targets are left out of
the control), the import history (every import of incidents, sites or boundaries adds a
row), the harm weights, the workspace settings, the global analysis settings, the options
asked for, and the analysis code itself. Any change gives a new key, so nothing is ever
deleted to invalidate a result: an old one is simply no longer asked for (the store keeps
the newest few per operation, :meth:`geo.store.Store.save_result`).

The result is a pickle, so it is signed: :func:`pack_result` prefixes an HMAC-SHA256 of
the bytes under the server's secret (:func:`geo.sessions.session_secret`, the file beside
the accounts file, mode 0600) and :func:`unpack_result` refuses to unpickle anything whose
signature does not verify (a workspace file copied in from elsewhere, or edited, is never
unpickled: its analyses are recomputed). Reading a stored result is only ever done by a service
after its access check: :func:`geo.services.analyse_operation` (analyses),
:func:`geo.services.partner_published` (the published table) and :func:`geo.services.stored_hotspots`
(the Hotspots page's default runs, :mod:`geo.stored_hotspots`).

The partners' published base table (:func:`geo.disclosure.published_for`) is kept the same way
under :func:`published_key` (the import history, harm weights, settings, threshold, quarters and
the code; not the operations register): it is built by the one disclosure function and
only stored here, read back by :func:`geo.services.partner_published` (:func:`load_stored`, :func:`keep_stored`).

References
----------
Python documentation, ``pickle``: "Never unpickle data that could have come from an
untrusted source ... Consider signing data with hmac if you need to ensure that it has not
been tampered with." https://docs.python.org/3/library/pickle.html
"""
from __future__ import annotations

import hashlib
import hmac
import json
import pickle
from pathlib import Path

#: Bumped when the stored form of a result changes.
FORMAT = b"geo-result-1"
_CODE: dict[str, str] = {}
#: The "operation" the published base tables are kept under (:meth:`geo.store.Store.save_result`
#: keeps the newest few per operation id; no operation id has a space).
PUBLISHED_ID = "published table"


def code_version(part: str = "analysis") -> str:
    """A digest of the code a kept result was computed by: a result of other code is not reused.

    Every module of the analysis core (``geo/**/*.py``) is hashed, not a list of the modules a result
    is thought to depend on: a kept result goes through readers, harm weights, scoping, geometry and
    labels as well as its statistic, and a list that misses one would hand out a result the current
    code would not give. Any change to ``geo`` therefore rebuilds what is kept (in the background).
    ``part`` (``"analysis"``, ``"disclosure"``, ``"hotspots"``, ``"incidents"``) keeps the digests of
    different kinds of kept result apart.
    """
    if part not in _CODE:
        root = Path(__file__).parent
        h = hashlib.sha256(FORMAT + b"\0" + part.encode())
        for f in sorted(root.rglob("*.py")):
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
        _CODE[part] = h.hexdigest()
    return _CODE[part]


def digest(obj) -> str:
    """SHA-256 of ``obj`` as sorted JSON (what every stored-result key is)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


_digest = digest


def data_version(store, *, register: bool = True) -> str:
    """A digest of what an analysis reads besides its options: the import history, harm weights,
    workspace settings and (``register``) the whole operations register (records and target geometries).

    Unlike :meth:`geo.store.Store.version`, it does not move with an audit entry or a stored result.
    """
    import shapely

    from .settings import settings as global_settings
    ops_register = None
    if register:
        ops = store.read_operations()
        ops_register = sorted(zip(ops["op_id"].astype(str), ops["record"].astype(str),
                                  [None if g is None else shapely.to_wkb(g, hex=True) for g in ops.geometry.values]))
    history = store.import_history()
    harm = store.harm_weights()
    return _digest({"history": history.astype(str).to_dict("split"), "harm": harm.astype(str).to_dict("split"),
                    "settings": store.settings(), "register": ops_register, "global": repr(global_settings)})


def result_key(store, op_id: str, options: dict) -> str:
    """The key of the analysis of operation ``op_id`` with ``options`` (every keyword the analysis
    gets, ``None`` for defaults) in ``store`` as it is now; see the module docstring."""
    return _digest({"op": str(op_id), "options": options, "data": data_version(store), "code": code_version()})


def published_key(store, *, threshold: int, quarters) -> str:
    """The key of the published base table with ``threshold`` over ``quarters`` of ``store`` as it is
    now: its imports, harm weights and settings (not its operations) and the disclosure code."""
    return _digest({"published": {"threshold": int(threshold), "quarters": [str(q) for q in quarters]},
                    "data": data_version(store, register=False), "code": code_version("disclosure")})


def load_stored(store, key: str):
    """The result stored under ``key``, or ``None`` (none, not signed by this server, or the store or
    the server's secret cannot be read)."""
    from .store import StoreError
    try:
        return unpack_result(store.load_result(key))
    except (StoreError, OSError):  # OSError: the server's secret cannot be read or made
        return None


def has_stored(store, key: str) -> bool:
    """Whether a result signed by this server is stored under ``key`` (its signature checked, nothing
    unpickled; ``False`` when the store or the server's secret cannot be read)."""
    from .store import StoreError
    try:
        blob = store.load_result(key)
        if not blob or len(blob) < 32:
            return False
        return hmac.compare_digest(blob[:32], hmac.new(_secret(None), blob[32:], hashlib.sha256).digest())
    except (StoreError, OSError):
        return False


def keep_stored(store, key: str, op_id: str, result, *, on_saved=None, again=None, keep: int = 8) -> bool:
    """Store ``result`` under ``key`` unless the data changed meanwhile (``again()``, the key computed
    now, differs: an import during the computation) or the store cannot be written (a read-only
    file) or the secret cannot be made (a read-only accounts folder). ``on_saved(before, after)``
    gets what :meth:`geo.store.Store.save_result` returns (a file store's modification times); ``keep``:
    how many results of ``op_id`` the store keeps (the newest). Returns whether it was stored."""
    from .store import StoreError
    try:
        if again is not None and again() != key:
            return False
        times = store.save_result(key, op_id, pack_result(result), keep=keep)
        if on_saved is not None and times is not None:
            on_saved(*times)
    except (StoreError, OSError):
        return False
    return True


def pack_result(result, *, secret: bytes | None = None) -> bytes:
    """``result`` pickled, prefixed with its HMAC-SHA256 under ``secret`` (default the server's)."""
    body = FORMAT + b"\n" + pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    return hmac.new(_secret(secret), body, hashlib.sha256).digest() + body


def unpack_result(blob: bytes | None, *, secret: bytes | None = None):
    """The result :func:`pack_result` stored, or ``None`` if ``blob`` is missing, of another format,
    or its signature does not verify (then nothing is unpickled)."""
    if not blob or len(blob) < 32:
        return None
    sig, body = blob[:32], blob[32:]
    if not hmac.compare_digest(sig, hmac.new(_secret(secret), body, hashlib.sha256).digest()):
        return None
    head, _, payload = body.partition(b"\n")
    if head != FORMAT:
        return None
    try:
        return pickle.loads(payload)  # noqa: S301 - signed by this server (verified above)
    except Exception:  # noqa: BLE001 - a class renamed since: recompute
        return None


def _secret(secret: bytes | None) -> bytes:
    if secret is not None:
        return secret
    from .sessions import session_secret
    return session_secret()
