"""FDI tooth numbers, tooth sets (bridges need contiguous ones) and their model field."""

from __future__ import annotations

from itertools import product

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from chairside.core.errors import ErrorCode, ValidationFailed
from chairside.core.teeth import PERMANENT_TEETH, PRIMARY_TEETH, Tooth, ToothSet, ToothSetField

# Written out independently of the module: quadrants 1-4 hold 8 teeth, 5-8 hold 5.
VALID_CODES = sorted(
    [q * 10 + p for q in range(1, 5) for p in range(1, 9)]
    + [q * 10 + p for q in range(5, 9) for p in range(1, 6)]
)
ALL_TEETH = [Tooth(c) for c in VALID_CODES]

codes = st.sampled_from(VALID_CODES)
tooth_sets = st.lists(codes, max_size=10).map(ToothSet)


def _assert_invalid_tooth(caught: pytest.ExceptionInfo[ValidationFailed]) -> None:
    assert caught.value.code == ErrorCode.INVALID_TOOTH


# --- Tooth ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", range(-5, 105))
def test_exactly_the_fdi_codes_are_teeth(code: int) -> None:
    if code in VALID_CODES:
        assert Tooth(code).code == code
    else:
        with pytest.raises(ValidationFailed) as caught:
            Tooth(code)
        _assert_invalid_tooth(caught)


@pytest.mark.parametrize("code", VALID_CODES)
def test_parse_and_str_round_trip(code: int) -> None:
    # when
    tooth = Tooth.parse(str(code))
    # then
    assert tooth == Tooth(code)
    assert str(tooth) == str(code)
    assert Tooth.parse(f" {tooth} ") == tooth


