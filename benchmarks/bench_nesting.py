"""Nesting for pricing: the candidates on the same parts — sheets, utilisation, seconds (docs/performance.md).

200 parts, 40 each of five drawings: an L-bracket (300 × 300, legs 80 wide), a flange (Ø400 with
a Ø260 bore), a gusset (right triangle, 250 × 250), a plate (400 × 200) and a disc (Ø100); on a
3000 × 1500 sheet, 5 mm gap, 10 mm margin. Outlines are made as the DXF analysis makes them (arcs
at 256 chords a turn, simplified to 0.25 mm: dxf.simplify_ring). Each candidate runs in a worker
thread while the main thread ticks every 10 ms; "stall" is the longest tick, what the event loop
would feel. Layouts that come back with coordinates are checked for overlaps and for the gap.

- rectpack MaxRects on the bounding boxes (the floor) and the shelf packing;
- python-libnest2d (``pynest2d``) as pricing calls it (convex hulls, 0°/180°, accuracy 0.1) and
  with its defaults (4 rotations, accuracy 0.65);
- u-nesting (``u_nesting.solve_2d``): "nfp" to its end, "nfp" with a 4 s limit, and "blf";
- ``nest()`` end to end (both packers, 4 s limit); then 1 000 parts; then the rapid travel the DXF
  analysis measures at upload, on 5 000 and 50 000 contour starts.

    .venv/bin/python benchmarks/bench_nesting.py [--quick]

--quick leaves out the slow runs (libnest2d defaults, u-nesting nfp to its end). u-nesting is not
a dependency: `.venv/bin/pip install u-nesting==0.28.1` to measure it (else it is left out).
Exit 1 when nest() misses its 5 s target.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import math
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from laseros.domain.files.dxf import OUTLINE_TOLERANCE_MM, simplify_ring
from laseros.domain.files.geometry import NEAREST_NEIGHBOUR_LIMIT, point_in_polygon, rapid_travel
from laseros.domain.pricing import nesting
from laseros.domain.pricing.nesting import Part, nest, pack_rectpack, pack_shelf, true_shape_layout

SHEET = (3000.0, 1500.0)
GAP, MARGIN = 5.0, 10.0
Point = tuple[float, float]


def circle(r: float, cx: float, cy: float, per_turn: int = 256) -> list[Point]:
    return [
        (cx + r * math.cos(math.tau * i / per_turn), cy + r * math.sin(math.tau * i / per_turn))
        for i in range(per_turn)
    ]


def area(ring: list[Point]) -> float:
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, [*ring[1:], ring[0]], strict=True))) / 2


# (name, outer contour, holes) in mm, the box's lower-left corner at (0, 0)
DRAWINGS: list[tuple[str, list[Point], list[list[Point]]]] = [
    ("L-bracket", [(0, 0), (300, 0), (300, 80), (80, 80), (80, 300), (0, 300)], []),
    ("flange", circle(200, 200, 200), [circle(130, 200, 200)]),
    ("gusset", [(0, 0), (250, 0), (0, 250)], []),
    ("plate", [(0, 0), (400, 0), (400, 200), (0, 200)], []),
    ("disc", circle(50, 50, 50), []),
]
OUTLINES = [simplify_ring(outer, OUTLINE_TOLERANCE_MM) for _, outer, _ in DRAWINGS]
HOLES = [[simplify_ring(h, OUTLINE_TOLERANCE_MM) for h in holes] for _, _, holes in DRAWINGS]


def parts(count: int) -> list[Part]:
    out = []
    for i in range(count):
        k = i % len(DRAWINGS)
        outline = OUTLINES[k]
        w, h = max(x for x, _ in outline), max(y for _, y in outline)
        out.append(Part(k, w, h, tuple(outline), OUTLINE_TOLERANCE_MM))
    return out


def part_area(count: int) -> float:
    return sum(area(OUTLINES[i % len(DRAWINGS)]) - sum(area(h) for h in HOLES[i % len(DRAWINGS)]) for i in range(count))


def in_thread(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """The answer, the seconds it took, and the main thread's longest tick meanwhile."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(work()))
    started = last = time.perf_counter()
    thread.start()
    worst = 0.0
    while thread.is_alive():
        time.sleep(0.01)
        now = time.perf_counter()
        worst, last = max(worst, now - last), now
    return out[0], time.perf_counter() - started, worst


