"""The national pipeline on dask.distributed: archive -> GeoParquet -> panels -> hot spots.

Work is submitted as dask futures to a ``LocalCluster`` started here (2 worker processes
of 2 GB each by default) or to an existing scheduler given by address. Step 1 is one task
per batch of archive files (the files of one month up to ``batch_bytes``,
:func:`geo.national.archive.partition_batch`); step 2 reduces the small per-batch
aggregates to the panels; step 3 is one task per force (Gi*, emerging hot spots);
step 4, when a workspace is given, one task per registered operation (the cross-force
displacement monitor). A file already finished (its batch's completion marker exists) is skipped.
"""
from __future__ import annotations

import contextlib
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GeoInputError
from .archive import (done_members, finished, force_slug, list_sources, make_batches, partition_batch,
                      remove_unfinished)
from .forces import force_hotspots, monitor_operation, write_json

logger = logging.getLogger(__name__)


@dataclass
class NationalResult:
    """What a national run did.

    Attributes
    ----------
    out : Path
        The output folder.
    files : int
        Archive files in the run.
    done_now, skipped : int
        Files processed by this run, and files finished by an earlier one.
    rows : int
        Rows read from the archive (all files).
    panels : dict
        Panel name -> Parquet path.
    uncovered : list of (str, str)
        Force-months in the archive's span with no file: not covered.
    forces : list of dict
        Per-force hot-spot records (see :func:`geo.national.forces.force_hotspots`).
    monitor : Path or None
        The displacement monitor table, when a workspace was given.
    """

    out: Path
    files: int = 0
    done_now: int = 0
    skipped: int = 0
    rows: int = 0
    panels: dict = field(default_factory=dict)
    uncovered: list = field(default_factory=list)
    forces: list = field(default_factory=list)
    monitor: Path | None = None


class _Progress:
    """A plain progress bar on stderr (one line, redrawn)."""

    def __init__(self, total: int, label: str, stream=None, width: int = 30):
        self.total, self.label, self.n, self.width = max(total, 1), label, 0, width
        self.stream = stream if stream is not None else sys.stderr
        self.t0 = time.monotonic()
        self.draw()

    def draw(self) -> None:
        filled = int(self.width * self.n / self.total)
        self.stream.write(f"\r{self.label:<10} [{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{self.n}/{self.total} {time.monotonic() - self.t0:5.0f} s")
        self.stream.flush()

    def step(self) -> None:
        self.n += 1
        self.draw()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _gather(client, futures, label: str, progress: bool):
    """Results of ``futures`` as they finish; the first error cancels the rest and is raised."""
    from distributed import as_completed
    bar = _Progress(len(futures), label) if progress else None
    results = []
    try:
        for fut in as_completed(futures):
            results.append(fut.result())  # re-raises the task's GeoInputError here
            if bar:
                bar.step()
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        if bar:
            bar.close()
    return results


@contextlib.contextmanager
def connect(scheduler: str | None = None, *, workers: int = 2, memory_limit: str = "2GB",
            processes: bool = True):
    """A dask ``Client``: to ``scheduler`` if given, else to a new ``LocalCluster``.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://host:8786``.
    workers : int
        Worker processes of the local cluster (one thread each).
    memory_limit : str
        Memory limit per worker, e.g. ``"2GB"``: dask spills, pauses and restarts a
        worker that goes over.
    processes : bool
        ``False`` runs the workers as threads in this process (tests).
    """
    from distributed import Client, LocalCluster
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, memory_limit=memory_limit,
                      processes=processes, dashboard_address=":0") as cluster, Client(cluster) as client:
        yield client


