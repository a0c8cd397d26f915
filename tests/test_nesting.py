"""Nesting for pricing: true shapes (libnest2d) against the bounding boxes (rectpack), the time
limit and its fallbacks, parts larger than the sheet, parts without an outline."""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
import time

import pytest

from laseros.domain.files.geometry import point_in_polygon
from laseros.domain.pricing import nesting
from laseros.domain.pricing.nesting import Part, nest, pack_rectpack, pack_true_shape, true_shape_layout
from tests.support import run

GAP, MARGIN = 5.0, 10.0


@pytest.fixture(autouse=True)
def _no_cached_nestings():
    nesting._finished.clear()
    yield
    nesting._finished.clear()


def l_bracket(size: float = 400, leg: float = 100, key: int = 1) -> Part:
    """An L: a leg along the bottom and one up the left, ``leg`` wide."""
    outline = ((0.0, 0.0), (size, 0.0), (size, leg), (leg, leg), (leg, size), (0.0, size))
    return Part(key, size, size, outline)


def gusset(size: float = 300, key: int = 2) -> Part:
    return Part(key, size, size, ((0.0, 0.0), (size, 0.0), (0.0, size)))


def _edge_distance(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def _distance(one: list[tuple[float, float]], other: list[tuple[float, float]]) -> float:
    """Between two polygons that do not overlap: the nearest vertex to edge, either way."""
    best = math.inf
    for points, ring in ((one, other), (other, one)):
        for p in points:
            for a, b in itertools.pairwise([*ring, ring[0]]):
                best = min(best, _edge_distance(p, a, b))
    return best


def test_interlocking_l_brackets_use_fewer_sheets_than_their_boxes():
    # On a 540 × 540 sheet two 400 mm L-brackets fit when one is turned 180° into the other's
    # corner (505 × 505 together); their 400 × 400 boxes fit one a sheet.
    sheet = (540.0, 540.0)
    parts = [l_bracket()] * 4
    assert pack_rectpack(parts, sheet, GAP, MARGIN) == 4
    assert pack_true_shape(parts, sheet, GAP, MARGIN) == 2
    result = run(nest(parts, sheet, GAP, MARGIN))
    assert (result.sheets, result.method, result.placed, result.timed_out) == (2, "true-shape", 4, False)


def test_the_layout_keeps_the_gap_and_the_margin():
    sheet = (1200.0, 800.0)
    parts = [l_bracket(key=1)] * 3 + [gusset(key=2)] * 4 + [Part(3, 150, 80)] * 3
    layout = true_shape_layout(parts, sheet, GAP, MARGIN)
    assert layout is not None and len(layout) == len(parts)
    for _, polygon in layout:
        xs, ys = [x for x, _ in polygon], [y for _, y in polygon]
        assert min(xs) >= MARGIN - 1e-3 and min(ys) >= MARGIN - 1e-3
        assert max(xs) <= sheet[0] - MARGIN + 1e-3 and max(ys) <= sheet[1] - MARGIN + 1e-3
    for (sheet_a, a), (sheet_b, b) in itertools.combinations(layout, 2):
        if sheet_a != sheet_b:
            continue
        assert not any(point_in_polygon(p, b) for p in a) and not any(point_in_polygon(p, a) for p in b)
        assert _distance(a, b) >= GAP - 0.01


def test_gussets_pair_up_into_a_square():
    # Two 300 mm gussets, one turned 180° against the other's long edge, make a 304 mm square
    # (usable 320 + 5); their boxes fit one a sheet.
    sheet = (340.0, 340.0)
    parts = [gusset()] * 2
    assert pack_rectpack(parts, sheet, GAP, MARGIN) == 2
    result = run(nest(parts, sheet, GAP, MARGIN))
    assert result.method == "true-shape" and result.sheets == 1


def test_out_of_time_the_boxes_answer(monkeypatch):
    parts = [l_bracket()] * 4
    # No time left for the true shapes once rectpack is done: its answer, and said so.
    real = nesting.pack_rectpack

    def slow_rectpack(*args):
        time.sleep(0.2)
        return real(*args)

    monkeypatch.setattr(nesting, "pack_rectpack", slow_rectpack)
    result = run(nest(parts, (540.0, 540.0), GAP, MARGIN, seconds=0.2))
    assert (result.method, result.sheets, result.timed_out) in {("rectpack", 4, True), ("shelf", 4, True)}
    # The limit lowered: rectpack answers in time, the true shapes (made slow here) do not.
    monkeypatch.setattr(nesting, "pack_rectpack", real)
    monkeypatch.setattr(nesting, "NEST_SECONDS", 0.3)
    real_true_shape = nesting.pack_true_shape

    def slow_true_shape(*args):
        time.sleep(0.5)
        return real_true_shape(*args)

    monkeypatch.setattr(nesting, "pack_true_shape", slow_true_shape)
    started = time.monotonic()
    result = run(nesting.nest(parts, (540.0, 540.0), GAP, MARGIN))
    assert time.monotonic() - started < 0.3 + nesting.STOP_GRACE + 0.2
    assert (result.method, result.sheets, result.timed_out) == ("rectpack", 4, True)
    assert not nesting._finished  # a nesting that ran out of time is not remembered


def test_a_stopped_true_shape_thread_ends_and_is_not_waited_for(monkeypatch):
    # Many parts: libnest2d would take far longer than the limit; nest() answers in about the
    # limit with the boxes, and the worker thread stops at its next placement.
    parts = [l_bracket(300, 80, key=i % 3) for i in range(nesting.MAX_TRUE_SHAPE)]
    before = threading.active_count()
    started = time.monotonic()
    result = run(nest(parts, (3000.0, 1500.0), GAP, MARGIN, seconds=0.5))
    assert time.monotonic() - started < 0.5 + nesting.STOP_GRACE + 1.0
    assert result.method == "rectpack" and result.timed_out
    assert result.sheets == pack_rectpack(parts, (3000.0, 1500.0), GAP, MARGIN)
    # The stop flag alone (no deadline) stops it too.
    cancel = threading.Event()
    cancel.set()
    assert pack_true_shape(parts, (3000.0, 1500.0), GAP, MARGIN, cancel=cancel) is None
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before


def test_the_event_loop_keeps_running_while_shapes_are_nested():
    parts = [l_bracket(300, 80, key=1)] * 40 + [gusset(250, key=2)] * 40

    async def main() -> tuple[float, nesting.Nesting]:
        worst, last = 0.0, time.perf_counter()
        task = asyncio.create_task(nest(parts, (3000.0, 1500.0), GAP, MARGIN))
        while not task.done():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            worst, last = max(worst, now - last), now
        return worst, task.result()

    worst, result = run(main())
    assert result.method == "true-shape"
    assert worst < 0.5, worst  # libnest2d releases the GIL while it packs


def test_a_finished_nesting_is_remembered(monkeypatch):
    parts = [l_bracket()] * 4
    first = run(nest(parts, (540.0, 540.0), GAP, MARGIN))

    def not_again(*args):
        raise AssertionError("nested again")

    monkeypatch.setattr(nesting, "pack_true_shape", not_again)
    again = run(nest(parts, (540.0, 540.0), GAP, MARGIN))
    assert (first.sheets, first.method) == (again.sheets, again.method) == (2, "true-shape")
    # Another gap is another nesting.
    with pytest.raises(AssertionError, match="nested again"):
        run(nest(parts, (540.0, 540.0), GAP + 1, MARGIN))


def test_parts_larger_than_the_sheet_are_reported_not_nested():
    parts = [l_bracket(key=1)] * 2 + [l_bracket(600, 100, key=9)]
    result = run(nest(parts, (540.0, 540.0), GAP, MARGIN))
    assert result.too_large == [9] and result.placed == 2 and result.sheets == 1


def test_too_many_parts_for_the_true_shapes_go_as_boxes(monkeypatch):
    monkeypatch.setattr(nesting, "MAX_TRUE_SHAPE", 3)
    result = run(nest([l_bracket()] * 4, (540.0, 540.0), GAP, MARGIN))
    assert (result.method, result.sheets, result.timed_out) == ("rectpack", 4, False)


def test_no_outline_is_the_box():
    # Without outlines the true-shape packer is not run: boxes it is.
    boxes = [Part(1, 400, 400)] * 4
    result = run(nest(boxes, (540.0, 540.0), GAP, MARGIN))
    assert (result.method, result.sheets, result.timed_out) == ("rectpack", 4, False)
    # Mixed: a part without an outline nests as its rectangle next to the shapes.
    mixed = [l_bracket()] * 2 + [Part(5, 100, 100)]
    layout = true_shape_layout(mixed, (1000.0, 540.0), GAP, MARGIN)
    assert layout is not None
    square = layout[-1][1]
    xs, ys = [x for x, _ in square], [y for _, y in square]
    assert len(square) == 4 and max(xs) - min(xs) == pytest.approx(100) and max(ys) - min(ys) == pytest.approx(100)


def test_two_hundred_true_shapes_nest_within_the_limit():
    kinds = [l_bracket(300, 80, 1), gusset(250, 2), Part(3, 400, 200), Part(4, 100, 60)]
    parts = [kinds[i % 4] for i in range(200)]
    started = time.monotonic()
    result = run(nest(parts, (3000.0, 1500.0), GAP, MARGIN))
    assert time.monotonic() - started < 5
    assert result.placed == 200 and result.sheets <= pack_rectpack(parts, (3000.0, 1500.0), GAP, MARGIN)
