"""Patient services: registration, edits, archive, families and tags, with nothing half-written."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from chairside.core.errors import NotFound, ValidationFailed
from chairside.core.models import AuditEntry
from chairside.core.resident_id import make_resident_id
from chairside.core.tenancy import Tenant, tenant_scope
from chairside.patients.models import Family, Gender, Patient, PatientTag, SourceChannel, Tag
from chairside.patients.selectors import patient_list
from chairside.patients.services import (
    family_link,
    family_unlink,
    patient_archive,
    patient_create,
    patient_tag_add,
    patient_tag_remove,
    patient_update,
    tag_create,
)
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("in_org_a")

BIRTH = date(1990, 3, 7)
MAN_ID = make_resident_id("110101", BIRTH, 451)  # odd sequence: a man
WOMAN_ID = make_resident_id("310104", date(1985, 11, 30), 202)


def register(world: World, **values: Any) -> Patient:
    values.setdefault("name", "张三")
    return patient_create(actor=world.frontdesk, clinic=world.clinic1, **values)


def nothing_written() -> bool:
    return not Patient.objects.exists() and not AuditEntry.objects.exists()


def bad_checksum(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


# Registration and record numbers


def test_registration_stores_the_profile_and_the_clinic(world: World) -> None:
    patient = register(world, name=" 王小明 ", phone="138 0013 8000", gender=Gender.MALE)

    stored = Patient.objects.get(pk=patient.pk)
    assert stored.name == "王小明"
    assert stored.phone == "13800138000"
    assert stored.phone_last4 == "8000"
    assert (stored.name_pinyin, stored.name_initials) == ("wangxiaoming", "wxm")
    assert stored.first_clinic == world.clinic1
    assert stored.created_by == world.frontdesk
    assert stored.organization_id == world.org.pk


def test_record_numbers_are_given_in_sequence(world: World) -> None:
    numbers = [register(world, name=f"患者{i}").record_no for i in range(3)]
    assert numbers == ["00000001", "00000002", "00000003"]


def test_automatic_record_numbers_skip_a_number_typed_in_by_hand(world: World) -> None:
    manual = register(world, name="甲", record_no="00000002")
    first = register(world, name="乙")
    second = register(world, name="丙")

    assert manual.record_no == "00000002"
    assert [first.record_no, second.record_no] == ["00000001", "00000003"]


def test_each_organization_numbers_its_own_patients(world: World) -> None:
    register(world)
    with tenant_scope(world.org_b, world.clinic_b):
        other = patient_create(actor=world.boss_b, clinic=world.clinic_b, name="李四")
        same_manual = patient_create(
            actor=world.boss_b, clinic=world.clinic_b, name="王五", record_no="A-7"
        )
    register(world, name="赵六", record_no="A-7")

    assert other.record_no == "00000001"
    assert same_manual.record_no == "A-7"


def test_a_manual_record_number_is_tidied(world: World) -> None:
    assert register(world, record_no="  a-100 ").record_no == "A-100"


@pytest.mark.parametrize("typed", ["A-100", "a-100", " A-100"])
def test_a_duplicate_record_number_is_refused_and_nothing_is_written(
    world: World, typed: str
) -> None:
    register(world, name="甲", record_no="A-100")
    before = (Patient.objects.count(), AuditEntry.objects.count())

    with pytest.raises(ValidationFailed) as excinfo:
        register(world, name="乙", record_no=typed)

    assert set(excinfo.value.fields) == {"record_no"}
    assert excinfo.value.status == 400
    assert (Patient.objects.count(), AuditEntry.objects.count()) == before


def test_a_record_number_longer_than_the_column_is_refused(world: World) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        register(world, record_no="X" * 21)
    assert set(excinfo.value.fields) == {"record_no"}
    assert nothing_written()


# Validation


def test_a_bad_phone_is_refused_and_nothing_is_written(world: World) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        register(world, phone="12345")

    assert set(excinfo.value.fields) == {"phone"}
    assert nothing_written()


@pytest.mark.parametrize("phone", ["010-6552 9988", "+1 415 555 2671", "1380013800"])
def test_landlines_foreign_and_short_numbers_are_not_mobiles(world: World, phone: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        register(world, phone=phone)
    assert "phone" in excinfo.value.fields
    assert nothing_written()


def test_a_bad_id_checksum_is_refused_and_nothing_is_written(world: World) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        register(world, id_number=bad_checksum(MAN_ID))

    assert set(excinfo.value.fields) == {"id_number"}
    assert nothing_written()


def test_a_birth_date_that_contradicts_the_id_number_is_refused(world: World) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        register(world, id_number=MAN_ID, birth_date=BIRTH + timedelta(days=1))

    assert set(excinfo.value.fields) == {"birth_date"}
    assert nothing_written()


def test_a_gender_that_contradicts_the_id_number_is_refused(world: World) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        register(world, id_number=MAN_ID, gender=Gender.FEMALE)

    assert set(excinfo.value.fields) == {"gender"}
    assert nothing_written()


def test_every_problem_of_a_form_is_reported_at_once(world: World) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        register(world, name="  ", phone="12345", id_number=bad_checksum(MAN_ID))

    assert set(excinfo.value.fields) == {"name", "phone", "id_number"}
    assert nothing_written()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "张" * 51),
        ("address", "路" * 201),
        ("birth_date", date(1899, 12, 31)),
        ("gender", "robot"),
        ("source", "carrier-pigeon"),
    ],
)
def test_impossible_values_are_refused_at_their_field(world: World, field: str, value: Any) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        register(world, **{field: value})
    assert set(excinfo.value.fields) == {field}
    assert nothing_written()


def test_a_birth_date_in_the_future_is_refused(world: World) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        register(world, birth_date=timezone.localdate() + timedelta(days=1))
    assert set(excinfo.value.fields) == {"birth_date"}


def test_unknown_fields_are_a_programming_error(world: World) -> None:
    with pytest.raises(TypeError):
        register(world, organization_id=world.org_b.pk)
    assert nothing_written()


# Resident ID numbers


def test_the_id_number_fills_in_birth_date_and_gender(world: World) -> None:
    man = register(world, name="甲", id_number=MAN_ID)
    woman = register(world, name="乙", id_number=WOMAN_ID.lower())

    assert (man.birth_date, man.gender) == (BIRTH, Gender.MALE)
    assert (woman.birth_date, woman.gender) == (date(1985, 11, 30), Gender.FEMALE)
    assert Patient.objects.get(pk=woman.pk).id_number == WOMAN_ID


def test_an_id_number_with_x_is_found_as_a_duplicate_whatever_its_case(world: World) -> None:
    with_x = next(
        number
        for sequence in range(1000)
        if (number := make_resident_id("440305", date(2001, 1, 1), sequence)).endswith("X")
    )
    register(world, name="甲", id_number=with_x)

    with pytest.raises(ValidationFailed) as excinfo:
        register(world, name="乙", id_number=with_x.lower())
    assert set(excinfo.value.fields) == {"id_number"}


def test_a_duplicate_id_number_is_refused_within_the_organization(world: World) -> None:
    first = register(world, name="甲", id_number=MAN_ID)
    count = Patient.objects.count()

    with pytest.raises(ValidationFailed) as excinfo:
        register(world, name="乙", id_number=MAN_ID)

    assert set(excinfo.value.fields) == {"id_number"}
    # The clerk is told which record already has it, to open that one instead
    assert first.record_no in str(excinfo.value.fields["id_number"][0])
    assert Patient.objects.count() == count


def test_the_same_id_number_may_be_registered_in_another_organization(world: World) -> None:
    register(world, id_number=MAN_ID)
    with tenant_scope(world.org_b, world.clinic_b):
        other = patient_create(
            actor=world.boss_b, clinic=world.clinic_b, name="张三", id_number=MAN_ID
        )
    assert other.organization_id == world.org_b.pk


def test_an_archived_patients_id_number_still_counts_as_registered(world: World) -> None:
    first = register(world, name="甲", id_number=MAN_ID)
    patient_archive(actor=world.boss, clinic=world.clinic1, patient=first)

    with pytest.raises(ValidationFailed):
        register(world, name="乙", id_number=MAN_ID)


# Updates


def test_renaming_updates_the_pinyin_keys(world: World) -> None:
    patient = register(world, name="张三")

    patient_update(actor=world.doctor, clinic=world.clinic1, patient=patient, name="李四")

    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.name, stored.name_pinyin, stored.name_initials) == ("李四", "lisi", "ls")
    assert [p.pk for p in patient_list(query="ls")] == [patient.pk]
    assert list(patient_list(query="zs")) == []


def test_an_update_keeps_the_record_number_when_the_box_is_left_empty(world: World) -> None:
    patient = register(world)
    patient_update(actor=world.doctor, clinic=world.clinic1, patient=patient, record_no=" ")
    assert Patient.objects.get(pk=patient.pk).record_no == patient.record_no


def test_an_update_to_a_taken_record_number_is_refused(world: World) -> None:
    register(world, name="甲", record_no="A-1")
    patient = register(world, name="乙", record_no="A-2")

    with pytest.raises(ValidationFailed) as excinfo:
        patient_update(actor=world.boss, clinic=world.clinic1, patient=patient, record_no="a-1")

    assert set(excinfo.value.fields) == {"record_no"}
    assert Patient.objects.get(pk=patient.pk).record_no == "A-2"


def test_a_failed_update_changes_nothing(world: World) -> None:
    patient = register(world, name="张三", phone="13800138000")
    audits = AuditEntry.objects.count()

    with pytest.raises(ValidationFailed):
        patient_update(
            actor=world.boss, clinic=world.clinic1, patient=patient, name="李四", phone="123"
        )

    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.name, stored.phone) == ("张三", "13800138000")
    assert AuditEntry.objects.count() == audits


def test_correcting_the_id_number_is_saved(world: World) -> None:
    # Given a patient registered with a mistyped (but valid) ID number
    patient = register(world, id_number=MAN_ID)
    corrected = make_resident_id("110101", BIRTH, 453)  # same birth date and gender

    # When the front desk corrects it
    patient_update(
        actor=world.frontdesk, clinic=world.clinic1, patient=patient, id_number=corrected
    )

    # Then the new number is stored and found by its blind index
    stored = Patient.objects.get(pk=patient.pk)
    assert stored.id_number == corrected
    with pytest.raises(ValidationFailed):
        register(world, name="乙", id_number=corrected)
    register(world, name="丙", id_number=MAN_ID)  # the old number is free again


def test_an_updated_birth_date_must_still_match_the_stored_id_number(world: World) -> None:
    patient = register(world, id_number=MAN_ID)

    with pytest.raises(ValidationFailed) as excinfo:
        patient_update(
            actor=world.boss, clinic=world.clinic1, patient=patient, birth_date=date(1991, 1, 1)
        )
    with pytest.raises(ValidationFailed):
        patient_update(actor=world.boss, clinic=world.clinic1, patient=patient, gender="female")

    assert set(excinfo.value.fields) == {"birth_date"}
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.birth_date, stored.gender) == (BIRTH, Gender.MALE)


def test_removing_the_id_number_keeps_the_birth_date(world: World) -> None:
    patient = register(world, id_number=MAN_ID)
    patient_update(actor=world.boss, clinic=world.clinic1, patient=patient, id_number="")

    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.id_number, stored.id_number_digest) == ("", "")
    assert stored.birth_date == BIRTH


# Referrals


def test_a_referred_patient_records_the_referrer_and_the_channel(world: World) -> None:
    referrer = register(world, name="甲")
    referred = register(world, name="乙", referrer_id=referrer.pk)

    assert referred.referrer_id == referrer.pk
    assert referred.source == SourceChannel.REFERRAL


def test_a_referrer_of_another_organization_is_not_found(world: World) -> None:
    with tenant_scope(world.org_b, world.clinic_b):
        foreign = patient_create(actor=world.boss_b, clinic=world.clinic_b, name="外人")

    with pytest.raises(ValidationFailed) as excinfo:
        register(world, referrer_id=foreign.pk)

    assert set(excinfo.value.fields) == {"referrer_id"}
    assert nothing_written()


def test_a_patient_cannot_refer_themselves(world: World) -> None:
    patient = register(world)
    with pytest.raises(ValidationFailed) as excinfo:
        patient_update(
            actor=world.boss, clinic=world.clinic1, patient=patient, referrer_id=patient.pk
        )
    assert set(excinfo.value.fields) == {"referrer_id"}


# Archive


def test_archived_patients_leave_the_default_lists_but_stay_on_record(world: World) -> None:
    kept = register(world, name="甲")
    gone = register(world, name="乙")

    patient_archive(actor=world.boss, clinic=world.clinic1, patient=gone)

    assert [p.pk for p in patient_list()] == [kept.pk]
    assert {p.pk for p in patient_list(include_archived=True)} == {kept.pk, gone.pk}
    assert Patient.objects.get(pk=gone.pk).is_archived


def test_archiving_twice_is_harmless(world: World) -> None:
    patient = register(world)
    patient_archive(actor=world.boss, clinic=world.clinic1, patient=patient)
    patient_archive(actor=world.boss, clinic=world.clinic1, patient=patient)

    deletes = AuditEntry.objects.filter(action=AuditEntry.Action.DELETE)
    assert deletes.count() == 1


# Families


def test_linking_a_relative_creates_a_family_headed_by_the_patient(world: World) -> None:
    mother = register(world, name="王芳")
    child = register(world, name="李小明")

    family = family_link(
        actor=world.frontdesk,
        clinic=world.clinic1,
        patient=mother,
        relative=child,
        relation="child",
    )

    mother.refresh_from_db()
    child.refresh_from_db()
    assert mother.family_id == child.family_id == family.pk
    assert (mother.family_relation, child.family_relation) == ("self", "child")
    assert "王芳" in family.name


def test_more_relatives_join_the_same_family(world: World) -> None:
    mother, child, father = (register(world, name=n) for n in ("甲", "乙", "丙"))
    first = family_link(
        actor=world.boss, clinic=world.clinic1, patient=mother, relative=child, relation="child"
    )
    second = family_link(
        actor=world.boss,
        clinic=world.clinic1,
        patient=mother,
        relative=father,
        relation="spouse",
    )

    assert first.pk == second.pk
    assert Patient.objects.filter(family=first).count() == 3
    assert Family.objects.count() == 1


def test_a_relative_in_another_family_is_refused(world: World) -> None:
    a, b, c, d = (register(world, name=n) for n in ("甲", "乙", "丙", "丁"))
    family_ab = family_link(
        actor=world.boss, clinic=world.clinic1, patient=a, relative=b, relation="spouse"
    )
    family_link(actor=world.boss, clinic=world.clinic1, patient=c, relative=d, relation="child")

    with pytest.raises(ValidationFailed) as excinfo:
        family_link(actor=world.boss, clinic=world.clinic1, patient=a, relative=d, relation="child")

    assert set(excinfo.value.fields) == {"relative_id"}
    d.refresh_from_db()
    assert d.family_id != family_ab.pk
    assert d.family_relation == "child"


def test_a_patient_cannot_be_their_own_relative(world: World) -> None:
    patient = register(world)
    with pytest.raises(ValidationFailed) as excinfo:
        family_link(
            actor=world.boss,
            clinic=world.clinic1,
            patient=patient,
            relative=patient,
            relation="child",
        )
    assert set(excinfo.value.fields) == {"relative_id"}
    assert not Family.objects.exists()


def test_an_unknown_relation_is_refused(world: World) -> None:
    a, b = register(world, name="甲"), register(world, name="乙")
    with pytest.raises(ValidationFailed) as excinfo:
        family_link(actor=world.boss, clinic=world.clinic1, patient=a, relative=b, relation="pet")
    assert set(excinfo.value.fields) == {"relation"}
    assert not Family.objects.exists()


def test_a_relative_of_another_organization_is_not_found(world: World) -> None:
    patient = register(world)
    with tenant_scope(world.org_b, world.clinic_b):
        foreign = patient_create(actor=world.boss_b, clinic=world.clinic_b, name="外人")

    with pytest.raises(NotFound):
        family_link(
            actor=world.boss,
            clinic=world.clinic1,
            patient=patient,
            relative=foreign,
            relation="child",
        )

    assert not Family.objects.exists()
    with tenant_scope(world.org_b):
        assert Patient.objects.get(pk=foreign.pk).family_id is None


def test_unlinking_one_of_three_keeps_the_family(world: World) -> None:
    a, b, c = (register(world, name=n) for n in ("甲", "乙", "丙"))
    family = family_link(
        actor=world.boss, clinic=world.clinic1, patient=a, relative=b, relation="spouse"
    )
    family_link(actor=world.boss, clinic=world.clinic1, patient=a, relative=c, relation="child")

    family_unlink(actor=world.boss, clinic=world.clinic1, patient=c)

    c.refresh_from_db()
    assert (c.family_id, c.family_relation) == (None, "")
    assert set(Patient.objects.filter(family=family).values_list("pk", flat=True)) == {a.pk, b.pk}


def test_a_family_of_one_is_dissolved(world: World) -> None:
    a, b = register(world, name="甲"), register(world, name="乙")
    family = family_link(
        actor=world.boss, clinic=world.clinic1, patient=a, relative=b, relation="spouse"
    )

    family_unlink(actor=world.boss, clinic=world.clinic1, patient=b)

    a.refresh_from_db()
    assert (a.family_id, a.family_relation) == (None, "")
    assert not Family.objects.filter(pk=family.pk).exists()
    # And the one left behind can start a new family
    family_link(actor=world.boss, clinic=world.clinic1, patient=b, relative=a, relation="spouse")


def test_unlinking_a_patient_without_family_is_harmless(world: World) -> None:
    patient = register(world)
    audits = AuditEntry.objects.count()
    family_unlink(actor=world.boss, clinic=world.clinic1, patient=patient)
    assert AuditEntry.objects.count() == audits


# Tags


def test_adding_and_removing_a_tag_is_idempotent(world: World) -> None:
    patient = register(world)
    tag = tag_create(actor=world.boss, name="正畸意向")

    patient_tag_add(actor=world.frontdesk, clinic=world.clinic1, patient=patient, tag=tag)
    patient_tag_add(actor=world.frontdesk, clinic=world.clinic1, patient=patient, tag=tag)
    assert PatientTag.objects.filter(patient=patient, tag=tag).count() == 1
    assert [p.pk for p in patient_list(tag_id=tag.pk)] == [patient.pk]

    patient_tag_remove(actor=world.frontdesk, clinic=world.clinic1, patient=patient, tag=tag)
    patient_tag_remove(actor=world.frontdesk, clinic=world.clinic1, patient=patient, tag=tag)
    assert not PatientTag.objects.filter(patient=patient).exists()
    assert list(patient_list(tag_id=tag.pk)) == []


def test_a_tag_of_another_organization_cannot_be_put_on_a_patient(world: World) -> None:
    patient = register(world)
    with tenant_scope(world.org_b, world.clinic_b):
        foreign = tag_create(actor=world.boss_b, name="VIP")

    with pytest.raises(NotFound):
        patient_tag_add(actor=world.boss, clinic=world.clinic1, patient=patient, tag=foreign)

    assert not PatientTag.objects.exists()


def test_tag_names_are_unique_per_organization(world: World) -> None:
    tag_create(actor=world.boss, name="VIP")

    with pytest.raises(ValidationFailed) as excinfo:
        tag_create(actor=world.boss, name=" VIP ")
    assert set(excinfo.value.fields) == {"name"}

    with tenant_scope(world.org_b):
        assert tag_create(actor=world.boss_b, name="VIP").organization_id == world.org_b.pk


@pytest.mark.parametrize(
    ("name", "color"), [("", "#2563eb"), ("标" * 31, "#2563eb"), ("VIP", "red; x")]
)
def test_bad_tags_are_refused(world: World, name: str, color: str) -> None:
    with pytest.raises(ValidationFailed):
        tag_create(actor=world.boss, name=name, color=color)
    assert not Tag.objects.exists()


def test_a_very_long_chinese_name_gets_search_keys_that_fit_their_columns(world: World) -> None:
    patient = register(world, name="双" * 50)  # 300 letters of pinyin

    stored = Patient.objects.get(pk=patient.pk)
    assert stored.name_pinyin.startswith("shuangshuang")
    assert len(stored.name_pinyin) <= Patient._meta.get_field("name_pinyin").max_length
    assert stored.name_initials == "s" * 50
    assert [p.pk for p in patient_list(query="shuangs")] == [patient.pk]


def test_services_write_into_the_current_tenant_only(world: World, in_org_a: Tenant) -> None:
    patient = register(world)
    with tenant_scope(world.org_b):
        assert not Patient.objects.filter(pk=patient.pk).exists()
