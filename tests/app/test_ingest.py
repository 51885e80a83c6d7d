"""Ingesting the seed reports: metadata per file, clean passages, idempotence, broken files."""

import json
import shutil

import pytest

from archive.backends.base import SCHEMA_VERSION
from archive.services import Archive
from indexer.pipeline import discover, doc_id_for, ingest_paths

SEEDS = {
    "000_376bd0f46047f65e.txt": ("三门峡市", 2023, "年度报告"),
    "001_d419610ad13389f4.txt": ("新密市", 2023, "工作安排"),
    "002_67f32dd63841cfe1.txt": ("恒口示范区", 2022, "自查报告"),
    "003_27b7b1199d3db883.txt": ("广元市", 2017, "综述"),
    "004_9350f1803efad272.txt": ("太原市", 2021, "年度报告"),
}
JUNK = ["当前位置", "首页 >", "字号", "扫一扫在手机打开当前页", "友情链接", "版权所有", "主办单位", "邮编",
        "推荐阅读", "文章字体", "公众号", "订阅号", "学习强国", "京ICP备", "发布时间", "索 引 号"]


@pytest.mark.parametrize("name, expected", SEEDS.items())
def test_seed_metadata(ingested, seeds_dir, name, expected):
    archive, _ = ingested
    doc = archive.backend.get_document(doc_id_for(seeds_dir / name))
    assert doc is not None, name
    assert (doc.region, doc.year, doc.doc_type) == expected


@pytest.mark.parametrize("name", SEEDS)
def test_no_navigation_junk_in_any_passage(ingested, seeds_dir, name):
    archive, _ = ingested
    chunks = archive.backend.get_chunks(doc_id_for(seeds_dir / name))
    assert len(chunks) >= 5
    for chunk in chunks:
        for junk in JUNK:
            assert junk not in chunk.text, (name, chunk.position, junk)


def test_ingest_report_counts(ingested):
    _, report = ingested
    assert report.ok, report.failed
    assert len(report.indexed) >= 5 and report.passages > 50


def test_passages_keep_section_paths(ingested, seeds_dir):
    archive, _ = ingested
    chunks = archive.backend.get_chunks(doc_id_for(seeds_dir / "004_9350f1803efad272.txt"))
    assert any(c.section.startswith("一、") for c in chunks)
    assert any(" > " in c.section for c in archive.backend.get_chunks(
        doc_id_for(seeds_dir / "002_67f32dd63841cfe1.txt")))


@pytest.fixture()
def small_archive(tmp_path, config):
    """A private index with the cheap hash embedder: for write-path behaviour, not ranking."""
    from archive.config import load_config

    return Archive(load_config({}, data_dir=tmp_path / "data", embedder="hash"))


def test_ingest_twice_changes_nothing(small_archive, seeds_dir):
    first = ingest_paths(small_archive, [seeds_dir])
    before = small_archive.backend.stats()
    second = ingest_paths(small_archive, [seeds_dir])
    assert len(first.indexed) == 5 and second.indexed == [] and len(second.unchanged) == 5
    assert second.embedded == 0
    assert small_archive.backend.stats().passages == before.passages


def test_broken_file_is_reported_and_the_rest_indexed(small_archive, seeds_dir, tmp_path):
    folder = tmp_path / "reports"
    shutil.copytree(seeds_dir, folder)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a pdf")
    (folder / "empty.txt").write_bytes(b"")
    report = ingest_paths(small_archive, [folder])
    failed = {name.rsplit("/", 1)[-1] for name, _ in report.failed}
    assert failed == {"broken.pdf", "empty.txt"}
    assert all(reason for _, reason in report.failed)
    assert len(report.indexed) == 5