def check(layout: list[tuple[int, list[Point]]]) -> str:
    """'ok', or what is wrong: overlaps, or neighbours closer than the gap (vertex to edge)."""
    by_sheet: dict[int, list[list[Point]]] = {}
    for sheet, polygon in layout:
        by_sheet.setdefault(sheet, []).append(polygon)
    bad = 0
    for polygons in by_sheet.values():
        boxes = [
            (min(x for x, _ in p), min(y for _, y in p), max(x for x, _ in p), max(y for _, y in p)) for p in polygons
        ]
        for (i, a), (j, b) in itertools.combinations(enumerate(polygons), 2):
            (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = boxes[i], boxes[j]
            if ax0 > bx1 + GAP or bx0 > ax1 + GAP or ay0 > by1 + GAP or by0 > ay1 + GAP:
                continue
            if any(point_in_polygon(p, b) for p in a) or any(point_in_polygon(p, a) for p in b) or _near(a, b):
                bad += 1
    return "ok" if not bad else f"{bad} pairs overlap or closer than the gap"


def _near(a: list[Point], b: list[Point]) -> bool:
    for points, ring in ((a, b), (b, a)):
        for px, py in points:
            for (x0, y0), (x1, y1) in zip(ring, [*ring[1:], ring[0]], strict=True):
                dx, dy = x1 - x0, y1 - y0
                t = max(0.0, min(1.0, ((px - x0) * dx + (py - y0) * dy) / ((dx * dx + dy * dy) or 1e-12)))
                if math.hypot(px - x0 - t * dx, py - y0 - t * dy) < GAP - 0.01:
                    return True
    return False


def libnest2d_defaults(items: list[Part]) -> int:
    """python-libnest2d as its README calls it: nest() with its NfpConfig defaults (hulls given, as it needs)."""
    import pynest2d

    usable = nesting._usable(SHEET, GAP, MARGIN, nesting.MICRONS)
    shapes = [
        pynest2d.Item([pynest2d.Point(round(x * 1000), round(y * 1000)) for x, y in nesting.nesting_shape(p, True)])
        for p in items
    ]
    return int(pynest2d.nest(shapes, pynest2d.Box(*usable), math.ceil(GAP * 1000)))


def u_nesting(items: list[Part], strategy: str, limit_ms: int) -> tuple[int, list[tuple[int, list[Point]]], str]:
    import u_nesting as un

    counts: dict[int, int] = {}
    for p in items:
        counts[p.key] = counts.get(p.key, 0) + 1
    geometries = [
        {
            "id": str(k),
            "polygon": [list(pt) for pt in OUTLINES[k]],
            **({"holes": [[list(pt) for pt in h] for h in HOLES[k]]} if HOLES[k] else {}),
            "quantity": n,
            "rotations": [0.0, 90.0, 180.0, 270.0],
        }
        for k, n in counts.items()
    ]
    config = {"strategy": strategy, "spacing": GAP, "margin": MARGIN, "time_limit_ms": limit_ms, "multi_sheet": True}
    result = un.solve_2d(geometries, {"width": SHEET[0], "height": SHEET[1]}, config)
    if not result["success"] or not result["all_placed"]:
        raise RuntimeError(f"u-nesting: {result.get('error')} ({result['unplaced_count']} unplaced)")
    layout = []
    for placement in result["placements"]:
        (x, y), angle = placement["position"], placement["rotation"][0]  # radians, about the origin
        c, s = math.cos(angle), math.sin(angle)
        ring = OUTLINES[int(placement["geometry_id"])]
        layout.append((placement["boundary_index"], [(x + c * px - s * py, y + s * px + c * py) for px, py in ring]))
    return int(result["boundaries_used"]), layout, str(result["stop_reason"])


def row(name: str, sheets: int, count: int, seconds: float, stall: float | None = None, note: str = "") -> None:
    used = 100 * part_area(count) / (sheets * SHEET[0] * SHEET[1])
    stall_text = f"stall {stall:6.2f} s" if stall is not None else " " * 13
    print(f"{name:40} sheets {sheets:3}  utilisation {used:5.1f} %  {seconds:7.3f} s  {stall_text}  {note}")


def main() -> None:
    quick = "--quick" in sys.argv
    items = parts(200)
    print(f"{len(items)} parts on {SHEET[0]:g} x {SHEET[1]:g}, gap {GAP:g} mm, margin {MARGIN:g} mm")
    sheets, seconds, stall = in_thread(lambda: pack_rectpack(items, SHEET, GAP, MARGIN))
    row("rectpack MaxRects (boxes)", sheets, 200, seconds, stall)
    sheets, seconds, stall = in_thread(lambda: pack_shelf(items, SHEET, GAP, MARGIN))
    row("shelf (boxes)", sheets, 200, seconds, stall)
    layout, seconds, stall = in_thread(lambda: true_shape_layout(items, SHEET, GAP, MARGIN))
    row("python-libnest2d, as pricing calls it", len({s for s, _ in layout}), 200, seconds, stall, check(layout))
    if not quick:
        sheets, seconds, stall = in_thread(lambda: libnest2d_defaults(items))
        row("python-libnest2d, its defaults", sheets, 200, seconds, stall)
    runs = [("nfp", 4000, "nfp, 4 s limit"), ("blf", 0, "blf")]
    if not quick:
        runs.insert(0, ("nfp", 0, "nfp, to its end"))
    if importlib.util.find_spec("u_nesting") is None:
        print("u-nesting: not installed (not a dependency): .venv/bin/pip install u-nesting==0.28.1 to measure it")
        runs = []
    for strategy, limit, label in runs:
        (sheets, layout, reason), seconds, stall = in_thread(lambda s=strategy, lim=limit: u_nesting(items, s, lim))
        row(f"u-nesting {label}", sheets, 200, seconds, stall, f"{check(layout)}; stop: {reason}")
    result = asyncio.run(nest(items, SHEET, GAP, MARGIN))
    met = result.seconds < 5
    row(
        f"nest() ({result.method})",
        result.sheets,
        200,
        result.seconds,
        None,
        f"target < 5 s — {'met' if met else 'MISSED'}",
    )
    big = parts(1000)
    sheets, seconds, _ = in_thread(lambda: pack_rectpack(big, SHEET, GAP, MARGIN))
    row("1000 parts: rectpack", sheets, 1000, seconds)
    result = asyncio.run(nest(big, SHEET, GAP, MARGIN))
    row(f"1000 parts: nest() ({result.method})", result.sheets, 1000, result.seconds)
    # The rapid travel measured at upload: nearest neighbour up to the limit, a sweep beyond it.
    for count in (NEAREST_NEIGHBOUR_LIMIT, 50_000):
        starts = [((i % 125) * 30.0, (i // 125) * 30.0) for i in range(count)]
        started = time.perf_counter()
        travel = rapid_travel(starts, (0.0, 0.0))
        print(
            f"rapid travel over {count} contour starts: {travel / 1000:.1f} m in {time.perf_counter() - started:.3f} s"
        )
    if not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
