"""The shipped demo archive: police.uk layout, byte-identical files, the 18-month demo built from it."""
import hashlib
import zipfile
from pathlib import Path

import pytest

from geo import Workspace
from geo.demo import DEMO_OPERATIONS, SY_CRIME_ARCHIVE
from tests.conftest import SY_MONTH_ROWS

#: The published files the archive was packed from: ``shared/`` beside the checkout (as in CI), else /work/shared.
SHARED = next((p for p in (Path(__file__).resolve().parents[2] / "shared" / "data" / "south-yorkshire" / "crime",
                           Path("/work/shared/data/south-yorkshire/crime")) if p.exists()),
              Path("/work/shared/data/south-yorkshire/crime"))


def test_the_archive_has_the_police_uk_layout():
    with zipfile.ZipFile(SY_CRIME_ARCHIVE) as zf:
        names = sorted(zf.namelist())
        assert zf.testzip() is None
    street = [n for n in names if n.endswith("-south-yorkshire-street.csv")]
    assert street == [f"{m}/{m}-south-yorkshire-street.csv" for m in sorted(SY_MONTH_ROWS)]
    neighbours = [n for n in names if "neighbouring-forces" in n]
    assert neighbours == ["2024-01-to-2024-04/neighbouring-forces-2024-01-to-2024-04-street.csv"] + [
        f"2025-0{m}/2025-0{m}-neighbouring-forces-street.csv" for m in range(1, 7)]
    assert len(names) == 25
    assert SY_CRIME_ARCHIVE.stat().st_size < 16_000_000


@pytest.mark.skipif(not SHARED.exists(), reason="the shared source folder is not on this machine")
def test_every_file_is_byte_identical_to_the_published_one():
    sources = {p.name: p for p in [*SHARED.glob("*.csv"), *SHARED.glob("neighbours/*.csv")]}
    with zipfile.ZipFile(SY_CRIME_ARCHIVE) as zf:
        for info in zf.infolist():
            src = sources.pop(Path(info.filename).name)
            assert hashlib.sha256(zf.read(info)).digest() == hashlib.sha256(src.read_bytes()).digest(), src
    assert not sources, f"not shipped: {sorted(sources)}"


def test_the_demo_holds_every_row_and_its_operations_have_history(demo_workspaces):
    ws = Workspace.open(demo_workspaces["south-yorkshire"])
    try:
        hist = ws.store.import_history()
        crime = hist[hist["kind"] == "crime"]
        assert len(crime) == 1 and crime["source"].iloc[0].endswith(SY_CRIME_ARCHIVE.name)
        assert crime["rows_read"].iloc[0] == crime["new"].iloc[0] == 302439  # nothing taken for a duplicate
        assert crime["rejected"].iloc[0] == 0
        months = ws.store.months("crime")
        assert months == sorted(SY_MONTH_ROWS)
        ops = {o.name: o for o in ws.operations()}
    finally:
        ws.close()
    for op in DEMO_OPERATIONS["south-yorkshire"]:
        saved = ops[op.name]
        assert (saved.start, saved.end) == ("2025-03-01", "2025-03-31")
        before = [m for m in months if m < saved.start[:7]]
        after = [m for m in months if m > saved.end[:7]]
        assert len(before) >= 12 and len(after) >= 3  # pre-trends, same month a year earlier, a few months after
