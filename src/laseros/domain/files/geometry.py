"""Cut geometry in the plane: lines, true arcs and flattened curves, chained into contours.

Lengths and areas of lines and arcs are exact (an arc is measured as an arc, its area by Green's
theorem over the arc itself); ellipses and splines are flattened finely enough that the error is
far below a cut's kerf.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

Point = tuple[float, float]
TAU = 2 * math.pi


@dataclass(frozen=True, slots=True)
class Line:
    start: Point
    end: Point

    @property
    def length(self) -> float:
        return math.dist(self.start, self.end)

    def green(self) -> float:
        """Twice the signed area this segment adds to a closed loop (∮ x dy − y dx)."""
        (x0, y0), (x1, y1) = self.start, self.end
        return x0 * y1 - x1 * y0

    def points(self, _per_turn: int) -> list[Point]:
        return [self.start, self.end]


@dataclass(slots=True)
class Arc:
    center: Point
    radius: float
    start_angle: float  # radians
    sweep: float  # radians, signed: positive is counter-clockwise
    start: Point = field(init=False)
    end: Point = field(init=False)

    def __post_init__(self) -> None:
        (cx, cy), r, a0 = self.center, self.radius, self.start_angle
        a1 = a0 + self.sweep
        self.start = (cx + r * math.cos(a0), cy + r * math.sin(a0))
        self.end = (cx + r * math.cos(a1), cy + r * math.sin(a1))

    def at(self, angle: float) -> Point:
        cx, cy = self.center
        return (cx + self.radius * math.cos(angle), cy + self.radius * math.sin(angle))

    @property
    def length(self) -> float:
        return abs(self.sweep) * self.radius

    @property
    def is_full(self) -> bool:
        return abs(abs(self.sweep) - TAU) < 1e-9

    def green(self) -> float:
        cx, cy = self.center
        r, a0 = self.radius, self.start_angle
        a1 = a0 + self.sweep
        return r * r * self.sweep + cx * r * (math.sin(a1) - math.sin(a0)) + cy * r * (math.cos(a0) - math.cos(a1))

    def points(self, per_turn: int) -> list[Point]:
        steps = max(2, math.ceil(per_turn * abs(self.sweep) / TAU))
        return [self.at(self.start_angle + self.sweep * i / steps) for i in range(steps + 1)]


@dataclass(frozen=True, slots=True)
class Polyline:
    """A curve already flattened to points (ellipses, splines)."""

    vertices: tuple[Point, ...]

    @property
    def start(self) -> Point:
        return self.vertices[0]

    @property
    def end(self) -> Point:
        return self.vertices[-1]

    @property
    def length(self) -> float:
        return sum(math.dist(a, b) for a, b in zip(self.vertices, self.vertices[1:], strict=False))

    def green(self) -> float:
        return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(self.vertices, self.vertices[1:], strict=False))

    def points(self, _per_turn: int) -> list[Point]:
        return list(self.vertices)


Segment = Line | Arc | Polyline


@dataclass(slots=True)
class Piece:
    """One drawn entity's cut path: segments end to end (a polyline is one piece)."""

    segments: list[Segment]
    layer: str = ""

    @property
    def start(self) -> Point:
        return self.segments[0].start

    @property
    def end(self) -> Point:
        return self.segments[-1].end

    @property
    def length(self) -> float:
        return sum(s.length for s in self.segments)

    def green(self) -> float:
        return sum(s.green() for s in self.segments)

    def points(self, per_turn: int = 64) -> list[Point]:
        out: list[Point] = []
        for segment in self.segments:
            pts = segment.points(per_turn)
            out.extend(pts if not out else pts[1:])
        return out


@dataclass
class Contour:
    pieces: list[tuple[Piece, bool]]  # (piece, reversed)
    closed: bool
    open_ends: list[Point] = field(default_factory=list)

    def signed_area(self) -> float:
        return sum(-p.green() if rev else p.green() for p, rev in self.pieces) / 2

    def polygon(self, per_turn: int = 32) -> list[Point]:
        out: list[Point] = []
        for piece, rev in self.pieces:
            pts = piece.points(per_turn)
            if rev:
                pts.reverse()
            out.extend(pts)
        return out


