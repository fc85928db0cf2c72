"""The message centre's services: rendering and queueing, dedupe, delivery with retries and
backoff, giving up, quiet hours for marketing SMS, expiring codes, send guards, cancelling,
default templates and tenant isolation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from pytest_django.fixtures import Settings

from chairside.celery import app
from chairside.core.errors import NotFound, ValidationFailed
from chairside.core.models import AuditEntry
from chairside.core.tenancy import TenantScopeError, tenant_scope
from chairside.messaging.channels import Delivery
from chairside.messaging.models import (
    COMMON_VARIABLES,
    EVENTS,
    ChannelType,
    InAppMessage,
    Language,
    MessageEvent,
    MessageKind,
    MessageTemplate,
    OutboxMessage,
)
from chairside.messaging.services import (
    DeliveryRun,
    default_templates_install,
    message_cancel,
    message_cancel_by_dedupe_key,
    message_send,
    outbox_deliver_due,
    retry_delay,
    template_update,
)
from tests.messaging.conftest import Chain, Files, shanghai
from tests.messaging.fakes import ScriptedChannel

Status = OutboxMessage.Status
START = shanghai(2030, 3, 12, 9, 30)


@pytest.fixture
def scripted(settings: Settings) -> Iterator[type[ScriptedChannel]]:
    """SMS go through ScriptedChannel, which answers what the test lines up."""
    settings.CHAIRSIDE_MESSAGING_CHANNELS = {
        **settings.CHAIRSIDE_MESSAGING_CHANNELS,
        "sms": "tests.messaging.fakes.ScriptedChannel",
    }
    ScriptedChannel.answers, ScriptedChannel.calls = [], []
    yield ScriptedChannel
    ScriptedChannel.answers, ScriptedChannel.calls = [], []


@pytest.fixture
def marketing(monkeypatch: pytest.MonkeyPatch, chain: Chain) -> str:
    """A marketing event (the care rules, N3, bring the real ones) with an SMS template."""
    monkeypatch.setitem(
        EVENTS,
        "care.birthday",
        MessageEvent(MessageKind.MARKETING, COMMON_VARIABLES, "Birthday greeting"),
    )
    with tenant_scope(chain.world.org):
        MessageTemplate.objects.create(
            code="care.birthday",
            channel=ChannelType.SMS,
            sms_sign="微笑齿科",
            body="{patient_name}生日快乐！拒收请回复R",
        )
    return "care.birthday"


def reminder(chain: Chain, **overrides: Any) -> OutboxMessage:
    """A reminder SMS to organization A's patient, from clinic 1."""
    world = chain.world
    values: dict[str, Any] = {
        "organization": world.org,
        "clinic": world.clinic1,
        "channel": ChannelType.SMS,
        "recipient": "139 1234 5678",
        "template_code": "appointment.reminder",
        "kind": MessageKind.NOTIFICATION,
        "context": {"start": START, "end": START + timedelta(hours=1), "doctor_name": "李医生"},
        "patient": chain.patient,
    }
    with tenant_scope(world.org, world.clinic1):
        return message_send(**{**values, **overrides})


