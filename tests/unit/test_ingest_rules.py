"""The ingest's rules for what is already stored: a file's content hash, and which stored texts still count."""

from __future__ import annotations

import hashlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from indexer.pipeline import HASH_BLOCK, _in_order, content_hash, still_held
from indexer.reading import ReadError

# (stored: hash -> doc id, coming: doc id -> its file's hash now, what still counts as stored)
CASES = [
    ("unchanged report", {"x": "A"}, {"A": "x"}, {"x": "A"}),
    ("rewritten report gives up its old text", {"x": "A"}, {"A": "y"}, {}),
    ("report not in this ingest keeps its text", {"x": "A"}, {"B": "x"}, {"x": "A"}),
    ("two reports swapping texts both give theirs up", {"x": "A", "y": "B"}, {"A": "y", "B": "x"}, {}),
    ("only the rewritten one of two", {"x": "A", "y": "B"}, {"A": "z", "B": "y"}, {"y": "B"}),
    ("nothing stored", {}, {"A": "x"}, {}),
]


@pytest.mark.parametrize(("stored", "coming", "held"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_still_held(stored, coming, held):
    assert still_held(stored, coming) == held


def test_content_hash_is_the_file_then_its_sidecar_read_in_blocks(tmp_path):
    report = tmp_path / "r.txt"
    body = "青川市行政复议案件120件。\n".encode() * (2 * HASH_BLOCK // 30)  # more than two blocks
    report.write_bytes(body)
    assert content_hash(report) == hashlib.sha256(body).hexdigest()
    sidecar = tmp_path / "r.meta.json"
    sidecar.write_text('{"region": "青川市"}', encoding="utf-8")
    with_sidecar = content_hash(report)
    assert with_sidecar == hashlib.sha256(body + sidecar.read_bytes()).hexdigest()
    sidecar.write_text('{"region": "云岭县"}', encoding="utf-8")
    assert content_hash(report) != with_sidecar  # a changed sidecar is a changed document


def test_content_hash_of_a_file_that_cannot_be_read_says_why_in_chinese(tmp_path):
    broken = tmp_path / "r.txt"
    broken.symlink_to("/proc/self/mem")  # an I/O error on read, even for root
    with pytest.raises(ReadError) as caught:
        content_hash(broken)
    assert caught.value.reason == "无法读取文件：Input/output error"


class _CountingPool(ProcessPoolExecutor):
    """A real worker pool that counts the files sent to it (`prepare_each`'s first argument)."""

    def __init__(self, method: str) -> None:
        super().__init__(2, mp_context=multiprocessing.get_context(method))
        self.submitted = 0

    def submit(self, fn, paths, *args, **kwargs):
        self.submitted += len(paths)
        return super().submit(fn, paths, *args, **kwargs)


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_prepared_files_come_back_in_order_with_a_bounded_number_out_at_once(tmp_path, method):
    """The pool's results are handed back in file order, and no more than `ahead` files wait in it: an ingest of
    a province's reports does not hold every prepared report in memory until the last one is written."""
    files = []
    for i in range(27):  # not a multiple of the files a task
        path = tmp_path / f"{i:02d}.txt"
        path.write_text(f"青川市{2000 + i}年法治政府建设年度报告\n\n一、总体情况\n全年办理行政复议案件{i + 10}件，"
                        "较上年有所增加。\n", encoding="utf-8")
        files.append(path)
    broken = tmp_path / "07.txt"
    broken.write_bytes(b"   \n")  # an empty report: its reason comes back in its place
    shas = {p: content_hash(p) for p in files}
    ahead = 4
    pool = _CountingPool(method)
    try:
        seen = []
        for i, (path, outcome) in enumerate(_in_order(pool, files, shas, 500, ahead)):
            assert pool.submitted <= min(len(files), i + ahead)
            seen.append(path)
            if path == broken:
                assert outcome == "文件为空"
            else:
                assert outcome.doc.sha256 == shas[path] and f"{int(path.stem) + 10}件" in outcome.chunks[0].text
    finally:
        pool.shutdown()
    assert seen == files and pool.submitted == len(files)


def test_workers_are_forked_only_from_a_process_with_no_other_thread():
    """`start_method`: fork where nothing but the main thread runs (the CLI's ingest), spawn once another thread
    does (a fork may copy a lock that thread holds). Asked in fresh processes: pytest's own may run threads."""
    import subprocess
    import sys

    code = ("import threading, time; from indexer.pipeline import start_method; print(start_method()); "
            "threading.Thread(target=time.sleep, args=(2,), daemon=True).start(); print(start_method())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == (["fork", "spawn"] if sys.platform.startswith("linux") else ["spawn", "spawn"])


@pytest.mark.parametrize("html", [False, True])
def test_a_worker_warmed_up_has_loaded_what_its_first_file_would(html):
    """`warm_up` (run by each ingest worker as it starts, while the ingest hashes the files): the tokenizer's
    dictionary, the numeral parser, the region names' pattern and the fold table are loaded after it, and lxml's
    parser only when the files include HTML. Asked in a fresh process, where none of them is loaded yet."""
    import subprocess
    import sys

    code = ("import sys; from indexer.pipeline import warm_up; from archive import regions, text; "
            "before = [text._fast is not None, 'cn2an' in sys.modules, regions._name_starts.cache_info().currsize, "
            "text._fold_mapping.cache_info().currsize, 'lxml.etree' in sys.modules]; "
            f"warm_up({html}); "
            "after = [text._fast is not None, 'cn2an' in sys.modules, regions._name_starts.cache_info().currsize, "
            "text._fold_mapping.cache_info().currsize, 'lxml.etree' in sys.modules]; print(before, after)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == f"[False, False, 0, 0, False] [True, True, 1, 1, {html}]"
