"""The demo's forms: the default templates, an implant consent filled for the demo patient
with the 36 implant plan and sent for signing (patient → doctor → seal), and first-visit
health questionnaires filled in for a dozen patients so the statistics page has data."""

from __future__ import annotations

import random
from typing import Any

from chairside.clinical.models import PlanItem
from chairside.core.models import Clinic, Organization, Staff
from chairside.core.tenancy import tenant_scope
from chairside.forms.models import FormInstance
from chairside.forms.selectors.templates import template_by_code
from chairside.forms.services.instances import form_instance_create, form_instance_send
from chairside.forms.services.templates import form_templates_install_defaults
from chairside.patients.models import Patient

QUESTIONNAIRES = 12
CONDITIONS = (
    "heart_disease",
    "hypertension",
    "diabetes",
    "bleeding_disorder",
    "infectious_disease",
    "respiratory",
    "epilepsy",
    "osteoporosis",
    "tumor",
)
COMPLAINTS = ["牙痛", "牙龈出血或肿痛", "缺牙修复", "牙齿不齐", "洁牙或口腔检查", "牙齿美白或美容"]


def _staff(code: str, clinic: Clinic) -> Staff | None:
    return (  # type: ignore[no-any-return]
        Staff.objects.filter(role_grants__role__code=code, role_grants__clinic=clinic)
        .order_by("id")
        .first()
    )


def _questionnaire_answers(r: random.Random, patient: Patient) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "complaints": r.sample(COMPLAINTS, r.randint(1, 2)),
        "allergy": "有" if r.random() < 0.15 else "无",
        "medication": "有" if r.random() < 0.3 else "无",
        "smoking": r.choice(["不吸烟", "不吸烟", "不吸烟", "已戒烟", "偶尔吸烟", "每天吸烟"]),
        "brushing": r.choice(["每天一次", "每天两次及以上", "每天两次及以上", "不规律"]),
        "dental_anxiety": r.choice(["不紧张", "有点紧张", "非常紧张"]),
        "truthful": True,
    }
    if answers["allergy"] == "有":
        answers["allergy_detail"] = r.choice(["青霉素", "头孢类药物", "碘伏"])
    if answers["medication"] == "有":
        answers["medication_detail"] = r.choice(["阿司匹林 100mg 每日一次", "氨氯地平", "二甲双胍"])
    for condition in CONDITIONS:
        answers[condition] = r.random() < (0.25 if condition == "hypertension" else 0.06)
    if answers["hypertension"] or r.random() < 0.5:
        answers["systolic"] = str(r.randint(105, 165))
        answers["diastolic"] = str(r.randint(65, 100))
    if patient.gender == "female":
        answers["pregnancy"] = r.choice(["否", "否", "否", "哺乳期", "备孕中"])
    else:
        answers["pregnancy"] = "不适用"
    return answers


def demo_forms_install(*, organization: Organization, seed: int = 11) -> int:
    """Install the default templates and the demo forms (nothing when forms exist already).
    Returns how many forms were made."""
    with tenant_scope(organization):
        form_templates_install_defaults(organization=organization)
        clinic = Clinic.objects.filter(kind=Clinic.Kind.CLINIC).order_by("id").first()
        if clinic is None or FormInstance.objects.exists():
            return 0
        doctor, desk = _staff("doctor", clinic), _staff("front_desk", clinic)
        implant, questionnaire = (
            template_by_code("implant-consent"),
            template_by_code("health-questionnaire"),
        )
        if doctor is None or desk is None or implant is None or questionnaire is None:
            return 0
        made = 0
        with tenant_scope(organization, clinic):
            planned = (
                PlanItem.objects.filter(item__code__startswith="implant", plan__status="accepted")
                .select_related("plan__patient")
                .order_by("id")
                .first()
            )
            if planned is not None:
                consent = form_instance_create(
                    actor=desk,
                    clinic=clinic,
                    template=implant,
                    patient=planned.plan.patient,
                    doctor=doctor,
                    plan_item_ids=[planned.pk],
                    data={
                        "bone_graft": "同意医师视情况当即处理，并承担相应费用",
                        "understood": True,
                        "questions": "询问术后多久可以正常咀嚼，医师答复戴牙后即可逐步恢复。",
                    },
                )
                form_instance_send(actor=desk, clinic=clinic, instance=consent)
                made += 1
            r = random.Random(seed)  # noqa: S311 - demo answers, not secrets
            for patient in Patient.objects.order_by("id")[:QUESTIONNAIRES]:
                form_instance_create(
                    actor=desk,
                    clinic=clinic,
                    template=questionnaire,
                    patient=patient,
                    data=_questionnaire_answers(r, patient),
                )
                made += 1
        return made
