"""Stored-value cards (储值卡, B5): open, top up (with bonus rules), spend on a bill, take
back from a bill refund, pay out, share with the family, freeze and close.

A card keeps two balances, principal (本金, money paid in) and bonus (赠金). Every movement
locks the card row, appends one `StoredValueEntry` with the deltas and the balances after
it, and moves the balances on the row by the same deltas, so the row always equals the sum
of its ledger (the database refuses a negative balance as a last line of defence). Money
crossing the counter (top-ups, pay-outs) is also a `Payment` row, written by
`ledger.payment_record`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chairside.billing.errors import BillingErrorCode
from chairside.billing.models import (
    Bill,
    CheckoutRequest,
    Payment,
    PaymentMethod,
    StoredValueAccount,
    StoredValueEntry,
    StoredValueNumberSequence,
    TopUpBonusRule,
)
from chairside.billing.services.ledger import payment_record
from chairside.core.audit import audit_record, snapshot
from chairside.core.clock import clinic_today
from chairside.core.errors import Conflict, DomainError, FieldErrors, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.core.money import Money, quantize_money
from chairside.core.tenancy import current_tenant
from chairside.patients.models import Patient

ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("9999999999.99")
NUMBER_PREFIX = "SV"
NUMBER_DIGITS = 8
# Money paid in or out over the counter; a card cannot be topped up from itself or from
# medical insurance.
COUNTER_METHODS = tuple(
    m
    for m in PaymentMethod.values
    if m not in {PaymentMethod.STORED_VALUE, PaymentMethod.INSURANCE}
)
STATUS_LABELS = dict(StoredValueAccount.Status.choices)


def clean_amount(value: Any, *, field: str = "amount") -> Decimal:
    """A positive amount of money, rounded to the fen."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed(_("Enter an amount."), field=field)
    try:
        amount = quantize_money(value.strip() if isinstance(value, str) else value)
    except (DomainError, TypeError):
        raise ValidationFailed(_("Enter an amount such as 500 or 99.50."), field=field) from None
    if amount <= 0:
        raise ValidationFailed(_("The amount must be more than zero."), field=field)
    if amount > MAX_AMOUNT:
        raise ValidationFailed(_("This amount is too large."), field=field)
    return amount


def _clean_method(method: str) -> str:
    if method not in COUNTER_METHODS:
        raise ValidationFailed(_("Choose cash, WeChat Pay, Alipay or bank card."), field="method")
    return method


def _lock(account: StoredValueAccount) -> StoredValueAccount:
    """The card row, locked until the transaction ends, with fresh balances."""
    locked: StoredValueAccount = StoredValueAccount.objects.select_for_update().get(pk=account.pk)
    # Not joined into the locking query: that would lock the patient row too.
    locked.owner = Patient.objects.get(pk=locked.owner_id)
    return locked


def _require_status(account: StoredValueAccount, *allowed: str) -> None:
    if account.status not in allowed:
        raise Conflict(
            _("Card %(number)s is %(status)s.")
            % {"number": account.number, "status": STATUS_LABELS[account.status]},
            code=BillingErrorCode.CARD_NOT_ACTIVE,
        )


def _append(
    account: StoredValueAccount,
    *,
    actor: Staff,
    clinic: Clinic,
    kind: StoredValueEntry.Kind,
    principal_delta: Decimal,
    bonus_delta: Decimal,
    patient: Patient,
    payment: Payment | None = None,
    bonus_rule: TopUpBonusRule | None = None,
    note: str = "",
) -> StoredValueEntry:
    """Move the locked card's balances and append the ledger entry that says so."""
    principal_after = quantize_money(account.principal_balance + principal_delta)
    bonus_after = quantize_money(account.bonus_balance + bonus_delta)
    if principal_after < 0 or bonus_after < 0:  # callers check first; this is the backstop
        raise Conflict(
            _("Card %(number)s has only %(balance)s left.")
            % {"number": account.number, "balance": Money(account.balance)},
            code=BillingErrorCode.INSUFFICIENT_BALANCE,
        )
    account.principal_balance = principal_after
    account.bonus_balance = bonus_after
    account.save(update_fields=["principal_balance", "bonus_balance"])
    entry: StoredValueEntry = StoredValueEntry.objects.create(
        account=account,
        clinic=clinic,
        kind=kind,
        principal_delta=quantize_money(principal_delta),
        bonus_delta=quantize_money(bonus_delta),
        principal_after=principal_after,
        bonus_after=bonus_after,
        patient=patient,
        payment=payment,
        bonus_rule=bonus_rule,
        note=note,
        created_by=actor,
    )
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=entry,
        actor=actor,
        clinic=clinic,
        after=snapshot(entry),
        summary=gettext("%(kind)s on card %(number)s: principal %(principal)s, bonus %(bonus)s")
        % {
            "kind": entry.get_kind_display(),
            "number": account.number,
            "principal": entry.principal_delta,
            "bonus": entry.bonus_delta,
        },
    )
    return entry


