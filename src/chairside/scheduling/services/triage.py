"""Rules of auto-triage (S6): which words and symptoms of a complaint point to which
department, appointment type and doctors. The suggestion itself is a selector."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chairside.core.audit import changed_fields, snapshot
from chairside.core.errors import ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Organization, Staff
from chairside.core.tenancy import TenantScopeError, current_tenant
from chairside.scheduling.models import AppointmentType, Symptom, TriageRule
from chairside.scheduling.services.appointments import KEEP, Keep
from chairside.scheduling.services.common import (
    audit,
    audit_deleted,
    clean_text,
    require_current_organization,
    require_open_clinic,
)

MAX_KEYWORDS = 50
MAX_KEYWORD_LENGTH = 30
MAX_DOCTORS = 20


def normalise_words(text: str) -> str:
    """Text as keywords are compared: full-width letters made ASCII, case folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def _keywords(words: Iterable[str]) -> list[str]:
    cleaned: dict[str, str] = {}
    for word in words:
        word = unicodedata.normalize("NFKC", word or "").strip()
        if word:
            cleaned.setdefault(word.casefold(), word)
    if len(cleaned) > MAX_KEYWORDS or any(len(w) > MAX_KEYWORD_LENGTH for w in cleaned):
        raise ValidationFailed(
            gettext("List at most %(count)d keywords of at most %(length)d characters each.")
            % {"count": MAX_KEYWORDS, "length": MAX_KEYWORD_LENGTH},
            field="keywords",
        )
    return list(cleaned.values())


def _symptoms(codes: Iterable[str]) -> list[str]:
    codes = list(dict.fromkeys(codes))
    unknown = [c for c in codes if c not in Symptom.values]
    if unknown:
        raise ValidationFailed(
            gettext("Unknown symptom: %(codes)s.") % {"codes": ", ".join(unknown)},
            field="symptoms",
        )
    return codes


def _doctors(doctors: Iterable[Staff]) -> list[Staff]:
    doctors = list({d.pk: d for d in doctors}.values())
    require_current_organization(*doctors)
    if len(doctors) > MAX_DOCTORS:
        raise ValidationFailed(
            gettext("Suggest at most %(count)d doctors.") % {"count": MAX_DOCTORS},
            field="doctor_ids",
        )
    return doctors


def _clinic(clinic: Clinic | None) -> Clinic | None:
    if clinic is not None:
        require_current_organization(clinic)
        require_open_clinic(clinic)
    return clinic


def _appointment_type(appointment_type: AppointmentType | None) -> AppointmentType | None:
    require_current_organization(appointment_type)
    return appointment_type


def _require_something_to_match(rule: TriageRule) -> None:
    if not rule.keywords and not rule.symptoms:
        raise ValidationFailed(
            _("Give the rule at least one keyword or symptom."), field="keywords"
        )


def _rule_snapshot(rule: TriageRule) -> dict[str, Any]:
    data = snapshot(rule)
    data["doctors"] = sorted(d.pk for d in rule.doctors.all())
    return data


@transaction.atomic
def triage_rule_create(
    *,
    actor: Staff | None,
    name: str,
    keywords: Iterable[str] = (),
    symptoms: Iterable[str] = (),
    department: str = "",
    appointment_type: AppointmentType | None = None,
    doctors: Iterable[Staff] = (),
    clinic: Clinic | None = None,
    priority: int = 100,
    is_active: bool = True,
) -> TriageRule:
    """A rule for every clinic of the organization, or (with `clinic`) for one."""
    rule = TriageRule(
        clinic=_clinic(clinic),
        name=clean_text(name, field="name", limit=100, required=_("Enter the rule's name.")),
        keywords=_keywords(keywords),
        symptoms=_symptoms(symptoms),
        department=clean_text(department, field="department", limit=50),
        appointment_type=_appointment_type(appointment_type),
        priority=priority,
        is_active=is_active,
    )
    _require_something_to_match(rule)
    doctor_list = _doctors(doctors)
    rule.save()
    rule.doctors.set(doctor_list)
    audit(
        AuditEntry.Action.CREATE,
        rule,
        actor=actor,
        clinic=clinic,
        summary=gettext("Triage rule added: %(name)s") % {"name": rule.name},
    )
    return rule


