"""Patient reads: search as a front desk types, lookups, pages, referrals and the timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from chairside.core.errors import NotFound
from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.patients.selectors import (
    family_members,
    get_patient,
    get_segment,
    get_tag,
    paginate,
    patient_list,
    patient_timeline,
    referral_detail,
    referral_leaderboard,
)
from chairside.patients.services import (
    family_link,
    patient_archive,
    patient_create,
    patient_tag_add,
    patient_update,
    segment_save,
    tag_create,
)
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("in_org_a")


def register(world: World, name: str, *, clinic: Any = None, **values: Any) -> Patient:
    return patient_create(
        actor=world.frontdesk, clinic=clinic or world.clinic1, name=name, **values
    )


def names(query: str, **kwargs: Any) -> set[str]:
    return {p.name for p in patient_list(query=query, **kwargs)}


@pytest.fixture
def patients(world: World) -> dict[str, Patient]:
    people = {
        "张三": "13800138000",
        "张伟": "13912345678",
        "章子怡": "13698765432",
        "李四": "15000008000",
        "王小明": "18611112222",
    }
    return {name: register(world, name, phone=phone) for name, phone in people.items()}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("张", {"张三", "张伟"}),  # Chinese name prefix
        ("张三", {"张三"}),
        ("zhangsan", {"张三"}),  # full pinyin
        ("zhangs", {"张三"}),  # full pinyin, still typing
        ("ZhangSan", {"张三"}),
        ("zhang san", {"张三"}),
        ("zhang", {"张三", "张伟", "章子怡"}),  # 章 sounds the same
        ("zs", {"张三"}),  # initials
        ("ZS", {"张三"}),
        ("zw", {"张伟"}),
        ("wxm", {"王小明"}),
        ("z", {"张三", "张伟", "章子怡"}),
        ("138001", {"张三"}),  # mobile prefix
        ("8000", {"张三", "李四"}),  # last four digits of the mobile
        ("2222", {"王小明"}),
        ("", {"张三", "张伟", "章子怡", "李四", "王小明"}),
        ("   ", {"张三", "张伟", "章子怡", "李四", "王小明"}),
        ("赵", set()),
        ("xyz", set()),
        ("13800000000", set()),
    ],
)
def test_search_finds_what_the_front_desk_types(
    patients: dict[str, Patient], query: str, expected: set[str]
) -> None:
    assert names(query) == expected


def test_search_by_record_number(world: World, patients: dict[str, Patient]) -> None:
    manual = register(world, "刘备", record_no="OLD-0042")

    assert names(patients["李四"].record_no) == {"李四"}
    assert names("old-00") == {"刘备"}
    assert names(manual.record_no) == {"刘备"}


def test_search_finds_surnames_by_their_surname_reading(world: World) -> None:
    register(world, "曾小华")
    assert names("zxh") == {"曾小华"}
    assert names("zeng") == {"曾小华"}


def test_search_never_returns_another_organizations_patients(
    world: World, patients: dict[str, Patient]
) -> None:
    # Given organization B has a patient with the same name and phone
    with tenant_scope(world.org_b, world.clinic_b):
        twin = patient_create(
            actor=world.boss_b, clinic=world.clinic_b, name="张三", phone="13800138000"
        )

    # Then no way of searching from A finds B's patient
    for query in ("张三", "zs", "zhangsan", "138001", "8000", twin.record_no, ""):
        assert twin.pk not in {p.pk for p in patient_list(query=query, include_archived=True)}
    # And B sees only its own
    with tenant_scope(world.org_b):
        assert [p.pk for p in patient_list(query="zs")] == [twin.pk]


def test_archived_patients_are_found_only_when_asked_for(
    world: World, patients: dict[str, Patient]
) -> None:
    patient_archive(actor=world.boss, clinic=world.clinic1, patient=patients["张三"])

    assert names("zs") == set()
    assert names("zs", include_archived=True) == {"张三"}


def test_the_list_shows_the_newest_patients_first(patients: dict[str, Patient]) -> None:
    assert [p.name for p in patient_list()] == ["王小明", "李四", "章子怡", "张伟", "张三"]


def test_the_list_does_not_query_once_per_row(
    world: World, django_assert_max_num_queries: Any
) -> None:
    # Given twenty patients in families, with tags
    tag = tag_create(actor=world.boss, name="VIP")
    people = [register(world, f"患者{i}") for i in range(20)]
    for head, relative in zip(people[::2], people[1::2], strict=True):
        family_link(
            actor=world.boss,
            clinic=world.clinic1,
            patient=head,
            relative=relative,
            relation="child",
        )
        patient_tag_add(actor=world.boss, clinic=world.clinic1, patient=head, tag=tag)

    # When a list page renders what it shows of each row
    with django_assert_max_num_queries(3):
        rows = [
            (
                p.name,
                p.first_clinic.name,
                p.family.name if p.family else "",
                [link.tag.name for link in p.tag_links.all()],
            )
            for p in patient_list()
        ]

    assert len(rows) == 20


def test_get_patient_gives_the_same_not_found_for_missing_and_foreign_ids(
    world: World, patients: dict[str, Patient]
) -> None:
    with tenant_scope(world.org_b, world.clinic_b):
        foreign = patient_create(actor=world.boss_b, clinic=world.clinic_b, name="外人")

    with pytest.raises(NotFound) as foreign_error:
        get_patient(patient_id=foreign.pk)
    with pytest.raises(NotFound) as missing_error:
        get_patient(patient_id=foreign.pk + 1000)

    assert str(foreign_error.value) == str(missing_error.value)
    assert foreign_error.value.status == missing_error.value.status == 404
    assert get_patient(patient_id=patients["张三"].pk).name == "张三"


def test_get_patient_can_leave_out_archived_patients(
    world: World, patients: dict[str, Patient]
) -> None:
    patient = patients["张三"]
    patient_archive(actor=world.boss, clinic=world.clinic1, patient=patient)

    assert get_patient(patient_id=patient.pk).is_archived
    with pytest.raises(NotFound):
        get_patient(patient_id=patient.pk, include_archived=False)


def test_tags_and_segments_of_another_organization_are_not_found(world: World) -> None:
    with tenant_scope(world.org_b):
        tag = tag_create(actor=world.boss_b, name="VIP")
        segment = segment_save(actor=world.boss_b, name="Kids", rules={"age_max": 12})

    with pytest.raises(NotFound):
        get_tag(tag_id=tag.pk)
    with pytest.raises(NotFound):
        get_segment(segment_id=segment.pk)


# Pagination


@pytest.mark.parametrize(
    ("page", "page_size", "count", "total", "pages", "has_next", "has_previous"),
    [
        (1, 20, 20, 45, 3, True, False),
        (2, 20, 20, 45, 3, True, True),
        (3, 20, 5, 45, 3, False, True),
        (4, 20, 0, 45, 3, False, True),  # past the end: empty, but the total is still right
        (0, 20, 20, 45, 3, True, False),  # page 0 means the first
        (1, 1000, 45, 45, 1, False, False),  # at most 100 per page
        (1, 0, 1, 45, 45, True, False),
    ],
)
def test_pages_know_their_totals(
    world: World,
    page: int,
    page_size: int,
    count: int,
    total: int,
    pages: int,
    has_next: bool,
    has_previous: bool,
) -> None:
    for i in range(45):
        register(world, f"患者{i}")

    result = paginate(patient_list(), page=page, page_size=page_size)

    assert len(result.items) == count
    assert (result.total, result.pages) == (total, pages)
    assert (result.has_next, result.has_previous) == (has_next, has_previous)


def test_pages_do_not_overlap(world: World) -> None:
    for i in range(25):
        register(world, f"患者{i}")

    first = paginate(patient_list(), page=1, page_size=10).items
    second = paginate(patient_list(), page=2, page_size=10).items
    third = paginate(patient_list(), page=3, page_size=10).items

    ids = [p.pk for p in first + second + third]
    assert len(ids) == len(set(ids)) == 25


def test_a_page_of_an_empty_result(world: World) -> None:
    result = paginate(patient_list(query="nobody"), page=1)
    assert (result.items, result.total, result.pages, result.has_next) == ([], 0, 1, False)


# Families and referrals


def test_family_members_are_the_others_in_the_family(world: World) -> None:
    a, b, c = (register(world, n) for n in ("甲", "乙", "丙"))
    family_link(actor=world.boss, clinic=world.clinic1, patient=a, relative=b, relation="spouse")
    family_link(actor=world.boss, clinic=world.clinic1, patient=a, relative=c, relation="child")
    a, c = get_patient(patient_id=a.pk), get_patient(patient_id=c.pk)

    assert [p.pk for p in family_members(patient=a)] == [b.pk, c.pk]
    assert [p.pk for p in family_members(patient=c)] == [a.pk, b.pk]
    assert family_members(patient=register(world, "丁")) == []


def test_referral_counts_add_up_over_every_clinic_of_the_chain(world: World) -> None:
    # Given a patient of clinic 1 who brought three people, one of them to clinic 2
    star = register(world, "王芳")
    other = register(world, "李四", clinic=world.clinic2)
    register(world, "甲", referrer_id=star.pk)
    register(world, "乙", referrer_id=star.pk)
    register(world, "丙", clinic=world.clinic2, referrer_id=star.pk)
    register(world, "丁", referrer_id=other.pk)
    register(world, "戊")

    board = list(referral_leaderboard())

    assert [(p.name, p.referral_count) for p in board] == [("王芳", 3), ("李四", 1)]


def test_referral_detail_rows_name_the_clinic_of_each_referred_patient(world: World) -> None:
    star = register(world, "王芳")
    register(world, "甲", referrer_id=star.pk)
    register(world, "丙", clinic=world.clinic2, referrer_id=star.pk)

    rows = [(p.name, p.first_clinic.name) for p in referral_detail(referrer=star)]

    assert rows == [("丙", "Riverside Clinic"), ("甲", "Downtown Clinic")]


def test_referrals_of_another_organization_do_not_count(world: World) -> None:
    star = register(world, "王芳")
    with tenant_scope(world.org_b, world.clinic_b):
        b_star = patient_create(actor=world.boss_b, clinic=world.clinic_b, name="B")
        patient_create(actor=world.boss_b, clinic=world.clinic_b, name="C", referrer_id=b_star.pk)

    assert list(referral_leaderboard()) == []
    assert list(referral_detail(referrer=star)) == []


# Timeline


def test_the_timeline_merges_changes_and_referrals_newest_first(world: World) -> None:
    # Given a patient's registration, a referral they made, a tag and an edit, on four days
    now = timezone.now()
    patient = register(world, "王芳")
    referred = register(world, "李四", clinic=world.clinic2, referrer_id=patient.pk)
    tag = tag_create(actor=world.boss, name="VIP")
    patient_tag_add(actor=world.frontdesk, clinic=world.clinic1, patient=patient, tag=tag)
    patient_update(actor=world.doctor, clinic=world.clinic2, patient=patient, note="怕疼")
    create, tagged, edited = AuditEntry.objects.filter(
        entity_type="patients.patient", entity_id=str(patient.pk)
    ).order_by("id")
    AuditEntry.objects.filter(pk=create.pk).update(created_at=now - timedelta(days=4))
    Patient.objects.filter(pk=referred.pk).update(created_at=now - timedelta(days=3))
    AuditEntry.objects.filter(pk=tagged.pk).update(created_at=now - timedelta(days=2))
    AuditEntry.objects.filter(pk=edited.pk).update(created_at=now - timedelta(days=1))
    # A record of someone looking at the file is not an event of the patient's history
    AuditEntry.objects.create(
        clinic=world.clinic1,
        actor=world.boss,
        action=AuditEntry.Action.VIEW,
        entity_type="patients.patient",
        entity_id=str(patient.pk),
    )

    events = patient_timeline(patient=patient)

    assert [e.kind for e in events] == ["update", "update", "referral", "create"]
    assert [e.at for e in events] == sorted((e.at for e in events), reverse=True)
    assert (events[0].actor, events[0].clinic) == ("Dr. Li", "Riverside Clinic")
    assert "李四" in events[2].title
    assert events[2].clinic == "Riverside Clinic"
    assert events[3].actor == "Front Desk"


def test_the_timeline_shows_only_this_patient(world: World) -> None:
    patient = register(world, "王芳")
    other = register(world, "李四")
    patient_update(actor=world.doctor, clinic=world.clinic1, patient=other, note="x")

    assert [e.kind for e in patient_timeline(patient=patient)] == ["create"]


def test_the_timeline_is_cut_to_its_limit(world: World) -> None:
    patient = register(world, "王芳")
    for i in range(5):
        patient_update(actor=world.doctor, clinic=world.clinic1, patient=patient, note=str(i))

    assert len(patient_timeline(patient=patient, limit=3)) == 3
