"""The embedded index gives space back during long runs of uploads and deletes (issue 16).

A bounded version of `python -m bench.space --cycles 1000`: a few upload/delete cycles through
the API, with searches between them, must leave the index's files (database and WAL, as a running
server has them) within 2x of a clean build of the same content, and no stored file behind.
Before the fix the WAL alone grew by about 0.3 MB a cycle, to 33 MB.
"""

from __future__ import annotations

import sqlite3

import pytest

from bench.space import clean_build, cycles

CYCLES = 8
BASE = 2


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A clean build of the base reports: its sizes, and its folder."""
    folder = tmp_path_factory.mktemp("clean")
    return clean_build(folder, base=BASE), folder


def test_upload_delete_cycles_keep_the_index_within_twice_a_clean_build(clean, tmp_path):
    sizes, _ = clean
    run = cycles(tmp_path, CYCLES, base=BASE)
    assert run["open"] <= 2 * sizes["open"], (run, sizes)
    assert run["peak"] <= 2 * sizes["open"] + 2**20, (run, sizes)  # mid-run: never more than a MB over
    assert run["after"] <= 2 * sizes["after"], (run, sizes)
    assert len(run["stored_files"]) == BASE  # every cycled upload's file went with its delete


def test_new_indexes_reclaim_pages_incrementally(clean):
    _, folder = clean
    db = sqlite3.connect(folder / "index" / "archive.sqlite")
    assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    db.close()
