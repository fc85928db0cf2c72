"""The discount pipeline of a bill: member tier -> coupons -> manual, always in that order.

Membership and promotions plug in here without billing importing them. A *discount
source* is a class named (by dotted path) in the setting `CHAIRSIDE_DISCOUNT_SOURCES`
that implements `DiscountSource`:

- `step`: which step of the pipeline it serves (`DiscountStep.TIER` or `.COUPON`);
- `offers(bill)`: what the cashier may pick for this bill (e.g. the coupons the patient
  holds); empty for automatic sources such as a tier discount;
- `propose(context)`: the discounts it gives, seeing each line's amount *after the earlier
  steps* (so a coupon's threshold is tested on the amount left after the tier discount)
  and the references the cashier picked for its step;
- `confirmed(bill, discounts, actor)`: called inside the transaction that confirms the bill
  with the bill's discounts of this source's step (e.g. mark coupons used); raising a
  DomainError there refuses the confirmation;
- `released(bill, discounts, actor)`: called when a confirmed bill is voided or refunded in
  full, so the source can give back what was used (e.g. reset a coupon).

Each proposed discount is split over lines in proportion to what is left of them
(`Money.allocate`, exact to the fen) and is cut down to what is left, so no line ever
goes below zero. The manual discount is built in (`ManualDiscount`); above the
organization's limit it waits for approval.

`pipeline_run` is pure: it computes, the bill services store (see services/bills.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from chairside.billing.models import DISCOUNT_ORDER, Bill, BillDiscount, DiscountStep
from chairside.core.errors import ValidationFailed
from chairside.core.models import Clinic, Staff
from chairside.core.money import Money, quantize_money
from chairside.patients.models import Patient

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class PricedLine:
    """A bill line as a discount source sees it: its amount after the earlier steps."""

    line_id: int
    category: str
    member_discount_allowed: bool
    amount: Decimal


@dataclass(frozen=True)
class DiscountContext:
    """What `DiscountSource.propose` gets for one bill."""

    bill: Bill
    patient: Patient
    clinic: Clinic
    lines: tuple[PricedLine, ...]
    # The references the cashier picked for this source's step (e.g. coupon ids).
    selected: tuple[str, ...] = ()

    @property
    def total(self) -> Decimal:
        """What is left of the whole bill before this step."""
        return sum((line.amount for line in self.lines), ZERO)


@dataclass(frozen=True)
class DiscountOffer:
    """Something the cashier may pick for a step (a coupon the patient holds)."""

    step: str
    reference: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class ProposedDiscount:
    """A discount a source gives.

    Either `amount`, split over `line_ids` (all lines when None) in proportion to what is
    left of them, or exact `shares` per line id (then `amount` is ignored). Either way it
    is cut down to what is left of those lines.
    """

    label: str
    reference: str = ""
    amount: Decimal = ZERO
    line_ids: tuple[int, ...] | None = None
    shares: Mapping[int, Decimal] | None = None


@runtime_checkable
class DiscountSource(Protocol):
    """A plug-in of the pipeline (see the module docstring)."""

    step: str

    def offers(self, bill: Bill) -> list[DiscountOffer]: ...

    def propose(self, context: DiscountContext) -> list[ProposedDiscount]: ...

    def confirmed(self, bill: Bill, discounts: Sequence[BillDiscount], actor: Staff) -> None: ...

    def released(self, bill: Bill, discounts: Sequence[BillDiscount], actor: Staff) -> None: ...


@dataclass(frozen=True)
class ManualDiscount:
    """A cashier's discount: `amount` yuan or `percent` % off what is left, with a reason."""

    reason: str
    amount: Decimal | None = None
    percent: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.amount is None) == (self.percent is None):
            raise ValidationFailed(
                _("Give either an amount or a percentage for the manual discount."),
                field="amount",
            )
        if not self.reason.strip():
            raise ValidationFailed(_("Give a reason for the manual discount."), field="reason")
        if self.amount is not None and quantize_money(self.amount) <= 0:
            raise ValidationFailed(_("Enter an amount above zero."), field="amount")
        if self.percent is not None and not ZERO < self.percent <= HUNDRED:
            raise ValidationFailed(
                _("Enter a percentage above 0 and at most 100."), field="percent"
            )

    @property
    def reference(self) -> str:
        """How the discount is kept on the bill, so a later recomputation repeats it."""
        if self.percent is not None:
            return f"percent:{self.percent.normalize():f}"
        return f"amount:{quantize_money(self.amount or ZERO)}"

    @classmethod
    def from_reference(cls, reference: str, reason: str) -> ManualDiscount | None:
        kind, _sep, value = reference.partition(":")
        try:
            number = Decimal(value)
        except ArithmeticError:
            return None
        if kind == "percent":
            return cls(reason=reason or "-", percent=number)
        if kind == "amount":
            return cls(reason=reason or "-", amount=number)
        return None

    def amount_of(self, remaining: Decimal) -> Decimal:
        if self.percent is not None:
            return Money(remaining * self.percent / HUNDRED).amount
        return quantize_money(self.amount or ZERO)


@dataclass
class AppliedDiscount:
    """One discount of the computed pipeline, as it will be stored (a BillDiscount)."""

    step: str
    position: int
    label: str
    reference: str
    amount: Decimal
    allocation: dict[int, Decimal]
    pending: bool = False
    reason: str = ""
    # Above the manual limit: needs (or got) someone holding billing.discount_approve.
    over_limit: bool = False


