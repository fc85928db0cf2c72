"""Reads of forms made for patients, and the treatment items a form may name."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from chairside.clinical.models import PlanItem, TreatmentPlan
from chairside.clinical.selectors.plans import patient_plans
from chairside.core.errors import NotFound
from chairside.forms.models import FormInstance, FormTemplate
from chairside.patients.models import Patient

# Plans whose items a consent may still name (a declined or cancelled plan is not done).
OPEN_PLAN_STATUSES = (
    TreatmentPlan.Status.DRAFT,
    TreatmentPlan.Status.PROPOSED,
    TreatmentPlan.Status.ACCEPTED,
)


def instance_list(
    *,
    patient_id: int | None = None,
    template_id: int | None = None,
    status: str = "",
    clinic_id: int | None = None,
) -> QuerySet[FormInstance]:
    """Forms, newest first, with their version, template, patient, doctor and clinic joined."""
    instances = FormInstance.objects.select_related(
        "version__template", "patient", "doctor", "clinic", "created_by"
    )
    if patient_id is not None:
        instances = instances.filter(patient_id=patient_id)
    if template_id is not None:
        instances = instances.filter(version__template_id=template_id)
    if status:
        instances = instances.filter(status=status)
    if clinic_id is not None:
        instances = instances.filter(clinic_id=clinic_id)
    return instances


def get_instance(*, instance_id: int) -> FormInstance:
    """A form of the current organization, or the same 404 whether missing or foreign."""
    instance = instance_list().filter(pk=instance_id).first()
    if instance is None:
        raise NotFound(_("Form not found."))
    return instance


def instances_for_export(template: FormTemplate) -> QuerySet[FormInstance]:
    """Every form made from any version of `template`, oldest first, patient joined."""
    return (
        FormInstance.objects.filter(version__template=template)
        .select_related("patient", "version", "clinic")
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class TreatmentItemChoice:
    """A line of one of the patient's treatment plans, as a consent names it."""

    id: int
    text: str
    plan_title: str
    plan_status: str


def treatment_item_text(item: PlanItem) -> str:
    where = str(item.teeth) if item.teeth else item.get_arch_display() if item.arch else ""
    text = f"{item.name}（{where}）" if where else item.name
    return f"{text}×{item.quantity}" if item.quantity > 1 else text


def treatment_item_choices(patient: Patient) -> list[TreatmentItemChoice]:
    """The items of the patient's open plans (not cancelled), newest plan first."""
    choices = []
    for plan in patient_plans(patient):
        if plan.status not in OPEN_PLAN_STATUSES:
            continue
        for item in plan.items.all():
            if item.status == PlanItem.Status.CANCELLED:
                continue
            choices.append(
                TreatmentItemChoice(
                    id=item.pk,
                    text=treatment_item_text(item),
                    plan_title=plan.title,
                    plan_status=str(plan.get_status_display()),
                )
            )
    return choices
