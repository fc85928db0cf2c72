"""The patients API: search, registration and edits, tags, families, referrals, segments and
timelines; permissions per action; validation that writes nothing; flat query counts; and
that organization B reaches none of organization A's patients through any endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chairside.core.models import AuditEntry
from chairside.core.resident_id import make_resident_id, mask_resident_id
from chairside.core.services import staff_create
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Family, FamilyRelation, Patient, PatientTag, Segment, Tag
from chairside.patients.services import (
    family_link,
    patient_create,
    patient_tag_add,
    segment_save,
    tag_create,
)
from tests.apiclient import ApiClient, ApiResponse, Endpoint, documented_operations
from tests.conftest import PASSWORD, World
from tests.core.test_api import CORE_ENDPOINTS, is_error

ID_ZHANG = make_resident_id("110101", date(1980, 5, 1), 451)  # a man
ID_OTHER = make_resident_id("310104", date(1992, 8, 15), 202)  # a woman
BAD_CHECKSUM = ID_OTHER[:-1] + ("0" if ID_OTHER[-1] != "0" else "1")


@dataclass
class Data:
    """Organization A's and B's patients, tags and segments."""

    zhang: Patient  # A: head of a family, referred Li, tagged VIP, has an ID number
    li: Patient  # A: referred by Zhang
    child: Patient  # A: Zhang's child
    vip: Tag
    adults: Segment
    wang_b: Patient  # B
    tag_b: Tag
    segment_b: Segment

    def ids(self) -> dict[str, int]:
        """Ids of organization A's objects, plus B's own (for mixed requests)."""
        return {
            "patient": self.zhang.pk,
            "tag": self.vip.pk,
            "segment": self.adults.pk,
            "patient_b": self.wang_b.pk,
            "tag_b": self.tag_b.pk,
            "segment_b": self.segment_b.pk,
        }


@pytest.fixture
def data(world: World) -> Data:
    with tenant_scope(world.org, world.clinic1):
        zhang = patient_create(
            actor=world.boss,
            clinic=world.clinic1,
            name="张三",
            phone="13912345678",
            id_number=ID_ZHANG,
        )
        li = patient_create(
            actor=world.boss, clinic=world.clinic2, name="李四", referrer_id=zhang.pk
        )
        child = patient_create(actor=world.boss, clinic=world.clinic1, name="张小明")
        family_link(
            actor=world.boss,
            clinic=world.clinic1,
            patient=zhang,
            relative=child,
            relation=FamilyRelation.CHILD,
        )
        vip = tag_create(actor=world.boss, name="VIP")
        patient_tag_add(actor=world.boss, clinic=world.clinic1, patient=zhang, tag=vip)
        adults = segment_save(actor=world.boss, name="Adults", rules={"age_min": 18})
    with tenant_scope(world.org_b, world.clinic_b):
        wang_b = patient_create(
            actor=world.boss_b, clinic=world.clinic_b, name="王五", phone="13700000000"
        )
        tag_b = tag_create(actor=world.boss_b, name="B tag")
        segment_b = segment_save(actor=world.boss_b, name="B segment", rules={})
    return Data(zhang, li, child, vip, adults, wang_b, tag_b, segment_b)


def count(model: type[Any], world: World) -> int:
    return int(model.all_tenants.filter(organization=world.org).count())


# Every authenticated patients operation. Requests that name an object by id use organization
# A's ids; a new endpoint goes here, and test_every_documented_operation_is_covered fails
# until it does.
PATIENT_ENDPOINTS = [
    Endpoint("GET", "/patients"),
    Endpoint("POST", "/patients", {"name": "New Patient"}),
    Endpoint("GET", "/patients/{patient}"),
    Endpoint("PATCH", "/patients/{patient}", {"note": "changed"}),
    Endpoint("POST", "/patients/{patient}/archive"),
    Endpoint("GET", "/patients/{patient}/timeline"),
    Endpoint("GET", "/tags"),
    Endpoint("POST", "/tags", {"name": "Fresh"}),
    Endpoint("PUT", "/patients/{patient}/tags/{tag}"),
    Endpoint("DELETE", "/patients/{patient}/tags/{tag}"),
    Endpoint("GET", "/patients/{patient}/family"),
    Endpoint(
        "POST", "/patients/{patient}/family", {"relative_id": "{patient}", "relation": "child"}
    ),
    Endpoint("DELETE", "/patients/{patient}/family"),
    Endpoint("GET", "/referrals"),
    Endpoint("GET", "/patients/{patient}/referrals"),
    Endpoint("GET", "/segments"),
    Endpoint("POST", "/segments", {"name": "Fresh", "rules": {}}),
    Endpoint("GET", "/segments/{segment}/patients"),
]

# What organization B's boss sends to reach A's objects: each must be 404, exactly as if the
# object did not exist.
FOREIGN_LOOKUPS = [
    *[e for e in PATIENT_ENDPOINTS if "{" in e.path],
    # One of two objects foreign: B's patient with A's tag, and A's relative for B's patient.
    Endpoint("PUT", "/patients/{patient_b}/tags/{tag}"),
    Endpoint("DELETE", "/patients/{patient_b}/tags/{tag}"),
    Endpoint("PUT", "/patients/{patient}/tags/{tag_b}"),
    Endpoint(
        "POST", "/patients/{patient_b}/family", {"relative_id": "{patient}", "relation": "child"}
    ),
    Endpoint("GET", "/patients?segment={segment}"),
]

MISSING = 987654


def missing_ids(ids: dict[str, int]) -> dict[str, int]:
    """A's ids replaced by ids that exist nowhere; B's own ids kept."""
    return {k: (v if k.endswith("_b") else MISSING) for k, v in ids.items()}


def test_every_documented_operation_is_covered(db: None) -> None:
    covered = {e.shape for e in [*CORE_ENDPOINTS, *PATIENT_ENDPOINTS]}

    documented = documented_operations(tags={"core", "patients"})

    assert documented - {"POST /auth/token"} == covered


@pytest.mark.parametrize("endpoint", FOREIGN_LOOKUPS, ids=str)
def test_another_organizations_objects_are_404_like_missing_ones(
    world: World, data: Data, endpoint: Endpoint
) -> None:
    api = ApiClient(world.boss_b)
    patients_before = count(Patient, world)
    audit_before = count(AuditEntry, world)

    foreign = endpoint.call(api, data.ids())
    missing = endpoint.call(api, missing_ids(data.ids()))

    assert foreign.status == 404
    assert is_error(foreign.json, "not_found")
    assert foreign.json == missing.json
    assert count(Patient, world) == patients_before
    assert count(AuditEntry, world) == audit_before


@pytest.mark.parametrize(
    "query",
    ["张三", "zs", "zhang", "139", "5678", "13912345678", "00000001", ""],
)
def test_searches_of_another_organization_never_return_a_patients(
    world: World, data: Data, query: str
) -> None:
    found_by_a = ApiClient(world.boss).get("/patients", q=query).json["items"]
    found_by_b = ApiClient(world.boss_b).get("/patients", q=query).json["items"]

    assert data.zhang.pk in {p["id"] for p in found_by_a}
    assert {p["id"] for p in found_by_b} <= {data.wang_b.pk}


@pytest.mark.parametrize(
    "path", ["/tags", "/segments", "/referrals", "/patients?tag={tag}", "/patients"]
)
def test_lists_of_another_organization_contain_nothing_of_a(
    world: World, data: Data, path: str
) -> None:
    response = ApiClient(world.boss_b).call("GET", path.format(**data.ids()))

    assert response.status == 200
    text = str(response.json)
    for name in ("VIP", "Adults", "张三", "李四", "13912345678"):
        assert name not in text


@pytest.mark.parametrize("endpoint", [*CORE_ENDPOINTS, *PATIENT_ENDPOINTS], ids=str)
def test_front_desk_acting_in_another_clinic_is_refused_everywhere(
    world: World, data: Data, endpoint: Endpoint
) -> None:
    ids = {**data.ids(), "clinic": world.clinic1.pk, "staff": world.boss.pk}
    audit_before = count(AuditEntry, world)

    response = endpoint.call(ApiClient(world.frontdesk, clinic=world.clinic2), ids)

    assert response.status == 403
    assert is_error(response.json, "permission_denied")
    assert count(AuditEntry, world) == audit_before


# Permissions per action


def test_a_doctor_cannot_register_patients_and_nothing_is_written(world: World) -> None:
    before = count(Patient, world)

    response = ApiClient(world.doctor).post("/patients", {"name": "Wang Wu"})

    assert response.status == 403
    assert is_error(response.json, "permission_denied")
    assert count(Patient, world) == before


@pytest.mark.parametrize(
    "endpoint",
    [
        Endpoint("POST", "/patients/{patient}/archive"),
        Endpoint("POST", "/tags", {"name": "Doctor's tag"}),
        Endpoint("POST", "/segments", {"name": "Doctor's segment"}),
        Endpoint("GET", "/referrals"),
        Endpoint(
            "POST", "/patients/{patient}/family", {"relative_id": "{li}", "relation": "spouse"}
        ),
    ],
    ids=str,
)
def test_a_doctor_is_refused_what_the_role_does_not_grant(
    world: World, data: Data, endpoint: Endpoint
) -> None:
    response = endpoint.call(ApiClient(world.doctor), {**data.ids(), "li": data.li.pk})

    assert response.status == 403
    assert is_error(response.json, "permission_denied")
    assert not Patient.all_tenants.get(pk=data.zhang.pk).is_archived


def test_staff_without_patient_access_cannot_search(world: World, data: Data) -> None:
    clerk = staff_create(
        organization=world.org,
        username="clerk",
        display_name="Clerk",
        password=PASSWORD,
        roles=[("inventory_clerk", world.clinic1)],
    )

    assert ApiClient(clerk).get("/patients").status == 403


# Patients


def test_search_finds_by_initials_phone_tail_and_record_number(world: World, data: Data) -> None:
    api = ApiClient(world.frontdesk)

    for query in ("zs", "5678", data.zhang.record_no, "张三"):
        ids = [p["id"] for p in api.get("/patients", q=query).json["items"]]
        assert ids == [data.zhang.pk], query


def test_patients_can_be_filtered_by_tag_and_segment(world: World, data: Data) -> None:
    api = ApiClient(world.frontdesk)

    by_tag = api.get("/patients", tag=data.vip.pk).json
    by_segment = api.get("/patients", segment=data.adults.pk).json

    assert [p["id"] for p in by_tag["items"]] == [data.zhang.pk]
    assert [p["id"] for p in by_segment["items"]] == [data.zhang.pk]  # the only known age


def test_the_patient_list_is_paged(world: World, data: Data) -> None:
    response = ApiClient(world.frontdesk).get("/patients", page=2, page_size=2)

    assert response.status == 200
    assert {k: v for k, v in response.json.items() if k != "items"} == {
        "total": 3,
        "page": 2,
        "page_size": 2,
        "pages": 2,
    }
    assert len(response.json["items"]) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": "first"}, "page"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 101}, "page_size"),
        ({"tag": "vip"}, "tag"),
        ({"q": "x" * 51}, "q"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_parameter(
    world: World, params: dict[str, Any], field: str
) -> None:
    response = ApiClient(world.frontdesk).get("/patients", **params)

    assert response.status == 400
    assert is_error(response.json, "invalid")
    assert list(response.json["fields"]) == [field]
    assert response.json["fields"][field][0] == response.json["message"]


def test_a_patient_with_everything_on_the_profile(world: World, data: Data) -> None:
    response = ApiClient(world.frontdesk).get(f"/patients/{data.zhang.pk}")

    assert response.status == 200
    body = response.json
    assert body["name"] == "张三"
    assert body["gender"] == "male"
    assert body["birth_date"] == "1980-05-01"
    assert body["first_clinic"] == {"id": world.clinic1.pk, "name": "Downtown Clinic"}
    assert body["family_relation"] == "self"
    assert [t["name"] for t in body["tags"]] == ["VIP"]


def test_the_id_number_is_masked_for_those_who_may_not_see_it(world: World, data: Data) -> None:
    path = f"/patients/{data.zhang.pk}"

    full = ApiClient(world.frontdesk).get(path).json["id_number"]
    masked = ApiClient(world.doctor).get(path).json["id_number"]
    in_list = ApiClient(world.doctor).get("/patients", q="zs").json["items"][0]["id_number"]

    assert full == ID_ZHANG
    assert masked == in_list == mask_resident_id(ID_ZHANG)
    assert masked[:6] == ID_ZHANG[:6]
    assert masked[-4:] == ID_ZHANG[-4:]
    assert set(masked[6:-4]) == {"*"}


def test_registration_at_the_acting_clinic(world: World) -> None:
    api = ApiClient(world.boss, clinic=world.clinic2)

    response = api.post(
        "/patients", {"name": " 王小明 ", "phone": "138 0013 8000", "id_number": ID_OTHER}
    )

    assert response.status == 201
    body = response.json
    assert body["first_clinic"]["id"] == world.clinic2.pk
    assert (body["name"], body["phone"]) == ("王小明", "13800138000")
    assert (body["gender"], body["birth_date"]) == ("female", "1992-08-15")  # from the ID
    assert body["record_no"]
    stored = Patient.all_tenants.get(pk=body["id"])
    assert stored.created_by_id == world.boss.pk
    assert stored.organization_id == world.org.pk


def test_a_referred_registration_records_the_referrer(world: World, data: Data) -> None:
    response = ApiClient(world.frontdesk).post(
        "/patients", {"name": "Zhao Liu", "referrer_id": data.li.pk}
    )

    assert response.status == 201
    assert (response.json["referrer_id"], response.json["source"]) == (data.li.pk, "referral")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "phone": "12345"}, "phone"),
        ({"name": "A", "id_number": BAD_CHECKSUM}, "id_number"),
        ({"name": "A", "id_number": ID_ZHANG}, "id_number"),  # already registered
        ({"name": "A", "record_no": "00000001"}, "record_no"),  # Zhang's number
        ({"name": "A", "gender": "robot"}, "gender"),
        ({"name": "A", "birth_date": "1990-02-30"}, "birth_date"),
        ({"name": "A", "referrer_id": MISSING}, "referrer_id"),
        ({"name": "   "}, "name"),
        ({"phone": "13800138000"}, "name"),
        ({"name": "A\x00B"}, "name"),
    ],
)
def test_invalid_registrations_are_400_and_write_nothing(
    world: World, data: Data, body: dict[str, Any], field: str
) -> None:
    assert data.zhang.record_no == "00000001"
    patients, audit = count(Patient, world), count(AuditEntry, world)

    response = ApiClient(world.frontdesk).post("/patients", body)

    assert response.status == 400, response
    assert response.json["code"] in {"invalid", "invalid_phone", "invalid_resident_id", "conflict"}
    assert field in response.json["fields"]
    assert (count(Patient, world), count(AuditEntry, world)) == (patients, audit)


def test_patch_changes_only_the_fields_sent(world: World, data: Data) -> None:
    response = ApiClient(world.doctor).patch(
        f"/patients/{data.li.pk}", {"address": "1 River Road", "note": "prefers mornings"}
    )

    assert response.status == 200
    stored = Patient.all_tenants.get(pk=data.li.pk)
    assert (stored.address, stored.note, stored.name) == (
        "1 River Road",
        "prefers mornings",
        "李四",
    )
    assert stored.referrer_id == data.zhang.pk


def test_patch_with_null_clears_a_field(world: World, data: Data) -> None:
    response = ApiClient(world.frontdesk).patch(
        f"/patients/{data.zhang.pk}", {"phone": None, "id_number": None}
    )

    assert response.status == 200
    assert (response.json["phone"], response.json["id_number"]) == ("", "")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "999"}, "phone"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"gender": "female"}, "gender"),  # the ID number on file says male
        ({"birth_date": "1981-01-01"}, "birth_date"),  # ditto
        ({"referrer_id": "{patient}"}, "referrer_id"),  # themselves
        ({"source": None}, "source"),
    ],
)
def test_invalid_edits_are_400_and_change_nothing(
    world: World, data: Data, body: dict[str, Any], field: str
) -> None:
    audit = count(AuditEntry, world)
    endpoint = Endpoint("PATCH", "/patients/{patient}", body)

    response = endpoint.call(ApiClient(world.frontdesk), data.ids())

    assert response.status == 400, response
    assert field in response.json["fields"]
    stored = Patient.all_tenants.get(pk=data.zhang.pk)
    assert (stored.name, stored.phone, stored.gender) == ("张三", "13912345678", "male")
    assert count(AuditEntry, world) == audit


def test_archived_patients_leave_the_search(world: World, data: Data) -> None:
    api = ApiClient(world.boss)

    response = api.post(f"/patients/{data.li.pk}/archive")

    assert response.status == 200
    assert response.json["is_archived"] is True
    assert api.get("/patients", q="ls").json["items"] == []
    assert api.get(f"/patients/{data.li.pk}").status == 200  # still on file


def test_the_timeline_lists_what_happened_newest_first(world: World, data: Data) -> None:
    api = ApiClient(world.frontdesk)
    api.patch(f"/patients/{data.zhang.pk}", {"note": "allergic to latex"})

    response = api.get(f"/patients/{data.zhang.pk}/timeline")

    assert response.status == 200
    kinds = [e["kind"] for e in response.json]
    assert kinds[0] == "update"
    assert "referral" in kinds
    assert kinds[-1] == "create"
    assert response.json[0]["actor"] == "Front Desk"


# Tags


def test_tags_are_listed_with_how_many_patients_carry_them(world: World, data: Data) -> None:
    response = ApiClient(world.doctor).get("/tags")

    assert response.json == [
        {
            "id": data.vip.pk,
            "name": "VIP",
            "color": "#2563eb",
            "description": "",
            "patient_count": 1,
        }
    ]


def test_a_tag_is_created_and_a_duplicate_refused(world: World, data: Data) -> None:
    api = ApiClient(world.boss)

    created = api.post("/tags", {"name": "Ortho", "color": "#ff0000"})
    duplicate = api.post("/tags", {"name": "VIP"})
    bad_colour = api.post("/tags", {"name": "Blue", "color": "blue"})

    assert created.status == 201
    assert created.json["name"] == "Ortho"
    assert (duplicate.status, duplicate.json["code"], list(duplicate.json["fields"])) == (
        400,
        "conflict",
        ["name"],
    )
    assert (bad_colour.status, list(bad_colour.json["fields"])) == (400, ["color"])
    assert count(Tag, world) == 2


def test_tagging_and_untagging_a_patient(world: World, data: Data) -> None:
    api = ApiClient(world.doctor)
    path = f"/patients/{data.li.pk}/tags/{data.vip.pk}"

    added = api.put(path)
    again = api.put(path)
    removed = api.delete(path)

    assert added.status == again.status == 200
    assert [t["name"] for t in added.json] == ["VIP"]
    assert removed.status == 204
    assert not PatientTag.all_tenants.filter(patient=data.li).exists()


# Families


def test_the_family_of_a_patient(world: World, data: Data) -> None:
    response = ApiClient(world.doctor).get(f"/patients/{data.zhang.pk}/family")

    assert response.status == 200
    assert response.json["relation"] == "self"
    assert [(m["patient"]["id"], m["relation"]) for m in response.json["members"]] == [
        (data.child.pk, "child")
    ]


def test_linking_and_unlinking_relatives(world: World, data: Data) -> None:
    api = ApiClient(world.frontdesk)

    linked = api.post(
        f"/patients/{data.zhang.pk}/family", {"relative_id": data.li.pk, "relation": "spouse"}
    )
    unlinked = api.delete(f"/patients/{data.child.pk}/family")

    assert linked.status == 200
    assert {m["patient"]["id"] for m in linked.json["members"]} == {data.child.pk, data.li.pk}
    assert unlinked.status == 204
    assert Patient.all_tenants.get(pk=data.child.pk).family_id is None
    assert Family.all_tenants.filter(organization=world.org).count() == 1


def test_a_patient_cannot_be_their_own_relative(world: World, data: Data) -> None:
    response = ApiClient(world.frontdesk).post(
        f"/patients/{data.li.pk}/family", {"relative_id": data.li.pk, "relation": "spouse"}
    )

    assert response.status == 400
    assert list(response.json["fields"]) == ["relative_id"]


# Referrals


def test_the_referral_leaderboard_and_a_referrers_patients(world: World, data: Data) -> None:
    api = ApiClient(world.frontdesk)

    board = api.get("/referrals")
    referred = api.get(f"/patients/{data.zhang.pk}/referrals")

    assert [(r["patient"]["id"], r["referral_count"]) for r in board.json["items"]] == [
        (data.zhang.pk, 1)
    ]
    assert [p["id"] for p in referred.json["items"]] == [data.li.pk]
    assert referred.json["items"][0]["first_clinic"]["id"] == world.clinic2.pk


# Segments


def test_a_segment_is_created_and_lists_its_patients(world: World, data: Data) -> None:
    api = ApiClient(world.boss)

    created = api.post(
        "/segments",
        {"name": "Downtown men", "rules": {"gender": "male", "clinic_ids": [world.clinic1.pk]}},
    )
    patients = api.get(f"/segments/{created.json['id']}/patients")

    assert created.status == 201
    assert created.json["rules"] == {"gender": "male", "clinic_ids": [world.clinic1.pk]}
    assert [p["id"] for p in patients.json["items"]] == [data.zhang.pk]
    assert [s["name"] for s in api.get("/segments").json] == ["Adults", "Downtown men"]


@pytest.mark.parametrize(
    "rules",
    [{"age_min": 30, "age_max": 20}, {"favourite_colour": "blue"}, {"tags_any": [0]}],
)
def test_invalid_segment_rules_are_400_and_save_nothing(
    world: World, data: Data, rules: dict[str, Any]
) -> None:
    response = ApiClient(world.boss).post("/segments", {"name": "Broken", "rules": rules})

    assert response.status == 400
    assert is_error(response.json, "invalid")
    assert count(Segment, world) == 1


# Query counts of list endpoints


def grow(world: World, data: Data, start: int, stop: int) -> None:
    """More of everything listed: patients (tagged, referred, in the family), tags, segments."""
    with tenant_scope(world.org, world.clinic1):
        for i in range(start, stop):
            patient = patient_create(
                actor=world.boss,
                clinic=world.clinic1 if i % 2 else world.clinic2,
                name=f"Patient {i}",
                referrer_id=data.zhang.pk,
            )
            tag = tag_create(actor=world.boss, name=f"Tag {i}")
            patient_tag_add(actor=world.boss, clinic=world.clinic1, patient=patient, tag=tag)
            patient_tag_add(actor=world.boss, clinic=world.clinic1, patient=patient, tag=data.vip)
            family_link(
                actor=world.boss,
                clinic=world.clinic1,
                patient=data.zhang,
                relative=patient,
                relation=FamilyRelation.OTHER,
            )
            # Referrers of their own, for the leaderboard.
            patient_create(
                actor=world.boss, clinic=world.clinic1, name=f"Friend {i}", referrer_id=patient.pk
            )
            segment_save(actor=world.boss, name=f"Segment {i}", rules={"tags_any": [tag.pk]})


def rows(body: Any) -> int:
    if isinstance(body, list):
        return len(body)
    return len(body["items"] if "items" in body else body["members"])


LIST_PATHS = [
    "/patients?page_size=100",
    "/patients?tag={tag}&page_size=100",
    "/segments/{vip_segment}/patients?page_size=100",
    "/tags",
    "/segments",
    "/referrals?page_size=100",
    "/patients/{patient}/referrals?page_size=100",
    "/patients/{patient}/family",
    "/patients/{patient}/timeline",
]


@pytest.mark.parametrize("path", LIST_PATHS)
def test_lists_take_the_same_queries_for_5_or_25_rows(world: World, data: Data, path: str) -> None:
    api = ApiClient(world.boss)
    api.get("/me")  # the token's first use is recorded once; leave it out of the count
    with tenant_scope(world.org):
        vip_segment = segment_save(actor=world.boss, name="VIPs", rules={"tags_any": [data.vip.pk]})
    url = path.format(**data.ids(), vip_segment=vip_segment.pk)

    def measure() -> tuple[ApiResponse, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = api.call("GET", url)
        assert response.status == 200
        return response, len(ctx.captured_queries)

    grow(world, data, 0, 5)
    few, few_queries = measure()
    grow(world, data, 5, 25)
    many, many_queries = measure()

    assert rows(many.json) >= rows(few.json) + 20
    assert few_queries == many_queries
    assert many_queries <= 10
