"""Cleaning scraped pages: page furniture goes, the title, body and signature stay."""

from __future__ import annotations

import pytest

from indexer.cleaning import clean, header_end, is_junk_line, is_prose

TITLE = "某市2023年度法治政府建设情况报告"
PROSE = "2023年,某市坚持以习近平法治思想为指导,深入推进依法行政,法治政府建设取得新成效。"
PROSE2 = "二是深化简政放权。持续推动改革,全年受理群众咨询17.92万件,办结率95.09%。"


def page(*lines: str) -> str:
    return "\n".join(lines)


# Pages write their punctuation full-width (当前位置：首页 ＞ …, 【打印】｜【关闭】, （此件公开发布）), some
# sites half-width; cleaning reads the raw text, so each case below is also tried with full-width punctuation.
_FULL_WIDTH = str.maketrans({":": "：", ",": "，", ";": "；", "(": "（", ")": "）", ">": "＞", "|": "｜"})


def full_width(text: str) -> str:
    return text.translate(_FULL_WIDTH)


FORMS = pytest.mark.parametrize("form", [str, full_width], ids=["half-width", "full-width"])


@pytest.mark.parametrize(
    "line",
    [
        "当前位置:首页 > 政府信息公开 > 法定主动公开内容 > 公告公示 > 正文",
        "当前位置:首页 > 法治政府",
        "您当前的位置:首页 » 信息公开>>某市2017年法治政府建设综述>>详情",
        "您的位置:首页 > 新闻",
        "首页 > 政务公开 > 正文内容",
        "【字号:",
        "【字号:大 中 小】",
        "打印",
        "【打印本页】 【关闭窗口】",
        "【打印本页】|【关闭窗口】",
        "打印(关闭)",
        "字号:大 中 小",
        "[ 打印 ] [ 关闭 ]",
        "文章字体:【 】 发布日期: 2022-03-07 来源:某市司法局",
        "扫一扫在手机打开当前页",
        "友情链接:",
        "友情链接",
        "推荐阅读",
        "分享到:",
        "上一篇:某县2022年法治政府建设年度报告",
        "版权所有:法治时代杂志 京ICP备12049208号-6",
        "版权所有 某市人民政府办公室",
        "Copyright © 2023 某市人民政府",
        "京ICP备12049208号 京公网安备11010502030337号",
        "主办单位:某市人民政府办公室 地址:某市青屏大街86号 邮编:452370",
        "公众号",
        "• 订阅号",
        "• 服务号",
        "•          学习强国         手机版         电子期刊          登录",
        "登录 注册",
        "中国出版传媒股份有限公司主管 中国民主法制出版社有限公司主办",
        "发布时间:2024-03-26 10:55\u00a0\u00a0\u00a0 文章来源:某市政府",
        "索\u00a0引\u00a0号 008450794/2018-05 关\u00a0键\u00a0词 法治政府建设",
        "发布机构 市政府法制办 发文日期 2018/3/6 11:24:00",
        "服务对象 其他 体裁分类 公告",
        "• 公开日期2022年12月02日16时26分成文日期2022年12月02日",
        "• 公开目录重点领域信息公开公开形式主动公开",
    ],
)
@FORMS
def test_junk_lines_are_recognised(line, form):
    assert is_junk_line(form(line))


BODY_LINES = [
    TITLE,
    PROSE,
    "一、严格落实工作责任",
    "(一)营商环境更加优化",
    "市委依法治市办:",
    "某市人民政府",
    "2018年3月6日",
    "中共某市某示范区工作委员会",
    "各部门要认真做好文件打印、分发和归档工作。",
    "依法保护著作权,版权所有人的合法权益得到保障。",
    "当前位置偏远的乡镇也要实现公共法律服务全覆盖。",
    "发布时间紧、任务重,各单位要按时完成。",
    "推荐阅读书目已印发各单位,请组织学习。",
    "首页改版后,政府网站访问量增长20%。",
    "法治政府",
    "主办单位要落实安全责任,确保活动顺利进行。",
    "登录政务服务网即可办理。",
]


@pytest.mark.parametrize("line", BODY_LINES)
@FORMS
def test_body_lines_are_not_junk(line, form):
    assert not is_junk_line(form(line))


