"""bench.gpu, the GPU figure's prepared run: what it carries to the GPU machine and how it reads the ingest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from packaging.utils import canonicalize_name

from bench import gpu
from indexer.pipeline import IngestReport
from tests.unit.test_reading import make_docx, minimal_pdf

ROOT = Path(__file__).resolve().parents[2]

_LOADED = """
import importlib.metadata as md, json, sys
from indexer.cli import main
code = main(["ingest", sys.argv[1]])
dists = md.packages_distributions()
loaded = {d for m in list(sys.modules) for d in dists.get(m.split(".")[0], [])}
print(json.dumps({"code": code, "loaded": sorted(loaded)}))
"""


def test_the_wheels_carried_are_every_package_an_ingest_imports_that_the_gpu_machine_lacks(tmp_path, seeds_dir,
                                                                                           demo_dir):
    """An ingest in one process (no workers, so every reader, cleaner and tokenizer is imported here) of the seeds,
    demo/'s pages and a .docx and a PDF: each distribution it imports is on the GPU machine already or among the
    wheels `prepare` fetches."""
    files = tmp_path / "files"
    files.mkdir()
    for path in [*sorted(seeds_dir.glob("*.txt")), *sorted(demo_dir.rglob("*.htm*"))[:2],
                 *sorted(demo_dir.rglob("*.txt"))[:2]]:
        (files / path.name).write_bytes(path.read_bytes())
    make_docx(files / "新密市2023年度法治政府建设工作安排.docx")
    (files / "report.pdf").write_bytes(minimal_pdf("Annual report 2023: 36 cases"))
    env = {**os.environ, "ARCHIVE_DATA_DIR": str(tmp_path / "data"), "ARCHIVE_EMBEDDER": "hash",
           "ARCHIVE_INGEST_JOBS": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _LOADED, str(files)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300, check=True)
    got = json.loads(out.stdout.splitlines()[-1])
    assert got["code"] == 0, out.stderr[-2000:]
    loaded = {canonicalize_name(name) for name in got["loaded"]}
    carried = {canonicalize_name(name) for name in gpu.MISSING_ON_DEVICE}
    there = {canonicalize_name(name) for name in gpu.ON_DEVICE}
    assert {"jieba", "rjieba", "cn2an", "python-docx", "pypdf"} <= loaded  # the scan saw the readers' packages
    assert loaded <= carried | there, sorted(loaded - carried - there)
    assert not carried & there


def test_the_carried_wheels_are_pinned_as_requirements_txt_pins_them():
    pinned = dict(pin.split("==") for pin in gpu.pins())
    assert pinned["jieba"] == "0.42.1" and pinned["rjieba"] == "0.2.2" and pinned["cn2an"] == "0.5.24"
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    for name, version in pinned.items():
        if f"\n{name}==" in requirements:
            assert f"\n{name}=={version}\n" in requirements, name
    assert set(pinned) == set(gpu.MISSING_ON_DEVICE)


def test_the_ingest_summary_line_is_read_as_the_cli_writes_it():
    report = IngestReport(indexed=["a", "b"], passages=100009, embedded=99950, seconds=14.3)
    found = gpu.SUMMARY.search(f"INFO indexer: 完成: {report.summary()}")
    assert found is not None
    assert (int(found[1]), int(found[2]), float(found[3])) == (100009, 99950, 14.3)
