"""Medical records (C1) and treatment plans (C2).

A record's text lives in numbered versions. The doctor edits the draft version, then signs
it: from then on the version is frozen, and its canonical rendering has a SHA-256 digest
that a cryptographic signature (the e-signature issue) can attach to. Later changes are
amendments: new versions, each with its author, time and reason, signed by that author.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from chairside.billing.models import BillLine, CatalogueItem
from chairside.core.crypto import EncryptedTextField
from chairside.core.models import Clinic, Staff
from chairside.core.money import money_field
from chairside.core.teeth import ToothSetField
from chairside.core.tenancy import TenantModel
from chairside.patients.models import Patient


class VisitType(models.TextChoices):
    FIRST_VISIT = "first_visit", _("First visit")
    FOLLOW_UP = "follow_up", _("Follow-up")
    ORTHODONTIC = "orthodontic", _("Orthodontics")
    IMPLANT = "implant", _("Implant")
    EXTRACTION = "extraction", _("Extraction")
    CLEANING = "cleaning", _("Cleaning")


# The sections of every record, in the order they are written and printed.
SECTIONS: tuple[tuple[str, Any], ...] = (
    ("complaint", _("Chief complaint")),
    ("present_illness", _("Present illness")),
    ("history", pgettext_lazy("medical record section", "History")),
    ("examination", _("Examination")),
    ("auxiliary_examination", _("Auxiliary examination")),
    ("diagnosis", _("Diagnosis")),
    ("treatment", _("Treatment")),
    ("advice", _("Advice")),
)
SECTION_KEYS = tuple(key for key, _label in SECTIONS)


class RecordTemplate(TenantModel):
    """Starting text for each section of a record of one visit type."""

    visit_type = models.CharField(_("visit type"), max_length=20, choices=VisitType.choices)
    name = models.CharField(_("name"), max_length=50)
    # {"complaint": "...", "examination": "...", ...}: keys from SECTION_KEYS.
    sections = models.JSONField(_("sections"), default=dict)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("record template")
        verbose_name_plural = _("record templates")
        ordering: ClassVar[list[str]] = ["visit_type", "name", "id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "visit_type", "name"], name="record_template_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TreatmentPlan(TenantModel):
    """A proposed course of treatment for a patient (治疗计划).

    Alternatives share `alternative_group` (the id of the first plan of the group); when the
    patient accepts one, the others of its group are declined. An accepted plan changes
    only through an approved PlanChangeRequest.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PROPOSED = "proposed", _("Proposed")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    doctor = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=100)
    note = models.TextField(_("note"), blank=True)
    alternative_group = models.PositiveBigIntegerField(null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    total = money_field(_("total"), default=0)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_recorded_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("treatment plan")
        verbose_name_plural = _("treatment plans")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "patient", "status"], name="plan_patient_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class PlanItem(TenantModel):
    """One line of a plan: a catalogue service for some teeth (or an arch), quantity, price."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Arch(models.TextChoices):
        NONE = "", _("—")
        UPPER = "upper", _("Upper arch")
        LOWER = "lower", _("Lower arch")
        BOTH = "both", _("Both arches")

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=1)
    item = models.ForeignKey(CatalogueItem, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    teeth = ToothSetField(_("teeth"), blank=True)
    arch = models.CharField(_("arch"), max_length=5, choices=Arch.choices, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = money_field(_("unit price"))
    executed_quantity = models.PositiveIntegerField(_("done"), default=0)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PLANNED
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("plan item")
        verbose_name_plural = _("plan items")
        ordering: ClassVar[list[str]] = ["plan", "position", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1)
                & Q(unit_price__gte=0)
                & Q(executed_quantity__lte=models.F("quantity")),
                name="plan_item_quantities_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def remaining_quantity(self) -> int:
        return self.quantity - self.executed_quantity


class PlanChangeRequest(TenantModel):
    """A change to an accepted plan (方案变更), waiting for a permitted role to approve it.

    `items` is the plan's whole proposed item list in the shape the plan builder sends.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="changes")
    items = models.JSONField(default=list)
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    requested_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("plan change")
        verbose_name_plural = _("plan changes")
        ordering: ClassVar[list[str]] = ["-requested_at", "-id"]


class PlanItemExecution(TenantModel):
    """Confirmation that part of a plan item was done (执行), and the bill line it produced."""

    plan_item = models.ForeignKey(PlanItem, on_delete=models.PROTECT, related_name="executions")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    doctor = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    bill_line = models.OneToOneField(BillLine, on_delete=models.PROTECT, related_name="+")
    confirmed_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("execution")
        verbose_name_plural = _("executions")
        ordering: ClassVar[list[str]] = ["confirmed_at", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="execution_quantity"),
        ]


class ClinicalRecord(TenantModel):
    """A visit's medical record (电子病历), written by its doctor."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SIGNED = "signed", _("Signed")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    doctor = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    visit_type = models.CharField(_("visit type"), max_length=20, choices=VisitType.choices)
    visit_date = models.DateField(_("visit date"))
    template = models.ForeignKey(
        RecordTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    plan = models.ForeignKey(
        TreatmentPlan, on_delete=models.SET_NULL, null=True, blank=True, related_name="records"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    # Denormalized from the latest version for lists; the text itself is in the versions.
    diagnosis_summary = models.CharField(_("diagnosis"), max_length=200, blank=True)
    version_count = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("medical record")
        verbose_name_plural = _("medical records")
        ordering: ClassVar[list[str]] = ["-visit_date", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["organization", "patient", "visit_date"], name="record_patient_idx"
            ),
            models.Index(fields=["organization", "doctor", "status"], name="record_doctor_idx"),
        ]


class RecordVersion(TenantModel):
    """One version of a record's content. Frozen once signed (signed_at set).

    `content` is encrypted JSON: {"sections": {key: text}, "findings": [{"teeth": [11, 12],
    "finding": "caries", "note": "..."}]}. `digest` is the SHA-256 of the version's
    canonical rendering (clinical.rendering), fixed at signing.
    """

    class Kind(models.TextChoices):
        ORIGINAL = "original", _("Original")
        AMENDMENT = "amendment", _("Amendment")

    record = models.ForeignKey(ClinicalRecord, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveSmallIntegerField()
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    content = EncryptedTextField()
    reason = models.CharField(_("reason for the amendment"), max_length=200, blank=True)
    author = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)
    digest = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("record version")
        verbose_name_plural = _("record versions")
        ordering: ClassVar[list[str]] = ["record", "number"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "record", "number"], name="record_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True, digest="")
                | Q(signed_at__isnull=False) & ~Q(digest=""),
                name="record_version_signed_has_digest",
            ),
        ]