def run_national(archive, out, *, client=None, scheduler: str | None = None, workers: int = 2,
                 memory_limit: str = "2GB", processes: bool = True, harm_table=None,
                 workspace=None, cell_size: float = 500.0, hotspots: bool = True,
                 progress: bool = True, batch_bytes: int = 32 * 2**20) -> NationalResult:
    """Run the national pipeline over a police.uk archive of all forces.

    Parameters
    ----------
    archive : str or Path
        Folder or zip in police.uk layout (``YYYY-MM/YYYY-MM-<force>-street.csv``).
    out : str or Path
        Output folder: ``points/<force>/<YYYY-MM>/*.parquet`` (GeoParquet with bbox
        covering columns), ``panels/{force,bcu,lsoa,coverage}.parquet``,
        ``hotspots/<f>.parquet``, ``emerging/<f>.parquet``, ``monitor.parquet`` and
        ``summary.json``.
    client : distributed.Client, optional
        Use this client (and its cluster) as is.
    scheduler : str, optional
        Address of an existing dask scheduler; otherwise a ``LocalCluster`` is started.
    workers, memory_limit, processes
        The local cluster (see :func:`connect`).
    harm_table : pandas.DataFrame, optional
        Harm weights; default: the bundled CCHI table.
    workspace : str or Path, optional
        A workspace GeoPackage whose registered operations the displacement monitor
        follows across forces.
    cell_size : float
        National grid cell side in metres for the hot spots.
    hotspots : bool
        Run the per-force Gi* and emerging hot spots.
    progress : bool
        Draw progress bars on stderr.
    batch_bytes : int
        CSV bytes per task at most: files of one month are read, validated and written
        together up to this size (see :func:`geo.national.archive.make_batches`), which
        bounds a worker's memory and pays the per-file fixed cost once per batch.

    Returns
    -------
    NationalResult

    Raises
    ------
    GeoInputError
        For an archive that cannot be read, or a file with a bad header or coordinates
        (naming the file, row and column); the files finished before it stay finished.
    """
    if client is None:
        with connect(scheduler, workers=workers, memory_limit=memory_limit, processes=processes) as c:
            return run_national(archive, out, client=c, harm_table=harm_table, workspace=workspace,
                                cell_size=cell_size, hotspots=hotspots, progress=progress,
                                batch_bytes=batch_bytes)
    from ..harm import read_harm_weights
    from ..workspace import DEFAULT_HARM_TABLE
    from .panels import coverage_frame, month_span, write_panels

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sources = list_sources(archive)
    table = harm_table if harm_table is not None else read_harm_weights(DEFAULT_HARM_TABLE)
    table = table[["category", "weight"]]
    res = NationalResult(out=out, files=len(sources))
    remove_unfinished(out)  # what a killed run left without a marker is redone, not counted twice
    held = done_members(finished(out).values())
    todo = [s for s in sources if s.member not in held]
    res.skipped = len(sources) - len(todo)
    batches = make_batches(todo, batch_bytes=batch_bytes)
    t_table = client.scatter(table, broadcast=True)
    futs = client.map(partition_batch, batches, out=str(out), harm_table=t_table, pure=False)
    _gather(client, futs, "batches", progress and bool(todo))
    res.done_now = len(todo)
    # every record, new or old, from the markers (a resumed run sees the earlier files)
    members = {s.member for s in sources}
    records = [r for r in finished(out).values() if set(r.get("members", [r.get("member")])) & members]
    res.rows = sum(r["rows"] for r in records)
    res.panels = {k: str(v) for k, v in write_panels(out, records).items()}
    covered = coverage_frame(records)
    forces = sorted(covered["force"].unique())
    months = month_span(covered["month"])
    have = set(zip(covered["force"], covered["month"]))
    res.uncovered = [(f, m) for f in forces for m in months if (f, m) not in have]
    if hotspots:
        slug = {f: force_slug(f) for f in forces}
        futs = [client.submit(force_hotspots, str(out), slug[f], sorted(covered.loc[covered["force"] == f, "month"]),
                              cell_size=cell_size, pure=False) for f in forces]
        res.forces = sorted(_gather(client, futs, "forces", progress), key=lambda r: r["force"])
    if workspace is not None:
        res.monitor = _monitor(client, out, workspace, covered, progress)
    write_json(out / "summary.json", {
        "archive": str(archive), "files": res.files, "rows": res.rows, "done_now": res.done_now,
        "skipped": res.skipped, "months": months, "forces": forces,
        "uncovered": [list(p) for p in res.uncovered], "hotspots": res.forces, "panels": res.panels,
        "monitor": str(res.monitor) if res.monitor else None,
    })
    return res


def _monitor(client, out: Path, workspace, covered, progress: bool) -> Path:
    """The cross-force displacement monitor around every operation of ``workspace``."""
    import pandas as pd
    import shapely

    from ..workspace import Workspace
    path = Path(workspace)
    if not path.exists():
        raise GeoInputError("The workspace does not exist", where=str(path),
                            fix="give the .gpkg of the workspace whose operations to monitor")
    ws = Workspace.open(path)
    areas = ws.operation_areas()
    if str(areas.crs) != "EPSG:27700" and areas.crs is not None and not areas.empty:
        areas = areas.to_crs("EPSG:27700")
    by_id = {o.op_id: o for o in ws.operations()}
    jobs = []
    for _, row in areas.iterrows():
        op = by_id.get(row.get("op_id"))
        if op is None or row.geometry is None:
            continue
        jobs.append(({"op_id": op.op_id, "name": op.name, "start": op.start, "end": op.end},
                     shapely.to_wkb(row.geometry)))
    futs = [client.submit(monitor_operation, str(out), op, wkb, covered, pure=False) for op, wkb in jobs]
    tables = _gather(client, futs, "operations", progress) if futs else []
    df = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=["op_id", "operation", "force", "zone", "before_harm", "during_harm", "change", "covered"])
    target = out / "monitor.parquet"
    df.to_parquet(target, index=False)
    return target
