"""Builds the demo chain: organizations, clinics and staff through the core services, and
patients in bulk (the same derived keys the patient services compute, at a million rows in
minutes rather than hours)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from chairside.core.crypto import blind_index
from chairside.core.models import AuditEntry, Clinic, Organization, Staff
from chairside.core.services import clinic_create, organization_create, staff_create
from chairside.core.tenancy import tenant_scope
from chairside.demo.data import (
    DEMO_B_STAFF,
    DEMO_PASSWORD,
    DEMO_STAFF,
    TAGS,
    PersonGenerator,
    StaffSeed,
)
from chairside.demo.visits import seed_clinical_and_billing
from chairside.forms.demo import demo_forms_install
from chairside.membership.demo import demo_membership_install
from chairside.messaging.services import default_templates_install
from chairside.patients.models import (
    Family,
    FamilyRelation,
    Gender,
    Patient,
    PatientTag,
    RecordNumberSequence,
    SourceChannel,
    Tag,
)
from chairside.patients.services import segment_save
from chairside.promotions.demo import demo_promotions_install
from chairside.scheduling.demo import seed_schedules
from chairside.scheduling.models import AppointmentType
from chairside.scheduling.services import (
    recall_rule_create,
    recalls_generate,
    triage_defaults_install,
)

BATCH = 5_000
# Above this many patients the registration audit entries are left out: they double the
# time of a benchmark load and nobody reads a million demo timelines.
AUDIT_UP_TO = 50_000
SHARE_WITH_ID_NUMBER = 0.2  # encrypting each number is slow; most clinics lack them anyway
SHARE_REFERRED = 0.15
SHARE_IN_FAMILIES = 0.1
SHARE_TAGGED = 0.25

Progress = Callable[[str], None]


def demo_exists() -> bool:
    return Organization.objects.filter(slug="demo").exists()


def seed_demo(*, patients: int = 2_000, patients_b: int = 200, progress: Progress = print) -> None:
    password_hash = make_password(DEMO_PASSWORD)  # hashed once: Argon2 is slow on purpose
    demo = _organization(
        "demo",
        "微笑口腔连锁",
        [("gm", "国贸店"), ("wj", "望京店"), ("wdk", "五道口店")],
        DEMO_STAFF,
        password_hash,
    )
    progress(f"demo: {len(DEMO_STAFF)} staff")
    _patients(demo, patients, seed=1, phone_block=1, progress=progress)
    demo_b = _organization(
        "demo-b", "晨光齿科", [("cg", "晨光齿科中心店")], DEMO_B_STAFF, password_hash
    )
    _patients(demo_b, patients_b, seed=2, phone_block=5, progress=progress)
    for organization in (demo, demo_b):
        default_templates_install(organization=organization)
        booked = seed_schedules(organization)
        _care_rules(organization)
        progress(f"{organization.slug}: schedules, {booked} appointments, message templates")
        visits = seed_clinical_and_billing(organization)
        progress(f"{organization.slug}: price list, record templates, {visits} charged visits")
        members = demo_membership_install(organization=organization, actor=_owner(organization))
        coupons = demo_promotions_install(organization=organization, actor=_owner(organization))
        progress(f"{organization.slug}: member tiers, {members} members, {coupons} coupons")
        forms = demo_forms_install(organization=organization)
        progress(f"{organization.slug}: form templates, {forms} filled forms and consents")
    if connection.vendor == "postgresql":
        # Fresh statistics, or the planner guesses from an empty table and bitmap-scans
        # the whole surname behind the first page of a search.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    progress("done")


def _owner(organization: Organization) -> Staff:
    with tenant_scope(organization):
        return Staff.objects.filter(role_grants__role__code="boss").order_by("id")[0]


def _care_rules(organization: Organization) -> None:
    """Triage rules, and recall rules (6 months after a cleaning or a child's fluoride
    varnish) turned into the recall list from the demo's completed visits."""
    with tenant_scope(organization):
        triage_defaults_install(organization)
        types = {t.code: t for t in AppointmentType.objects.all()}
        for name, code in (("洁牙半年复查", "cleaning"), ("儿童涂氟半年复查", "child_fluoride")):
            recall_rule_create(
                actor=None,
                name=name,
                recall_type=types[code],
                trigger_types=[types[code]],
                interval=6,
                interval_unit="months",
            )
        recalls_generate(organization=organization, today=timezone.localdate())


def _organization(
    slug: str,
    name: str,
    clinics: list[tuple[str, str]],
    staff: tuple[StaffSeed, ...],
    password_hash: str,
) -> Organization:
    organization = organization_create(slug=slug, name=name)
    clinic_create(organization=organization, code="hq", name="总部", kind=Clinic.Kind.HEADQUARTERS)
    branches = [clinic_create(organization=organization, code=c, name=n) for c, n in clinics]
    for number, seed in enumerate(staff, start=1):
        staff_create(
            organization=organization,
            username=seed.username,
            display_name=seed.name,
            password_hash=password_hash,
            phone=f"1990{organization.pk % 100:02d}{number:05d}",
            roles=[(seed.role, None if seed.clinic_index is None else branches[seed.clinic_index])],
        )
    return organization


