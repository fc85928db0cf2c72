"""API of stored-value cards (储值卡) and top-up bonus rules.

Cards belong to the organization and can be used at every clinic; the money rows (top-ups,
pay-outs) carry the clinic acted in (X-Clinic-Id). Paying out needs both
billing.stored_value and billing.refund_approve.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Header, Query, Router
from ninja.responses import Status

from chairside.billing.schemas.stored_value import (
    AccountOpenIn,
    AccountOut,
    AccountPage,
    AccountQuery,
    AccountUpdateIn,
    BonusPreviewOut,
    BonusPreviewQuery,
    BonusRuleIn,
    BonusRuleOut,
    BonusRuleUpdateIn,
    EntryOut,
    EntryPage,
    StoredValueRefundIn,
    StoredValueRefundOut,
    TopUpIn,
    TopUpOut,
    forfeited,
)
from chairside.billing.selectors import stored_value as selectors
from chairside.billing.services import stored_value as services
from chairside.core.api_auth import AUTH_ERRORS, LOOKUP_ERRORS, access_of, error_responses
from chairside.core.pagination import paginate
from chairside.core.schemas import PageQuery, PathId
from chairside.patients.selectors import get_patient

router = Router(tags=["billing"])

WRITE_ERRORS = error_responses(400, 401, 403, 404, 409)


# --- bonus rules ----------------------------------------------------------------------


@router.get(
    "/top-up-bonus-rules",
    response={200: list[BonusRuleOut], **AUTH_ERRORS},
    summary="List top-up bonus rules",
)
def bonus_rule_list(request: HttpRequest) -> list[BonusRuleOut]:
    access_of(request).require("billing.view")
    return [BonusRuleOut.of(r) for r in selectors.bonus_rule_list()]


@router.post(
    "/top-up-bonus-rules",
    response={201: BonusRuleOut, **AUTH_ERRORS},
    summary="Add a top-up bonus rule",
)
def bonus_rule_create(request: HttpRequest, payload: BonusRuleIn) -> Status[BonusRuleOut]:
    access = access_of(request)
    access.require("billing.catalogue")
    rule = services.top_up_bonus_rule_create(
        actor=access.staff, clinic=access.clinic, **payload.model_dump()
    )
    return Status(201, BonusRuleOut.of(rule))


@router.patch(
    "/top-up-bonus-rules/{int:rule_id}",
    response={200: BonusRuleOut, **LOOKUP_ERRORS},
    summary="Edit or end a top-up bonus rule",
)
def bonus_rule_update(
    request: HttpRequest, rule_id: PathId, payload: BonusRuleUpdateIn
) -> BonusRuleOut:
    access = access_of(request)
    access.require("billing.catalogue")
    rule = selectors.get_bonus_rule(rule_id=rule_id)
    changes = payload.model_dump(exclude_unset=True)
    # null clears a date; for the other fields it means "leave as it is".
    changes = {k: v for k, v in changes.items() if v is not None or k in ("starts_on", "ends_on")}
    rule = services.top_up_bonus_rule_update(
        actor=access.staff, clinic=access.clinic, rule=rule, **changes
    )
    return BonusRuleOut.of(rule)


@router.get(
    "/stored-value/bonus-preview",
    response={200: BonusPreviewOut, **AUTH_ERRORS},
    summary="The bonus a top-up would bring today",
)
def bonus_preview(request: HttpRequest, query: Query[BonusPreviewQuery]) -> BonusPreviewOut:
    access = access_of(request)
    access.require("billing.view")
    return BonusPreviewOut.of(selectors.bonus_preview(clinic=access.clinic, amount=query.amount))


# --- cards ----------------------------------------------------------------------------


@router.get(
    "/stored-value/accounts",
    response={200: AccountPage, **LOOKUP_ERRORS},
    summary="Search stored-value cards",
)
def account_list(request: HttpRequest, filters: Query[AccountQuery]) -> AccountPage:
    """By card number or owner; with patient_id, the cards that patient may pay with."""
    access_of(request).require("billing.view")
    patient = get_patient(patient_id=filters.patient_id) if filters.patient_id else None
    cards = selectors.stored_value_account_list(
        query=filters.q, patient=patient, status=filters.status
    )
    page = paginate(cards, page=filters.page, page_size=filters.page_size)
    return AccountPage.of(page, [AccountOut.of(a) for a in page.items])


@router.post(
    "/stored-value/accounts",
    response={201: AccountOut, **WRITE_ERRORS},
    summary="Open a stored-value card for a patient",
)
def account_open(request: HttpRequest, payload: AccountOpenIn) -> Status[AccountOut]:
    access = access_of(request)
    access.require("billing.stored_value")
    owner = get_patient(patient_id=payload.patient_id)
    account = services.stored_value_account_open(
        actor=access.staff,
        clinic=access.clinic,
        owner=owner,
        shared_with_family=payload.shared_with_family,
    )
    return Status(201, AccountOut.of(account))


@router.get(
    "/stored-value/accounts/{int:account_id}",
    response={200: AccountOut, **LOOKUP_ERRORS},
    summary="A stored-value card",
)
def account_detail(request: HttpRequest, account_id: PathId) -> AccountOut:
    access_of(request).require("billing.view")
    return AccountOut.of(selectors.get_stored_value_account(account_id=account_id))


@router.patch(
    "/stored-value/accounts/{int:account_id}",
    response={200: AccountOut, **WRITE_ERRORS},
    summary="Share, freeze, close or reopen a card",
)
def account_update(
    request: HttpRequest, account_id: PathId, payload: AccountUpdateIn
) -> AccountOut:
    access = access_of(request)
    access.require("billing.stored_value")
    account = selectors.get_stored_value_account(account_id=account_id)
    if payload.shared_with_family is not None:
        services.stored_value_set_sharing(
            actor=access.staff,
            clinic=access.clinic,
            account=account,
            shared_with_family=payload.shared_with_family,
        )
    if payload.status is not None:
        services.stored_value_set_status(
            actor=access.staff, clinic=access.clinic, account=account, status=payload.status
        )
    return AccountOut.of(selectors.get_stored_value_account(account_id=account_id))


@router.get(
    "/stored-value/accounts/{int:account_id}/entries",
    response={200: EntryPage, **LOOKUP_ERRORS},
    summary="A card's ledger, newest first",
)
def account_entries(
    request: HttpRequest, account_id: PathId, paging: Query[PageQuery]
) -> EntryPage:
    access_of(request).require("billing.view")
    account = selectors.get_stored_value_account(account_id=account_id)
    page = paginate(
        selectors.stored_value_entries(account=account),
        page=paging.page,
        page_size=paging.page_size,
    )
    return EntryPage.of(page, [EntryOut.of(e) for e in page.items])


@router.post(
    "/stored-value/accounts/{int:account_id}/top-ups",
    response={201: TopUpOut, **WRITE_ERRORS},
    summary="Top up a card",
)
def account_top_up(
    request: HttpRequest,
    account_id: PathId,
    payload: TopUpIn,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        max_length=100,
        description="Retrying with the same key and body returns the first answer.",
    ),
) -> Status[TopUpOut]:
    """Money in by cash, WeChat Pay, Alipay or bank card, plus the bonus of the best rule
    in force. Send an Idempotency-Key so that a retried request never charges twice."""
    access = access_of(request)
    access.require("billing.stored_value")
    account = selectors.get_stored_value_account(account_id=account_id)
    entry = services.stored_value_top_up(
        actor=access.staff,
        clinic=access.clinic,
        account=account,
        amount=payload.amount,
        method=payload.method,
        reference=payload.reference,
        tendered=payload.tendered,
        idempotency_key=idempotency_key or None,
    )
    entry = selectors.stored_value_entries(account=account).get(pk=entry.pk)
    tendered = entry.payment.tendered if entry.payment else None
    change = tendered - entry.payment.amount if tendered is not None and entry.payment else None
    return Status(
        201,
        TopUpOut(
            entry=EntryOut.of(entry),
            account=AccountOut.of(selectors.get_stored_value_account(account_id=account_id)),
            change=change,
        ),
    )


@router.post(
    "/stored-value/accounts/{int:account_id}/refunds",
    response={201: StoredValueRefundOut, **WRITE_ERRORS},
    summary="Pay principal out of a card",
)
def account_refund(
    request: HttpRequest, account_id: PathId, payload: StoredValueRefundIn
) -> Status[StoredValueRefundOut]:
    """Only principal is paid out; the bonus that came with it is forfeited in proportion.
    Needs billing.stored_value and billing.refund_approve."""
    access = access_of(request)
    access.require("billing.stored_value")
    access.require("billing.refund_approve")
    account = selectors.get_stored_value_account(account_id=account_id)
    entry = services.stored_value_refund(
        actor=access.staff,
        clinic=access.clinic,
        account=account,
        amount=payload.amount,
        method=payload.method,
        reason=payload.reason,
    )
    entry = selectors.stored_value_entries(account=account).get(pk=entry.pk)
    return Status(
        201,
        StoredValueRefundOut(
            entry=EntryOut.of(entry),
            account=AccountOut.of(selectors.get_stored_value_account(account_id=account_id)),
            forfeited_bonus=forfeited(entry),
        ),
    )