def _next_number(organization_id: int) -> str:
    sequence, _created = StoredValueNumberSequence.objects.select_for_update().get_or_create(
        organization_id=organization_id
    )
    while True:
        number = f"{NUMBER_PREFIX}{sequence.next_value:0{NUMBER_DIGITS}d}"
        sequence.next_value += 1
        # Skip numbers taken some other way (an import), so opening never fails on them.
        if not StoredValueAccount.objects.filter(number=number).exists():
            break
    sequence.save(update_fields=["next_value"])
    return number


# --- opening, sharing, status ---------------------------------------------------------


@transaction.atomic
def stored_value_account_open(
    *, actor: Staff, clinic: Clinic, owner: Patient, shared_with_family: bool = False
) -> StoredValueAccount:
    """Open the patient's card (one per patient), numbered SV00000001, SV00000002, ... in
    the organization. The card is the organization's: every clinic can use it."""
    owner = Patient.objects.get(pk=owner.pk)
    if owner.is_archived:
        raise ValidationFailed(
            _("%(name)s is archived; restore the patient before opening a card.")
            % {"name": owner.name}
        )
    existing = StoredValueAccount.objects.filter(owner=owner).first()
    if existing is not None:
        raise Conflict(
            _("%(name)s already has card %(number)s.")
            % {"name": owner.name, "number": existing.number},
            code=BillingErrorCode.CARD_EXISTS,
        )
    if shared_with_family and owner.family_id is None:
        raise ValidationFailed(
            _("%(name)s is not in a family; add the family first to share the card.")
            % {"name": owner.name},
            field="shared_with_family",
        )
    number = _next_number(current_tenant().organization_id)
    try:
        with transaction.atomic():
            account: StoredValueAccount = StoredValueAccount.objects.create(
                owner=owner,
                number=number,
                shared_with_family=shared_with_family,
                opened_at_clinic=clinic,
            )
    except IntegrityError:
        # Opened for the same patient by someone else a moment ago.
        raise Conflict(
            _("%(name)s already has a card.") % {"name": owner.name},
            code=BillingErrorCode.CARD_EXISTS,
        ) from None
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=account,
        actor=actor,
        clinic=clinic,
        after=snapshot(account),
        summary=gettext("Card %(number)s opened for %(name)s")
        % {"number": number, "name": owner.name},
    )
    return account


