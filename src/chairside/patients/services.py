"""Every write to patient data: one function per action, in a transaction, audited."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import CharField, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from pydantic import ValidationError as PydanticValidationError

from chairside.core.audit import audit_record, changed_fields, snapshot
from chairside.core.crypto import blind_index
from chairside.core.errors import DomainError, ErrorCode, FieldErrors, NotFound, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.core.phone import normalize_mobile
from chairside.core.pinyin import pinyin_keys
from chairside.core.resident_id import parse_resident_id
from chairside.core.tenancy import current_tenant
from chairside.patients.models import (
    Family,
    FamilyRelation,
    Gender,
    Patient,
    PatientTag,
    RecordNumberSequence,
    Segment,
    SourceChannel,
    Tag,
)
from chairside.patients.segments import SegmentRules

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")

# Fields a clerk may change after registration.
EDITABLE_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "phone",
    "id_number",
    "address",
    "source",
    "referrer_id",
    "note",
    "record_no",
)


def _clean(values: dict[str, Any], errors: FieldErrors, *, patient: Patient | None) -> None:
    """Validate and normalise patient fields in place."""
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            errors.add("name", _("Enter the patient's name."))
        elif len(values["name"]) > 50:
            errors.add("name", _("The name is too long (at most 50 characters)."))
    if values.get("phone"):
        try:
            values["phone"] = normalize_mobile(values["phone"])
        except DomainError as e:
            errors.add("phone", e.message)
    elif "phone" in values:
        values["phone"] = ""
    if "gender" in values and values["gender"] not in Gender.values:
        errors.add("gender", _("Choose a gender."))
    if "source" in values and values["source"] not in SourceChannel.values:
        errors.add("source", _("Choose where the patient came from."))
    for field in ("address", "record_no"):
        model_field = Patient._meta.get_field(field)
        assert isinstance(model_field, CharField)
        limit = model_field.max_length or 0
        if len((values.get(field) or "").strip()) > limit:
            errors.add(
                field,
                gettext("This is too long (at most %(limit)d characters).") % {"limit": limit},
            )
    birth = values.get("birth_date")
    if birth is not None and (birth > timezone.localdate() or birth < date(1900, 1, 1)):
        errors.add("birth_date", _("The date of birth is not possible."))
    _clean_id_number(values, errors, patient=patient)
    if "record_no" in values:
        values["record_no"] = (values["record_no"] or "").strip().upper()
        if values["record_no"]:
            taken = Patient.objects.filter(record_no=values["record_no"])
            if patient is not None:
                taken = taken.exclude(pk=patient.pk)
            if taken.exists():
                errors.add("record_no", _("This record number is already in use."))
    if values.get("referrer_id") is not None:
        referrer = Patient.objects.filter(pk=values["referrer_id"], is_archived=False).first()
        if referrer is None:
            errors.add("referrer_id", _("The referring patient was not found."))
        elif patient is not None and referrer.pk == patient.pk:
            errors.add("referrer_id", _("A patient cannot refer themselves."))


def _clean_id_number(
    values: dict[str, Any], errors: FieldErrors, *, patient: Patient | None
) -> None:
    """Check the ID number, and birth date and gender against it (given or on file)."""
    if "id_number" in values and not values["id_number"]:
        values["id_number"] = ""
    given = values.get("id_number", "")
    # An edit of birth date or gender alone must still agree with the number on file.
    number = given if "id_number" in values or patient is None else patient.id_number
    if not number:
        return
    try:
        rid = parse_resident_id(number)
    except DomainError as e:
        if given:
            errors.add("id_number", e.message)
        return
    # The ID number is authoritative for birth date and gender; fill in what is missing.
    birth = values.get("birth_date")
    if birth is None:
        if given or "birth_date" in values:
            values["birth_date"] = rid.birth_date
    elif birth != rid.birth_date:
        errors.add("birth_date", _("The date of birth does not match the ID number."))
    gender = values.get("gender")
    if gender in (None, Gender.UNKNOWN):
        if given or "gender" in values:
            values["gender"] = rid.gender
    elif gender != rid.gender:
        errors.add("gender", _("The gender does not match the ID number."))
    if not given:
        return
    values["id_number"] = rid.number
    duplicate = Patient.objects.filter(id_number_digest=blind_index(rid.number))
    if patient is not None:
        duplicate = duplicate.exclude(pk=patient.pk)
    existing = duplicate.first()
    if existing is not None:
        errors.add(
            "id_number",
            gettext("This ID number is already registered as patient %(record_no)s.")
            % {"record_no": existing.record_no},
        )


def _apply_derived(patient: Patient) -> None:
    full, initials = pinyin_keys(patient.name)
    # A 50-character name can have 300 letters of pinyin; keys are searched by prefix, so
    # cutting them to the column keeps every search that anyone would type.
    patient.name_pinyin = full[: Patient._meta.get_field("name_pinyin").max_length]
    patient.name_initials = initials[: Patient._meta.get_field("name_initials").max_length]
    patient.phone_last4 = patient.phone[-4:] if patient.phone else ""
    patient.id_number_digest = blind_index(patient.id_number) if patient.id_number else ""


def _next_record_no(organization_id: int) -> str:
    sequence, _created = RecordNumberSequence.objects.select_for_update().get_or_create(
        organization_id=organization_id
    )
    while True:
        candidate = f"{sequence.next_value:08d}"
        sequence.next_value += 1
        # Numbers typed in by hand (e.g. from an old system) are skipped, not reused.
        if not Patient.objects.filter(record_no=candidate).exists():
            break
    sequence.save(update_fields=["next_value"])
    return candidate


def _save_unique(patient: Patient) -> None:
    """Save, turning a lost race on a unique number into the same error a clerk would see."""
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError as e:
        field = "id_number" if "id_number" in str(e) else "record_no"
        message = (
            _("This ID number is already registered.")
            if field == "id_number"
            else _("This record number is already in use.")
        )
        raise ValidationFailed(message, field=field, code=ErrorCode.CONFLICT) from e


@transaction.atomic
def patient_create(*, actor: Staff | None, clinic: Clinic, **values: Any) -> Patient:
    """Register a patient at `clinic`. Unknown keys are a programming error."""
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unexpected patient fields: {sorted(unknown)}")
    values.setdefault("name", "")
    errors = FieldErrors()
    _clean(values, errors, patient=None)
    errors.raise_if_any()
    if not values.get("record_no"):
        values["record_no"] = _next_record_no(clinic.organization_id)
    if values.get("referrer_id") and not values.get("source"):
        values["source"] = SourceChannel.REFERRAL
    patient = Patient(
        organization_id=clinic.organization_id, first_clinic=clinic, created_by=actor, **values
    )
    _apply_derived(patient)
    _save_unique(patient)
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=patient,
        actor=actor,
        clinic=clinic,
        after=snapshot(patient),
        summary=gettext("Registered at %(clinic)s") % {"clinic": clinic.name},
    )
    return patient


@transaction.atomic
def patient_update(
    *, actor: Staff | None, clinic: Clinic, patient: Patient, **changes: Any
) -> Patient:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unexpected patient fields: {sorted(unknown)}")
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if "record_no" in changes and not (changes["record_no"] or "").strip():
        del changes["record_no"]  # an empty box keeps the number the patient has
    errors = FieldErrors()
    _clean(changes, errors, patient=patient)
    errors.raise_if_any()
    before = snapshot(patient)
    old_id_number = patient.id_number
    for key, value in changes.items():
        setattr(patient, key, value)
    _apply_derived(patient)
    after = snapshot(patient)
    fields = changed_fields(before, after)
    # The snapshot masks the ID number ("***" before and after), so compare the real values:
    # otherwise a corrected number would look like no change and not be saved.
    if patient.id_number != old_id_number and "id_number" not in fields:
        fields.append("id_number")
    if not fields:
        return patient
    _save_unique(patient)
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=patient,
        actor=actor,
        clinic=clinic,
        before={k: before[k] for k in fields},
        after={k: after[k] for k in fields},
        summary=gettext("Profile edited"),
    )
    return patient


def patient_visit_recorded(*, patient: Patient, visited_at: datetime) -> None:
    """The patient was seen at `visited_at` (a completed appointment): move the last visit
    forward, never back, in one UPDATE so that two visits finishing at once cannot lose the
    later one. Segments such as "no visit in 6 months" read it."""
    Patient.objects.filter(pk=patient.pk).filter(
        Q(last_visit_at__isnull=True) | Q(last_visit_at__lt=visited_at)
    ).update(last_visit_at=visited_at)


@transaction.atomic
def patient_archive(*, actor: Staff | None, clinic: Clinic, patient: Patient) -> Patient:
    """Patients are never deleted (records are kept 15 years); archiving hides them."""
    if not patient.is_archived:
        patient.is_archived = True
        patient.save(update_fields=["is_archived", "updated_at"])
        audit_record(
            action=AuditEntry.Action.DELETE,
            instance=patient,
            actor=actor,
            clinic=clinic,
            before={"is_archived": False},
            after={"is_archived": True},
            summary=gettext("Archived"),
        )
    return patient


def _require_current_organization(*objects: Patient | Tag) -> None:
    """The same 404 as a lookup, for objects that callers resolved outside the current tenant."""
    organization_id = current_tenant().organization_id
    if any(o.organization_id != organization_id for o in objects):
        raise NotFound(_("Not found."))


@transaction.atomic
def tag_create(
    *, actor: Staff | None, name: str, color: str = "#2563eb", description: str = ""
) -> Tag:
    name = name.strip()
    if not name:
        raise ValidationFailed(_("Enter a tag name."), field="name")
    if len(name) > 30:
        raise ValidationFailed(_("The tag name is too long (at most 30 characters)."), field="name")
    if not _COLOR.fullmatch(color):
        raise ValidationFailed(_("Choose a colour such as #2563eb."), field="color")
    if len(description) > 200:
        raise ValidationFailed(
            _("The description is too long (at most 200 characters)."), field="description"
        )
    if Tag.objects.filter(name=name).exists():
        raise ValidationFailed(
            _("A tag with this name already exists."), field="name", code=ErrorCode.CONFLICT
        )
    return Tag.objects.create(name=name, color=color, description=description)


@transaction.atomic
def patient_tag_add(*, actor: Staff | None, clinic: Clinic, patient: Patient, tag: Tag) -> None:
    _require_current_organization(patient, tag)
    _link, created = PatientTag.objects.get_or_create(
        patient=patient, tag=tag, defaults={"created_by": actor}
    )
    if created:
        audit_record(
            action=AuditEntry.Action.UPDATE,
            instance=patient,
            actor=actor,
            clinic=clinic,
            after={"tag_added": tag.name},
            summary=gettext("Tag added: %(tag)s") % {"tag": tag.name},
        )


@transaction.atomic
def patient_tag_remove(*, actor: Staff | None, clinic: Clinic, patient: Patient, tag: Tag) -> None:
    _require_current_organization(patient, tag)
    deleted, _rows = PatientTag.objects.filter(patient=patient, tag=tag).delete()
    if deleted:
        audit_record(
            action=AuditEntry.Action.UPDATE,
            instance=patient,
            actor=actor,
            clinic=clinic,
            before={"tag_removed": tag.name},
            summary=gettext("Tag removed: %(tag)s") % {"tag": tag.name},
        )


@transaction.atomic
def family_link(
    *, actor: Staff | None, clinic: Clinic, patient: Patient, relative: Patient, relation: str
) -> Family:
    """Put `relative` in `patient`'s family (creating it with `patient` as head)."""
    if relation not in FamilyRelation.values:
        raise ValidationFailed(_("Choose the relation."), field="relation")
    if relative.pk == patient.pk:
        raise ValidationFailed(_("A patient cannot be their own relative."), field="relative_id")
    # Lock both rows in one order, so two clerks linking the same pair cannot deadlock; a
    # patient of another organization is simply not there.
    locked = {
        p.pk: p
        for p in Patient.objects.select_for_update()
        .filter(pk__in=[patient.pk, relative.pk])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise NotFound(_("Patient not found."))
    patient, relative = locked[patient.pk], locked[relative.pk]
    if relative.family_id is not None and relative.family_id != patient.family_id:
        raise ValidationFailed(
            gettext("%(name)s already belongs to another family; remove them from it first.")
            % {"name": relative.name},
            field="relative_id",
            code=ErrorCode.CONFLICT,
        )
    family = patient.family
    if family is None:
        family = Family.objects.create(name=gettext("%(name)s's family") % {"name": patient.name})
        patient.family = family
        patient.family_relation = FamilyRelation.SELF
        patient.save(update_fields=["family", "family_relation", "updated_at"])
    relative.family = family
    relative.family_relation = relation
    relative.save(update_fields=["family", "family_relation", "updated_at"])
    for member, other in ((patient, relative), (relative, patient)):
        audit_record(
            action=AuditEntry.Action.UPDATE,
            instance=member,
            actor=actor,
            clinic=clinic,
            after={"family_id": family.pk, "relative": other.pk},
            summary=gettext("Family linked with %(name)s") % {"name": other.name},
        )
    return family


@transaction.atomic
def family_unlink(*, actor: Staff | None, clinic: Clinic, patient: Patient) -> None:
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.family_id is None:
        return
    family_id = patient.family_id
    patient.family = None
    patient.family_relation = ""
    patient.save(update_fields=["family", "family_relation", "updated_at"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=patient,
        actor=actor,
        clinic=clinic,
        before={"family_id": family_id},
        after={"family_id": None},
        summary=gettext("Removed from family"),
    )
    # A family of one is no family: dissolve it.
    remaining = list(Patient.objects.filter(family_id=family_id))
    if len(remaining) <= 1:
        for member in remaining:
            member.family = None
            member.family_relation = ""
            member.save(update_fields=["family", "family_relation", "updated_at"])
            audit_record(
                action=AuditEntry.Action.UPDATE,
                instance=member,
                actor=actor,
                clinic=clinic,
                before={"family_id": family_id},
                after={"family_id": None},
                summary=gettext("Family dissolved: no other member left"),
            )
        Family.objects.filter(pk=family_id).delete()


def _parse_rules(rules: dict[str, Any]) -> SegmentRules:
    try:
        return SegmentRules.model_validate(rules)
    except PydanticValidationError as e:
        fields: dict[str, list[Any]] = {}
        for err in e.errors():
            fields.setdefault(".".join(str(p) for p in err["loc"]) or "rules", []).append(
                err["msg"]
            )
        raise ValidationFailed(_("The segment rules are not valid."), fields=fields) from e


@transaction.atomic
def segment_save(
    *,
    actor: Staff | None,
    name: str,
    rules: dict[str, Any],
    description: str = "",
    segment: Segment | None = None,
) -> Segment:
    name = name.strip()
    if not name:
        raise ValidationFailed(_("Enter a segment name."), field="name")
    if len(name) > 50:
        raise ValidationFailed(
            _("The segment name is too long (at most 50 characters)."), field="name"
        )
    if len(description) > 200:
        raise ValidationFailed(
            _("The description is too long (at most 200 characters)."), field="description"
        )
    parsed = _parse_rules(rules)
    taken = Segment.objects.filter(name=name)
    if segment is not None:
        taken = taken.exclude(pk=segment.pk)
    if taken.exists():
        raise ValidationFailed(
            _("A segment with this name already exists."), field="name", code=ErrorCode.CONFLICT
        )
    segment = segment or Segment(created_by=actor)
    segment.name = name
    segment.description = description
    segment.rules = parsed.model_dump(mode="json", exclude_defaults=True)
    segment.save()
    return segment
