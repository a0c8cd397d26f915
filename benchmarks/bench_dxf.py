"""DXF analysis and files on a page: the figures in docs/performance.md.

1. A 5 MB-plus DXF with 50 000 entities (squares, circles, lines, arcs) analysed: wall and CPU
   time (target < 2 s).
2. ``laseros serve`` on a fresh database: a project with 20 DXF files, its page rendered 30 times
   (target median < 50 ms: the analysis is stored and the previews are cached files).
3. A 25 MB upload streamed to that server: the web process's peak RSS (VmHWM) before and after
   (target: it grows by far less than the file — the body goes to disk as it arrives).

    .venv/bin/python benchmarks/bench_dxf.py
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import ezdxf
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_login_flood import build, logged_in
from benchmarks.bench_shop_floor import ShopServer
from laseros.domain.files import dxf


def big_drawing(path: Path, parts: int = 12_500) -> Path:
    doc = ezdxf.new(units=4)
    msp = doc.modelspace()
    for i in range(parts):
        x, y = (i % 125) * 30.0, (i // 125) * 30.0
        msp.add_lwpolyline([(x, y), (x + 20, y), (x + 20, y + 20), (x, y + 20)], close=True)
        msp.add_circle((x + 10, y + 10), 4)
        msp.add_line((x + 25, y), (x + 25, y + 20))
        msp.add_arc((x + 10, y + 25), 3, 0, 180)
    doc.saveas(path)
    return path


def small_drawing(n: int) -> bytes:
    doc = ezdxf.new(units=4)
    msp = doc.modelspace()
    msp.add_lwpolyline([(0, 0), (100 + n, 0), (100 + n, 50), (0, 50)], close=True)
    for k in range(6):
        msp.add_circle((10 + k * 15, 25), 4)
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode()


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class Body:
    """A 25 MB multipart body, produced in 1 MB chunks (the client holds no 25 MB buffer either)."""

    def __init__(self, megabytes: int) -> None:
        self.megabytes = megabytes

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield b'--BENCH\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n\r\n%PDF-1.4\n'
        chunk = b"0" * (1024 * 1024)
        for _ in range(self.megabytes - 1):
            yield chunk
        yield b"\r\n--BENCH--\r\n"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        drawing = big_drawing(folder / "big.dxf")
        size_mb = drawing.stat().st_size / 1e6
        for attempt in range(3):
            wall, cpu = time.perf_counter(), time.process_time()
            result = dxf.analyse(drawing)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"analysis of {size_mb:.1f} MB, {sum(result.analysis.entity_counts.values()):,} entities "
                  f"(run {attempt + 1}): wall {wall:.2f} s, CPU {cpu:.2f} s")  # fmt: skip

        source = build(folder / "built")
        with ShopServer(source, folder / "server") as server:
            client = logged_in(server.base_url)
            client.post("/clients/new", data={"name": "Bench client"})
            created = client.post("/projects/new", data={"client_id": "1", "name": "Twenty drawings"})
            project_url = created.headers["location"]
            for n in range(20):
                response = client.post(f"{project_url}/files", files={"file": (f"part-{n}.dxf", small_drawing(n))})
                assert response.status_code == 303, response.text[:300]
            timings = []
            for _ in range(30):
                started = time.perf_counter()
                assert client.get(project_url).status_code == 200
                timings.append((time.perf_counter() - started) * 1000)
            print(f"project page with 20 files: median {statistics.median(timings):.1f} ms, max {max(timings):.1f} ms")

            assert server.process is not None
            before = peak_rss_kb(server.process.pid)
            started = time.perf_counter()
            response = httpx.post(
                f"{server.base_url}{project_url}/files",
                content=Body(25),
                cookies=client.cookies,
                headers={
                    "x-csrftoken": client.headers["x-csrftoken"],
                    "content-type": "multipart/form-data; boundary=BENCH",
                },
                timeout=120,
            )
            elapsed = time.perf_counter() - started
            after = peak_rss_kb(server.process.pid)
            grown = (after - before) / 1024
            print(f"25 MB upload: {response.status_code} in {elapsed:.1f} s; web process peak RSS "
                  f"{before / 1024:.0f} MB before, {after / 1024:.0f} MB after (+{grown:.1f} MB)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
