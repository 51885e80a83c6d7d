"""A seeded, reproducible corpus of reports of our own writing, at 10k, 100k or 1M passages.

Real region names, years 2015-2025, the usual report types, numbered sections and
sub-sections, and passages whose figures (cases handled, rates, counts) vary by region
and year. Two outputs:

- `iter_items(n)`: (Document, chunks, tokens, topics) straight into a backend, for scale
  (no files, no chunker; tokens are jieba's, cached per sentence fragment, so 1M passages
  can be tokenised in minutes: see `fragment_tokens`).
- `write_files(dir, n)`: the same documents as files for the real pipeline: UTF-8 text,
  GB18030 text and HTML pages (with navigation junk), about 70/15/15.

    python -m bench.corpus --size 10k --out /tmp/corpus-10k
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archive.models import Chunk, Document, chunk_id_for

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000, "1M": 1_000_000}
YEARS = tuple(range(2015, 2026))

# Real regions: provinces, prefecture-level cities, districts and counties.
REGIONS = tuple("""
北京市 天津市 上海市 重庆市 河北省 山西省 辽宁省 吉林省 黑龙江省 江苏省 浙江省 安徽省 福建省 江西省 山东省 河南省
湖北省 湖南省 广东省 海南省 四川省 贵州省 云南省 陕西省 甘肃省 青海省 内蒙古自治区 广西壮族自治区 西藏自治区
宁夏回族自治区 新疆维吾尔自治区 石家庄市 唐山市 保定市 邯郸市 太原市 大同市 长治市 晋中市 呼和浩特市 包头市
沈阳市 大连市 鞍山市 长春市 吉林市 哈尔滨市 齐齐哈尔市 南京市 无锡市 徐州市 常州市 苏州市 南通市 扬州市 镇江市
杭州市 宁波市 温州市 嘉兴市 湖州市 绍兴市 金华市 台州市 合肥市 芜湖市 蚌埠市 安庆市 福州市 厦门市 泉州市 漳州市
南昌市 赣州市 九江市 济南市 青岛市 淄博市 烟台市 潍坊市 济宁市 临沂市 郑州市 洛阳市 开封市 新乡市 南阳市 武汉市
宜昌市 襄阳市 荆州市 长沙市 株洲市 湘潭市 岳阳市 常德市 广州市 深圳市 珠海市 汕头市 佛山市 东莞市 中山市 惠州市
南宁市 柳州市 桂林市 海口市 三亚市 成都市 绵阳市 德阳市 宜宾市 南充市 贵阳市 遵义市 昆明市 曲靖市 大理白族自治州
拉萨市 西安市 宝鸡市 咸阳市 兰州市 天水市 西宁市 银川市 乌鲁木齐市 克拉玛依市 朝阳区 海淀区 丰台区 浦东新区
徐汇区 闵行区 和平区 滨海新区 渝中区 江北区 鼓楼区 玄武区 西湖区 余杭区 萧山区 天河区 越秀区 南山区 福田区
宝安区 武侯区 锦江区 雁塔区 历下区 市南区 江岸区 岳麓区 昆山市 江阴市 张家港市 常熟市 义乌市 慈溪市 余姚市
晋江市 石狮市 平潭县 长兴县 安吉县 德清县 桐庐县 淳安县 宁海县 象山县 仙居县 丽水市 衢州市 舟山市 阜阳市
六安市 黄山市 宣城市 景德镇市 萍乡市 上饶市 日照市 威海市 德州市 聊城市 滨州市 菏泽市 许昌市 漯河市 信阳市
周口市 驻马店市 十堰市 黄冈市 咸宁市 衡阳市 邵阳市 郴州市 永州市 怀化市 韶关市 江门市 湛江市 茂名市 肇庆市
梅州市 清远市 揭阳市 北海市 玉林市 百色市 泸州市 乐山市 眉山市 雅安市 六盘水市 安顺市 玉溪市 红河哈尼族彝族自治州
延安市 汉中市 榆林市 酒泉市 张掖市 海东市 石嘴山市 吴忠市 伊犁哈萨克自治州 喀什地区 阿克苏地区 延边朝鲜族自治州
""".split())

DOC_TYPES = (  # (type, title template, share)
    ("年度报告", "{region}{year}年法治政府建设年度报告", 0.45),
    ("工作安排", "{region}{year}年法治政府建设工作安排", 0.15),
    ("自查报告", "{region}关于{year}年度法治政府建设情况的自查报告", 0.15),
    ("综述", "{region}{year}年依法行政工作综述", 0.1),
    ("政府工作报告", "{year}年{region}人民政府工作报告", 0.15),
)

# Topics: (top-level heading, sub-headings, sentence templates). In a template {n} is a figure
# (low, high, decimals, yearly growth); {p} a rate in percent; anything else is literal text.
TOPICS = (
    ("加强组织领导，压实法治政府建设责任",
     ("落实第一责任人职责", "抓好领导干部学法用法", "完善考核评价机制"),
     ("全年主持召开政府常务会议专题研究法治政府建设工作{n:2,9,0,0}次",
      "集体学习《民法典》《行政处罚法》等法律法规{n:6,24,0,0.02}次",
      "举办领导干部法治专题讲座{n:2,12,0,0}期，参训{n:200,3000,0,0.05}人次",
      "将法治政府建设纳入高质量发展综合绩效考核，考核权重提高到{p:3,10,0}",
      "分解细化年度任务{n:20,80,0,0}项，逐项明确牵头单位和完成时限")),
    ("深化放管服改革，持续优化营商环境",
     ("纵深推进简政放权", "提升政务服务效能", "优化法治化营商环境", "推进证明事项告知承诺制"),
     ("全年取消和调整行政许可事项{n:5,60,0,-0.03}项，下放审批事项{n:5,40,0,0}项",
      "清理取消各类证明材料{n:10,120,0,0}项，企业开办时间压缩至{n:0.5,3,1,-0.08}个工作日",
      "政务服务事项网上可办率达到{p:80,99.9,1}",
      "12345政务服务便民热线受理群众诉求{n:2,90,1,0.08}万件，办结率{p:95,99.9,2}，群众满意率{p:85,99.5,1}",
      "工程建设项目全流程审批时间压缩至平均{n:30,120,0,-0.05}个工作日",
      "集成推出“一件事一次办”套餐式服务事项{n:10,80,0,0.1}项")),
    ("坚持依法科学民主决策",
     ("严格落实重大行政决策程序", "发挥法律顾问和公职律师作用", "加强规范性文件管理"),
     ("纳入重大行政决策事项目录{n:3,30,0,0}项，全部履行公众参与、专家论证、风险评估、合法性审查程序",
      "政府法律顾问参与审查重大合同{n:20,400,0,0.06}件，提出法律意见建议{n:50,900,0,0.06}条",
      "审查规范性文件{n:10,200,0,0}件，报送备案{n:5,120,0,0}件，备案审查率{p:98,100,0}",
      "公职律师人数达到{n:30,600,0,0.1}名，实现党政机关全覆盖")),
    ("严格规范公正文明执法",
     ("深化行政执法体制改革", "全面落实行政执法三项制度", "加强行政执法人员管理", "推进包容审慎监管"),
     ("全年办理行政处罚案件{n:800,40000,0,0.03}件，罚没金额{n:0.1,9,2,0.02}亿元",
      "行政执法公示信息{n:1000,90000,0,0.1}条，重大执法决定法制审核率{p:98,100,0}",
      "组织{n:200,8000,0,0.02}名行政执法人员参加年度法律知识考试，合格率{p:90,99.9,1}",
      "对{n:20,900,0,0.2}件轻微违法行为依法不予行政处罚，推行柔性执法",
      "开展“双随机、一公开”联合抽查{n:50,2000,0,0.1}次，覆盖市场主体{n:1000,60000,0,0.05}户")),
    ("强化行政权力制约和监督",
     ("加强行政复议工作", "做好行政应诉工作", "主动接受各方面监督"),
     ("全年受理行政复议案件{n:40,3000,0,0.09}件，审结{n:30,2800,0,0.09}件，综合纠错率{p:3,18,1}",
      "行政复议办案数同比增长{p:1,40,1}，调解和解结案{n:5,400,0,0.15}件",
      "行政机关负责人出庭应诉率{p:60,100,1}，行政诉讼败诉率下降至{p:1,12,1}",
      "办理人大代表建议{n:50,900,0,0}件、政协提案{n:50,1000,0,0}件，按时办结率{p:98,100,0}",
      "发生行政诉讼案件{n:30,2500,0,0.04}件，一审败诉{n:1,150,0,-0.05}件")),
    ("依法有效化解社会矛盾纠纷",
     ("健全矛盾纠纷多元化解机制", "推进信访工作法治化", "加强人民调解工作"),
     ("各级人民调解组织调解矛盾纠纷{n:2000,90000,0,0.03}件，调解成功率{p:95,99.8,1}",
      "受理信访事项{n:500,30000,0,-0.02}件，按期办结率{p:95,100,1}",
      "建成公共法律服务中心{n:5,200,0,0.05}个、工作站{n:50,2000,0,0.05}个",
      "提供法律援助{n:500,20000,0,0.04}件，为群众挽回经济损失{n:100,9000,0,0.03}万元")),
    ("加强法治宣传教育",
     ("落实谁执法谁普法责任制", "深化法治文化建设"),
     ("开展“八五”普法主题宣传活动{n:20,900,0,0.05}场，受众{n:1,120,1,0.05}万人次",
      "建成法治文化阵地{n:10,400,0,0.1}个，命名民主法治示范村（社区）{n:5,120,0,0}个",
      "发布以案释法典型案例{n:5,120,0,0.1}个，推送普法信息{n:100,9000,0,0.1}条")),
    ("存在的问题和下一步工作打算",
     ("存在的不足", "下一步工作打算"),
     ("部分单位对法治政府建设重视程度不够，基层执法力量仍较薄弱",
      "下一步将持续推进法治政府示范创建，力争{n:1,5,0,0}个项目入选示范名单",
      "计划组织行政执法人员培训{n:3,30,0,0}期，覆盖{n:200,6000,0,0}人次",
      "行政复议案件办理质量有待提升，专业化队伍建设仍需加强")),
)

INTROS = ("{year}年，{region}坚持以习近平新时代中国特色社会主义思想为指导，深入学习贯彻习近平法治思想，"
          "统筹推进依法行政各项任务，法治政府建设取得新的进展。现将有关情况报告如下。")


@dataclass(frozen=True)
class GenDoc:
    """One generated report: its document record and passages (text, section path, topic id, fragments)."""

    doc: Document
    passages: list[tuple[str, str, int, list[str]]]  # (text, section path, topic id, text fragments)
    published: str


def size_of(text: str) -> int:
    """'10k', '100k', '1M' or a plain number of passages."""
    return SIZES.get(text) or int(text)


def _figure(spec: str, rng: random.Random, scale: float, years: int) -> str:
    kind, args = spec.split(":", 1)
    nums = [float(x) for x in args.split(",")]
    if kind == "p":
        low, high, dec = nums
        value = low + (high - low) * min(1.0, max(0.0, rng.betavariate(4, 2) * 0.8 + 0.2 * scale))
        return f"{value:.{int(dec)}f}%"
    low, high, dec, growth = nums
    value = (low + (high - low) * scale * rng.uniform(0.7, 1.0)) * (1 + growth) ** years
    return f"{value:.{int(dec)}f}"


def _sentence(template: str, rng: random.Random, scale: float, years: int) -> list[str]:
    """A sentence as fragments: literal pieces and figures, so tokens can be cached per piece."""
    out, rest = [], template
    while "{" in rest:
        head, _, tail = rest.partition("{")
        spec, _, rest = tail.partition("}")
        if head:
            out.append(head)
        out.append(_figure(spec, rng, scale, years))
    if rest:
        out.append(rest)
    out.append("。")
    return out


def _region_scale(region: str) -> float:
    """A stable size for a region: provinces are big, counties small, cities in between."""
    h = int(hashlib.md5(region.encode("utf-8")).hexdigest()[:6], 16) / 0xFFFFFF
    if region.endswith(("省", "自治区")) or region in ("北京市", "上海市", "天津市", "重庆市"):
        return 0.6 + 0.4 * h
    if region.endswith(("县", "区")):
        return 0.05 + 0.2 * h
    return 0.2 + 0.4 * h


def _pick_type(rng: random.Random) -> tuple[str, str]:
    x, acc = rng.random(), 0.0
    for doc_type, title, share in DOC_TYPES:
        acc += share
        if x <= acc:
            return doc_type, title
    return DOC_TYPES[0][:2]


def generate(n_passages: int, seed: int = 0) -> Iterator[GenDoc]:
    """Documents until about `n_passages` passages (one per sub-section, plus the introduction)."""
    rng = random.Random(seed)
    made = 0
    index = 0
    while made < n_passages:
        region = rng.choice(REGIONS)
        year = rng.choice(YEARS)
        doc_type, title_t = _pick_type(rng)
        title = title_t.format(region=region, year=year)
        local = random.Random(f"{seed}:{index}:{region}:{year}")
        scale = _region_scale(region)
        passages = [(INTROS.format(region=region, year=year), "", -1, [INTROS.format(region=region, year=year)])]
        topics = sorted(local.sample(range(len(TOPICS)), local.randint(4, 7)))
        for t_no, t in enumerate(topics):
            heading, subs, bank = TOPICS[t]
            top = f"{'一二三四五六七八'[t_no]}、{heading}"
            for s_no, sub in enumerate(subs[: local.randint(2, len(subs))]):
                frags: list[str] = [f"{region}"]
                for template in local.sample(bank, min(len(bank), local.randint(3, 5))):
                    frags += _sentence(template, local, scale, year - 2015)
                section = f"{top} > （{'一二三四五六'[s_no]}）{sub}"
                passages.append(("".join(frags), section, t * 10 + s_no, frags))
        published = f"{year + 1}-0{local.randint(1, 4)}-{local.randint(10, 28)}"
        doc_id = hashlib.sha1(f"bench:{seed}:{index}".encode()).hexdigest()[:16]
        doc = Document(doc_id=doc_id, title=title, region=region, year=year, doc_type=doc_type,
                       publisher=f"{region}人民政府", published=published, source_name=f"{doc_id}.txt",
                       sha256=hashlib.sha256(f"{seed}:{index}".encode()).hexdigest())
        made += len(passages)
        index += 1
        yield GenDoc(doc, passages, published)


def fragment_tokens(fragment: str) -> tuple[str, ...]:
    """jieba tokens of one fragment; a figure is one token, as jieba makes it in running text."""
    return (fragment,) if fragment[:1].isdigit() else _literal_tokens(fragment)


@functools.lru_cache(maxsize=200_000)
def _literal_tokens(fragment: str) -> tuple[str, ...]:
    from archive.text import tokenize

    return tuple(tokenize(fragment))


def topic_centroids(dim: int, seed: int = 0) -> np.ndarray:
    """One random unit direction per (topic, sub-section) id, so vectors cluster like real ones do."""
    rng = np.random.default_rng(seed + 7)
    c = rng.standard_normal((100, dim)).astype(np.float32)
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def fake_vectors(topics: list[int], dim: int, rng: np.random.Generator, centroids: np.ndarray) -> np.ndarray:
    """Unit vectors near their topic's centroid (noise comparable to the signal)."""
    noise = rng.standard_normal((len(topics), dim)).astype(np.float32) / np.sqrt(dim)
    v = centroids[np.asarray(topics) % len(centroids)] * 0.7 + noise
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def iter_items(n_passages: int, dim: int = 384, seed: int = 0):
    """IndexItems (document, passages, vectors, tokens) for a backend's `index_documents` or `rebuild`."""
    from archive.backends.base import IndexItem
    from archive.text import document_tokens

    rng = np.random.default_rng(seed)
    centroids = topic_centroids(dim, seed)
    for g in generate(n_passages, seed):
        chunks = [Chunk(chunk_id_for(g.doc.doc_id, i), g.doc.doc_id, i, section, text)
                  for i, (text, section, _, _) in enumerate(g.passages)]
        tokens = [[t for f in frags for t in fragment_tokens(f)] for _, _, _, frags in g.passages]
        vectors = fake_vectors([p[2] for p in g.passages], dim, rng, centroids)
        yield IndexItem(g.doc, chunks, vectors, document_tokens(g.doc.title, chunks, tokens))


