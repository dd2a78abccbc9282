"""Realistic sample tickets for the demo: Chinese text, the district's streets and categories."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from domain.config import DistrictConfig
from domain.models import Citizen, RequestKind, Ticket

# (category, title, content); {place} is filled with a community of the ticket's street.
COMPLAINTS: list[tuple[str, str, str]] = [
    ("噪音污染", "夜间施工噪音扰民", "{place}附近工地每晚十一点后仍在施工，噪音很大，影响休息。"),
    ("噪音污染", "广场舞音响声音过大", "{place}广场每晚广场舞音响开得很大，持续到十点以后。"),
    ("城乡建设", "小区道路破损积水", "{place}主干道路面多处破损，下雨后大面积积水，出行困难。"),
    ("城乡建设", "楼顶私搭乱建", "{place}5号楼顶有住户私自搭建彩钢房，存在安全隐患。"),
    ("住房保障", "公租房维修无人管", "{place}公租房卫生间漏水两个月，报修后一直无人处理。"),
    ("物业服务", "物业不作为电梯常坏", "{place}2号楼电梯每周故障多次，物业维修不及时。"),
    ("物业服务", "物业费上涨未公示", "{place}物业公司今年物业费上涨，未经业主大会公示。"),
    ("环境保护", "企业夜间排放异味", "{place}附近一家企业夜间排放刺鼻气体，窗户都不敢开。"),
    ("供暖/煤改电", "室内温度不达标", "{place}家中暖气不热，室温只有十四度，老人孩子受不了。"),
    ("供暖/煤改电", "空气源热泵故障", "{place}煤改电安装的空气源热泵频繁停机，联系厂家无回应。"),
    ("市容环卫", "垃圾堆积无人清运", "{place}垃圾箱已满三天无人清运，气味很大。"),
    ("市容环卫", "占道经营堵塞通道", "{place}路口早市摊贩占道经营，消防通道被堵。"),
    ("交通出行", "公交站牌损坏", "{place}公交站牌被撞坏，乘客看不到线路信息。"),
    ("交通出行", "路口红绿灯故障", "{place}路口红绿灯故障两天，车辆通行混乱。"),
    ("市场监管", "超市销售过期食品", "在{place}附近超市购买的酸奶已过期，商家拒绝退换。"),
    ("劳动保障", "工地拖欠农民工工资", "在{place}附近工地务工，包工头拖欠三个月工资未发。"),
    ("供水供电", "频繁停水无通知", "{place}本周已停水三次，事先没有任何通知。"),
]

QUESTIONS: list[tuple[str, str, str]] = [
    ("供暖/煤改电", "煤改电补贴怎么申请", "请问{place}煤改电的补贴标准和申请方式是什么？"),
    ("住房保障", "公租房申请需要什么材料", "想了解公租房申请需要准备哪些材料，在{place}居住。"),
]

UNROUTED: list[tuple[str, str, str]] = [
    ("政策咨询", "退休人员能否参加技能培训", "我住在{place}，已退休，想参加区里的技能培训班，请问是否可以？"),
    ("政策咨询", "个体户开业扶持政策", "准备在{place}开一家小店，想了解有没有开业扶持政策。"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "桂兰",
    "建华",
]


def demo_tickets(config: DistrictConfig, count: int, prefix: str, now: datetime, seed: int = 12345) -> list[Ticket]:
    """`count` tickets: mostly complaints routed by the catalogue, a few questions the knowledge base
    answers, and a few that no catalogue line covers (the shift lead dispatches them)."""
    rng = random.Random(seed)
    streets = config.streets
    tickets = []
    for i in range(count):
        if i % 25 == 3:
            kind, (category, title, content) = RequestKind.QUESTION, QUESTIONS[(i // 25) % len(QUESTIONS)]
        elif i % 25 == 11:
            kind, (category, title, content) = RequestKind.QUESTION, UNROUTED[(i // 25) % len(UNROUTED)]
        else:
            kind, (category, title, content) = RequestKind.COMPLAINT, rng.choice(COMPLAINTS)
        street = streets[i % len(streets)]
        community = rng.choice(street.communities) if street.communities else None
        place = community or street.name
        tickets.append(
            Ticket(
                ticket_no=f"{prefix}-{i + 1:04d}",
                # A second apart, the last at `now`: none is received after the demo submits it.
                received_at=now - timedelta(seconds=count - 1 - i),
                kind=kind,
                category=category,
                street=street.name,
                community=community,
                urgency="加急" if category == "供暖/煤改电" and kind is RequestKind.COMPLAINT else "一般",
                title=title,
                content=content.format(place=place),
                citizen=Citizen(
                    name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                    phone=f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
                    address=f"{street.name}{place}{i + 1}号楼",  # one household per ticket: repeats are made on purpose
                ),
            )
        )
    return tickets
