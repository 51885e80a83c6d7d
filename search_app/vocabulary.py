"""What the archive holds that a query may name (its regions and years), read from the index."""

from __future__ import annotations

import threading
import time
import weakref

from archive.models import Filters
from archive.services import Archive
from search_app.recognise import Vocabulary

# The overview is one facet count over the whole index (a few ms); reading it at most this often
# keeps it off every search, and a report of a new region is recognised this long after its ingest.
TTL_SECONDS = 10.0

_cache: weakref.WeakKeyDictionary[Archive, tuple[float, Vocabulary]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def vocabulary(archive: Archive) -> Vocabulary:
    """The regions and years of the archive's passages, from its overview facets (cached TTL_SECONDS)."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(archive)
    if cached is not None and now - cached[0] < TTL_SECONDS:
        return cached[1]
    facets = archive.backend.facets(None, Filters())
    years = tuple(sorted({int(v) for v, _ in facets.fields.get("year", []) if str(v).isdigit()}))
    regions = tuple(sorted({str(v) for v, _ in facets.fields.get("region", []) if v}))
    known = Vocabulary(regions=regions, years=years)
    with _lock:
        _cache[archive] = (now, known)
    return known
