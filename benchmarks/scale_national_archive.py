"""Grow a synthetic national archive (from ``make_national_archive.py``) without drawing it again.

Usage: ``python benchmarks/scale_national_archive.py SRC OUT [--years N]``.

Drawing rows (``make_national_archive.py``) costs about 25 CPU-s per million rows; this
rewrites bytes instead, for the 6M- and 18M-row benchmark sizes:

* **fold**: every year of ``SRC`` is folded into its first year: ``OUT``'s file for a
  force and month holds that force's rows of the same month of every year of ``SRC`` (the
  ``Month`` field set to the first year's month). A 3-year archive of 2M rows a year
  folds into one year of 6M rows, all drawn independently.
* **repeat** (``--years N``): the folded year is written N times, as the year before the
  year before (2023, 2022, 2021): the same rows with ``Month`` set to that year and every
  Crime ID re-keyed (its first hex digit rotated, so ids stay unique; blank ids, as for
  anti-social behaviour, stay blank). Years after the first are therefore copies of it,
  which is enough for timing and memory, not for analysis.

Like the source, the output is never committed: write it to a temp folder.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

_HEX = b"0123456789abcdef"


def _body(raw: bytes) -> tuple[bytes, bytes]:
    head, _, body = raw.partition(b"\n")
    return head + b"\n", body


def _rekey(body: bytes, k: int) -> bytes:
    """Rotate the first hex digit of every non-blank Crime ID by ``k``."""
    table = bytes.maketrans(_HEX, _HEX[k:] + _HEX[:k])
    return re.sub(rb"(?m)^([0-9a-f])(?=[0-9a-f]{63},)", lambda m: m.group(1).translate(table), body)


def scale(src: Path, out: Path, *, years: int = 1) -> dict:
    months = sorted(p.name for p in src.iterdir() if p.is_dir())
    first_year = max(m[:4] for m in months)
    files = rows = 0
    for moy in sorted({m[5:] for m in months}):
        target = f"{first_year}-{moy}"
        forces: dict[str, list[bytes]] = {}
        head = None
        for m in (m for m in months if m[5:] == moy):
            for f in sorted((src / m).glob("*-street.csv")):
                force = f.name[len(m) + 1:]
                h, body = _body(f.read_bytes())
                head = head or h
                body = body.replace(f",{m},".encode(), f",{target},".encode())
                forces.setdefault(force, []).append(body if body.endswith(b"\n") or not body else body + b"\r\n")
        for y in range(years):
            month = f"{int(first_year) - y}-{moy}"
            (out / month).mkdir(parents=True, exist_ok=True)
            for force, bodies in forces.items():
                body = b"".join(bodies)
                if y:
                    body = _rekey(body.replace(f",{target},".encode(), f",{month},".encode()), y)
                (out / month / f"{month}-{force}").write_bytes(head + body)
                files += 1
                rows += body.count(b"\n")
    return {"files": files, "rows": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--years", type=int, default=1)
    args = ap.parse_args(argv)
    print(scale(args.src, args.out, years=args.years))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
