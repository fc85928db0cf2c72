"""Pinyin search keys: what a front desk types to find a patient by name."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chairside.core.pinyin import pinyin_keys

_KEY = re.compile(r"^[a-z0-9]*$")

# Characters common in Chinese names, so generated names look like real ones.
_NAME_CHARS = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭明华建国丽英秀军伟芳娜敏静"
)


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("张三", "zhangsan", "zs"),
        ("王小明", "wangxiaoming", "wxm"),
        ("吕布", "lvbu", "lb"),  # ü is typed as v on Chinese keyboards
        ("Lily Wang", "lilywang", "lw"),
        ("张 Lily", "zhanglily", "zl"),
        ("  李四 ", "lisi", "ls"),
        ("", "", ""),
    ],
)
def test_keys_of_names(name: str, full: str, initials: str) -> None:
    assert pinyin_keys(name) == (full, initials)


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        # Surnames read differently from the everyday character
        ("曾小华", "zengxiaohua", "zxh"),
        ("单田芳", "shantianfang", "stf"),
        ("解晓东", "xiexiaodong", "xxd"),
        ("仇英", "qiuying", "qy"),
        ("区家伟", "oujiawei", "ojw"),
        ("朴志勇", "piaozhiyong", "pzy"),
        ("查良镛", "zhaliangyong", "zly"),
        ("翟天临", "zhaitianlin", "ztl"),
        ("覃海洋", "qinhaiyang", "qhy"),
        # Compound surnames keep their own reading
        ("单于飞", "chanyufei", "cyf"),
        ("长孙无忌", "zhangsunwuji", "zswj"),
    ],
)
def test_surnames_use_their_surname_reading(name: str, full: str, initials: str) -> None:
    assert pinyin_keys(name) == (full, initials)


@given(st.text(max_size=60))
def test_keys_are_lower_case_ascii_and_initials_are_never_longer(text: str) -> None:
    full, initials = pinyin_keys(text)

    assert _KEY.match(full), full
    assert _KEY.match(initials), initials
    assert len(initials) <= len(full)


@given(st.text(alphabet=_NAME_CHARS, min_size=1, max_size=6))
def test_chinese_names_have_one_initial_per_character(name: str) -> None:
    full, initials = pinyin_keys(name)

    assert len(initials) == len(name)
    assert full.startswith(initials[0])
    # Initials are a subsequence of the full pinyin, in order
    position = 0
    for letter in initials:
        position = full.index(letter, position) + 1
