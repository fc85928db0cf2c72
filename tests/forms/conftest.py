"""Forms fixtures: billing's stopped clock (Monday 2026-09-14 10:00 Shanghai), English
messages, the default templates installed in both organizations, a patient with a
treatment plan, and helpers to make and send forms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from chairside.clinical.models import PlanItem, TreatmentPlan
from chairside.clinical.services.plans import PlanItemInput, plan_create
from chairside.core.tenancy import tenant_scope
from chairside.forms.models import FormInstance, FormTemplate
from chairside.forms.services.instances import form_instance_create
from chairside.forms.services.templates import TemplateData, form_templates_install_defaults
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from tests.billing.conftest import (  # noqa: F401 - fixtures re-exported for this package
    Shop,
    _english,
    clock,
    shop,
)
from tests.conftest import World

IMPLANT_DATA: dict[str, Any] = {
    "bone_graft": "同意医师视情况当即处理，并承担相应费用",
    "understood": True,
}


@dataclass
class Forms:
    """Both organizations' default templates, A's patient with a plan, and B's patient."""

    implant: FormTemplate
    extraction: FormTemplate
    ortho: FormTemplate
    questionnaire: FormTemplate
    prescription: FormTemplate
    patient: Patient  # 陈晓明, male, born 1980-05-01, clinic 1
    plan: TreatmentPlan
    implant_item: PlanItem  # 种植体植入 on 36
    filling_item: PlanItem  # 树脂充填 on 46 and 47
    implant_b: FormTemplate  # organization B's implant consent
    patient_b: Patient


def templates_of(organization: Any) -> dict[str, FormTemplate]:
    with tenant_scope(organization):
        form_templates_install_defaults(organization=organization)
        return {t.code: t for t in FormTemplate.objects.all()}


@pytest.fixture
def forms(world: World, shop: Shop) -> Forms:  # noqa: F811 - the fixture above
    a = templates_of(world.org)
    b = templates_of(world.org_b)
    with tenant_scope(world.org, world.clinic1):
        patient = patient_create(
            actor=world.boss,
            clinic=world.clinic1,
            name="陈晓明",
            gender="male",
            birth_date=date(1980, 5, 1),
            phone="13900001111",
        )
        plan = plan_create(
            actor=world.doctor,
            clinic=world.clinic1,
            patient=patient,
            title="种植修复方案",
            items=[
                PlanItemInput(item_id=shop.implant.pk, teeth=[36]),
                PlanItemInput(item_id=shop.filling.pk, teeth=[46, 47]),
            ],
        )
        implant_item, filling_item = list(plan.items.order_by("position"))
    return Forms(
        implant=a["implant-consent"],
        extraction=a["extraction-consent"],
        ortho=a["ortho-consent"],
        questionnaire=a["health-questionnaire"],
        prescription=a["prescription"],
        patient=patient,
        plan=plan,
        implant_item=implant_item,
        filling_item=filling_item,
        implant_b=b["implant-consent"],
        patient_b=shop.patient_b,
    )


def make_form(
    world: World,
    forms: Forms,
    template: FormTemplate | None = None,
    *,
    data: dict[str, Any] | None = None,
    **extra: Any,
) -> FormInstance:
    """A draft in clinic 1 by the front desk, for Dr. Li, naming the implant plan item."""
    with tenant_scope(world.org, world.clinic1):
        values: dict[str, Any] = {
            "doctor": world.doctor,
            "plan_item_ids": [forms.implant_item.pk],
        }
        values.update(extra)
        return form_instance_create(
            actor=world.frontdesk,
            clinic=world.clinic1,
            template=template or forms.implant,
            patient=forms.patient,
            data=IMPLANT_DATA if data is None and template is None else data,
            **values,
        )


def simple_template(**overrides: Any) -> TemplateData:
    values: dict[str, Any] = {
        "name": "术后回访表",
        "kind": "questionnaire",
        "blocks": [
            {"type": "heading", "text": "术后回访"},
            {"type": "paragraph", "text": "{{patient.name}}您好，请填写以下内容。"},
            {
                "type": "field",
                "key": "pain",
                "label": "疼痛程度",
                "kind": "choice",
                "required": True,
                "options": ["无", "轻微", "明显"],
            },
            {"type": "field", "key": "score", "label": "满意度评分", "kind": "number"},
            {"type": "field", "key": "sign", "label": "患者签名", "kind": "patient_signature"},
        ],
        "signers": ["patient"],
    }
    values.update(overrides)
    return TemplateData(**values)
