"""Strip the page furniture of scraped reports (breadcrumbs, metadata panels, share buttons,
footers) and tidy whitespace, keeping the title, the body and the closing signature.

Junk is recognised by the shape of a whole line, never by a word inside a sentence, and by
position: metadata panels sit above the first paragraph of prose, footers below the last.
Metadata extraction reads the raw text, so nothing here needs to keep header fields.
"""

from __future__ import annotations

import functools
import re

_BULLET = re.compile(r"^[•·●○◆◇▪▫■□►▶◎※]+\s*")
_EMPTYISH = re.compile(r"[\s•·●○◆◇▪▫■□►▶◎※\-*_=~|]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200d\ufeff]")
_COLON = r"\s*[:：]"

# Buttons, widgets and site navigation: a line made only of these words is page furniture.
_UI_WORDS = frozenset(
    """打印 打印本页 打印此页 打印本文 打印文章 关闭 关闭窗口 关闭本页 返回 返回顶部 返回首页 返回列表
    收藏 收藏本页 加入收藏 设为首页 分享 分享到 我要纠错 纠错 保存 保存本页 下载 复制链接 字号 大 中 小 默认
    放大 缩小 繁体 繁體 简体 无障碍 长者模式 关怀版 English 手机版 电子期刊 登录 注册 退出 学习强国
    公众号 订阅号 服务号 视频号 微信 微博 QQ空间 今日头条 客户端 网站地图 联系我们 首页 搜索 [ ] 【 】""".split()
)
_UI_SEPARATOR = r"[\s|｜/【】\[\]()（）:：,，、]"
# A line made only of those words between separators, told by one match: most lines fail at their first character,
# where splitting every line at its separators to look the pieces up cost two thirds of telling junk lines. (A word
# that is a separator, 【 or [, is never a piece: a line of separators alone is not one of these.)
_UI_WORD = "(?:" + "|".join(re.escape(w) for w in sorted(_UI_WORDS, key=len, reverse=True)
                            if not re.search(_UI_SEPARATOR, w)) + ")"
_UI_LINE = re.compile(f"{_UI_SEPARATOR}*{_UI_WORD}(?:{_UI_SEPARATOR}+{_UI_WORD})*{_UI_SEPARATOR}*")

_LABELS = (
    "发布时间 发布日期 发文日期 成文日期 公开日期 印发日期 生成日期 更新时间 更新日期 文章来源 信息来源 "
    "来源 发布机构 发文机关 发布单位 索引号 关键词 主题词 服务对象 体裁分类 主题分类 组配分类 信息分类 "
    "发文字号 文号 标题 公开目录 公开形式 公开方式 公开范围 有效性 浏览次数 阅读次数 点击数 访问量 "
    "责任编辑 作者 编辑 文章字体 字体 字号"
).split()
# "索 引 号" and "关 键 词" are spaced out on some sites, so labels allow spaces between characters.
_LABEL = "(?:" + "|".join(r"\s*".join(map(re.escape, w)) for w in _LABELS) + ")"
_STARTS_WITH_LABEL = re.compile(rf"^{_LABEL}\s*(?:[:：]|\s|\d|$)")
_ANY_LABEL = re.compile(_LABEL)

# One alternation, matched once per line: fourteen patterns tried one by one from Python were the
# largest cost of cleaning (bench.prepare_check shows the output unchanged).
_JUNK_LINE = re.compile(
    "|".join(
        f"(?:{p})"
        for p in (
            rf"(?:您|你)?(?:当前|现在|所在)?的?(?:位置|路径){_COLON}.*",  # 当前位置:首页 > …
            r"首页\s*(?:>|＞|»|>>|›|→|/|-).*",  # 首页 > 政务公开 > 正文内容
            rf"[【\[]?\s*(?:文章)?(?:字号|字体){_COLON}.*",  # 【字号: / 文章字体:【 】
            r"扫一扫.{0,30}",  # 扫一扫在手机打开当前页
            r"(?:用)?手机扫(?:描|码).{0,30}",
            rf"(?:友情链接|相关链接|分享到){_COLON}?.*",
            rf"(?:上一篇|下一篇|上一条|下一条){_COLON}.*",
            rf"(?:本站|本网)?版权所有(?:{_COLON}|\s|©|[(（]|$).*",
            r"(?:Copyright|©).*",
            r".{0,60}(?:ICP备|ICP证|公网安备)\s*\d{4,}.*",
            rf".{{0,40}}网站标识码{_COLON}?\s*[A-Za-z0-9]{{6,}}.*",
            rf"(?:主办|承办|主管)(?:单位)?{_COLON}.*(?:地址|邮编|电话|ICP|版权|备案|技术支持).*",
            r"\S{2,30}主管\s+\S{2,30}主办",  # 中国出版传媒股份有限公司主管 中国民主法制出版社有限公司主办
            r"(?:推荐阅读|相关阅读|相关文章|相关新闻|热点推荐|猜你喜欢|延伸阅读)\s*[:：]?",
        )
    )
)