@pytest.mark.parametrize(
    "text", ["", "1", "111", "19", "09", "56", "90", "ab", "1a", "+11", "１１"]
)
def test_parse_rejects_non_teeth(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        Tooth.parse(text)
    _assert_invalid_tooth(caught)


def test_the_dentitions_are_complete() -> None:
    assert len(PERMANENT_TEETH) == 32
    assert len(PRIMARY_TEETH) == 20
    assert sorted(PERMANENT_TEETH + PRIMARY_TEETH) == ALL_TEETH
    assert not any(t.is_primary for t in PERMANENT_TEETH)
    assert all(t.is_primary for t in PRIMARY_TEETH)


@pytest.mark.parametrize(
    ("code", "quadrant", "position", "primary", "upper", "left"),
    [
        (11, 1, 1, False, True, False),
        (18, 1, 8, False, True, False),
        (21, 2, 1, False, True, True),
        (38, 3, 8, False, False, True),
        (46, 4, 6, False, False, False),
        (55, 5, 5, True, True, False),
        (65, 6, 5, True, True, True),
        (71, 7, 1, True, False, True),
        (84, 8, 4, True, False, False),
    ],
)
def test_tooth_properties(
    code: int, quadrant: int, position: int, primary: bool, upper: bool, left: bool
) -> None:
    tooth = Tooth(code)
    assert (tooth.quadrant, tooth.position) == (quadrant, position)
    assert tooth.is_primary is primary
    assert tooth.is_upper is upper
    assert tooth.is_left is left


def test_teeth_sort_by_code() -> None:
    assert sorted([Tooth(21), Tooth(11), Tooth(18)]) == [Tooth(11), Tooth(18), Tooth(21)]


# --- adjacency --------------------------------------------------------------------------


def test_adjacency_is_symmetric_and_stays_in_one_jaw_and_dentition() -> None:
    for a, b in product(ALL_TEETH, repeat=2):
        if a.is_adjacent(b):
            assert b.is_adjacent(a), (a, b)
            assert a.is_upper == b.is_upper, (a, b)
            assert a.is_primary == b.is_primary, (a, b)
            assert a != b


def test_adjacency_counts_every_contact_in_both_arches() -> None:
    # 7 contacts inside each permanent quadrant and 4 inside each primary one,
    # plus one midline contact per jaw per dentition.
    pairs = {frozenset({a, b}) for a, b in product(ALL_TEETH, repeat=2) if a.is_adjacent(b)}
    assert len(pairs) == 4 * 7 + 2 + 4 * 4 + 2


@pytest.mark.parametrize(("a", "b"), [(11, 12), (17, 18), (11, 21), (41, 31), (51, 61), (81, 71)])
def test_touching_teeth_are_adjacent(a: int, b: int) -> None:
    assert Tooth(a).is_adjacent(Tooth(b))


@pytest.mark.parametrize(
    ("a", "b"),
    [(11, 11), (11, 13), (18, 28), (12, 22), (11, 41), (21, 31), (11, 51), (18, 21), (55, 16)],
)
def test_non_touching_teeth_are_not_adjacent(a: int, b: int) -> None:
    assert not Tooth(a).is_adjacent(Tooth(b))


# --- ToothSet ---------------------------------------------------------------------------


def test_parse_accepts_commas_spaces_and_chinese_punctuation() -> None:
    # when
    teeth = ToothSet.parse(" 21，12 11,12、 ")
    # then duplicates collapse and the order is canonical
    assert teeth.codes == (11, 12, 21)
    assert str(teeth) == "11,12,21"
    assert teeth == ToothSet([Tooth(21), 11, "12"])


@pytest.mark.parametrize("text", ["11,19", "11 abc", "11;;x", "1", "11,,111"])
def test_parse_rejects_any_bad_token(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        ToothSet.parse(text)
    _assert_invalid_tooth(caught)


def test_the_empty_set() -> None:
    empty = ToothSet.parse("  ")
    assert empty == ToothSet()
    assert str(empty) == ""
    assert len(empty) == 0
    assert not empty
    assert empty.quadrants == ()


@given(tooth_sets)
def test_tooth_set_text_round_trips(teeth: ToothSet) -> None:
    # when
    text = str(teeth)
    # then
    assert ToothSet.parse(text) == teeth
    assert list(teeth) == sorted(teeth)
    assert len(teeth) == len(set(teeth))
    assert teeth.codes == tuple(t.code for t in teeth)


@given(st.lists(codes, max_size=10))
def test_sets_ignore_input_order_and_duplicates(items: list[int]) -> None:
    forward, backward = ToothSet(items), ToothSet(reversed(items + items))
    assert forward == backward
    assert hash(forward) == hash(backward)
    assert len({forward, backward}) == 1


@given(tooth_sets, tooth_sets)
def test_union_and_membership(a: ToothSet, b: ToothSet) -> None:
    both = a.union(b)
    assert set(both) == set(a) | set(b)
    for tooth in ALL_TEETH:
        assert (tooth in both) == (tooth in a or tooth in b)
        assert (tooth.code in both) == (tooth in both)


def test_membership_of_other_things_is_false() -> None:
    teeth = ToothSet.parse("11")
    assert "11" not in teeth
    assert True not in teeth
    assert 99 not in teeth


def test_quadrants() -> None:
    assert ToothSet.parse("48 11 12 21 47").quadrants == (1, 2, 4)


def test_tooth_set_is_immutable() -> None:
    teeth = ToothSet.parse("11")
    with pytest.raises(AttributeError):
        teeth.teeth = ()  # type: ignore[misc]


# --- contiguity -------------------------------------------------------------------------


@st.composite
def runs_in_one_quadrant(draw: st.DrawFn) -> tuple[int, int, int]:
    quadrant = draw(st.integers(min_value=1, max_value=8))
    size = 8 if quadrant <= 4 else 5
    start = draw(st.integers(min_value=1, max_value=size))
    end = draw(st.integers(min_value=start, max_value=size))
    return quadrant, start, end


@given(runs_in_one_quadrant())
def test_a_run_in_one_quadrant_is_contiguous_and_a_gap_breaks_it(
    run: tuple[int, int, int],
) -> None:
    # given
    quadrant, start, end = run
    teeth = ToothSet(quadrant * 10 + p for p in range(start, end + 1))
    # then
    assert teeth.is_contiguous()
    # when an inner tooth is taken out
    for gap in range(start + 1, end):
        broken = ToothSet(t for t in teeth if t.position != gap)
        # then
        assert not broken.is_contiguous()


@given(st.integers(min_value=1, max_value=4), st.integers(min_value=2, max_value=8))
def test_a_run_across_the_midline_is_contiguous(jaw_index: int, reach: int) -> None:
    # given two quadrants of one jaw and one dentition meeting at the midline
    right, left = [(1, 2), (4, 3), (5, 6), (8, 7)][jaw_index - 1]
    reach = min(reach, 8 if right <= 4 else 5)
    teeth = ToothSet([right * 10 + p for p in range(1, reach + 1)] + [left * 10 + 1])
    # then
    assert teeth.is_contiguous()
    # but losing a central incisor splits it
    assert not ToothSet(t for t in teeth if t.code != right * 10 + 1).is_contiguous()


@pytest.mark.parametrize(
    ("text", "contiguous"),
    [
        ("11,21", True),
        ("13,12,11,21,22,23", True),
        ("11", True),
        ("85", True),
        ("", False),
        ("18,28", False),
        ("11,41", False),
        ("21,31", False),
        ("11,13", False),
        ("51,11", False),
        ("14,15,16, 24", False),
    ],
)
def test_contiguity_examples(text: str, contiguous: bool) -> None:
    assert ToothSet.parse(text).is_contiguous() is contiguous


# --- ToothSetField ----------------------------------------------------------------------


def test_field_deconstructs_to_an_equivalent_field() -> None:
    # given
    field = ToothSetField(blank=True)
    field.set_attributes_from_name("teeth")
    # when
    name, path, args, kwargs = field.deconstruct()
    rebuilt = ToothSetField(*args, **kwargs)
    # then
    assert (name, path) == ("teeth", "chairside.core.teeth.ToothSetField")
    assert rebuilt.max_length == 200
    assert rebuilt.blank is True
    assert ToothSetField(max_length=50).deconstruct()[3]["max_length"] == 50


def test_field_converts_between_text_and_tooth_sets() -> None:
    field = ToothSetField()
    teeth = ToothSet.parse("11,12")
    assert field.from_db_value("12,11", None, None) == teeth
    assert field.from_db_value("", None, None) == ToothSet()
    assert field.from_db_value(None, None, None) is None
    assert field.to_python("12 11") == teeth
    assert field.to_python(teeth) is teeth
    assert field.to_python([12, 11]) == teeth
    assert field.get_prep_value(teeth) == "11,12"
    assert field.get_prep_value("12，11") == "11,12"
    assert field.get_prep_value(ToothSet()) == ""
    assert field.get_prep_value(None) is None


def test_field_reports_bad_teeth_as_django_validation_errors() -> None:
    with pytest.raises(ValidationError) as caught:
        ToothSetField().to_python("11,99")
    assert caught.value.code == ErrorCode.INVALID_TOOTH
