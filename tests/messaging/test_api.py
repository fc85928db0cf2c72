"""The message centre's API: the outbox by clinic and for the whole organization, filters and
pages, cancelling, template edits, one's own in-app messages; permissions per action; and that
organization B reaches none of organization A's messages or templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from chairside.core.tenancy import tenant_scope
from chairside.messaging.models import (
    ChannelType,
    InAppMessage,
    MessageKind,
    MessageTemplate,
    OutboxMessage,
)
from chairside.messaging.services import message_send, outbox_deliver_due
from tests.apiclient import ApiClient, Endpoint, documented_operations
from tests.conftest import World
from tests.core.test_api import is_error
from tests.messaging.conftest import Chain, shanghai

START = shanghai(2030, 3, 12, 9, 30)
CONTEXT = {"start": START, "end": START, "doctor_name": "李医生"}


@dataclass
class Data:
    reminder: OutboxMessage  # A, clinic 1, SMS to Zhang, queued
    login_code: OutboxMessage  # A, no clinic, verification SMS
    clinic2_sms: OutboxMessage  # A, clinic 2
    to_frontdesk: InAppMessage  # A, in-app to the front desk
    to_doctor: InAppMessage  # A, in-app to the doctor
    template: MessageTemplate  # A's reminder SMS template
    b_sms: OutboxMessage
    b_template: MessageTemplate
    b_in_app: InAppMessage

    def ids(self) -> dict[str, int]:
        return {
            "message": self.reminder.pk,
            "template": self.template.pk,
            "in_app": self.to_frontdesk.pk,
        }


def _send(world: World, organization: Any, clinic: Any, **values: Any) -> OutboxMessage:
    with tenant_scope(organization, clinic):
        return message_send(organization=organization, clinic=clinic, **values)


def _in_app(world: World, organization: Any, clinic: Any, staff_id: int) -> InAppMessage:
    with tenant_scope(organization):
        MessageTemplate.objects.get_or_create(
            code="appointment.changed",
            channel=ChannelType.IN_APP,
            defaults={"body": "{patient_name}的预约改到{start}"},
        )
    message = _send(
        world,
        organization,
        clinic,
        channel=ChannelType.IN_APP,
        recipient=f"staff:{staff_id}",
        template_code="appointment.changed",
        kind=MessageKind.NOTIFICATION,
        context={**CONTEXT, "previous_start": START},
    )
    outbox_deliver_due(now=timezone.now())
    return InAppMessage.all_tenants.get(outbox=message)


@pytest.fixture
def data(chain: Chain) -> Data:
    world = chain.world
    sms = {"channel": ChannelType.SMS, "kind": MessageKind.NOTIFICATION}
    reminder = _send(
        world,
        world.org,
        world.clinic1,
        recipient="13912345678",
        template_code="appointment.reminder",
        context=CONTEXT,
        patient=chain.patient,
        send_after=START,
        **sms,
    )
    clinic2_sms = _send(
        world,
        world.org,
        world.clinic2,
        recipient="13900000002",
        template_code="appointment.confirmation",
        context=CONTEXT,
        send_after=START,
        **sms,
    )
    login_code = _send(
        world,
        world.org,
        None,
        channel=ChannelType.SMS,
        recipient="13912345678",
        template_code="portal.login_code",
        kind=MessageKind.VERIFICATION,
        context={"code": "735190", "minutes": 10},
        send_after=START,
    )
    to_frontdesk = _in_app(world, world.org, world.clinic1, world.frontdesk.pk)
    to_doctor = _in_app(world, world.org, world.clinic1, world.doctor.pk)
    b_sms = _send(
        world,
        world.org_b,
        world.clinic_b,
        recipient="13700000000",
        template_code="appointment.reminder",
        context=CONTEXT,
        patient=chain.patient_b,
        send_after=START,
        **sms,
    )
    b_in_app = _in_app(world, world.org_b, world.clinic_b, world.boss_b.pk)
    template = MessageTemplate.all_tenants.get(
        organization=world.org, code="appointment.reminder", channel="sms", clinic=None
    )
    b_template = MessageTemplate.all_tenants.get(
        organization=world.org_b, code="appointment.reminder", channel="sms", clinic=None
    )
    return Data(
        reminder,
        login_code,
        clinic2_sms,
        to_frontdesk,
        to_doctor,
        template,
        b_sms,
        b_template,
        b_in_app,
    )


MESSAGING_ENDPOINTS = [
    Endpoint("GET", "/messaging/outbox"),
    Endpoint("GET", "/messaging/outbox/{message}"),
    Endpoint("POST", "/messaging/outbox/{message}/cancel"),
    Endpoint("GET", "/messaging/templates"),
    Endpoint("PATCH", "/messaging/templates/{template}", {"body": "{patient_name}，{start}见"}),
    Endpoint("GET", "/messaging/inbox"),
    Endpoint("POST", "/messaging/inbox/{in_app}/read"),
]
LOOKUPS = [e for e in MESSAGING_ENDPOINTS if "{" in e.path]
MISSING = 987654


def test_every_messaging_operation_is_covered(db: None) -> None:
    documented = {op for op in documented_operations() if op.split()[1].startswith("/messaging")}

    assert documented == {e.shape for e in MESSAGING_ENDPOINTS}


def state(data: Data) -> tuple[Any, ...]:
    return (
        OutboxMessage.all_tenants.get(pk=data.reminder.pk).status,
        MessageTemplate.all_tenants.get(pk=data.template.pk).body,
        InAppMessage.all_tenants.get(pk=data.to_frontdesk.pk).read_at,
    )


@pytest.mark.parametrize("endpoint", LOOKUPS, ids=str)
def test_another_organizations_objects_are_404_like_missing_ones(
    world: World, data: Data, endpoint: Endpoint
) -> None:
    api = ApiClient(world.boss_b)
    before = state(data)

    foreign = endpoint.call(api, data.ids())
    missing = endpoint.call(api, dict.fromkeys(data.ids(), MISSING))

    assert foreign.status == 404
    assert is_error(foreign.json, "not_found")
    assert foreign.json == missing.json
    assert state(data) == before


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/messaging/outbox?all_clinics=true", OutboxMessage),
        ("/messaging/templates?page_size=100", MessageTemplate),
        ("/messaging/inbox", InAppMessage),
    ],
)
def test_lists_of_another_organization_contain_nothing_of_a(
    world: World, data: Data, path: str, model: Any
) -> None:
    a_ids = set(model.all_tenants.filter(organization=world.org).values_list("pk", flat=True))

    response = ApiClient(world.boss_b).call("GET", path)

    assert response.status == 200
    listed = {item["id"] for item in response.json["items"]}
    assert listed  # B's own
    assert not listed & a_ids
    for a_text in ("张三", "13912345678", "微笑齿科", "Downtown"):
        assert a_text not in str(response.json)


@pytest.mark.parametrize("endpoint", MESSAGING_ENDPOINTS, ids=str)
def test_front_desk_acting_in_another_clinic_is_refused_everywhere(
    world: World, data: Data, endpoint: Endpoint
) -> None:
    response = endpoint.call(ApiClient(world.frontdesk, clinic=world.clinic2), data.ids())

    assert response.status == 403
    assert is_error(response.json, "permission_denied")


# --- outbox ---------------------------------------------------------------------------


def test_the_front_desk_sees_its_clinics_messages_only(world: World, data: Data) -> None:
    api = ApiClient(world.frontdesk)

    listed = api.get("/messaging/outbox").json
    other_clinic = api.get(f"/messaging/outbox/{data.clinic2_sms.pk}")
    whole_chain = api.get("/messaging/outbox", all_clinics="true")

    assert {m["id"] for m in listed["items"]} == {
        data.reminder.pk,
        data.to_frontdesk.outbox_id,
        data.to_doctor.outbox_id,
    }
    assert other_clinic.status == 404
    assert whole_chain.status == 403


def test_the_boss_sees_every_clinic_when_asking(world: World, data: Data) -> None:
    api = ApiClient(world.boss, clinic=world.clinic1)

    own = api.get("/messaging/outbox").json
    everything = api.get("/messaging/outbox", all_clinics="true").json
    detail = api.get(f"/messaging/outbox/{data.clinic2_sms.pk}")

    assert data.clinic2_sms.pk not in {m["id"] for m in own["items"]}
    assert {m["id"] for m in everything["items"]} == {
        data.reminder.pk,
        data.clinic2_sms.pk,
        data.login_code.pk,
        data.to_frontdesk.outbox_id,
        data.to_doctor.outbox_id,
    }
    assert detail.status == 200
    assert detail.json["clinic"] == {"id": world.clinic2.pk, "name": "Riverside Clinic"}


def test_a_message_shows_what_was_sent_and_its_state(world: World, data: Data) -> None:
    body = ApiClient(world.frontdesk).get(f"/messaging/outbox/{data.reminder.pk}").json

    assert body["patient"] == {"id": data.reminder.patient_id, "name": "张三"}
    assert body["clinic"]["id"] == world.clinic1.pk
    assert (body["channel"], body["kind"], body["status"]) == ("sms", "notification", "queued")
    assert body["recipient"] == "13912345678"
    assert body["body"].startswith("张三您好")
    assert body["segments"] == 2
    assert body["next_attempt_at"] is not None
    assert body["sent_at"] is None


def test_login_codes_are_masked_in_the_outbox(world: World, data: Data) -> None:
    body = ApiClient(world.boss).get(f"/messaging/outbox/{data.login_code.pk}").json

    assert "735190" not in body["body"]
    assert "******" in body["body"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "queued"}, {"reminder", "clinic2_sms", "login_code"}),
        ({"status": "sent"}, {"to_frontdesk", "to_doctor"}),
        ({"channel": "in_app"}, {"to_frontdesk", "to_doctor"}),
        ({"channel": "sms", "status": "sent"}, set()),
    ],
)
def test_the_outbox_filters_by_status_and_channel(
    world: World, data: Data, params: dict[str, str], expected: set[str]
) -> None:
    ids = {
        "reminder": data.reminder.pk,
        "clinic2_sms": data.clinic2_sms.pk,
        "login_code": data.login_code.pk,
        "to_frontdesk": data.to_frontdesk.outbox_id,
        "to_doctor": data.to_doctor.outbox_id,
    }

    listed = ApiClient(world.boss).get("/messaging/outbox", all_clinics="true", **params).json

    assert {m["id"] for m in listed["items"]} == {ids[name] for name in expected}


def test_the_outbox_filters_by_patient_and_pages(world: World, data: Data) -> None:
    api = ApiClient(world.boss)

    by_patient = api.get("/messaging/outbox", all_clinics="true", patient=data.reminder.patient_id)
    second_page = api.get("/messaging/outbox", all_clinics="true", page=2, page_size=2).json

    assert [m["id"] for m in by_patient.json["items"]] == [data.reminder.pk]
    assert {k: v for k, v in second_page.items() if k != "items"} == {
        "total": 5,
        "page": 2,
        "page_size": 2,
        "pages": 3,
    }
    assert len(second_page["items"]) == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "lost"}, "status"), ({"channel": "fax"}, "channel"), ({"patient": 0}, "patient")],
)
def test_bad_filters_are_400_naming_the_parameter(
    world: World, params: dict[str, Any], field: str
) -> None:
    response = ApiClient(world.frontdesk).get("/messaging/outbox", **params)

    assert response.status == 400
    assert list(response.json["fields"]) == [field]


def test_the_front_desk_cancels_a_queued_message(world: World, data: Data) -> None:
    response = ApiClient(world.frontdesk).post(f"/messaging/outbox/{data.reminder.pk}/cancel")

    assert response.status == 200
    assert response.json["status"] == "cancelled"
    assert response.json["next_attempt_at"] is None
    assert OutboxMessage.all_tenants.get(pk=data.reminder.pk).status == "cancelled"


def test_a_sent_message_cannot_be_cancelled(world: World, data: Data) -> None:
    response = ApiClient(world.boss).post(f"/messaging/outbox/{data.to_frontdesk.outbox_id}/cancel")

    assert response.status == 400
    assert is_error(response.json, "not_cancellable")


def test_a_doctor_has_no_access_to_the_outbox(world: World, data: Data) -> None:
    api = ApiClient(world.doctor)

    assert api.get("/messaging/outbox").status == 403
    assert api.post(f"/messaging/outbox/{data.reminder.pk}/cancel").status == 403
    assert OutboxMessage.all_tenants.get(pk=data.reminder.pk).status == "queued"


# --- templates ------------------------------------------------------------------------


def test_templates_are_listed_with_their_variables(world: World, data: Data) -> None:
    listed = ApiClient(world.frontdesk).get(
        "/messaging/templates", code="appointment.reminder", channel="sms"
    )

    [template] = listed.json["items"]
    assert template["id"] == data.template.pk
    assert template["sms_sign"] == "微笑齿科"
    assert template["kind"] == "notification"
    assert template["event"] == "Appointment reminder"
    assert "{start}" not in template["variables"]
    assert "start" in template["variables"]


def test_the_boss_edits_a_template(world: World, data: Data) -> None:
    response = ApiClient(world.boss).patch(
        f"/messaging/templates/{data.template.pk}",
        {"body": "{patient_name}，明天{start}见", "sms_sign": " 微笑口腔 "},
    )

    assert response.status == 200
    assert (response.json["body"], response.json["sms_sign"]) == (
        "{patient_name}，明天{start}见",
        "微笑口腔",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": "{patient_name}{coupon}"}, "body"),
        ({"body": "{"}, "body"),
        ({"body": None}, "body"),
        ({"sms_sign": "牙"}, "sms_sign"),
        ({"sms_sign": "x" * 19}, "sms_sign"),
        ({"body": "a\x00b"}, "body"),
    ],
)
def test_a_template_that_could_not_be_sent_is_400_and_unchanged(
    world: World, data: Data, body: dict[str, Any], field: str
) -> None:
    response = ApiClient(world.boss).patch(f"/messaging/templates/{data.template.pk}", body)

    assert response.status == 400
    assert field in response.json["fields"]
    assert MessageTemplate.all_tenants.get(pk=data.template.pk).body == data.template.body


def test_the_front_desk_cannot_edit_templates(world: World, data: Data) -> None:
    response = ApiClient(world.frontdesk).patch(
        f"/messaging/templates/{data.template.pk}", {"body": "{patient_name}"}
    )

    assert response.status == 403


# --- inbox ----------------------------------------------------------------------------


def test_staff_read_their_own_in_app_messages(world: World, data: Data) -> None:
    api = ApiClient(world.frontdesk)

    unread = api.get("/messaging/inbox", unread="true").json
    read = api.post(f"/messaging/inbox/{data.to_frontdesk.pk}/read")
    unread_after = api.get("/messaging/inbox", unread="true").json
    someone_elses = api.post(f"/messaging/inbox/{data.to_doctor.pk}/read")

    assert [m["id"] for m in unread["items"]] == [data.to_frontdesk.pk]
    assert unread["items"][0]["body"] == "的预约改到2030年3月12日 09:30"
    assert read.status == 200
    assert read.json["read_at"] is not None
    assert unread_after["total"] == 0
    assert someone_elses.status == 404
    assert InAppMessage.all_tenants.get(pk=data.to_doctor.pk).read_at is None
