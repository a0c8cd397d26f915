"""Nesting the ordered parts onto sheets: outlines with libnest2d, bounding boxes with rectpack.

Three packers, best first:

- **true-shape** (python-libnest2d: no-fit polygons, first-fit selection) on each part's outline
  (the DXF analysis's ``outline``: the largest closed contour, simplified) — as its convex hull,
  because libnest2d's no-fit polygons are for convex shapes only (given an L it overlapped them).
  So gussets pair into squares, discs and flanges nest as circles, and L-brackets pair along
  their hulls' diagonals; a concave part's notch holds nothing. Parts keep their long side along
  the sheet's length and may turn 180°. Holes hold no parts: libnest2d's ``explore_holes`` is not
  implemented upstream (its own docs say so). A part without an outline goes in as its box.
- **rectpack** (MaxRects, best short side fit) on the bounding boxes, which may turn 90°. Also the
  answer when the true shapes run out of time, and the floor: the sheet count is the lower of the two.
- **shelf**: rows filled left to right, tallest first — when even rectpack runs out of time.

Gaps and margins: each box is grown by the gap and the sheet's usable area by the same gap (less
the margin on every side), so two neighbours end up exactly one gap apart and no part comes closer
than the margin to the sheet's edge; libnest2d grows each shape by half the gap the same way. The
hull it is given is grown first by the outline's own tolerance and by HULL_TOLERANCE_MM (the hull
is simplified to that), so it holds the whole part. rectpack packs whole tenths of a millimetre
(parts rounded up, the sheet down), libnest2d whole micrometres.

:func:`nest` runs both in worker threads within one time limit (NEST_SECONDS). libnest2d releases
the GIL while it packs, so the event loop keeps running (measured in benchmarks/bench_nesting.py),
and it asks a stop function between placements: when the limit passes, the thread ends at its next
placement (well under STOP_GRACE for the parts measured) and its half-finished layout is dropped —
no thread keeps a core busy after the page was answered. Finished true-shape counts are remembered
for the same parts, sheet, gap and margin (the pricing page and the quote ask again and again).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from rectpack import MaxRectsBssf, PackingBin, PackingMode, newPacker

from laseros.domain.files.geometry import simplify_ring

NEST_SECONDS = 4.5  # the time limit of both packers together; 200 parts take about 2.5 s of CPU
# More parts than this go straight to the shelf packing.
MAX_PACKED = 5_000
# More parts than this skip the true-shape packer: it would not finish in time and its answer would
# be dropped anyway. Its time grows faster than the count: benchmarks/bench_nesting.py's mix takes
# about 2.5 s of CPU for 200 parts, 5.6 s for 300, 9.5 s for 400.
MAX_TRUE_SHAPE = 250
# After the limit the true-shape thread is given this long to notice its stop flag.
STOP_GRACE = 0.4
ACCURACY = 0.1  # libnest2d's optimiser effort (see true_shape_layout)
HULL_TOLERANCE_MM = 1.0  # the hulls handed to libnest2d are simplified to this, and grown by it
SCALE = 10  # rectpack: tenths of a millimetre
MICRONS = 1000  # libnest2d: micrometres

Point = tuple[float, float]
# The true-shape sheet counts of the last nestings that finished (the pricing page and the quote
# from it ask for the same parts again and again): parts, sheet, gap, margin → sheets.
CACHE_SIZE = 64
_finished: OrderedDict[tuple[tuple[Part, ...], tuple[float, float], float, float], int] = OrderedDict()


@dataclass(frozen=True)
class Part:
    key: int  # which drawing it is (the file id)
    width_mm: float
    height_mm: float
    # The part's outer contour in mm, its box's lower-left corner at (0, 0); None: the box itself.
    outline: tuple[Point, ...] | None = None
    # How far the outline may lie inside the true edge (its simplification), mm.
    tolerance_mm: float = 0.0


@dataclass(frozen=True)
class Nesting:
    sheets: int
    placed: int  # parts on the sheets
    too_large: list[int]  # keys of drawings that fit the sheet neither way round (not nested)
    method: str  # "true-shape", "rectpack" (boxes) or "shelf" (rectpack ran out of time)
    seconds: float
    timed_out: bool = False  # a packer ran out of time: the answer is the next one down


def _usable(sheet: tuple[float, float], gap: float, margin: float, scale: int = SCALE) -> tuple[int, int]:
    width = math.floor((sheet[0] - 2 * margin + gap) * scale)
    height = math.floor((sheet[1] - 2 * margin + gap) * scale)
    return width, height


def _box(part: Part, gap: float) -> tuple[int, int]:
    return math.ceil((part.width_mm + gap) * SCALE - 1e-6), math.ceil((part.height_mm + gap) * SCALE - 1e-6)


def _fits(box: tuple[int, int], usable: tuple[int, int]) -> bool:
    (w, h), (bw, bh) = box, usable
    return (w <= bw and h <= bh) or (h <= bw and w <= bh)


def split(parts: list[Part], sheet: tuple[float, float], gap: float, margin: float) -> tuple[list[Part], list[int]]:
    """The parts that fit the sheet, and the keys of those that do not (either way round)."""
    usable = _usable(sheet, gap, margin)
    fit = [p for p in parts if _fits(_box(p, gap), usable)]
    too_large = sorted({p.key for p in parts if not _fits(_box(p, gap), usable)})
    return fit, too_large


def pack_rectpack(parts: list[Part], sheet: tuple[float, float], gap: float, margin: float) -> int:
    """Sheets used by rectpack's MaxRects (best short side fit, boxes sorted by area, best-fit bins)."""
    if not parts:
        return 0
    usable = _usable(sheet, gap, margin)
    packer = newPacker(mode=PackingMode.Offline, bin_algo=PackingBin.BFF, pack_algo=MaxRectsBssf, rotation=True)
    packer.add_bin(*usable, count=float("inf"))
    for index, part in enumerate(parts):
        packer.add_rect(*_box(part, gap), rid=index)
    packer.pack()
    return len(packer)