def reload(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.all_tenants.get(pk=message.pk)


def deliver(at: datetime) -> Any:
    return outbox_deliver_due(now=at)


# --- sending --------------------------------------------------------------------------


def test_a_message_is_rendered_and_queued_with_what_the_provider_needs(chain: Chain) -> None:
    message = reload(reminder(chain))

    expected = (
        "张三您好，温馨提醒：您预约了2030年3月12日 09:30在Downtown Clinic就诊，"
        "请提前10分钟到达。如需改约请致电021-64000000。"
    )
    assert message.body == expected
    assert message.text == "【微笑齿科】" + expected
    assert message.recipient == "13912345678"
    assert (message.status, message.attempts, message.kind) == ("queued", 0, "notification")
    assert (message.sms_sign, message.language, message.segments) == ("微笑齿科", "zh-hans", 2)
    assert message.params["start"] == "2030年3月12日 09:30"
    assert message.params["doctor_name"] == "李医生"
    assert message.organization_id == chain.world.org.pk
    assert message.clinic_id == chain.world.clinic1.pk
    assert message.patient_id == chain.patient.pk
    assert abs(message.next_attempt_at - timezone.now()) < timedelta(seconds=5)


def test_the_clinics_own_template_comes_before_the_organizations(chain: Chain) -> None:
    with tenant_scope(chain.world.org):
        MessageTemplate.objects.create(
            clinic=chain.world.clinic1,
            code="appointment.reminder",
            channel=ChannelType.SMS,
            sms_sign="微笑齿科城东店",
            body="{patient_name}，明天{start}见！",
        )

    clinic1 = reminder(chain)
    clinic2 = reminder(chain, clinic=chain.world.clinic2)

    assert clinic1.text == "【微笑齿科城东店】张三，明天2030年3月12日 09:30见！"
    assert clinic2.sms_sign == "微笑齿科"


def test_a_message_in_english_when_there_is_a_template_else_in_chinese(chain: Chain) -> None:
    english = reminder(
        chain, language=Language.EN, channel=ChannelType.WECHAT, recipient="o-abc123"
    )
    with tenant_scope(chain.world.org):
        MessageTemplate.objects.create(
            code="appointment.reminder",
            channel=ChannelType.SMS,
            language=Language.EN,
            sms_sign="Smile",
            body="Hello {patient_name}, see you at {start}.",
        )

    sms = reminder(chain, language=Language.EN)

    assert english.language == "zh-hans"
    assert sms.language == "en"
    assert sms.text == "【Smile】Hello 张三, see you at 2030-03-12 09:30."


def test_without_an_active_template_nothing_is_queued(chain: Chain) -> None:
    with tenant_scope(chain.world.org):
        MessageTemplate.objects.filter(code="appointment.reminder").update(is_active=False)

    with pytest.raises(ValidationFailed) as caught:
        reminder(chain)

    assert caught.value.code == "no_template"
    assert OutboxMessage.all_tenants.count() == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"context": {"start": START}},  # end and doctor_name missing
        {"context": {"start": START, "end": START, "doctor_name": "李", "coupon": "8折"}},
        {"kind": MessageKind.MARKETING},
        {"template_code": "appointment.unknown"},
        {"channel": "fax"},
        {"dedupe_key": "x" * 201},
        {"dedupe_key": ""},
    ],
)
def test_a_sender_that_breaks_the_events_contract_is_a_bug(
    chain: Chain, overrides: dict[str, Any]
) -> None:
    with pytest.raises((TypeError, ValueError)):
        reminder(chain, **overrides)


