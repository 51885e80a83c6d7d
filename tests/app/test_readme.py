"""Every read example of the README, pasted as written, answers a real served index with JSON (or the file).

The curl lines of the README's `sh` blocks are split as a shell splits them (quotes, comments),
their placeholders filled from the served index, and run with the real curl against
`python -m search_app serve`.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import urllib.request

import pytest

from tests.conftest import ROOT, require

README = ROOT / "README.md"
README_BASE = "http://127.0.0.1:5000"
_FENCE = re.compile(r"```sh\n(.*?)```", re.S)
_WRITES = {"-X", "--request", "-F", "--form", "-T", "--upload-file"}
STATUS_MARK = "\n@@status "


def read_examples(markdown: str) -> list[str]:
    """The curl commands of the `sh` blocks that only read (GET), continuation lines joined."""
    lines = []
    for block in _FENCE.findall(markdown):
        for command in block.replace("\\\n", " ").splitlines():
            if command.lstrip().startswith("curl "):
                lines.append(command.strip())
    return [c for c in lines if not _WRITES & set(shlex.split(c, comments=True))]


@pytest.mark.parametrize("markdown, expected", [
    ("```sh\ncurl -s 'http://x/a'   # a comment\ncurl -s -X DELETE http://x/b\n```\n",
     ["curl -s 'http://x/a'   # a comment"]),
    ("```sh\ncurl -s -H 'A: b' -F file=@r.txt \\\n     http://x/c\ncurl -sG http://x/d --data-urlencode 'q=a b'\n```",
     ["curl -sG http://x/d --data-urlencode 'q=a b'"]),
    ("```\ncurl -s http://x/e\n```\n    curl -s http://x/f\n", []),  # only sh blocks
])
def test_read_examples_are_found(markdown, expected):
    assert read_examples(markdown) == expected


def test_the_readme_has_read_examples():
    examples = read_examples(README.read_text(encoding="utf-8"))
    assert len(examples) >= 9 and all(README_BASE in e for e in examples)


def _placeholders(base: str) -> dict[str, str]:
    with urllib.request.urlopen(base + "/api/v1/search?q=%E8%A1%8C%E6%94%BF%E5%A4%8D%E8%AE%AE&mode=keyword") as r:
        hit = json.load(r)["hits"][0]
    return {"<doc_id>": hit["doc_id"], "<chunk_id>": hit["chunk_id"]}


@pytest.fixture(scope="module")
def curl() -> str:
    path = shutil.which("curl")
    require(path is not None, "curl is not installed (scripts/install-test-tools.sh installs it)")
    return path


@pytest.mark.parametrize("example", read_examples(README.read_text(encoding="utf-8")))
def test_readme_example_works_as_written(example, live_server, curl, tmp_path):
    argv = shlex.split(example, comments=True)
    for placeholder, value in _placeholders(live_server).items():
        argv = [a.replace(placeholder, value) for a in argv]
    assert not [a for a in argv if re.search(r"<\w+>", a)], "a placeholder this test cannot fill"
    argv = [curl, *(a.replace(README_BASE, live_server) for a in argv[1:]),
            "-w", STATUS_MARK + "%{http_code} %{content_type}"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition(STATUS_MARK)
    code, _, content_type = status.partition(" ")
    assert code == "200", (example, status, body[:200])
    saved = list(tmp_path.iterdir())
    if saved:  # -OJ: the export, under the name the server gave it
        assert len(saved) == 1 and saved[0].stat().st_size > 0
        assert content_type.startswith(("text/csv", "application/json")), (example, content_type)
    else:
        assert content_type.startswith("application/json"), (example, content_type)
        json.loads(body)
