"""What pages show for a report field the report does not state: one word per field, from
`archive/data/missing_labels.json` (无文号 for a missing 文号, 地区不详 for a missing region)."""

from __future__ import annotations

import functools
import json

from archive.text import DATA_DIR

MISSING_LABELS = DATA_DIR / "missing_labels.json"


@functools.cache
def _labels() -> dict[str, str]:
    data = json.loads(MISSING_LABELS.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def missing(field: str) -> str:
    """The words a page shows where a report does not state `field` (a KeyError for an unknown field)."""
    return _labels()[field]