def pack_shelf(parts: list[Part], sheet: tuple[float, float], gap: float, margin: float) -> int:
    """Sheets used by shelf packing: each box laid flat (long side along the sheet's length), the
    tallest first, rows filled left to right, a new row when the width runs out, a new sheet when
    the height does."""
    if not parts:
        return 0
    bw, bh = _usable(sheet, gap, margin)
    if bw < bh:
        bw, bh = bh, bw
    boxes = []
    for part in parts:
        w, h = _box(part, gap)
        if h > w:
            w, h = h, w
        if w > bw:  # fits only standing up
            w, h = h, w
        boxes.append((w, h))
    boxes.sort(key=lambda b: (b[1], b[0]), reverse=True)
    sheets, x, y, row = 1, 0, 0, 0
    for w, h in boxes:
        if x + w > bw:  # next row
            x, y, row = 0, y + row, 0
        if y + h > bh:  # next sheet
            sheets, x, y, row = sheets + 1, 0, 0, 0
        x += w
        row = max(row, h)
    return sheets


def convex_hull(points: list[Point]) -> list[Point]:
    """The convex hull, counter-clockwise (Andrew's monotone chain)."""
    unique = sorted(set(points))
    if len(unique) < 3:
        return unique

    def cross(o: Point, a: Point, b: Point) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[Point] = []
    upper: list[Point] = []
    for p in unique:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(unique):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def grow(polygon: list[Point], distance: float) -> list[Point]:
    """A convex counter-clockwise polygon moved out by ``distance`` on every edge (mitred corners)."""
    if distance <= 0 or len(polygon) < 3:
        return polygon
    count = len(polygon)
    normals = []
    for i in range(count):
        (x0, y0), (x1, y1) = polygon[i], polygon[(i + 1) % count]
        length = math.hypot(x1 - x0, y1 - y0)
        normals.append(((y1 - y0) / length, -(x1 - x0) / length))
    out = []
    for i in range(count):
        (ax, ay), (bx, by) = normals[i - 1], normals[i]  # the edges before and after vertex i
        k = distance / (1 + ax * bx + ay * by)
        out.append((polygon[i][0] + k * (ax + bx), polygon[i][1] + k * (ay + by)))
    return out


def nesting_shape(part: Part, long_x: bool) -> list[Point]:
    """What libnest2d is given for a part, clockwise: the convex hull of its outline (or its box),
    simplified to HULL_TOLERANCE_MM and grown by that plus the outline's own tolerance, so it holds
    the whole part; its long side along x when ``long_x`` (else y).

    libnest2d's no-fit polygons are for convex shapes only: given concave ones it placed L-brackets
    overlapping (tests/test_nesting.py), so every part goes in as its hull. Fewer points make each
    placement cheaper (the flange of benchmarks/bench_nesting.py: 63 points at 0.25 mm, 23 at 1 mm)."""
    if part.outline:
        points = list(part.outline)
        tolerance = part.tolerance_mm
    else:
        points = [(0.0, 0.0), (part.width_mm, 0.0), (part.width_mm, part.height_mm), (0.0, part.height_mm)]
        tolerance = 0.0
    if (part.width_mm >= part.height_mm) != long_x:
        points = [(y, -x) for x, y in points]  # a quarter turn (clockwise); the packer moves it anyway
    hull = convex_hull(points)
    if len(hull) > 4:
        simple = simplify_ring(hull, HULL_TOLERANCE_MM)
        if len(simple) >= 3:
            hull, tolerance = simple, tolerance + HULL_TOLERANCE_MM
    return grow(hull, tolerance)[::-1]


def pack_true_shape(
    parts: list[Part],
    sheet: tuple[float, float],
    gap: float,
    margin: float,
    stop_at: float = math.inf,
    cancel: threading.Event | None = None,
) -> int | None:
    """Sheets used by libnest2d's no-fit-polygon placer on the outlines, or None when it was stopped
    (``time.monotonic()`` past ``stop_at``, or ``cancel`` set) before every part was placed."""
    layout = true_shape_layout(parts, sheet, gap, margin, stop_at, cancel)
    return None if layout is None else len({index for index, _ in layout})


