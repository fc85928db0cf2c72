"""Checking a template's blocks and signers, and the values filled into a form: every
problem is named at once, in the clerk's words, at the block or field it is about."""

from __future__ import annotations

from typing import Any

import pytest

from chairside.core.errors import FieldErrors, ValidationFailed
from chairside.forms.blocks import clean_blocks, clean_data, clean_signers, fields_of

CHOICE = {
    "type": "field",
    "key": "smoking",
    "label": "吸烟",
    "kind": "choice",
    "options": ["不吸烟", "吸烟"],
}


def _errors(blocks: Any, signers: Any = ("patient",)) -> dict[str, list[str]]:
    errors = FieldErrors()
    roles = clean_signers(errors, list(signers))
    clean_blocks(errors, blocks, roles)
    return {name: [str(m) for m in found] for name, found in errors.fields.items()}


def test_a_good_template_is_normalized() -> None:
    errors = FieldErrors()
    blocks = clean_blocks(
        errors,
        [
            {"type": "heading", "text": "  标\x00题 "},
            {**CHOICE, "options": [" 不吸烟 ", "吸烟"], "required": True, "help": " 请选择 "},
            {
                "type": "field",
                "key": "sign",
                "label": "签名",
                "kind": "patient_signature",
                "required": True,
                "options": ["x"],
            },
        ],
        ["patient"],
    )

    assert errors.fields == {}
    assert blocks == [
        {"type": "heading", "text": "标题"},
        {**CHOICE, "required": True, "help": "请选择"},
        # A signature box is never "required" (it is signed) and has no options.
        {
            "type": "field",
            "key": "sign",
            "label": "签名",
            "kind": "patient_signature",
            "required": False,
        },
    ]


def test_an_unknown_placeholder_is_named_with_the_known_ones() -> None:
    errors = _errors([{"type": "paragraph", "text": "您好 {{patient.fullname}}"}])

    assert list(errors) == ["blocks.0.text"]
    assert "Unknown placeholder {{patient.fullname}}" in errors["blocks.0.text"][0]
    assert "{{patient.name}}" in errors["blocks.0.text"][0]


def test_a_placeholder_left_open_is_refused() -> None:
    errors = _errors([{"type": "paragraph", "text": "您好 {{patient.name"}])

    assert errors == {"blocks.0.text": ["Close every placeholder with }}: {{ is left open."]}


@pytest.mark.parametrize(
    ("field", "part", "message"),
    [
        ({**CHOICE, "options": []}, "options", "A single choice needs at least two options."),
        ({**CHOICE, "options": ["是"]}, "options", "A single choice needs at least two options."),
        (
            {**CHOICE, "kind": "multichoice", "options": []},
            "options",
            "A multiple choice needs at least one option.",
        ),
        ({**CHOICE, "options": ["是", "是"]}, "options", "Each option may appear only once."),
        (
            {**CHOICE, "options": ["是", " "]},
            "options",
            "An option is empty: give it a text or remove it.",
        ),
        ({**CHOICE, "key": "Smoking"}, "key", "Give the field a key of small Latin letters"),
        ({**CHOICE, "label": " "}, "label", "Give the field a label."),
        ({**CHOICE, "kind": "slider"}, "kind", "Choose the kind of field."),
    ],
)
def test_field_problems_are_named_at_their_part(
    field: dict[str, Any], part: str, message: str
) -> None:
    errors = _errors([{"type": "heading", "text": "问卷"}, field])

    assert list(errors) == [f"blocks.1.{part}"]
    assert errors[f"blocks.1.{part}"][0].startswith(message)


def test_duplicate_keys_are_refused_at_the_second_field() -> None:
    errors = _errors([CHOICE, {**CHOICE, "label": "吸烟（复核）"}])

    assert errors == {"blocks.1.key": ["Another field already has the key smoking."]}


def test_every_problem_is_reported_at_once() -> None:
    errors = _errors(
        [
            {"type": "table"},
            {"type": "paragraph", "text": ""},
            {**CHOICE, "options": []},
            {"type": "field", "key": "doc", "label": "医师签名", "kind": "doctor_signature"},
        ]
    )

    assert set(errors) == {"blocks.0.type", "blocks.1.text", "blocks.2.options", "blocks.3.kind"}
    assert errors["blocks.3.kind"] == [
        "Add the doctor to the signers, or remove this signature box."
    ]


