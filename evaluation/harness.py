"""Retrieval quality you can measure: nDCG@10, MRR@10 and Recall@20 per mode over judged queries.

    python -m evaluation QRELS.jsonl [MORE.jsonl ...] [--json]

runs every query of the judged sets against the configured index (the same
`ARCHIVE_*` settings as the server) in every mode, through the same search
function the pages and the API call, and prints one row per mode plus the
queries each mode misses.

A judged set is JSON Lines, one query a line:

    {"id": "k-review", "query": "行政复议 办案数", "kind": "keyword",
     "filters": {"year": 2021, "region": "太原市"},          (optional)
     "relevant": ["行政复议申请36件", "办理复议案件406件"]}

A passage is relevant when its folded text (see `archive.text.fold`) contains
any of the `relevant` substrings, so judgments survive re-chunking and
re-indexing. `kind` (keyword | question | paraphrase) only groups the figures.

Metrics, binary relevance, averaged over the judged queries:
- nDCG@10: DCG of the top 10 over the DCG of an ideal top 10 (all relevant first).
- MRR@10: 1 / rank of the first relevant passage in the top 10 (0 if none).
- Recall@20: relevant passages in the top 20 / min(relevant passages, 20).
A query "misses" in a mode when no relevant passage is in its top 10.

The command exits 0, 1 when a judgment matches no passage of the index (a stale
judged set, or the wrong index), or 2 when it cannot run (no index, bad file).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from archive.config import ConfigError, load_config
from archive.errors import ArchiveError
from archive.models import Chunk, Document
from archive.services import Archive
from archive.text import fold
from search_app.params import MODES, SearchParams
from search_app.query import parse_query
from search_app.search import result_set

TOP_K = 10
RECALL_K = 20
METRICS = ("ndcg@10", "mrr@10", "recall@20")
KINDS = ("keyword", "question", "paraphrase")
_FILTER_FIELDS = {"year": "year", "region": "region", "doc_type": "doc_type", "type": "doc_type",
                  "year_from": "year_from", "year_to": "year_to"}


@dataclass(frozen=True)
class Judged:
    """One judged query: what is typed, optional URL filters, and substrings marking relevant passages."""

    id: str
    query: str
    relevant: tuple[str, ...]
    filters: dict = field(default_factory=dict)
    kind: str = "keyword"

    def params(self, mode: str, size: int = RECALL_K) -> SearchParams:
        """The search this judgment runs in one mode."""
        values: dict = {}
        for name, value in self.filters.items():
            attr = _FILTER_FIELDS[name]
            if attr in ("year_from", "year_to"):
                values[attr] = int(value)
            else:
                items = value if isinstance(value, list | tuple) else [value]
                values[attr] = tuple(int(v) if attr == "year" else str(v) for v in items)
        return SearchParams(q=self.query, mode=mode, size=size, **values)


def parse_qrels(lines: Iterable[str], source: str = "<qrels>") -> list[Judged]:
    """Judged queries from JSON Lines (blank lines and lines starting with # are skipped)."""
    judged, seen = [], set()
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}：不是 JSON（{exc.msg}）") from None
        if not isinstance(row, dict) or not str(row.get("query", "")).strip():
            raise ValueError(f"{where}：缺少非空的 \"query\"（查询词）")
        relevant = row.get("relevant")
        if not isinstance(relevant, list) or not relevant or not all(isinstance(r, str) and r for r in relevant):
            raise ValueError(f"{where}：\"relevant\" 须是非空的字符串列表（相关段落所含的文字）")
        filters = row.get("filters") or {}
        unknown = set(filters) - set(_FILTER_FIELDS)
        if unknown:
            raise ValueError(f"{where}：未知的筛选字段 {sorted(unknown)[0]!r}（可用：{'、'.join(_FILTER_FIELDS)}）")
        qid = str(row.get("id") or f"{source}:{number}")
        if qid in seen:
            raise ValueError(f"{where}：编号 {qid!r} 重复")
        seen.add(qid)
        judged.append(Judged(id=qid, query=row["query"], relevant=tuple(relevant), filters=dict(filters),
                             kind=str(row.get("kind") or "keyword")))
    return judged


def load_qrels(path: Path) -> list[Judged]:
    """Judged queries from a JSON Lines file."""
    with Path(path).open(encoding="utf-8") as f:
        return parse_qrels(f, source=str(path))


# -- metrics (pure) -------------------------------------------------------------------------------

def dcg(gains: Sequence[bool], k: int = TOP_K) -> float:
    """Discounted cumulative gain of a ranked list of binary judgments."""
    return sum(1.0 / math.log2(i + 2) for i, g in enumerate(gains[:k]) if g)


def ndcg(gains: Sequence[bool], n_relevant: int, k: int = TOP_K) -> float:
    """nDCG@k: the list's DCG over the DCG of an ideal list with every relevant passage first."""
    ideal = dcg([True] * min(n_relevant, k), k)
    return dcg(gains, k) / ideal if ideal else 0.0


def reciprocal_rank(gains: Sequence[bool], k: int = TOP_K) -> float:
    """1 / rank of the first relevant item in the top k; 0 when there is none."""
    return next((1.0 / (i + 1) for i, g in enumerate(gains[:k]) if g), 0.0)


def recall(gains: Sequence[bool], n_relevant: int, k: int = RECALL_K) -> float:
    """Relevant items in the top k over the most that could be there (min(relevant, k))."""
    return sum(gains[:k]) / min(n_relevant, k) if n_relevant else 0.0


# -- running the judged queries ---------------------------------------------------------------------

