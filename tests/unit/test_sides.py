"""Each side owns its code: the read side (search_app) reaches the write side only through the names
`indexer/__init__.py` declares, never a module inside it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import indexer

ROOT = Path(__file__).parents[2]


def indexer_imports(source: str) -> list[tuple[str, tuple[str, ...]]]:
    """(module, names) of every import of the indexer package or a module in it."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "indexer":
            found.append((node.module, tuple(a.name for a in node.names)))
        elif isinstance(node, ast.Import):
            found += [(a.name, ()) for a in node.names if a.name.split(".")[0] == "indexer"]
    return found


@pytest.mark.parametrize("source, expected", [
    ("import indexer", [("indexer", ())]),
    ("from indexer import ingest_file", [("indexer", ("ingest_file",))]),
    ("def f():\n    from indexer.pipeline import prepare", [("indexer.pipeline", ("prepare",))]),
    ("import indexer.metadata as m", [("indexer.metadata", ())]),
    ("from archive import text", []),
])
def test_indexer_imports_are_found(source, expected):
    assert indexer_imports(source) == expected


@pytest.mark.parametrize("path", sorted((ROOT / "search_app").glob("*.py")), ids=lambda p: p.name)
def test_the_read_side_uses_only_the_indexers_declared_names(path):
    for module, names in indexer_imports(path.read_text(encoding="utf-8")):
        assert module == "indexer", f"{path.name} imports {module}: use a name in indexer.__all__"
        assert set(names) <= set(indexer.__all__), f"{path.name} imports {set(names) - set(indexer.__all__)}"
