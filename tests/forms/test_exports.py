"""Form data out (F6): one column per field key across the template's versions (headed by
the newest label), Excel and CSV (UTF-8 with BOM), statistics per field, every export
audited."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from chairside.forms.exports import export_csv, export_table, export_xlsx, template_stats
from chairside.forms.models import FormTemplate
from chairside.forms.services.exports import form_data_export
from chairside.forms.services.instances import form_instance_create, form_instance_void
from chairside.forms.services.templates import form_template_create, form_template_update
from tests.conftest import World
from tests.forms.conftest import Forms, simple_template


@pytest.fixture
def survey(world: World, forms: Forms) -> FormTemplate:
    """术后回访表 with three forms on version 1, then version 2 renames "pain", drops
    "score" and adds "revisit"; one more form on version 2 and a void one."""
    with tenant_scope(world.org, world.clinic1):
        template = form_template_create(
            actor=world.boss, clinic=world.clinic1, data=simple_template()
        )

        def make(data: dict[str, Any]) -> Any:
            return form_instance_create(
                actor=world.frontdesk,
                clinic=world.clinic1,
                template=template,
                patient=forms.patient,
                data=data,
            )

        make({"pain": "无", "score": 9})
        make({"pain": "轻微", "score": "7.5"})
        make({"pain": "无"})
        blocks = simple_template().blocks
        blocks[2] = {**blocks[2], "label": "术后疼痛"}
        blocks[3] = {"type": "field", "key": "revisit", "label": "愿意复诊", "kind": "checkbox"}
        form_template_update(
            actor=world.boss,
            clinic=world.clinic1,
            template=template,
            data=simple_template(blocks=blocks),
        )
        make({"pain": "明显", "revisit": True})
        void = make({"pain": "明显", "revisit": True})
        form_instance_void(
            actor=world.frontdesk, clinic=world.clinic1, instance=void, reason="重复"
        )
    return template


def test_the_table_has_a_column_per_key_across_versions(world: World, survey: FormTemplate) -> None:
    with tenant_scope(world.org):
        table = export_table(survey)

    assert table.headers == [
        "Record number",
        "Date",
        "Status",
        "Version",
        "术后疼痛",  # the newest label
        "愿意复诊",
        "满意度评分",  # only version 1 had it
    ]
    record = table.rows[0][0]
    assert [row[1:] for row in table.rows] == [
        [date(2026, 9, 14), "Draft", 1, "无", None, Decimal("9")],
        [date(2026, 9, 14), "Draft", 1, "轻微", None, Decimal("7.5")],
        [date(2026, 9, 14), "Draft", 1, "无", None, None],
        [date(2026, 9, 14), "Draft", 2, "明显", "Yes", None],
        [date(2026, 9, 14), "Void", 2, "明显", "Yes", None],
    ]
    assert record.isdigit()


def test_excel_holds_the_table(world: World, survey: FormTemplate) -> None:
    with tenant_scope(world.org):
        sheet = load_workbook(io.BytesIO(export_xlsx(survey))).active

    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][4:] == ("术后疼痛", "愿意复诊", "满意度评分")
    assert rows[1][4:] == ("无", None, 9)
    assert rows[2][6] == 7.5
    assert len(rows) == 6


def test_csv_is_utf8_with_a_byte_order_mark(world: World, survey: FormTemplate) -> None:
    with tenant_scope(world.org):
        content = export_csv(survey)

    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][4:] == ["术后疼痛", "愿意复诊", "满意度评分"]
    assert rows[1][1:] == ["2026-09-14", "Draft", "1", "无", "", "9"]
    assert len(rows) == 6


def test_statistics_per_field_leave_void_forms_out(world: World, survey: FormTemplate) -> None:
    with tenant_scope(world.org):
        stats = template_stats(survey)

    assert stats.forms == 4
    pain, revisit, score = stats.fields
    assert (pain.key, pain.answered) == ("pain", 4)
    assert [(o.option, o.count, o.share) for o in pain.options] == [
        ("无", 2, 0.5),
        ("轻微", 1, 0.25),
        ("明显", 1, 0.25),
    ]
    assert (revisit.answered, revisit.yes) == (1, 1)
    assert (score.answered, score.minimum, score.maximum, score.mean) == (
        2,
        Decimal("7.5"),
        Decimal("9"),
        Decimal("8.25"),
    )


def test_multiple_choices_count_each_option(world: World, forms: Forms) -> None:
    with tenant_scope(world.org, world.clinic1):
        for complaints in (["牙痛"], ["牙痛", "缺牙修复"], ["洁牙或口腔检查"]):
            form_instance_create(
                actor=world.frontdesk,
                clinic=world.clinic1,
                template=forms.questionnaire,
                patient=forms.patient,
                data={"complaints": complaints, "hypertension": True, "systolic": 150},
            )
        stats = {f.key: f for f in template_stats(forms.questionnaire).fields}

    counts = {o.option: o.count for o in stats["complaints"].options}
    assert counts["牙痛"] == 2
    assert counts["缺牙修复"] == 1
    assert counts["牙齿不齐"] == 0
    assert stats["complaints"].answered == 3
    assert (stats["hypertension"].yes, stats["diabetes"].yes) == (3, 0)
    assert stats["allergy_detail"].answered == 0
    assert "patient_sign" not in stats  # signatures are not data


def test_an_export_is_audited(world: World, survey: FormTemplate) -> None:
    with tenant_scope(world.org, world.clinic1):
        form_data_export(actor=world.boss, clinic=world.clinic1, template=survey, fmt="csv")

        entry = AuditEntry.objects.get(entity_type="forms.formtemplate", action="view")
    assert entry.actor == world.boss
    assert entry.after == {"export": "csv"}