def test_a_signature_box_appears_once_per_signer() -> None:
    sign = {"type": "field", "key": "s1", "label": "签名", "kind": "patient_signature"}

    errors = _errors([sign, {**sign, "key": "s2"}])

    assert errors == {"blocks.1.kind": ["The form has this signature box already."]}


@pytest.mark.parametrize(
    ("signers", "message"),
    [
        ([], "Choose who signs the form."),
        (["patient", "notary"], "Signers are the patient, the doctor and the clinic seal."),
        (["patient", "patient"], "Each signer may sign only once."),
    ],
)
def test_signers_are_checked(signers: list[str], message: str) -> None:
    assert _errors([{"type": "heading", "text": "标题"}], signers)["signers"] == [message]


def test_an_empty_body_is_refused() -> None:
    assert _errors([]) == {"blocks": ["Add at least one block: a heading, a paragraph or a field."]}


# --- values -------------------------------------------------------------------------------

BLOCKS: list[dict[str, Any]] = [
    {"type": "field", "key": "note", "label": "备注", "kind": "text", "required": False},
    {"type": "field", "key": "bp", "label": "收缩压", "kind": "number", "required": True},
    {"type": "field", "key": "last", "label": "上次看牙", "kind": "date", "required": False},
    {**CHOICE, "required": True},
    {
        "type": "field",
        "key": "habits",
        "label": "习惯",
        "kind": "multichoice",
        "options": ["夜磨牙", "紧咬牙", "牙线"],
        "required": False,
    },
    {"type": "field", "key": "ok", "label": "确认", "kind": "checkbox", "required": True},
    {
        "type": "field",
        "key": "sign",
        "label": "签名",
        "kind": "patient_signature",
        "required": False,
    },
]


def test_values_are_stored_by_kind() -> None:
    data = clean_data(
        BLOCKS,
        {
            "note": "  无 ",
            "bp": "120.50",
            "last": "2025-03-01",
            "smoking": "吸烟",
            "habits": ["牙线", "夜磨牙"],
            "ok": True,
        },
        complete=True,
    )

    assert data == {
        "note": "无",
        "bp": "120.5",
        "last": "2025-03-01",
        "smoking": "吸烟",
        "habits": ["夜磨牙", "牙线"],  # in the options' order
        "ok": True,
    }


def test_a_draft_may_leave_required_fields_empty_but_not_a_sent_form() -> None:
    assert clean_data(BLOCKS, {"note": "", "ok": False}, complete=False) == {"ok": False}
    with pytest.raises(ValidationFailed) as caught:
        clean_data(BLOCKS, {"ok": False}, complete=True)

    assert {k: [str(m) for m in v] for k, v in caught.value.fields.items()} == {
        "data.bp": ["This field is required."],
        "data.smoking": ["This field is required."],
        "data.ok": ["Tick this box."],
    }


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("bp", "一百二", "Enter a number."),
        ("bp", True, "Enter a number."),
        ("bp", "1e400", "Enter a number."),
        ("bp", "NaN", "Enter a number."),
        ("bp", "0.0000001", "Enter a number."),
        ("last", "2025-02-30", "Enter a date as YYYY-MM-DD."),
        ("last", "1850-01-01", "Enter a date as YYYY-MM-DD."),
        ("smoking", "偶尔", "Choose one of the options."),
        ("habits", ["夜磨牙", "咬指甲"], "Choose from the options."),
        ("habits", "夜磨牙", "Choose from the options."),
        ("ok", "yes", "Enter true or false."),
        ("note", 12, "Enter text."),
        ("note", "无\x00", "Remove the control characters from this text."),
        ("note", "长" * 2001, "This is too long (at most 2000 characters)."),
        ("sign", "张三", "A signature box is signed, not filled in."),
        ("allergy", "无", "This form has no field allergy."),
    ],
)
def test_wrong_values_are_refused_at_their_field(key: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        clean_data(BLOCKS, {key: value}, complete=False)

    assert {k: [str(m) for m in v] for k, v in caught.value.fields.items()} == {
        f"data.{key}": [message]
    }


def test_fields_of_reads_stored_blocks() -> None:
    fields = fields_of(BLOCKS)

    assert [f.key for f in fields] == ["note", "bp", "last", "smoking", "habits", "ok", "sign"]
    assert fields[-1].is_signature
    assert fields[-1].signer == "patient"
    assert fields[3].options == ("不吸烟", "吸烟")
