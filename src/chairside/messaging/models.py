"""Message templates, the outbox of every message sent, and in-app messages (N1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import ValidationFailed
from chairside.core.models import Clinic, Staff
from chairside.core.tenancy import TenantModel
from chairside.messaging import templating
from chairside.messaging.errors import MessagingErrorCode
from chairside.patients.models import Patient


class ChannelType(models.TextChoices):
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat template message")
    EMAIL = "email", _("E-mail")
    IN_APP = "in_app", _("In-app message")


class MessageKind(models.TextChoices):
    """What the law and the carriers treat differently: marketing needs consent, an opt-out
    and daytime hours; verification codes must arrive at once or not at all."""

    NOTIFICATION = "notification", _("Notification")
    MARKETING = "marketing", _("Marketing")
    VERIFICATION = "verification", _("Verification code")


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", _("Simplified Chinese")
    EN = "en", _("English")


@dataclass(frozen=True)
class MessageEvent:
    """Something the product sends a message about, and the variables its text may use."""

    kind: str
    variables: frozenset[str]
    label: Any


# Filled in from the clinic, the organization and the patient when the sender leaves them out.
COMMON_VARIABLES = frozenset(
    {"patient_name", "clinic_name", "clinic_phone", "clinic_address", "organization_name"}
)
_APPOINTMENT = COMMON_VARIABLES | {"start", "end", "doctor_name"}

# Every event a template can be written for. Later modules (care rules, surveys, campaigns)
# add theirs here, so that template checks know their variables.
EVENTS: dict[str, MessageEvent] = {
    "appointment.confirmation": MessageEvent(
        MessageKind.NOTIFICATION, _APPOINTMENT, _("Appointment booked")
    ),
    "appointment.reminder": MessageEvent(
        MessageKind.NOTIFICATION, _APPOINTMENT, _("Appointment reminder")
    ),
    "appointment.changed": MessageEvent(
        MessageKind.NOTIFICATION, _APPOINTMENT | {"previous_start"}, _("Appointment moved")
    ),
    "appointment.cancelled": MessageEvent(
        MessageKind.NOTIFICATION, _APPOINTMENT, _("Appointment cancelled")
    ),
    "portal.login_code": MessageEvent(
        MessageKind.VERIFICATION, COMMON_VARIABLES | {"code", "minutes"}, _("Portal sign-in code")
    ),
    "membership.renewal": MessageEvent(
        MessageKind.NOTIFICATION,
        COMMON_VARIABLES | {"card_number", "tier_name", "expires_on"},
        _("Membership renewal reminder"),
    ),
    "esign.sign_request": MessageEvent(
        MessageKind.NOTIFICATION,
        COMMON_VARIABLES | {"url", "document_number"},
        _("Document to sign (link)"),
    ),
    "esign.sign_code": MessageEvent(
        MessageKind.VERIFICATION, COMMON_VARIABLES | {"code", "minutes"}, _("Signing code")
    ),
    "esign.enrol_code": MessageEvent(
        MessageKind.VERIFICATION,
        COMMON_VARIABLES | {"code", "minutes"},
        _("Signing-key enrolment code"),
    ),
}


def _braces(variables: list[str]) -> str:
    return ", ".join("{" + name + "}" for name in sorted(variables))


class MessageTemplate(TenantModel):
    """The text of one event on one channel in one language, for the whole organization
    (clinic empty) or overridden for one clinic."""

    clinic = models.ForeignKey(
        Clinic,
        verbose_name=_("clinic"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: used by every clinic without its own version."),
    )
    code = models.CharField(_("event"), max_length=64)
    channel = models.CharField(_("channel"), max_length=10, choices=ChannelType.choices)
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, default=Language.ZH_HANS
    )
    kind = models.CharField(_("kind"), max_length=15, choices=MessageKind.choices, editable=False)
    sms_sign = models.CharField(
        _("SMS signature"),
        max_length=templating.SMS_SIGN_MAX,
        blank=True,
        help_text=_("The signature (签名) registered with the carrier, shown as 【signature】."),
    )
    provider_template_id = models.CharField(
        _("provider template id"),
        max_length=64,
        blank=True,
        help_text=_("The SMS template code or WeChat template id registered with the provider."),
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering: ClassVar[list[str]] = ["code", "channel", "language", "id"]
        constraints: ClassVar[list[Any]] = [
            # NULL clinics never collide in a unique index, hence one constraint per case.
            models.UniqueConstraint(
                fields=["organization", "code", "channel", "language"],
                condition=Q(clinic__isnull=True),
                name="message_template_org_unique",
            ),
            models.UniqueConstraint(
                fields=["organization", "clinic", "code", "channel", "language"],
                condition=Q(clinic__isnull=False),
                name="message_template_clinic_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.channel}, {self.language})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.validate()
        super().save(*args, **kwargs)

    def validate(self) -> None:
        """Refuse a text that could not be sent as written, with every problem at once."""
        problems: dict[str, list[Any]] = {}

        def problem(field: str, message: Any) -> None:
            problems.setdefault(field, []).append(message)

        event = EVENTS.get(self.code)
        if event is None:
            problem("code", _("There is no message event %(code)s.") % {"code": self.code})
        else:
            self.kind = event.kind
        if self.channel not in ChannelType.values:
            problem("channel", _("Choose a channel."))
        if self.language not in Language.values:
            problem("language", _("Choose a language."))
        if not self.body.strip():
            problem("body", _("Enter the text of the message."))
        if "\n" in self.subject or "\r" in self.subject:
            problem("subject", _("The subject must be one line."))
        if self.channel == ChannelType.EMAIL and not self.subject.strip():
            problem("subject", _("Enter the subject of the e-mail."))
        used: set[str] = set()
        for field in ("subject", "body"):
            try:
                used |= templating.placeholders(getattr(self, field))
            except templating.PlaceholderError as e:
                if e.reason == "braces":
                    problem(field, _("A { or } is unmatched; write {{ or }} for a brace itself."))
                else:
                    problem(
                        field,
                        _("%(placeholder)s is not a variable: write variables as {name}.")
                        % {"placeholder": e.detail},
                    )
        if event is not None:
            unknown = sorted(used - event.variables)
            if unknown:
                problem(
                    "body",
                    _("Unknown variables: %(unknown)s. This message may use %(known)s.")
                    % {"unknown": _braces(unknown), "known": _braces(list(event.variables))},
                )
            if event.kind == MessageKind.VERIFICATION and "code" not in used:
                problem("body", _("A verification message must contain {code}."))
        if self.channel == ChannelType.SMS:
            self._validate_sms(problem, event)
        if problems:
            first = next(iter(problems.values()))[0]
            raise ValidationFailed(first, fields=problems, code=MessagingErrorCode.INVALID_TEMPLATE)

    def _validate_sms(
        self, problem: Callable[[str, Any], None], event: MessageEvent | None
    ) -> None:
        sign = self.sms_sign.strip()
        if not (templating.SMS_SIGN_MIN <= len(sign) <= templating.SMS_SIGN_MAX) or any(
            ch in sign for ch in "【】[]"
        ):
            problem(
                "sms_sign",
                _("Enter the SMS signature registered with the carrier: 2 to 18 characters."),
            )
        if self.body.lstrip().startswith("【"):
            problem(
                "body",
                _("Leave the 【signature】 out of the text: it is added from the signature field."),
            )
        if (
            event is not None
            and event.kind == MessageKind.MARKETING
            and not templating.has_opt_out(self.body)
        ):
            problem(
                "body",
                _("A marketing SMS must say how to refuse more, e.g. %(phrase)s.")
                % {"phrase": templating.OPT_OUT_PHRASES[0]},
            )


class OutboxMessage(TenantModel):
    """One message to one recipient and its delivery: the record of everything sent.

    Rows are never deleted and their status only moves forward (see NEXT), so the outbox
    is the history a clinic consults when a patient says "I never got the reminder".
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed, will retry")
        DEAD = "dead", _("Gave up")
        CANCELLED = "cancelled", _("Cancelled")

    # The moves a status may make. SENDING -> SENDING is a new attempt after a worker died
    # holding the message (its lease ran out).
    NEXT: ClassVar[dict[str, frozenset[str]]] = {
        Status.QUEUED: frozenset({Status.SENDING, Status.CANCELLED, Status.DEAD}),
        Status.SENDING: frozenset({Status.SENT, Status.FAILED, Status.DEAD, Status.SENDING}),
        Status.FAILED: frozenset({Status.SENDING, Status.CANCELLED, Status.DEAD}),
        Status.SENT: frozenset(),
        Status.DEAD: frozenset(),
        Status.CANCELLED: frozenset(),
    }
    PENDING: ClassVar[tuple[str, ...]] = (Status.QUEUED, Status.SENDING, Status.FAILED)

    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=ChannelType.choices)
    # A mobile number, an e-mail address, a WeChat openid, or staff:<id> / patient:<id>.
    recipient = models.CharField(max_length=254)
    template_code = models.CharField(max_length=64)
    language = models.CharField(max_length=10, choices=Language.choices)
    kind = models.CharField(max_length=15, choices=MessageKind.choices)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    # The variables as rendered: providers that take a template code get these, not the text.
    params = models.JSONField(default=dict)
    sms_sign = models.CharField(max_length=templating.SMS_SIGN_MAX, blank=True)
    provider_template_id = models.CharField(max_length=64, blank=True)
    # SMS billed for this message (1 for other channels): what quotas count.
    segments = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"], name="outbox_dedupe_key_unique"
            ),
            models.CheckConstraint(condition=Q(segments__gte=1), name="outbox_segments_positive"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            # What the deliverer scans, over every organization: small, as sent rows leave it.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["queued", "sending", "failed"]),
                name="outbox_due_idx",
            ),
            models.Index(fields=["organization", "created_at"], name="outbox_org_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.template_code} → {self.recipient} ({self.status})"

    def advance(self, status: str) -> None:
        """Move to `status`, refusing a move backwards (a bug, never a user error)."""
        if status not in self.NEXT[self.status]:
            raise ValueError(f"outbox message {self.pk}: {self.status} cannot become {status}")
        self.status = status

    @property
    def text(self) -> str:
        """What the recipient reads: for SMS the body behind its 【signature】."""
        if self.channel == ChannelType.SMS:
            return templating.sms_text(sign=self.sms_sign, body=self.body)
        return self.body


class InAppMessage(TenantModel):
    """A message shown inside the console (to staff) or the portal (to a patient)."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outbox = models.OneToOneField(OutboxMessage, on_delete=models.PROTECT, related_name="in_app")
    staff = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("in-app message")
        verbose_name_plural = _("in-app messages")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(staff__isnull=False, patient__isnull=True)
                | Q(staff__isnull=True, patient__isnull=False),
                name="in_app_one_recipient",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "staff", "created_at"], name="in_app_staff_idx"),
            models.Index(
                fields=["organization", "patient", "created_at"], name="in_app_patient_idx"
            ),
        ]