@transaction.atomic
def stored_value_set_sharing(
    *, actor: Staff, clinic: Clinic, account: StoredValueAccount, shared_with_family: bool
) -> StoredValueAccount:
    """Let the owner's family members pay with the card, or stop them."""
    account = _lock(account)
    if account.shared_with_family == shared_with_family:
        return account
    if shared_with_family and account.owner.family_id is None:
        raise ValidationFailed(
            _("%(name)s is not in a family; add the family first to share the card.")
            % {"name": account.owner.name},
            field="shared_with_family",
        )
    account.shared_with_family = shared_with_family
    account.save(update_fields=["shared_with_family"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=account,
        actor=actor,
        clinic=clinic,
        before={"shared_with_family": not shared_with_family},
        after={"shared_with_family": shared_with_family},
        summary=(
            gettext("Card %(number)s shared with the family")
            if shared_with_family
            else gettext("Card %(number)s no longer shared with the family")
        )
        % {"number": account.number},
    )
    return account


@transaction.atomic
def stored_value_set_status(
    *, actor: Staff, clinic: Clinic, account: StoredValueAccount, status: str
) -> StoredValueAccount:
    """Freeze a card (no top-ups or spending; pay-outs still possible), unfreeze it, close
    it (only at a zero balance: pay the principal out first) or reopen a closed one."""
    if status not in StoredValueAccount.Status.values:
        raise ValidationFailed(_("Choose active, frozen or closed."), field="status")
    account = _lock(account)
    if account.status == status:
        return account
    if status == StoredValueAccount.Status.CLOSED and account.balance != 0:
        raise Conflict(
            _("Card %(number)s still holds %(balance)s; pay it out before closing the card.")
            % {"number": account.number, "balance": Money(account.balance)},
            field="status",
        )
    if status == StoredValueAccount.Status.FROZEN and account.status != "active":
        raise Conflict(_("Only an active card can be frozen."), field="status")
    before = account.status
    account.status = status
    account.save(update_fields=["status"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=account,
        actor=actor,
        clinic=clinic,
        before={"status": before},
        after={"status": status},
        summary=gettext("Card %(number)s: %(before)s → %(after)s")
        % {
            "number": account.number,
            "before": STATUS_LABELS[before],
            "after": STATUS_LABELS[status],
        },
    )
    return account


# --- top-up ---------------------------------------------------------------------------


def best_bonus_rule(*, amount: Decimal, day: date) -> TopUpBonusRule | None:
    """The active rule valid on `day` with the highest threshold that `amount` reaches (the
    bonus preview in selectors.stored_value applies the same rule)."""
    return (
        TopUpBonusRule.objects.filter(is_active=True, threshold__lte=amount)
        .filter(Q(starts_on__isnull=True) | Q(starts_on__lte=day))
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=day))
        .order_by("-threshold", "-bonus", "id")
        .first()
    )


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _claim_key(
    *, actor: Staff, key: str, digest: str
) -> tuple[CheckoutRequest, StoredValueEntry | None]:
    """The idempotency key's request row, new, or the earlier one with the entry it made.

    Two racing requests with one key meet at the unique constraint: the second waits for the
    first to commit, then finds its row and answers with its entry.
    """
    key = key.strip()
    if not key or len(key) > 100:
        raise ValidationFailed(
            _("The idempotency key must be 1 to 100 characters."), field="Idempotency-Key"
        )
    existing = CheckoutRequest.objects.filter(key=key).first()
    if existing is None:
        try:
            with transaction.atomic():
                created = CheckoutRequest.objects.create(
                    key=key, bill=None, request_digest=digest, created_by=actor
                )
            return created, None
        except IntegrityError:
            existing = CheckoutRequest.objects.get(key=key)
    if existing.bill_id is not None or existing.request_digest != digest:
        raise Conflict(
            _("This idempotency key was used for another request."),
            code=BillingErrorCode.IDEMPOTENCY_MISMATCH,
        )
    entry = (
        StoredValueEntry.objects.filter(
            payment__checkout=existing, kind=StoredValueEntry.Kind.TOP_UP
        )
        .select_related("account", "payment")
        .first()
    )
    if entry is None:
        raise Conflict(
            _("This idempotency key was used for another request."),
            code=BillingErrorCode.IDEMPOTENCY_MISMATCH,
        )
    return existing, entry


@transaction.atomic
def stored_value_top_up(
    *,
    actor: Staff,
    clinic: Clinic,
    account: StoredValueAccount,
    amount: Decimal | int | str,
    method: str,
    reference: str = "",
    tendered: Decimal | int | str | None = None,
    idempotency_key: str | None = None,
) -> StoredValueEntry:
    """Take `amount` over the counter onto the card, plus the bonus of the best rule in
    force today (the highest threshold the amount reaches). With an idempotency key, a
    retry of the same request returns the first entry and takes no money; the same key
    with a different request is refused."""
    amount = clean_amount(amount)
    method = _clean_method(method)
    reference = (reference or "").strip()
    if len(reference) > 64:
        raise ValidationFailed(
            _("The transaction reference is too long (at most 64 characters)."),
            field="reference",
        )
    cash_tendered: Decimal | None = None
    if tendered is not None and tendered != "":
        if method != PaymentMethod.CASH:
            raise ValidationFailed(_("Only cash is tendered."), field="tendered")
        cash_tendered = clean_amount(tendered, field="tendered")
        if cash_tendered < amount:
            raise ValidationFailed(
                _("The cash handed over is less than the amount."), field="tendered"
            )
    checkout = None
    if idempotency_key is not None:
        digest = _digest(
            {
                "operation": "stored_value_top_up",
                "account": account.pk,
                "amount": str(amount),
                "method": method,
                "reference": reference,
                "tendered": None if cash_tendered is None else str(cash_tendered),
            }
        )
        checkout, earlier = _claim_key(actor=actor, key=idempotency_key, digest=digest)
        if earlier is not None:
            return earlier
    account = _lock(account)
    _require_status(account, StoredValueAccount.Status.ACTIVE)
    rule = best_bonus_rule(amount=amount, day=clinic_today(clinic))
    payment = payment_record(
        clinic=clinic,
        patient=account.owner,
        kind=Payment.Kind.TOP_UP,
        method=method,
        amount=amount,
        received_by=actor,
        checkout=checkout,
        tendered=cash_tendered,
        reference=reference,
    )
    return _append(
        account,
        actor=actor,
        clinic=clinic,
        kind=StoredValueEntry.Kind.TOP_UP,
        principal_delta=amount,
        bonus_delta=rule.bonus if rule else ZERO,
        patient=account.owner,
        payment=payment,
        bonus_rule=rule,
        note=rule.name if rule else "",
    )