def test_changed_file_replaces_its_passages(small_archive, tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("云溪市2021年法治政府建设年度报告\n一、总体情况\n全年办理行政复议案件12件。\n", encoding="utf-8")
    ingest_paths(small_archive, [path])
    path.write_text("云溪市2021年法治政府建设年度报告\n一、总体情况\n全年办理行政复议案件15件。\n", encoding="utf-8")
    report = ingest_paths(small_archive, [path])
    chunks = small_archive.backend.get_chunks(doc_id_for(path))
    assert report.indexed == [doc_id_for(path)]
    assert small_archive.backend.stats().documents == 1
    assert "15件" in "".join(c.text for c in chunks) and "12件" not in "".join(c.text for c in chunks)


def test_copy_of_a_file_is_one_document(small_archive, seeds_dir, tmp_path):
    copy = tmp_path / "copy.txt"
    shutil.copy(seeds_dir / "004_9350f1803efad272.txt", copy)
    ingest_paths(small_archive, [seeds_dir / "004_9350f1803efad272.txt"])
    report = ingest_paths(small_archive, [copy])
    assert len(report.duplicates) == 1 and small_archive.backend.stats().documents == 1


def test_delete_and_cli_exit_codes(small_archive, seeds_dir, tmp_path, monkeypatch, capsys):
    from indexer.cli import main

    monkeypatch.setenv("ARCHIVE_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.setenv("ARCHIVE_EMBEDDER", "hash")
    assert main(["ingest", "--no-progress", str(seeds_dir / "003_27b7b1199d3db883.txt")]) == 0
    capsys.readouterr()
    assert main(["stats"]) == 0  # the stats JSON: the common fields with the backend's own beside them
    shown = json.loads(capsys.readouterr().out)
    assert {k: shown[k] for k in ("backend", "documents", "schema_version")} == {
        "backend": "embedded", "documents": 1, "schema_version": SCHEMA_VERSION}
    assert shown["passages"] > 0 and shown["size_bytes"] > 0 and shown["model_id"].startswith("hash")
    assert shown["path"] == str(tmp_path / "cli-data" / "index" / "archive.sqlite") and "details" not in shown
    assert main(["ingest", "--no-progress", str(tmp_path / "missing.txt")]) == 1
    doc_id = doc_id_for(seeds_dir / "003_27b7b1199d3db883.txt")
    assert main(["delete", doc_id]) == 0
    assert main(["delete", doc_id]) == 1
    monkeypatch.setenv("ARCHIVE_BACKEND", "nosql")
    with pytest.raises(SystemExit) as info:
        main(["stats"])
    assert info.value.code == 2


def test_cli_leaves_the_row_arrays_ready_for_serve(seeds_dir, tmp_path, monkeypatch):
    from indexer.cli import main

    monkeypatch.setenv("ARCHIVE_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.setenv("ARCHIVE_EMBEDDER", "hash")

    def ready() -> list[str]:
        return sorted(p.parent.name for p in (tmp_path / "cli-data").rglob("rows-*/vectors.npy"))

    assert main(["ingest", "--no-progress", str(seeds_dir)]) == 0
    after_ingest = ready()
    assert len(after_ingest) == 1  # a search right after start maps these instead of reading every row
    assert main(["ingest", "--no-progress", str(seeds_dir)]) == 0
    assert ready() == after_ingest  # nothing changed: nothing rebuilt
    assert main(["delete", doc_id_for(seeds_dir / "003_27b7b1199d3db883.txt")]) == 0
    after_delete = ready()
    assert len(after_delete) == 1 and after_delete != after_ingest


DEMO = {
    "yunxi-2020-review.txt": ("云溪市", 2020, "综述"),
    "yunxi-2021-annual.txt": ("云溪市", 2021, "年度报告"),
    "yunxi-2022-annual.txt": ("云溪市", 2022, "年度报告"),
    "yunxi-2023-annual.txt": ("云溪市", 2023, "年度报告"),
    "nanping-2022-annual.txt": ("南屏县", 2022, "年度报告"),
    "nanping-2023-plan.txt": ("南屏县", 2023, "工作安排"),
    "donghu-2022-selfcheck.html": ("东湖新区", 2022, "自查报告"),
    "chenghu-2025-work-report.txt": ("澄湖市", 2025, "政府工作报告"),
    "chenghu-2026-work-report.txt": ("澄湖市", 2026, "政府工作报告"),
}


def test_demo_reports_ingest_with_their_metadata(small_archive, demo_dir):
    report = ingest_paths(small_archive, [demo_dir])
    assert report.ok and len(report.indexed) == len(DEMO)
    for name, expected in DEMO.items():
        doc = small_archive.backend.get_document(doc_id_for(demo_dir / name))
        assert (doc.region, doc.year, doc.doc_type) == expected, name
        text = "".join(c.text for c in small_archive.backend.get_chunks(doc.doc_id))
        assert "版权所有" not in text and "扫一扫" not in text and "当前位置" not in text
    gb = small_archive.backend.get_chunks(doc_id_for(demo_dir / "nanping-2022-annual.txt"))
    assert "行政复议" in "".join(c.text for c in gb)  # GB18030 decoded, not mojibake


def _contents(archive) -> dict:
    """Every document with its passages, as stored."""
    return {d.doc_id: (d, [(c.chunk_id, c.section, c.text, c.figures) for c in archive.backend.get_chunks(d.doc_id)])
            for d in archive.backend.list_documents()}


def test_worker_processes_index_exactly_what_one_process_does(seeds_dir, demo_dir, tmp_path, caplog):
    import logging

    from archive.config import load_config

    caplog.set_level(logging.INFO, logger="indexer.pipeline")

    folder = tmp_path / "reports"
    shutil.copytree(seeds_dir, folder / "seeds")
    shutil.copytree(demo_dir, folder / "demo", ignore=shutil.ignore_patterns("README.md"))
    shutil.copy(seeds_dir / "003_27b7b1199d3db883.txt", folder / "copy-of-guangyuan.txt")
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 not really a docx")
    (folder / "empty.txt").write_text("  \n", encoding="utf-8")
    (folder / "gbk.txt").write_bytes("某某县2020年法治政府建设年度报告\n一、行政复议\n全年办理行政复议案件12件。\n"
                                     .encode("gb18030"))
    runs = {}
    for jobs in (1, 2):
        archive = Archive(load_config({}, data_dir=tmp_path / f"data-{jobs}", embedder="hash", ingest_jobs=jobs))
        first = ingest_paths(archive, [folder])
        again = ingest_paths(archive, [folder])
        runs[jobs] = (first, again, _contents(archive))
        archive.close()
    files = len(discover([folder])[0])
    assert f"用 2 个工作进程准备 {files} 个文件" in caplog.text
    (one, one_again, one_index), (two, two_again, two_index) = runs[1], runs[2]
    assert len(one.indexed) == files - 3 and two.indexed == one.indexed  # a duplicate and two bad files
    assert two.duplicates == one.duplicates and len(one.duplicates) == 1
    assert sorted(two.failed) == sorted(one.failed) and len(one.failed) == 2
    assert (two.passages, two.embedded) == (one.passages, one.embedded)
    assert two_index == one_index
    assert sorted(two_again.unchanged) == sorted(one_again.unchanged) == sorted(one.indexed)
    assert not two_again.indexed and two_again.embedded == 0
