"""Reads of coupon templates, issued coupons, batches and what is left of them."""

from __future__ import annotations

import importlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from chairside.core.clock import clinic_today, local
from chairside.core.errors import NotFound
from chairside.core.models import Clinic
from chairside.patients.models import Patient
from chairside.promotions.codes import CodeProblem, code_format, code_problem, normalize
from chairside.promotions.models import (
    Coupon,
    CouponBatch,
    CouponStatus,
    CouponTemplate,
    CouponUse,
    Entitlement,
)

OPEN_STATUSES = (CouponStatus.UNUSED, CouponStatus.PARTLY_USED)


# --- templates --------------------------------------------------------------------------


def template_list(*, query: str = "", active: bool | None = None) -> QuerySet[CouponTemplate]:
    templates = CouponTemplate.objects.all()
    if query.strip():
        templates = templates.filter(name__icontains=query.strip())
    if active is not None:
        templates = templates.filter(is_active=active)
    return templates.prefetch_related(
        Prefetch("entitlements", queryset=Entitlement.objects.select_related("item")),
        "service_items",
        "items",
        "clinics",
    ).annotate(issued=Count("coupons"))


def get_template(*, template_id: int) -> CouponTemplate:
    template = template_list().filter(pk=template_id).first()
    if template is None:
        raise NotFound(_("Coupon template not found."))
    return template


# --- coupons ----------------------------------------------------------------------------


def effective_status(coupon: Coupon, now: datetime | None = None) -> str:
    """The stored status, or expired when an open coupon is past its end."""
    now = now or timezone.now()
    if coupon.status in OPEN_STATUSES and coupon.expires_at and coupon.expires_at <= now:
        return CouponStatus.EXPIRED
    return coupon.status


def _status_filter(status: str, now: datetime) -> Q:
    not_expired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    if status == CouponStatus.EXPIRED:
        return Q(status=CouponStatus.EXPIRED) | (
            Q(status__in=OPEN_STATUSES) & Q(expires_at__lte=now)
        )
    if status in OPEN_STATUSES:
        return Q(status=status) & not_expired
    return Q(status=status)


def coupon_list(
    *,
    holder_id: int | None = None,
    status: str = "",
    template_id: int | None = None,
    batch_id: int | None = None,
    code: str = "",
) -> QuerySet[Coupon]:
    """Issued coupons, newest first, filtered; holder, template and batch joined."""
    coupons = Coupon.objects.select_related("template", "holder", "issued_clinic", "batch")
    if holder_id is not None:
        coupons = coupons.filter(holder_id=holder_id)
    if status:
        coupons = coupons.filter(_status_filter(status, timezone.now()))
    if template_id is not None:
        coupons = coupons.filter(template_id=template_id)
    if batch_id is not None:
        coupons = coupons.filter(batch_id=batch_id)
    if code.strip():
        coupons = coupons.filter(code__startswith=normalize(code))
    return coupons


def get_coupon(*, coupon_id: int) -> Coupon:
    coupon = coupon_list().filter(pk=coupon_id).first()
    if coupon is None:
        raise NotFound(_("Coupon not found."))
    return coupon


def last_valid_day(coupon: Coupon, clinic: Clinic) -> date | None:
    """The clinic day a coupon is last valid on (it expires at the midnight after it)."""
    if coupon.expires_at is None:
        return None
    return local(coupon.expires_at - timedelta(microseconds=1), clinic).date()


def coupon_by_code(code: str) -> Coupon | None:
    return coupon_list().filter(code=normalize(code)).first()


