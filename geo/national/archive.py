"""The police.uk archive for all forces, one file at a time, into partitioned GeoParquet.

police.uk publishes one street-crime file per force and month, laid out as
``YYYY-MM/YYYY-MM-<force>-street.csv`` in its download (a folder or a zip). Each file is a
task of its own: read and validated by :func:`geo.io.read_police_uk` (so a bad row is
refused with the file, row and column named), weighted by the harm table, and written as
one GeoParquet file per force and month it holds, with bbox covering columns, plus a small
aggregate (counts and harm per force, BCU, LSOA and month) that the panels are reduced
from. Nothing here needs more than one file in memory.

A file is finished when its completion marker exists (``_done/<key>.json``, written last
and atomically); a second run skips it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import GeoInputError

#: ``2024-01/2024-01-south-yorkshire-street.csv`` or ``2024-01-south-yorkshire-street.csv``.
_NAME = re.compile(r"(?:^|/)(?P<month>(?:19|20)\d\d-(?:0[1-9]|1[0-2]))-(?P<force>[a-z0-9-]+?)-street\.csv$",
                   re.IGNORECASE)
#: Columns kept in the GeoParquet points (everything the panels, Gi* and the monitor need).
POINT_COLUMNS = ["uid", "month", "category", "force", "bcu", "lsoa_code", "x", "y", "status",
                 "harm", "in_basket", "geometry"]
AGG_KEYS = ["force", "bcu", "lsoa_code", "month"]
#: Rows per Parquet row group of the points (sorted by BCU, so its statistics let a BCU read skip groups).
ROW_GROUP = 4096


@dataclass(frozen=True)
class Source:
    """One street-crime file of the archive.

    Attributes
    ----------
    archive : str
        The folder or zip given.
    member : str
        Path of the file inside it (``/``-separated).
    month : str
        ``YYYY-MM`` from the file name (the rows' own months are what count).
    force_slug : str
        The force part of the file name, e.g. ``south-yorkshire``.
    """

    archive: str
    member: str
    month: str
    force_slug: str

    @property
    def key(self) -> str:
        """A file-name-safe identity of the source, unique within the archive."""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.member.removesuffix(".csv"))

    @property
    def display(self) -> str:
        return f"{Path(self.archive).name}:{self.member}" if zipfile.is_zipfile(self.archive) \
            else str(Path(self.archive) / self.member)


def list_sources(archive) -> list[Source]:
    """The street-crime files of a police.uk archive (folder or zip), in name order.

    Outcomes and stop-and-search files (``-outcomes.csv``, ``-stop-and-search.csv``) are
    not street crime and are left out, as police.uk ships them side by side.

    Raises
    ------
    GeoInputError
        When the path does not exist or holds no ``*-street.csv`` file.
    """
    path = Path(archive)
    if path.is_dir():
        members = sorted(p.relative_to(path).as_posix() for p in path.rglob("*.csv"))
    elif path.exists() and zipfile.is_zipfile(path):
        from ..io import check_archive
        check_archive(path)
        with zipfile.ZipFile(path) as zf:
            members = sorted(n for n in zf.namelist() if n.lower().endswith(".csv"))
    elif path.exists():
        raise GeoInputError("The national archive must be a folder or a zip of police.uk files",
                            where=str(path), fix="give the unpacked police.uk download folder or its zip")
    else:
        raise GeoInputError("The archive does not exist", where=str(path), fix="check the path")
    out = []
    for m in members:
        hit = _NAME.search(m)
        if hit:
            out.append(Source(str(path), m, hit["month"], hit["force"].lower()))
    if not out:
        raise GeoInputError("The archive holds no police.uk street-crime file (YYYY-MM-<force>-street.csv)",
                            where=str(path), fix="download the archive from data.police.uk with street crime ticked")
    return out


def force_slug(force: str) -> str:
    """The folder name of a force's points: ``"South Yorkshire"`` -> ``"south-yorkshire"``."""
    return re.sub(r"[^a-z0-9]+", "-", str(force).lower()).strip("-") or "unknown"


def bcu_of(lsoa_name):
    """The district of an LSOA name ("Sheffield 001A" -> "Sheffield"): the BCU used nationally.

    police.uk names every LSOA after its local authority district; in South Yorkshire (and
    most forces) the Basic Command Units are districts or groups of them, so districts are
    the national BCU cut. Rows with no LSOA get ``""``.
    """
    import pandas as pd
    s = lsoa_name.fillna("").astype(str)
    names = pd.unique(s)  # a few hundred names per force: the regex runs on those only
    short = pd.Series(names, dtype="str").str.strip().str.replace(r"\s+\d{3}[A-Z]$", "", regex=True)
    return s.map(dict(zip(names, short))).astype("str")


def _read(source: Source, crs: str):
    """Read one source with geo's police.uk reader; errors name the archive member."""
    from ..io import read_police_uk
    path = Path(source.archive)
    if path.is_dir():
        return read_police_uk(path / source.member, crs=crs)
    tmp = Path(tempfile.mkdtemp(prefix="national-"))
    try:
        local = tmp / source.member
        local.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path) as zf:
            local.write_bytes(zf.read(source.member))
        try:
            return read_police_uk(local, crs=crs)
        except GeoInputError as err:  # name the member of the zip, not the scratch copy
            where = (err.where or "").replace(str(local), source.display)
            raise GeoInputError(err.what, where=where, fix=err.fix) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass(frozen=True)
