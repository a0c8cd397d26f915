"""DXF analysis: units, box, cut length, pierces, contours, part area, entity counts, preflight, preview.

Pure functions on a file path (no database): the file store runs :func:`analyse` in a worker
thread with a time limit. A file that cannot be read raises :class:`DxfUnreadable` with a message
for the person who uploaded it.
"""

from __future__ import annotations

import gc
import math
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from laseros.domain.files.fastdxf import read_flat
from laseros.domain.files.geometry import (
    TAU,
    Arc,
    Contour,
    Line,
    Piece,
    Point,
    Polyline,
    chain,
    point_in_polygon,
    rapid_travel,
    simplify_ring,
)

# $INSUNITS → millimetres per drawing unit (0 = unset: assumed mm).
UNIT_MM: dict[int, tuple[str, float]] = {
    0: ("mm", 1.0),
    1: ("in", 25.4),
    2: ("ft", 304.8),
    4: ("mm", 1.0),
    5: ("cm", 10.0),
    6: ("m", 1000.0),
    8: ("µin", 25.4e-6),
    9: ("mil", 0.0254),
    10: ("yd", 914.4),
    14: ("dm", 100.0),
}
CUT_TYPES = frozenset({"LINE", "ARC", "CIRCLE", "ELLIPSE", "LWPOLYLINE", "POLYLINE", "SPLINE"})
# Layers whose names say they are not for cutting: reported, not cut.
NOT_CUT_LAYER = re.compile(r"text|dim|engrav|etch|mark|annot|note|title|border|frame|hatch", re.IGNORECASE)
JOIN_TOLERANCE_MM = 0.05
FLATTEN_MM = 0.01
MAX_BLOCK_DEPTH = 16
MAX_ENTITIES = 2_000_000
# Coordinates past this many millimetres are not a part (a stray point far away, a corrupt value).
MAX_COORDINATE_MM = 1e7


class DxfUnreadable(Exception):
    """The file is not a DXF this shop can analyse; the message says why."""


