"""Interval arithmetic behind working hours and free slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chairside.scheduling.availability import Interval, merge, subtract

BASE = datetime(2026, 9, 14, tzinfo=UTC)


def span(start: int, end: int) -> Interval:
    return Interval(BASE + timedelta(minutes=start), BASE + timedelta(minutes=end))


def test_merge_joins_overlapping_and_touching_intervals() -> None:
    assert merge([span(60, 90), span(0, 30), span(30, 45), span(80, 120)]) == [
        span(0, 45),
        span(60, 120),
    ]


def test_subtract_cuts_holes_and_ends() -> None:
    assert subtract([span(0, 180)], [span(30, 60), span(150, 200)]) == [
        span(0, 30),
        span(60, 150),
    ]
    assert subtract([span(0, 60)], [span(0, 60)]) == []
    assert subtract([span(0, 60)], [span(60, 90)]) == [span(0, 60)]


_spans = st.lists(
    st.tuples(st.integers(0, 1440), st.integers(1, 240)).map(lambda t: span(t[0], t[0] + t[1])),
    max_size=8,
)


@given(_spans, _spans)
def test_what_is_left_is_inside_the_whole_and_outside_every_cut(
    whole: list[Interval], cuts: list[Interval]
) -> None:
    left = subtract(whole, cuts)

    for minute in range(0, 1700, 5):
        t = BASE + timedelta(minutes=minute)
        inside = any(i.start <= t < i.end for i in whole)
        cut = any(c.start <= t < c.end for c in cuts)
        assert any(i.start <= t < i.end for i in left) == (inside and not cut)