def true_shape_layout(
    parts: list[Part],
    sheet: tuple[float, float],
    gap: float,
    margin: float,
    stop_at: float = math.inf,
    cancel: threading.Event | None = None,
) -> list[tuple[int, list[Point]]] | None:
    """Each part's sheet (0, 1, …) and its outline as placed, in mm from the sheet's lower-left
    corner; None when the packer was stopped before every part was placed."""
    if not parts:
        return []
    import pynest2d as nest2d

    usable = _usable(sheet, gap, margin, MICRONS)
    long_x = usable[0] >= usable[1]
    items: list[Any] = []
    for part in parts:
        outline = nesting_shape(part, long_x)
        items.append(nest2d.Item([nest2d.Point(round(x * MICRONS), round(y * MICRONS)) for x, y in outline]))
    config = nest2d.NfpConfig()
    config.rotations = [0.0, math.pi]
    # The optimiser's effort per placement (0–1): 0 missed L-brackets turned into each other's corner,
    # 0.1 finds them; 200 parts take about 2.4 s of CPU at 0.1, 2.7 s at 0.2, 6 s at 0.65 (the default).
    config.accuracy = ACCURACY
    config.parallel = False  # two shared cores: threads only added contention (measured)
    config.alignment = nest2d.Alignment.BOTTOM_LEFT
    config.starting_point = nest2d.Alignment.BOTTOM_LEFT

    def stop() -> bool:
        return (cancel is not None and cancel.is_set()) or time.monotonic() > stop_at

    # Each shape is grown by half of this; the bin (centred on the origin) is the usable area.
    distance = math.ceil(gap * MICRONS)
    nest2d.nest(items, nest2d.Box(*usable), distance, config, nest2d.NestControl(stop=stop))
    if any(item.binId() < 0 for item in items):
        return None
    # Back to the sheet: the bin's lower-left corner is (-w/2, -h/2) and lies half a gap outside the margin.
    dx = margin - gap / 2 + usable[0] / 2 / MICRONS
    dy = margin - gap / 2 + usable[1] / 2 / MICRONS
    return [
        (item.binId(), [(p.x() / MICRONS + dx, p.y() / MICRONS + dy) for p in item.transformedContour()])
        for item in items
    ]


def _area(part: Part) -> float:
    if not part.outline:
        return part.width_mm * part.height_mm
    points = part.outline
    doubled = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, [*points[1:], points[0]], strict=True))
    return abs(doubled) / 2


async def nest(
    parts: list[Part], sheet: tuple[float, float], gap: float, margin: float, seconds: float | None = None
) -> Nesting:
    """Nest the parts (off the event loop, at most ``seconds`` — NEST_SECONDS unless given — for both
    packers; the boxes when the true shapes run out of time, the shelf packing when the boxes do too)."""
    seconds = NEST_SECONDS if seconds is None else seconds
    loop = asyncio.get_running_loop()
    started = loop.time()
    fit, too_large = split(parts, sheet, gap, margin)
    if len(fit) > MAX_PACKED:
        return Nesting(pack_shelf(fit, sheet, gap, margin), len(fit), too_large, "shelf", loop.time() - started)
    try:
        boxes = await asyncio.wait_for(asyncio.to_thread(pack_rectpack, fit, sheet, gap, margin), seconds)
    except TimeoutError:  # the rectpack thread finishes on its own; its answer is not waited for
        sheets = pack_shelf(fit, sheet, gap, margin)
        return Nesting(sheets, len(fit), too_large, "shelf", loop.time() - started, True)

    def done(sheets: int, method: str, timed_out: bool = False) -> Nesting:
        return Nesting(sheets, len(fit), too_large, method, loop.time() - started, timed_out)

    usable = _usable(sheet, gap, margin)
    # The fewest sheets any layout could use: when the boxes reach it, the true shapes cannot beat them.
    floor = math.ceil(sum(_area(p) for p in fit) * SCALE * SCALE / (usable[0] * usable[1]))
    if not any(p.outline for p in fit) or boxes <= floor or len(fit) > MAX_TRUE_SHAPE:
        return done(boxes, "rectpack")
    key = (tuple(fit), sheet, gap, margin)
    shaped = _finished.get(key)
    if shaped is not None:
        _finished.move_to_end(key)
    else:
        left = seconds - (loop.time() - started)
        cancel = threading.Event()
        try:
            shaped = await asyncio.wait_for(
                asyncio.to_thread(pack_true_shape, fit, sheet, gap, margin, time.monotonic() + left, cancel),
                max(left, 0) + STOP_GRACE,
            )
        except TimeoutError:
            cancel.set()  # the thread stops at its next placement; its layout is dropped
            shaped = None
        if shaped is None:
            return done(boxes, "rectpack", timed_out=True)
        _finished[key] = shaped
        while len(_finished) > CACHE_SIZE:
            _finished.popitem(last=False)
    return done(shaped, "true-shape") if shaped <= boxes else done(boxes, "rectpack")
