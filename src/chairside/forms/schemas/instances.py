"""API schemas of forms made for patients."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from chairside.core.schemas import ObjectId, PageOut, PageQuery, Text
from chairside.forms.models import FormInstance

Status = Literal["draft", "signing", "completed", "void"]


class InstanceIn(Schema):
    """A form for a patient from a template's latest version. Placeholders are resolved
    now and kept: {{treatment.items}} lists the chosen plan items, then the typed ones."""

    template_id: ObjectId
    patient_id: ObjectId
    doctor_id: ObjectId | None = Field(
        None, description="Required when the form names the doctor or the doctor signs."
    )
    plan_item_ids: list[ObjectId] = Field(
        default_factory=list, max_length=30, description="Items of the patient's open plans."
    )
    treatment_items: list[Text] = Field(
        default_factory=list, max_length=30, description="Treatment items typed by the clerk."
    )
    data: dict[str, Any] = Field(default_factory=dict, description="Values by field key.")


class DataIn(Schema):
    """Every value of a draft, by field key (this replaces the values before)."""

    data: dict[str, Any]


class FormVoidIn(Schema):
    reason: Text = Field(min_length=1, max_length=200)


class InstanceQuery(PageQuery):
    patient_id: ObjectId | None = None
    template_id: ObjectId | None = None
    status: Status | None = None


class InstanceOut(Schema):
    id: int
    template_id: int
    template_code: str
    version: int
    title: str
    patient_id: int
    patient_name: str
    record_number: str
    clinic_id: int
    doctor_id: int | None
    doctor_name: str
    status: Status
    status_label: str
    data: dict[str, Any]
    context: dict[str, str] = Field(description="Placeholder values frozen at creation.")
    document_id: int | None = Field(description="The e-signature document once sent.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def of(instance: FormInstance) -> InstanceOut:
        version = instance.version
        return InstanceOut(
            id=instance.pk,
            template_id=version.template_id,
            template_code=version.template.code,
            version=version.number,
            title=version.title,
            patient_id=instance.patient_id,
            patient_name=instance.patient.name,
            record_number=instance.patient.record_no,
            clinic_id=instance.clinic_id,
            doctor_id=instance.doctor_id,
            doctor_name=instance.doctor.display_name if instance.doctor else "",
            status=instance.status,  # type: ignore[arg-type]
            status_label=str(instance.get_status_display()),
            data=instance.data,
            context=instance.context,
            document_id=instance.document_id,
            created_at=instance.created_at,
            updated_at=instance.updated_at,
        )


class InstancePage(PageOut):
    items: list[InstanceOut]