@dataclass
class PipelineResult:
    discounts: list[AppliedDiscount] = field(default_factory=list)
    line_discounts: dict[int, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum((d.amount for d in self.discounts), ZERO)

    @property
    def has_pending(self) -> bool:
        return any(d.pending for d in self.discounts)


@lru_cache(maxsize=8)
def _load(paths: tuple[str, ...]) -> tuple[DiscountSource, ...]:
    sources = []
    for path in paths:
        obj = import_string(path)
        source = obj() if isinstance(obj, type) else obj
        if source.step not in (DiscountStep.TIER, DiscountStep.COUPON):
            raise ValueError(f"{path}: a discount source serves the tier or coupon step")
        sources.append(source)
    # Stable by step, then in the order the setting names them.
    return tuple(sorted(sources, key=lambda s: DISCOUNT_ORDER[DiscountStep(s.step)]))


def discount_sources() -> tuple[DiscountSource, ...]:
    """The configured sources, in pipeline order."""
    return _load(tuple(getattr(settings, "CHAIRSIDE_DISCOUNT_SOURCES", ())))


def sources_of(step: str) -> tuple[DiscountSource, ...]:
    return tuple(s for s in discount_sources() if s.step == step)


def discount_offers(bill: Bill) -> list[DiscountOffer]:
    """Everything the cashier may pick for `bill`, in pipeline order."""
    return [offer for source in discount_sources() for offer in source.offers(bill)]


def _allocate(
    proposed: ProposedDiscount, remaining: dict[int, Decimal]
) -> tuple[Decimal, dict[int, Decimal]]:
    """Split one discount over what is left of the lines; never below zero."""
    if proposed.shares is not None:
        allocation: dict[int, Decimal] = {}
        for line_id, share in proposed.shares.items():
            left = remaining.get(line_id, ZERO)
            part = min(max(quantize_money(share), ZERO), left)
            if part > 0:
                allocation[line_id] = part
        return sum(allocation.values(), ZERO), allocation
    ids = list(remaining) if proposed.line_ids is None else list(proposed.line_ids)
    ids = [i for i in ids if remaining.get(i, ZERO) > 0]
    if not ids:
        return ZERO, {}
    room = sum((remaining[i] for i in ids), ZERO)
    amount = min(max(quantize_money(proposed.amount), ZERO), room)
    if amount <= 0:
        return ZERO, {}
    parts = Money(amount).allocate([remaining[i] for i in ids])
    allocation = {i: p.amount for i, p in zip(ids, parts, strict=True) if p.amount > 0}
    return amount, allocation


def pipeline_run(
    *,
    bill: Bill,
    lines: Sequence[PricedLine],
    selected: Mapping[str, Sequence[str]],
    manual: ManualDiscount | None,
    manual_limit_percent: Decimal,
    can_approve: bool,
    approved_manual_amount: Decimal | None = None,
) -> PipelineResult:
    """Compute every discount of `bill` in the fixed order, and each line's share.

    `approved_manual_amount`: a manual discount already approved up to this amount stays
    approved when a recomputation gives no more than that.
    """
    remaining = {line.line_id: line.amount for line in lines}
    result = PipelineResult(line_discounts=dict.fromkeys(remaining, ZERO))
    position = 0

    def apply(discount: AppliedDiscount) -> None:
        nonlocal position
        position += 1
        discount.position = position
        for line_id, part in discount.allocation.items():
            remaining[line_id] -= part
            result.line_discounts[line_id] += part
        result.discounts.append(discount)

    by_id = {line.line_id: line for line in lines}
    for step in (DiscountStep.TIER, DiscountStep.COUPON):
        for source in sources_of(step):
            context = DiscountContext(
                bill=bill,
                patient=bill.patient,
                clinic=bill.clinic,
                lines=tuple(
                    PricedLine(i, by_id[i].category, by_id[i].member_discount_allowed, left)
                    for i, left in remaining.items()
                ),
                selected=tuple(selected.get(step, ())),
            )
            for proposed in source.propose(context):
                amount, alloc = _allocate(proposed, remaining)
                if amount > 0:
                    apply(
                        AppliedDiscount(
                            step, 0, proposed.label[:100], proposed.reference[:60], amount, alloc
                        )
                    )

    if manual is not None:
        left = sum(remaining.values(), ZERO)
        wanted = manual.amount_of(left)
        amount, alloc = _allocate(ProposedDiscount(label="", amount=wanted), remaining)
        if amount > 0:
            limit = Money(left * manual_limit_percent / HUNDRED).amount
            over_limit = amount > limit
            kept = approved_manual_amount is not None and amount <= approved_manual_amount
            label = (
                _("Manual discount %(percent)s%%") % {"percent": f"{manual.percent.normalize():f}"}
                if manual.percent is not None
                else _("Manual discount")
            )
            apply(
                AppliedDiscount(
                    DiscountStep.MANUAL,
                    0,
                    label,
                    manual.reference,
                    amount,
                    alloc,
                    pending=over_limit and not (kept or can_approve),
                    reason=manual.reason[:200],
                    over_limit=over_limit,
                )
            )
    return result
