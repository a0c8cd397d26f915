"""A fast reader for large, flat ASCII DXF files (LINE, ARC, CIRCLE, LWPOLYLINE in the plane).

ezdxf builds a full document, which costs seconds for 50 000 entities. Most large DXFs from
nesting and CAM software are flat: lines, arcs, circles and polylines in the model space, no
blocks. This reader pairs the group codes itself and hands back the cut pieces; anything it does
not handle exactly (blocks, splines, ellipses, POLYLINE, an extrusion other than +Z, binary DXF)
makes it answer ``None``, and the caller reads the file with ezdxf instead.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from laseros.domain.files.geometry import TAU, Arc, Line, Piece

NEEDS_EZDXF = frozenset({"INSERT", "SPLINE", "ELLIPSE", "POLYLINE", "VERTEX", "SEQEND", "DIMENSION"})
CUT = frozenset({"LINE", "ARC", "CIRCLE", "LWPOLYLINE"})


@dataclass
class FlatDrawing:
    insunits: int
    pieces: list[Piece] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    layers: set[str] = field(default_factory=set)
    zero_radius: int = 0


LayerTest = Callable[[str], object]


class _Fallback(Exception):
    pass


def read_flat(path: Path, is_not_cut_layer: LayerTest) -> FlatDrawing | None:
    """The flat drawing, or None when the file needs ezdxf (see the module docstring)."""
    data = path.read_bytes()
    if data.startswith(b"AutoCAD Binary DXF"):
        return None
    lines = list(map(str.strip, data.decode("utf-8", "replace").splitlines()))
    try:
        return _parse(lines, is_not_cut_layer)
    except (_Fallback, ValueError, IndexError, ZeroDivisionError, OverflowError):
        return None


def _parse(lines: list[str], is_not_cut_layer: LayerTest) -> FlatDrawing:
    n = len(lines) - 1
    i = 0
    insunits = 0
    section = ""
    drawing = FlatDrawing(0)
    while i < n:
        code = lines[i]
        value = lines[i + 1]
        i += 2
        if code != "0":
            if code == "2" and section == "?":
                section = value
            elif code == "9" and section == "HEADER" and value == "$INSUNITS" and lines[i] == "70":
                insunits = int(lines[i + 1])
            continue
        if value == "SECTION":
            section = "?"
            continue
        if value == "ENDSEC":
            section = ""
            continue
        if value == "EOF":
            break
        if section == "BLOCKS" and value == "BLOCK":
            continue
        if section != "ENTITIES":
            continue
        # One entity: its tags up to the next group code 0.
        start = i
        while i < n and lines[i] != "0":
            i += 2
        _entity(value, lines, start, i, drawing, is_not_cut_layer)
    drawing.insunits = insunits
    return drawing


def _entity(
    kind: str, lines: list[str], start: int, stop: int, drawing: FlatDrawing, is_not_cut_layer: LayerTest
) -> None:
    if kind in NEEDS_EZDXF:
        raise _Fallback
    drawing.counts[kind] += 1
    xs: list[float] = []
    ys: list[float] = []
    bulges: list[float] = []
    if kind == "LWPOLYLINE":
        # The vertices in order: each 10 starts one, its 20 and 42 (bulge) follow.
        tags: dict[str, str] = {}
        for code, value in zip(lines[start:stop:2], lines[start + 1 : stop : 2], strict=False):
            if code == "10":
                xs.append(float(value))
                bulges.append(0.0)
            elif code == "20":
                ys.append(float(value))
            elif code == "42":
                bulges[-1] = float(value)
            else:
                tags[code] = value
    else:
        # Every other entity's tags each appear once: the last one of a code wins, as in a loop.
        tags = dict(zip(lines[start:stop:2], lines[start + 1 : stop : 2], strict=False))
    layer = tags.get("8", "0")
    paper = tags.get("67") == "1"
    if paper:
        drawing.counts[kind] -= 1
        return
    drawing.layers.add(layer)
    if kind not in CUT or is_not_cut_layer(layer):
        return
    if ("230" in tags or "210" in tags or "220" in tags) and (
        float(tags.get("230", "1")) != 1.0 or float(tags.get("210", "0")) or float(tags.get("220", "0"))
    ):
        raise _Fallback  # an extrusion other than +Z
    piece: Piece | None
    if kind == "LINE":
        p0 = (float(tags["10"]), float(tags["20"]))
        p1 = (float(tags["11"]), float(tags["21"]))
        piece = Piece([Line(p0, p1)]) if p0 != p1 else None
    elif kind in ("CIRCLE", "ARC"):
        radius = float(tags["40"])
        if not radius > 0:
            drawing.zero_radius += 1
            return
        center = (float(tags["10"]), float(tags["20"]))
        if kind == "CIRCLE":
            piece = Piece([Arc(center, radius, 0.0, TAU)])
        else:
            a0, a1 = float(tags["50"]), float(tags["51"])
            span = math.radians((a1 - a0) % 360) or TAU
            piece = Piece([Arc(center, radius, math.radians(a0), span)])
    else:
        from laseros.domain.files.dxf import _bulge_piece

        closed = int(tags.get("70", "0")) & 1 == 1
        piece = _bulge_piece(list(zip(zip(xs, ys, strict=True), bulges, strict=True)), closed)
    if piece is not None:
        piece.layer = layer
        drawing.pieces.append(piece)
