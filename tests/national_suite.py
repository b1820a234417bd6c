"""The national pipeline (geo.national) on real police.uk months: South Yorkshire and its
neighbouring forces laid out as police.uk's archive, on an in-process dask LocalCluster."""
from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest

from tests.conftest import sy_street_csv

pytest.importorskip("distributed")

from geo.errors import GeoInputError  # noqa: E402

SY_MONTHS = ("2025-01", "2025-02", "2025-03")
NEIGHBOUR_MONTHS = ("2025-01", "2025-03")  # 2025-02 left out: those force-months are not covered


def _slug(force: str) -> str:
    return force.lower().replace(" ", "-")


def _split_by_force(raw: bytes) -> dict[str, bytes]:
    """A multi-force police.uk file as one file per force ("Reported by"), bytes kept."""
    text = raw.decode("utf-8")
    lines = text.splitlines(keepends=True)
    col = next(csv.reader([lines[0]])).index("Reported by")
    out: dict[str, list[str]] = {}
    for line in lines[1:]:
        force = next(csv.reader([line]))[col]
        out.setdefault(force, [lines[0]]).append(line)
    return {f: "".join(v).encode("utf-8") for f, v in out.items()}


def build_archive(folder, sy_months=SY_MONTHS, neighbour_months=NEIGHBOUR_MONTHS):
    """Real months in police.uk's archive layout: ``YYYY-MM/YYYY-MM-<force>-street.csv``."""
    for m in sy_months:
        (folder / m).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sy_street_csv(m), folder / m / f"{m}-south-yorkshire-street.csv")
    for m in neighbour_months:
        (folder / m).mkdir(parents=True, exist_ok=True)
        for force, data in _split_by_force(sy_street_csv(m, neighbours=True).read_bytes()).items():
            (folder / m / f"{m}-{_slug(force)}-street.csv").write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def client():
    from geo.national import connect
    with connect(workers=1, processes=False, memory_limit="2GB") as c:
        yield c


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A workspace with one operation on the South Yorkshire / Derbyshire boundary (March 2025)."""
    from geo.operations import Operation
    from geo.workspace import Workspace
    path = tmp_path_factory.mktemp("ws") / "sy.gpkg"
    ws = Workspace.create(path, name="South Yorkshire", crs="EPSG:27700", force="South Yorkshire")
    ws.save_operation(Operation(name="Op Border", bcu="E08000019", tactic="Test purchase",
                                start="2025-03-01", end="2025-03-31", target_kind="point_radius",
                                lon=-1.47, lat=53.316, radius_m=800.0))
    return path


@pytest.fixture(scope="module")
def national(tmp_path_factory, client, workspace):
    from geo.national import run_national
    archive = build_archive(tmp_path_factory.mktemp("archive"))
    out = tmp_path_factory.mktemp("national")
    res = run_national(archive, out, client=client, workspace=workspace, progress=False)
    return archive, out, res


@pytest.fixture(scope="module")
def single(national):
    """The single-process path on the same rows: geo.io reader, geo.harm weights, geo.aggregate."""
    from geo.aggregate import monthly
    from geo.coverage import force_key
    from geo.harm import add_harm, read_harm_weights
    from geo.io import read_police_uk
    from geo.workspace import DEFAULT_HARM_TABLE
    archive, _, _ = national
    f = add_harm(read_police_uk(archive).frame, read_harm_weights(DEFAULT_HARM_TABLE))
    f["force"] = [force_key(v) for v in f["force"]]
    return f, monthly(f, by="force")


def test_force_panel_matches_single_process(national, single):
    _, out, res = national
    rows, expected = single
    assert res.rows == len(rows)
    got = pd.read_parquet(out / "panels" / "force.parquet")
    got = got[got["covered"]]
    m = expected.merge(got, on=["month", "force"], how="outer", suffixes=("_single", "_national"),
                       indicator=True)
    assert (m["_merge"] == "both").all()
    assert np.array_equal(m["count_single"].to_numpy(), m["count_national"].to_numpy())
    np.testing.assert_allclose(m["harm_single"], m["harm_national"], rtol=1e-12)
    basket = rows[rows["in_basket"]].groupby(["force", "month"])["harm"].sum()
    got_b = got.set_index(["force", "month"])["basket_harm"]
    np.testing.assert_allclose(got_b.reindex(basket.index), basket, rtol=1e-12)


def test_bcu_and_lsoa_panels_add_up_to_the_force_panel(national, single):
    _, out, _ = national
    rows, _ = single
    force = pd.read_parquet(out / "panels" / "force.parquet").set_index(["force", "month"])
    for level, unit in (("bcu", "bcu"), ("lsoa", "lsoa_code")):
        p = pd.read_parquet(out / "panels" / f"{level}.parquet")
        sums = p[p["covered"]].groupby(["force", "month"])[["count", "harm"]].sum()
        np.testing.assert_allclose(sums["harm"], force.loc[sums.index, "harm"], rtol=1e-12)
        assert (sums["count"] == force.loc[sums.index, "count"]).all()
    sheffield = rows[rows["lsoa_name"].str.startswith("Sheffield ")]
    bcu = pd.read_parquet(out / "panels" / "bcu.parquet")
    got = bcu[(bcu["bcu"] == "Sheffield") & (bcu["force"] == "South Yorkshire")].set_index("month")["harm"]
    want = sheffield[sheffield["force"] == "South Yorkshire"].groupby("month")["harm"].sum()
    np.testing.assert_allclose(got.loc[want.index], want, rtol=1e-12)


def test_uncovered_force_months_are_unknown_not_zero(national):
    _, out, res = national
    neighbours = {"Derbyshire", "Humberside", "Lincolnshire", "North Yorkshire", "Nottinghamshire"}
    assert {(f, "2025-02") for f in neighbours} <= set(res.uncovered)
    assert not [p for p in res.uncovered if p[0] == "South Yorkshire"]
    for level in ("force", "bcu", "lsoa"):
        p = pd.read_parquet(out / "panels" / f"{level}.parquet")
        gap = p[p["force"].isin(neighbours) & (p["month"] == "2025-02")]
        assert len(gap) and not gap["covered"].any()
        assert gap[["count", "harm"]].isna().all().all()
        seen = p[p["force"].isin(neighbours) & (p["month"] != "2025-02")]
        assert seen["covered"].all() and seen[["count", "harm"]].notna().all().all()
    cov = pd.read_parquet(out / "panels" / "coverage.parquet")
    assert not cov.loc[(cov["force"] == "Derbyshire") & (cov["month"] == "2025-02"), "covered"].item()


def test_geoparquet_partitions_carry_bbox_covering(national):
    import json

    import pyarrow.parquet as pq
    _, out, _ = national
    files = sorted((out / "points").glob("*/*/*.parquet"))
    forces = {f.parent.parent.name for f in files}
    assert "south-yorkshire" in forces and "derbyshire" in forces
    schema = pq.read_schema(files[0])
    assert "bbox" in schema.names
    assert "covering" in json.loads(schema.metadata[b"geo"])["columns"]["geometry"]
    assert not list((out / "points").glob("derbyshire/2025-02"))


def test_hotspots_per_force_on_the_national_grid(national):
    import geopandas as gpd
    _, out, res = national
    rec = {r["force"]: r for r in res.forces}
    assert rec["south-yorkshire"]["months"] == list(SY_MONTHS)
    assert rec["derbyshire"]["months"] == ["2025-03"]  # the latest of two equally long runs
    assert rec["derbyshire"]["emerging"] is None and "emerging" in rec["derbyshire"]["note"]
    hs = gpd.read_parquet(out / rec["south-yorkshire"]["hotspots"])
    assert {"gistar", "pvalue", "hotspot"} <= set(hs.columns)
    assert (hs["gistar"] > 3).any()
    b = hs.geometry.bounds
    assert np.allclose(b["minx"] % 500.0, 0.0) and np.allclose(b["miny"] % 500.0, 0.0)
    em = gpd.read_parquet(out / rec["south-yorkshire"]["emerging"])
    assert "pattern" in em.columns and em["pattern"].str.contains("Hot Spot").any()


def test_displacement_monitor_cuts_by_force(national, single, workspace):
    import shapely

    from geo.workspace import Workspace
    _, out, res = national
    rows, _ = single
    mon = pd.read_parquet(res.monitor)
    sy = mon[(mon["force"] == "South Yorkshire") & (mon["zone"] == "target")]
    assert len(sy) == 1 and sy["covered"].item()
    # the neighbouring force across the line is not covered in the "before" month (2025-02)
    derby = mon[mon["force"] == "Derbyshire"]
    assert len(derby) and not derby["covered"].any() and derby["during_harm"].isna().all()
    target = Workspace.open(workspace).operation_areas().geometry.iloc[0]
    mar = rows[(rows["month"] == "2025-03") & (rows["force"] == "South Yorkshire") & rows.geometry.notna()]
    inside = mar[shapely.contains_xy(target, mar.geometry.x, mar.geometry.y)]
    assert sy["during_count"].item() == len(inside) > 0
    np.testing.assert_allclose(sy["during_harm"].item(), inside["harm"].sum())


def test_second_run_does_no_work(national, client):
    from geo.national import run_national
    archive, out, first = national
    stamps = {p: p.stat().st_mtime_ns for p in (out / "points").rglob("*.parquet")}
    again = run_national(archive, out, client=client, hotspots=False, progress=False)
    assert first.done_now == first.files > 0
    assert again.done_now == 0 and again.skipped == first.files
    assert {p: p.stat().st_mtime_ns for p in (out / "points").rglob("*.parquet")} == stamps
    # an unfinished batch (no completion marker; a killed run) is redone, and only it: its
    # left-over points are removed first, so nothing is counted twice
    marker = sorted((out / "_done").glob("*.json"))[0]
    members = json.loads(marker.read_text())["members"]
    force_panel = pd.read_parquet(out / "panels" / "force.parquet")
    marker.unlink()
    third = run_national(archive, out, client=client, hotspots=False, progress=False)
    assert third.done_now == len(members) >= 1
    assert third.rows == first.rows
    pd.testing.assert_frame_equal(pd.read_parquet(out / "panels" / "force.parquet"), force_panel)
    lazy = __import__("geo.national", fromlist=["national_points"]).national_points(out, columns=["uid"])
    assert len(lazy.compute()) == int(force_panel["count"].sum())


def test_files_of_one_month_are_read_as_one_batch(national):
    from geo.national import list_sources, make_batches
    archive, out, res = national
    batches = make_batches(list_sources(archive))
    assert sorted(len(b.sources) for b in batches) == sorted(
        len(list((archive / m).glob("*.csv"))) for m in sorted({*SY_MONTHS, *NEIGHBOUR_MONTHS}))
    assert all(len({s.month for s in b.sources}) == 1 for b in batches)
    small = make_batches(list_sources(archive), batch_bytes=1)  # every file over the budget: one each
    assert len(small) == res.files


def test_bad_file_in_a_batch_lets_the_good_files_finish(tmp_path, client):
    from geo.national import list_sources, make_batches, run_national
    archive = build_archive(tmp_path / "arch", sy_months=("2025-01",), neighbour_months=("2025-01",))
    files = sorted((archive / "2025-01").glob("*.csv"))
    assert len(files) > 2 and len(make_batches(list_sources(archive))) == 1
    bad = files[-1]  # swapped coordinates: latitudes in the Longitude column
    lines = bad.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    ilon, ilat = header.index("Longitude"), header.index("Latitude")
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in csv.reader(lines[1:]):
        r[ilon], r[ilat] = r[ilat], r[ilon]
        w.writerow(r)
    bad.write_text(buf.getvalue(), encoding="utf-8")
    with pytest.raises(GeoInputError) as err:
        run_national(archive, tmp_path / "out", client=client, hotspots=False, progress=False)
    assert bad.name in str(err.value) and "swapped" in str(err.value)
    done = [json.loads(p.read_text()) for p in (tmp_path / "out" / "_done").glob("*.json")]
    assert sorted(m for d in done for m in d["members"]) == sorted(f"2025-01/{f.name}" for f in files[:-1])


def test_bad_file_names_file_row_and_column(tmp_path, client):
    from geo.national import run_national
    archive = build_archive(tmp_path / "arch", sy_months=("2025-01",), neighbour_months=())
    raw = sy_street_csv("2025-02").read_bytes().decode("utf-8").splitlines(keepends=True)
    header = next(csv.reader([raw[0]]))
    ilon, ilat = header.index("Longitude"), header.index("Latitude")
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in csv.reader(raw[1:]):  # swapped coordinates: latitudes in the Longitude column
        r[ilon], r[ilat] = r[ilat], r[ilon]
        w.writerow(r)
    bad = "2025-02/2025-02-south-yorkshire-street.csv"
    with zipfile.ZipFile(tmp_path / "archive.zip", "w") as zf:
        zf.write(archive / "2025-01" / "2025-01-south-yorkshire-street.csv", "2025-01/2025-01-south-yorkshire-street.csv")
        zf.writestr(bad, buf.getvalue())
    with pytest.raises(GeoInputError) as err:
        run_national(tmp_path / "archive.zip", tmp_path / "out", client=client, hotspots=False, progress=False)
    msg = str(err.value)
    assert f"archive.zip:{bad}" in msg
    assert "Longitude" in msg and ("line" in msg or "row" in msg)
    # the good file finished and stays finished
    assert len(list((tmp_path / "out" / "_done").glob("*.json"))) == 1


def test_archive_without_street_files_is_refused(tmp_path):
    from geo.national import list_sources
    (tmp_path / "2025-01").mkdir()
    (tmp_path / "2025-01" / "2025-01-south-yorkshire-outcomes.csv").write_text("Crime ID,Month\n")
    with pytest.raises(GeoInputError, match="no police.uk street-crime file"):
        list_sources(tmp_path)


def test_reading_back_lazily_and_one_bcu_year(national, single):
    from geo.national import bcu_year, national_points
    _, out, _ = national
    rows, expected = single
    lazy = national_points(out, columns=["force", "harm", "geometry"])
    by_force = lazy.groupby("force")["harm"].sum().compute()
    want = expected.groupby("force")["harm"].sum()
    np.testing.assert_allclose(by_force.loc[want.index], want, rtol=1e-12)
    sheff = bcu_year(out, "south-yorkshire", "Sheffield", 2025)
    want_n = ((rows["force"] == "South Yorkshire") & rows["lsoa_name"].str.startswith("Sheffield ")).sum()
    assert len(sheff) == want_n > 0 and set(sheff["bcu"]) == {"Sheffield"}
    assert str(sheff.crs) == "EPSG:27700"
    x0, y0, x1, y1 = sheff.total_bounds
    box = (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)  # the south-west quarter, on the bbox covering columns
    part = bcu_year(out, "south-yorkshire", "Sheffield", 2025, bbox=box, columns=["uid", "harm"])
    located = sheff[sheff.geometry.notna()]
    inside = located.geometry.x.between(box[0], box[2]) & located.geometry.y.between(box[1], box[3])
    assert 0 < len(part) == int(inside.sum()) < len(sheff)
    assert set(part["uid"]) == set(located.loc[inside, "uid"]) and list(part.columns) == ["uid", "harm", "geometry"]


def test_a_crime_id_in_two_files_of_a_batch_keeps_its_one_file_identity(tmp_path):
    """Batching must not change identities: a Crime ID repeated across two files of one month
    (not within one file) gets no "#1", exactly as when each file is read alone."""
    from geo.harm import read_harm_weights
    from geo.national import list_sources, make_batches, partition_batch
    from geo.workspace import DEFAULT_HARM_TABLE
    archive = build_archive(tmp_path / "arch", sy_months=(), neighbour_months=("2025-01",))
    files = sorted((archive / "2025-01").glob("*.csv"))
    a_lines = files[0].read_text(encoding="utf-8").splitlines(keepends=True)
    row = next(r for r in a_lines[1:] if not r.startswith(","))  # a row with a Crime ID
    shared = row.split(",")[0]
    with open(files[1], "a", encoding="utf-8", newline="") as fh:
        fh.write(row if row.endswith("\n") else row + "\r\n")
    harm = read_harm_weights(DEFAULT_HARM_TABLE)
    [batch] = make_batches(list_sources(archive))
    assert len(batch.sources) == len(files)
    partition_batch(batch, tmp_path / "batched", harm)
    uids = _uids(tmp_path / "batched")
    assert (uids == shared).sum() == 2 and not uids.str.startswith(shared + "#").any()
    for one in make_batches(list_sources(archive), batch_bytes=1):
        partition_batch(one, tmp_path / "single", harm)
    assert sorted(uids) == sorted(_uids(tmp_path / "single"))


def _uids(out):
    from geo.national import point_files
    return pd.concat([pd.read_parquet(f, columns=["uid"]) for f in point_files(out)])["uid"]
