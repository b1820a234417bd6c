"""Write a synthetic national year in police.uk's archive layout, from the real South Yorkshire rows.

Usage: ``python benchmarks/make_national_archive.py OUT_DIR --rows 6000000 [--years 1]``.

Layout: ``OUT_DIR/YYYY-MM/YYYY-MM-<force>-street.csv`` for the 43 territorial forces of
England and Wales and every month of 2023 (a second and third year add 2022 and 2021),
the standard 12 columns, CRLF line endings, as police.uk ships them. Never commit the
output: write it to a temp folder.

How the rows are made (fixed seed): each force-month file draws whole rows with
replacement from the real South Yorkshire month with the same month of the year
(2024-07 … 2025-06 in the demo archive), so crime types, outcomes, LSOA codes and names,
Location strings and the share of rows without coordinates keep their real joint
distribution. Each force is moved as a block to its own place in England and Wales (a
lon/lat offset of the whole South Yorkshire pattern), so forces do not overlap and hot
spots keep their real shape. Forces differ in size (a fixed factor from 0.5 to 2.0).
Crime IDs are fresh unique 64-hex strings (blank for anti-social behaviour, as published).
"""
from __future__ import annotations

import argparse
import io
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SY_ARCHIVE = ROOT / "data" / "south-yorkshire" / "crime" / "south-yorkshire-street-2024-01-to-2025-06.zip"
REAL = {f"{m:02d}": (f"2024-{m:02d}" if m >= 7 else f"2025-{m:02d}") for m in range(1, 13)}
FORCES = [
    "Avon and Somerset", "Bedfordshire", "Cambridgeshire", "Cheshire", "City of London", "Cleveland",
    "Cumbria", "Derbyshire", "Devon and Cornwall", "Dorset", "Durham", "Dyfed-Powys", "Essex",
    "Gloucestershire", "Greater Manchester", "Gwent", "Hampshire", "Hertfordshire", "Humberside", "Kent",
    "Lancashire", "Leicestershire", "Lincolnshire", "Merseyside", "Metropolitan", "Norfolk",
    "North Wales", "North Yorkshire", "Northamptonshire", "Northumbria", "Nottinghamshire", "South Wales",
    "South Yorkshire", "Staffordshire", "Suffolk", "Surrey", "Sussex", "Thames Valley", "Warwickshire",
    "West Mercia", "West Midlands", "West Yorkshire", "Wiltshire",
]
SEED = 20230101


def _real_months() -> dict[str, pd.DataFrame]:
    out = {}
    with zipfile.ZipFile(SY_ARCHIVE) as zf:
        for moy, real in REAL.items():
            raw = zf.read(f"{real}/{real}-south-yorkshire-street.csv")
            out[moy] = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
    return out


def make_archive(out: Path, *, rows: int, years: int = 1, seed: int = SEED) -> dict:
    """Write the archive; return ``{"files": n, "rows": n, "seconds": s}``."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    real = _real_months()
    lon0 = np.nanmean(pd.to_numeric(real["01"]["Longitude"], errors="coerce"))
    lat0 = np.nanmean(pd.to_numeric(real["01"]["Latitude"], errors="coerce"))
    # force centres on a 7 x 7 lattice over England and Wales (about 70 km apart)
    k = len(FORCES)
    gx, gy = np.meshgrid(np.linspace(-3.6, 0.6, 7), np.linspace(50.9, 54.6, 7))
    centres = np.column_stack([gx.ravel(), gy.ravel()])[rng.permutation(49)[:k]]
    size = rng.uniform(0.5, 2.0, k)
    months = [f"{2023 - y}-{m:02d}" for y in range(years) for m in range(1, 13)]
    per_file = rows * size / size.sum() / len(months)
    n_files = n_rows = 0
    for month in months:
        src = real[month[5:]]
        lon = pd.to_numeric(src["Longitude"], errors="coerce").to_numpy()
        lat = pd.to_numeric(src["Latitude"], errors="coerce").to_numpy()
        blank_id = (src["Crime ID"] == "").to_numpy()
        (out / month).mkdir(parents=True, exist_ok=True)
        for i, force in enumerate(FORCES):
            n = int(round(per_file[i]))
            idx = rng.integers(0, len(src), n)
            df = src.iloc[idx].reset_index(drop=True)
            dx, dy = centres[i, 0] - lon0, centres[i, 1] - lat0
            lo, la = lon[idx] + dx, lat[idx] + dy
            df["Longitude"] = np.where(np.isfinite(lo), np.char.mod("%.6f", np.nan_to_num(lo)), "")
            df["Latitude"] = np.where(np.isfinite(la), np.char.mod("%.6f", np.nan_to_num(la)), "")
            ids = rng.integers(0, 2**63, (n, 4), dtype=np.int64)
            hexid = np.array([f"{a:016x}{b:016x}{c:016x}{d:016x}" for a, b, c, d in ids])
            df["Crime ID"] = np.where(blank_id[idx], "", hexid)
            df["Month"] = month
            name = f"{force} Police"
            df["Reported by"] = name
            df["Falls within"] = name
            slug = force.lower().replace(" ", "-")
            df.to_csv(out / month / f"{month}-{slug}-street.csv", index=False, lineterminator="\r\n")
            n_files += 1
            n_rows += n
    return {"files": n_files, "rows": n_rows, "seconds": time.perf_counter() - t0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--years", type=int, default=1)
    args = ap.parse_args(argv)
    print(make_archive(args.out, rows=args.rows, years=args.years))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
