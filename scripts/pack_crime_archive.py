"""Pack the shared police.uk files into the demo's one police.uk-style zip archive.

Usage::

    python scripts/pack_crime_archive.py [SOURCE_FOLDER] [OUT_ZIP]

``SOURCE_FOLDER`` (default ``/work/shared/data/south-yorkshire/crime``) holds the 18
monthly ``YYYY-MM-south-yorkshire-street.csv`` files, the neighbouring forces' file for
2024-01 … 04 (``neighbouring-forces-2024-01-to-2024-04-street.csv``) and
``neighbours/YYYY-MM-neighbouring-forces-street.csv`` for 2025-01 … 06.

The archive has the layout of a police.uk custom download, one folder per month::

    2024-01/2024-01-south-yorkshire-street.csv
    ...
    2025-06/2025-06-south-yorkshire-street.csv
    2024-01-to-2024-04/neighbouring-forces-2024-01-to-2024-04-street.csv
    2025-01/2025-01-neighbouring-forces-street.csv
    ...
    2025-06/2025-06-neighbouring-forces-street.csv

Every file is stored byte for byte. The four-month neighbours file stays whole rather than
split by month: one Lincolnshire Crime ID (``de32baee…``) is on a January and a March row
(a burglary and an other theft). The reader numbers a repeated Crime ID within its file,
so split into months the two rows would share one identity and the import would keep only
one; whole, they stay two crimes, as published. Entries carry a fixed time stamp so that
packing the same files twice gives the same archive.
"""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

SOURCE = Path("/work/shared/data/south-yorkshire/crime")
OUT = Path(__file__).resolve().parents[1] / "data" / "south-yorkshire" / "crime" / \
    "south-yorkshire-street-2024-01-to-2025-06.zip"
STAMP = (2025, 7, 1, 0, 0, 0)


def members(source: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for p in sorted(source.glob("????-??-south-yorkshire-street.csv")):
        m = p.name[:7]
        files[f"{m}/{p.name}"] = p.read_bytes()
    four = source / "neighbouring-forces-2024-01-to-2024-04-street.csv"
    files[f"2024-01-to-2024-04/{four.name}"] = four.read_bytes()
    for p in sorted((source / "neighbours").glob("????-??-neighbouring-forces-street.csv")):
        files[f"{p.name[:7]}/{p.name}"] = p.read_bytes()
    return dict(sorted(files.items()))


def pack(source: Path = SOURCE, out: Path = OUT) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in members(source).items():
            info = zipfile.ZipInfo(name, date_time=STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data, compresslevel=9)
    tmp.replace(out)
    return out


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else OUT
    path = pack(src, dst)
    with zipfile.ZipFile(path) as zf:
        for i in zf.infolist():
            print(f"{i.filename:60s} {i.file_size:>10,} -> {i.compress_size:>9,}")
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