@pytest.mark.parametrize(
    ("channel", "recipient"),
    [
        (ChannelType.SMS, "12345"),
        (ChannelType.SMS, "021-64000000"),  # a landline cannot take SMS
        (ChannelType.EMAIL, "not-an-address"),
        (ChannelType.WECHAT, "open id"),
        (ChannelType.IN_APP, "13912345678"),
        (ChannelType.IN_APP, "staff:987654"),
    ],
)
def test_a_recipient_the_channel_cannot_reach_is_refused(
    chain: Chain, channel: str, recipient: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        reminder(chain, channel=channel, recipient=recipient)

    assert caught.value.code == "invalid_recipient"
    assert "recipient" in caught.value.fields


def test_the_same_dedupe_key_queues_one_message(chain: Chain) -> None:
    first = reminder(chain, dedupe_key="appointment:1:reminder")
    again = reminder(
        chain,
        dedupe_key="appointment:1:reminder",
        context={"start": START + timedelta(days=1), "end": START, "doctor_name": "王"},
    )

    assert again.pk == first.pk
    assert again.params["doctor_name"] == "李医生"
    assert OutboxMessage.all_tenants.count() == 1


def test_dedupe_keys_belong_to_one_organization(chain: Chain) -> None:
    world = chain.world
    reminder(chain, dedupe_key="appointment:1:reminder")
    with tenant_scope(world.org_b, world.clinic_b):
        other = message_send(
            organization=world.org_b,
            clinic=world.clinic_b,
            channel=ChannelType.SMS,
            recipient="13700000000",
            template_code="appointment.reminder",
            kind=MessageKind.NOTIFICATION,
            context={"start": START, "end": START, "doctor_name": "赵"},
            dedupe_key="appointment:1:reminder",
        )

    assert other.organization_id == world.org_b.pk
    assert OutboxMessage.all_tenants.count() == 2


# --- delivery -------------------------------------------------------------------------


def test_due_messages_are_sent_and_recorded(chain: Chain, files: Files) -> None:
    message = reminder(chain)
    now = timezone.now() + timedelta(seconds=1)

    run = deliver(now)

    sent = reload(message)
    assert (run.sent, run.retrying, run.dead) == (1, 0, 0)
    assert (sent.status, sent.attempts, sent.sent_at, sent.last_error) == ("sent", 1, now, "")
    [line] = files.sms_sent()
    assert sent.provider_message_id == line["id"]
    assert line["phone"] == "13912345678"
    assert line["text"] == sent.text
    assert deliver(now + timedelta(hours=1)).sent == 0  # never twice


def test_a_message_to_send_later_waits(chain: Chain, files: Files) -> None:
    message = reminder(chain, send_after=START - timedelta(days=1))

    assert deliver(START - timedelta(days=1, seconds=1)).sent == 0
    assert deliver(START - timedelta(days=1)).sent == 1
    assert reload(message).status == "sent"


def test_retries_back_off_1_5_25_minutes(
    chain: Chain, scripted: type[ScriptedChannel], settings: Settings
) -> None:
    settings.CHAIRSIDE_MESSAGING_MAX_ATTEMPTS = 10
    scripted.answers = [Delivery.retry("timeout")] * 3
    message = reminder(chain, send_after=START)
    now = START
    waits = []

    for _attempt in range(3):
        deliver(now)
        failed = reload(message)
        assert failed.status == "failed"
        assert failed.last_error == "timeout"
        waits.append(failed.next_attempt_at - now)
        assert deliver(failed.next_attempt_at - timedelta(seconds=1)) == DeliveryRun()
        now = failed.next_attempt_at
    deliver(now)

    assert waits == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=25)]
    assert (reload(message).status, reload(message).attempts) == ("sent", 4)
    assert scripted.calls == [message.pk] * 4


def test_the_wait_between_attempts_is_capped() -> None:
    assert retry_delay(4) == timedelta(minutes=125)
    assert retry_delay(5) == timedelta(hours=6)
    assert retry_delay(30) == timedelta(hours=6)


def test_a_message_is_given_up_after_the_last_attempt(
    chain: Chain, scripted: type[ScriptedChannel], settings: Settings
) -> None:
    settings.CHAIRSIDE_MESSAGING_MAX_ATTEMPTS = 3
    scripted.answers = [Delivery.retry(f"busy {i}") for i in range(5)]
    message = reminder(chain, send_after=START)

    now = START
    for _attempt in range(3):
        deliver(now)
        now += timedelta(days=1)

    dead = reload(message)
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 3, "busy 2")
    assert deliver(now + timedelta(days=30)) == DeliveryRun()
    assert len(scripted.calls) == 3


def test_a_permanent_error_gives_up_at_once(chain: Chain, scripted: type[ScriptedChannel]) -> None:
    scripted.answers = [Delivery.give_up("isv.MOBILE_NUMBER_ILLEGAL")]
    message = reminder(chain, send_after=START)

    run = deliver(START)

    dead = reload(message)
    assert run.dead == 1
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 1, "isv.MOBILE_NUMBER_ILLEGAL")