# --- spend and return (called by the cashier's bill payment and refund) ---------------


def _check_user(account: StoredValueAccount, patient: Patient) -> None:
    if patient.pk == account.owner_id:
        return
    owner_family = account.owner.family_id
    if (
        account.shared_with_family
        and owner_family is not None
        and patient.family_id == owner_family
    ):
        return
    raise Conflict(
        _("Card %(number)s belongs to %(owner)s and is not shared with %(patient)s.")
        % {"number": account.number, "owner": account.owner.name, "patient": patient.name},
        code=BillingErrorCode.CARD_NOT_USABLE,
    )


@transaction.atomic
def stored_value_spend(
    *,
    actor: Staff,
    clinic: Clinic,
    account: StoredValueAccount,
    patient: Patient,
    amount: Decimal | int | str,
    payment: Payment,
) -> StoredValueEntry:
    """Take `amount` off the card for `patient`'s bill; `payment` is the stored-value bill
    payment row just written for it.

    The card row is locked first, so concurrent spends queue and each sees the balance the
    previous one left. The amount is split between principal and bonus in proportion to
    the two balances (exact to the fen), so the bonus cannot be used up first and the
    principal paid out.
    """
    amount = clean_amount(amount)
    if (
        payment.kind != Payment.Kind.BILL_PAYMENT
        or payment.method != PaymentMethod.STORED_VALUE
        or payment.amount != amount
    ):
        raise ValueError("a spend needs the stored-value bill payment row of the same amount")
    account = _lock(account)
    _require_status(account, StoredValueAccount.Status.ACTIVE)
    _check_user(account, patient)
    if amount > account.balance:
        raise Conflict(
            _("Card %(number)s has only %(balance)s left, less than %(amount)s.")
            % {
                "number": account.number,
                "balance": Money(account.balance),
                "amount": Money(amount),
            },
            code=BillingErrorCode.INSUFFICIENT_BALANCE,
        )
    principal_part, bonus_part = Money(amount).allocate(
        [account.principal_balance, account.bonus_balance]
    )
    return _append(
        account,
        actor=actor,
        clinic=clinic,
        kind=StoredValueEntry.Kind.SPEND,
        principal_delta=-principal_part.amount,
        bonus_delta=-bonus_part.amount,
        patient=patient,
        payment=payment,
        note=payment.bill.number if payment.bill is not None else "",
    )


