"""The body of a form template (its blocks and signers) and the values filled into a form:
checked and normalized here, with every problem reported at once in the clerk's words.

Blocks, in order:
  {"type": "heading", "text": "..."}
  {"type": "paragraph", "text": "... {{patient.name}} ..."}
  {"type": "field", "key": "allergy", "label": "...", "kind": FieldKind, "required": bool,
   "options": ["..."] (choice and multichoice only), "help": "..."}
A patient or doctor signature field marks where that signer's box is printed; signers
without one sign in the boxes at the end of the form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from chairside.core.errors import FieldErrors
from chairside.core.schemas import is_control_character
from chairside.forms.models import FieldKind
from chairside.forms.placeholders import PLACEHOLDERS, placeholder_problems

MAX_BLOCKS = 200
MAX_HEADING = 200
MAX_PARAGRAPH = 5000
MAX_LABEL = 200
MAX_HELP = 200
MAX_OPTIONS = 50
MAX_OPTION = 100
MAX_TEXT_VALUE = 2000
MAX_NUMBER_DIGITS = 15
MAX_DECIMALS = 6
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SIGNER_ROLES = ("patient", "doctor", "seal")
SIGNATURE_KINDS = {
    FieldKind.PATIENT_SIGNATURE: "patient",
    FieldKind.DOCTOR_SIGNATURE: "doctor",
}
CHOICE_KINDS = (FieldKind.CHOICE, FieldKind.MULTICHOICE)
BLOCK_TYPES = ("heading", "paragraph", "field")


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str
    required: bool
    options: tuple[str, ...] = ()
    help: str = ""

    @property
    def is_signature(self) -> bool:
        return self.kind in SIGNATURE_KINDS

    @property
    def signer(self) -> str:
        """The role signing in this field's box ("" for fields that are filled in)."""
        return SIGNATURE_KINDS.get(self.kind, "")  # type: ignore[call-overload]


def fields_of(blocks: list[dict[str, Any]]) -> list[Field]:
    """The fields of stored (already checked) blocks, in order."""
    return [
        Field(
            key=b["key"],
            label=b["label"],
            kind=b["kind"],
            required=bool(b.get("required")),
            options=tuple(b.get("options") or ()),
            help=b.get("help", ""),
        )
        for b in blocks
        if b.get("type") == "field"
    ]


def data_fields(blocks: list[dict[str, Any]]) -> list[Field]:
    """The fields someone fills in (signature boxes are signed, not filled)."""
    return [f for f in fields_of(blocks) if not f.is_signature]


# --- checking a template ------------------------------------------------------------------