def test_a_channel_that_raises_is_retried_and_the_others_still_go(
    chain: Chain, scripted: type[ScriptedChannel]
) -> None:
    scripted.answers = [ConnectionResetError("provider hung up")]
    first = reminder(chain, send_after=START)
    second = reminder(chain, send_after=START + timedelta(seconds=1))

    run = deliver(START + timedelta(seconds=1))

    assert (run.sent, run.retrying) == (1, 1)
    assert reload(first).status == "failed"
    assert "provider hung up" in reload(first).last_error
    assert reload(second).status == "sent"


def test_a_message_whose_worker_died_is_tried_again_after_the_lease(
    chain: Chain, settings: Settings
) -> None:
    message = reminder(chain, send_after=START)
    OutboxMessage.all_tenants.filter(pk=message.pk).update(
        status=Status.SENDING, attempts=1, next_attempt_at=START + timedelta(minutes=5)
    )

    assert deliver(START + timedelta(minutes=4)) == DeliveryRun()
    run = deliver(START + timedelta(minutes=5))

    sent = reload(message)
    assert run.sent == 1
    assert (sent.status, sent.attempts) == ("sent", 2)


# --- quiet hours, expiry, guards ------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "queued_for"),
    [
        (shanghai(2030, 3, 12, 21, 0), shanghai(2030, 3, 13, 8, 0)),
        (shanghai(2030, 3, 12, 20, 0), shanghai(2030, 3, 13, 8, 0)),
        (shanghai(2030, 3, 12, 6, 30), shanghai(2030, 3, 12, 8, 0)),
        (shanghai(2030, 3, 12, 19, 59), shanghai(2030, 3, 12, 19, 59)),
        (shanghai(2030, 3, 12, 8, 0), shanghai(2030, 3, 12, 8, 0)),
    ],
)
def test_marketing_sms_are_queued_for_the_daytime(
    chain: Chain, marketing: str, asked: datetime, queued_for: datetime
) -> None:
    message = reminder(
        chain,
        template_code=marketing,
        kind=MessageKind.MARKETING,
        context={},
        send_after=asked,
    )

    assert reload(message).next_attempt_at == queued_for


def test_a_marketing_sms_that_falls_due_at_night_is_held_not_sent(
    chain: Chain, marketing: str, files: Files
) -> None:
    message = reminder(
        chain,
        template_code=marketing,
        kind=MessageKind.MARKETING,
        context={},
        send_after=shanghai(2030, 3, 12, 19, 59),
    )

    run = deliver(shanghai(2030, 3, 12, 20, 30))  # the worker was late

    held = reload(message)
    assert (run.held, run.sent) == (1, 0)
    assert (held.status, held.attempts) == ("queued", 0)
    assert held.next_attempt_at == shanghai(2030, 3, 13, 8, 0)
    assert files.sms_sent() == []
    assert deliver(shanghai(2030, 3, 13, 8, 0)).sent == 1


def test_a_marketing_sms_retry_waits_for_the_morning(
    chain: Chain, marketing: str, scripted: type[ScriptedChannel]
) -> None:
    scripted.answers = [Delivery.retry("busy")]
    message = reminder(
        chain,
        template_code=marketing,
        kind=MessageKind.MARKETING,
        context={},
        send_after=shanghai(2030, 3, 12, 19, 59, 30),
    )

    deliver(shanghai(2030, 3, 12, 19, 59, 30))

    assert reload(message).next_attempt_at == shanghai(2030, 3, 13, 8, 0)


def test_notifications_go_out_at_night(chain: Chain) -> None:
    message = reminder(chain, send_after=shanghai(2030, 3, 12, 23, 30))

    assert deliver(shanghai(2030, 3, 12, 23, 30)).sent == 1
    assert reload(message).status == "sent"


