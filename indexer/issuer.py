"""Which government a report speaks for: from its title, else from what the report says of itself.

The title's names are read first (河南省三门峡市 -> 三门峡市; 2025年宁夏政府工作报告 -> 宁夏回族自治区). A
title that names no government leaves it to the body, where the issuer is the government the report
speaks for: the one that delivers it to its people's congress ("在XX第十届人民代表大会…上"), that
"我代表XX人民政府" reports for, the publisher and the signature, and the government the body most often
names before a government word (XX市人民政府, XX区委). Places a report merely mentions do not count.
An ambiguous name (several counties share it) is resolved only by its parent in the text, never guessed.
"""

from __future__ import annotations

import re
from collections import Counter

from archive.regions import (
    Mention,
    Region,
    chains,
    county_stem_at,
    find_mentions,
    names_government,
    nation,
    resolve_chain,
    township_at,
    under,
    unlisted_at,
    words,
    zone_at,
)
from archive.text import dates_as_digits

# A region name starts the title, follows a non-Chinese character, or follows one of these words.
_LEAD = re.compile(r"中国共产党|关于印发|关于|印发|转发|中共|年度|年|[^\u4e00-\u9fff]")
_DELIVERY = re.compile(r"((?:19|20)\d{2})\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*在(.{2,40}?)"
                       r"(?:第\s*[一二三四五六七八九十\d]+\s*届)?\s*(?:人民代表大会|人大)")
_ON_BEHALF = re.compile(r"我代表(.{2,30}?)(?:人民政府|政府|向大会)")
BODY_SCAN_CHARS = 20000  # the issuer names itself early and in the signature; a 2 MB report is not read whole


def title_region(title: str, context: str = "") -> Region | None:
    """The government a title names (most specific of a chain), with the rest of the text as context."""
    found_names = find_mentions(title)
    mentions = [m for m in found_names if names_government(title, m, found_names)]
    for run in chains(title, mentions):
        found = _run_region(title, run, context)
        if found is not None:
            return found
    for pos in sorted({0} | {m.end() for m in _LEAD.finditer(title)}):
        if any(m.start <= pos < m.end for m in mentions):
            continue
        found = (zone_at(title, pos, None) or township_at(title, pos, None) or county_stem_at(title, pos, context)
                 or unlisted_at(title, pos))
        if found is not None:
            return _placed(found, context) if found.level in ("zone", "township") else found
    # Last: a city's "落实国务院…的报告" or "全国文明城市…" is the city's, not the nation's.
    return nation() if any(w in title for w in words()["national_title_words"]) else None


def _run_region(text: str, run: list[Mention], context: str) -> Region | None:
    region = resolve_chain(run, context)
    last = run[-1]
    glued = last.surface if last.short else ""
    # A zone or a township written after the division is the report's, not the division's (旺苍县东河镇人民政府).
    return zone_at(text, last.end, region, glued) or township_at(text, last.end, region) or region


def _placed(place: Region, context: str) -> Region:
    """A zone or township named alone gets the division written right before its name elsewhere
    (安康市恒口示范区, 旺苍县东河镇)."""
    for found in re.finditer(re.escape(place.name), context):
        window = context[max(0, found.start() - 30) : found.start()]
        runs = chains(window, find_mentions(window))
        if runs and runs[-1][-1].end == len(window) and (parent := resolve_chain(runs[-1], context)):
            return under(place.name, place.level, parent)
    return place


def _is_national(text: str) -> bool:
    return any(w in text for w in words()["national_words"])


def _delivery(text: str) -> re.Match[str] | None:
    """The delivery line ("——2025年1月14日在XX第十届人民代表大会…上"); older reports write the date in
    Chinese numerals (一九七五年一月十三日), read as digits (`archive.text.dates_as_digits`)."""
    return _DELIVERY.search(dates_as_digits(text[:BODY_SCAN_CHARS]))


def body_region(text: str, publisher: str | None, closing: list[str]) -> Region | None:
    """The issuer of a report whose title names no government, from what the report says of itself."""
    head = text[:BODY_SCAN_CHARS]
    if (m := _delivery(text)) and (found := _named(m.group(2), text)):
        return found
    if (m := _ON_BEHALF.search(head)) and (found := _named(m.group(1), text)):
        return found
    for line in [publisher or ""] + closing[::-1]:
        if _addressed(line):  # "广元市人民政府：" is who the report is sent to, not who sends it
            continue
        if line and (found := _named(line, text)) is not None and found.level != "national":
            return found
    # The signature once (a short report's closing lines are in its head already), and no recipient's line.
    lines = head.splitlines() + (closing if len(text) > BODY_SCAN_CHARS else [])
    return _most_named("\n".join(line for line in lines if not _addressed(line)))


def _addressed(line: str) -> bool:
    """A line naming a recipient: "广元市人民政府：" above the body, "抄送：…", "主送：…"."""
    line = line.strip()
    return line.endswith(("：", ":")) or line.startswith(("抄送", "主送", "报送"))


def delivery_year(text: str) -> int | None:
    """The year a report was delivered to its people's congress, from its delivery line."""
    m = _delivery(text)
    return int(m.group(1)) if m else None


def _named(phrase: str, context: str) -> Region | None:
    if _is_national(phrase):
        return nation()
    return title_region(phrase, context)


def _most_named(text: str) -> Region | None:
    """The division most often written right before a government word (XX市人民政府, XX县委)."""
    gov = tuple(sorted(words()["government_words"], key=len, reverse=True))
    counts: Counter[Region] = Counter()
    for run in chains(text, find_mentions(text)):
        end = run[-1].end
        if not text.startswith(gov, end):
            continue
        if run[-1].short and not text.startswith(("人民政府", "政府"), end):
            continue
        if (region := resolve_chain(run, text)) is not None:
            counts[region] += 1
    ranked = counts.most_common()
    if not ranked or ranked[0][1] < 2:
        return None
    top, count = ranked[0]
    rivals = [r for r, c in ranked[1:] if c == count]
    # A county's report names its city's government as often as its own: the more specific one speaks.
    if rivals and not all(r.name in (top.province, top.city) for r in rivals):
        inner = [r for r in rivals if top.name in (r.province, r.city)]
        return inner[0] if len(inner) == 1 and len(rivals) == 1 else None
    return top
