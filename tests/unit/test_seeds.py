"""The five real scraped reports in ../shared/seeds: read, cleaned and described as a person would.

Their text is read from the shared folder at test time and never copied into the project.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.cleaning import clean
from indexer.metadata import extract_metadata, strip_title
from indexer.reading import read_document
from tests.ci import require

SEEDS = Path(__file__).parents[2].parent / "shared" / "seeds"

require(SEEDS.is_dir(), f"the seed reports are not at {SEEDS}")

# prefix -> (region, year, doc_type, published, doc_number, publisher, a fragment of body text)
EXPECTED = {
    "000": ("三门峡市", 2023, "年度报告", "2024-03-26", None, "三门峡市政府", "12345政务服务便民热线"),
    "001": ("新密市", 2023, "工作安排", "2023-08-14", "新密法政〔2023〕1号", "新密市司法局", "深入推进放管服改革"),
    "002": ("恒口示范区", 2022, "自查报告", "2022-12-02", None, "中共安康市恒口示范区工作委员会", "一、工作开展情况"),
    "003": ("广元市", 2017, "综述", "2018-03-06", None, "市政府法制办", "七、有效化解各类争议"),
    "004": ("太原市", 2021, "年度报告", "2022-03-07", None, "太原市司法局", "(五)社会矛盾纠纷依法有效化解"),
}

JUNK = [
    "当前位置", "您当前的位置", "首页 >", "首页 »", "【字号", "打印", "文章字体", "扫一扫", "友情链接", "推荐阅读",
    "版权所有", "主办单位", "邮编", "公众号", "订阅号", "服务号", "学习强国", "手机版", "电子期刊", "登录",
    "中国出版传媒", "发布时间", "文章来源", "索 引 号", "索\u00a0引\u00a0号", "关\u00a0键\u00a0词", "发布机构",
    "发文日期", "服务对象", "体裁分类", "005307554/2023-00051", "•", "公开日期", "成文日期", "公开目录",
    "公开形式", "标题关于", "ICP备",
]


def seed(prefix: str) -> Path:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def report(request):
    raw = read_document(seed(request.param)).text
    return request.param, raw, clean(raw), extract_metadata(raw, seed(request.param).name)


def test_metadata(report):
    prefix, _, _, meta = report
    region, year, doc_type, published, doc_number, publisher, _ = EXPECTED[prefix]
    assert (meta.region, meta.year, meta.doc_type) == (region, year, doc_type)
    assert (meta.published, meta.doc_number, meta.publisher) == (published, doc_number, publisher)
    assert region in meta.title
    assert meta.missing == (() if doc_number else ("doc_number",))


def body_paragraphs(raw: str) -> list[str]:
    """The page's lines of running text: long and with a full stop."""
    return [line.strip() for line in raw.splitlines() if len(line.strip()) >= 40 and "。" in line]


def test_no_junk_remains_after_clean(report):
    _, raw, cleaned, _ = report
    # Body paragraphs may mention a junk word in a sentence (003: "考生自助打印准考证"); nothing else may.
    body = set(body_paragraphs(raw))
    lines = [line for line in cleaned.splitlines() if line not in body]
    left = [(junk, line) for line in lines for junk in JUNK if junk in line]
    assert left == []


def test_junk_words_inside_sentences_are_kept():
    assert "考生自助打印准考证" in clean(read_document(seed("003")).text)


def test_body_survives_clean(report):
    prefix, raw, cleaned, meta = report
    assert EXPECTED[prefix][-1] in cleaned
    # Every line of running text in the page is body text and must be kept whole.
    paragraphs = body_paragraphs(raw)
    assert paragraphs and all(p in cleaned for p in paragraphs)
    body_chars = sum(len(p) for p in paragraphs)
    assert len(cleaned) > 0.8 * body_chars
    assert len(cleaned) < len(raw)


def test_clean_starts_with_the_title(report):
    _, _, cleaned, meta = report
    assert cleaned.splitlines()[0] == meta.title


def test_strip_title_starts_the_body_at_the_report_text(report):
    _, _, cleaned, meta = report
    body = strip_title(cleaned, meta.title)
    assert meta.title not in body.splitlines()[:3]
    assert len(body) > 0.9 * len(cleaned) - len(meta.title) - 10


@pytest.mark.parametrize(
    ("prefix", "ending"),
    [("002", "中共安康市恒口示范区工作委员会\n\n2022年12月2日"), ("003", "广元市人民政府\n\n2018年3月6日")],
)
def test_closing_signature_is_kept(prefix, ending):
    assert clean(read_document(seed(prefix)).text).endswith(ending)


def test_seed_files_are_read_as_utf8():
    results = [read_document(seed(prefix)) for prefix in sorted(EXPECTED)]
    assert {(r.format, r.encoding) for r in results} == {("txt", "utf-8")}