def render_text(g: GenDoc) -> str:
    """A report as plain text: title, a source line, the introduction, headings and paragraphs."""
    lines = [g.doc.title, f"发布时间：{g.published}  来源：{g.doc.region}司法局", ""]
    last_top = None
    for text, section, _, _ in g.passages:
        if section:
            top, sub = section.split(" > ")
            if top != last_top:
                lines += [top, ""]
                last_top = top
            lines += [sub + "。" + text, ""]
        else:
            lines += [text, ""]
    lines += [f"{g.doc.region}人民政府", g.published]
    return "\n".join(lines) + "\n"


def render_html(g: GenDoc, charset: str) -> str:
    """The same report as a scraped page: navigation, the body in <p>s, a footer."""
    paras = "\n".join(f"<p>{line}</p>" for line in render_text(g).splitlines()[1:] if line)
    return (f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{g.doc.title}_政务公开</title></head>'
            f'<body><div class="nav">首页 &gt; 政务公开 &gt; 法治政府建设</div><h1>{g.doc.title}</h1>\n'
            f'{paras}\n<div class="footer">版权所有：{g.doc.region}人民政府办公室 网站标识码 1234567890'
            f'</div></body></html>\n')


def write_files(out: Path, n_passages: int, seed: int = 0) -> dict:
    """Write the corpus as files (70% UTF-8 text, 15% GB18030 text, 15% HTML); returns counts."""
    out.mkdir(parents=True, exist_ok=True)
    counts = {"files": 0, "bytes": 0, "passages": 0, "utf8_txt": 0, "gb18030_txt": 0, "html": 0}
    for i, g in enumerate(generate(n_passages, seed)):
        kind = ("html", "gb18030_txt")[i % 2] if i % 7 in (3, 5) else "utf8_txt"
        if kind == "html":
            data = render_html(g, "utf-8").encode("utf-8")
            path = out / f"{i:06d}.html"
        else:
            enc = "gb18030" if kind == "gb18030_txt" else "utf-8"
            data = render_text(g).encode(enc)
            path = out / f"{i:06d}.txt"
        path.write_bytes(data)
        counts[kind] += 1
        counts["files"] += 1
        counts["bytes"] += len(data)
        counts["passages"] += len(g.passages)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.corpus", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10k", help="10k, 100k, 1M or a number of passages")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    counts = write_files(args.out, size_of(args.size), args.seed)
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
