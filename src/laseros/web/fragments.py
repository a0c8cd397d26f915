"""Rendered fragments kept by what they show: a long list redraws only the rows that changed.

The queue page draws a hundred rows on every reload, and between two reloads most of them show the
same thing. A row's HTML is a function of the values it shows, so those values (all of them) are the
key: a row whose job, stock badge, place or neighbours changed has a new key and is drawn again; an
old key is never looked up again and falls out of the bounded cache. Nothing is invalidated, so
nothing can be forgotten: what the key does not hold, the row must not show (the queue row's
statement loads only its columns and raises on anything else; see ``queue.services.row_values``).

In a template::

    {% call cached_fragment(key) %}{% block queue_row scoped %}…{% endblock %}{% endcall %}

The block still renders on its own (an htmx fragment of one row), uncached. The key also holds the
block's compiled function, so a template reloaded in development draws afresh.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

# About 1.5 KB per queue row: some 6 MB at most per process.
MAX_FRAGMENTS = 4096


class FragmentCache:
    """A bounded LRU of rendered fragments; renders run on worker threads, so it takes a lock."""

    def __init__(self, size: int = MAX_FRAGMENTS) -> None:
        self.size = size
        self._kept: OrderedDict[Hashable, Markup] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, draw: Callable[[], Markup]) -> Markup:
        with self._lock:
            html = self._kept.get(key)
            if html is not None:
                self._kept.move_to_end(key)
                self.hits += 1
                return html
            self.misses += 1
        html = Markup(draw())
        with self._lock:
            self._kept[key] = html
            if len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return html

    @pass_context
    def fragment(self, context: Context, key: Hashable, caller: Callable[[], Markup]) -> Markup:
        """``cached_fragment(key)`` for ``{% call %}``: the body's HTML, drawn only for a key not seen lately."""
        # Which template drew it: its blocks' compiled functions (new ones when a template is reloaded).
        drawn_by = (context.name, tuple(id(blocks[0]) for blocks in context.blocks.values()))
        return self.get((drawn_by, key), caller)
