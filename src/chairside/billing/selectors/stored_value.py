"""Reads of stored-value cards (储值卡): a patient's cards, the card list, a card's ledger,
the ledger's sums (to check the balances against), and top-up bonus rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from chairside.billing.models import StoredValueAccount, StoredValueEntry, TopUpBonusRule
from chairside.core.clock import clinic_today
from chairside.core.errors import NotFound
from chairside.core.models import Clinic
from chairside.core.money import quantize_money
from chairside.patients.models import Patient
from chairside.patients.selectors import search_condition

ZERO = Decimal("0.00")


def get_stored_value_account(*, account_id: int) -> StoredValueAccount:
    """A card of the current organization, or the same 404 whether missing or foreign."""
    account = (
        StoredValueAccount.objects.select_related("owner", "owner__family", "opened_at_clinic")
        .filter(pk=account_id)
        .first()
    )
    if account is None:
        raise NotFound(_("Stored-value card not found."))
    return account


def stored_value_card_of(*, patient: Patient) -> StoredValueAccount | None:
    """The patient's own card, if they have one."""
    return (
        StoredValueAccount.objects.select_related("owner", "opened_at_clinic")
        .filter(owner=patient)
        .first()
    )


def _usable_condition(patient: Patient) -> Q:
    condition = Q(owner=patient)
    if patient.family_id is not None:
        condition |= Q(shared_with_family=True, owner__family_id=patient.family_id)
    return condition


def stored_value_cards_usable_by(
    *, patient: Patient, active_only: bool = False
) -> list[StoredValueAccount]:
    """The cards `patient` may pay with: their own first, then family members' shared cards."""
    cards = StoredValueAccount.objects.filter(_usable_condition(patient)).select_related(
        "owner", "opened_at_clinic"
    )
    if active_only:
        cards = cards.filter(status=StoredValueAccount.Status.ACTIVE)
    return sorted(cards, key=lambda c: (c.owner_id != patient.pk, c.pk))


def stored_value_account_list(
    *, query: str = "", patient: Patient | None = None, status: str | None = None
) -> QuerySet[StoredValueAccount]:
    """Cards by card number or by their owner (name, pinyin, phone, record number); with
    `patient`, the cards that patient may use."""
    cards = StoredValueAccount.objects.select_related("owner", "opened_at_clinic")
    text = "".join(query.split())
    if text:
        owners = Patient.objects.filter(search_condition(text)).values("pk")
        cards = cards.filter(Q(number__istartswith=text) | Q(owner__in=owners))
    if patient is not None:
        cards = cards.filter(_usable_condition(patient))
    if status:
        cards = cards.filter(status=status)
    return cards.order_by("-id")


def stored_value_entries(*, account: StoredValueAccount) -> QuerySet[StoredValueEntry]:
    """The card's ledger, newest first."""
    return (
        StoredValueEntry.objects.filter(account=account)
        .select_related("clinic", "patient", "created_by", "bonus_rule", "payment")
        .order_by("-id")
    )


@dataclass(frozen=True)
class LedgerTotals:
    """The sums of a card's ledger; they equal the card's balances."""

    principal: Decimal
    bonus: Decimal
    entries: int

    @property
    def balance(self) -> Decimal:
        return self.principal + self.bonus


def ledger_totals(account: StoredValueAccount) -> LedgerTotals:
    sums = StoredValueEntry.objects.filter(account=account).aggregate(
        principal=Sum("principal_delta"), bonus=Sum("bonus_delta")
    )
    return LedgerTotals(
        principal=quantize_money(sums["principal"] or ZERO),
        bonus=quantize_money(sums["bonus"] or ZERO),
        entries=StoredValueEntry.objects.filter(account=account).count(),
    )


# --- top-up bonus rules ---------------------------------------------------------------


def bonus_rule_list(*, active_only: bool = False) -> QuerySet[TopUpBonusRule]:
    rules = TopUpBonusRule.objects.all()
    if active_only:
        rules = rules.filter(is_active=True)
    return rules.order_by("-is_active", "threshold", "id")


def get_bonus_rule(*, rule_id: int) -> TopUpBonusRule:
    rule = TopUpBonusRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("Bonus rule not found."))
    return rule


def best_bonus_rule(*, amount: Decimal, day: date) -> TopUpBonusRule | None:
    """The active rule valid on `day` with the highest threshold that `amount` reaches; the
    same rule as services.stored_value.best_bonus_rule, which the top-up applies (layers
    keep services and selectors apart, and tests hold the two to the same answers)."""
    return (
        TopUpBonusRule.objects.filter(is_active=True, threshold__lte=amount)
        .filter(Q(starts_on__isnull=True) | Q(starts_on__lte=day))
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=day))
        .order_by("-threshold", "-bonus", "id")
        .first()
    )


@dataclass(frozen=True)
class BonusPreview:
    amount: Decimal
    bonus: Decimal
    rule: TopUpBonusRule | None

    @property
    def total(self) -> Decimal:
        """What the card gains: the amount paid plus the bonus."""
        return self.amount + self.bonus


def bonus_preview(*, clinic: Clinic, amount: Decimal) -> BonusPreview:
    """What a top-up of `amount` at `clinic` today would bring."""
    amount = quantize_money(amount)
    rule = best_bonus_rule(amount=amount, day=clinic_today(clinic)) if amount > 0 else None
    return BonusPreview(amount=amount, bonus=rule.bonus if rule else ZERO, rule=rule)
