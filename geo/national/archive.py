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


def bcu_of(lsoa_name):
    """The district of an LSOA name ("Sheffield 001A" -> "Sheffield"): the BCU used nationally.

    police.uk names every LSOA after its local authority district; in South Yorkshire (and
    most forces) the Basic Command Units are districts or groups of them, so districts are
    the national BCU cut. Rows with no LSOA get ``""``.
    """
    s = lsoa_name.fillna("").astype(str).str.strip()
    return s.str.replace(r"\s+\d{3}[A-Z]$", "", regex=True)


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


def marker_path(out, source: Source) -> Path:
    return Path(out) / "_done" / f"{source.key}.json"


def is_done(out, source: Source) -> bool:
    """Whether the source's partitions were finished by an earlier run."""
    return marker_path(out, source).exists()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def partition_source(source: Source, out, harm_table, *, crs: str = "EPSG:27700") -> dict:
    """Read, weight and write one archive file; the unit of work of the national pipeline.

    Parameters
    ----------
    source : Source
    out : str or Path
        The national output folder.
    harm_table : pandas.DataFrame
        ``category``, ``weight`` (see :func:`geo.harm.read_harm_weights`).
    crs : str
        Projected CRS of the national grid (British National Grid).

    Returns
    -------
    dict
        The completion record (also written as the marker): ``source``, ``rows`` read and
        ``kept``, ``coverage`` (``[force, month, rows]`` of every status) and ``files``.
        ``skipped`` is True when the marker already existed and nothing was done.

    Raises
    ------
    GeoInputError
        From the reader, naming the file, row and column.
    """
    import pandas as pd

    from ..coverage import force_key
    from ..harm import in_basket, weights_for

    out = Path(out)
    marker = marker_path(out, source)
    if marker.exists():
        done = json.loads(marker.read_text())
        done["skipped"] = True
        return done
    res = _read(source, crs)
    f = res.frame
    f["force"] = pd.Series([force_key(v) for v in f["force"]], index=f.index, dtype="str")
    f["bcu"] = bcu_of(f["lsoa_name"])
    f["harm"] = weights_for(f["category"], harm_table)
    f["in_basket"] = in_basket(f)
    f = f[POINT_COLUMNS]
    files = []
    for (force, month), part in f.groupby(["force", "month"], sort=True):
        slug = re.sub(r"[^a-z0-9]+", "-", force.lower()).strip("-") or "unknown"
        target = out / "points" / slug / month / f"{source.key}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        part.reset_index(drop=True).to_parquet(tmp, write_covering_bbox=True, index=False)
        os.replace(tmp, target)
        files.append(target.relative_to(out).as_posix())
    f = f.assign(basket_harm=f["harm"].where(f["in_basket"], 0.0), basket=f["in_basket"].astype("int64"))
    agg = (f.groupby(AGG_KEYS, sort=True, dropna=False)
           .agg(count=("harm", "size"), harm=("harm", "sum"), basket_count=("basket", "sum"),
                basket_harm=("basket_harm", "sum")).reset_index())
    agg_path = out / "_agg" / f"{source.key}.parquet"
    agg_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = agg_path.with_name(f".{agg_path.name}.tmp")
    pd.DataFrame(agg).to_parquet(tmp, index=False)
    os.replace(tmp, agg_path)
    cov = f.groupby(["force", "month"]).size()
    record = {
        "source": source.display, "member": source.member, "rows": int(res.report.rows_read),
        "kept": int(len(f)), "coverage": [[k[0], k[1], int(v)] for k, v in cov.items()],
        "files": files, "aggregate": agg_path.relative_to(out).as_posix(), "skipped": False,
    }
    _atomic_write_bytes(marker, json.dumps(record, indent=1).encode())
    return record