@transaction.atomic
def triage_rule_update(
    *,
    actor: Staff | None,
    rule: TriageRule,
    name: str | None = None,
    keywords: Iterable[str] | None = None,
    symptoms: Iterable[str] | None = None,
    department: str | None = None,
    appointment_type: AppointmentType | Keep | None = KEEP,
    doctors: Iterable[Staff] | None = None,
    clinic: Clinic | Keep | None = KEEP,
    priority: int | None = None,
    is_active: bool | None = None,
) -> TriageRule:
    """Change what is given; `appointment_type` and `clinic` may be set to None."""
    require_current_organization(rule)
    rule = TriageRule.objects.select_for_update().get(pk=rule.pk)
    before = _rule_snapshot(rule)
    if name is not None:
        rule.name = clean_text(name, field="name", limit=100, required=_("Enter the rule's name."))
    if keywords is not None:
        rule.keywords = _keywords(keywords)
    if symptoms is not None:
        rule.symptoms = _symptoms(symptoms)
    if department is not None:
        rule.department = clean_text(department, field="department", limit=50)
    if not isinstance(appointment_type, Keep):
        rule.appointment_type = _appointment_type(appointment_type)
    if not isinstance(clinic, Keep):
        rule.clinic = _clinic(clinic)
    if priority is not None:
        rule.priority = priority
    if is_active is not None:
        rule.is_active = is_active
    _require_something_to_match(rule)
    rule.save()
    if doctors is not None:
        rule.doctors.set(_doctors(doctors))
    after = _rule_snapshot(rule)
    if changed_fields(before, after):
        audit(
            AuditEntry.Action.UPDATE,
            rule,
            actor=actor,
            clinic=rule.clinic,
            before=before,
            summary=gettext("Triage rule changed: %(name)s") % {"name": rule.name},
        )
    return rule


@transaction.atomic
def triage_rule_delete(*, actor: Staff | None, rule: TriageRule) -> None:
    require_current_organization(rule)
    before = _rule_snapshot(rule)
    clinic = rule.clinic
    rule.doctors.clear()
    rule.delete()
    audit_deleted(
        rule,
        actor=actor,
        clinic=clinic,
        before=before,
        summary=gettext("Triage rule removed: %(name)s") % {"name": before["name"]},
    )


# Demo rules: (name, keywords, symptoms, department, appointment type code, priority). The
# names and words are data in the clinics' language, not messages to translate.
DEFAULT_TRIAGE_RULES: tuple[tuple[str, list[str], list[str], str, str, int], ...] = (
    (
        "牙痛 → 牙体牙髓",
        ["牙痛", "疼", "痛", "toothache", "pain"],
        ["toothache"],
        "牙体牙髓",
        "root_canal",
        10,
    ),
    (
        "牙齿敏感 → 补牙",
        ["敏感", "酸", "冷热", "sensitive"],
        ["sensitivity"],
        "牙体牙髓",
        "filling",
        20,
    ),
    (
        "肿胀 → 口腔外科",
        ["肿", "脓", "swelling", "智齿"],
        ["swelling"],
        "口腔外科",
        "extraction",
        15,
    ),
    (
        "牙龈出血 → 牙周",
        ["出血", "牙龈", "口臭", "bleeding", "gum"],
        ["bleeding_gums"],
        "牙周",
        "cleaning",
        30,
    ),
    (
        "洁牙",
        ["洁牙", "洗牙", "牙结石", "cleaning", "scaling"],
        ["cleaning"],
        "牙周",
        "cleaning",
        40,
    ),
    ("牙齿松动 → 牙周", ["松动", "loose"], ["loose_tooth"], "牙周", "first_visit", 25),
    (
        "缺牙 → 种植",
        ["缺牙", "种植", "假牙", "implant", "missing"],
        ["missing_tooth"],
        "种植",
        "implant_consult",
        50,
    ),
    (
        "牙齿不齐 → 正畸",
        ["不齐", "矫正", "正畸", "龅牙", "braces"],
        ["crooked_teeth"],
        "正畸",
        "first_visit",
        60,
    ),
    (
        "儿童检查 → 儿童口腔",
        ["儿童", "孩子", "小孩", "蛀牙", "child", "kid"],
        ["child_checkup"],
        "儿童口腔",
        "child_fluoride",
        35,
    ),
    (
        "美白 → 美学修复",
        ["美白", "发黄", "whitening"],
        ["whitening"],
        "美学修复",
        "first_visit",
        70,
    ),
)


@transaction.atomic
def triage_defaults_install(organization: Organization) -> list[TriageRule]:
    """The demo's triage rules for `organization`, linked to its appointment types by code
    where they exist. Does nothing if the organization already has triage rules."""
    if current_tenant().organization_id != organization.pk:
        raise TenantScopeError("Install the triage rules inside the organization's tenant scope.")
    if TriageRule.objects.exists():
        return []
    types = {t.code: t for t in AppointmentType.objects.filter(is_active=True)}
    return [
        triage_rule_create(
            actor=None,
            name=name,
            keywords=keywords,
            symptoms=symptoms,
            department=department,
            appointment_type=types.get(type_code),
            priority=priority,
        )
        for name, keywords, symptoms, department, type_code, priority in DEFAULT_TRIAGE_RULES
    ]