def login_code(chain: Chain, **overrides: Any) -> OutboxMessage:
    world = chain.world
    values: dict[str, Any] = {
        "organization": world.org,
        "channel": ChannelType.SMS,
        "recipient": "13912345678",
        "template_code": "portal.login_code",
        "kind": MessageKind.VERIFICATION,
        "context": {"code": "482913", "minutes": 10},
    }
    with tenant_scope(world.org):
        return message_send(**{**values, **overrides})


def test_a_login_code_that_cannot_arrive_in_time_is_given_up(
    chain: Chain, scripted: type[ScriptedChannel]
) -> None:
    scripted.answers = [Delivery.retry("busy")] * 5
    message = login_code(chain, send_after=START)

    assert reload(message).expires_at == START + timedelta(minutes=10)
    deliver(START)
    deliver(START + timedelta(minutes=1))  # second try fails; the next would be at +6 min
    assert reload(message).status == "failed"
    deliver(START + timedelta(minutes=6))  # third fails; +31 min is past the expiry

    dead = reload(message)
    assert (dead.status, dead.attempts) == ("dead", 3)


def test_a_login_code_found_expired_is_not_sent(
    chain: Chain, scripted: type[ScriptedChannel]
) -> None:
    message = login_code(chain, send_after=START)

    run = deliver(START + timedelta(minutes=10))

    assert run.dead == 1
    assert reload(message).status == "dead"
    assert "expired" in reload(message).last_error
    assert scripted.calls == []


