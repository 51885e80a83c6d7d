"""Reciprocal rank fusion: one pure function shared by every backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Fused:
    """A passage in the fused list: its fused score and its rank in each list that found it (1-based)."""

    chunk_id: str
    score: float
    ranks: Mapping[str, int]

    @property
    def matched(self) -> list[str]:
        return list(self.ranks)


def rrf(ranked: Mapping[str, Sequence[str]], k: int = 60) -> list[Fused]:
    """Fuse ranked id lists: score = sum of 1 / (k + rank). Ties go to the better best rank, then the id.

    The lists' order in `ranked` fixes the order of each hit's `ranks` (and so `matched`).
    """
    ranks: dict[str, dict[str, int]] = {}
    for name, ids in ranked.items():
        for rank, chunk_id in enumerate(dict.fromkeys(ids), start=1):
            found = ranks.get(chunk_id)
            if found is None:
                ranks[chunk_id] = {name: rank}
            else:
                found[name] = rank
    # Sort keys built once, as plain tuples (ids are unique, so the rank dicts are never compared): a keyword
    # search fuses up to 10,000 hits for its exact count, and a key function per hit was a third of it.
    keyed = []
    for cid, rs in ranks.items():
        if len(rs) == 1:
            (best,) = rs.values()
            score = 1.0 / (k + best)
        else:
            score, best = sum(1.0 / (k + r) for r in rs.values()), min(rs.values())
        keyed.append((-score, best, cid, rs))
    keyed.sort()
    return [Fused(cid, -negative, rs) for negative, _, cid, rs in keyed]
