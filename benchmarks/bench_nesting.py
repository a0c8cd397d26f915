"""Nesting 200 parts for pricing: sheets, utilisation and seconds (docs/performance.md).

The same 200 parts (bounding boxes of five drawings, 40 of each: 480 × 320, 300 × 300,
620 × 140, 150 × 90 and 90 × 60 mm) on a 3000 × 1500 sheet with a 5 mm gap and a 10 mm margin,
packed by rectpack's MaxRects (what pricing uses) and by the shelf packing it falls back to, then
the same through ``nest`` (the worker thread with its time limit). Target: < 5 s. And the
rapid travel the DXF analysis measures at upload, on 5 000 and 50 000 contour starts.

    .venv/bin/python benchmarks/bench_nesting.py
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from laseros.domain.files.geometry import NEAREST_NEIGHBOUR_LIMIT, rapid_travel
from laseros.domain.pricing.nesting import Part, nest, pack_rectpack, pack_shelf

SHEET = (3000.0, 1500.0)
GAP, MARGIN = 5.0, 10.0
SIZES = [(480, 320), (300, 300), (620, 140), (150, 90), (90, 60)]


def parts(count: int = 200) -> list[Part]:
    return [Part(i % len(SIZES), *SIZES[i % len(SIZES)]) for i in range(count)]


def utilisation(items: list[Part], sheets: int) -> float:
    return 100 * sum(p.width_mm * p.height_mm for p in items) / (sheets * SHEET[0] * SHEET[1])


def main() -> None:
    items = parts()
    print(f"{len(items)} parts on {SHEET[0]:g} x {SHEET[1]:g}, gap {GAP:g} mm, margin {MARGIN:g} mm")
    for name, packer in (("rectpack MaxRects", pack_rectpack), ("shelf", pack_shelf)):
        started = time.perf_counter()
        sheets = packer(items, SHEET, GAP, MARGIN)
        seconds = time.perf_counter() - started
        print(f"{name:18} sheets {sheets:3}  utilisation {utilisation(items, sheets):5.1f} %  {seconds:.3f} s")
    result = asyncio.run(nest(items, SHEET, GAP, MARGIN))
    print(f"nest() ({result.method})   sheets {result.sheets:3}  {result.seconds:.3f} s (target < 5 s)")
    big = parts(1000)
    result = asyncio.run(nest(big, SHEET, GAP, MARGIN))
    print(f"1000 parts nest() ({result.method}) sheets {result.sheets}  {result.seconds:.3f} s")
    # The rapid travel measured at upload: nearest neighbour up to the limit, a sweep beyond it.
    for count in (NEAREST_NEIGHBOUR_LIMIT, 50_000):
        starts = [((i % 125) * 30.0, (i // 125) * 30.0) for i in range(count)]
        started = time.perf_counter()
        travel = rapid_travel(starts, (0.0, 0.0))
        print(
            f"rapid travel over {count} contour starts: {travel / 1000:.1f} m in {time.perf_counter() - started:.3f} s"
        )


if __name__ == "__main__":
    main()
