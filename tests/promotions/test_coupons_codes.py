"""Coupon codes: random, in the printable alphabet, and a check character that catches
every single-character typo and every swap of two neighbouring characters."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chairside.promotions.codes import (
    ALPHABET,
    BODY_LENGTH,
    CODE_LENGTH,
    CodeProblem,
    check_character,
    code_format,
    code_generate,
    code_problem,
    is_valid,
    normalize,
)

bodies = st.text(alphabet=ALPHABET, min_size=BODY_LENGTH, max_size=BODY_LENGTH)


def _code(body: str) -> str:
    return body + check_character(body)


def test_codes_avoid_look_alikes_and_print_in_groups_of_four() -> None:
    assert not set("01OIL") & set(ALPHABET)
    code = code_generate()
    assert len(code) == CODE_LENGTH
    assert set(code) <= set(ALPHABET)
    printed = code_format(code)
    assert [len(group) for group in printed.split("-")] == [4, 4, 4, 4]
    assert normalize(printed.lower()) == code
    assert is_valid(f" {printed.lower()} ")


def test_generated_codes_differ() -> None:
    assert len({code_generate() for _ in range(2000)}) == 2000


@given(bodies, st.integers(min_value=0, max_value=CODE_LENGTH - 1), st.sampled_from(ALPHABET))
def test_every_single_character_typo_is_caught(body: str, position: int, wrong: str) -> None:
    code = _code(body)
    assert is_valid(code)
    if code[position] == wrong:
        return
    typo = code[:position] + wrong + code[position + 1 :]
    assert code_problem(typo) == CodeProblem.CHECK


@given(bodies, st.integers(min_value=0, max_value=CODE_LENGTH - 2))
def test_every_swap_of_neighbours_is_caught(body: str, position: int) -> None:
    code = _code(body)
    a, b = code[position], code[position + 1]
    if a == b:
        return
    swapped = code[:position] + b + a + code[position + 2 :]
    assert code_problem(swapped) == CodeProblem.CHECK


def test_malformed_input_is_told_apart_from_a_wrong_check() -> None:
    assert code_problem("ABCD") == CodeProblem.LENGTH
    assert code_problem("0" * CODE_LENGTH) == CodeProblem.CHARACTER