def _passages(archive: Archive) -> list[tuple[Document, Chunk, str]]:
    """Every passage of the index with its document and folded text (judgments are matched on these)."""
    backend = archive.backend
    rows = []
    for doc in backend.list_documents():
        rows += [(doc, chunk, fold(chunk.text)) for chunk in backend.get_chunks(doc.doc_id)]
    return rows


def relevant_ids(judged: Judged, passages: Sequence[tuple[Document, Chunk, str]]) -> set[str]:
    """Passages (under the judgment's filters, typed or not) whose folded text holds a judged substring."""
    needles = [fold(r) for r in judged.relevant]
    filters = judged.params("hybrid").filters(parse_query(judged.query))
    return {chunk.chunk_id for doc, chunk, folded in passages
            if filters.matches(doc) and any(n in folded for n in needles)}


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def _summary(per_query: dict[str, dict], ids: Sequence[str], mode: str) -> dict:
    rows = [per_query[i][mode] for i in ids]
    return {m: _mean([r[m] for r in rows]) for m in METRICS}


def evaluate(archive: Archive, qrels: Sequence[Judged], modes: Sequence[str] = MODES) -> dict:
    """Run every judged query in every mode on `archive`; return the figures as a plain dict.

    `{"queries", "judged", "unjudged": [ids whose substrings match no passage], "modes": {mode:
    {"ndcg@10", "mrr@10", "recall@20", "misses": [ids]}}, "by_kind": {kind: {"queries", "modes": {mode: {metric}}}},
    "per_query": {id: {mode: {metric, "first": rank of the first relevant hit or None}}}}`
    """
    passages = _passages(archive)
    per_query: dict[str, dict] = {}
    unjudged: list[str] = []
    kinds: dict[str, list[str]] = {}
    for judged in qrels:
        relevant = relevant_ids(judged, passages)
        if not relevant:
            unjudged.append(judged.id)
            continue
        kinds.setdefault(judged.kind, []).append(judged.id)
        per_query[judged.id] = {}
        for mode in modes:
            ranked = result_set(archive, judged.params(mode)).ids[:RECALL_K]
            gains = [chunk_id in relevant for chunk_id in ranked]
            first = next((i + 1 for i, g in enumerate(gains) if g), None)
            per_query[judged.id][mode] = {
                "ndcg@10": ndcg(gains, len(relevant)), "mrr@10": reciprocal_rank(gains),
                "recall@20": recall(gains, len(relevant)), "first": first, "relevant": len(relevant),
            }
    ids = list(per_query)
    return {
        "queries": len(qrels), "judged": len(ids), "unjudged": unjudged,
        "modes": {mode: {**_summary(per_query, ids, mode),
                         "misses": [i for i in ids if per_query[i][mode]["mrr@10"] == 0]} for mode in modes},
        "by_kind": {kind: {"queries": len(kind_ids),
                           "modes": {mode: _summary(per_query, kind_ids, mode) for mode in modes}}
                    for kind, kind_ids in sorted(kinds.items(), key=lambda kv: _kind_order(kv[0]))},
        "per_query": per_query,
    }


def _kind_order(kind: str) -> tuple[int, str]:
    return (KINDS.index(kind) if kind in KINDS else len(KINDS), kind)


def format_report(report: dict, title: str = "") -> str:
    """The figures as a Markdown table per mode, then per kind of query, then each mode's misses."""
    modes = list(report["modes"])
    lines = [f"### {title}" if title else "", "",
             f"{report['judged']} judged queries" + (f" ({len(report['unjudged'])} matched no passage: "
                                                     f"{', '.join(report['unjudged'])})" if report["unjudged"] else ""),
             "", "| mode | nDCG@10 | MRR@10 | Recall@20 | misses |", "|---|---|---|---|---|"]
    for mode in modes:
        m = report["modes"][mode]
        lines.append(f"| {mode} | {m['ndcg@10']:.3f} | {m['mrr@10']:.3f} | {m['recall@20']:.3f} | {len(m['misses'])} |")
    if report["by_kind"]:
        lines += ["", "| kind (queries) | " + " | ".join(f"{m} nDCG@10" for m in modes) + " |",
                  "|---|" + "---|" * len(modes)]
        for kind, group in report["by_kind"].items():
            lines.append(f"| {kind} ({group['queries']}) | "
                         + " | ".join(f"{group['modes'][m]['ndcg@10']:.3f}" for m in modes) + " |")
    lines.append("")
    for mode in modes:
        misses = report["modes"][mode]["misses"]
        lines.append(f"{mode} misses ({len(misses)}): {', '.join(misses) if misses else '-'}")
    return "\n".join(lines).lstrip("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation",
        description="在已配置的索引上，按检索方式计算已标注查询的 nDCG@10、MRR@10 和 Recall@20")
    parser.add_argument("qrels", nargs="+", type=Path, help="已标注的查询（JSON Lines 文件）")
    parser.add_argument("--mode", action="append", choices=MODES, help="只评这些检索方式（默认：全部）")
    parser.add_argument("--json", action="store_true", help="以 JSON 输出完整报告")
    args = parser.parse_args(argv)
    try:
        qrels = {path: load_qrels(path) for path in args.qrels}
        archive = Archive(load_config())
        if not archive.backend.list_documents():
            parser.exit(2, "索引为空：请先导入报告（make ingest，或 python -m indexer ingest 路径）\n")
        reports = {str(path): evaluate(archive, judged, args.mode or MODES) for path, judged in qrels.items()}
    except (OSError, ValueError, ConfigError, ArchiveError) as exc:
        parser.exit(2, f"评测失败：{exc}\n")
    if args.json:
        print(json.dumps(reports, ensure_ascii=False, indent=2))
    else:
        print("\n\n".join(format_report(r, title=name) for name, r in reports.items()))
    return 1 if any(r["unjudged"] for r in reports.values()) else 0
