"""The audit log of patient data: who changed what, where, when; secrets never in the clear."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from chairside.core.crypto import blind_index
from chairside.core.models import AuditEntry
from chairside.core.resident_id import make_resident_id
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
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

ID_NUMBER = make_resident_id("110101", date(1990, 3, 7), 451)
CORRECTED_ID = make_resident_id("110101", date(1990, 3, 7), 453)


def entries_for(patient: Patient) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(entity_type="patients.patient", entity_id=str(patient.pk))
        .select_related("actor", "clinic")
        .order_by("id")
    )


def test_registration_is_audited_with_actor_clinic_and_the_new_values(world: World) -> None:
    patient = patient_create(
        actor=world.frontdesk, clinic=world.clinic1, name="张三", phone="13800138000"
    )

    [entry] = entries_for(patient)
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.actor == world.frontdesk
    assert entry.clinic == world.clinic1
    assert entry.organization_id == world.org.pk
    assert entry.before is None
    assert entry.after is not None
    assert entry.after["name"] == "张三"
    assert entry.after["phone"] == "13800138000"
    assert entry.created_at is not None


def test_an_edit_records_only_the_changed_fields_before_and_after(world: World) -> None:
    patient = patient_create(
        actor=world.frontdesk, clinic=world.clinic1, name="张三", phone="13800138000"
    )

    patient_update(
        actor=world.doctor,
        clinic=world.clinic2,
        patient=patient,
        name="李四",
        phone="13800138000",  # unchanged: not recorded
        note="",  # unchanged
    )

    entry = entries_for(patient)[-1]
    assert entry.action == AuditEntry.Action.UPDATE
    assert (entry.actor, entry.clinic) == (world.doctor, world.clinic2)
    assert entry.before == {"name": "张三", "name_pinyin": "zhangsan", "name_initials": "zs"}
    assert entry.after == {"name": "李四", "name_pinyin": "lisi", "name_initials": "ls"}


def test_an_edit_that_changes_nothing_is_not_audited(world: World) -> None:
    patient = patient_create(actor=world.frontdesk, clinic=world.clinic1, name="张三")

    patient_update(actor=world.doctor, clinic=world.clinic1, patient=patient, name=" 张三 ")

    assert len(entries_for(patient)) == 1


def test_archiving_is_audited_as_a_delete(world: World) -> None:
    patient = patient_create(actor=world.frontdesk, clinic=world.clinic1, name="张三")

    patient_archive(actor=world.boss, clinic=world.clinic1, patient=patient)

    entry = entries_for(patient)[-1]
    assert entry.action == AuditEntry.Action.DELETE
    assert entry.actor == world.boss
    assert (entry.before, entry.after) == ({"is_archived": False}, {"is_archived": True})


def test_tags_added_and_removed_are_audited_once_each(world: World) -> None:
    patient = patient_create(actor=world.frontdesk, clinic=world.clinic1, name="张三")
    tag = tag_create(actor=world.boss, name="VIP")

    patient_tag_add(actor=world.frontdesk, clinic=world.clinic1, patient=patient, tag=tag)
    patient_tag_add(actor=world.frontdesk, clinic=world.clinic1, patient=patient, tag=tag)
    patient_tag_remove(actor=world.doctor, clinic=world.clinic1, patient=patient, tag=tag)
    patient_tag_remove(actor=world.doctor, clinic=world.clinic1, patient=patient, tag=tag)

    added, removed = entries_for(patient)[1:]
    assert (added.actor, added.after) == (world.frontdesk, {"tag_added": "VIP"})
    assert (removed.actor, removed.before) == (world.doctor, {"tag_removed": "VIP"})


def test_family_changes_are_audited_on_every_member_they_touch(world: World) -> None:
    mother = patient_create(actor=world.frontdesk, clinic=world.clinic1, name="王芳")
    child = patient_create(actor=world.frontdesk, clinic=world.clinic1, name="李小明")

    family = family_link(
        actor=world.frontdesk,
        clinic=world.clinic1,
        patient=mother,
        relative=child,
        relation="child",
    )
    assert entries_for(mother)[-1].after == {"family_id": family.pk, "relative": child.pk}
    assert entries_for(child)[-1].after == {"family_id": family.pk, "relative": mother.pk}

    # When the child leaves, the family of one left behind is dissolved: both are changed
    family_unlink(actor=world.boss, clinic=world.clinic1, patient=child)

    for member in (child, mother):
        entry = entries_for(member)[-1]
        assert entry.actor == world.boss
        assert (entry.before, entry.after) == ({"family_id": family.pk}, {"family_id": None})


def test_the_id_number_never_appears_in_the_audit_log(world: World) -> None:
    # Given a patient registered with an ID number that is later corrected, then removed
    patient = patient_create(
        actor=world.frontdesk, clinic=world.clinic1, name="张三", id_number=ID_NUMBER
    )
    patient_update(
        actor=world.frontdesk, clinic=world.clinic1, patient=patient, id_number=CORRECTED_ID
    )
    patient_update(actor=world.frontdesk, clinic=world.clinic1, patient=patient, id_number="")

    # Then every change is in the log
    actions = [(e.action, sorted((e.after or {}).keys())) for e in entries_for(patient)]
    assert actions[0][0] == AuditEntry.Action.CREATE
    assert len(actions) == 3
    assert all("id_number" in keys for _action, keys in actions[1:])

    # And no row holds any of the numbers, or their blind index, in any column
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM core_auditentry")
        raw = repr(cursor.fetchall())
    for secret in (ID_NUMBER, CORRECTED_ID, blind_index(ID_NUMBER), blind_index(CORRECTED_ID)):
        assert secret not in raw
    # Not even partly: the birth-date digits and the tail identify a person too
    assert ID_NUMBER[-8:] not in raw
    assert CORRECTED_ID[-8:] not in raw


def test_the_id_number_is_stored_encrypted(world: World) -> None:
    patient = patient_create(
        actor=world.frontdesk, clinic=world.clinic1, name="张三", id_number=ID_NUMBER
    )

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, id_number_digest FROM patients_patient WHERE id = %s", [patient.pk]
        )
        raw_number, digest = cursor.fetchone()

    assert raw_number != ID_NUMBER
    assert ID_NUMBER not in raw_number
    assert ID_NUMBER[-8:] not in raw_number
    assert digest == blind_index(ID_NUMBER)
    assert Patient.objects.get(pk=patient.pk).id_number == ID_NUMBER


def test_audit_entries_belong_to_the_organization_of_the_change(world: World) -> None:
    patient_create(actor=world.frontdesk, clinic=world.clinic1, name="张三")
    with tenant_scope(world.org_b, world.clinic_b):
        patient_create(actor=world.boss_b, clinic=world.clinic_b, name="李四")
        assert AuditEntry.objects.count() == 1
        assert AuditEntry.objects.get().actor == world.boss_b
