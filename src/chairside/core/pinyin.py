"""Search keys for Chinese names: full pinyin ("zhangsan") and initials ("zs")."""

from __future__ import annotations

import re

from pypinyin import Style, lazy_pinyin

_NOT_KEY = re.compile(r"[^a-z0-9]")

# pypinyin reads a character as an everyday word; as a surname some read differently
# (曾 is "zeng", not "ceng"), and a clerk types the surname reading. Compound surnames that
# start with one of these characters are listed so they keep their own reading.
_SURNAME_READINGS: dict[str, list[str]] = {
    "单于": ["chan", "yu"],
    "曾": ["zeng"],
    "单": ["shan"],
    "解": ["xie"],
    "仇": ["qiu"],
    "区": ["ou"],
    "朴": ["piao"],
    "查": ["zha"],
    "盖": ["ge"],
    "缪": ["miao"],
    "覃": ["qin"],
    "翟": ["zhai"],
    "乐": ["yue"],
    "种": ["chong"],
    "繁": ["po"],
    "秘": ["bi"],
    "薄": ["bo"],
    "卜": ["bu"],
    "阚": ["kan"],
    "隗": ["wei"],
    "员": ["yun"],
    "召": ["shao"],
    "都": ["du"],
    "折": ["she"],
    "佴": ["nai"],
    "粘": ["nian"],
    "藏": ["zang"],
}


def _syllables(text: str) -> list[str]:
    return lazy_pinyin(text, style=Style.NORMAL, errors="default")


def pinyin_keys(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of `text`, lower-case ASCII; Latin letters pass through."""
    text = text.strip()
    surname = next((s for s in (text[:2], text[:1]) if s and s in _SURNAME_READINGS), "")
    syllables = [*_SURNAME_READINGS.get(surname, []), *_syllables(text[len(surname) :])]
    # Latin names ("Lily Wang") come back as one chunk with spaces: split them into words.
    words = [w for s in syllables for w in s.lower().split()]
    full = _NOT_KEY.sub("", "".join(words))
    initials = _NOT_KEY.sub("", "".join(w[0] for w in words if w and w[0].isalnum()))
    return full, initials