@pytest.mark.parametrize("line", BODY_LINES)
@FORMS
def test_body_lines_survive_clean_anywhere(line, form):
    cleaned = clean(form(page(TITLE, PROSE, line, PROSE2))).splitlines()
    assert form(line) in cleaned


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Header: breadcrumb, its echo (the channel name), metadata panel; the title stays.
        (page("当前位置:首页 > 法治政府", " 法治政府", "", TITLE, "文章字体:【 】 发布日期: 2022-03-07", PROSE),
         page(TITLE, "", PROSE)),
        # Bullet panels above the body go; the same bullets inside the body stay.
        (page("• 005307554/2023-00051", "  • 某市司法局", "  • 2023-08-14", TITLE, PROSE, "• 第一项任务", PROSE2),
         page(TITLE, PROSE, "• 第一项任务", PROSE2)),
        # Single-label fields are junk in the header only.
        # (A dropped line leaves a paragraph break behind.)
        (page(TITLE, "来源:某市司法局", PROSE, "来源:国家统计局", PROSE2),
         page(TITLE, "", PROSE, "来源:国家统计局", PROSE2)),
        # Footer: everything from a footer heading on, when no prose follows.
        (page(TITLE, PROSE, "", "推荐阅读", "某县法治政府建设报告", "友情链接:", "版权所有:某杂志"),
         page(TITLE, PROSE)),
        (page(TITLE, PROSE, "主办单位:某市人民政府办公室"), page(TITLE, PROSE)),
        # After the closing signature and date: page furniture goes, document endings stay.
        (page(TITLE, PROSE, "", "某市人民政府", "", "2018年3月6日", "", "扫一扫在手机打开当前页", "返回顶部"),
         page(TITLE, PROSE, "", "某市人民政府", "", "2018年3月6日")),
        (page(TITLE, PROSE, "某市人民政府", "2018年3月6日", "微信扫码阅读", "(此件公开发布)"),
         page(TITLE, PROSE, "某市人民政府", "2018年3月6日", "(此件公开发布)")),
        # A date inside the body followed by prose is not an ending.
        (page(TITLE, "2018年3月6日", PROSE, "短行"), page(TITLE, "2018年3月6日", PROSE, "短行")),
        # Nor is a date under the title of a report of short lines (a PDF's, hard-wrapped), nor a signature above
        # an annex's table: a heading or a counted figure below it is the report's own.
        (page(TITLE, "某县人民政府", "2024年1月20日", "一、基本情况", "全年收到行政复议申请45件，", "办结41件。"),
         page(TITLE, "某县人民政府", "2024年1月20日", "一、基本情况", "全年收到行政复议申请45件，", "办结41件。")),
        (page(TITLE, PROSE, "某市人民政府", "2018年3月6日", "附件：统计表", "行政复议\t45件", "返回顶部"),
         page(TITLE, PROSE, "某市人民政府", "2018年3月6日", "附件：统计表", "行政复议\t45件")),
        (page(TITLE, PROSE, "某市人民政府", "2018年3月6日", "浏览次数：328次", "扫一扫在手机打开当前页"),
         page(TITLE, PROSE, "某市人民政府", "2018年3月6日")),
    ],
    ids=["header", "header-bullets", "header-fields", "footer-heading", "footer-host", "after-date",
         "after-date-keeps-document-tail", "date-mid-body", "date-under-title", "annex-after-signature",
         "footer-counter"],
)
@FORMS
def test_clean_by_position(raw, expected, form):
    assert clean(form(raw)) == form(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("题目\r\n正文\r\n", "题目\n正文"),
        ("题目\r正文", "题目\n正文"),
        ("题目   \n正文\t \n", "题目\n正文"),
        ("  题目\n\u3000\u3000正文", "题目\n正文"),
        ("题目\n\n\n\n\n正文", "题目\n\n正文"),
        ("题目\n \n\u00a0\n\t\n正文", "题目\n\n正文"),
        ("题目\n•\n  • \n- \n正文", "题目\n\n正文"),
        ("\n\n题目\n正文\n\n\n", "题目\n正文"),
        ("题目\u200b\n正\ufeff文", "题目\n正文"),
        ("", ""),
    ],
    ids=["crlf", "cr", "trailing-space", "leading-space", "blank-runs", "whitespace-lines",
         "bullet-only-lines", "edges", "invisible-chars", "empty"],
)
def test_whitespace_is_tidied(raw, expected):
    assert clean(raw) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (PROSE, True),
        (TITLE, False),  # a title has no sentence punctuation
        ("短句。", False),  # too short
        ("各乡镇人民政府,街道办事处,市人民政府各部门,各有关单位,各直属机构负责人:", True),
        ("您当前的位置:首页 » 信息公开>>某市2017年法治政府建设综述>>详情>>正文内容", False),
    ],
)
@FORMS
def test_is_prose(line, expected, form):
    assert is_prose(form(line)) is expected


