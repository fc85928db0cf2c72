"""A form as PDF (F2): A4, PDF/A-3b for archiving, Noto Sans CJK SC embedded, and one empty
box per signer whose place on the page esign needs for the visible signature.

WeasyPrint lays the HTML out once; each box is an element with an id, and the laid-out
page reports the element's border box in CSS px from the top left. PDF points are 3/4 of a
CSS px, and PDF's origin is the bottom left, so y is flipped against the page height.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from chairside.forms.blocks import Field, fields_of
from chairside.forms.models import FieldKind, FormInstance
from chairside.forms.placeholders import BLANK, chinese_date, fill

PT_PER_PX = 0.75
PDF_VARIANT = "pdf/a-3b"
CHECKED, UNCHECKED = "☑", "☐"
ROLE_LABELS = {
    "patient": "患者（或监护人）签名",
    "doctor": "医师签名",
    "seal": "医疗机构（盖章）",
}


@dataclass(frozen=True)
class RenderedForm:
    pdf: bytes
    # role -> (0-based page, [x1, y1, x2, y2] in PDF points, origin bottom left)
    signature_boxes: dict[str, tuple[int, list[float]]]
    pages: int


def signature_field_name(role: str) -> str:
    """The PDF signature field of a signer's box (esign's SignerSlot.field_name)."""
    return f"sig_{role}"


def anchor_id(role: str) -> str:
    return f"signature-{role}"


def _option_marks(field: Field, value: Any) -> list[dict[str, str]]:
    picked = value if isinstance(value, list) else [value]
    return [{"mark": CHECKED if o in picked else UNCHECKED, "text": o} for o in field.options]


def _shown_value(field: Field, value: Any) -> str:
    if value is None or value == "":
        return ""
    if field.kind == FieldKind.DATE:
        return chinese_date(date.fromisoformat(value))
    return str(value)


def _signature(role: str, label: str) -> dict[str, Any]:
    return {"type": "signature", "role": role, "label": label, "anchor": anchor_id(role)}


def form_items(instance: FormInstance) -> list[dict[str, Any]]:
    """The blocks as the PDF prints them: placeholders filled from the frozen context, each
    field with its value, a signature box where the template puts one and, at the end, the
    boxes of signers the template did not place."""
    version = instance.version
    context = instance.context or {}
    data = instance.data or {}
    fields = {f.key: f for f in fields_of(version.blocks)}
    items: list[dict[str, Any]] = []
    placed: set[str] = set()
    for block in version.blocks:
        if block["type"] != "field":
            items.append({"type": block["type"], "text": fill(block["text"], context)})
            continue
        field = fields[block["key"]]
        label = fill(field.label, context)
        role = field.signer
        if role:
            if role in version.signers and role not in placed:
                items.append(_signature(role, label))
                placed.add(role)
            continue
        value = data.get(field.key)
        item: dict[str, Any] = {
            "type": "field",
            "kind": field.kind,
            "label": label,
            "required": field.required,
            "value": _shown_value(field, value),
        }
        if field.kind in (FieldKind.CHOICE, FieldKind.MULTICHOICE):
            item["options"] = _option_marks(field, value)
        if field.kind == FieldKind.CHECKBOX:
            item["mark"] = CHECKED if value is True else UNCHECKED
        items.append(item)
    return _group_signatures(items, [r for r in version.signers if r not in placed])


def _group_signatures(items: list[dict[str, Any]], rest: list[str]) -> list[dict[str, Any]]:
    """Consecutive signature boxes become one group; signers the template did not place
    sign beside the last group (the seal next to the patient's and doctor's signatures),
    or in a group at the end."""
    grouped: list[dict[str, Any]] = []
    for item in items:
        if item["type"] == "signature":
            if grouped and grouped[-1]["type"] == "signatures":
                grouped[-1]["boxes"].append(item)
            else:
                grouped.append({"type": "signatures", "boxes": [item], "beside": []})
        else:
            grouped.append(item)
    unplaced = [_signature(r, ROLE_LABELS.get(r, r)) for r in rest]
    last = next((i for i in reversed(grouped) if i["type"] == "signatures"), None)
    if unplaced and last is not None:
        last["beside"] = unplaced
    elif unplaced:
        grouped.append({"type": "signatures", "boxes": unplaced, "beside": []})
    return grouped


def instance_html(
    instance: FormInstance, *, preview: bool = False, document_number: str = ""
) -> str:
    version = instance.version
    clinic = instance.clinic
    with translation.override("zh-hans"):
        return render_to_string(
            "forms/pdf.html",
            {
                "title": version.title,
                "clinic": clinic,
                "items": form_items(instance),
                "form_number": f"F{instance.pk:08d}",
                "document_number": document_number,
                "version": version.number,
                "preview": preview,
                "blank": BLANK,
            },
        )


def _boxes(document: Any) -> dict[str, tuple[int, list[float]]]:
    boxes: dict[str, tuple[int, list[float]]] = {}
    for index, page in enumerate(document.pages):
        height_pt = page.height * PT_PER_PX
        for name, position in page.anchors.items():
            if not name.startswith("signature-"):
                continue
            x1, y1, x2, y2 = position
            boxes[name.removeprefix("signature-")] = (
                index,
                [
                    round(x1 * PT_PER_PX, 2),
                    round(height_pt - y2 * PT_PER_PX, 2),
                    round(x2 * PT_PER_PX, 2),
                    round(height_pt - y1 * PT_PER_PX, 2),
                ],
            )
    return boxes


def render_instance_pdf(
    instance: FormInstance, *, preview: bool = False, document_number: str = ""
) -> RenderedForm:
    """The form as a PDF/A-3b file with the place of each signer's box.

    `preview` marks a draft's rendering as not for signing; `document_number` is the signed
    document's number printed at the top (blank on paper printed before sending)."""
    # Imported here: WeasyPrint loads Pango and fonts, which only PDF requests need.
    from weasyprint import HTML

    html = instance_html(instance, preview=preview, document_number=document_number)
    document = HTML(string=html).render()
    boxes = _boxes(document)
    missing = [r for r in instance.version.signers if r not in boxes]
    if missing:  # pragma: no cover - every signer gets a box in form_items
        raise RuntimeError(f"no signature box laid out for {missing}")
    pdf: bytes = document.write_pdf(pdf_variant=PDF_VARIANT)
    return RenderedForm(pdf=pdf, signature_boxes=boxes, pages=len(document.pages))


def pdf_filename(instance: FormInstance) -> str:
    return f"form-{instance.pk}.pdf"