class Batch:
    """Several street-crime files of one month, read and written as one task.

    police.uk publishes one small file per force and month (about 2,000-12,000 rows), and a
    file's fixed cost (parsing, validating, weighting, aggregating) dwarfs its rows; a batch
    pays it once for many files. Batches hold the files of one month folder, in name order,
    up to ``batch_bytes`` of CSV each, so a batch's memory is bounded whatever the archive's
    size, and a month added later never changes the batches of earlier months.

    Attributes
    ----------
    sources : tuple of Source
    """

    sources: tuple

    @property
    def key(self) -> str:
        """Identity of the batch: its first file and a digest of all its members."""
        import hashlib
        digest = hashlib.sha1("\n".join(s.member for s in self.sources).encode()).hexdigest()[:10]
        return f"{self.sources[0].key}+{len(self.sources)}-{digest}"


def _source_size(source: Source) -> int:
    path = Path(source.archive)
    if path.is_dir():
        return (path / source.member).stat().st_size
    with zipfile.ZipFile(path) as zf:
        return zf.getinfo(source.member).file_size


def make_batches(sources, *, batch_bytes: int = 32 * 2**20) -> list[Batch]:
    """Group sources into batches: same month, name order, at most ``batch_bytes`` of CSV each.

    A file larger than ``batch_bytes`` is a batch of its own.
    """
    out, cur, size, month = [], [], 0, None
    for s in sorted(sources, key=lambda s: (s.month, s.member)):
        n = _source_size(s)
        if cur and (s.month != month or size + n > batch_bytes):
            out.append(Batch(tuple(cur)))
            cur, size = [], 0
        cur.append(s)
        size += n
        month = s.month
    if cur:
        out.append(Batch(tuple(cur)))
    return out


def marker_path(out, source) -> Path:
    """The completion marker of a :class:`Batch` (or of a single :class:`Source`)."""
    return Path(out) / "_done" / f"{source.key}.json"


def finished(out) -> dict[str, dict]:
    """Completion records of the finished batches, by batch key."""
    folder = Path(out) / "_done"
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))} if folder.exists() else {}


def done_members(records) -> set[str]:
    """Archive members (``YYYY-MM/...-street.csv``) finished, from :func:`finished` records."""
    return {m for r in records for m in r.get("members", [r.get("member")]) if m}


def is_done(out, source: Source) -> bool:
    """Whether the source was finished by an earlier run (in any batch)."""
    return source.member in done_members(finished(out).values())


def remove_unfinished(out) -> int:
    """Delete points and aggregates left by a batch that never finished (no marker); return how many.

    A killed run may leave some of a batch's files written and its marker not: they would
    be counted twice when the batch is redone (possibly grouped differently).
    """
    out = Path(out)
    keys = set(finished(out))
    n = 0
    for pattern in ("points/*/*/*.parquet", "_agg/*.parquet"):
        for f in out.glob(pattern):
            if f.stem not in keys:
                f.unlink()
                n += 1
    return n


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _raw_bytes(sources) -> list[bytes]:
    path = Path(sources[0].archive)
    if path.is_dir():
        return [(path / s.member).read_bytes() for s in sources]
    with zipfile.ZipFile(path) as zf:
        return [zf.read(s.member) for s in sources]


