"""API schemas of form templates, their versions, exports and statistics."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from chairside.core.schemas import PageOut, PageQuery, Text
from chairside.forms.exports import FieldStats, TemplateStats
from chairside.forms.models import FormTemplate, FormTemplateVersion
from chairside.forms.services.templates import TemplateData

Kind = Literal["consent", "questionnaire", "prescription", "other"]
Signer = Literal["patient", "doctor", "seal"]


class BlockIn(Schema):
    """A heading or paragraph (`text`, with placeholders like {{patient.name}}) or a field
    (`key`, `label`, `kind`, `required`, `options` for choices, `help`)."""

    type: Text = Field(max_length=20, description="heading, paragraph or field.")
    text: Text | None = Field(None, max_length=5000)
    key: Text | None = Field(None, max_length=40, description="field: e.g. allergy_drugs.")
    label: Text | None = Field(None, max_length=200)
    kind: Text | None = Field(
        None,
        max_length=20,
        description=(
            "field: text, number, date, choice, multichoice, checkbox, patient_signature "
            "or doctor_signature."
        ),
    )
    required: bool = False
    options: list[Text] | None = Field(None, max_length=50)
    help: Text | None = Field(None, max_length=200)


class FormTemplateIn(Schema):
    """A template as the builder saves it. Saving a template whose latest version already
    has forms makes a new version; otherwise the latest version is changed."""

    code: Text = Field(
        "", max_length=40, description="Stable code, e.g. implant-consent (blank: generated)."
    )
    name: Text = Field(min_length=1, max_length=100)
    kind: Kind
    title: Text = Field("", max_length=200, description="Printed title (blank: the name).")
    blocks: list[BlockIn] = Field(max_length=200)
    signers: list[Signer] = Field(
        max_length=3, description="Who signs, in order, e.g. patient, doctor, seal."
    )
    requires_id_number: bool = Field(False, description="The patient's resident ID is checked.")
    is_active: bool = True

    def data(self) -> TemplateData:
        return TemplateData(
            code=self.code,
            name=self.name,
            kind=self.kind,
            title=self.title,
            blocks=[b.model_dump(exclude_none=True) for b in self.blocks],
            signers=list(self.signers),
            requires_id_number=self.requires_id_number,
            is_active=self.is_active,
        )


class FormTemplateQuery(PageQuery):
    q: Text = Field("", max_length=100)
    kind: Kind | None = None
    active: bool | None = None


class FormVersionOut(Schema):
    id: int
    number: int
    title: str
    blocks: list[dict[str, Any]]
    signers: list[str]
    requires_id_number: bool
    instance_count: int = Field(description="Forms made from this version.")
    created_at: datetime

    @staticmethod
    def of(version: FormTemplateVersion) -> FormVersionOut:
        return FormVersionOut(
            id=version.pk,
            number=version.number,
            title=version.title,
            blocks=version.blocks,
            signers=version.signers,
            requires_id_number=version.requires_id_number,
            instance_count=getattr(version, "instance_count", 0),
            created_at=version.created_at,
        )


class FormTemplateOut(Schema):
    id: int
    code: str
    name: str
    kind: Kind
    kind_label: str
    is_active: bool
    latest_version: int
    instance_count: int = Field(description="Forms made from any version.")
    created_at: datetime

    @staticmethod
    def of(template: FormTemplate) -> FormTemplateOut:
        return FormTemplateOut(
            id=template.pk,
            code=template.code,
            name=template.name,
            kind=template.kind,  # type: ignore[arg-type]
            kind_label=str(template.get_kind_display()),
            is_active=template.is_active,
            latest_version=getattr(template, "latest_number", 0) or 0,
            instance_count=getattr(template, "instance_count", 0),
            created_at=template.created_at,
        )


class TemplateDetailOut(FormTemplateOut):
    version: FormVersionOut = Field(description="The latest version.")


class FormTemplatePage(PageOut):
    items: list[FormTemplateOut]


class OptionCountOut(Schema):
    option: str
    count: int
    share: float = Field(description="Share of the answers, 0 to 1.")


class FieldStatsOut(Schema):
    key: str
    label: str
    kind: str
    answered: int
    options: list[OptionCountOut]
    yes: int | None = Field(description="checkbox: forms with it ticked.")
    minimum: Decimal | None
    maximum: Decimal | None
    mean: Decimal | None

    @staticmethod
    def of(stats: FieldStats) -> FieldStatsOut:
        return FieldStatsOut(
            key=stats.key,
            label=stats.label,
            kind=stats.kind,
            answered=stats.answered,
            options=[
                OptionCountOut(option=o.option, count=o.count, share=round(o.share, 4))
                for o in stats.options
            ],
            yes=stats.yes,
            minimum=stats.minimum,
            maximum=stats.maximum,
            mean=stats.mean,
        )


class StatsOut(Schema):
    forms: int = Field(description="Forms counted (void ones are not).")
    fields: list[FieldStatsOut]

    @staticmethod
    def of(stats: TemplateStats) -> StatsOut:
        return StatsOut(forms=stats.forms, fields=[FieldStatsOut.of(f) for f in stats.fields])
