"""Nesting the ordered parts onto sheets: their bounding boxes packed with rectpack (MaxRects).

Each part's box is grown by the gap between parts and the sheet's usable area by the same gap
(less the margin on every side), so two neighbours end up exactly one gap apart and no part comes
closer than the margin to the sheet's edge. Parts may turn 90°. Sizes are packed in whole tenths
of a millimetre (parts rounded up, the sheet down): rectpack is exact on integers.

:func:`nest` runs the packer in a worker thread with a time limit; when it runs out the answer is
a simple shelf packing (rows filled left to right, tallest first), which is never better but always
quick. Sheet figures are the same either way for identical parts in a grid.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from rectpack import MaxRectsBssf, PackingBin, PackingMode, newPacker

NEST_SECONDS = 4.0  # the packer's time limit; 200 parts take well under a second
# More parts than this go straight to the shelf packing: a packer thread that outlives its time
# limit cannot be stopped, and would keep a core busy after the page was answered.
MAX_PACKED = 5_000
SCALE = 10  # tenths of a millimetre


@dataclass(frozen=True)
class Part:
    key: int  # which drawing it is (the file id)
    width_mm: float
    height_mm: float


@dataclass(frozen=True)
class Nesting:
    sheets: int
    placed: int  # parts on the sheets
    too_large: list[int]  # keys of drawings that fit the sheet neither way round (not nested)
    method: str  # "rectpack" or "shelf" (the packer ran out of time)
    seconds: float


def _usable(sheet: tuple[float, float], gap: float, margin: float) -> tuple[int, int]:
    width = math.floor((sheet[0] - 2 * margin + gap) * SCALE)
    height = math.floor((sheet[1] - 2 * margin + gap) * SCALE)
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


async def nest(
    parts: list[Part], sheet: tuple[float, float], gap: float, margin: float, seconds: float = NEST_SECONDS
) -> Nesting:
    """Nest the parts (off the event loop, at most ``seconds``; the shelf packing when it runs out)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    fit, too_large = split(parts, sheet, gap, margin)
    method = "rectpack"
    if len(fit) > MAX_PACKED:
        return Nesting(pack_shelf(fit, sheet, gap, margin), len(fit), too_large, "shelf", loop.time() - started)
    try:
        sheets = await asyncio.wait_for(asyncio.to_thread(pack_rectpack, fit, sheet, gap, margin), seconds)
    except TimeoutError:  # the worker thread finishes on its own; its answer is not waited for
        method = "shelf"
        sheets = pack_shelf(fit, sheet, gap, margin)
    return Nesting(sheets, len(fit), too_large, method, loop.time() - started)
