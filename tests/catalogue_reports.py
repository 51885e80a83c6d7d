"""Reports of our own writing for the catalogue tests (invented text; real place names, so the
region hierarchy reads as users know it: 陕西省 > 安康市 > 恒口示范区, and 山西省 > 太原市)."""

from __future__ import annotations

import json
from pathlib import Path

# file stem -> (title, sidecar, body paragraphs)
REPORTS = {
    "a1": ("安康市2022年法治政府建设年度报告", {"region_level": "city", "province": "陕西省"}, [
        "一、主要成效", "全市办理行政复议案件214件，纠错率13.1%，行政机关负责人出庭应诉率100%。",
        "二、存在不足", "乡镇合法性审查力量薄弱，执法人员培训覆盖不全。"]),
    "a2": ("安康市2023年法治政府建设年度报告", {"region_level": "city", "province": "陕西省"}, [
        "一、主要成效", "全市推行包容审慎监管，首违不罚清单事项扩至96项，办理行政复议案件230件。"]),
    "h1": ("恒口示范区2023年法治政府建设年度报告",
           {"region": "恒口示范区", "region_level": "zone", "province": "陕西省", "city": "安康市"}, [
        "一、工作举措", "示范区管委会建立涉企行政执法备案制度，全年入企检查次数下降四成。",
        "二、下一步打算", "推进园区综合执法改革，开展行政复议进园区活动。"]),
    "s1": ("陕西省2022年法治政府建设年度报告", {"region_level": "province"}, [
        "一、总体情况", "全省各级行政复议机关新收案件5120件，纠错率11.8%，依法行政考核覆盖市县两级。"]),
    "t1": ("太原市2022年法治政府建设年度报告", {"region_level": "city", "province": "山西省"}, [
        "一、主要成效", "全市行政复议案件办结率98%，公共法律服务热线接听量增长二成。"]),
    "x1": ("2023年法治政府建设工作报告", {}, [  # no region anywhere: a staff member corrects it
        "一、主要工作", "本年度推动行政执法三项制度全覆盖，审查行政规范性文件37件，办理行政复议案件58件。"]),
}


def write_reports(folder: Path) -> None:
    """Each report as a .txt file, with a sidecar giving its place where it has one."""
    for stem, (title, sidecar, paragraphs) in REPORTS.items():
        (folder / f"{stem}.txt").write_text("\n".join([title, *paragraphs]) + "\n", encoding="utf-8")
        if sidecar:
            (folder / f"{stem}.txt.meta.json").write_text(json.dumps(sidecar, ensure_ascii=False), encoding="utf-8")