def coupon_uses(coupon: Coupon) -> QuerySet[CouponUse]:
    return (
        CouponUse.objects.filter(coupon=coupon)
        .select_related("bill", "clinic", "entitlement__item", "created_by")
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class EntitlementLeft:
    entitlement: Entitlement
    used: int

    @property
    def left(self) -> int:
        return max(self.entitlement.count - self.used, 0)


def entitlements_left(coupon: Coupon) -> list[EntitlementLeft]:
    """A combo card's entitlements and how many uses of each are left (from its uses)."""
    used = dict(
        CouponUse.objects.filter(coupon=coupon, reversed_at__isnull=True, entitlement__isnull=False)
        .values_list("entitlement_id")
        .annotate(total=Sum("count"))
        .values_list("entitlement_id", "total")
    )
    entitlements = Entitlement.objects.filter(template_id=coupon.template_id).select_related("item")
    return [EntitlementLeft(e, int(used.get(e.pk, 0) or 0)) for e in entitlements]


def wallet(*, patient: Patient, include_closed: bool = False) -> list[Coupon]:
    """The coupons a patient holds: open ones first, soonest to expire first."""
    coupons = coupon_list(holder_id=patient.pk)
    if not include_closed:
        now = timezone.now()
        coupons = coupons.filter(
            Q(status__in=OPEN_STATUSES) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        )
    return sorted(
        coupons.prefetch_related(
            "template__entitlements__item",
            "template__service_items",
            "template__items",
            "template__clinics",
        ),
        key=lambda c: (
            effective_status(c) not in OPEN_STATUSES,
            c.expires_at or datetime.max.replace(tzinfo=timezone.get_current_timezone()),
            c.pk,
        ),
    )


# --- usability --------------------------------------------------------------------------


def patient_is_member(patient: Patient, clinic: Clinic) -> bool:
    """Whether the patient's bills get a member tier (their own card or their family's).

    Asked of the membership app by name at run time: membership may issue coupons (points
    redeemed for coupons), so a static import here would tie the two apps in a cycle.
    """
    members = importlib.import_module("chairside.membership.services.members")
    return members.benefit_member(patient=patient, today=clinic_today(clinic)) is not None


def usable_problem(
    coupon: Coupon, *, clinic: Clinic, patient: Patient | None, now: datetime | None = None
) -> str | None:
    """Why `coupon` cannot be used now at `clinic` (for `patient`), or None."""
    now = now or timezone.now()
    status = effective_status(coupon, now)
    if status == CouponStatus.USED:
        return _("This coupon has been used.")
    if status == CouponStatus.VOID:
        return _("This coupon is void.")
    if status == CouponStatus.EXPIRED:
        return _("This coupon has expired.")
    if coupon.valid_from and coupon.valid_from > now:
        return _("This coupon is not valid yet.")
    template = coupon.template
    if not template.is_active:
        return _("This coupon's template is no longer active.")
    clinic_ids = {c.pk for c in template.clinics.all()}
    if clinic_ids and clinic.pk not in clinic_ids:
        return _("This coupon is not valid at this clinic.")
    if template.members_only and (patient is None or not patient_is_member(patient, clinic)):
        return _("This coupon is for members only.")
    return None


def usable_coupons(*, patient: Patient, clinic: Clinic) -> list[Coupon]:
    """The patient's own coupons that could be used on a bill at `clinic` now."""
    now = timezone.now()
    return [
        c
        for c in wallet(patient=patient)
        if usable_problem(c, clinic=clinic, patient=patient, now=now) is None
    ]


class CodeCheck(StrEnum):
    """What a typed code is, as the cashier's scanner or the code check reports it."""

    VALID = "valid"
    INVALID_CHECK = "invalid_check"
    INVALID = "invalid"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    VOID = "void"
    NOT_VALID_YET = "not_valid_yet"


@dataclass(frozen=True)
class CodeCheckResult:
    result: CodeCheck
    coupon: Coupon | None = None


def code_check(code: str, *, now: datetime | None = None) -> CodeCheckResult:
    """Check a typed code: its form and check character first, then the coupon it names."""
    problem = code_problem(code)
    if problem == CodeProblem.CHECK:
        return CodeCheckResult(CodeCheck.INVALID_CHECK)
    if problem is not None:
        return CodeCheckResult(CodeCheck.INVALID)
    coupon = coupon_by_code(code)
    if coupon is None:
        return CodeCheckResult(CodeCheck.UNKNOWN)
    now = now or timezone.now()
    status = effective_status(coupon, now)
    if status in (CouponStatus.USED, CouponStatus.EXPIRED, CouponStatus.VOID):
        return CodeCheckResult(CodeCheck(status), coupon)
    if coupon.valid_from and coupon.valid_from > now:
        return CodeCheckResult(CodeCheck.NOT_VALID_YET, coupon)
    return CodeCheckResult(CodeCheck.VALID, coupon)


# --- batches ----------------------------------------------------------------------------


def batch_list(
    *, template_id: int | None = None, clinic: Clinic | None = None
) -> QuerySet[CouponBatch]:
    """Batches, newest first; with `clinic`, only those issued there (the codes are bearer
    secrets: a clinic's staff see their own clinic's batches)."""
    batches = CouponBatch.objects.select_related("template", "clinic", "created_by")
    if clinic is not None:
        batches = batches.filter(clinic=clinic)
    if template_id is not None:
        batches = batches.filter(template_id=template_id)
    return batches.annotate(
        used=Count("coupons", filter=Q(coupons__status=CouponStatus.USED)),
    )


def get_batch(*, batch_id: int, clinic: Clinic | None = None) -> CouponBatch:
    batch = batch_list(clinic=clinic).filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("Coupon batch not found."))
    return batch


def batch_codes(batch: CouponBatch) -> Iterable[Coupon]:
    """The batch's coupons in issue order, for the export (streamed)."""
    return Coupon.objects.filter(batch=batch).order_by("id").iterator(chunk_size=2000)


def batch_export_xlsx(batch: CouponBatch, clinic: Clinic) -> bytes:
    """The batch as an Excel workbook: one row per coupon, the code as printed."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Coupons")[:31])
    template = batch.template
    sheet.append([_("Coupon template"), template.name])
    sheet.append(
        [_("Batch"), batch.pk, _("Issued at"), local(batch.created_at, clinic).replace(tzinfo=None)]
    )
    sheet.append([])
    sheet.append([_("No."), _("Code"), _("Status"), _("Valid until")])
    now = timezone.now()
    labels = dict(CouponStatus.choices)
    for number, coupon in enumerate(batch_codes(batch), start=1):
        last_day = last_valid_day(coupon, clinic)
        sheet.append(
            [
                number,
                code_format(coupon.code),
                str(labels[effective_status(coupon, now)]),
                last_day.isoformat() if last_day else "",
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def batch_export_filename(batch: CouponBatch) -> str:
    return f"coupons-batch-{batch.pk}.xlsx"