def test_a_login_code_is_delivered_as_soon_as_the_transaction_commits(
    chain: Chain,
    files: Files,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            message = login_code(chain)
    finally:
        app.conf.task_always_eager = False

    assert reload(message).status == "sent"
    assert "482913" in files.sms_sent()[0]["text"]


def test_a_guard_can_give_a_message_up(
    chain: Chain, settings: Settings, scripted: type[ScriptedChannel]
) -> None:
    settings.CHAIRSIDE_MESSAGING_SEND_GUARDS = ["tests.messaging.fakes.no_quota_left"]
    message = reminder(chain, send_after=START)

    run = deliver(START)

    assert run.dead == 1
    assert (reload(message).status, reload(message).last_error) == ("dead", "no SMS left")
    assert scripted.calls == []


def test_a_guard_can_hold_a_message_back_without_counting_an_attempt(
    chain: Chain, settings: Settings
) -> None:
    settings.CHAIRSIDE_MESSAGING_SEND_GUARDS = ["tests.messaging.fakes.daily_limit_reached"]
    message = reminder(chain, send_after=START)

    run = deliver(START)

    held = reload(message)
    assert run.held == 1
    assert (held.status, held.attempts) == ("queued", 0)
    assert held.next_attempt_at == START + timedelta(hours=12)


# --- other channels -------------------------------------------------------------------


def test_an_email_goes_through_djangos_mail_backend(chain: Chain) -> None:
    with tenant_scope(chain.world.org):
        MessageTemplate.objects.create(
            code="appointment.confirmation",
            channel=ChannelType.EMAIL,
            subject="{clinic_name}：预约成功",
            body="{patient_name}您好，您已预约{start}。",
        )
    message = reminder(
        chain,
        channel=ChannelType.EMAIL,
        recipient="zhang@example.com",
        template_code="appointment.confirmation",
    )

    deliver(timezone.now())

    [email] = mail.outbox
    assert email.to == ["zhang@example.com"]
    assert email.subject == "Downtown Clinic：预约成功"
    assert email.body == "张三您好，您已预约2030年3月12日 09:30。"
    assert reload(message).provider_message_id == email.extra_headers["Message-ID"]


def test_a_subject_made_long_by_its_variables_is_cut_to_fit(chain: Chain) -> None:
    world = chain.world
    world.clinic1.address = "人民路" * 60
    world.clinic1.save(update_fields=["address"])
    with tenant_scope(world.org):
        MessageTemplate.objects.create(
            code="appointment.confirmation",
            channel=ChannelType.EMAIL,
            subject="{clinic_name}（{clinic_address}）预约成功",
            body="{patient_name}您好",
        )

    message = reminder(
        chain,
        channel=ChannelType.EMAIL,
        recipient="zhang@example.com",
        template_code="appointment.confirmation",
    )

    full = "Downtown Clinic（" + "人民路" * 60 + "）预约成功"
    assert reload(message).subject == full[:200]
    assert len(full) > 200


def test_an_in_app_message_is_stored_for_its_recipient(chain: Chain) -> None:
    world = chain.world
    with tenant_scope(world.org):
        MessageTemplate.objects.create(
            code="appointment.changed",
            channel=ChannelType.IN_APP,
            body="{patient_name}的预约改到了{start}",
        )
    message = reminder(
        chain,
        channel=ChannelType.IN_APP,
        recipient=f"staff:{world.doctor.pk}",
        template_code="appointment.changed",
        context={"start": START, "end": START, "doctor_name": "李", "previous_start": START},
    )

    deliver(timezone.now())

    stored = InAppMessage.all_tenants.get(outbox=message)
    assert (stored.staff_id, stored.patient_id) == (world.doctor.pk, None)
    assert stored.body == "张三的预约改到了2030年3月12日 09:30"
    assert stored.organization_id == world.org.pk
    assert stored.read_at is None


# --- cancelling -----------------------------------------------------------------------


def test_a_cancelled_message_is_never_sent(chain: Chain, files: Files) -> None:
    message = reminder(chain, send_after=START)
    with tenant_scope(chain.world.org, chain.world.clinic1):
        message_cancel(actor=chain.world.frontdesk, message=message)
        message_cancel(actor=chain.world.frontdesk, message=message)  # no change, no error
        audit = AuditEntry.objects.filter(entity_type="messaging.outboxmessage")
        assert [(a.before, a.after) for a in audit] == [
            ({"status": "queued"}, {"status": "cancelled"})
        ]

    assert deliver(START) == DeliveryRun()
    assert reload(message).status == "cancelled"
    assert files.sms_sent() == []


@pytest.mark.parametrize("status", [Status.SENDING, Status.SENT, Status.DEAD])
def test_a_message_on_its_way_or_done_cannot_be_cancelled(chain: Chain, status: str) -> None:
    message = reminder(chain)
    OutboxMessage.all_tenants.filter(pk=message.pk).update(status=status)

    with tenant_scope(chain.world.org), pytest.raises(ValidationFailed) as caught:
        message_cancel(actor=chain.world.boss, message=message)

    assert caught.value.code == "not_cancellable"
    assert reload(message).status == status


def test_a_reminder_is_cancelled_by_its_dedupe_key(chain: Chain) -> None:
    world = chain.world
    message = reminder(chain, dedupe_key="appointment:7:reminder", send_after=START)
    with tenant_scope(world.org):
        cancelled = message_cancel_by_dedupe_key(
            organization=world.org, dedupe_key="appointment:7:reminder"
        )
        unknown = message_cancel_by_dedupe_key(organization=world.org, dedupe_key="nothing")

    assert cancelled is not None
    assert cancelled.pk == message.pk
    assert reload(message).status == "cancelled"
    assert unknown is None


def test_a_sent_reminder_is_left_as_it_is_by_its_dedupe_key(chain: Chain) -> None:
    world = chain.world
    message = reminder(chain, dedupe_key="appointment:7:reminder")
    deliver(timezone.now())
    with tenant_scope(world.org):
        found = message_cancel_by_dedupe_key(
            organization=world.org, dedupe_key="appointment:7:reminder"
        )

    assert found is not None
    assert found.status == "sent"
    assert reload(message).status == "sent"


# --- templates ------------------------------------------------------------------------


def test_default_templates_cover_the_appointment_portal_and_renewal_events(chain: Chain) -> None:
    world = chain.world
    with tenant_scope(world.org):
        sms = set(
            MessageTemplate.objects.filter(channel=ChannelType.SMS).values_list("code", flat=True)
        )
        total = MessageTemplate.objects.count()

    again = default_templates_install(organization=world.org)

    assert sms == {
        "appointment.confirmation",
        "appointment.reminder",
        "appointment.changed",
        "appointment.cancelled",
        "portal.login_code",
        "membership.renewal",
        "esign.sign_request",
        "esign.sign_code",
        "esign.enrol_code",
    }
    assert again == []
    with tenant_scope(world.org):
        assert MessageTemplate.objects.count() == total


def test_default_templates_are_signed_with_the_organizations_name(chain: Chain) -> None:
    world = chain.world
    with tenant_scope(world.org):
        MessageTemplate.objects.all().delete()

    default_templates_install(organization=world.org)

    with tenant_scope(world.org):
        signs = set(
            MessageTemplate.objects.filter(channel="sms").values_list("sms_sign", flat=True)
        )
    assert signs == {"SmileChain"}


def test_a_template_edit_is_checked_and_audited(chain: Chain) -> None:
    world = chain.world
    with tenant_scope(world.org, world.clinic1):
        template = MessageTemplate.objects.get(code="appointment.reminder", channel="sms")
        with pytest.raises(ValidationFailed):
            template_update(actor=world.boss, template=template, body="{patient_name}{oops}")
        template_update(actor=world.boss, template=template, body="{patient_name}，{start}见")
        template.refresh_from_db()
        [entry] = AuditEntry.objects.filter(entity_type="messaging.messagetemplate")

    assert template.body == "{patient_name}，{start}见"
    assert template.updated_by_id == world.boss.pk
    assert entry.after == {"body": "{patient_name}，{start}见"}


# --- tenants --------------------------------------------------------------------------


def test_a_message_for_another_organization_cannot_be_queued(chain: Chain) -> None:
    world = chain.world

    with pytest.raises(NotFound):
        reminder(chain, patient=chain.patient_b)
    with pytest.raises(NotFound):
        reminder(chain, clinic=world.clinic_b)
    with tenant_scope(world.org), pytest.raises(TenantScopeError):
        message_send(
            organization=world.org_b,
            channel=ChannelType.SMS,
            recipient="13700000000",
            template_code="portal.login_code",
            kind=MessageKind.VERIFICATION,
            context={"code": "1", "minutes": 1},
        )
    assert OutboxMessage.all_tenants.count() == 0


def test_an_in_app_message_cannot_name_another_organizations_staff(chain: Chain) -> None:
    with pytest.raises(ValidationFailed):
        reminder(chain, channel=ChannelType.IN_APP, recipient=f"staff:{chain.world.boss_b.pk}")


def test_the_deliverer_sends_every_organizations_messages_each_in_its_own_scope(
    chain: Chain, files: Files
) -> None:
    world = chain.world
    a = reminder(chain)
    with tenant_scope(world.org_b, world.clinic_b):
        b = message_send(
            organization=world.org_b,
            clinic=world.clinic_b,
            channel=ChannelType.SMS,
            recipient="13700000000",
            template_code="appointment.reminder",
            kind=MessageKind.NOTIFICATION,
            context={"start": START, "end": START, "doctor_name": "赵"},
            patient=chain.patient_b,
        )

    assert deliver(timezone.now()).sent == 2

    lines = {line["outbox_id"]: line for line in files.sms_sent()}
    assert lines[a.pk]["organization_id"] == world.org.pk
    assert lines[a.pk]["text"].startswith("【微笑齿科】张三")
    assert lines[b.pk]["organization_id"] == world.org_b.pk
    assert lines[b.pk]["text"].startswith("【别家口腔】王五")
    with tenant_scope(world.org_b):
        assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [b.pk]