class _Snap:
    """Points within ``tolerance`` of each other become one node: the same point again is a dict hit;
    another is looked for in a grid of cells twice the tolerance wide, where a point's circle of
    radius ``tolerance`` reaches at most four cells (its own and the neighbours on its nearer sides)."""

    def __init__(self, tolerance: float) -> None:
        self.tolerance = tolerance
        self.size = 2 * tolerance
        self.exact: dict[Point, int] = {}
        self.cells: dict[tuple[int, int], list[tuple[Point, int]]] = defaultdict(list)
        self.count = 0

    def node(self, point: Point) -> int:
        found = self.exact.get(point)
        if found is not None:
            return found
        t, size, cells = self.tolerance, self.size, self.cells
        fx, fy = point[0] / size, point[1] / size
        cx, cy = math.floor(fx), math.floor(fy)
        nx = cx - 1 if fx - cx < 0.5 else cx + 1
        ny = cy - 1 if fy - cy < 0.5 else cy + 1
        for cell in ((cx, cy), (nx, cy), (cx, ny), (nx, ny)):
            for other, node in cells.get(cell, ()):
                if math.dist(other, point) <= t:
                    self.exact[point] = node
                    return node
        node = self.count
        self.count += 1
        cells[(cx, cy)].append((point, node))
        self.exact[point] = node
        return node


def chain(pieces: Sequence[Piece], tolerance: float) -> list[Contour]:
    """Join pieces end to end within ``tolerance`` into contours: closed loops and open chains."""
    snap = _Snap(tolerance)
    contours: list[Contour] = []
    # A piece that closes on itself (a circle, a closed polyline) is a contour of its own.
    loose: list[Piece] = []
    for piece in pieces:
        if math.dist(piece.start, piece.end) <= tolerance and (len(piece.segments) > 1 or _self_closing(piece)):
            contours.append(Contour([(piece, False)], True))
        else:
            loose.append(piece)
    pieces = loose
    ends: list[tuple[int, int]] = []
    incident: dict[int, list[int]] = defaultdict(list)
    for index, piece in enumerate(pieces):
        a, b = snap.node(piece.start), snap.node(piece.end)
        ends.append((a, b))
        incident[a].append(index)
        incident[b].append(index)
    used = [False] * len(pieces)
    for first in range(len(pieces)):
        if used[first]:
            continue
        # The connected component, then a walk along it when every node joins exactly two ends.
        component: list[int] = []
        stack = [first]
        used[first] = True
        while stack:
            index = stack.pop()
            component.append(index)
            for node in ends[index]:
                for other in incident[node]:
                    if not used[other]:
                        used[other] = True
                        stack.append(other)
        nodes: dict[int, int] = defaultdict(int)
        for index in component:
            a, b = ends[index]
            nodes[a] += 1
            nodes[b] += 1
        odd = [node for node, degree in nodes.items() if degree % 2]
        closed = not odd and all(degree == 2 for degree in nodes.values())
        if closed:
            contours.append(Contour(_walk(component, ends, incident, pieces), True))
        else:
            wanted = set(odd)
            marked: list[Point] = []
            for index in component:
                for node, point in zip(ends[index], (pieces[index].start, pieces[index].end), strict=True):
                    if node in wanted:
                        wanted.discard(node)
                        marked.append(point)
            contours.append(Contour([(pieces[i], False) for i in component], False, marked))
    return contours


def _self_closing(piece: Piece) -> bool:
    segment = piece.segments[0]
    if isinstance(segment, Arc):
        return segment.is_full
    return isinstance(segment, Polyline) and len(segment.vertices) > 2


