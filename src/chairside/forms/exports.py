"""Form data out (F6): one table per template across its versions (a column per field key,
headed by the field's latest label, plus record number, date and status) as Excel or CSV,
and simple statistics per field.

CSV is UTF-8 with a byte-order mark, which is what makes Excel on Windows open Chinese
text correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from chairside.core.clock import local
from chairside.forms.blocks import Field, data_fields
from chairside.forms.models import FieldKind, FormInstance, FormTemplate, FormTemplateVersion
from chairside.forms.selectors.instances import instances_for_export

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
BOM = "\ufeff"
MEAN_PLACES = Decimal("0.01")


def template_fields(template: FormTemplate) -> list[Field]:
    """Every filled-in field any version of the template had, by key: the newest version's
    order and labels first, then keys only older versions had."""
    seen: dict[str, Field] = {}
    versions = FormTemplateVersion.objects.filter(template=template).order_by("-number")
    for blocks in versions.values_list("blocks", flat=True):
        for f in data_fields(blocks):
            seen.setdefault(f.key, f)
    return list(seen.values())


@dataclass(frozen=True)
class ExportTable:
    headers: list[str]
    rows: list[list[Any]]


def _cell(f: Field, value: Any) -> Any:
    if value is None:
        return None
    if f.kind == FieldKind.MULTICHOICE and isinstance(value, list):
        return "、".join(str(v) for v in value)
    if f.kind == FieldKind.CHECKBOX:
        return _("Yes") if value is True else _("No")
    if f.kind == FieldKind.NUMBER:
        try:
            return Decimal(str(value))
        except ArithmeticError:
            return str(value)
    if f.kind == FieldKind.DATE:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            return str(value)
    return value


def export_table(template: FormTemplate) -> ExportTable:
    fields = template_fields(template)
    headers = [_("Record number"), _("Date"), _("Status"), _("Version")] + [f.label for f in fields]
    statuses = dict(FormInstance.Status.choices)
    rows = []
    for instance in instances_for_export(template):
        made = local(instance.created_at, instance.clinic).date()
        rows.append(
            [
                instance.patient.record_no,
                made,
                str(statuses.get(instance.status, instance.status)),
                instance.version.number,
                *(_cell(f, instance.data.get(f.key)) for f in fields),
            ]
        )
    return ExportTable(headers=headers, rows=rows)


def export_xlsx(template: FormTemplate) -> bytes:
    table = export_table(template)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = template.name[:31] or "forms"
    sheet.append(table.headers)
    for row in table.rows:
        sheet.append(row)
    for index, header in enumerate(table.headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(40, max(10, len(header) * 2))
        if index == 2:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=2, max_col=2):
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def export_csv(template: FormTemplate) -> bytes:
    table = export_table(template)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([_csv_text(v) for v in row])
    return (BOM + buffer.getvalue()).encode("utf-8")


def export_filename(template: FormTemplate, extension: str) -> str:
    return f"forms-{template.code}.{extension}"


# --- statistics ---------------------------------------------------------------------------


@dataclass
class OptionCount:
    option: str
    count: int
    share: float  # 0..1 of the forms that answered the field


@dataclass
class FieldStats:
    key: str
    label: str
    kind: str
    answered: int  # forms with a value (a checkbox: ticked or not)
    options: list[OptionCount] = field(default_factory=list)  # choices
    yes: int | None = None  # checkbox: ticked
    minimum: Decimal | None = None  # number
    maximum: Decimal | None = None
    mean: Decimal | None = None


@dataclass
class TemplateStats:
    forms: int  # forms counted (void ones are not)
    fields: list[FieldStats]


def _numbers(values: Iterable[Any]) -> list[Decimal]:
    numbers = []
    for value in values:
        try:
            numbers.append(Decimal(str(value)))
        except ArithmeticError:
            continue
    return numbers


def _field_stats(f: Field, values: list[Any]) -> FieldStats:
    present = [v for v in values if v is not None and v not in ("", [])]
    stats = FieldStats(key=f.key, label=f.label, kind=f.kind, answered=len(present))
    if f.kind in (FieldKind.CHOICE, FieldKind.MULTICHOICE):
        counts: dict[str, int] = dict.fromkeys(f.options, 0)
        for value in present:
            for picked in value if isinstance(value, list) else [value]:
                counts[str(picked)] = counts.get(str(picked), 0) + 1
        stats.options = [
            OptionCount(option=o, count=c, share=(c / len(present)) if present else 0.0)
            for o, c in counts.items()
        ]
    elif f.kind == FieldKind.CHECKBOX:
        stats.yes = sum(1 for v in present if v is True)
    elif f.kind == FieldKind.NUMBER:
        numbers = _numbers(present)
        stats.answered = len(numbers)
        if numbers:
            stats.minimum = min(numbers)
            stats.maximum = max(numbers)
            stats.mean = (sum(numbers, Decimal(0)) / len(numbers)).quantize(MEAN_PLACES)
    return stats


def template_stats(template: FormTemplate) -> TemplateStats:
    """Per field of the template, over its forms that are not void: how often each option
    was chosen (and its share of the answers), how many ticked a checkbox, the count,
    minimum, maximum and mean of numbers, and how many filled a text or date."""
    instances = list(instances_for_export(template).exclude(status=FormInstance.Status.VOID))
    fields = template_fields(template)
    return TemplateStats(
        forms=len(instances),
        fields=[_field_stats(f, [i.data.get(f.key) for i in instances]) for f in fields],
    )
