"""A built FeedSet as bytes, for the serving workers (`scheduler.workers`).

The main process builds the feeds once and pickles the `FeedSet` (its config, the shared
VEVENT bodies, every feed's Last-Modified, the private-feed paths); each worker unpickles
the same bytes. So every worker serves byte-identical feeds with identical ETags by
construction: none of them renders, reads the state dir or looks at a clock to build.

Pickle is safe here because both ends are our own processes: the bytes travel over a
pipe from the main process to the children it started, never through a file or socket
anyone else can write.
"""

from __future__ import annotations

import copyreg
import io
import pickle
from types import MappingProxyType
from typing import Any

from scheduler.feeds import FeedSet

PROTOCOL = 5


def _mapping_proxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


def _reduce_mapping_proxy(proxy: MappingProxyType[Any, Any]) -> tuple[Any, ...]:
    return _mapping_proxy, (dict(proxy),)


def dumps(feedset: FeedSet) -> bytes:
    """The FeedSet's bytes (the config's read-only mappings included)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=PROTOCOL)
    table = copyreg.dispatch_table.copy()
    table[MappingProxyType] = _reduce_mapping_proxy
    pickler.dispatch_table = table
    pickler.dump(feedset)
    return buffer.getvalue()


def loads(data: bytes) -> FeedSet:
    """The FeedSet `dumps` wrote."""
    feedset = pickle.loads(data)
    if not isinstance(feedset, FeedSet):
        raise TypeError(f"not a feed snapshot: {type(feedset).__name__}")
    return feedset
