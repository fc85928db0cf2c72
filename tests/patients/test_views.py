"""Patient pages: search, profile, forms with errors at the field, tags, family, referrals,
segments, permissions and isolation between organizations."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chairside.core.models import AuditEntry, Staff
from chairside.core.resident_id import make_resident_id
from chairside.core.services import staff_create
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Family, Gender, Patient, PatientTag, Segment, Tag
from chairside.patients.services import (
    family_link,
    patient_create,
    patient_tag_add,
    segment_save,
    tag_create,
)
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("in_org_a")

BIRTH = date(1990, 3, 7)
MAN_ID = make_resident_id("110101", BIRTH, 451)  # odd sequence: a man


def register(world: World, name: str, **values: Any) -> Patient:
    return patient_create(actor=world.frontdesk, clinic=world.clinic1, name=name, **values)


@pytest.fixture
def zhang(world: World) -> Patient:
    return register(world, "张三", phone="13800138000", gender=Gender.MALE, birth_date=BIRTH)


@pytest.fixture
def li(world: World) -> Patient:
    return register(world, "李四", phone="13912345678")


def signed_in(client: Client, staff: Staff) -> Client:
    client.force_login(staff)
    return client


def bad_checksum(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def html(response: Any) -> str:
    return str(response.content.decode())


def field_error(response: Any, field: str) -> str:
    """The first error the page shows at `field` (and assert it is in the HTML)."""
    errors = response.context["form"].errors.get(field)
    assert errors, f"no error at {field}: {response.context['form'].errors}"
    assert str(errors[0]) in html(response) or str(errors[0]).replace("'", "&#x27;") in html(
        response
    )
    return str(errors[0])


# List and search


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, world: World) -> None:
    response = client.get(reverse("patients:list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core:login"))


def test_list_shows_patients_with_phone_clinic_and_tags(
    client: Client, world: World, zhang: Patient, li: Patient
) -> None:
    tag = tag_create(actor=world.boss, name="Ortho interest")
    patient_tag_add(actor=world.boss, clinic=world.clinic1, patient=zhang, tag=tag)

    response = signed_in(client, world.frontdesk).get(reverse("patients:list"))

    assert response.status_code == 200
    page = html(response)
    for text in (
        "张三",
        "李四",
        zhang.record_no,
        "13800138000",
        "Downtown Clinic",
        "Ortho interest",
    ):
        assert text in page
    assert reverse("patients:detail", args=[zhang.pk]) in page


@pytest.mark.parametrize(
    ("query", "expected", "absent"),
    [
        ("zs", "张三", "李四"),  # pinyin initials
        ("zhangsan", "张三", "李四"),  # full pinyin
        ("张", "张三", "李四"),  # name prefix
        ("138001", "张三", "李四"),  # phone prefix
        ("5678", "李四", "张三"),  # last four digits of the phone
        ("ls", "李四", "张三"),
    ],
)
def test_search_finds_by_pinyin_name_and_phone(
    client: Client,
    world: World,
    zhang: Patient,
    li: Patient,
    query: str,
    expected: str,
    absent: str,
) -> None:
    response = signed_in(client, world.frontdesk).get(reverse("patients:list"), {"q": query})

    assert response.status_code == 200
    assert expected in html(response)
    assert absent not in html(response)


def test_search_by_record_number(client: Client, world: World, zhang: Patient, li: Patient) -> None:
    response = signed_in(client, world.frontdesk).get(reverse("patients:list"), {"q": li.record_no})

    assert [row.patient.pk for row in response.context["rows"]] == [li.pk]


def test_htmx_search_returns_only_the_results_table(
    client: Client, world: World, zhang: Patient, li: Patient
) -> None:
    client = signed_in(client, world.frontdesk)

    partial = client.get(reverse("patients:list"), {"q": "zs"}, HTTP_HX_REQUEST="true")
    full = client.get(reverse("patients:list"), {"q": "zs"})

    assert partial.status_code == 200
    assert "张三" in html(partial)
    assert "李四" not in html(partial)
    assert "<html" not in html(partial).lower()
    assert 'id="patient-filters"' not in html(partial)
    assert "<html" in html(full).lower()
    assert 'id="patient-filters"' in html(full)
    # The address bar keeps the search, without the empty filters.
    assert partial["HX-Push-Url"] == reverse("patients:list") + "?q=zs"
    assert "HX-Request" in partial["Vary"]
    assert "HX-Request" in full["Vary"]


def test_htmx_history_restore_gets_the_whole_page(
    client: Client, world: World, zhang: Patient
) -> None:
    response = signed_in(client, world.frontdesk).get(
        reverse("patients:list"),
        {"q": "zs"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )

    assert 'id="patient-filters"' in html(response)


def test_search_page_wires_the_live_search(client: Client, world: World) -> None:
    page = html(signed_in(client, world.frontdesk).get(reverse("patients:list")))

    assert 'hx-trigger="keyup changed delay:250ms, search"' in page
    assert 'hx-target="#patient-results"' in page
    assert 'hx-push-url="true"' in page


def test_filter_by_tag(client: Client, world: World, zhang: Patient, li: Patient) -> None:
    tag = tag_create(actor=world.boss, name="VIP")
    patient_tag_add(actor=world.boss, clinic=world.clinic1, patient=li, tag=tag)

    response = signed_in(client, world.frontdesk).get(reverse("patients:list"), {"tag": tag.pk})

    assert [row.patient.pk for row in response.context["rows"]] == [li.pk]


def test_filter_by_segment(client: Client, world: World, zhang: Patient, li: Patient) -> None:
    segment = segment_save(actor=world.boss, name="Men", rules={"gender": "male"})

    response = signed_in(client, world.boss).get(reverse("patients:list"), {"segment": segment.pk})

    assert [row.patient.pk for row in response.context["rows"]] == [zhang.pk]


def test_archived_patients_are_listed_only_on_request(
    client: Client, world: World, zhang: Patient, li: Patient
) -> None:
    Patient.objects.filter(pk=li.pk).update(is_archived=True)
    client = signed_in(client, world.frontdesk)

    default = client.get(reverse("patients:list"))
    with_archived = client.get(reverse("patients:list"), {"archived": "1"})

    assert [r.patient.pk for r in default.context["rows"]] == [zhang.pk]
    assert {r.patient.pk for r in with_archived.context["rows"]} == {zhang.pk, li.pk}


def test_list_paginates(client: Client, world: World) -> None:
    for i in range(25):
        register(world, f"Patient {i:02d}")
    client = signed_in(client, world.frontdesk)

    first = client.get(reverse("patients:list"))
    second = client.get(reverse("patients:list"), {"page": 2})

    assert len(first.context["rows"]) == 20
    assert len(second.context["rows"]) == 5
    assert first.context["page"].total == 25


def test_empty_list_invites_registration(client: Client, world: World) -> None:
    response = signed_in(client, world.frontdesk).get(reverse("patients:list"))

    assert response.context["rows"] == []
    assert reverse("patients:create") in html(response)


def _list_queries(client: Client, url: str, params: dict[str, Any], **headers: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params, **headers)
    assert response.status_code == 200
    return len(queries)


def test_list_query_count_does_not_grow_with_rows(client: Client, world: World) -> None:
    tag = tag_create(actor=world.boss, name="Ortho")
    client = signed_in(client, world.frontdesk)

    def add(n: int) -> None:
        for i in range(n):
            patient = register(world, f"Patient {i}")
            patient_tag_add(actor=world.boss, clinic=world.clinic1, patient=patient, tag=tag)
            # Family members are shown via select_related: make some.
            if i % 2:
                family_link(
                    actor=world.boss,
                    clinic=world.clinic1,
                    patient=patient,
                    relative=register(world, f"Kid {i}"),
                    relation="child",
                )

    add(25)
    few = _list_queries(client, reverse("patients:list"), {"page": 2})
    add(40)
    many = _list_queries(client, reverse("patients:list"), {"page": 2})
    partial = _list_queries(client, reverse("patients:list"), {"page": 2}, HTTP_HX_REQUEST="true")

    assert few == many
    assert many <= 12
    assert partial < many  # the partial skips the filter options


def test_referral_and_segment_pages_have_flat_query_counts(client: Client, world: World) -> None:
    client = signed_in(client, world.boss)
    segment = segment_save(actor=world.boss, name="All", rules={})

    def add_referrals(n: int) -> None:
        for i in range(n):
            referrer = register(world, f"Referrer {i}")
            register(world, f"Friend {i}", referrer_id=referrer.pk)

    add_referrals(25)
    referrals_few = _list_queries(client, reverse("patients:referrals"), {"page": 2})
    segment_few = _list_queries(
        client, reverse("patients:segment_detail", args=[segment.pk]), {"page": 2}
    )
    add_referrals(30)
    referrals_many = _list_queries(client, reverse("patients:referrals"), {"page": 2})
    segment_many = _list_queries(
        client, reverse("patients:segment_detail", args=[segment.pk]), {"page": 2}
    )

    assert referrals_few == referrals_many
    assert segment_few == segment_many


# Detail


def test_detail_shows_header_profile_and_timeline(
    client: Client, world: World, zhang: Patient
) -> None:
    response = signed_in(client, world.frontdesk).get(reverse("patients:detail", args=[zhang.pk]))

    assert response.status_code == 200
    page = html(response)
    assert "张三" in page
    assert zhang.record_no in page
    assert "13800138000" in page
    timeline = response.context["timeline"]
    assert [e.kind for e in timeline] == ["create"]
    assert "Downtown Clinic" in timeline[0].title


def test_id_number_is_masked_without_permission(client: Client, world: World) -> None:
    patient = register(world, "王五", id_number=MAN_ID)

    doctor_view = html(
        signed_in(Client(), world.doctor).get(reverse("patients:detail", args=[patient.pk]))
    )
    desk_view = html(
        signed_in(client, world.frontdesk).get(reverse("patients:detail", args=[patient.pk]))
    )

    assert MAN_ID not in doctor_view
    assert MAN_ID[:6] + "********" + MAN_ID[-4:] in doctor_view
    assert MAN_ID in desk_view


def test_timeline_names_edited_fields(client: Client, world: World, zhang: Patient) -> None:
    client = signed_in(client, world.frontdesk)
    client.post(
        reverse("patients:edit", args=[zhang.pk]),
        {"name": "张三", "phone": "13700137000", "gender": "male", "birth_date": "1990-03-07"},
    )

    detail_page = reverse("patients:detail", args=[zhang.pk])
    timeline = client.get(detail_page, HTTP_ACCEPT_LANGUAGE="en").context["timeline"]

    assert timeline[0].kind == "update"
    assert timeline[0].detail == "Mobile"
    chinese = client.get(detail_page, HTTP_ACCEPT_LANGUAGE="zh-hans").context["timeline"]
    assert chinese[0].detail == "手机号"


def test_detail_shows_referrals_with_clinics(client: Client, world: World, zhang: Patient) -> None:
    friend = patient_create(
        actor=world.boss, clinic=world.clinic2, name="赵六", referrer_id=zhang.pk
    )

    referrer_page = signed_in(client, world.frontdesk).get(
        reverse("patients:detail", args=[zhang.pk])
    )
    friend_page = client.get(reverse("patients:detail", args=[friend.pk]))

    assert [p.pk for p in referrer_page.context["referred"]] == [friend.pk]
    assert "Riverside Clinic" in html(referrer_page)
    assert reverse("patients:detail", args=[zhang.pk]) in html(friend_page)


# Create and edit


def valid_form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "王小明",
        "phone": "138 0013 8000",
        "gender": "unknown",
        "birth_date": "",
        "id_number": "",
        "source": "",
        "referrer_id": "",
        "record_no": "",
        "address": "",
        "note": "",
    }
    data.update(overrides)
    return data


def test_create_registers_and_redirects_to_the_profile(client: Client, world: World) -> None:
    response = signed_in(client, world.frontdesk).post(
        reverse("patients:create"), valid_form(id_number=MAN_ID.lower())
    )

    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])
    assert patient.phone == "13800138000"
    assert patient.id_number == MAN_ID
    # The ID number is authoritative for birth date and gender.
    assert (patient.birth_date, patient.gender) == (BIRTH, Gender.MALE)
    assert patient.first_clinic == world.clinic1
    assert patient.created_by == world.frontdesk
    follow = client.get(response["Location"])
    assert any(patient.name in str(m) for m in follow.context["messages"])


def test_create_with_a_referrer_marks_the_source(
    client: Client, world: World, zhang: Patient
) -> None:
    signed_in(client, world.frontdesk).post(
        reverse("patients:create"), valid_form(referrer_id=str(zhang.pk), phone="")
    )

    patient = Patient.objects.get(name="王小明")
    assert patient.referrer == zhang
    assert patient.source == "referral"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"id_number": bad_checksum(MAN_ID)}, "id_number"),
        ({"name": "  "}, "name"),
        ({"birth_date": "1990-13-45"}, "birth_date"),
        ({"id_number": MAN_ID, "birth_date": "1991-01-01"}, "birth_date"),
    ],
)
def test_create_shows_errors_at_the_field_and_writes_nothing(
    client: Client, world: World, overrides: dict[str, str], field: str
) -> None:
    response = signed_in(client, world.frontdesk).post(
        reverse("patients:create"), valid_form(**overrides)
    )

    assert response.status_code == 400
    field_error(response, field)
    # What the clerk typed is kept.
    assert response.context["form"]["name"].value() == valid_form(**overrides)["name"]
    assert not Patient.objects.exists()
    assert not AuditEntry.objects.exists()


def test_create_rejects_a_duplicate_record_number(
    client: Client, world: World, zhang: Patient
) -> None:
    response = signed_in(client, world.frontdesk).post(
        reverse("patients:create"), valid_form(record_no=zhang.record_no.lower())
    )

    assert response.status_code == 400
    field_error(response, "record_no")
    assert Patient.objects.count() == 1


def test_create_rejects_a_referrer_of_another_organization(client: Client, world: World) -> None:
    with tenant_scope(world.org_b, world.clinic_b):
        foreign = patient_create(actor=world.boss_b, clinic=world.clinic_b, name="Other")

    response = signed_in(client, world.frontdesk).post(
        reverse("patients:create"), valid_form(referrer_id=str(foreign.pk))
    )

    assert response.status_code == 400
    assert response.context["form"].errors["referrer_id"]
    assert not Patient.objects.exists()


def test_create_form_page_renders(client: Client, world: World) -> None:
    response = signed_in(client, world.frontdesk).get(reverse("patients:create"))

    assert response.status_code == 200
    assert 'name="referrer_id"' in html(response)
    assert reverse("patients:pick") in html(response)


def test_edit_saves_changes(client: Client, world: World, zhang: Patient) -> None:
    client = signed_in(client, world.frontdesk)
    form = client.get(reverse("patients:edit", args=[zhang.pk])).context["form"]
    assert form["name"].value() == "张三"

    response = client.post(
        reverse("patients:edit", args=[zhang.pk]),
        valid_form(name="张三丰", phone="13700137000", gender="male", birth_date="1990-03-07"),
    )

    assert response.status_code == 302
    zhang.refresh_from_db()
    assert (zhang.name, zhang.phone, zhang.name_initials) == ("张三丰", "13700137000", "zsf")


def test_edit_errors_are_shown_and_nothing_changes(
    client: Client, world: World, zhang: Patient
) -> None:
    response = signed_in(client, world.frontdesk).post(
        reverse("patients:edit", args=[zhang.pk]), valid_form(name="张三", phone="999")
    )

    assert response.status_code == 400
    field_error(response, "phone")
    zhang.refresh_from_db()
    assert zhang.phone == "13800138000"


def test_edit_by_staff_without_id_permission_keeps_the_hidden_number(
    client: Client, world: World
) -> None:
    patient = register(world, "王五", id_number=MAN_ID)
    client = signed_in(client, world.doctor)

    form = client.get(reverse("patients:edit", args=[patient.pk])).context["form"]
    assert form["id_number"].value() in ("", None)
    assert MAN_ID not in html(client.get(reverse("patients:edit", args=[patient.pk])))
    response = client.post(
        reverse("patients:edit", args=[patient.pk]),
        valid_form(name="王五", gender="male", birth_date="1990-03-07", address="Road 1"),
    )

    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.id_number, patient.address) == (MAN_ID, "Road 1")


def test_doctor_cannot_register_patients(client: Client, world: World) -> None:
    client = signed_in(client, world.doctor)

    assert client.get(reverse("patients:create")).status_code == 403
    assert client.post(reverse("patients:create"), valid_form()).status_code == 403
    assert not Patient.objects.exists()


# Archive


def test_archive_needs_permission(client: Client, world: World, zhang: Patient) -> None:
    url = reverse("patients:archive", args=[zhang.pk])

    assert signed_in(Client(), world.frontdesk).post(url).status_code == 403
    assert signed_in(Client(), world.doctor).post(url).status_code == 403
    zhang.refresh_from_db()
    assert not zhang.is_archived

    response = signed_in(client, world.boss).post(url)

    assert response.status_code == 302
    zhang.refresh_from_db()
    assert zhang.is_archived


def test_archive_is_post_only(client: Client, world: World, zhang: Patient) -> None:
    response = signed_in(client, world.boss).get(reverse("patients:archive", args=[zhang.pk]))

    assert response.status_code == 405


# Tags


def test_tag_add_and_remove(client: Client, world: World, zhang: Patient) -> None:
    tag = tag_create(actor=world.boss, name="Ortho interest")
    client = signed_in(client, world.frontdesk)

    added = client.post(reverse("patients:tag_add", args=[zhang.pk]), {"tag_id": tag.pk})
    assert added.status_code == 302
    assert PatientTag.objects.filter(patient=zhang, tag=tag).exists()

    removed = client.post(reverse("patients:tag_remove", args=[zhang.pk, tag.pk]))
    assert removed.status_code == 302
    assert not PatientTag.objects.filter(patient=zhang, tag=tag).exists()


def test_a_nurse_cannot_tag(client: Client, world: World, zhang: Patient) -> None:
    nurse = staff_create(
        organization=world.org,
        username="nurse",
        display_name="Nurse",
        password="correct-horse-42",
        roles=[("nurse", world.clinic1)],
    )
    tag = tag_create(actor=world.boss, name="VIP")

    response = signed_in(client, nurse).post(
        reverse("patients:tag_add", args=[zhang.pk]), {"tag_id": tag.pk}
    )

    assert response.status_code == 403
    assert not PatientTag.objects.exists()


def test_tags_page_lists_counts_and_creates_with_permission(
    client: Client, world: World, zhang: Patient
) -> None:
    tag = tag_create(actor=world.boss, name="VIP")
    patient_tag_add(actor=world.boss, clinic=world.clinic1, patient=zhang, tag=tag)

    listing = signed_in(client, world.frontdesk).get(reverse("patients:tags"))
    assert [(t.name, t.patient_count) for t in listing.context["tags"]] == [("VIP", 1)]
    denied = client.post(reverse("patients:tags"), {"name": "Lapsed", "color": "#ff0000"})
    assert denied.status_code == 403

    boss = signed_in(Client(), world.boss)
    created = boss.post(reverse("patients:tags"), {"name": "Lapsed", "color": "#FF0000"})
    duplicate = boss.post(reverse("patients:tags"), {"name": "VIP", "color": "#ff0000"})

    assert created.status_code == 302
    assert Tag.objects.get(name="Lapsed").color == "#ff0000"
    assert duplicate.status_code == 400
    field_error(duplicate, "name")


# Family


def test_family_link_and_remove(client: Client, world: World, zhang: Patient, li: Patient) -> None:
    client = signed_in(client, world.frontdesk)

    linked = client.post(
        reverse("patients:family_link", args=[zhang.pk]),
        {"relative_id": li.pk, "relation": "spouse"},
    )

    assert linked.status_code == 302
    zhang.refresh_from_db()
    li.refresh_from_db()
    assert zhang.family_id is not None
    assert li.family_id == zhang.family_id
    assert li.family_relation == "spouse"
    detail = client.get(reverse("patients:detail", args=[zhang.pk]))
    assert [m.pk for m in detail.context["family_members"]] == [li.pk]

    removed = client.post(reverse("patients:family_remove", args=[zhang.pk, li.pk]))

    assert removed.status_code == 302
    li.refresh_from_db()
    assert li.family_id is None
    assert not Family.objects.exists()


def test_family_link_errors_are_shown_at_the_picker(
    client: Client, world: World, zhang: Patient
) -> None:
    with tenant_scope(world.org_b, world.clinic_b):
        foreign = patient_create(actor=world.boss_b, clinic=world.clinic_b, name="Other")
    client = signed_in(client, world.frontdesk)

    missing = client.post(
        reverse("patients:family_link", args=[zhang.pk]), {"relative_id": "", "relation": "child"}
    )
    cross = client.post(
        reverse("patients:family_link", args=[zhang.pk]),
        {"relative_id": foreign.pk, "relation": "child"},
    )
    self_link = client.post(
        reverse("patients:family_link", args=[zhang.pk]),
        {"relative_id": zhang.pk, "relation": "child"},
    )

    for response in (missing, cross, self_link):
        assert response.status_code == 400
        errors = response.context["family_form"].errors["relative_id"]
        assert str(errors[0]) in html(response)
    assert not Family.objects.exists()


def test_family_remove_rejects_someone_outside_the_family(
    client: Client, world: World, zhang: Patient, li: Patient
) -> None:
    response = signed_in(client, world.frontdesk).post(
        reverse("patients:family_remove", args=[zhang.pk, li.pk])
    )

    assert response.status_code == 404


def test_picker_suggests_patients_excluding_the_current_one(
    client: Client, world: World, zhang: Patient, li: Patient
) -> None:
    client = signed_in(client, world.frontdesk)

    found = client.get(reverse("patients:pick"), {"q": "zs"})
    excluded = client.get(reverse("patients:pick"), {"q": "zs", "exclude": zhang.pk})

    assert f'data-id="{zhang.pk}"' in html(found)
    assert "李四" not in html(found)
    assert f'data-id="{zhang.pk}"' not in html(excluded)


# Referrals and segments


def test_referrals_leaderboard_and_detail_name_the_clinic(
    client: Client, world: World, zhang: Patient, li: Patient
) -> None:
    patient_create(actor=world.boss, clinic=world.clinic1, name="A", referrer_id=zhang.pk)
    patient_create(actor=world.boss, clinic=world.clinic2, name="B", referrer_id=zhang.pk)
    patient_create(actor=world.boss, clinic=world.clinic2, name="C", referrer_id=li.pk)
    client = signed_in(client, world.frontdesk)

    board = client.get(reverse("patients:referrals"))
    detail = client.get(reverse("patients:referrals"), {"referrer": zhang.pk})
    partial = client.get(
        reverse("patients:referrals"), {"referrer": zhang.pk}, HTTP_HX_REQUEST="true"
    )

    assert [(p.pk, p.referral_count) for p in board.context["page"].items] == [
        (zhang.pk, 2),
        (li.pk, 1),
    ]
    assert {p.name for p in detail.context["referred"]} == {"A", "B"}
    assert "Riverside Clinic" in html(partial)
    assert "Downtown Clinic" in html(partial)
    assert "<html" not in html(partial).lower()


def test_doctor_cannot_see_referrals_or_segments(client: Client, world: World) -> None:
    client = signed_in(client, world.doctor)

    assert client.get(reverse("patients:referrals")).status_code == 403
    assert client.get(reverse("patients:segments")).status_code == 403


def test_segment_create_edit_and_detail(
    client: Client, world: World, zhang: Patient, li: Patient
) -> None:
    tag = tag_create(actor=world.boss, name="VIP")
    patient_tag_add(actor=world.boss, clinic=world.clinic1, patient=zhang, tag=tag)
    client = signed_in(client, world.boss)

    created = client.post(
        reverse("patients:segment_create"),
        {"name": "VIP men", "gender": "male", "tags_any": [str(tag.pk)], "age_min": "18"},
    )

    segment = Segment.objects.get()
    assert created.status_code == 302
    assert segment.rules == {"gender": "male", "tags_any": [tag.pk], "age_min": 18}
    detail = client.get(reverse("patients:segment_detail", args=[segment.pk]))
    assert [r.patient.pk for r in detail.context["rows"]] == [zhang.pk]
    assert "VIP" in " ".join(detail.context["conditions"])
    edit_form = client.get(reverse("patients:segment_edit", args=[segment.pk])).context["form"]
    assert edit_form["tags_any"].value() == [str(tag.pk)]
    listing = client.get(reverse("patients:segments"))
    assert "VIP men" in html(listing)

    edited = client.post(
        reverse("patients:segment_edit", args=[segment.pk]), {"name": "Everyone", "age_max": "99"}
    )

    assert edited.status_code == 302
    segment.refresh_from_db()
    assert (segment.name, segment.rules) == ("Everyone", {"age_max": 99})


def test_segment_errors_are_shown(client: Client, world: World) -> None:
    segment_save(actor=world.boss, name="Taken", rules={})
    client = signed_in(client, world.boss)

    duplicate = client.post(reverse("patients:segment_create"), {"name": "Taken"})
    bad_age = client.post(
        reverse("patients:segment_create"), {"name": "Kids", "age_min": "12", "age_max": "6"}
    )
    negative = client.post(reverse("patients:segment_create"), {"name": "Neg", "age_min": "-1"})

    assert duplicate.status_code == 400
    field_error(duplicate, "name")
    assert bad_age.status_code == 400
    assert bad_age.context["form"].non_field_errors()
    assert negative.status_code == 400
    field_error(negative, "age_min")
    assert Segment.objects.count() == 1


# Isolation between organizations


def org_a_urls(world: World, zhang: Patient, li: Patient) -> dict[str, list[str]]:
    tag = tag_create(actor=world.boss, name="VIP")
    patient_tag_add(actor=world.boss, clinic=world.clinic1, patient=zhang, tag=tag)
    family_link(
        actor=world.boss, clinic=world.clinic1, patient=zhang, relative=li, relation="child"
    )
    segment = segment_save(actor=world.boss, name="All", rules={})
    return {
        "get": [
            reverse("patients:detail", args=[zhang.pk]),
            reverse("patients:edit", args=[zhang.pk]),
            reverse("patients:segment_detail", args=[segment.pk]),
            reverse("patients:segment_edit", args=[segment.pk]),
            reverse("patients:referrals") + f"?referrer={zhang.pk}",
            reverse("patients:list") + f"?segment={segment.pk}",
        ],
        "post": [
            reverse("patients:edit", args=[zhang.pk]),
            reverse("patients:archive", args=[zhang.pk]),
            reverse("patients:tag_add", args=[zhang.pk]),
            reverse("patients:tag_remove", args=[zhang.pk, tag.pk]),
            reverse("patients:family_link", args=[zhang.pk]),
            reverse("patients:family_remove", args=[zhang.pk, li.pk]),
            reverse("patients:segment_edit", args=[segment.pk]),
        ],
    }


def test_another_organization_gets_404_on_every_patient_url(
    client: Client, world: World, zhang: Patient, li: Patient
) -> None:
    urls = org_a_urls(world, zhang, li)
    client = signed_in(client, world.boss_b)

    for url in urls["get"]:
        assert client.get(url).status_code == 404, url
    for url in urls["post"]:
        response = client.post(url, {"tag_id": 1, "relative_id": li.pk, "relation": "child"})
        assert response.status_code == 404, url

    zhang.refresh_from_db()
    assert not zhang.is_archived
    assert PatientTag.objects.filter(patient=zhang).exists()
    assert Patient.objects.get(pk=li.pk).family_id == zhang.family_id


def test_another_organization_never_finds_our_patients(
    client: Client, world: World, zhang: Patient, li: Patient
) -> None:
    client = signed_in(client, world.boss_b)
    tag = tag_create(actor=world.boss, name="VIP")

    for query in ("zs", "张三", "13800138000", zhang.record_no, ""):
        listing = client.get(reverse("patients:list"), {"q": query})
        picker = client.get(reverse("patients:pick"), {"q": query})
        assert listing.context["rows"] == [], query
        assert reverse("patients:detail", args=[zhang.pk]) not in html(listing), query
        assert "张三" not in html(picker), query
    assert client.get(reverse("patients:list"), {"tag": tag.pk}).context["rows"] == []
    assert "VIP" not in html(client.get(reverse("patients:tags")))
    assert "张三" not in html(client.get(reverse("patients:referrals")))


def test_another_organization_cannot_tag_with_our_tag(client: Client, world: World) -> None:
    tag = tag_create(actor=world.boss, name="VIP")
    with tenant_scope(world.org_b, world.clinic_b):
        theirs = patient_create(actor=world.boss_b, clinic=world.clinic_b, name="Other")
        response = signed_in(client, world.boss_b).post(
            reverse("patients:tag_add", args=[theirs.pk]), {"tag_id": tag.pk}
        )
        assert response.status_code == 400
        assert not PatientTag.objects.exists()
