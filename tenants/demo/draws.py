"""Random draws for the demo's members: Chinese names, mobile numbers, resident IDs, counts, prices."""

from __future__ import annotations

import datetime as dt
import math
import random

SURNAMES = ("王李张刘陈" * 6 + "杨黄赵吴周徐孙马朱胡郭何高林罗" * 3  # the commonest names, more often
            + "郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖"
            + "贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤")
GIVEN = {
    "female": tuple("秀英兰丽静敏燕艳娟霞芳娜婷雪琳颖欣怡佳悦梦晨雨思诗涵萱可馨倩蕾露菲瑶洁慧莉晶岚薇彤月文玉红梅丹宁"),
    "male": tuple("伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林斌峰建国志文博晨阳毅然东海亮成昊天"),
}
MOBILE_PREFIXES = ("130 131 132 133 134 135 136 137 138 139 147 150 151 152 153 155 156 157 158 159 166 172 173 "
                   "175 176 177 178 180 181 182 183 184 185 186 187 188 189 191 193 195 196 197 198 199").split()
ID_AREAS = ("330106", "330102", "330105", "320506", "320508", "310104", "310115", "110105", "110108", "440305",
            "440106", "510107", "420106", "370202", "350203", "120101")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def draw_name(rng: random.Random, gender: str) -> str:
    pool = GIVEN[gender]
    given = rng.choice(pool)
    if rng.random() < 0.65:
        given += rng.choice([c for c in pool if c != given])
    return rng.choice(SURNAMES) + given


def draw_phone(rng: random.Random, index: int, block: int, blocks: int) -> str:
    """An 11-digit mobile: a real 13x–19x prefix and a suffix unique to (block, index) — a bijection
    of 0..10⁸-1, so no two members of any demo tenant share a number."""
    suffix = ((index * blocks + block) * 7_919_113 + 38_461_529) % 100_000_000
    return f"{rng.choice(MOBILE_PREFIXES)}{suffix:08d}"


def draw_id_number(rng: random.Random, birthday: dt.date, gender: str) -> str:
    """An 18-digit resident ID (身份证) of the right shape: area, birth date, sequence (odd for men), check digit."""
    seq = rng.randrange(0, 500) * 2 + (1 if gender == "male" else 0)
    body = f"{rng.choice(ID_AREAS)}{birthday:%Y%m%d}{seq:03d}"
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def yuan(lo: float, hi: float, rng: random.Random, step: int = 10) -> int:
    """A shelf price in fen between lo and hi yuan, ending in 9 (¥459) when step is 10."""
    price = rng.randrange(int(lo), int(hi) + 1)
    if step > 1:
        price = max(step, price // step * step) - 1
    return price * 100
