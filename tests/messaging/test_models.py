"""Template checks on save (variables, SMS signature, opt-out of marketing SMS, codes) and the
outbox's forward-only status."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from chairside.core.errors import ValidationFailed
from chairside.core.permissions import DEFAULT_ROLES
from chairside.core.tenancy import Tenant
from chairside.messaging.models import (
    COMMON_VARIABLES,
    EVENTS,
    ChannelType,
    MessageEvent,
    MessageKind,
    MessageTemplate,
    OutboxMessage,
)
from tests.conftest import World

Status = OutboxMessage.Status


def template(**fields: Any) -> MessageTemplate:
    values: dict[str, Any] = {
        "code": "appointment.reminder",
        "channel": ChannelType.SMS,
        "sms_sign": "微笑齿科",
        "body": "{patient_name}您好，您预约了{start}就诊。",
    }
    return MessageTemplate(**{**values, **fields})


def problems(**fields: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        template(**fields).save()
    assert caught.value.code == "invalid_template"
    return {k: [str(m) for m in v] for k, v in caught.value.fields.items()}


@pytest.fixture
def marketing_event(monkeypatch: pytest.MonkeyPatch) -> str:
    # Marketing events arrive with the care rules (N3); the rules already apply to them.
    monkeypatch.setitem(
        EVENTS,
        "care.birthday",
        MessageEvent(MessageKind.MARKETING, COMMON_VARIABLES, "Birthday greeting"),
    )
    return "care.birthday"


def test_a_valid_sms_template_is_saved_with_its_events_kind(in_org_a: Tenant) -> None:
    saved = template()
    saved.save()

    assert MessageTemplate.objects.get(pk=saved.pk).kind == MessageKind.NOTIFICATION


def test_unknown_variables_are_named_with_the_ones_allowed(in_org_a: Tenant) -> None:
    found = problems(body="{patient_name}您好，{coupon}和{doctor}")

    message = found["body"][0]
    assert "{coupon}, {doctor}" in message
    assert "{doctor_name}" in message
    assert "{start}" in message
    assert MessageTemplate.objects.count() == 0


def test_a_variable_of_another_event_is_unknown_here(in_org_a: Tenant) -> None:
    # {code} belongs to the portal's sign-in message, not to a reminder.
    assert "{code}" in problems(body="验证码{code}")["body"][0]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"body": "您好{patient_name"}, "body"),
        ({"body": "您好{0}"}, "body"),
        ({"body": "您好{patient.name}"}, "body"),
        ({"body": "   "}, "body"),
        ({"code": "appointment.unknown"}, "code"),
        ({"channel": "fax"}, "channel"),
        ({"language": "fr"}, "language"),
        ({"sms_sign": ""}, "sms_sign"),
        ({"sms_sign": "牙"}, "sms_sign"),
        ({"sms_sign": "一二三四五六七八九十一二三四五六七八九"}, "sms_sign"),
        ({"sms_sign": "【微笑】"}, "sms_sign"),
        ({"body": "【微笑齿科】{patient_name}您好"}, "body"),
        ({"channel": ChannelType.EMAIL, "subject": ""}, "subject"),
        ({"channel": ChannelType.EMAIL, "subject": "预约\n提醒"}, "subject"),
        ({"subject": "{unknown}"}, "body"),
        ({"code": "portal.login_code", "body": "您的验证码已发送"}, "body"),
    ],
)
def test_templates_that_could_not_be_sent_are_refused(
    in_org_a: Tenant, fields: dict[str, Any], field: str
) -> None:
    assert field in problems(**fields)


def test_every_problem_is_reported_at_once(in_org_a: Tenant) -> None:
    found = problems(sms_sign="", body="{nope}")

    assert set(found) == {"sms_sign", "body"}


def test_the_signature_matters_only_for_sms(in_org_a: Tenant) -> None:
    template(channel=ChannelType.WECHAT, sms_sign="").save()
    template(channel=ChannelType.IN_APP, sms_sign="").save()

    assert MessageTemplate.objects.count() == 2


def test_a_marketing_sms_must_offer_the_opt_out(in_org_a: Tenant, marketing_event: str) -> None:
    found = problems(code=marketing_event, body="{patient_name}生日快乐，送您洗牙券")

    assert "拒收请回复R" in found["body"][0]
    template(code=marketing_event, body="{patient_name}生日快乐，送您洗牙券。拒收请回复R").save()


def test_a_marketing_wechat_message_needs_no_sms_opt_out(
    in_org_a: Tenant, marketing_event: str
) -> None:
    template(code=marketing_event, channel=ChannelType.WECHAT, body="{patient_name}生日快乐").save()


def test_a_clinic_may_override_the_organizations_template_once(
    world: World, in_org_a: Tenant
) -> None:
    template().save()
    template(clinic=world.clinic1).save()

    with pytest.raises(IntegrityError), transaction.atomic():
        template(clinic=world.clinic1).save()


@pytest.mark.parametrize(
    ("start", "allowed"),
    [
        (Status.QUEUED, {Status.SENDING, Status.CANCELLED, Status.DEAD}),
        (Status.SENDING, {Status.SENT, Status.FAILED, Status.DEAD, Status.SENDING}),
        (Status.FAILED, {Status.SENDING, Status.CANCELLED, Status.DEAD}),
        (Status.SENT, set()),
        (Status.DEAD, set()),
        (Status.CANCELLED, set()),
    ],
)
def test_the_status_of_a_message_only_moves_forward(start: str, allowed: set[str]) -> None:
    for target in Status.values:
        message = OutboxMessage(status=start)
        if target in allowed:
            message.advance(target)
            assert message.status == target
        else:
            with pytest.raises(ValueError, match="cannot become"):
                message.advance(target)


def test_the_data_migration_grants_what_new_organizations_get() -> None:
    # The migration froze the grants; they must stay those of core.permissions.DEFAULT_ROLES.
    migration = importlib.import_module(
        "chairside.messaging.migrations.0002_grant_messaging_permissions"
    )
    defaults = {
        code: [p for p in permissions if p.startswith("messaging.")]
        for code, (_name, _spans, permissions) in DEFAULT_ROLES.items()
    }

    assert {code: perms for code, perms in defaults.items() if perms} == migration.GRANTS