# Headings that open a page footer; everything after them goes when no prose follows.
_FOOTER_START = re.compile(
    rf"(?:推荐阅读|相关阅读|相关文章|相关新闻|相关链接|热点推荐|猜你喜欢|延伸阅读|友情链接|网站地图|联系我们"
    rf"|(?:主办|承办|主管)(?:单位)?{_COLON}|版权所有|扫一扫|上一篇|下一篇|分享到).*"
)
_BREADCRUMB_SPLIT = re.compile(r"\s*(?:>>|>|＞|»|›|→)\s*")
_DATE_LINE = re.compile(r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
# Lines after the closing date that still belong to an official document.
_DOCUMENT_TAIL = re.compile(r"^(?:[(（]|抄送|主送|附件|此件|注[:：]|印发|联系人)")
_HEADER_MAX_LINES = 40
# What only a report's own text holds below a date: a section heading or a counted figure (a page's footer holds
# neither, but for a labelled field such as "浏览次数：328次").
_BODY_AFTER = re.compile(r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)])"
                         r"|\d\s*(?:件|项|个|人次|名|人|户|家|条|起|次|场|期|万|亿|%|％)")


# Metadata extraction reads the cleaned text's last lines and the pipeline then cleans the same raw
# text for the body: the second call is answered from here (a text's clean form never changes).
@functools.lru_cache(maxsize=4)
def clean(text: str) -> str:
    """The report's title and body without page furniture, with tidy whitespace."""
    lines = [_CONTROL.sub("", line).strip() for line in text.splitlines()]
    lines = ["" if _EMPTYISH.fullmatch(line) else line for line in lines]
    lines = _drop_header(lines)
    lines = _drop_footer(lines)  # before the junk pass, which would blank the footer headings
    lines = ["" if is_junk_line(line) else line for line in lines]
    return _join(lines)


def is_junk_line(line: str) -> bool:
    """True for a whole line of page furniture, wherever it appears."""
    bare = _BULLET.sub("", line.strip())
    if not bare:
        return False
    if _JUNK_LINE.fullmatch(bare):
        return True
    if _UI_LINE.fullmatch(bare):  # only _UI_WORDS between separators
        return True
    # A line that opens with a metadata label and holds another is a metadata panel
    # (公开日期…成文日期…, 公开目录…公开形式…), unless it reads as a sentence.
    return (bool(_ANY_LABEL.match(bare)) and len(_ANY_LABEL.findall(bare)) >= 2
            and len(bare) <= 100 and "。" not in bare)


def is_prose(line: str) -> bool:
    """A line of running text: long, with sentence punctuation (titles and panels have none)."""
    return len(line) >= 30 and ("。" in line or len(re.findall(r"[,，;；]", line)) >= 2)


def header_end(lines: list[str]) -> int:
    """Index of the first line of prose: the page header (title, metadata panel) lies above it."""
    for i, line in enumerate(lines[:_HEADER_MAX_LINES]):
        if is_prose(line) and not is_junk_line(line):
            return i
    return min(len(lines), _HEADER_MAX_LINES)


def _drop_header(lines: list[str]) -> list[str]:
    """Above the first paragraph: drop bullet panels, field lines and the breadcrumb's echo."""
    start = header_end(lines)
    out: list[str] = []
    echo = None  # the last breadcrumb segment, often repeated as a channel heading below it
    for line in lines[:start]:
        bare = _BULLET.sub("", line)
        if line != bare or _STARTS_WITH_LABEL.match(bare) or (echo and line == echo):
            out.append("")
            continue
        if is_junk_line(line) and _BREADCRUMB_SPLIT.search(line):
            echo = _BREADCRUMB_SPLIT.split(line)[-1].strip()
        out.append(line)
    return out + lines[start:]


def _drop_footer(lines: list[str]) -> list[str]:
    """Below the last paragraph: cut from a footer heading, and page furniture after the closing date."""
    prose = [i for i, line in enumerate(lines) if is_prose(line)]
    tail = prose[-1] + 1 if prose else 0
    for i in range(tail, len(lines)):
        if _FOOTER_START.match(_BULLET.sub("", lines[i])):
            lines = lines[:i]
            break
    dates = [i for i in range(tail, len(lines)) if _DATE_LINE.fullmatch(lines[i])]
    if not dates:
        return lines
    last = dates[-1]
    if any(_BODY_AFTER.search(line) and not (is_junk_line(line) or _STARTS_WITH_LABEL.match(line))
           for line in lines[last + 1:]):
        return lines  # a heading or a figure below: the date was not the document's end (a date under the title)
    after = [line for line in lines[last + 1 :] if not line or _DOCUMENT_TAIL.match(line)]
    return lines[: last + 1] + after


def _join(lines: list[str]) -> str:
    """One blank line at most between blocks, none at the ends."""
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")