def _text(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    # NUL and lone surrogates cannot be stored (PostgreSQL) nor printed: never content.
    return "".join(ch for ch in value if not is_control_character(ch)).strip()


def _check_placeholders(errors: FieldErrors, name: str, text: str) -> None:
    for problem in placeholder_problems(text):
        if problem.unclosed:
            errors.add(
                name,
                _("Close every placeholder with }}: %(text)s is left open.")
                % {"text": problem.text},
            )
        else:
            errors.add(
                name,
                _("Unknown placeholder %(placeholder)s. Use one of: %(known)s.")
                % {
                    "placeholder": problem.text,
                    "known": ", ".join("{{" + k + "}}" for k in PLACEHOLDERS),
                },
            )


def _clean_options(errors: FieldErrors, name: str, kind: str, raw: Any) -> list[str]:
    options = [_text(o) for o in raw] if isinstance(raw, list) else []
    if any(not o for o in options):
        errors.add(name, _("An option is empty: give it a text or remove it."))
    options = [o for o in options if o]
    least = 2 if kind == FieldKind.CHOICE else 1
    if len(options) < least:
        errors.add(
            name,
            _("A single choice needs at least two options.")
            if kind == FieldKind.CHOICE
            else _("A multiple choice needs at least one option."),
        )
    if len(set(options)) != len(options):
        errors.add(name, _("Each option may appear only once."))
    if len(options) > MAX_OPTIONS:
        errors.add(name, _("At most %(count)d options.") % {"count": MAX_OPTIONS})
    if any(len(o) > MAX_OPTION for o in options):
        errors.add(
            name, _("An option is too long (at most %(count)d characters).") % {"count": MAX_OPTION}
        )
    return options


def _clean_field(
    errors: FieldErrors, at: str, block: dict[str, Any], keys: set[str]
) -> dict[str, Any]:
    key = _text(block.get("key"))
    label = _text(block.get("label"))
    kind = block.get("kind")
    if not KEY.match(key):
        errors.add(
            f"{at}.key",
            _(
                "Give the field a key of small Latin letters, digits and _, starting with a "
                "letter (e.g. allergy_drugs)."
            ),
        )
    elif key in keys:
        errors.add(f"{at}.key", _("Another field already has the key %(key)s.") % {"key": key})
    keys.add(key)
    if not label:
        errors.add(f"{at}.label", _("Give the field a label."))
    elif len(label) > MAX_LABEL:
        errors.add(
            f"{at}.label",
            _("The label is too long (at most %(count)d characters).") % {"count": MAX_LABEL},
        )
    _check_placeholders(errors, f"{at}.label", label)
    if kind not in FieldKind.values:
        errors.add(f"{at}.kind", _("Choose the kind of field."))
    help_text = _text(block.get("help"))[:MAX_HELP]
    cleaned: dict[str, Any] = {
        "type": "field",
        "key": key,
        "label": label,
        "kind": kind,
        "required": bool(block.get("required")) and kind not in SIGNATURE_KINDS,
    }
    if kind in CHOICE_KINDS:
        cleaned["options"] = _clean_options(errors, f"{at}.options", kind, block.get("options"))
    if help_text:
        cleaned["help"] = help_text
    return cleaned


def clean_signers(errors: FieldErrors, signers: Any) -> list[str]:
    roles = [s for s in signers if isinstance(s, str)] if isinstance(signers, list) else []
    if not roles:
        errors.add("signers", _("Choose who signs the form."))
    elif any(r not in SIGNER_ROLES for r in roles):
        errors.add("signers", _("Signers are the patient, the doctor and the clinic seal."))
    elif len(set(roles)) != len(roles):
        errors.add("signers", _("Each signer may sign only once."))
    return roles


def clean_blocks(errors: FieldErrors, blocks: Any, signers: list[str]) -> list[dict[str, Any]]:
    """The blocks as stored; problems are added to `errors` under "blocks.<index>.<part>"."""
    if not isinstance(blocks, list) or not blocks:
        errors.add("blocks", _("Add at least one block: a heading, a paragraph or a field."))
        return []
    if len(blocks) > MAX_BLOCKS:
        errors.add("blocks", _("At most %(count)d blocks.") % {"count": MAX_BLOCKS})
        return []
    cleaned: list[dict[str, Any]] = []
    keys: set[str] = set()
    signature_roles: set[str] = set()
    for index, block in enumerate(blocks):
        at = f"blocks.{index}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES:
            errors.add(f"{at}.type", _("A block is a heading, a paragraph or a field."))
            continue
        assert isinstance(block, dict)
        if kind == "field":
            field = _clean_field(errors, at, block, keys)
            role = SIGNATURE_KINDS.get(field["kind"])
            if role is not None:
                if role in signature_roles:
                    errors.add(f"{at}.kind", _("The form has this signature box already."))
                elif role not in signers:
                    errors.add(
                        f"{at}.kind",
                        _("Add the %(signer)s to the signers, or remove this signature box.")
                        % {"signer": signer_label(role)},
                    )
                signature_roles.add(role)
            cleaned.append(field)
            continue
        text = _text(block.get("text"))
        limit = MAX_HEADING if kind == "heading" else MAX_PARAGRAPH
        if not text:
            errors.add(f"{at}.text", _("Write the text, or remove the empty block."))
        elif len(text) > limit:
            errors.add(
                f"{at}.text",
                _("The text is too long (at most %(count)d characters).") % {"count": limit},
            )
        _check_placeholders(errors, f"{at}.text", text)
        cleaned.append({"type": kind, "text": text})
    return cleaned


def signer_label(role: str) -> str:
    return {
        "patient": _("patient"),
        "doctor": _("doctor"),
        "seal": _("clinic seal"),
    }.get(role, role)


# --- checking filled-in values ------------------------------------------------------------


def _number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    exponent = number.as_tuple().exponent
    digits = len(number.as_tuple().digits)
    if digits > MAX_NUMBER_DIGITS or number.adjusted() >= MAX_NUMBER_DIGITS:
        return None
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        return None
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _date(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return None
    if not 1900 <= day.year <= 2100:
        return None
    return day.isoformat()


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


def clean_value(errors: FieldErrors, field: Field, value: Any) -> Any:
    """The value as stored, or None when empty or refused (the refusal is in `errors`)."""
    name = f"data.{field.key}"
    if _is_empty(value) and field.kind != FieldKind.CHECKBOX:
        return None
    kind = field.kind
    if kind == FieldKind.TEXT:
        if not isinstance(value, str):
            errors.add(name, _("Enter text."))
            return None
        text = value.strip()
        if any(is_control_character(ch) for ch in text):
            errors.add(name, _("Remove the control characters from this text."))
            return None
        if len(text) > MAX_TEXT_VALUE:
            errors.add(
                name,
                _("This is too long (at most %(limit)d characters).") % {"limit": MAX_TEXT_VALUE},
            )
            return None
        return text or None
    if kind == FieldKind.NUMBER:
        number = _number(value)
        if number is None:
            errors.add(name, _("Enter a number."))
        return number
    if kind == FieldKind.DATE:
        day = _date(value)
        if day is None:
            errors.add(name, _("Enter a date as YYYY-MM-DD."))
        return day
    if kind == FieldKind.CHOICE:
        if value not in field.options:
            errors.add(name, _("Choose one of the options."))
            return None
        return value
    if kind == FieldKind.MULTICHOICE:
        picked = value if isinstance(value, list) else None
        if picked is None or any(v not in field.options for v in picked):
            errors.add(name, _("Choose from the options."))
            return None
        return [o for o in field.options if o in picked] or None
    if kind == FieldKind.CHECKBOX:
        if value is None:
            return False
        if not isinstance(value, bool):
            errors.add(name, _("Enter true or false."))
            return None
        return value
    errors.add(name, _("A signature box is signed, not filled in."))
    return None


def clean_data(blocks: list[dict[str, Any]], data: Any, *, complete: bool) -> dict[str, Any]:
    """The values of a form, by field key; with `complete`, required fields must be filled
    (a required checkbox ticked). Raises ValidationFailed naming every problem."""
    errors = FieldErrors()
    if not isinstance(data, dict):
        errors.add("data", _("Enter the values as an object, by field key."))
        errors.raise_if_any()
    fields = {f.key: f for f in fields_of(blocks)}
    cleaned: dict[str, Any] = {}
    for key, value in data.items():
        field = fields.get(key)
        if field is None:
            errors.add(f"data.{key}", _("This form has no field %(key)s.") % {"key": key})
            continue
        stored = clean_value(errors, field, value)
        if stored is not None:
            cleaned[key] = stored
    if complete:
        for field in fields.values():
            name = f"data.{field.key}"
            if field.required and _is_empty(cleaned.get(field.key)) and name not in errors.fields:
                errors.add(
                    name,
                    _("Tick this box.")
                    if field.kind == FieldKind.CHECKBOX
                    else _("This field is required."),
                )
    errors.raise_if_any()
    return cleaned


def missing_required(blocks: list[dict[str, Any]], data: dict[str, Any]) -> list[Field]:
    """The required fields `data` leaves empty."""
    return [f for f in data_fields(blocks) if f.required and _is_empty(data.get(f.key))]