def _patients(
    organization: Organization, count: int, *, seed: int, phone_block: int, progress: Progress
) -> None:
    people = PersonGenerator(seed, phone_block)
    r = people.random
    today = timezone.localdate()
    with tenant_scope(organization):
        clinics = list(Clinic.objects.filter(kind=Clinic.Kind.CLINIC).order_by("id"))
        clerk = Staff.all_tenants.filter(organization=organization).order_by("id").first()
        tags = [Tag.objects.create(organization=organization, name=n, color=c) for n, c in TAGS]
        referrers: list[int] = []
        star_referrers: list[int] = []
        made = 0
        while made < count:
            size = min(BATCH, count - made)
            with transaction.atomic():
                batch = _batch(
                    organization,
                    people,
                    clinics,
                    clerk,
                    made,
                    size,
                    referrers,
                    star_referrers,
                    today,
                )
                Patient.objects.bulk_create(batch)
                ids = [p.pk for p in batch]
                referrers.extend(ids[: len(ids) // 3])
                if len(star_referrers) < 20:
                    star_referrers.extend(ids[:5])
                PatientTag.objects.bulk_create(
                    [
                        PatientTag(organization=organization, patient_id=pk, tag=r.choice(tags))
                        for pk in ids
                        if r.random() < SHARE_TAGGED
                    ],
                    ignore_conflicts=True,
                )
                if count <= AUDIT_UP_TO:
                    AuditEntry.objects.bulk_create(
                        AuditEntry(
                            organization=organization,
                            clinic_id=p.first_clinic_id,
                            actor=clerk,
                            action=AuditEntry.Action.CREATE,
                            entity_type="patients.patient",
                            entity_id=str(p.pk),
                            summary="Registered",
                            after={"name": p.name, "record_no": p.record_no},
                            created_at=p.created_at,
                        )
                        for p in batch
                    )
            made += size
            progress(f"{organization.slug}: {made} patients")
        RecordNumberSequence.objects.update_or_create(
            organization=organization, defaults={"next_value": count + 1}
        )
        if organization.slug == "demo":
            by_name = {t.name: t.pk for t in tags}
            segment_save(
                actor=clerk,
                name="6-12岁半年未复诊",
                description="儿童窝沟封闭、涂氟召回",
                rules={"age_min": 6, "age_max": 12, "no_visit_months": 6},
            )
            segment_save(
                actor=clerk,
                name="正畸意向客户",
                rules={"tags_any": [by_name["正畸意向"]], "age_min": 12},
            )


def _batch(
    organization: Organization,
    people: PersonGenerator,
    clinics: list[Clinic],
    clerk: Staff | None,
    first: int,
    size: int,
    referrers: list[int],
    star_referrers: list[int],
    today: object,
) -> list[Patient]:
    r = people.random
    now = timezone.now()
    patients: list[Patient] = []
    families: list[Family] = []
    while len(patients) < size:
        household = r.randint(2, 4) if r.random() < SHARE_IN_FAMILIES / 3 else 1
        household = min(household, size - len(patients))
        family = None
        if household > 1:
            family = Family(organization=organization, name="")
            families.append(family)
        surname = ""
        for member in range(household):
            name, full, initials = people.name()
            if family is not None:
                if member == 0:
                    surname = name[0]
                    family.name = f"{surname}家"
                elif member >= 2:  # children carry the family name
                    name = surname + name[1:]
                    full, initials = people._pinyin(name)
            patients.append(
                _patient(
                    organization,
                    people,
                    clinics,
                    clerk,
                    first + len(patients) + 1,
                    name,
                    full,
                    initials,
                    family,
                    member,
                    referrers,
                    star_referrers,
                    now,
                )
            )
    Family.objects.bulk_create(families)
    for patient in patients:
        if patient.family is not None:
            patient.family_id = patient.family.pk
    return patients


def _patient(
    organization: Organization,
    people: PersonGenerator,
    clinics: list[Clinic],
    clerk: Staff | None,
    number: int,
    name: str,
    full: str,
    initials: str,
    family: Family | None,
    member: int,
    referrers: list[int],
    star_referrers: list[int],
    now: object,
) -> Patient:
    r = people.random
    today = timezone.localdate()
    birth = people.birth_date(today)
    relation = ""
    if family is not None:
        relation = (
            (FamilyRelation.SELF, FamilyRelation.SPOUSE)[member]
            if member < 2
            else (FamilyRelation.CHILD)
        )
        if member >= 2:
            birth = today - timedelta(days=r.randrange(3 * 365, 16 * 365))
    gender = r.choice((Gender.FEMALE, Gender.MALE))
    id_number = people.resident_id(birth) if r.random() < SHARE_WITH_ID_NUMBER else ""
    referrer_id = None
    source = r.choice(
        (
            SourceChannel.WALK_IN,
            SourceChannel.WALK_IN,
            SourceChannel.ONLINE,
            SourceChannel.WECHAT,
            SourceChannel.REVIEW_SITE,
            SourceChannel.CAMPAIGN,
        )
    )
    if referrers and r.random() < SHARE_REFERRED:
        pool = star_referrers if star_referrers and r.random() < 0.3 else referrers
        referrer_id = r.choice(pool)
        source = SourceChannel.REFERRAL
    phone = people.mobile()
    registered = people.moment_within(730)
    last_visit = (
        None
        if r.random() < 0.15
        else people.moment_within(max(1, (timezone.now() - registered).days))
    )
    return Patient(
        organization=organization,
        record_no=f"{number:08d}",
        name=name,
        name_pinyin=full[:200],
        name_initials=initials[:50],
        gender=gender,
        birth_date=birth,
        phone=phone,
        phone_last4=phone[-4:],
        id_number=id_number,
        id_number_digest=blind_index(id_number) if id_number else "",
        source=source,
        referrer_id=referrer_id,
        first_clinic=r.choice(clinics),
        family=family,
        family_relation=relation,
        last_visit_at=last_visit,
        created_at=registered,
        created_by=clerk,
    )
