"""The evaluation harness's pure parts: metrics, judged-set parsing, the report table."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from archive.models import Chunk, Document
from archive.text import fold
from evaluation.harness import (
    KINDS,
    Judged,
    format_report,
    load_qrels,
    ndcg,
    parse_qrels,
    recall,
    reciprocal_rank,
    relevant_ids,
)
from search_app.eval import DEPRECATION
from search_app.params import SearchParams

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


@pytest.mark.parametrize("gains, n_relevant, expected", [
    ([True, False, False], 1, 1.0),
    ([False, True], 1, 1 / math.log2(3)),
    ([True, True], 2, 1.0),
    ([False, False, True, True], 2, (1 / math.log2(4) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))),
    ([False] * 10 + [True], 1, 0.0),  # below the cut
    ([], 3, 0.0),
    ([True], 0, 0.0),
])
def test_ndcg(gains, n_relevant, expected):
    assert ndcg(gains, n_relevant) == pytest.approx(expected)


@pytest.mark.parametrize("gains, expected", [
    ([True], 1.0), ([False, False, True], 1 / 3), ([False] * 10 + [True], 0.0), ([], 0.0),
])
def test_reciprocal_rank(gains, expected):
    assert reciprocal_rank(gains) == pytest.approx(expected)


@pytest.mark.parametrize("gains, n_relevant, expected", [
    ([True, False, True], 4, 0.5),
    ([True] * 20, 30, 1.0),  # at most 20 can be in the top 20
    ([False] * 20 + [True], 1, 0.0),
    ([True], 0, 0.0),
])
def test_recall(gains, n_relevant, expected):
    assert recall(gains, n_relevant) == pytest.approx(expected)


@pytest.mark.parametrize("line, fragment", [
    ("{not json", "不是 JSON"),
    ('{"relevant": ["x"]}', "query"),
    ('{"query": "复议"}', "relevant"),
    ('{"query": "复议", "relevant": []}', "relevant"),
    ('{"query": "复议", "relevant": [""]}', "relevant"),
    ('{"query": "复议", "relevant": ["x"], "filters": {"colour": "red"}}', "未知的筛选字段"),
])
def test_bad_qrels_lines_name_the_line(line, fragment):
    with pytest.raises(ValueError) as info:
        parse_qrels(["", "# comment", line], source="q.jsonl")
    assert "q.jsonl:3" in str(info.value) and fragment in str(info.value)


def test_duplicate_ids_are_refused():
    with pytest.raises(ValueError, match="重复"):
        parse_qrels(['{"id": "a", "query": "x", "relevant": ["y"]}'] * 2)


def test_filters_become_search_parameters():
    judged = Judged(id="a", query="复议", relevant=("x",),
                    filters={"year": [2021, 2022], "region": "太原市", "type": "年度报告", "year_from": 2019})
    assert judged.params("keyword") == SearchParams(q="复议", mode="keyword", size=20, year=(2021, 2022),
                                                    region=("太原市",), doc_type=("年度报告",), year_from=2019)


@pytest.mark.parametrize("name, minimum", [("seeds.jsonl", 30), ("demo.jsonl", 20)])
def test_the_project_judged_sets(name, minimum):
    judged = load_qrels(HERE / name)
    assert len(judged) >= minimum
    assert {j.kind for j in judged} == set(KINDS)
    assert all(len(r) <= 20 for j in judged for r in j.relevant)  # short judgments, no copied text
    assert sum(j.kind == "paraphrase" for j in judged) >= 8


def test_report_table():
    modes = {"hybrid": {"ndcg@10": 0.8, "mrr@10": 0.9, "recall@20": 0.95, "misses": []},
             "keyword": {"ndcg@10": 0.7, "mrr@10": 0.8, "recall@20": 0.85, "misses": ["p-1"]}}
    report = {"queries": 2, "judged": 2, "unjudged": [], "modes": modes, "per_query": {},
              "by_kind": {"keyword": {"queries": 1, "modes": {m: {"ndcg@10": 0.5} for m in modes}}}}
    text = format_report(report, title="seeds")
    assert "| hybrid | 0.800 | 0.900 | 0.950 | 0 |" in text
    assert "| keyword (1) | 0.500 | 0.500 |" in text
    assert "keyword misses (1): p-1" in text and text.startswith("### seeds")


@pytest.mark.parametrize("args, code, out", [
    (["--help"], 0, "usage: python -m evaluation"),
    (["no-such-set.jsonl"], 2, ""),  # an unreadable judged set stops the command before any index is opened
])
def test_the_command_and_its_old_name_answer_alike(tmp_path, args, code, out):
    env = {**os.environ, "ARCHIVE_DATA_DIR": str(tmp_path / "data"), "ARCHIVE_EMBEDDER": "hash"}
    runs = {module: subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True,
                                   text=True, timeout=120, check=False)
            for module in ("evaluation", "search_app.eval")}
    new, old = runs["evaluation"], runs["search_app.eval"]
    assert new.returncode == old.returncode == code and out in new.stdout
    assert old.stdout == new.stdout and old.stderr == DEPRECATION + "\n" + new.stderr
    assert DEPRECATION not in new.stderr and ("no-such-set.jsonl" in new.stderr or code == 0)


# Invented reports: a city's, one of a zone under it, another city's of a later year.
_REPORTS = [
    (Document("city", "安康市2021年法治政府建设情况报告", region="安康市", year=2021, region_level="city",
              province="陕西省"), "全年办理行政复议案件86件。"),
    (Document("zone", "恒口示范区2021年法治政府建设情况报告", region="恒口示范区", year=2021,
              region_level="district", province="陕西省", city="安康市"), "示范区办理行政复议案件12件。"),
    (Document("other", "汉中市2023年法治政府建设情况报告", region="汉中市", year=2023, region_level="city",
              province="陕西省"), "办理行政复议案件40件。"),
]


@pytest.mark.parametrize("filters, expected", [
    ({}, {"city-0", "zone-0", "other-0"}),
    ({"region": "安康市"}, {"city-0", "zone-0"}),  # a city's filter holds the zone under it, as search does
    ({"region": "恒口示范区"}, {"zone-0"}),
    ({"year": 2023}, {"other-0"}),
    ({"year_from": 2022}, {"other-0"}),
    ({"region": "汉中市", "year": 2021}, set()),
])
def test_relevant_passages_follow_the_filter_rule(filters, expected):
    passages = [(doc, Chunk(f"{doc.doc_id}-0", doc.doc_id, 0, "", text), fold(text)) for doc, text in _REPORTS]
    judged = Judged(id="q", query="复议案件", relevant=("行政复议案件",), filters=filters)
    assert relevant_ids(judged, passages) == expected