@transaction.atomic
def stored_value_return(
    *, actor: Staff, clinic: Clinic, bill: Bill, amount: Decimal | int | str, payment: Payment
) -> StoredValueEntry:
    """Put `amount` of a bill refund back on the card(s) that paid the bill; `payment` is
    the negative stored-value refund row.

    Never more than was spent from the cards on the bill less earlier returns. The amount
    is split over the cards, and on each card between principal and bonus, in proportion to
    what is still returnable; since earlier returns followed the same proportion, that is
    the proportion of the original spends, and a return of everything restores each part
    exactly. Returns the entry of the first card (one entry per card is written).
    """
    amount = clean_amount(amount)
    if (
        payment.kind != Payment.Kind.BILL_REFUND
        or payment.method != PaymentMethod.STORED_VALUE
        or payment.bill_id != bill.pk
        or payment.amount != -amount
    ):
        raise ValueError("a return needs the bill's stored-value refund row of the same amount")
    account_ids = sorted(
        set(
            StoredValueEntry.objects.filter(
                kind=StoredValueEntry.Kind.SPEND, payment__bill=bill
            ).values_list("account_id", flat=True)
        )
    )
    if not account_ids:
        raise Conflict(
            _("Bill %(number)s was not paid with a stored-value card.") % {"number": bill.number}
        )
    # Locked in id order, as every path does, so two refunds cannot deadlock.
    accounts = list(
        StoredValueAccount.objects.select_for_update().filter(pk__in=account_ids).order_by("pk")
    )
    sums = {
        row["account_id"]: row
        for row in StoredValueEntry.objects.filter(
            payment__bill=bill,
            kind__in=[StoredValueEntry.Kind.SPEND, StoredValueEntry.Kind.RETURN],
        )
        .values("account_id")
        .annotate(principal=Sum("principal_delta"), bonus=Sum("bonus_delta"))
    }
    # Spends are negative, returns positive: minus the sum is what is still returnable.
    returnable = {
        a.pk: (-quantize_money(sums[a.pk]["principal"]), -quantize_money(sums[a.pk]["bonus"]))
        for a in accounts
    }
    total = sum((p + b for p, b in returnable.values()), ZERO)
    if amount > total:
        raise Conflict(
            _("Only %(total)s paid from stored value on bill %(number)s can still be returned.")
            % {"total": Money(total), "number": bill.number},
            field="amount",
        )
    for account in accounts:
        _require_status(account, StoredValueAccount.Status.ACTIVE, StoredValueAccount.Status.FROZEN)
    shares = Money(amount).allocate([sum(returnable[a.pk]) for a in accounts])
    entries: list[StoredValueEntry] = []
    for account, share in zip(accounts, shares, strict=True):
        if not share:
            continue
        principal_left, bonus_left = returnable[account.pk]
        principal_part, bonus_part = share.allocate([principal_left, bonus_left])
        account.owner = Patient.objects.get(pk=account.owner_id)
        entries.append(
            _append(
                account,
                actor=actor,
                clinic=clinic,
                kind=StoredValueEntry.Kind.RETURN,
                principal_delta=principal_part.amount,
                bonus_delta=bonus_part.amount,
                patient=bill.patient,
                payment=payment,
                note=bill.number,
            )
        )
    return entries[0]


# --- pay-out --------------------------------------------------------------------------


def forfeited_bonus(*, principal: Decimal, bonus: Decimal, paid_out: Decimal) -> Decimal:
    """The bonus a pay-out of `paid_out` from `principal` gives up.

    Bonus came with principal, so it goes with it in proportion: paying out a share of the
    principal forfeits the same share of the bonus (rounded half-up to the fen), and paying
    out all of the principal forfeits all of the bonus. E.g. ¥1,000 principal and ¥100 bonus:
    paying out ¥400 forfeits ¥40, leaving ¥600 + ¥60.
    """
    if paid_out >= principal:
        return bonus
    return min(bonus, quantize_money(bonus * paid_out / principal))


@transaction.atomic
def stored_value_refund(
    *,
    actor: Staff,
    clinic: Clinic,
    account: StoredValueAccount,
    amount: Decimal | int | str,
    method: str,
    reason: str,
) -> StoredValueEntry:
    """Pay `amount` of principal out of the card (退卡/退款) by `method`.

    Only principal is ever paid out; the bonus is forfeited in the same proportion as the
    principal paid out (see `forfeited_bonus`). The money leaving the counter is a negative
    top-up-refund payment. Callers check billing.stored_value and billing.refund_approve.
    """
    amount = clean_amount(amount)
    method = _clean_method(method)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Enter the reason for the pay-out."), field="reason")
    if len(reason) > 200:
        raise ValidationFailed(
            _("The reason is too long (at most 200 characters)."), field="reason"
        )
    account = _lock(account)
    _require_status(account, StoredValueAccount.Status.ACTIVE, StoredValueAccount.Status.FROZEN)
    if amount > account.principal_balance:
        raise Conflict(
            _("Only the principal of card %(number)s, %(principal)s, can be paid out.")
            % {"number": account.number, "principal": Money(account.principal_balance)},
            code=BillingErrorCode.INSUFFICIENT_BALANCE,
            field="amount",
        )
    forfeit = forfeited_bonus(
        principal=account.principal_balance, bonus=account.bonus_balance, paid_out=amount
    )
    payment = payment_record(
        clinic=clinic,
        patient=account.owner,
        kind=Payment.Kind.TOP_UP_REFUND,
        method=method,
        amount=-amount,
        received_by=actor,
    )
    return _append(
        account,
        actor=actor,
        clinic=clinic,
        kind=StoredValueEntry.Kind.REFUND,
        principal_delta=-amount,
        bonus_delta=-forfeit,
        patient=account.owner,
        payment=payment,
        note=reason,
    )