@dataclass
class Analysis:
    units: str
    units_assumed: bool
    width_mm: float
    height_mm: float
    min_x_mm: float
    min_y_mm: float
    cut_length_mm: float
    pierces: int
    contours: int
    open_contours: int
    area_mm2: float
    entity_counts: dict[str, int]
    ignored_layers: list[str]
    duplicate_segments: int
    open_ends_mm: list[tuple[float, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    recovered: bool = False
    # Rapid travel between the contours in nearest-neighbour order from the box's lower-left corner
    # (geometry.rapid_travel), in mm; None in analyses stored before it was measured.
    rapid_mm: float | None = None
    # The part's outer contour for true-shape nesting (domain/pricing/nesting.py): the largest closed
    # contour, simplified to at most OUTLINE_POINTS points, in mm from the box's lower-left corner;
    # outline_tolerance_mm is how far it may lie inside the true edge. None when the largest contour
    # does not span the whole drawing (several parts, open contours) and in analyses stored before it.
    outline: list[tuple[float, float]] | None = None
    outline_tolerance_mm: float = 0.0

    def warnings(self, sheet_mm: tuple[float, float] | None = None) -> list[str]:
        """The preflight: what a programmer fixes (or knowingly accepts) before cutting."""
        out: list[str] = []
        if self.units_assumed:
            out.append("Units are not set in the drawing ($INSUNITS): millimetres assumed. Check the size.")
        if self.open_contours:
            where = ", ".join(f"({x:.1f}, {y:.1f})" for x, y in self.open_ends_mm[:6])
            out.append(
                f"{self.open_contours} open contour(s): the cut does not close. Open ends at {where} mm "
                "(marked red on the preview)."
            )
        if self.duplicate_segments:
            out.append(
                f"{self.duplicate_segments} duplicate or overlapping segment(s): those lines would be cut twice."
            )
        if self.ignored_layers:
            out.append("Not cut (text, dimension or engraving layers): " + ", ".join(self.ignored_layers) + ".")
        if sheet_mm and self.width_mm and self.height_mm:
            sw, sh = sheet_mm
            fits = (self.width_mm <= sw and self.height_mm <= sh) or (self.width_mm <= sh and self.height_mm <= sw)
            if not fits:
                out.append(
                    f"The part ({self.width_mm:.1f} × {self.height_mm:.1f} mm) is larger than the sheet "
                    f"({sw:g} × {sh:g} mm)."
                )
        if not self.contours:
            out.append("Nothing to cut: the drawing has no lines, arcs, circles, polylines or splines.")
        out.extend(self.notes)
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Analysis:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["open_ends_mm"] = [tuple(p) for p in known.get("open_ends_mm", [])]
        if known.get("outline") is not None:
            known["outline"] = [tuple(p) for p in known["outline"]]
        return cls(**known)


def parse_sheet(sheet_size: str | None) -> tuple[float, float] | None:
    """'3000x1500' → (3000.0, 1500.0); anything else → None."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[xX×]\s*(\d+(?:\.\d+)?)\s*", sheet_size or "")
    return (float(match[1]), float(match[2])) if match else None


def load(path: Path) -> tuple[Any, bool]:
    """The document, and whether ezdxf's recover mode was needed to read it."""
    import ezdxf
    from ezdxf import recover

    try:
        return ezdxf.readfile(path), False
    except (ezdxf.DXFStructureError, ezdxf.DXFError, UnicodeDecodeError, ValueError, IndexError, KeyError):
        pass
    except OSError as error:
        raise DxfUnreadable(f"The file could not be opened: {error.strerror or error}.") from None
    try:
        doc, _auditor = recover.readfile(path)
    except Exception as error:  # recover gives up in many ways; all mean "not a DXF we can read"
        raise DxfUnreadable(f"This DXF could not be read, even in recovery mode ({type(error).__name__}).") from None
    return doc, True


class _Collector:
    def __init__(self, flatten: float) -> None:
        self.flatten = flatten
        self.pieces: list[Piece] = []
        self.counts: Counter[str] = Counter()
        self.ignored_layers: set[str] = set()
        self.notes: set[str] = set()
        self.seen = 0

    def visit(self, entity: Any, layer: str | None = None, depth: int = 0) -> None:
        self.seen += 1
        if self.seen > MAX_ENTITIES:
            raise DxfUnreadable(f"The drawing has more than {MAX_ENTITIES:,} entities (blocks included).")
        kind = entity.dxftype()
        own_layer = entity.dxf.get("layer", "0")
        # Entities on layer 0 inside a block take the INSERT's layer.
        effective = layer if layer is not None and own_layer == "0" else own_layer
        self.counts[kind] += 1
        if NOT_CUT_LAYER.search(effective):
            self.ignored_layers.add(effective)
        if kind == "INSERT":
            self._insert(entity, effective, depth)
            return
        if kind not in CUT_TYPES:
            return
        if NOT_CUT_LAYER.search(effective):
            return
        try:
            piece = self._piece(entity, kind)
        except (ValueError, ZeroDivisionError, ArithmeticError, TypeError, AttributeError, IndexError) as error:
            self.notes.add(f"A {kind} could not be measured and was left out ({type(error).__name__}).")
            return
        if piece is not None:
            piece.layer = effective
            self.pieces.append(piece)

    def _insert(self, insert: Any, layer: str, depth: int) -> None:
        name = insert.dxf.get("name", "?")
        if depth >= MAX_BLOCK_DEPTH:
            self.notes.add(f"Block {name} is nested more than {MAX_BLOCK_DEPTH} deep; the deeper levels were left out.")
            return
        doc = insert.doc
        if doc is None or name not in doc.blocks:
            self.notes.add(f"Block {name} is used but not defined; it was left out.")
            return
        try:
            for single in insert.multi_insert():
                for child in single.virtual_entities():
                    self.visit(child, layer, depth + 1)
        except DxfUnreadable:
            raise
        except Exception as error:  # a malformed block must not sink the whole drawing
            self.notes.add(f"Block {name} could not be expanded ({type(error).__name__}); it was left out.")

    def _piece(self, e: Any, kind: str) -> Piece | None:
        if kind == "LINE":
            s, t = e.dxf.start, e.dxf.end
            if math.dist((s.x, s.y), (t.x, t.y)) == 0:
                return None
            return Piece([Line((s.x, s.y), (t.x, t.y))])
        if kind in ("CIRCLE", "ARC"):
            radius = float(e.dxf.radius)
            if not radius > 0 or not math.isfinite(radius):
                self.notes.add(f"A zero-radius {kind.lower()} was left out.")
                return None
            ocs = e.ocs()
            c = ocs.to_wcs(e.dxf.center)
            mirrored = e.dxf.extrusion.z < 0
            if kind == "CIRCLE":
                return Piece([Arc((c.x, c.y), radius, 0.0, TAU)])
            span = math.radians((e.dxf.end_angle - e.dxf.start_angle) % 360) or TAU
            s = e.start_point
            a0 = math.atan2(s.y - c.y, s.x - c.x)
            return Piece([Arc((c.x, c.y), radius, a0, -span if mirrored else span)])
        if kind == "LWPOLYLINE":
            ocs = e.ocs()
            elevation = e.dxf.get("elevation", 0)
            sign = -1.0 if e.dxf.extrusion.z < 0 else 1.0
            vertices = []
            for x, y, bulge in e.get_points("xyb"):
                p = ocs.to_wcs((x, y, elevation))
                vertices.append(((p.x, p.y), sign * bulge))
            return _bulge_piece(vertices, e.closed)
        if kind == "POLYLINE":
            if e.is_poly_face_mesh or e.is_polygon_mesh:
                self.notes.add("Polyface and mesh POLYLINEs are 3D surfaces and were not cut.")
                return None
            ocs = e.ocs() if e.is_2d_polyline else None
            sign = -1.0 if (ocs is not None and e.dxf.extrusion.z < 0) else 1.0
            vertices = []
            for vertex in e.vertices:
                loc = vertex.dxf.location
                p = ocs.to_wcs(loc) if ocs is not None else loc
                bulge = vertex.dxf.get("bulge", 0.0) if ocs is not None else 0.0
                vertices.append(((p.x, p.y), sign * bulge))
            return _bulge_piece(vertices, e.is_closed)
        # ELLIPSE, SPLINE: flattened finely (their true length has no closed form).
        points = [(v.x, v.y) for v in e.flattening(self.flatten)]
        if len(points) < 2:
            return None
        return Piece([Polyline(tuple(points))])


def _bulge_piece(vertices: list[tuple[Point, float]], closed: bool) -> Piece | None:
    segments: list[Line | Arc] = []
    count = len(vertices)
    last = count if closed else count - 1
    for i in range(last):
        p0, bulge = vertices[i]
        p1 = vertices[(i + 1) % count][0]
        if p0 == p1:
            continue
        segments.append(_bulge_segment(p0, p1, bulge))
    return Piece(list(segments)) if segments else None


def _bulge_segment(p0: Point, p1: Point, bulge: float) -> Line | Arc:
    """A polyline segment: a line, or with a bulge the arc it stands for (bulge = tan(sweep / 4))."""
    if abs(bulge) < 1e-12:
        return Line(p0, p1)
    sweep = 4 * math.atan(bulge)
    chord = math.dist(p0, p1)
    radius = chord / (2 * abs(math.sin(sweep / 2)))
    mx, my = (p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2
    nx, ny = -(p1[1] - p0[1]) / chord, (p1[0] - p0[0]) / chord  # left of the chord
    offset = (chord / 2) / math.tan(sweep / 2)
    cx, cy = mx + nx * offset, my + ny * offset
    return Arc((cx, cy), radius, math.atan2(p0[1] - cy, p0[0] - cx), sweep)


def _extent(pieces: list[Piece]) -> tuple[float, float, float, float] | None:
    xs: list[float] = []
    ys: list[float] = []
    for piece in pieces:
        for seg in piece.segments:
            if isinstance(seg, Arc):
                xs.extend((seg.start[0], seg.end[0]))
                ys.extend((seg.start[1], seg.end[1]))
                # The arc's extreme points that lie within its sweep.
                lo = min(seg.start_angle, seg.start_angle + seg.sweep)
                hi = max(seg.start_angle, seg.start_angle + seg.sweep)
                k = math.ceil(lo / (math.pi / 2))
                while k * math.pi / 2 <= hi + 1e-12:
                    x, y = seg.at(k * math.pi / 2)
                    xs.append(x)
                    ys.append(y)
                    k += 1
            else:
                for x, y in seg.points(2):
                    xs.append(x)
                    ys.append(y)
    if not xs:
        return None
    return min(xs), min(ys), max(xs), max(ys)


def _duplicates(pieces: list[Piece], tolerance: float) -> int:
    """Segments cut twice: identical lines, arcs and circles, and collinear lines that overlap."""
    seen: set[tuple[Any, ...]] = set()
    duplicates = 0
    by_line: dict[tuple[int, int], list[tuple[float, float]]] = {}
    atan2, cos, sin, pi = math.atan2, math.cos, math.sin, math.pi
    for piece in pieces:
        for seg in piece.segments:
            if type(seg) is Line:
                (x0, y0), (x1, y1) = seg.start, seg.end
                angle = atan2(y1 - y0, x1 - x0) % pi
                ux, uy = cos(angle), sin(angle)
                t0 = ux * x0 + uy * y0
                t1 = ux * x1 + uy * y1
                line_key = (round(angle * 1e6), round((-uy * x0 + ux * y0) / tolerance))
                by_line.setdefault(line_key, []).append((t0, t1) if t0 <= t1 else (t1, t0))
            elif type(seg) is Arc:
                span = (round(seg.start_angle % TAU * 1e4), round(seg.sweep * 1e4)) if not seg.is_full else ("full",)
                cx, cy = seg.center
                ident = ("A", (round(cx / tolerance), round(cy / tolerance)), round(seg.radius / tolerance), span)
                if ident in seen:
                    duplicates += 1
                seen.add(ident)
    for intervals in by_line.values():
        if len(intervals) < 2:
            continue
        intervals.sort()
        reach = intervals[0][1]
        for lo, hi in intervals[1:]:
            if lo < reach - tolerance:
                duplicates += 1
            reach = max(reach, hi)
    return duplicates


def _box(piece: Piece) -> tuple[float, float, float, float]:
    if len(piece.segments) == 1 and isinstance(piece.segments[0], Arc) and piece.segments[0].is_full:
        arc = piece.segments[0]
        (cx, cy), r = arc.center, arc.radius
        return cx - r, cy - r, cx + r, cy + r
    return _extent([piece]) or (0.0, 0.0, 0.0, 0.0)


Box = tuple[float, float, float, float]


def _union(boxes: list[Box]) -> Box | None:
    if not boxes:
        return None
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)


def _part_area(closed: list[Contour], areas: list[float], piece_box: dict[int, Box]) -> float:
    """Outer contours minus holes (and islands in holes count again): by nesting depth.

    ``piece_box``: each piece's box by ``id(piece)``, worked out once for the drawing's extent too."""
    if not closed:
        return 0.0
    boxes = []
    for contour in closed:
        piece_boxes = [piece_box[id(piece)] for piece, _ in contour.pieces]
        boxes.append((min(b[0] for b in piece_boxes), min(b[1] for b in piece_boxes),
                      max(b[2] for b in piece_boxes), max(b[3] for b in piece_boxes)))  # fmt: skip
    polygons: dict[int, list[Point]] = {}
    # A grid over the drawing: each loop is filed in the cells its box covers, so a loop is only
    # tested against the loops whose boxes reach its own.
    sizes = sorted(max(b[2] - b[0], b[3] - b[1]) for b in boxes)
    cell = max(sizes[len(sizes) // 2] * 2, 1e-9)
    x_min, y_min = min(b[0] for b in boxes), min(b[1] for b in boxes)
    grid: dict[tuple[int, int], list[int]] = {}
    wide: list[int] = []
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        cx0, cy0 = int((x0 - x_min) // cell), int((y0 - y_min) // cell)
        cx1, cy1 = int((x1 - x_min) // cell), int((y1 - y_min) // cell)
        if (cx1 - cx0 + 1) * (cy1 - cy0 + 1) > 400:
            wide.append(i)
            continue
        for gx in range(cx0, cx1 + 1):
            for gy in range(cy0, cy1 + 1):
                grid.setdefault((gx, gy), []).append(i)
    total = 0.0
    for i, contour in enumerate(closed):
        x0, y0, x1, y1 = boxes[i]
        # A point on this loop: loops of one part do not cross, so it is inside exactly the loops around it.
        probe = contour.pieces[0][0].start
        key = (int((probe[0] - x_min) // cell), int((probe[1] - y_min) // cell))
        depth = 0
        for j in (*grid.get(key, ()), *wide):
            if j == i or areas[j] <= areas[i]:
                continue
            bx0, by0, bx1, by1 = boxes[j]
            if bx0 <= x0 and by0 <= y0 and bx1 >= x1 and by1 >= y1:
                if j not in polygons:
                    polygons[j] = closed[j].polygon()
                if point_in_polygon(probe, polygons[j]):
                    depth += 1
        total += areas[i] if depth % 2 == 0 else -areas[i]
    return max(total, 0.0)


@dataclass
class Result:
    analysis: Analysis
    doc: Any  # None when the fast reader read it
    open_ends: list[Point]  # in drawing units, for the preview
    pieces: list[Piece] = field(default_factory=list)
    mm_per_unit: float = 1.0


# Files at least this large try the fast flat reader first (domain/files/fastdxf.py).
FAST_PATH_BYTES = 256 * 1024


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a drawing is measured (nested and thread-safe).

    Measuring builds hundreds of thousands of small objects that all stay alive until the end; the
    collector would scan them again and again (about 1 s of a 50 000-entity file's 2.6 s, measured
    with benchmarks/bench_dxf.py). Nothing here makes reference cycles, and whatever other threads
    leave meanwhile is collected when it is switched back on, seconds later.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


def analyse(path: Path) -> Result:
    """Read and measure one DXF file (raises :class:`DxfUnreadable`)."""
    with _gc_paused():
        return _analyse(path)


def _analyse(path: Path) -> Result:
    flat = None
    try:
        if path.stat().st_size >= FAST_PATH_BYTES:
            flat = read_flat(path, NOT_CUT_LAYER.search)
    except OSError as error:
        raise DxfUnreadable(f"The file could not be opened: {error.strerror or error}.") from None
    doc: Any = None
    recovered = False
    if flat is not None:
        insunits = flat.insunits
        collector = _Collector(1.0)
        collector.pieces = flat.pieces
        collector.counts = flat.counts
        collector.ignored_layers = {layer for layer in flat.layers if NOT_CUT_LAYER.search(layer)}
        if flat.zero_radius:
            collector.notes.add("A zero-radius circle or arc was left out.")
    else:
        doc, recovered = load(path)
        insunits = doc.header.get("$INSUNITS", 0)
    try:
        insunits = int(insunits)
    except (TypeError, ValueError):
        insunits = 0
    units, mm_per_unit = UNIT_MM.get(insunits, ("mm", 1.0))
    assumed = insunits not in UNIT_MM or insunits == 0
    if doc is not None:
        collector = _Collector(FLATTEN_MM / mm_per_unit)
        try:
            for entity in doc.modelspace():
                collector.visit(entity)
        except DxfUnreadable:
            raise
        except Exception as error:  # a corrupt entity table: refuse with a message, not a 500
            raise DxfUnreadable(f"The drawing's entities could not be read ({type(error).__name__}).") from None
    pieces = [p for p in collector.pieces if _finite(p, MAX_COORDINATE_MM / mm_per_unit)]
    if len(pieces) < len(collector.pieces):
        collector.notes.add(
            f"{len(collector.pieces) - len(pieces)} entity(ies) lie absurdly far away (beyond 10 km) and were left out."
        )
    tolerance = JOIN_TOLERANCE_MM / mm_per_unit
    contours = chain(pieces, tolerance)
    closed = [c for c in contours if c.closed]
    open_contours = [c for c in contours if not c.closed]
    open_ends = [p for c in open_contours for p in c.open_ends]
    piece_box = {id(piece): _box(piece) for piece in pieces}
    extent = _union(list(piece_box.values())) or (0.0, 0.0, 0.0, 0.0)
    f = mm_per_unit
    areas = [abs(c.signed_area()) for c in closed]
    outline, outline_tolerance = _outline(closed, areas, extent, f)
    analysis = Analysis(
        units=units,
        units_assumed=assumed,
        width_mm=round((extent[2] - extent[0]) * f, 3),
        height_mm=round((extent[3] - extent[1]) * f, 3),
        min_x_mm=round(extent[0] * f, 3),
        min_y_mm=round(extent[1] * f, 3),
        cut_length_mm=round(sum(p.length for p in pieces) * f, 3),
        pierces=len(contours),
        contours=len(contours),
        open_contours=len(open_contours),
        area_mm2=round(float(_part_area(closed, areas, piece_box)) * f * f, 2),
        entity_counts=dict(sorted(collector.counts.items())),
        ignored_layers=sorted(collector.ignored_layers),
        duplicate_segments=_duplicates(pieces, tolerance),
        open_ends_mm=[(round(x * f, 1), round(y * f, 1)) for x, y in open_ends[:50]],
        notes=sorted(collector.notes),
        recovered=recovered,
        rapid_mm=round(
            rapid_travel(
                [c.pieces[0][0].start if not c.pieces[0][1] else c.pieces[0][0].end for c in contours if c.pieces],
                (extent[0], extent[1]),
            )
            * f,
            3,
        ),
        outline=outline,
        outline_tolerance_mm=outline_tolerance,
    )
    if recovered:
        analysis.notes.insert(0, "The file had errors; it was read in ezdxf's recovery mode. Check the preview.")
    return Result(analysis, doc, open_ends, pieces, mm_per_unit)


OUTLINE_POINTS = 300
OUTLINE_TOLERANCE_MM = 0.25  # the simplification's first try; doubled until the points are few enough
OUTLINE_PER_TURN = 256  # arcs flattened to this many chords a turn before simplifying


def _outline(
    closed: list[Contour], areas: list[float], extent: tuple[float, float, float, float], f: float
) -> tuple[list[tuple[float, float]] | None, float]:
    """The largest closed contour as a simplified polygon in mm from the box's lower-left corner,
    and how far it may lie inside the true edge (the simplification plus the arcs' chords)."""
    if not closed:
        return None, 0.0
    largest = max(range(len(closed)), key=areas.__getitem__)
    contour = closed[largest]
    x0, y0, x1, y1 = extent
    points = [((x - x0) * f, (y - y0) * f) for x, y in contour.polygon(OUTLINE_PER_TURN)]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    # It must be the part's outside: its box is the drawing's box (else several parts, or stray lines).
    slack = 0.5
    if min(xs) > slack or min(ys) > slack or max(xs) < (x1 - x0) * f - slack or max(ys) < (y1 - y0) * f - slack:
        return None, 0.0
    radius = max((s.radius for piece, _ in contour.pieces for s in piece.segments if isinstance(s, Arc)), default=0.0)
    chord = radius * f * (1 - math.cos(math.pi / OUTLINE_PER_TURN))
    tolerance = OUTLINE_TOLERANCE_MM
    while True:
        simple = simplify_ring(points, tolerance)
        if len(simple) <= OUTLINE_POINTS:
            break
        tolerance *= 2
    if len(simple) < 3:
        return None, 0.0
    return [(round(x, 2), round(y, 2)) for x, y in simple], round(tolerance + chord + 0.01, 3)


def _finite(piece: Piece, limit: float) -> bool:
    for seg in piece.segments:
        for x, y in (seg.start, seg.end):
            if not (math.isfinite(x) and math.isfinite(y)) or abs(x) > limit or abs(y) > limit:
                return False
    return True


def render_svg(result: Result) -> str:
    """The drawing as SVG (ezdxf's drawing add-on), open ends marked with red rings."""
    from ezdxf.addons.drawing import Frontend, RenderContext, layout, svg
    from ezdxf.addons.drawing.config import BackgroundPolicy, ColorPolicy, Configuration

    doc = result.doc
    if doc is None or len(result.pieces) > LARGE_DRAWING:
        return outline_svg(result)
    msp = doc.modelspace()
    if result.open_ends:
        a = result.analysis
        size = max(a.width_mm, a.height_mm) or 1.0
        mm_per_unit = UNIT_MM.get(int(doc.header.get("$INSUNITS", 0) or 0), ("mm", 1.0))[1]
        radius = size / 60 / mm_per_unit
        for x, y in result.open_ends[:200]:
            msp.add_circle((x, y), radius, dxfattribs={"color": 1, "layer": "LASEROS_OPEN_ENDS", "lineweight": 50})
    backend = svg.SVGBackend()
    config = Configuration(background_policy=BackgroundPolicy.WHITE, color_policy=ColorPolicy.COLOR)
    Frontend(RenderContext(doc), backend, config=config).draw_layout(msp, finalize=True)
    page = layout.Page(0, 0, layout.Units.mm, margins=layout.Margins.all(2))
    return backend.get_string(page, settings=layout.Settings(fit_page=True))


# Past this many cut pieces the preview is drawn from the measured geometry (ezdxf's renderer
# would take seconds); it shows what is cut, open ends in red.
LARGE_DRAWING = 5_000


def outline_svg(result: Result) -> str:
    """The cut geometry as one SVG path (y up, as drawn), open ends ringed in red."""
    a = result.analysis
    f = result.mm_per_unit
    x0, y0 = a.min_x_mm / f, a.min_y_mm / f
    w, h = max(a.width_mm / f, 1e-9), max(a.height_mm / f, 1e-9)
    scale = 1000 / max(w, h)
    out: list[str] = []
    for piece in result.pieces:
        points = piece.points(24)
        out.append("M" + " L".join(f"{(x - x0) * scale:.1f} {(h - (y - y0)) * scale:.1f}" for x, y in points))
    rings = "".join(
        f'<circle cx="{(x - x0) * scale:.1f}" cy="{(h - (y - y0)) * scale:.1f}" r="12" />'
        for x, y in result.open_ends[:200]
    )
    vw, vh = w * scale, h * scale
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-10 -10 {vw + 20:.1f} {vh + 20:.1f}">'
        f'<rect x="-10" y="-10" width="{vw + 20:.1f}" height="{vh + 20:.1f}" fill="#fff"/>'
        f'<path d="{" ".join(out)}" fill="none" stroke="#111" stroke-width="1.5" vector-effect="non-scaling-stroke"/>'
        f'<g fill="none" stroke="#dc2626" stroke-width="3">{rings}</g></svg>'
    )
