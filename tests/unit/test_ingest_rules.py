"""The ingest's rules for what is already stored: a file's content hash, and which stored texts still count."""

from __future__ import annotations

import hashlib

import pytest

from indexer.pipeline import HASH_BLOCK, content_hash, still_held
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
