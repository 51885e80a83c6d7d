"""What a backend is handed: every token computed once (`document_tokens`), queries with their phrases' tokens."""

from pathlib import Path

import pytest

from archive.models import Chunk, KeywordQuery
from archive.text import document_tokens, fold, heading_tokens, tokenize

BACKENDS = Path(__file__).resolve().parents[2] / "archive" / "backends"

PASSAGES = [
    ("一、行政復議工作 > （一）案件辦理", "全年共收到行政復議申請１２０件，同比增長 15. 5%。"),
    ("", "政务公开目录编制完成；12345热线按时办结率99.77%。"),
    ("二、下一步工作安排", ""),
]


def chunks() -> list[Chunk]:
    return [Chunk(f"d-{i:04d}", "d", i, section, text) for i, (section, text) in enumerate(PASSAGES)]


def test_document_tokens_are_the_tokenizer_applied_to_every_field():
    title = "青川市2023年法治政府建設年度報告"
    tokens = document_tokens(title, chunks())
    assert tokens.title == tuple(tokenize(title)) and "法治政府" in tokens.title
    assert tokens.sections == tuple(tuple(tokenize(s)) for s, _ in PASSAGES)
    assert tokens.bodies == tuple(tuple(tokenize(t)) for _, t in PASSAGES)
    assert tokens.folded == tuple(fold(t) for _, t in PASSAGES)
    assert "行政复议" in tokens.bodies[0] and "99.77" in tokens.bodies[1] and tokens.bodies[2] == ()
    assert len(tokens) == 3 and tokens.is_whole()


def test_known_body_tokens_are_kept_as_given():
    bodies = [["甲"], ["乙", "丙"], []]
    tokens = document_tokens("标题", chunks(), bodies)
    assert tokens.bodies == (("甲",), ("乙", "丙"), ()) and tokens.sections[0] == heading_tokens(PASSAGES[0][0])


@pytest.mark.parametrize("phrases, phrase_terms, ok", [
    ((), (), True),
    (("复议决定",), (("复议", "决定"),), True),
    (("复议决定", "纠错率"), (("复议", "决定"), ()), True),  # a phrase of no tokens still has its entry
    (("复议决定",), (), False),  # tokens left to the backend: refused
    ((), (("复议",),), False),
])
def test_a_keyword_query_carries_the_tokens_of_each_phrase(phrases, phrase_terms, ok):
    if ok:
        assert KeywordQuery(("案件",), phrases, phrase_terms=phrase_terms).phrase_terms == phrase_terms
    else:
        with pytest.raises(ValueError, match="phrase_terms"):
            KeywordQuery(("案件",), phrases, phrase_terms=phrase_terms)


@pytest.mark.parametrize("module", sorted(p.name for p in BACKENDS.glob("*.py")))
def test_no_backend_tokenises_or_folds(module):
    """The backends store and search what they are handed: none imports the text module."""
    assert "archive.text" not in (BACKENDS / module).read_text(encoding="utf-8")