def _read_batch(batch: Batch, crs: str):
    """One reader call for the whole batch: the files' rows concatenated under one header.

    Returns None when the files cannot be read as one (headers differ, a file is not
    clean street crime, or the reader refuses the joined rows): the caller then reads
    them one by one, so an error names its own file, row and column.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from ..io import read_police_uk
    from ..io.checks import check_lonlat_file
    import pyarrow.compute as pc
    raws = _raw_bytes(batch.sources)
    header, bodies, ids = None, [], []
    for src, raw in zip(batch.sources, raws):
        raw = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
        head, sep, body = raw.partition(b"\n")
        if header is None:
            header = head.rstrip(b"\r")
        elif head.rstrip(b"\r") != header or not sep:
            return None
        try:  # a file's coordinates are checked on their own (swapped, projected): cheap, two columns
            t = pacsv.read_csv(pa.BufferReader(raw), read_options=pacsv.ReadOptions(use_threads=False), convert_options=pacsv.ConvertOptions(
                include_columns=["Crime ID", "Longitude", "Latitude"],
                column_types={"Crime ID": "string", "Longitude": "float64", "Latitude": "float64"}))
            check_lonlat_file(t["Longitude"].to_numpy(zero_copy_only=False).astype(np.float64),
                              t["Latitude"].to_numpy(zero_copy_only=False).astype(np.float64),
                              src.display, "Longitude", "Latitude")
            crime_ids = pc.utf8_trim_whitespace(t["Crime ID"].combine_chunks())
            ids.append(pc.unique(pc.filter(crime_ids, pc.not_equal(crime_ids, ""))))
        except Exception:  # noqa: BLE001 - any doubt: the one-by-one path words the error
            return None
        bodies.append(body if body.endswith(b"\n") or not body else body + b"\r\n")
    # A Crime ID repeated within a file is one record's several offences (the k-th repeat gets
    # "#k"); the same Crime ID in two files of the batch must keep the identity it has when each
    # file is read alone, so such a batch is read file by file.
    if len(ids) > 1:
        every = pa.chunked_array(ids, type=pa.string())
        if len(pc.unique(every)) < len(every):
            return None
    tmp = Path(tempfile.mkdtemp(prefix="national-"))
    try:
        joined = tmp / f"{batch.sources[0].month}-batch-street.csv"
        joined.write_bytes(header + b"\r\n" + b"".join(bodies))
        del bodies, raws
        try:
            res = read_police_uk(joined, crs=crs)
        except GeoInputError:
            return None
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def partition_source(source: Source, out, harm_table, *, crs: str = "EPSG:27700") -> dict:
    """Read, weight and write one archive file (a batch of one); see :func:`partition_batch`."""
    return partition_batch(Batch((source,)), out, harm_table, crs=crs)


def partition_batch(batch: Batch, out, harm_table, *, crs: str = "EPSG:27700") -> dict:
    """Read, weight and write a batch of archive files; the unit of work of the national pipeline.

    The batch's files are read by one call of :func:`geo.io.read_police_uk` (each file's
    coordinates first checked on their own); if the joined rows are refused, the files are
    done one by one instead, so the files before a bad one finish (their own markers) and
    the error names the bad file, row and column.

    Parameters
    ----------
    batch : Batch
    out : str or Path
        The national output folder.
    harm_table : pandas.DataFrame
        ``category``, ``weight`` (see :func:`geo.harm.read_harm_weights`).
    crs : str
        Projected CRS of the national grid (British National Grid).

    Returns
    -------
    dict
        The completion record (also written as the marker): ``members`` (archive paths),
        ``rows`` read and ``kept``, ``coverage`` (``[force, month, rows]`` of every
        status) and ``files``. ``skipped`` is True when the marker already existed.

    Raises
    ------
    GeoInputError
        From the reader, naming the file, row and column.
    """
    out = Path(out)
    marker = marker_path(out, batch)
    if marker.exists():
        done = json.loads(marker.read_text())
        done["skipped"] = True
        return done
    if len(batch.sources) == 1:
        res = _read(batch.sources[0], crs)
    else:
        res = _read_batch(batch, crs)
        if res is None:  # one by one: each good file finishes; the bad one raises its own error
            recs = [partition_batch(Batch((s,)), out, harm_table, crs=crs) for s in batch.sources]
            return {"members": [m for r in recs for m in r["members"]], "rows": sum(r["rows"] for r in recs),
                    "kept": sum(r["kept"] for r in recs),
                    "coverage": [c for r in recs for c in r["coverage"]],
                    "files": [f for r in recs for f in r["files"]], "skipped": False, "split": True}
    return _write_batch(batch, res, out, harm_table, marker)


def _write_batch(batch: Batch, res, out: Path, harm_table, marker: Path) -> dict:
    import numpy as np
    import pandas as pd

    from ..coverage import force_key
    from ..harm import in_basket, weights_for

    f = res.frame
    names = pd.unique(f["force"])
    f["force"] = f["force"].map({v: force_key(v) for v in names}).astype("str")
    f["bcu"] = bcu_of(f["lsoa_name"])
    f["harm"] = weights_for(f["category"], harm_table)
    f["in_basket"] = in_basket(f)
    f = f[POINT_COLUMNS]
    # sorted by BCU inside each force-month, in row groups: a BCU read skips the other BCUs' groups
    f = f.sort_values(["force", "month", "bcu"], kind="stable", ignore_index=True)
    files = _write_points(f, out, batch.key)
    harm = f["harm"].to_numpy()
    basket = f["in_basket"].to_numpy()
    cols = pd.DataFrame({k: f[k] for k in AGG_KEYS})
    cols["count"] = 1
    cols["harm"] = harm
    cols["basket_count"] = basket.astype("int64")
    cols["basket_harm"] = np.where(basket, harm, 0.0)
    agg = cols.groupby(AGG_KEYS, sort=True, dropna=False).sum().reset_index()
    agg_path = out / "_agg" / f"{batch.key}.parquet"
    agg_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = agg_path.with_name(f".{agg_path.name}.tmp")
    agg.to_parquet(tmp, index=False)
    os.replace(tmp, agg_path)
    cov = f.groupby(["force", "month"]).size()
    record = {
        "members": [s.member for s in batch.sources], "source": batch.sources[0].display,
        "rows": int(res.report.rows_read), "kept": int(len(f)),
        "coverage": [[k[0], k[1], int(v)] for k, v in cov.items()],
        "files": files, "aggregate": agg_path.relative_to(out).as_posix(), "skipped": False,
    }
    _atomic_write_bytes(marker, json.dumps(record, indent=1).encode())
    return record


def _write_points(f, out: Path, key: str) -> list[str]:
    """Write ``f`` (sorted by force, month) as one GeoParquet file per force and month.

    The frame is converted to Arrow once (GeoParquet 1.1 with bbox covering columns) and
    sliced per force-month, each slice's ``geo`` metadata bbox set to its own rows.
    """
    import numpy as np
    import pyarrow.parquet as pq
    try:
        from geopandas.io.arrow import _geopandas_to_arrow
    except ImportError:  # another geopandas: one conversion per force-month instead
        _geopandas_to_arrow = None
    keys = (f["force"] + "|" + f["month"]).to_numpy()
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(f) else np.array([], dtype=int)
    ends = np.r_[starts[1:], len(f)]
    table = _geopandas_to_arrow(f, index=False, write_covering_bbox=True) if _geopandas_to_arrow else None
    files = []
    for a, b in zip(starts, ends):
        force, month = f["force"].iat[a], f["month"].iat[a]
        target = out / "points" / force_slug(force) / month / f"{key}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        part = f.iloc[a:b]
        if table is None:
            part.reset_index(drop=True).to_parquet(tmp, write_covering_bbox=True, index=False,
                                                   row_group_size=ROW_GROUP)
        else:
            piece = table.slice(a, b - a)
            meta = dict(piece.schema.metadata)
            geo = json.loads(meta[b"geo"])
            bounds = part.geometry.total_bounds
            if np.isfinite(bounds).all():
                geo["columns"]["geometry"]["bbox"] = [float(v) for v in bounds]
            else:
                geo["columns"]["geometry"].pop("bbox", None)
            meta[b"geo"] = json.dumps(geo).encode()
            pq.write_table(piece.replace_schema_metadata(meta), tmp, row_group_size=ROW_GROUP)
        os.replace(tmp, target)
        files.append(target.relative_to(out).as_posix())
    return files
