"""Patients (P1), families (P4), tags and segments (P3); referrals (P5) are the referrer link."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chairside.core.crypto import EncryptedTextField
from chairside.core.models import Clinic, Staff
from chairside.core.tenancy import TenantModel


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    UNKNOWN = "unknown", _("Unknown")


class SourceChannel(models.TextChoices):
    WALK_IN = "walk_in", _("Walk-in")
    REFERRAL = "referral", _("Referral")
    ONLINE = "online", _("Online booking")
    WECHAT = "wechat", _("WeChat")
    REVIEW_SITE = "review_site", _("Review sites (Meituan / Dianping)")
    CAMPAIGN = "campaign", _("Campaign")
    INSURANCE = "insurance", _("Insurance / corporate")
    OTHER = "other", _("Other")


class FamilyRelation(models.TextChoices):
    SELF = "self", _("Head of family")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    GRANDPARENT = "grandparent", _("Grandparent")
    SIBLING = "sibling", _("Sibling")
    OTHER = "other", _("Other relative")


class Family(TenantModel):
    """A household whose members share benefits and stored value (P4)."""

    name = models.CharField(_("name"), max_length=50)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("family")
        verbose_name_plural = _("families")

    def __str__(self) -> str:
        return self.name


class Patient(TenantModel):
    """A patient (客患) of the chain; the record is shared by all its clinics."""

    record_no = models.CharField(_("record number"), max_length=20)
    name = models.CharField(_("name"), max_length=50)
    # Search keys derived from the name: "zhangsan" and "zs" for 张三.
    name_pinyin = models.CharField(max_length=200, editable=False)
    name_initials = models.CharField(max_length=50, editable=False)
    gender = models.CharField(
        _("gender"), max_length=10, choices=Gender.choices, default=Gender.UNKNOWN
    )
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    phone = models.CharField(_("mobile"), max_length=11, blank=True)
    # Front desks look patients up by the last four digits of the phone.
    phone_last4 = models.CharField(max_length=4, blank=True, editable=False)
    id_number = EncryptedTextField(_("resident ID number"), blank=True, default="")
    id_number_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    address = models.CharField(_("address"), max_length=200, blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=SourceChannel.choices, default=SourceChannel.WALK_IN
    )
    referrer = models.ForeignKey(
        "self",
        verbose_name=_("referred by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referred_patients",
    )
    first_clinic = models.ForeignKey(
        Clinic, verbose_name=_("first-visit clinic"), on_delete=models.PROTECT, related_name="+"
    )
    family = models.ForeignKey(
        Family, on_delete=models.SET_NULL, null=True, blank=True, related_name="members"
    )
    family_relation = models.CharField(
        _("relation"), max_length=20, choices=FamilyRelation.choices, blank=True
    )
    note = models.TextField(_("note"), blank=True)
    # Kept current by the scheduling module when a visit is completed.
    last_visit_at = models.DateTimeField(_("last visit"), null=True, blank=True)
    is_archived = models.BooleanField(_("archived"), default=False)
    created_at = models.DateTimeField(_("registered"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    tags: models.ManyToManyField[Tag, PatientTag] = models.ManyToManyField(
        "Tag", through="PatientTag", related_name="patients"
    )

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "record_no"], name="patient_record_no_unique"
            ),
            models.UniqueConstraint(
                fields=["organization", "id_number_digest"],
                condition=~Q(id_number_digest=""),
                name="patient_id_number_unique",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            # Prefix searches (LIKE 'zs%') need pattern operator classes on PostgreSQL.
            models.Index(
                fields=["organization", "name_initials"],
                name="patient_initials_idx",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["organization", "name_pinyin"],
                name="patient_pinyin_idx",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["organization", "name"],
                name="patient_name_idx",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["organization", "phone"],
                name="patient_phone_idx",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["organization", "record_no"],
                name="patient_record_no_idx",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            models.Index(fields=["organization", "phone_last4"], name="patient_phone_last4_idx"),
            models.Index(fields=["organization", "birth_date"], name="patient_birth_idx"),
            models.Index(fields=["organization", "last_visit_at"], name="patient_last_visit_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.record_no})"


class Tag(TenantModel):
    """A manual label staff put on patients, e.g. "ortho interest" (P3)."""

    name = models.CharField(_("name"), max_length=30)
    color = models.CharField(_("colour"), max_length=7, default="#2563eb")
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering: ClassVar[list[str]] = ["name"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization", "name"], name="tag_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class PatientTag(TenantModel):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="patient_links")
    created_by = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "patient", "tag"], name="patient_tag_unique"
            ),
        ]


class Segment(TenantModel):
    """A rule-based group of patients, e.g. "age 6-12, no visit in 6 months" (P3).

    `rules` is validated by `chairside.patients.segments.SegmentRules`.
    """

    name = models.CharField(_("name"), max_length=50)
    description = models.CharField(_("description"), max_length=200, blank=True)
    rules = models.JSONField(_("rules"), default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering: ClassVar[list[str]] = ["name"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization", "name"], name="segment_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class RecordNumberSequence(TenantModel):
    """The next automatic record number of an organization (row-locked when taken)."""

    next_value = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization"], name="record_sequence_unique"),
        ]