def test_header_end_is_the_first_prose_line():
    lines = ["当前位置:首页", TITLE, "发布时间:2024-03-26", PROSE, PROSE2]
    assert header_end(lines) == 3


def test_clean_is_idempotent():
    raw = page("首页 > 政务公开 > 正文内容", TITLE, "• 公开日期2022年12月02日", PROSE, "", "", "",
               PROSE2, "某市人民政府", "2022年12月2日", "扫一扫在手机打开当前页")
    once = clean(raw)
    assert clean(once) == once
    assert once.startswith(TITLE) and once.endswith("2022年12月2日")


def _ui_line_by_pieces(bare: str) -> bool:
    """The rule as first written: split at the separators, every piece a page-furniture word."""
    import re

    from indexer.cleaning import _UI_SEPARATOR, _UI_WORDS

    pieces = [t for t in re.split(f"{_UI_SEPARATOR}+", bare) if t]
    return bool(pieces) and all(t in _UI_WORDS for t in pieces)


def test_a_line_of_page_furniture_words_is_told_as_splitting_it_tells(seeds_dir, demo_dir):
    """`_UI_LINE` matches a line exactly when its pieces between separators are all page-furniture words: on every
    line of the seeds, demo/ and the bench corpus, and on lines made up of those words, separators, other words
    and stray characters."""
    import random

    from bench.corpus import generate, render_text
    from indexer.cleaning import _UI_LINE, _UI_WORDS

    lines = [line.strip() for p in [*seeds_dir.glob("*.txt"), *demo_dir.rglob("*.txt")]
             for line in p.read_text(encoding="utf-8", errors="replace").splitlines()]
    lines += [line.strip() for g in generate(300) for line in render_text(g).splitlines()]
    rng = random.Random(3)
    parts = sorted(_UI_WORDS) + [" ", "|", "/", "【", "】", "[", "]", "(", ")", ":", ",", "、", "  ", "\t", "打",
                                 "（", "）", "：", "，", "｜",
                                 "本页", "印", "关闭窗", "法治", "12", "。", "，"]
    made = ["".join(rng.choice(parts) for _ in range(rng.randint(1, 6))) for _ in range(20_000)]
    told = [bool(_UI_LINE.fullmatch(line)) for line in lines + made]
    assert told == [_ui_line_by_pieces(line) for line in lines + made]
    assert 1_000 < sum(told[len(lines):]) < 19_000  # the made-up lines hold both kinds


def test_a_page_scraped_with_full_width_furniture_keeps_only_its_report(tmp_path):
    """A government page saved as GB18030 text, its furniture in full-width punctuation as such sites write it: the
    ingest keeps the title, the body, the signature and the document's own ending, and none of the furniture."""
    from indexer.pipeline import prepare

    furniture = ["当前位置：首页 ＞ 政务公开 ＞ 法治政府建设", "字号：大 中 小", "【打印本页】｜【关闭窗口】",
                 "打印（关闭）", "分享到：微信 微博", "上一篇：某县2022年法治政府建设年度报告",
                 "主办单位：某市人民政府办公室 地址：某市青屏大街86号 邮编：452370"]
    body = ["一、主要工作", "全市各级行政机关共收到行政复议申请136件，办结128件，办结率94.1%；"
            "行政机关负责人出庭应诉率达到100%，同比提高3个百分点"]
    text = "\n".join([furniture[0], TITLE, "发布时间：2024-03-26　来源：某市司法局", *furniture[1:4],
                      full_width(PROSE), *body, "某市人民政府", "2024年3月26日", "（此件公开发布）",
                      furniture[4], furniture[3], furniture[5], furniture[6]])
    path = tmp_path / "report.txt"
    path.write_bytes(text.encode("gb18030"))
    doc, chunks, _ = prepare(path, 500)
    kept = "\n".join(c.text for c in chunks)
    assert doc.title == TITLE
    for line in furniture:
        assert line not in kept
    for line in [full_width(PROSE), *body, "某市人民政府", "2024年3月26日", "（此件公开发布）"]:
        assert line in kept
