"""Form templates and the forms made from them (F1, F2, F6).

A template has numbered versions. A version is frozen once a form has been made from it:
editing the template makes a new version, and every form keeps the version it came from,
so a signed consent always reads as it did when it was signed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chairside.core.crypto import EncryptedJSONField
from chairside.core.models import Clinic, Staff
from chairside.core.tenancy import TenantModel
from chairside.patients.models import Patient


class FieldKind(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Single choice")
    MULTICHOICE = "multichoice", _("Multiple choice")
    CHECKBOX = "checkbox", _("Checkbox")
    PATIENT_SIGNATURE = "patient_signature", _("Patient signature")
    DOCTOR_SIGNATURE = "doctor_signature", _("Doctor signature")


class FormTemplate(TenantModel):
    """A kind of form the organization uses (种植知情同意书, 初诊健康问卷 ...)."""

    class Kind(models.TextChoices):
        CONSENT = "consent", _("Consent")
        QUESTIONNAIRE = "questionnaire", _("Questionnaire")
        PRESCRIPTION = "prescription", _("Prescription")
        OTHER = "other", _("Other")

    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("form template")
        verbose_name_plural = _("form templates")
        ordering: ClassVar[list[str]] = ["kind", "name", "id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization", "code"], name="form_template_code"),
        ]

    def __str__(self) -> str:
        return self.name


class FormTemplateVersion(TenantModel):
    """One frozen wording of a template.

    `blocks` is the body, in order: {"type": "heading" | "paragraph", "text": "..."} with
    placeholders like {{patient.name}}, and {"type": "field", "key": "...", "label": "...",
    "kind": FieldKind, "required": bool, "options": [...]} for what is filled in.
    `signers` lists who signs, in order: ["patient", "doctor", "seal"].
    """

    template = models.ForeignKey(FormTemplate, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(_("title"), max_length=200)
    blocks = models.JSONField(default=list)
    signers = models.JSONField(default=list)
    requires_id_number = models.BooleanField(_("signer's resident ID required"), default=False)
    created_by = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["template", "-number"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["template", "number"], name="form_version_number"),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.number}"


class FormInstance(TenantModel):
    """A form made for one patient from one template version, filled, then signed."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SIGNING = "signing", _("Awaiting signatures")
        COMPLETED = "completed", _("Completed")
        VOID = "void", _("Void")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(
        FormTemplateVersion, on_delete=models.PROTECT, related_name="instances"
    )
    doctor = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Field values by key; answers are health data, so both are encrypted at rest.
    data = EncryptedJSONField(default=dict)
    # Placeholder values frozen when the form was made (name, gender, age, record number,
    # date, clinic, doctor, treatment items).
    context = EncryptedJSONField(default=dict)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    # The esign.Document made when the form was sent for signing.
    document_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("form")
        verbose_name_plural = _("forms")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["organization", "patient", "-created_at"]),
            models.Index(fields=["organization", "version", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.version.title} — {self.patient_id}"