# --- top-up bonus rules ---------------------------------------------------------------

RULE_FIELDS = frozenset({"name", "threshold", "bonus", "starts_on", "ends_on", "is_active"})


def _clean_rule(values: dict[str, Any], rule: TopUpBonusRule | None) -> None:
    errors = FieldErrors()
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            errors.add("name", _("Enter a name, e.g. 充1000送100."))
        elif len(values["name"]) > 50:
            errors.add("name", _("The name is too long (at most 50 characters)."))
    for field in ("threshold", "bonus"):
        if field in values:
            try:
                values[field] = clean_amount(values[field], field=field)
            except ValidationFailed as e:
                errors.add(field, e.message)
    threshold = values.get("threshold", rule.threshold if rule else None)
    bonus = values.get("bonus", rule.bonus if rule else None)
    if (
        not errors.fields.get("bonus")
        and isinstance(threshold, Decimal)
        and isinstance(bonus, Decimal)
        and bonus > threshold
    ):
        errors.add("bonus", _("The bonus cannot be more than the top-up it comes with."))
    starts_on = values.get("starts_on", rule.starts_on if rule else None)
    ends_on = values.get("ends_on", rule.ends_on if rule else None)
    if starts_on and ends_on and ends_on < starts_on:
        errors.add("ends_on", _("The end date is before the start date."))
    errors.raise_if_any()


@transaction.atomic
def top_up_bonus_rule_create(
    *,
    actor: Staff,
    clinic: Clinic,
    name: str,
    threshold: Decimal | int | str,
    bonus: Decimal | int | str,
    starts_on: Any = None,
    ends_on: Any = None,
) -> TopUpBonusRule:
    """A top-up promotion: top up at least `threshold`, get `bonus` on the card."""
    values: dict[str, Any] = {
        "name": name,
        "threshold": threshold,
        "bonus": bonus,
        "starts_on": starts_on,
        "ends_on": ends_on,
    }
    _clean_rule(values, None)
    rule: TopUpBonusRule = TopUpBonusRule.objects.create(**values)
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=rule,
        actor=actor,
        clinic=clinic,
        after=snapshot(rule),
        summary=gettext("Top-up bonus rule %(name)s added") % {"name": rule.name},
    )
    return rule


@transaction.atomic
def top_up_bonus_rule_update(
    *, actor: Staff, clinic: Clinic, rule: TopUpBonusRule, **changes: Any
) -> TopUpBonusRule:
    """Change a rule; top-ups already made keep the bonus they got."""
    unknown = set(changes) - RULE_FIELDS
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be changed: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))}
        )
    rule = TopUpBonusRule.objects.select_for_update().get(pk=rule.pk)
    _clean_rule(changes, rule)
    if "is_active" in changes:
        changes["is_active"] = bool(changes["is_active"])
    before = snapshot(rule)
    for field, value in changes.items():
        setattr(rule, field, value)
    after = snapshot(rule)
    fields = [k for k in after if before.get(k) != after.get(k)]
    if not fields:
        return rule
    rule.save()
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=rule,
        actor=actor,
        clinic=clinic,
        before={k: before[k] for k in fields},
        after={k: after[k] for k in fields},
        summary=gettext("Top-up bonus rule %(name)s changed") % {"name": rule.name},
    )
    return rule


def top_up_bonus_rule_deactivate(
    *, actor: Staff, clinic: Clinic, rule: TopUpBonusRule
) -> TopUpBonusRule:
    """End a promotion now; it stays on record for the top-ups that used it."""
    return top_up_bonus_rule_update(actor=actor, clinic=clinic, rule=rule, is_active=False)
