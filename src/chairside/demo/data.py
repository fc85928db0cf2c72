"""The demo data set: a chain with three clinics and a second organization, as data.

Names here are data, not interface text, so they are Chinese as a Chinese clinic's would be.
Everything is generated from a fixed random seed, so two runs give the same chain.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from chairside.core.pinyin import pinyin_keys
from chairside.core.resident_id import make_resident_id

DEMO_PASSWORD = "chairside-demo"  # noqa: S105 - the published demo password

# Common surnames, roughly weighted by how often they occur.
SURNAMES = (
    "王" * 9
    + "李" * 9
    + "张" * 8
    + "刘" * 6
    + "陈" * 6
    + "杨" * 4
    + "黄" * 3
    + "赵" * 3
    + "吴" * 3
    + "周" * 3
    + "徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅"
    "文博宇浩然子涵欣怡梓轩雨萱思远一诺晨曦嘉怡俊杰佳琪"
)
REGIONS = ("110101", "110105", "110108", "310104", "440305", "330106", "510107", "320102")
MOBILE_PREFIXES = ("138", "139", "137", "136", "135", "150", "151", "158", "186", "188", "177")

TAGS = (
    ("VIP", "#b45309"),
    ("正畸意向", "#7c3aed"),
    ("种植意向", "#0f766e"),
    ("儿童", "#db2777"),
    ("复诊提醒", "#2563eb"),
    ("洁牙会员", "#16a34a"),
)


@dataclass(frozen=True)
class StaffSeed:
    username: str
    name: str
    role: str
    clinic_index: int | None  # index into the organization's clinics; None: organization-wide


DEMO_STAFF = (
    StaffSeed("boss", "周总", "boss", None),
    StaffSeed("hq", "郑运营", "hq_operator", None),
    StaffSeed("marketing", "林市场", "marketing", None),
    StaffSeed("manager1", "吴店长", "clinic_manager", 0),
    StaffSeed("frontdesk", "王前台", "front_desk", 0),
    StaffSeed("doctor", "李医生", "doctor", 0),
    StaffSeed("nurse", "陈护士", "nurse", 0),
    StaffSeed("consultant", "赵咨询", "consultant", 0),
    StaffSeed("stock", "孙库管", "inventory_clerk", 0),
    StaffSeed("frontdesk2", "刘前台", "front_desk", 1),
    StaffSeed("doctor2", "杨医生", "doctor", 1),
    StaffSeed("frontdesk3", "黄前台", "front_desk", 2),
    StaffSeed("doctor3", "许医生", "doctor", 2),
)
DEMO_B_STAFF = (
    StaffSeed("boss-b", "钱院长", "boss", None),
    StaffSeed("frontdesk-b", "冯前台", "front_desk", 0),
    StaffSeed("doctor-b", "卫医生", "doctor", 0),
)


class PersonGenerator:
    """Plausible patients: names with their pinyin keys, unique mobiles, birth dates."""

    def __init__(self, seed: int, phone_block: int) -> None:
        self.random = random.Random(seed)
        self._phone_serial = phone_block * 10_000_000
        self._keys: dict[str, tuple[str, str]] = {}
        self._resident_ids: set[str] = set()

    def name(self) -> tuple[str, str, str]:
        r = self.random
        given = "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2, 2, 2))))
        surname = r.choice(SURNAMES)
        # Pinyin conversion is the slow part of a million rows; pieces repeat, so cache them.
        s_full, s_init = self._pinyin(surname)
        g_full, g_init = self._pinyin(given)
        return surname + given, s_full + g_full, s_init + g_init

    def _pinyin(self, text: str) -> tuple[str, str]:
        keys = self._keys.get(text)
        if keys is None:
            keys = self._keys[text] = pinyin_keys(text)
        return keys

    def mobile(self) -> str:
        self._phone_serial += 1
        prefix = MOBILE_PREFIXES[self._phone_serial % len(MOBILE_PREFIXES)]
        return f"{prefix}{self._phone_serial % 100_000_000:08d}"

    def birth_date(self, today: date) -> date:
        age_days = int(self.random.triangular(2, 85, 35) * 365.25)
        return today - timedelta(days=age_days)

    def resident_id(self, birth: date) -> str:
        """A valid number not issued before: an ID number is unique in an organization, and
        a million draws from region x birth date x sequence do collide now and then."""
        while True:
            number = make_resident_id(
                self.random.choice(REGIONS), birth, self.random.randrange(1000)
            )
            if number not in self._resident_ids:
                self._resident_ids.add(number)
                return number

    def moment_within(self, days: int, now: datetime | None = None) -> datetime:
        now = now or timezone.now()
        return now - timedelta(seconds=self.random.randrange(days * 86_400))