def _walk(
    component: list[int], ends: list[tuple[int, int]], incident: dict[int, list[int]], pieces: Sequence[Piece]
) -> list[tuple[Piece, bool]]:
    order: list[tuple[Piece, bool]] = []
    seen: set[int] = set()
    current = component[0]
    node = ends[current][0]
    while current not in seen:
        seen.add(current)
        a, b = ends[current]
        reversed_ = node != a
        order.append((pieces[current], reversed_))
        node = a if reversed_ else b
        current = next((i for i in incident[node] if i not in seen), current)
    return order


def point_in_polygon(point: Point, polygon: Sequence[Point]) -> bool:
    x, y = point
    inside = False
    n = len(polygon)
    j = n - 1
    for i in range(n):
        xi, yi = polygon[i]
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / ((yj - yi) or 1e-300) + xi:
            inside = not inside
        j = i
    return inside


def bbox(points: Iterable[Point]) -> tuple[float, float, float, float] | None:
    xs: list[float] = []
    ys: list[float] = []
    for x, y in points:
        xs.append(x)
        ys.append(y)
    if not xs:
        return None
    return min(xs), min(ys), max(xs), max(ys)


# Beyond this many contours the nearest-neighbour tour would cost too much at upload: the starts are
# visited in a serpentine sweep instead (bands of 50 mm, alternating direction), close to it in length.
NEAREST_NEIGHBOUR_LIMIT = 5_000
SWEEP_BAND = 50.0


def rapid_travel(starts: Sequence[Point], origin: Point) -> float:
    """The head's travel with the beam off: from ``origin`` to the nearest contour start, then on to
    the nearest unvisited start, until every contour was visited (no return). A closed contour ends
    where it starts, so its start stands for where the head is after cutting it."""
    if not starts:
        return 0.0
    if len(starts) > NEAREST_NEIGHBOUR_LIMIT:
        ordered = sorted(
            starts, key=lambda p: (int(p[1] // SWEEP_BAND), p[0] if int(p[1] // SWEEP_BAND) % 2 == 0 else -p[0])
        )
        path = [origin, *ordered]
        return float(sum(math.dist(a, b) for a, b in itertools.pairwise(path)))
    points = np.asarray(starts, dtype=float)
    left = np.ones(len(points), dtype=bool)
    here = np.asarray(origin, dtype=float)
    total = 0.0
    for _ in range(len(points)):
        distances = np.hypot(points[:, 0] - here[0], points[:, 1] - here[1])
        distances[~left] = np.inf
        nearest = int(np.argmin(distances))
        total += float(distances[nearest])
        left[nearest] = False
        here = points[nearest]
    return total


def simplify_ring(points: list[Point], tolerance: float) -> list[Point]:
    """A closed polygon simplified by Douglas–Peucker: every dropped point within ``tolerance`` of the
    edge that replaces it (the repeated closing point dropped)."""
    if len(points) > 1 and math.dist(points[0], points[-1]) <= 1e-9:
        points = points[:-1]
    if len(points) <= 3:
        return list(points)
    # Split the ring at the point farthest from the first: two open chains, simplified each.
    far = max(range(len(points)), key=lambda i: math.dist(points[0], points[i]))
    first = _douglas_peucker(points[: far + 1], tolerance)
    second = _douglas_peucker([*points[far:], points[0]], tolerance)
    return first[:-1] + second[:-1]


def _douglas_peucker(chain: list[Point], tolerance: float) -> list[Point]:
    keep = [False] * len(chain)
    keep[0] = keep[-1] = True
    stack = [(0, len(chain) - 1)]
    while stack:
        lo, hi = stack.pop()
        (ax, ay), (bx, by) = chain[lo], chain[hi]
        dx, dy = bx - ax, by - ay
        length = math.hypot(dx, dy)
        worst, at = -1.0, -1
        for i in range(lo + 1, hi):
            px, py = chain[i]
            d = abs(dy * (px - ax) - dx * (py - ay)) / length if length else math.hypot(px - ax, py - ay)
            if d > worst:
                worst, at = d, i
        if at >= 0 and worst > tolerance:
            keep[at] = True
            stack.extend(((lo, at), (at, hi)))
    return [p for p, k in zip(chain, keep, strict=True) if k]
